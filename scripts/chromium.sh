#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser tests (tests/browser). Browsers
# downloaded by test tools (`playwright install`, puppeteer) cannot be fetched here, so the
# tests drive the system Chromium at /usr/bin/chromium. Needs root (or sudo) the first time.
set -euo pipefail
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  SUDO=$(command -v sudo || true)
  if [ -z "$SUDO" ]; then
    echo "chromium.sh: $CHROMIUM is missing and we are not root: install the Debian package 'chromium'" >&2
    exit 1
  fi
fi
echo "chromium.sh: installing Debian's chromium (browser tests)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
"$CHROMIUM" --version >&2
