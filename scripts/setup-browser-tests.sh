#!/usr/bin/env bash
# What the web app's browser tests need (tests/cli/browser.rs runs tests/browser/ with them): Debian's
# Chromium and ChromeDriver (installed with apt-get when missing and run as root) and playwright-core from
# npm, pinned in tests/browser/package-lock.json (it downloads no browser). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "setup-browser-tests: install Debian's chromium and chromium-driver (sudo apt-get install chromium chromium-driver)" >&2
    exit 1
  fi
fi
if [ ! -f tests/browser/node_modules/.package-lock.json ] \
  || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
  npm ci --prefix tests/browser --no-audit --no-fund >/dev/null
fi
