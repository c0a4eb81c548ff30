#!/bin/sh
# Installs Debian's chromium and chromium-driver, which the console's browser tests drive
# headless. Quick when they are installed; without root or apt it says what is missing (the
# browser tests then fail under `make test` with a sentence saying so).
set -eu

missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
# shellcheck disable=SC2086 (one word per package)
exec sh "$(dirname "$0")/../../local/apt_install.sh" browser "to run the console's browser tests" $missing
