#!/bin/bash
# the bench's SDK rows beside the same rows over D-Bus, measured in one run against the
# installed sandboxd and sandboxd-gateway (./run.sh installs and starts both):
#   bench/run-sdk-bench.sh [-n RUNS] [--stream-mib MIB] [--file-mib MIB] [--file-runs N]
# sandboxd-bench measures over D-Bus, then bench/sdk/bench-sdk.mjs with the real
# @deno/sandbox SDK (npm ci from bench/sdk/package-lock.json) through the gateway at
# SBX_GATEWAY (default 127.0.0.1:8080), with a token made for the run and revoked after.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../scripts/common.sh
SBX_SRCDIR=$SRCDIR . "$SRCDIR/scripts/common.sh"
GATEWAY=${SBX_GATEWAY:-127.0.0.1:8080}
runs=10 stream_mib=64 file_mib=64 file_runs=3
while [ $# -gt 0 ]; do
	case "$1" in
	-n) runs=$2 ;;
	--stream-mib) stream_mib=$2 ;;
	--file-mib) file_mib=$2 ;;
	--file-runs) file_runs=$2 ;;
	*) sbx_die "unknown option $1 (-n, --stream-mib, --file-mib, --file-runs)" ;;
	esac
	shift 2
done
sbx_require_root
for tool in sandboxd-bench sandboxctl node npm; do
	command -v "$tool" >/dev/null || sbx_die "$tool is missing: run ./run.sh first"
done
sbx_wait_gateway "$GATEWAY"

WORK=$(mktemp -d /tmp/sbx-sdk-bench-XXXXXX)
TOKEN_NAME=sdk-bench-$$
cleanup() {
	sandboxctl token revoke "$TOKEN_NAME" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
cp "$SRCDIR"/bench/sdk/{package.json,package-lock.json,bench-sdk.mjs} "$WORK"
(cd "$WORK" && npm ci --no-audit --no-fund --silent)
TOKEN=$(sandboxctl token create "$TOKEN_NAME")

sbx_log "over D-Bus: sandboxd-bench -n $runs (the daemon's default image, as the gateway's)"
sandboxd-bench -n "$runs" --stream-mib "$stream_mib" --file-mib "$file_mib" \
	--file-runs "$file_runs"
sbx_log "through the gateway: the @deno/sandbox SDK"
(cd "$WORK" && DENO_SANDBOX_ENDPOINT=http://$GATEWAY DENO_DEPLOY_ENDPOINT=http://$GATEWAY \
	DENO_DEPLOY_TOKEN=$TOKEN node bench-sdk.mjs -n "$runs" --stream-mib "$stream_mib" \
	--file-mib "$file_mib" --file-runs "$file_runs")
