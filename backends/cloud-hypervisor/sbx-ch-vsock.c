/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gunixsocketaddress.h>

#include "sbx-ch-vsock.h"

/* the muxer takes a command of at most 32 bytes; the answer is as short */
#define SBX_CH_VSOCK_LINE_MAX 32

typedef struct {
	gchar *socket_path;
	guint port;
	GSocketConnection *conn;
	GCancellable *cancellable; /* ours: the caller's, or the timeout, cancel it */
	gulong cancelled_id;
	GCancellable *outer;
	GSource *timeout;
	gboolean timed_out;
	gchar line[SBX_CH_VSOCK_LINE_MAX + 1];
	gsize len;
	gchar request[SBX_CH_VSOCK_LINE_MAX];
} VsockConnect;

static void
vsock_connect_free(VsockConnect *vc)
{
	if (vc->timeout != NULL) {
		g_source_destroy(vc->timeout);
		g_source_unref(vc->timeout);
	}
	if (vc->outer != NULL)
		g_cancellable_disconnect(vc->outer, vc->cancelled_id);
	g_clear_object(&vc->outer);
	g_clear_object(&vc->cancellable);
	g_clear_object(&vc->conn);
	g_free(vc->socket_path);
	g_free(vc);
}

static void
fail(GTask *task, GError *error)
{
	VsockConnect *vc = g_task_get_task_data(task);

	if (vc->timed_out && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_clear_error(&error);
		error = g_error_new(G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
				    "vsock port %u: no answer from %s in time", vc->port,
				    vc->socket_path);
	} else {
		g_prefix_error(&error, "vsock port %u through %s: ", vc->port, vc->socket_path);
	}
	g_task_return_error(task, error);
	g_object_unref(task);
}

static void read_byte(GTask *task);

static void
on_byte(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GTask *task = user_data;
	VsockConnect *vc = g_task_get_task_data(task);
	GError *error = NULL;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, &error);
	guint64 local_port = 0;

	if (n < 0) {
		fail(task, error);
		return;
	}
	if (n == 0) {
		/* the muxer just closes: guest not listening, reset, or its own timeout */
		fail(task, g_error_new(G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED,
				       "refused (nothing listens on the port in the guest)"));
		return;
	}
	if (vc->line[vc->len] != '\n') {
		if (++vc->len >= SBX_CH_VSOCK_LINE_MAX) {
			fail(task,
			     g_error_new(G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					 "answer longer than %u bytes", SBX_CH_VSOCK_LINE_MAX));
			return;
		}
		read_byte(task);
		return;
	}
	vc->line[vc->len] = '\0';
	if (!g_str_has_prefix(vc->line, "OK ") ||
	    !g_ascii_string_to_unsigned(vc->line + 3, 10, 0, G_MAXUINT32, &local_port, NULL)) {
		g_autofree gchar *shown = g_strescape(vc->line, NULL);
		fail(task, g_error_new(G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				       "unexpected answer \"%s\"", shown));
		return;
	}
	g_debug("vsock port %u: connected (host port %" G_GUINT64_FORMAT ")", vc->port, local_port);
	g_task_return_pointer(task, g_steal_pointer(&vc->conn), g_object_unref);
	g_object_unref(task);
}

/* byte by byte: whatever follows the newline belongs to the guest */
static void
read_byte(GTask *task)
{
	VsockConnect *vc = g_task_get_task_data(task);
	g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(vc->conn)),
				  vc->line + vc->len, 1, G_PRIORITY_DEFAULT, vc->cancellable,
				  on_byte, task);
}

static void
on_written(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GTask *task = user_data;
	GError *error = NULL;

	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, &error)) {
		fail(task, error);
		return;
	}
	read_byte(task);
}

static void
on_connected(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GTask *task = user_data;
	VsockConnect *vc = g_task_get_task_data(task);
	GError *error = NULL;

	vc->conn = g_socket_client_connect_finish(G_SOCKET_CLIENT(source), res, &error);
	if (vc->conn == NULL) {
		fail(task, error);
		return;
	}
	g_output_stream_write_all_async(g_io_stream_get_output_stream(G_IO_STREAM(vc->conn)),
					vc->request, strlen(vc->request), G_PRIORITY_DEFAULT,
					vc->cancellable, on_written, task);
}

static gboolean
on_timeout(gpointer user_data)
{
	VsockConnect *vc = user_data;
	vc->timed_out = TRUE;
	g_cancellable_cancel(vc->cancellable);
	return G_SOURCE_REMOVE;
}

static void
on_outer_cancelled(GCancellable *outer, gpointer user_data)
{
	g_cancellable_cancel(G_CANCELLABLE(user_data));
}

void
sbx_ch_vsock_connect_async(const gchar *socket_path, guint port, guint timeout_ms,
			   GCancellable *cancellable, GAsyncReadyCallback callback,
			   gpointer user_data)
{
	GTask *task = g_task_new(NULL, cancellable, callback, user_data);
	VsockConnect *vc = g_new0(VsockConnect, 1);
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) address = g_unix_socket_address_new(socket_path);

	g_task_set_source_tag(task, sbx_ch_vsock_connect_async);
	g_task_set_task_data(task, vc, (GDestroyNotify)vsock_connect_free);
	vc->socket_path = g_strdup(socket_path);
	vc->port = port;
	g_snprintf(vc->request, sizeof(vc->request), "CONNECT %u\n", port);
	vc->cancellable = g_cancellable_new();
	if (cancellable != NULL) {
		vc->outer = g_object_ref(cancellable);
		vc->cancelled_id =
		    g_cancellable_connect(cancellable, G_CALLBACK(on_outer_cancelled),
					  g_object_ref(vc->cancellable), g_object_unref);
	}
	vc->timeout = g_timeout_source_new(timeout_ms);
	g_source_set_callback(vc->timeout, on_timeout, vc, NULL);
	g_source_attach(vc->timeout, g_main_context_get_thread_default());
	g_socket_client_connect_async(client, G_SOCKET_CONNECTABLE(address), vc->cancellable,
				      on_connected, task);
}

GIOStream *
sbx_ch_vsock_connect_finish(GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}
