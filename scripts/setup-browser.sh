#!/usr/bin/env bash
# Installs what tests/browser needs: Debian's chromium and certutil (libnss3-tools)
# through apt when missing (as root), and playwright-core from tests/browser's
# package-lock.json (`npm ci`; playwright-core downloads no browser).
set -euo pipefail
ARCA_LOG_TAG=setup-browser
. "$(dirname "$0")/lib.sh"

if ! command -v chromium >/dev/null 2>&1 || ! command -v certutil >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || die "chromium and certutil are needed: apt-get install chromium libnss3-tools"
  log "installing chromium and libnss3-tools with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libnss3-tools >/dev/null
fi
cd "$ARCA_ROOT/tests/browser"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci (playwright-core)"
  npm ci --no-fund --no-audit >/dev/null
fi
