"""The detection engines of the local runtime: rspamd and clamd as child processes, with the
configuration and test signatures shipped here (install.sh installs the Debian packages)."""
