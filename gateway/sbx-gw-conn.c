/* a WebSocket of the SDK: frames in, calls out of order, streams both ways.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "sbx-gw-call.h"
#include "sbx-gw-conn.h"
#include "sbx-gw-in-stream.h"
#include "sbx-gw-out-stream.h"

/* a client cannot make us keep more streams than this per socket */
#define SBX_GW_MAX_IN_STREAMS 1024

typedef struct {
	GSourceFunc func;
	gpointer data;
} SbxGwWaiter;

G_DEFINE_TYPE(SbxGwConn, sbx_gw_conn, G_TYPE_OBJECT)

void
sbx_gw_conn_send(SbxGwConn *self, const gchar *text)
{
	if (self->closed ||
	    soup_websocket_connection_get_state(self->ws) != SOUP_WEBSOCKET_STATE_OPEN)
		return;
	soup_websocket_connection_send_text(self->ws, text);
}

void
sbx_gw_conn_close(SbxGwConn *self, gushort code, const gchar *reason)
{
	if (soup_websocket_connection_get_state(self->ws) == SOUP_WEBSOCKET_STATE_OPEN)
		soup_websocket_connection_close(self->ws, code, reason);
}

gboolean
sbx_gw_conn_can_send(SbxGwConn *self)
{
	if (self->closed)
		return TRUE;
	return (g_socket_condition_check(self->socket, G_IO_OUT) & G_IO_OUT) != 0;
}

static void
run_waiters(SbxGwConn *self)
{
	g_autoptr(GPtrArray) waiters = g_steal_pointer(&self->blocked);
	self->blocked = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < waiters->len; i++) {
		SbxGwWaiter *w = g_ptr_array_index(waiters, i);
		w->func(w->data);
	}
}

static gboolean
on_writable(GSocket *socket, GIOCondition condition, gpointer data)
{
	SbxGwConn *self = data;
	g_clear_pointer(&self->writable_source, g_source_unref);
	run_waiters(self);
	return G_SOURCE_REMOVE;
}

void
sbx_gw_conn_when_writable(SbxGwConn *self, GSourceFunc func, gpointer data)
{
	SbxGwWaiter *w = g_new0(SbxGwWaiter, 1);
	w->func = func;
	w->data = data;
	g_ptr_array_add(self->blocked, w);
	if (self->closed) {
		run_waiters(self);
		return;
	}
	if (self->writable_source != NULL)
		return;
	self->writable_source = g_socket_create_source(self->socket, G_IO_OUT, NULL);
	g_source_set_callback(self->writable_source, G_SOURCE_FUNC(on_writable), self, NULL);
	g_source_attach(self->writable_source, NULL);
}

SbxGwInStream *
sbx_gw_conn_in_stream(SbxGwConn *self, guint64 id)
{
	SbxGwInStream *stream = g_hash_table_lookup(self->in_streams, &id);
	guint64 *key;

	if (stream != NULL)
		return stream;
	if (g_hash_table_size(self->in_streams) >= SBX_GW_MAX_IN_STREAMS)
		return NULL;
	stream = sbx_gw_in_stream_new(self, id);
	key = g_new(guint64, 1);
	*key = id;
	g_hash_table_insert(self->in_streams, key, stream);
	return stream;
}

static void
out_stream_done(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(SbxGwConn) self = data;
	guint64 id = sbx_gw_out_stream_get_id(SBX_GW_OUT_STREAM(source));
	sbx_gw_out_stream_wait_finish(SBX_GW_OUT_STREAM(source), res);
	if (self->out_streams != NULL)
		g_hash_table_remove(self->out_streams, &id);
}

void
sbx_gw_conn_add_out_stream(SbxGwConn *self, SbxGwOutStream *stream)
{
	guint64 *key = g_new(guint64, 1);
	*key = sbx_gw_out_stream_get_id(stream);
	g_hash_table_insert(self->out_streams, key, g_object_ref(stream));
	sbx_gw_out_stream_wait_async(stream, out_stream_done, g_object_ref(self));
}

