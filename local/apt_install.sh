#!/bin/sh
# Installs Debian packages with apt, as root or through passwordless sudo:
#   apt_install.sh <label> <what they are for> <package>...
# Without apt or root it says what is missing and succeeds, leaving the caller to run without
# them.
set -eu

label=$1 purpose=$2
shift 2
[ $# -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "$label: apt-get not found; install $* $purpose" >&2
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        echo "$label: not root; install $* $purpose" >&2
        exit 0
    fi
fi
echo "$label: installing $*"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
