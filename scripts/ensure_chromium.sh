#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver where they are missing: the browser tests
# (tests/test_browser.py) drive JupyterLab in the system's Chromium and never download a browser.
# `make test` runs this first. Without apt-get or root rights it says so and the browser tests skip.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: no apt-get on this machine; install Chromium to run the browser tests (skipped without it)" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "ensure_chromium: installing chromium needs root; run 'sudo apt-get install chromium chromium-driver' to run the browser tests (skipped without it)" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "ensure_chromium: installing chromium and chromium-driver with apt-get (once)"
if ! $SUDO apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; then
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q chromium chromium-driver >/dev/null
fi