static void
send_protocol_error(SbxGwConn *self, gint64 id, gint code, const gchar *message)
{
	g_autofree gchar *frame = sbx_gw_rpc_protocol_error(id, code, message);
	sbx_gw_conn_send(self, frame);
}

static void
handle_stream_notification(SbxGwConn *self, SbxGwRpcMessage *msg)
{
	const gchar *kind = msg->method + strlen("$sandbox.stream.");
	SbxGwInStream *stream;
	gint64 id = 0;

	if (!sbx_gw_rpc_get_int(msg->params, "streamId", TRUE, &id, NULL))
		return;
	if (g_strcmp0(kind, "cancel") == 0) {
		/* the client stops reading one of our streams: its guest fd is closed */
		guint64 key = (guint64)id;
		SbxGwOutStream *out = g_hash_table_lookup(self->out_streams, &key);
		if (out != NULL)
			sbx_gw_out_stream_cancel(out);
		return;
	}
	stream = sbx_gw_conn_in_stream(self, (guint64)id);
	if (stream == NULL)
		return;
	if (g_strcmp0(kind, "enqueue") == 0) {
		const gchar *data = NULL;
		gsize len = 0;
		g_autoptr(GBytes) chunk = NULL;
		guchar *raw;

		if (!sbx_gw_rpc_get_string(msg->params, "data", TRUE, &data, NULL))
			return;
		raw = g_base64_decode(data, &len);
		chunk = g_bytes_new_take(raw, len);
		sbx_gw_in_stream_push(stream, chunk);
	} else if (g_strcmp0(kind, "end") == 0) {
		sbx_gw_in_stream_end(stream);
	} else if (g_strcmp0(kind, "error") == 0) {
		sbx_gw_in_stream_fail(stream, "the client failed the stream");
	}
}

static void
on_message(SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer data)
{
	SbxGwConn *self = data;
	g_auto(SbxGwRpcMessage) msg = {0};
	g_autoptr(GError) error = NULL;
	gsize len = 0;
	const gchar *text = g_bytes_get_data(message, &len);
	gint code = 0;
	gint64 id = -1;

	if (type != SOUP_WEBSOCKET_DATA_TEXT) {
		sbx_gw_conn_close(self, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA,
				  "binary frames are not part of the protocol");
		return;
	}
	if (!sbx_gw_rpc_parse(text, len, &msg, &code, &id, &error)) {
		send_protocol_error(self, id, code, error->message);
		return;
	}
	switch (msg.kind) {
	case SBX_GW_RPC_PING:
		sbx_gw_conn_send(self, "pong");
		break;
	case SBX_GW_RPC_NOTIFICATION:
		if (g_str_has_prefix(msg.method, "$sandbox.stream."))
			handle_stream_notification(self, &msg);
		break;
	case SBX_GW_RPC_REQUEST:
		sbx_gw_call_dispatch(self, &msg);
		break;
	}
}

static void
on_closed(SoupWebsocketConnection *ws, gpointer data)
{
	SbxGwConn *self = data;
	g_autoptr(GPtrArray) outs = NULL;
	GHashTableIter iter;
	gpointer value;

	if (self->closed)
		return;
	self->closed = TRUE;
	g_debug("socket closed sandbox=%s code=%u trace=%s", self->sandbox->sdk_id,
		soup_websocket_connection_get_close_code(ws), self->trace_id);
	g_hash_table_iter_init(&iter, self->in_streams);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		sbx_gw_in_stream_fail(value, "the socket closed");
	/* nobody reads our streams any more: release their guest fds now */
	outs = g_ptr_array_new_with_free_func(g_object_unref);
	g_hash_table_iter_init(&iter, self->out_streams);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(outs, g_object_ref(value));
	for (guint i = 0; i < outs->len; i++)
		sbx_gw_out_stream_cancel(g_ptr_array_index(outs, i));
	if (self->writable_source != NULL) {
		g_source_destroy(self->writable_source);
		g_clear_pointer(&self->writable_source, g_source_unref);
	}
	run_waiters(self);
	sbx_gw_file_close_all(self);
	sbx_gw_deno_conn_closed(self);
	sbx_gw_sandbox_remove_conn(self->sandbox, self);
	/* the ref the socket held */
	g_object_unref(self);
}

