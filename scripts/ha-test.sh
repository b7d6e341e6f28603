#!/usr/bin/env bash
# make test-ha: Arca on etcd against real processes (e2e/ha): 3 etcd members with TLS and
# client certificates, `arca init --storage etcd`, 3 `arca serve --storage etcd` nodes on one
# public port; cross-node consistency, a 16-writer set-secret storm with kill -9 of the etcd
# leader and of the node leading the background jobs, then the Go SDK live suites (azsecrets,
# azkeys, azcertificates, tests/golive/run.sh unmodified) against a node of the cluster.
# Needs nothing but Go: etcd is built once from tools/etcd (storage/etcd/etcdtest/buildetcd).
#
#   ARCA_BIN=PATH               test this binary (default: build bin/arca)
#   ARCA_ETCD=PATH              this etcd server (default: built from tools/etcd, cached)
#   ARCA_TEST_HA_GOLIVE="..."   live suites to run ("off": none)
#   ARCA_TEST_HA_ETCD_TLS=0     etcd without TLS
#   ARCA_TEST_HA_LOGS=DIR       where the nodes' and suites' logs go (default .cache/test-ha)
#   HA_RACE=1                   build the test harness with the race detector
#
# The last line is the test's verdict: "ha: N acked, N lost, N corrupted".
set -uo pipefail
ARCA_LOG_TAG=test-ha
. "$(dirname "$0")/lib.sh"
cd "$ARCA_ROOT" || exit 1
GO=${GO:-go}
ensure_cache_dir

start=$SECONDS
ARCA_ETCD=$($GO run ./storage/etcd/etcdtest/buildetcd) || die "building etcd from tools/etcd failed"
export ARCA_ETCD
log "etcd: $ARCA_ETCD"
ensure_arca_bin

LOGS=${ARCA_TEST_HA_LOGS:-$ARCA_CACHE/test-ha}
mkdir -p "$LOGS" && LOGS=$(cd "$LOGS" && pwd)
out=$LOGS/go-test.log
args=(-count=1 -v -timeout 20m)
[ "${HA_RACE:-0}" = 1 ] && args+=(-race)
log "go test ${args[*]} ./e2e/ha/ (logs in $LOGS)"
ARCA_TEST_HA=1 ARCA_TEST_HA_LOGS=$LOGS $GO test "${args[@]}" ./e2e/ha/ 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
log "test-ha took $((SECONDS - start))s (exit $rc); logs in $LOGS"
verdict=$(grep '^ha: ' "$out" | tail -n 1)
echo "${verdict:-ha: the test ended before its verdict (exit $rc); see $out}"
exit "$rc"
