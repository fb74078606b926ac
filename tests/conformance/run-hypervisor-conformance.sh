#!/bin/sh
# runs the hypervisor conformance suite against one backend:
#   run-hypervisor-conformance.sh cloud-hypervisor TEST-BINARY PLUGIN.so VMM-BINARY IMAGE-DIR
#   run-hypervisor-conformance.sh libvirt TEST-BINARY PLUGIN.so URI IMAGE-DIR
# VMM-BINARY is the real cloud-hypervisor, or the fake one of the unit suite
# (then SBX_FAKE_CH_AGENT names the agent that plays the guest).
# SPDX-License-Identifier: LGPL-2.1-or-later
set -eu
backend=$1 test_bin=$2 plugin=$3 vmm=$4 image=$5

case $backend in
cloud-hypervisor | libvirt) ;;
*)
	echo "unknown backend $backend" >&2
	exit 2
	;;
esac

if [ "$backend" = libvirt ]; then
	if ! [ -f "$image/vmlinuz" ]; then
		echo "SKIP: no guest image in $image: ninja -C BUILDDIR image"
		exit 77
	fi
	tmp=$(mktemp -d /tmp/sbx-hv-conformance-run.XXXXXX)
	trap 'rm -rf "$tmp"' EXIT INT TERM
	printf '[libvirt]\nURI=%s\n' "$vmm" >"$tmp/sandboxd.conf"
	"$test_bin" --plugin "$plugin" --config "$tmp/sandboxd.conf" --image-dir "$image" --tap
	exit 0
fi

if [ -z "${SBX_FAKE_CH_AGENT:-}" ]; then
	# the real binary: it needs KVM and the built guest image
	if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
		echo "SKIP: /dev/kvm is not usable here; cloud-hypervisor needs KVM"
		exit 77
	fi
	if ! [ -f "$image/vmlinuz" ]; then
		echo "SKIP: no guest image in $image: ninja -C BUILDDIR image"
		exit 77
	fi
fi

tmp=$(mktemp -d /tmp/sbx-hv-conformance-run.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
# root keeps the suite about the VMM and the guest; the jail has its own
# test (ch-plugin: /ch-plugin/jailed-user). /tmp shared: the run folders are there.
cat >"$tmp/sandboxd.conf" <<CONF
[cloud-hypervisor]
Binary=$vmm
User=root
PrivateTmp=false
CgroupRoot=$tmp/cgroup
RecordDir=$tmp/records
CONF
if [ -n "${SBX_FAKE_CH_AGENT:-}" ]; then
	mkdir -m 0777 "$tmp/guest"
	SBX_FAKE_CH_GUEST_DIR=$tmp/guest
	export SBX_FAKE_CH_GUEST_DIR
fi
"$test_bin" --plugin "$plugin" --config "$tmp/sandboxd.conf" --image-dir "$image" --tap
