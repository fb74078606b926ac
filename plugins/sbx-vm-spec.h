/* sandboxd plugin SDK: what the core asks a hypervisor backend to boot.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "sbx-volume-backend.h"

G_BEGIN_DECLS

/**
 * SbxVmSpec:
 * @id: the sandbox id: [a-z0-9-], at most 63 bytes; unique on the host
 * @memory_mib: guest memory in MiB
 * @vcpus: guest vCPUs
 * @kernel: absolute path of the kernel image
 * @initrd: absolute path of the initramfs, or %NULL
 * @cmdline: kernel command line
 * @run_dir: a directory the core created for this sandbox (mode 0750) and
 *   removes after destroy; the backend may put its own files here
 * @agent_socket: where the agent channel's listening unix socket must be
 *   (inside @run_dir): the core connects to it once start has finished
 * @console_log: file the guest's serial console is written to (inside @run_dir)
 * @root_disk: absolute path of the image's read-only base disk, or %NULL for an
 *   initramfs-only guest. The backend gives the guest its own copy-on-write
 *   overlay of it as the first virtio disk (`/dev/vda`) and deletes it on destroy;
 *   nothing the guest writes may reach the base.
 * @root_format: the base disk's format, "qcow2" or "raw" (%NULL means "qcow2")
 * @disk_size: virtual size of the guest's disk in bytes; 0, or less than the
 *   base's own size, means the base's size
 * @network: %TRUE when the guest wants outbound network (the backend's
 *   configured network; a backend without one ignores it). The backend tells the
 *   guest its address on the kernel command line: `sbx.ip=ADDR/PREFIX sbx.gw=ADDR
 *   sbx.dns=ADDR sbx.mtu=N`
 * @disks: extra disks (durable volumes), element-type #SbxVmDisk, or %NULL.
 *   The backend attaches each as a virtio disk with the given target and
 *   serial; the core already told the guest where to mount them
 *   (`sbx.vol=` on @cmdline)
 * @snapshot_dir: (since ABI revision 2) for start_vm, %NULL, or an empty
 *   folder owned by the core: boot the VM as a snapshot template whose state
 *   snapshot_vm will save there (no network address goes on the command line:
 *   clones get theirs after restore). For restore_vm, the snapshot to start from.
 *
 * Plain data, owned by the core; a backend copies what it keeps
 * (sbx_vm_spec_copy()). Fields are only ever appended, so a plugin built
 * against an older header reads a prefix of it.
 *
 * Since: 1
 */
typedef struct {
	gchar *id;
	guint memory_mib;
	guint vcpus;
	gchar *kernel;
	gchar *initrd;
	gchar *cmdline;
	gchar *run_dir;
	gchar *agent_socket;
	gchar *console_log;
	gchar *root_disk;
	gchar *root_format;
	guint64 disk_size;
	gboolean network;
	GPtrArray *disks;
	gchar *snapshot_dir;
} SbxVmSpec;

/**
 * SbxVmDisk:
 * @source: where the bytes are (from the volume backend)
 * @serial: the disk's serial number (the volume id, at most 20 bytes): how
 *   the guest finds it
 * @target: the guest device name, "vdb", "vdc", ...
 * @mount_path: where the guest agent mounts it
 * @read_only: attach read-only
 *
 * Since: 1
 */
typedef struct {
	SbxDiskSource *source;
	gchar *serial;
	gchar *target;
	gchar *mount_path;
	gboolean read_only;
} SbxVmDisk;

SbxVmDisk *sbx_vm_disk_new(void);
SbxVmDisk *sbx_vm_disk_copy(const SbxVmDisk *disk);
void sbx_vm_disk_free(SbxVmDisk *disk);
SbxDiskSource *sbx_disk_source_copy(const SbxDiskSource *source);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxVmDisk, sbx_vm_disk_free)

SbxVmSpec *sbx_vm_spec_new(void);
SbxVmSpec *sbx_vm_spec_copy(const SbxVmSpec *spec);
void sbx_vm_spec_free(SbxVmSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxVmSpec, sbx_vm_spec_free)

G_END_DECLS
