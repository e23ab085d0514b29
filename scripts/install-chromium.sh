#!/bin/sh
# Install the headless browser and fonts used by retainkit's browser tests (tests/test_browser.py,
# tests/test_i18n_browser.py).
#
# Debian/Ubuntu packages from apt; never a downloaded browser build:
#   chromium         the browser
#   fonts-noto-core  Noto Sans, Noto Sans Armenian, ...: the Greek and Armenian reports are checked for
#                    missing glyphs with these fonts
# Idempotent: does nothing when both are installed.
# As root it runs apt-get; otherwise it prints the command to run.
set -eu

CHROMIUM=/usr/bin/chromium
PACKAGES="chromium fonts-noto-core"

have_fonts() {
    dpkg-query -W -f='${Status}' fonts-noto-core 2>/dev/null | grep -q "install ok installed"
}

if [ -x "$CHROMIUM" ] && have_fonts; then
    echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"); fonts-noto-core installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-get not found: install Chromium and the Noto fonts with your system's package manager so that" >&2
    echo "$CHROMIUM exists (the browser tests skip without them, and fail when CI=true)." >&2
    [ "${CI:-}" = "true" ] && exit 1
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "chromium or fonts-noto-core is not installed. Install them as root with:"
    echo "    sudo apt-get update && sudo apt-get install -y $PACKAGES"
    echo "(the browser tests skip without them, and fail when CI=true)."
    [ "${CI:-}" = "true" ] && exit 1
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $PACKAGES
echo "installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"), fonts-noto-core"
