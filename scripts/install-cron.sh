#!/bin/sh
# Install Debian's cron, whose crontab(1) checks the documented crontab lines (tests/test_recipes.py).
#
# Idempotent: does nothing when crontab is already installed.
# As root it runs apt-get; otherwise it prints the command to run.
set -eu

if command -v crontab >/dev/null 2>&1; then
    echo "crontab already installed: $(command -v crontab)"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-get not found: install cron with your system's package manager so that crontab exists" >&2
    echo "(the crontab test skips without it, and fails when CI=true)." >&2
    [ "${CI:-}" = "true" ] && exit 1
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "crontab is not installed. Install it as root with:"
    echo "    sudo apt-get update && sudo apt-get install -y cron"
    echo "(the crontab test skips without it, and fails when CI=true)."
    [ "${CI:-}" = "true" ] && exit 1
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends cron
echo "installed: $(command -v crontab)"
