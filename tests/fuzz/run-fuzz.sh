#!/bin/sh
# runs a libFuzzer binary briefly on a copy of the seed corpus; fails (and
# prints the input) if it finds a crash, a leak or a sanitizer report.
# usage: run-fuzz.sh FUZZER SEED_DIR [libFuzzer options...]
set -u
fuzzer=$1
seeds=$2
shift 2
work=$(mktemp -d "${TMPDIR:-/tmp}/sbx-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/corpus"
"$fuzzer" -artifact_prefix="$work/" -print_final_stats=1 "$@" "$work/corpus" "$seeds"
rc=$?
if [ $rc -ne 0 ]; then
	for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -e "$f" ] || continue
		echo "failing input $(basename "$f") (base64):"
		base64 "$f"
	done
fi
exit $rc
