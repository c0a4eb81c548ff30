#!/bin/sh
# Installs the detection engines the local runtime and the tests start: rspamd and clamd
# (Debian packages). Quick when they are already installed; without root or apt it says what
# is missing and leaves the rest to run without them (their rules record no verdict).
set -eu

missing=""
command -v rspamd >/dev/null 2>&1 || missing="$missing rspamd"
command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ] || missing="$missing clamav-daemon"
# The packages' own services are not wanted: the runtime starts the daemons itself.
# shellcheck disable=SC2086 (one word per package)
exec sh "$(dirname "$0")/../apt_install.sh" engines "to run the spam and virus engines" $missing
