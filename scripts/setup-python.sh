#!/usr/bin/env bash
# Creates the Python venv for the client tests ($ARCA_CACHE/venv, default .cache/venv)
# and installs the latest official Azure SDK packages plus pytest. Idempotent: an
# existing venv is reused and `pip install --upgrade` is a no-op when up to date.
# Set ARCA_SETUP_SKIP_UPGRADE=1 to skip pip when the venv already has the packages.
set -euo pipefail
ARCA_LOG_TAG=setup-python
. "$(dirname "$0")/lib.sh"
ensure_cache_dir

VENV=${ARCA_VENV:-$ARCA_CACHE/venv}
PY=$(pick_python)
PKGS=(azure-identity azure-keyvault-secrets azure-keyvault-keys azure-keyvault-certificates
      azure-mgmt-keyvault pytest)

if [ ! -x "$VENV/bin/python" ]; then
  log "creating venv $VENV with $PY"
  "$PY" -m venv "$VENV"
fi

STAMP=$VENV/.arca-packages
if [ "${ARCA_SETUP_SKIP_UPGRADE:-0}" = 1 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "${PKGS[*]}" ]; then
  log "packages already installed (ARCA_SETUP_SKIP_UPGRADE=1)"
else
  log "installing/upgrading: ${PKGS[*]}"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "${PKGS[@]}"
  printf '%s' "${PKGS[*]}" >"$STAMP"
fi
"$VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
  | grep -Ei '^(azure-[a-z-]+|msal|pytest|requests) ' | sed 's/^/  /' >&2 || true
