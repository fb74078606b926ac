/* sandboxd plugin SDK: the hypervisor backend base class.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-config-key.h"
#include "sbx-vm-spec.h"

G_BEGIN_DECLS

#define SBX_TYPE_HYPERVISOR_BACKEND (sbx_hypervisor_backend_get_type())
G_DECLARE_DERIVABLE_TYPE(SbxHypervisorBackend, sbx_hypervisor_backend, SBX, HYPERVISOR_BACKEND,
			 GObject)

/**
 * SbxHypervisorBackendClass:
 * @config_keys: the keys of the backend's config section (named after the
 *   plugin), terminated by an entry with a %NULL name; may be %NULL
 * @configure: reads the backend's section of the merged config; called once
 *   after loading, before anything else. Must not block.
 * @start_vm_async: boots a VM for @spec. Completes when the guest is running
 *   and @spec->agent_socket accepts connections. On failure, nothing the
 *   backend created for the VM is left behind.
 * @start_vm_finish: finishes @start_vm_async
 * @destroy_vm_async: stops the VM named @id at once (no guest shutdown) and
 *   removes everything the backend created for it. Destroying a VM that does
 *   not exist succeeds.
 * @destroy_vm_finish: finishes @destroy_vm_async
 * @get_domain_type: what guests run under, "kvm" or "qemu" (TCG), once configured
 * @list_vms_async: ids of the VMs this backend runs, for adopting or reaping
 *   them after a daemon restart
 * @list_vms_finish: finishes @list_vms_async, returns a %NULL-terminated array
 * @get_snapshot_compat: a string that changes whenever snapshots this backend
 *   took may no longer restore (hypervisor binary and version, machine type,
 *   accelerator); %NULL (the default) means the backend takes no snapshots.
 *   Must not block. Since: ABI 1 revision 2
 * @snapshot_vm_async: saves the state of VM @id, which was started with
 *   #SbxVmSpec.snapshot_dir set, into that folder, so restore_vm can start
 *   clones of it. The core calls it once the guest agent answered and its
 *   connection was closed again; the VM is paused afterwards and the core
 *   destroys it. Since: ABI 1 revision 2
 * @snapshot_vm_finish: finishes @snapshot_vm_async
 * @restore_vm_async: starts a VM for @spec from the snapshot in
 *   @spec->snapshot_dir, with its own copy-on-write root disk on top of the
 *   snapshot's frozen one and guest memory shared copy-on-write between clones
 *   where the hypervisor allows it. Completes like @start_vm_async, once the
 *   guest runs. Since: ABI 1 revision 2
 * @restore_vm_finish: finishes @restore_vm_async; returns the network settings
 *   the guest must apply (it kept the template's), as kernel command line words
 *   (`sbx.ip=ADDR/PREFIX sbx.gw=ADDR sbx.dns=ADDR sbx.mtu=N sbx.mac=MAC`), or ""
 * @get_network_bridge: the host bridge the guests' NICs are on (e.g. "sbxbr0"),
 *   or %NULL when guests get no network; once configured. The core puts its
 *   isolation rules (nftables) on it before any guest gets a NIC. Must not block. Since: ABI 1
 * revision 3
 * @get_vm_address: the IPv4 address of the running VM @id on that bridge
 *   (newly allocated), or %NULL when it has none; the backend must pin it
 *   (no other source address from the guest). Must not block. Since: ABI 1 revision 3
 * @connect_agent_async: opens a stream to the guest agent of VM @id, for a
 *   started (or adopted) VM; the core calls it until it succeeds or the boot
 *   timeout passes. The default connects to @agent_socket, the unix socket
 *   the spec named (virtio-serial backends need nothing more); a backend whose
 *   agent is reached another way (a vsock handshake) overrides it.
 *   Since: ABI 1 revision 4 (plugins built before it get the default)
 * @connect_agent_finish: finishes @connect_agent_async, returns a #GIOStream
 *
 * Every vfunc that is not implemented fails with %G_IO_ERROR_NOT_SUPPORTED.
 * Backends run blocking work (libvirt calls) in a thread, never on the
 * main loop. Backends emit #SbxHypervisorBackend::vm-exited when a VM stops
 * on its own (crash, guest poweroff, killed from outside).
 *
 * Since: 1
 */
struct _SbxHypervisorBackendClass {
	GObjectClass parent_class;

	const SbxConfigKey *config_keys;