static void
sbx_gw_conn_dispose(GObject *object)
{
	SbxGwConn *self = SBX_GW_CONN(object);
	if (self->ws != NULL)
		g_signal_handlers_disconnect_by_data(self->ws, self);
	g_clear_pointer(&self->in_streams, g_hash_table_unref);
	g_clear_pointer(&self->out_streams, g_hash_table_unref);
	g_clear_pointer(&self->files, g_hash_table_unref);
	g_clear_object(&self->ws);
	g_clear_object(&self->valve);
	g_clear_object(&self->socket);
	g_clear_object(&self->sandbox);
	G_OBJECT_CLASS(sbx_gw_conn_parent_class)->dispose(object);
}

static void
sbx_gw_conn_finalize(GObject *object)
{
	SbxGwConn *self = SBX_GW_CONN(object);
	g_ptr_array_unref(self->blocked);
	g_free(self->trace_id);
	g_free(self->tenant);
	G_OBJECT_CLASS(sbx_gw_conn_parent_class)->finalize(object);
}

static void
sbx_gw_conn_class_init(SbxGwConnClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = sbx_gw_conn_dispose;
	G_OBJECT_CLASS(klass)->finalize = sbx_gw_conn_finalize;
}

static void
sbx_gw_conn_init(SbxGwConn *self)
{
	self->in_streams =
	    g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_object_unref);
	self->out_streams =
	    g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_object_unref);
	self->blocked = g_ptr_array_new_with_free_func(g_free);
	self->files = g_hash_table_new(NULL, NULL);
}

void
sbx_gw_conn_update_input(SbxGwConn *self)
{
	guint64 limit = self->server->config->max_stream_buffer_bytes;

	if (self->valve == NULL)
		return;
	if (self->in_buffered > limit && sbx_gw_valve_get_open(self->valve)) {
		g_debug("socket %s: %" G_GUINT64_FORMAT " stream bytes wait for the guest: "
			"not reading the client",
			self->trace_id, self->in_buffered);
		sbx_gw_valve_set_open(self->valve, FALSE);
	} else if (self->in_buffered <= limit / 2 && !sbx_gw_valve_get_open(self->valve)) {
		sbx_gw_valve_set_open(self->valve, TRUE);
	}
}

SbxGwConn *
sbx_gw_conn_new(SbxGwServer *server, SbxGwSandbox *sandbox, SoupWebsocketConnection *ws,
		SbxGwValve *valve, GSocket *socket, const gchar *trace_id)
{
	SbxGwConn *self = g_object_new(SBX_GW_TYPE_CONN, NULL);

	self->server = server;
	self->sandbox = g_object_ref(sandbox);
	self->ws = g_object_ref(ws);
	self->valve = valve != NULL ? g_object_ref(valve) : NULL;
	self->socket = g_object_ref(socket);
	self->trace_id = g_strdup(trace_id);
	soup_websocket_connection_set_max_incoming_payload_size(ws,
								server->config->max_message_bytes);
	/* the SDK pings every 2 s; we need no keepalive of our own */
	soup_websocket_connection_set_keepalive_interval(ws, 0);
	g_signal_connect(ws, "message", G_CALLBACK(on_message), self);
	g_signal_connect(ws, "closed", G_CALLBACK(on_closed), self);
	sbx_gw_sandbox_add_conn(sandbox, self);
	/* the socket owns one ref until it closes; the caller gets another */
	return g_object_ref(self);
}
