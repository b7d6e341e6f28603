#!/usr/bin/env bash
# Installs the JS client test dependencies (tests/js/node_modules) from the committed
# package.json + package-lock.json with `npm ci`. Idempotent: skipped when node_modules
# already matches the lock file. ARCA_NPM_UPDATE=1 re-resolves to the latest versions
# (npm install <pkg>@latest) and rewrites package-lock.json.
set -euo pipefail
ARCA_LOG_TAG=setup-node
. "$(dirname "$0")/lib.sh"
JS=$ARCA_ROOT/tests/js
cd "$JS"
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

if [ "${ARCA_NPM_UPDATE:-0}" = 1 ] || [ ! -f package-lock.json ]; then
  log "resolving latest @azure/identity, @azure/keyvault-secrets, @azure/keyvault-keys and @azure/keyvault-certificates"
  # the lock file records integrity hashes, not download URLs
  npm install --no-fund --no-audit --omit-lockfile-registry-resolved \
    @azure/identity@latest @azure/keyvault-secrets@latest @azure/keyvault-keys@latest \
    @azure/keyvault-certificates@latest
  exit 0
fi

# npm writes node_modules/.package-lock.json; if it equals the lock's packages we are done.
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  log "node_modules up to date"
else
  log "npm ci"
  npm ci --no-fund --no-audit
fi
node -e 'for (const p of ["@azure/identity","@azure/keyvault-secrets","@azure/keyvault-keys","@azure/keyvault-certificates","@azure/keyvault-common","@azure/msal-node","@azure/core-rest-pipeline"]) { try { console.error("  " + p + " " + require("./node_modules/" + p + "/package.json").version) } catch {} }'
