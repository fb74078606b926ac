/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gunixsocketaddress.h>

#include "sbx-hypervisor-backend.h"

G_DEFINE_ABSTRACT_TYPE(SbxHypervisorBackend, sbx_hypervisor_backend, G_TYPE_OBJECT)

enum { SIGNAL_VM_EXITED, SIGNAL_LAST };
static guint signals[SIGNAL_LAST];

static void
not_supported_async(gpointer self, GAsyncReadyCallback callback, gpointer user_data,
		    gpointer source_tag)
{
	g_task_report_new_error(self, callback, user_data, source_tag, G_IO_ERROR,
				G_IO_ERROR_NOT_SUPPORTED, "%s does not support this operation",
				G_OBJECT_TYPE_NAME(self));
}

static gboolean
default_configure(SbxHypervisorBackend *self, GKeyFile *config, const gchar *group, GError **error)
{
	return TRUE;
}

static void
default_start_vm_async(SbxHypervisorBackend *self, const SbxVmSpec *spec, GCancellable *cancellable,
		       GAsyncReadyCallback callback, gpointer user_data)
{
	not_supported_async(self, callback, user_data, default_start_vm_async);
}

static void
default_destroy_vm_async(SbxHypervisorBackend *self, const gchar *id, GCancellable *cancellable,
			 GAsyncReadyCallback callback, gpointer user_data)
{
	not_supported_async(self, callback, user_data, default_destroy_vm_async);
}

static void
default_list_vms_async(SbxHypervisorBackend *self, GCancellable *cancellable,
		       GAsyncReadyCallback callback, gpointer user_data)
{
	not_supported_async(self, callback, user_data, default_list_vms_async);
}

static gboolean
default_boolean_finish(SbxHypervisorBackend *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

static gchar **
default_list_vms_finish(SbxHypervisorBackend *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

static void
on_agent_socket_connected(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	GError *error = NULL;
	GSocketConnection *conn =
	    g_socket_client_connect_finish(G_SOCKET_CLIENT(source), res, &error);

	if (conn == NULL)
		g_task_return_error(task, error);
	else
		g_task_return_pointer(task, conn, g_object_unref);
}

/* the agent channel is a listening unix socket (virtio-serial) */
static void
default_connect_agent_async(SbxHypervisorBackend *self, const gchar *id, const gchar *agent_socket,
			    GCancellable *cancellable, GAsyncReadyCallback callback,
			    gpointer user_data)
{
	GTask *task = g_task_new(self, cancellable, callback, user_data);
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(agent_socket);

	g_task_set_source_tag(task, default_connect_agent_async);
	g_socket_client_connect_async(client, G_SOCKET_CONNECTABLE(address), cancellable,
				      on_agent_socket_connected, task);
}

static GIOStream *
default_connect_agent_finish(SbxHypervisorBackend *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

static const gchar *
default_get_domain_type(SbxHypervisorBackend *self)
{
	return "unknown";
}

static const gchar *
default_get_snapshot_compat(SbxHypervisorBackend *self)
{
	return NULL;
}

static const gchar *
default_get_network_bridge(SbxHypervisorBackend *self)
{
	return NULL;
}

static gchar *
default_get_vm_address(SbxHypervisorBackend *self, const gchar *id)
{
	return NULL;
}

static void
default_snapshot_vm_async(SbxHypervisorBackend *self, const gchar *id, GCancellable *cancellable,
			  GAsyncReadyCallback callback, gpointer user_data)
{
	not_supported_async(self, callback, user_data, default_snapshot_vm_async);
}

static void
default_restore_vm_async(SbxHypervisorBackend *self, const SbxVmSpec *spec,
			 GCancellable *cancellable, GAsyncReadyCallback callback,
			 gpointer user_data)
{
	not_supported_async(self, callback, user_data, default_restore_vm_async);
}

static gchar *
default_restore_vm_finish(SbxHypervisorBackend *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

static void
sbx_hypervisor_backend_class_init(SbxHypervisorBackendClass *klass)
{
	klass->configure = default_configure;
	klass->start_vm_async = default_start_vm_async;
	klass->start_vm_finish = default_boolean_finish;
	klass->destroy_vm_async = default_destroy_vm_async;
	klass->destroy_vm_finish = default_boolean_finish;
	klass->list_vms_async = default_list_vms_async;
	klass->list_vms_finish = default_list_vms_finish;
	klass->get_domain_type = default_get_domain_type;
	klass->get_snapshot_compat = default_get_snapshot_compat;
	klass->snapshot_vm_async = default_snapshot_vm_async;
	klass->snapshot_vm_finish = default_boolean_finish;
	klass->restore_vm_async = default_restore_vm_async;
	klass->restore_vm_finish = default_restore_vm_finish;
	klass->get_network_bridge = default_get_network_bridge;
	klass->get_vm_address = default_get_vm_address;
	klass->connect_agent_async = default_connect_agent_async;
	klass->connect_agent_finish = default_connect_agent_finish;

	/**
	 * SbxHypervisorBackend::vm-exited:
	 * @self: the backend
	 * @id: the id of the VM that stopped without being asked to
	 *
	 * Since: 1
	 */
	signals[SIGNAL_VM_EXITED] =
	    g_signal_new("vm-exited", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
			 NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
sbx_hypervisor_backend_init(SbxHypervisorBackend *self)
{
}

/**
 * sbx_hypervisor_backend_configure:
 * @self: a #SbxHypervisorBackend
 *
 * Runs the class's @configure (see #SbxHypervisorBackendClass).
 *
 * Returns: %FALSE with @error set when the section is unusable
 *
 * Since: 1
 */
gboolean
sbx_hypervisor_backend_configure(SbxHypervisorBackend *self, GKeyFile *config, const gchar *group,
				 GError **error)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), FALSE);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->configure(self, config, group, error);
}

/**
 * sbx_hypervisor_backend_start_vm_async:
 * @self: a #SbxHypervisorBackend
 *
 * Runs the class's @start_vm_async (see #SbxHypervisorBackendClass); call
 * sbx_hypervisor_backend_start_vm_finish() from @callback.
 *
 * Since: 1
 */
void
sbx_hypervisor_backend_start_vm_async(SbxHypervisorBackend *self, const SbxVmSpec *spec,
				      GCancellable *cancellable, GAsyncReadyCallback callback,
				      gpointer user_data)
{
	g_return_if_fail(SBX_IS_HYPERVISOR_BACKEND(self));
	g_return_if_fail(spec != NULL);
	SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->start_vm_async(self, spec, cancellable, callback,
							       user_data);
}

/**
 * sbx_hypervisor_backend_start_vm_finish:
 * @self: a #SbxHypervisorBackend
 *
 * Finishes sbx_hypervisor_backend_start_vm_async().
 *
 * Since: 1
 */
gboolean
sbx_hypervisor_backend_start_vm_finish(SbxHypervisorBackend *self, GAsyncResult *res,
				       GError **error)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), FALSE);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->start_vm_finish(self, res, error);
}

