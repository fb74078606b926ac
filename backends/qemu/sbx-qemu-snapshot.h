/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "sbx-qemu-argv.h"

G_BEGIN_DECLS

#define SBX_QEMU_SNAPSHOT_MEMORY "memory"
#define SBX_QEMU_SNAPSHOT_STATE "state"
#define SBX_QEMU_SNAPSHOT_DISK "root.qcow2"
/* an empty overlay on SBX_QEMU_SNAPSHOT_DISK: each clone's disk starts as a copy */
#define SBX_QEMU_SNAPSHOT_OVERLAY "overlay.qcow2"
/* how the template ran (key file): what a bare QEMU needs to restore it
 * without the daemon (bench floors) */
#define SBX_QEMU_SNAPSHOT_SPEC "vm.ini"

/* a bzImage's boot header and setup without the kernel itself, for restores */
#define SBX_QEMU_SNAPSHOT_KERNEL_STUB "kernel-stub"

gint sbx_qemu_snapshot_memfd_new(const gchar *snapshot_dir, guint64 size, GError **error);
gboolean sbx_qemu_snapshot_seal(const gchar *snapshot_dir, GError **error);
/* what a restore passes as -kernel: QEMU keeps a bzImage's kernel (and the
 * initrd) in its fw_cfg for its whole life, ~14 MiB of private memory per
 * clone for a guest that booted long ago. For a bzImage, a stub with its boot
 * header and setup (made once in @snapshot_dir, aside and renamed); any other
 * kernel (an ELF: QEMU maps it, page cache shared by the clones) as it is. */
gchar *sbx_qemu_snapshot_kernel_for_restore(const gchar *snapshot_dir, const gchar *kernel,
					    GError **error);

/* the template's QEMU arguments (binary, accelerator, machine, shape, kernel,
 * command line, devices), saved into SBX_QEMU_SNAPSHOT_SPEC */
gboolean sbx_qemu_snapshot_save_args(const gchar *snapshot_dir, const SbxQemuArgs *args,
				     GError **error);

/* ... and loaded back: @spec has id, memory, vcpus, kernel, initrd, network
 * and root_disk (the frozen disk, when the template had one) */
typedef struct {
	gchar *binary;
	gchar *accel;
	guint tb_size_mib; /* 0: QEMU's default */
	gchar *machine;
	gchar *cmdline;
	SbxVmSpec *spec;
} SbxQemuSnapshotArgs;

SbxQemuSnapshotArgs *sbx_qemu_snapshot_load_args(const gchar *snapshot_dir, GError **error);
void sbx_qemu_snapshot_args_free(SbxQemuSnapshotArgs *args);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxQemuSnapshotArgs, sbx_qemu_snapshot_args_free)

G_END_DECLS
