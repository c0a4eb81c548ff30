"""The CDK app of mailgate: one stack per region, built from ``mailgate.resources``."""
