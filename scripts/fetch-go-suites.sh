#!/usr/bin/env bash
# Downloads the Azure SDK for Go Key Vault modules (which ship their live test suites)
# with `go mod download -json`, copies each out of the read-only module cache into
# $ARCA_CACHE/golive/<name> (writable), and pre-builds the test binary so that the
# runs need no downloads. Idempotent: a copy whose .arca-version matches is kept.
#
#   scripts/fetch-go-suites.sh                 # default set
#   scripts/fetch-go-suites.sh azsecrets@v1.5.1 azkeys@v1.5.0
set -euo pipefail
ARCA_LOG_TAG=fetch-go-suites
. "$(dirname "$0")/lib.sh"
ensure_cache_dir

BASE=github.com/Azure/azure-sdk-for-go/sdk/security/keyvault
W=$ARCA_CACHE/golive
mkdir -p "$W"
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-modcacherw"

if [ $# -eq 0 ]; then set -- azsecrets@v1.5.1 azkeys@v1.5.0 azcertificates@v1.5.0; fi

# Run `go mod download` outside the Arca module so Arca's go.mod/go.sum are untouched.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

for mv in "$@"; do
  name=${mv%@*} ver=${mv#*@}
  [ "$name" != "$mv" ] && [ -n "$ver" ] || die "expected NAME@VERSION, got $mv"
  dst=$W/$name
  if [ -f "$dst/.arca-version" ] && [ "$(cat "$dst/.arca-version")" = "$mv" ]; then
    log "$mv already in $dst"
  else
    log "downloading $BASE/$mv"
    json=$(cd "$TMP" && GO111MODULE=on go mod download -json "$BASE/$mv")
    dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)
    [ -n "$dir" ] && [ -d "$dir" ] || die "no Dir for $mv in: $json"
    rm -rf "$dst"
    cp -r "$dir" "$dst"
    chmod -R u+w "$dst"
    printf '%s' "$mv" >"$dst/.arca-version"
  fi
  # Fetch the suite's dependencies and compile its tests once (no test runs).
  log "pre-building $name tests"
  (cd "$dst" && export GOTOOLCHAIN=local && go mod download && go test -c -o "$TMP/$name.test" . >/dev/null) \
    || die "could not build the $name test suite"
done
log "suites ready under $W"
