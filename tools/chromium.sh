#!/usr/bin/env bash
# Debian's chromium for the explorer's browser tests (tests/gateway/test_explorer_browser.py, driven
# by the Python playwright package with executable_path=/usr/bin/chromium; playwright's own
# browser download needs the internet, which these machines do not have).
#
#   bash tools/chromium.sh               install it when missing (as root, with apt)
#   source tools/chromium.sh; chromium_install   the same from another script
#
# Without it the browser tests skip with the reason, except in CI (CI=true), where they fail.

chromium_install() {
    command -v chromium >/dev/null 2>&1 && return 0
    if [[ $(id -u) -ne 0 ]]; then
        echo "chromium.sh: chromium is not installed and only root can install it (apt-get install chromium)" >&2
        return 1
    fi
    echo "chromium.sh: installing Debian's chromium" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -uo pipefail
    chromium_install
    exit $?
fi
