"""Pure building blocks of stage-2 rules, shared by the config API and the scan stage."""
