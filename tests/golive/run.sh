#!/usr/bin/env bash
# Runs an Azure SDK for Go Key Vault module's own live test suite, unmodified, against
# a fresh Arca on a free port (compat: shared/compat/go-sdk-live-suites.md §6).
#
#   tests/golive/run.sh [MODULE[@VERSION]] [extra go test args...]
#     MODULE: azsecrets (default, v1.5.1), azkeys (v1.5.0), azcertificates (v1.5.0)
#   GOLIVE_SKIP=regex     tests to skip (default: none; Arca serves a test attestation authority;
#                         set GOLIVE_SKIP= (empty) to run everything)
#   GOLIVE_RUN=regex      only these tests (go test -run)
#   GOLIVE_TIMEOUT=30m    go test -timeout
#   GOLIVE_DNS_PINNED=1   serve on port 443 with --dns-suffix vault.azure.net (vault
#                         https://NAME.vault.azure.net, challenge resource https://vault.azure.net)
#
# Credential: DefaultAzureCredential limited to managed identity
# (AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential, App Service protocol through
# IDENTITY_ENDPOINT/IDENTITY_HEADER from `arca env`). The suite's own clients skip TLS
# verification; its purge client and the MI endpoint verify against SSL_CERT_FILE.
set -euo pipefail
ARCA_LOG_TAG=tests/golive
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/lib.sh"

spec=${1:-azsecrets}; [ $# -gt 0 ] && shift
name=${spec%@*}
case "$name" in
  azsecrets)      def_ver=v1.5.1; def_skip='' ;;
  azkeys)         def_ver=v1.5.0; def_skip='' ;;
  azcertificates) def_ver=v1.5.0; def_skip='' ;;
  *) die "unknown module $name (azsecrets, azkeys, azcertificates)" ;;
esac
ver=$def_ver; [ "$spec" != "$name" ] && ver=${spec#*@}
SKIP=${GOLIVE_SKIP-$def_skip}

bash "$ARCA_ROOT/scripts/fetch-go-suites.sh" "$name@$ver"
SUITE=$ARCA_CACHE/golive/$name
ensure_arca_bin

WORK=$(mktemp -d)
cleanup() { stop_arca; [ "${ARCA_KEEP_DATA:-0}" = 1 ] && log "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT

# The built-in test attestation authority stands in for the fake attestation
# service the SDK's TestReleaseKey uses (AZURE_KEYVAULT_ATTESTATION_URL).
args=(--test-attestation)
[ -n "${ARCA_TEST_VAULT:-}" ] && args+=(--default-vault "$ARCA_TEST_VAULT")
if [ "${GOLIVE_DNS_PINNED:-0}" = 1 ]; then
  port=443; args+=(--dns-suffix vault.azure.net)
else
  port=$(free_port)
fi
start_arca "$WORK/data" "$port" "${args[@]}"
ENV_TEXT=$("$ARCA_BIN" env --data "$WORK/data") || die "arca env failed"

# Take only what the live suite needs from `arca env` (go-sdk-live-suites.md §6).
get() { ENV_TEXT=$ENV_TEXT bash -c 'eval "$ENV_TEXT"; printf %s "${!1}"' _ "$1"; }
VAULT_URL=$(get AZURE_KEYVAULT_URL)
IDENTITY_ENDPOINT=$(get IDENTITY_ENDPOINT)
IDENTITY_HEADER=$(get IDENTITY_HEADER)
CA=$(get SSL_CERT_FILE)
for v in VAULT_URL IDENTITY_ENDPOINT IDENTITY_HEADER CA; do [ -n "${!v}" ] || die "arca env lacks $v"; done

unset AZURE_CLIENT_ID AZURE_CLIENT_SECRET AZURE_TENANT_ID AZURE_AUTHORITY_HOST AZURE_SERVICE_DIRECTORY \
      SYSTEM_ACCESSTOKEN AZURE_USERNAME AZURE_PASSWORD AZURE_CLIENT_CERTIFICATE_PATH AZURE_FEDERATED_TOKEN_FILE \
      MSI_ENDPOINT MSI_SECRET AZURE_MANAGEDHSM_URL AZURE_KEYVAULT_ATTESTATION_URL \
      AZURESUBSCRIPTION_CLIENT_ID AZURESUBSCRIPTION_SERVICE_CONNECTION_ID AZURESUBSCRIPTION_TENANT_ID
export AZURE_RECORD_MODE=live
export AZURE_KEYVAULT_ATTESTATION_URL=$(get AZURE_AUTHORITY_HOST)/attestation
export AZURE_KEYVAULT_URL=${VAULT_URL%/}/
export AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential
export IDENTITY_ENDPOINT IDENTITY_HEADER
export SSL_CERT_FILE=$CA
export PROXY_CERT=/dev/null
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-modcacherw"
# The suites are the SDK's own test code, compiled with the machine's Go, not
# the newer toolchain make selects for Arca: compiled with go1.27.3, azkeys'
# TestListKeys, TestListKeyVersions and TestListDeletedKeys fail against the
# very binary that passes them when they are compiled with go1.26.8 (their
# testSerde helper unmarshals deliberately invalid JSON into the list model
# they then iterate). Arca itself is still built by make with go1.27.3.
export GOTOOLCHAIN=local

make_hosts_file "$WORK/hosts" "$(vault_host_from_url "$AZURE_KEYVAULT_URL")"

gargs=(-count=1 -v -timeout "${GOLIVE_TIMEOUT:-30m}")
[ -n "$SKIP" ] && gargs+=(-skip "$SKIP")
[ -n "${GOLIVE_RUN:-}" ] && gargs+=(-run "$GOLIVE_RUN")
log "go test ${gargs[*]} . in $SUITE ($name@$ver) against $AZURE_KEYVAULT_URL"
cd "$SUITE"
set +e
in_ns "$WORK/hosts" go test "${gargs[@]}" "$@" .
rc=$?
set -e
if [ $rc -ne 0 ]; then log "arca log tail:"; tail -n 80 "$ARCA_LOG" | sed 's/^/  arca| /' >&2; fi
exit $rc