	gboolean (*configure)(SbxHypervisorBackend *self, GKeyFile *config, const gchar *group,
			      GError **error);
	void (*start_vm_async)(SbxHypervisorBackend *self, const SbxVmSpec *spec,
			       GCancellable *cancellable, GAsyncReadyCallback callback,
			       gpointer user_data);
	gboolean (*start_vm_finish)(SbxHypervisorBackend *self, GAsyncResult *res, GError **error);
	void (*destroy_vm_async)(SbxHypervisorBackend *self, const gchar *id,
				 GCancellable *cancellable, GAsyncReadyCallback callback,
				 gpointer user_data);
	gboolean (*destroy_vm_finish)(SbxHypervisorBackend *self, GAsyncResult *res,
				      GError **error);
	const gchar *(*get_domain_type)(SbxHypervisorBackend *self);
	void (*list_vms_async)(SbxHypervisorBackend *self, GCancellable *cancellable,
			       GAsyncReadyCallback callback, gpointer user_data);
	gchar **(*list_vms_finish)(SbxHypervisorBackend *self, GAsyncResult *res, GError **error);

	/* ABI 1 revision 2: appended in the padding, the layout is unchanged */
	const gchar *(*get_snapshot_compat)(SbxHypervisorBackend *self);
	void (*snapshot_vm_async)(SbxHypervisorBackend *self, const gchar *id,
				  GCancellable *cancellable, GAsyncReadyCallback callback,
				  gpointer user_data);
	gboolean (*snapshot_vm_finish)(SbxHypervisorBackend *self, GAsyncResult *res,
				       GError **error);
	void (*restore_vm_async)(SbxHypervisorBackend *self, const SbxVmSpec *spec,
				 GCancellable *cancellable, GAsyncReadyCallback callback,
				 gpointer user_data);
	gchar *(*restore_vm_finish)(SbxHypervisorBackend *self, GAsyncResult *res, GError **error);

	/* ABI 1 revision 3: the host side of network isolation */
	const gchar *(*get_network_bridge)(SbxHypervisorBackend *self);
	gchar *(*get_vm_address)(SbxHypervisorBackend *self, const gchar *id);

	/* ABI 1 revision 4: the agent reached some other way than a unix socket */
	void (*connect_agent_async)(SbxHypervisorBackend *self, const gchar *id,
				    const gchar *agent_socket, GCancellable *cancellable,
				    GAsyncReadyCallback callback, gpointer user_data);
	GIOStream *(*connect_agent_finish)(SbxHypervisorBackend *self, GAsyncResult *res,
					   GError **error);

	/*< private >*/
	gpointer padding[7];
};

gboolean sbx_hypervisor_backend_configure(SbxHypervisorBackend *self, GKeyFile *config,
					  const gchar *group, GError **error);
void sbx_hypervisor_backend_start_vm_async(SbxHypervisorBackend *self, const SbxVmSpec *spec,
					   GCancellable *cancellable, GAsyncReadyCallback callback,
					   gpointer user_data);
gboolean sbx_hypervisor_backend_start_vm_finish(SbxHypervisorBackend *self, GAsyncResult *res,
						GError **error);
void sbx_hypervisor_backend_destroy_vm_async(SbxHypervisorBackend *self, const gchar *id,
					     GCancellable *cancellable,
					     GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_hypervisor_backend_destroy_vm_finish(SbxHypervisorBackend *self, GAsyncResult *res,
						  GError **error);
const gchar *sbx_hypervisor_backend_get_domain_type(SbxHypervisorBackend *self);
void sbx_hypervisor_backend_list_vms_async(SbxHypervisorBackend *self, GCancellable *cancellable,
					   GAsyncReadyCallback callback, gpointer user_data);
gchar **sbx_hypervisor_backend_list_vms_finish(SbxHypervisorBackend *self, GAsyncResult *res,
					       GError **error);
const gchar *sbx_hypervisor_backend_get_snapshot_compat(SbxHypervisorBackend *self);
void sbx_hypervisor_backend_snapshot_vm_async(SbxHypervisorBackend *self, const gchar *id,
					      GCancellable *cancellable,
					      GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_hypervisor_backend_snapshot_vm_finish(SbxHypervisorBackend *self, GAsyncResult *res,
						   GError **error);
void sbx_hypervisor_backend_restore_vm_async(SbxHypervisorBackend *self, const SbxVmSpec *spec,
					     GCancellable *cancellable,
					     GAsyncReadyCallback callback, gpointer user_data);
gchar *sbx_hypervisor_backend_restore_vm_finish(SbxHypervisorBackend *self, GAsyncResult *res,
						GError **error);
const gchar *sbx_hypervisor_backend_get_network_bridge(SbxHypervisorBackend *self);
gchar *sbx_hypervisor_backend_get_vm_address(SbxHypervisorBackend *self, const gchar *id);
void sbx_hypervisor_backend_connect_agent_async(SbxHypervisorBackend *self, const gchar *id,
						const gchar *agent_socket,
						GCancellable *cancellable,
						GAsyncReadyCallback callback, gpointer user_data);
GIOStream *sbx_hypervisor_backend_connect_agent_finish(SbxHypervisorBackend *self,
						       GAsyncResult *res, GError **error);
const SbxConfigKey *sbx_hypervisor_backend_get_config_keys(SbxHypervisorBackend *self);
void sbx_hypervisor_backend_emit_vm_exited(SbxHypervisorBackend *self, const gchar *id);

G_END_DECLS
