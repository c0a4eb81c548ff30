#!/bin/sh
# Installs the detection engines the local runtime and the tests start: rspamd and clamd
# (Debian packages). Quick when they are already installed; without root or apt it says what
# is missing and leaves the rest to run without them (their rules record no verdict).
set -eu

missing=""
command -v rspamd >/dev/null 2>&1 || missing="$missing rspamd"
command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ] || missing="$missing clamav-daemon"
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "engines: apt-get not found; install$missing to run the spam and virus engines" >&2
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        echo "engines: not root; install$missing to run the spam and virus engines" >&2
        exit 0
    fi
fi
echo "engines: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# The packages' own services are not wanted: the runtime starts the daemons itself.
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
