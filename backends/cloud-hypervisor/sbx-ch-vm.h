/* cloud-hypervisor backend: one VM, its VMM process and its start sequence.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-ch-api.h"
#include "sbx-ch-events.h"
#include "sbx-ch-version.h"
#include "sbx-jail.h"
#include "sbx-libvirt-net.h"
#include "sbx-vm-spec.h"

G_BEGIN_DECLS

typedef enum {
	SBX_CH_VM_STARTING,
	SBX_CH_VM_RUNNING,
	SBX_CH_VM_EXITED, /* stopped on its own; files stay until destroy */
	SBX_CH_VM_STOPPING,
} SbxChVmState;

/* what the backend's config says about every VM */
typedef struct {
	SbxJail *jail; /* borrowed: the backend outlives its VMs' starts */
	gchar *binary;
	SbxChVersion min_version;
	guint agent_port;
	guint api_timeout_sec;
	guint graceful_stop_sec;
	gboolean restore_on_demand; /* vm.restore memory_restore_mode OnDemand (v52+) */
	gchar *record_dir;	    /* where each running VMM is recorded (sbx-ch-record.c) */
	gchar *bridge;		    /* the guests' tap bridge, or NULL: no network */
	gchar *qsd_binary;	    /* qemu-storage-daemon, for rbd volumes */
	SbxLibvirtNetInfo net;	    /* its addresses */
} SbxChSettings;

typedef struct _SbxChVm SbxChVm;

/* called on the main context: the VM stopped without a destroy (after start) */
typedef void (*SbxChVmExitedFunc)(SbxChVm *vm, gpointer user_data);

/* @owner: a GObject (the backend) passed to @exited, kept alive by the VM */
SbxChVm *sbx_ch_vm_new(const SbxVmSpec *spec, const SbxChSettings *settings,
		       SbxChVmExitedFunc exited, gpointer owner);
SbxChVm *sbx_ch_vm_ref(SbxChVm *vm);
void sbx_ch_vm_unref(SbxChVm *vm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxChVm, sbx_ch_vm_unref)

const gchar *sbx_ch_vm_get_id(SbxChVm *vm);
SbxChVmState sbx_ch_vm_get_state(SbxChVm *vm);
const gchar *sbx_ch_vm_get_vsock_socket(SbxChVm *vm);
/* the guest's address on the bridge (host order), or 0 without a NIC */
guint32 sbx_ch_vm_get_address(SbxChVm *vm);
/* before start: the guest gets a tap on settings->bridge with address @ip */
void sbx_ch_vm_set_address(SbxChVm *vm, guint32 ip);

/* overlay, VMM, ping, vm.create, vm.add-disk, vm.boot, vm.info, then the
 * agent's vsock port answering; on failure everything is gone again */
void sbx_ch_vm_start_async(SbxChVm *vm, GCancellable *cancellable, GAsyncReadyCallback callback,
			   gpointer user_data);
gboolean sbx_ch_vm_start_finish(SbxChVm *vm, GAsyncResult *res, GError **error);

/* as start, from the snapshot in spec->snapshot_dir (vm.restore; vm.resume
 * before v52); same completion */
void sbx_ch_vm_restore_async(SbxChVm *vm, GCancellable *cancellable, GAsyncReadyCallback callback,
			     gpointer user_data);
/* vm.pause, vm.snapshot into spec->snapshot_dir (the template's own), then
 * the snapshot's files read-only */
void sbx_ch_vm_snapshot_async(SbxChVm *vm, GCancellable *cancellable, GAsyncReadyCallback callback,
			      gpointer user_data);
gboolean sbx_ch_vm_snapshot_finish(SbxChVm *vm, GAsyncResult *res, GError **error);

/* stops the VM (vmm.shutdown, or the power button first when configured,
 * SIGKILL when the VMM does not go) and removes its files */
void sbx_ch_vm_destroy_async(SbxChVm *vm, GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_ch_vm_destroy_finish(SbxChVm *vm, GAsyncResult *res, GError **error);

G_END_DECLS