/**
 * sbx_hypervisor_backend_destroy_vm_async:
 * @self: a #SbxHypervisorBackend
 *
 * Runs the class's @destroy_vm_async (see #SbxHypervisorBackendClass); call
 * sbx_hypervisor_backend_destroy_vm_finish() from @callback.
 *
 * Since: 1
 */
void
sbx_hypervisor_backend_destroy_vm_async(SbxHypervisorBackend *self, const gchar *id,
					GCancellable *cancellable, GAsyncReadyCallback callback,
					gpointer user_data)
{
	g_return_if_fail(SBX_IS_HYPERVISOR_BACKEND(self));
	g_return_if_fail(id != NULL);
	SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->destroy_vm_async(self, id, cancellable, callback,
								 user_data);
}

/**
 * sbx_hypervisor_backend_destroy_vm_finish:
 * @self: a #SbxHypervisorBackend
 *
 * Finishes sbx_hypervisor_backend_destroy_vm_async().
 *
 * Since: 1
 */
gboolean
sbx_hypervisor_backend_destroy_vm_finish(SbxHypervisorBackend *self, GAsyncResult *res,
					 GError **error)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), FALSE);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->destroy_vm_finish(self, res, error);
}

/**
 * sbx_hypervisor_backend_get_domain_type:
 * @self: a #SbxHypervisorBackend
 *
 * Returns: (transfer none): what guests run under, "kvm" or "qemu"
 *
 * Since: 1
 */
const gchar *
sbx_hypervisor_backend_get_network_bridge(SbxHypervisorBackend *self)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), NULL);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->get_network_bridge(self);
}

gchar *
sbx_hypervisor_backend_get_vm_address(SbxHypervisorBackend *self, const gchar *id)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), NULL);
	g_return_val_if_fail(id != NULL, NULL);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->get_vm_address(self, id);
}

const gchar *
sbx_hypervisor_backend_get_domain_type(SbxHypervisorBackend *self)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), NULL);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->get_domain_type(self);
}

/**
 * sbx_hypervisor_backend_list_vms_async:
 * @self: a #SbxHypervisorBackend
 *
 * Runs the class's @list_vms_async (see #SbxHypervisorBackendClass); call
 * sbx_hypervisor_backend_list_vms_finish() from @callback.
 *
 * Since: 1
 */
