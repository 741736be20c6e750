#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests of the error-log view, where this machine lets
# us (root, or sudo without a password, and apt-get). It never fails the test run: when Chromium
# cannot be installed it says why, and those tests are skipped with the reason.
set -uo pipefail
CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: no apt-get here; the browser tests will be skipped (install Chromium at $CHROMIUM to run them)"
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "install-browser: not root and no password-less sudo; the browser tests will be skipped (run: sudo apt-get install chromium)"
  exit 0
fi
echo "install-browser: installing Debian's chromium for the browser tests (once)"
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >/tmp/atqbo-chromium.log 2>&1; then
  "${as_root[@]}" apt-get update -qq >>/tmp/atqbo-chromium.log 2>&1
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >>/tmp/atqbo-chromium.log 2>&1
fi
if [ -x "$CHROMIUM" ]; then
  echo "install-browser: $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed"
else
  echo "install-browser: apt-get could not install chromium (see /tmp/atqbo-chromium.log); the browser tests will be skipped"
fi
exit 0
