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
	klass->connect_agent_async = default_connect_agent_async;
	klass->connect_agent_finish = default_connect_agent_finish;

	/**
	 * SbxHypervisorBackend::vm-exited:
	 * @self: the backend
	 * @id: the id of the VM that stopped without being asked to
	 */
	signals[SIGNAL_VM_EXITED] =
	    g_signal_new("vm-exited", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
			 NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
sbx_hypervisor_backend_init(SbxHypervisorBackend *self)
{
}

gboolean
sbx_hypervisor_backend_configure(SbxHypervisorBackend *self, GKeyFile *config, const gchar *group,
				 GError **error)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), FALSE);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->configure(self, config, group, error);
}

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

gboolean
sbx_hypervisor_backend_start_vm_finish(SbxHypervisorBackend *self, GAsyncResult *res,
				       GError **error)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), FALSE);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->start_vm_finish(self, res, error);
}

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

gboolean
sbx_hypervisor_backend_destroy_vm_finish(SbxHypervisorBackend *self, GAsyncResult *res,
					 GError **error)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), FALSE);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->destroy_vm_finish(self, res, error);
}

const gchar *
sbx_hypervisor_backend_get_domain_type(SbxHypervisorBackend *self)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), NULL);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->get_domain_type(self);
}

void
sbx_hypervisor_backend_list_vms_async(SbxHypervisorBackend *self, GCancellable *cancellable,
				      GAsyncReadyCallback callback, gpointer user_data)
{
	g_return_if_fail(SBX_IS_HYPERVISOR_BACKEND(self));
	SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->list_vms_async(self, cancellable, callback,
							       user_data);
}

gchar **
sbx_hypervisor_backend_list_vms_finish(SbxHypervisorBackend *self, GAsyncResult *res,
				       GError **error)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), NULL);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->list_vms_finish(self, res, error);
}

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

GIOStream *
sbx_hypervisor_backend_connect_agent_finish(SbxHypervisorBackend *self, GAsyncResult *res,
					    GError **error)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), NULL);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->connect_agent_finish(self, res, error);
}

const SbxConfigKey *
sbx_hypervisor_backend_get_config_keys(SbxHypervisorBackend *self)
{
	g_return_val_if_fail(SBX_IS_HYPERVISOR_BACKEND(self), NULL);
	return SBX_HYPERVISOR_BACKEND_GET_CLASS(self)->config_keys;
}

void
sbx_hypervisor_backend_emit_vm_exited(SbxHypervisorBackend *self, const gchar *id)
{
	g_return_if_fail(SBX_IS_HYPERVISOR_BACKEND(self));
	g_signal_emit(self, signals[SIGNAL_VM_EXITED], 0, id);
}
