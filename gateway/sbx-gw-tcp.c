/* Sandbox1.ConnectTcp: the caller passes one end of a socketpair, sandboxd
 * relays the guest's connection to it; the other end is ours.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>

#include "sbx-gw-tcp.h"

static void
on_connected(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(GTask) task = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	    g_dbus_proxy_call_with_unix_fd_list_finish(G_DBUS_PROXY(source), NULL, res, &error);
	g_autoptr(GSocket) socket = NULL;
	gint *fd = g_task_get_task_data(task);

	if (reply == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	socket = g_socket_new_from_fd(*fd, &error);
	if (socket == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	/* the socket owns it now */
	*fd = -1;
	g_task_return_pointer(task, g_socket_connection_factory_create_connection(socket),
			      g_object_unref);
}

static void
close_fd(gpointer data)
{
	gint *fd = data;
	if (*fd >= 0)
		close(*fd);
	g_free(fd);
}

void
sbx_gw_tcp_connect_async(SbxDBusSandbox1 *proxy, const gchar *host, guint16 port,
			 GCancellable *cancellable, GAsyncReadyCallback callback,
			 gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(proxy, cancellable, callback, user_data);
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GError) error = NULL;
	gint sv[2];

	g_task_set_source_tag(task, sbx_gw_tcp_connect_async);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		g_task_return_new_error(task, G_IO_ERROR, g_io_error_from_errno(errno),
					"socketpair: %s", g_strerror(errno));
		return;
	}
	g_task_set_task_data(task, g_memdup2(&sv[0], sizeof(sv[0])), close_fd);
	if (g_unix_fd_list_append(fds, sv[1], &error) < 0) {
		close(sv[1]);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	/* the list has its own copy */
	close(sv[1]);
	g_dbus_proxy_call_with_unix_fd_list(
	    G_DBUS_PROXY(proxy), "ConnectTcp", g_variant_new("(sqa{sv}h)", host, port, NULL, 0),
	    G_DBUS_CALL_FLAGS_NONE, -1, fds, cancellable, on_connected, g_steal_pointer(&task));
}

GIOStream *
sbx_gw_tcp_connect_finish(SbxDBusSandbox1 *proxy, GAsyncResult *res, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(res, proxy), NULL);
	return g_task_propagate_pointer(G_TASK(res), error);
}
