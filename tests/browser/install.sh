#!/bin/sh
# Installs Debian's chromium and chromium-driver, which the console's browser tests drive
# headless. Quick when they are installed; without root or apt it says what is missing (the
# browser tests then fail under `make test` with a sentence saying so).
set -eu

missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "browser: apt-get not found; install$missing to run the console's browser tests" >&2
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        echo "browser: not root; install$missing to run the console's browser tests" >&2
        exit 0
    fi
fi
echo "browser: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
