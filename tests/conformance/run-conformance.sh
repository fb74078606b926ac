#!/bin/sh
# runs the volume conformance suite against one backend, with its storage:
#   run-conformance.sh qcow2|rbd TEST-BINARY PLUGIN.so CEPH-DEV-SH
# qcow2 gets a fresh folder; rbd a throwaway single-node Ceph cluster
# (scripts/ceph-dev.sh), stopped again whatever happens.
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu
backend=$1 test_bin=$2 plugin=$3 ceph_dev=$4

tmp=$(mktemp -d "/tmp/sbx-conformance-$backend.XXXXXX")
cleanup() {
	status=$?
	if [ "$backend" = rbd ]; then
		"$ceph_dev" down "$tmp/ceph" >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
	exit $status
}
trap cleanup EXIT INT TERM

case $backend in
qcow2)
	mkdir "$tmp/volumes"
	printf '[qcow2]\nDirectory=%s\n' "$tmp/volumes" >"$tmp/sandboxd.conf"
	SBX_CONFORMANCE_LEAK_CHECK="ls -A $tmp/volumes"
	export SBX_CONFORMANCE_LEAK_CHECK
	;;
rbd)
	"$ceph_dev" up "$tmp/ceph" >&2
	cp "$tmp/ceph/sandboxd-rbd.conf" "$tmp/sandboxd.conf"
	SBX_CONFORMANCE_LEAK_CHECK="rbd -c $tmp/ceph/ceph.conf ls rbd"
	SBX_CONFORMANCE_CEPH_DOWN="$ceph_dev stop $tmp/ceph"
	export SBX_CONFORMANCE_LEAK_CHECK SBX_CONFORMANCE_CEPH_DOWN
	;;
*)
	echo "unknown backend $backend" >&2
	exit 2
	;;
esac

"$test_bin" --plugin "$plugin" --config "$tmp/sandboxd.conf" --tap
