#!/usr/bin/env bash
# Creates a Python venv for the client tests and installs the latest official Azure
# packages. Idempotent: an existing venv is reused and `pip install --upgrade` is a
# no-op when up to date. Set ARCA_SETUP_SKIP_UPGRADE=1 to skip pip when the venv
# already has the packages.
#
#   setup-python.sh          $ARCA_CACHE/venv: track-2 SDKs, management SDKs, pytest
#   setup-python.sh legacy   $ARCA_CACHE/venv-legacy: the track-1 azure-keyvault 1.1.0 with
#                            azure-common/msrestazure/adal (ServicePrincipalCredentials). Uses
#                            Python <= 3.10 when one is installed: azure-keyvault 1.1.0 calls
#                            inspect.getargspec, which Python 3.11 removed.
#   setup-python.sh az       $ARCA_CACHE/venv-az: the latest azure-cli (the `az` command)
set -euo pipefail
ARCA_LOG_TAG=setup-python
. "$(dirname "$0")/lib.sh"
ensure_cache_dir

KIND=${1:-sdk}
case "$KIND" in
  sdk)
    VENV=${ARCA_VENV:-$ARCA_CACHE/venv}
    PY=$(pick_python)
    PKGS=(azure-identity azure-keyvault-secrets azure-keyvault-keys azure-keyvault-certificates
          azure-mgmt-keyvault azure-mgmt-resource pytest) ;;
  legacy)
    VENV=$ARCA_CACHE/venv-legacy
    PY=$(pick_legacy_python)
    PKGS=(azure-keyvault==1.1.0 azure-common msrestazure) ;;
  az)
    VENV=$ARCA_CACHE/venv-az
    PY=$(pick_python)
    PKGS=(azure-cli) ;;
  *) die "unknown package set $KIND (want sdk, legacy or az)" ;;
esac

if [ ! -x "$VENV/bin/python" ]; then
  log "creating venv $VENV with $PY"
  "$PY" -m venv "$VENV"
fi

STAMP=$VENV/.arca-packages
if [ "${ARCA_SETUP_SKIP_UPGRADE:-0}" = 1 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "${PKGS[*]}" ]; then
  log "packages already installed (ARCA_SETUP_SKIP_UPGRADE=1)"
else
  log "installing/upgrading in $VENV: ${PKGS[*]}"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "${PKGS[@]}"
  printf '%s' "${PKGS[*]}" >"$STAMP"
fi
SHOW='^(azure-[a-z-]+|msal|msrest[a-z]*|adal|pytest|requests) '
[ "$KIND" = az ] && SHOW='^(azure-cli|azure-cli-core|msal) '
"$VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null | grep -Ei "$SHOW" | sed 's/^/  /' >&2 || true
