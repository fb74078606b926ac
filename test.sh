#!/bin/bash
# everything needed to run the whole test suite on a fresh Debian 12 machine, then the suite.
# exit code: meson test's. SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

SBX_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/common.sh
. "$SBX_SRCDIR/scripts/common.sh"

BUILDDIR=${BUILDDIR:-$SBX_SRCDIR/_build}

sbx_require_root
sbx_install_packages "${SBX_RUNTIME_PACKAGES[@]}" "${SBX_TEST_PACKAGES[@]}"
sbx_ensure_apt_lists
sbx_setup_kvm
# the integration suite runs real VMs through the system libvirtd
sbx_start_host_services

sbx_build "$BUILDDIR" -Dwerror=true
# QEMU runs as libvirt-qemu and opens the test images inside the build dir: every
# folder above it must let others through (a mktemp -d checkout is 0700)
dir=$BUILDDIR
while [ "$dir" != / ]; do
	if [ "$(($(stat -c %#a "$dir") & 1))" = 0 ]; then
		sbx_log "letting QEMU through $dir (chmod o+x)"
		chmod o+x "$dir"
	fi
	dir=$(dirname "$dir")
done
# the guest image the integration tests boot, built inside the build dir
sbx_log "building the test guest image"
meson compile -C "$BUILDDIR" image
# the Debian image the debian integration test boots (packages cached in
# BUILDDIR/image/cache: a rebuild needs no network)
sbx_log "building the debian guest image"
meson compile -C "$BUILDDIR" image-debian

rc=0
meson test -C "$BUILDDIR" --print-errorlogs "$@" || rc=$?
# passed, failed, skipped with reasons; under CI (SBX_STRICT_SKIPS=1, set by .ci/run)
# a skip not listed in tests/allowed-skips.txt fails the run
summary_args=(--allowed "$SBX_SRCDIR/tests/allowed-skips.txt")
if [ "${SBX_STRICT_SKIPS:-0}" = 1 ]; then
	summary_args+=(--strict)
fi
"$SBX_SRCDIR/scripts/test-summary.py" "$BUILDDIR" "${summary_args[@]}" || [ "$rc" -ne 0 ] || rc=1
exit "$rc"
