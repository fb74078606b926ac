/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sbx-blockdev.h"
#include "sbx-vm-spec.h"

G_BEGIN_DECLS

/* the device set's revision: a snapshot restores only into the devices it was
 * taken with (2: vmgenid) */
#define SBX_QEMU_ARGV_DEVICES 2

/* appended to the kernel command line under TCG: the second vCPU's delay
 * loop calibration fails under emulation and falls back to a slow loop
 * (~0.3 s of a cold boot); udelay() precision buys nothing with emulated
 * devices. 10^7 TSC cycles per jiffy is 2.5 GHz at the kernel's HZ=250 */
#define SBX_QEMU_TCG_CMDLINE "lpj=10000000"

/* the first PCI slot of the volumes (vda 4, NIC 5, agent 6), one each after */
#define SBX_QEMU_ARGV_VOLUME_SLOT 7

/* one durable volume, by fd: QEMU's user need not be able to open anything */
typedef struct {
	const SbxVmDisk *disk;
	/* a file: the image and its backing files, top first (-add-fd) */
	gint fds[SBX_BLOCKDEV_CHAIN_MAX];
	const gchar *formats[SBX_BLOCKDEV_CHAIN_MAX];
	guint n_layers;
	gint secret_fd; /* rbd: a memfd holding the base64 cephx key, or -1 */
} SbxQemuVolume;

/* what one QEMU process gets: everything by value or fd, nothing looked up */
typedef struct {
	const gchar *binary;
	const gchar *accel;   /* "tcg" or "kvm" */
	const gchar *machine; /* "pc" */
	guint tb_size_mib;    /* TCG's translation buffer; 0: QEMU's default (1 GiB here) */
	const SbxVmSpec *spec;
	const gchar *cmdline;  /* the full kernel command line */
	gint agent_fd;	       /* listening unix socket of the agent port */
	gint qmp_fd;	       /* listening unix socket of the monitor */
	const gchar *disk;     /* the VM's own qcow2 (overlay), or NULL */
	const gchar *mem_path; /* guest RAM in this file, or NULL for anonymous RAM */
	gboolean mem_share;    /* map it shared (a template) or private (a clone) */
	gboolean nic;	       /* a virtio NIC */
	gint tap_fd;	       /* its tap device, or -1 (a template's unplugged NIC) */
	const gchar *mac;
	const gchar *vmgenid; /* the VM generation id's GUID, or "auto" (NULL: "auto") */
	gboolean incoming;    /* wait for a migration stream (-incoming defer) */
	/* a restore's -kernel (NULL: spec->kernel) and no -initrd: the guest booted
	 * long ago, QEMU would only keep copies of them */
	const gchar *kernel;
	gboolean no_initrd;
	gboolean may_spawn; /* the seccomp filter lets QEMU run helpers (exec: migration) */
	const SbxQemuVolume *volumes; /* spec->disks, in order (cold boots only) */
	guint n_volumes;
} SbxQemuArgs;

GStrv sbx_qemu_argv_new(const SbxQemuArgs *args);

G_END_DECLS