void
sbx_hypervisor_backend_list_vms_async(SbxHypervisorBackend *self, GCancellable *cancellable,
				      GAsyncReadyCallback callback, gpointer user_data)
{
	g_return_if_fail(SBX_IS_HYPERVISOR_BACKEND(self));
	SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->list_vms_async(self, cancellable, callback,
							       user_data);
}

/**
 * sbx_hypervisor_backend_list_vms_finish:
 * @self: a #SbxHypervisorBackend
 *
 * Finishes sbx_hypervisor_backend_list_vms_async().
 *
 * Since: 1
 */
gchar **
sbx_hypervisor_backend_list_vms_finish(SbxHypervisorBackend *self, GAsyncResult *res,
				       GError **error)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), NULL);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->list_vms_finish(self, res, error);
}

/**
 * sbx_hypervisor_backend_connect_agent_async:
 * @self: a #SbxHypervisorBackend
 * @id: the VM
 * @agent_socket: the spec's agent socket, which the default connects to
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when connected or failed
 * @user_data: data for @callback
 *
 * Opens a stream to the guest agent of VM @id (see the class's
 * @connect_agent_async).
 *
 * Since: 1 (revision 4)
 */
void
sbx_hypervisor_backend_connect_agent_async(SbxHypervisorBackend *self, const gchar *id,
					   const gchar *agent_socket, GCancellable *cancellable,
					   GAsyncReadyCallback callback, gpointer user_data)
{
	g_return_if_fail(SBX_IS_HYPERVISOR_BACKEND(self));
	g_return_if_fail(id != NULL && agent_socket != NULL);
	SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->connect_agent_async(
	    self, id, agent_socket, cancellable, callback, user_data);
}

/**
 * sbx_hypervisor_backend_connect_agent_finish:
 * @self: a #SbxHypervisorBackend
 * @res: the result passed to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the connected stream, or %NULL with @error set
 *
 * Since: 1 (revision 4)
 */
GIOStream *
sbx_hypervisor_backend_connect_agent_finish(SbxHypervisorBackend *self, GAsyncResult *res,
					    GError **error)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), NULL);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->connect_agent_finish(self, res, error);
}

/**
 * sbx_hypervisor_backend_get_config_keys:
 * @self: a #SbxHypervisorBackend
 *
 * Returns: (transfer none) (nullable): the class's @config_keys
 *
 * Since: 1
 */
const SbxConfigKey *
sbx_hypervisor_backend_get_config_keys(SbxHypervisorBackend *self)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), NULL);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->config_keys;
}

/**
 * sbx_hypervisor_backend_emit_vm_exited:
 * @self: a #SbxHypervisorBackend
 *
 * Emits #SbxHypervisorBackend::vm-exited; for backends.
 *
 * Since: 1
 */
void
sbx_hypervisor_backend_emit_vm_exited(SbxHypervisorBackend *self, const gchar *id)
{
	g_return_if_fail(SBX_IS_HYPERVISOR_BACKEND(self));
	g_signal_emit(self, signals[SIGNAL_VM_EXITED], 0, id);
}

const gchar *
sbx_hypervisor_backend_get_snapshot_compat(SbxHypervisorBackend *self)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), NULL);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->get_snapshot_compat(self);
}

void
sbx_hypervisor_backend_snapshot_vm_async(SbxHypervisorBackend *self, const gchar *id,
					 GCancellable *cancellable, GAsyncReadyCallback callback,
					 gpointer user_data)
{
	g_return_if_fail(SBX_IS_HYPERVISOR_BACKEND(self));
	g_return_if_fail(id != NULL);
	SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->snapshot_vm_async(self, id, cancellable, callback,
								  user_data);
}

gboolean
sbx_hypervisor_backend_snapshot_vm_finish(SbxHypervisorBackend *self, GAsyncResult *res,
					  GError **error)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), FALSE);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->snapshot_vm_finish(self, res, error);
}

void
sbx_hypervisor_backend_restore_vm_async(SbxHypervisorBackend *self, const SbxVmSpec *spec,
					GCancellable *cancellable, GAsyncReadyCallback callback,
					gpointer user_data)
{
	g_return_if_fail(SBX_IS_HYPERVISOR_BACKEND(self));
	g_return_if_fail(spec != NULL && spec->snapshot_dir != NULL);
	SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->restore_vm_async(self, spec, cancellable, callback,
								 user_data);
}

gchar *
sbx_hypervisor_backend_restore_vm_finish(SbxHypervisorBackend *self, GAsyncResult *res,
					 GError **error)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), NULL);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->restore_vm_finish(self, res, error);
}
