#!/bin/sh
# Install the headless browser used by retainkit's browser tests (tests/test_browser.py).
#
# Debian/Ubuntu package `chromium` from apt; never a downloaded browser build.
# Idempotent: does nothing when /usr/bin/chromium already exists.
# As root it runs apt-get; otherwise it prints the command to run.
set -eu

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-get not found: install Chromium with your system's package manager so that $CHROMIUM exists" >&2
    echo "(the browser tests skip without it, and fail when CI=true)." >&2
    [ "${CI:-}" = "true" ] && exit 1
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is not installed. Install it as root with:"
    echo "    sudo apt-get update && sudo apt-get install -y chromium"
    echo "(the browser tests skip without it, and fail when CI=true)."
    [ "${CI:-}" = "true" ] && exit 1
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium
echo "installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
