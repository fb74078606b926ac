/* client -> guest: enqueue chunks written to a guest fd as it drains, at most
 * MaxStreamBufferMiB per socket waiting here.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>

#include "sbx-gw-error.h"
#include "sbx-gw-rpc.h"
#include "sbx-gw-in-stream.h"
#include "sbx-gw-metrics.h"

struct _SbxGwInStream {
	GObject parent_instance;
	SbxGwConn *conn;
	guint64 id;
	GQueue chunks; /* GBytes */
	gsize offset;  /* into the head chunk */
	gboolean ended;
	gboolean claimed;
	GError *error;
	GOutputStream *sink;
	GSource *source;
	gboolean finished;
	GPtrArray *waiters;
};

G_DEFINE_TYPE(SbxGwInStream, sbx_gw_in_stream, G_TYPE_OBJECT)

static void
in_stream_drop_chunks(SbxGwInStream *self)
{
	GBytes *chunk;
	while ((chunk = g_queue_pop_head(&self->chunks)) != NULL) {
		gsize len = g_bytes_get_size(chunk);
		if (self->conn != NULL)
			self->conn->in_buffered -= MIN(self->conn->in_buffered, len);
		g_bytes_unref(chunk);
	}
	self->offset = 0;
	if (self->conn != NULL)
		sbx_gw_conn_update_input(self->conn);
}

static void
in_stream_complete(SbxGwInStream *self)
{
	if (self->finished)
		return;
	self->finished = TRUE;
	if (self->source != NULL) {
		g_source_destroy(self->source);
		g_clear_pointer(&self->source, g_source_unref);
	}
	if (self->sink != NULL)
		g_output_stream_close(self->sink, NULL, NULL);
	for (guint i = 0; i < self->waiters->len; i++) {
		GTask *task = g_ptr_array_index(self->waiters, i);
		if (self->error != NULL)
			g_task_return_error(task, g_error_copy(self->error));
		else
			g_task_return_boolean(task, TRUE);
	}
	g_ptr_array_set_size(self->waiters, 0);
}

static void in_stream_pump(SbxGwInStream *self);

static gboolean
in_stream_writable(GObject *stream, gpointer data)
{
	SbxGwInStream *self = data;
	g_clear_pointer(&self->source, g_source_unref);
	in_stream_pump(self);
	return G_SOURCE_REMOVE;
}

static void
in_stream_pump(SbxGwInStream *self)
{
	GBytes *chunk;

	if (self->sink == NULL || self->finished)
		return;
	if (self->error != NULL) {
		in_stream_complete(self);
		return;
	}
	while ((chunk = g_queue_peek_head(&self->chunks)) != NULL) {
		g_autoptr(GError) error = NULL;
		gsize len = 0;
		const guint8 *data = g_bytes_get_data(chunk, &len);
		gssize n = g_pollable_output_stream_write_nonblocking(
		    G_POLLABLE_OUTPUT_STREAM(self->sink), data + self->offset, len - self->offset,
		    NULL, &error);
		if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
			self->source = g_pollable_output_stream_create_source(
			    G_POLLABLE_OUTPUT_STREAM(self->sink), NULL);
			g_source_set_callback(self->source, G_SOURCE_FUNC(in_stream_writable),
					      g_object_ref(self), g_object_unref);
			g_source_attach(self->source, NULL);
			return;
		}
		if (n < 0) {
			/* the guest side stopped reading (the process exited, the write failed) */
			self->error = g_steal_pointer(&error);
			in_stream_drop_chunks(self);
			in_stream_complete(self);
			return;
		}
		self->offset += (gsize)n;
		sbx_gw_metrics_add_bytes(FALSE, (guint64)n);
		if (self->conn != NULL)
			self->conn->in_buffered -= MIN(self->conn->in_buffered, (gsize)n);
		if (self->offset == len) {
			g_bytes_unref(g_queue_pop_head(&self->chunks));
			self->offset = 0;
		}
		if (self->conn != NULL)
			sbx_gw_conn_update_input(self->conn);
	}
	if (self->ended)
		in_stream_complete(self);
}

static void
sbx_gw_in_stream_dispose(GObject *object)
{
	SbxGwInStream *self = SBX_GW_IN_STREAM(object);
	in_stream_drop_chunks(self);
	if (self->source != NULL) {
		g_source_destroy(self->source);
		g_clear_pointer(&self->source, g_source_unref);
	}
	g_clear_object(&self->sink);
	g_clear_object(&self->conn);
	G_OBJECT_CLASS(sbx_gw_in_stream_parent_class)->dispose(object);
}

static void
sbx_gw_in_stream_finalize(GObject *object)
{
	SbxGwInStream *self = SBX_GW_IN_STREAM(object);
	g_clear_error(&self->error);
	g_ptr_array_unref(self->waiters);
	G_OBJECT_CLASS(sbx_gw_in_stream_parent_class)->finalize(object);
}

static void
sbx_gw_in_stream_class_init(SbxGwInStreamClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = sbx_gw_in_stream_dispose;
	G_OBJECT_CLASS(klass)->finalize = sbx_gw_in_stream_finalize;
}

static void
sbx_gw_in_stream_init(SbxGwInStream *self)
{
	g_queue_init(&self->chunks);
	self->waiters = g_ptr_array_new_with_free_func(g_object_unref);
}

SbxGwInStream *
sbx_gw_in_stream_new(SbxGwConn *conn, guint64 id)
{
	SbxGwInStream *self = g_object_new(SBX_GW_TYPE_IN_STREAM, NULL);
	self->conn = g_object_ref(conn);
	self->id = id;
	return self;
}

SbxGwInStream *
sbx_gw_in_stream_new_for_bytes(SbxGwConn *conn, GBytes *bytes)
{
	SbxGwInStream *self = g_object_new(SBX_GW_TYPE_IN_STREAM, NULL);
	/* not counted against the socket: the frame that carried it is already bounded */
	if (g_bytes_get_size(bytes) > 0)
		g_queue_push_tail(&self->chunks, g_bytes_ref(bytes));
	self->ended = TRUE;
	self->claimed = TRUE;
	return self;
}

void
sbx_gw_in_stream_fail(SbxGwInStream *self, const gchar *message)
{
	if (self->error != NULL || self->finished)
		return;
	self->error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_FAILED, message);
	in_stream_drop_chunks(self);
	if (self->sink != NULL)
		in_stream_complete(self);
}

static guint64
stream_cap(SbxGwInStream *self)
{
	SbxGwConfig *config = self->conn->server->config;
	if (!self->claimed || self->conn->valve == NULL)
		return config->max_stream_buffer_bytes;
	return 2 * config->max_stream_buffer_bytes + config->max_message_bytes;
}

void
sbx_gw_in_stream_push(SbxGwInStream *self, GBytes *chunk)
{
	gsize len = g_bytes_get_size(chunk);

	if (self->ended || self->error != NULL || self->finished || len == 0)
		return;
	/* a claimed stream's bytes go to the guest: past the limit the socket stops
	 * being read (sbx_gw_conn_update_input), and what was read already (up to one
	 * read of frames) still fits below twice the limit plus one frame. Bytes no
	 * request claimed yet cannot make the guest read: waiting for them to drain
	 * while not reading the request that would claim them would never end, so
	 * past the limit they cancel their stream. */
	if (self->conn->in_buffered + len > stream_cap(self)) {
		g_autoptr(JsonBuilder) b = json_builder_new_immutable();
		g_autoptr(JsonNode) params = NULL;
		g_autoptr(JsonNode) reason = NULL;
		g_autofree gchar *frame = NULL;
		g_autofree gchar *message = g_strdup_printf(
		    "stream %" G_GUINT64_FORMAT ": the client sends faster than the sandbox "
		    "takes it (more than [gateway] MaxStreamBufferMiB buffered)",
		    self->id);

		reason = sbx_gw_error_object_new("Error", message, "ENOBUFS");
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "streamId");
		json_builder_add_int_value(b, (gint64)self->id);
		json_builder_set_member_name(b, "reason");
		json_builder_add_value(b, json_node_copy(reason));
		json_builder_end_object(b);
		params = json_builder_get_root(b);
		frame = sbx_gw_rpc_notification("$sandbox.stream.cancel", params);
		sbx_gw_conn_send(self->conn, frame);
		sbx_gw_in_stream_fail(self, message);
		return;
	}
	self->conn->in_buffered += len;
	g_queue_push_tail(&self->chunks, g_bytes_ref(chunk));
	if (self->source == NULL)
		in_stream_pump(self);
	sbx_gw_conn_update_input(self->conn);
}

void
sbx_gw_in_stream_end(SbxGwInStream *self)
{
	if (self->ended)
		return;
	self->ended = TRUE;
	if (self->source == NULL)
		in_stream_pump(self);
}

gboolean
sbx_gw_in_stream_claim(SbxGwInStream *self, GError **error)
{
	if (self->claimed) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "stream %" G_GUINT64_FORMAT " is already used by another request",
			    self->id);
		return FALSE;
	}
	self->claimed = TRUE;
	return TRUE;
}

void
sbx_gw_in_stream_set_sink(SbxGwInStream *self, gint fd)
{
	g_return_if_fail(self->sink == NULL);
	g_unix_set_fd_nonblocking(fd, TRUE, NULL);
	self->sink = g_unix_output_stream_new(fd, TRUE);
	in_stream_pump(self);
}

void
sbx_gw_in_stream_wait_async(SbxGwInStream *self, GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task = g_task_new(self, NULL, callback, user_data);
	if (self->finished) {
		if (self->error != NULL)
			g_task_return_error(task, g_error_copy(self->error));
		else
			g_task_return_boolean(task, TRUE);
		g_object_unref(task);
		return;
	}
	g_ptr_array_add(self->waiters, task);
}

gboolean
sbx_gw_in_stream_wait_finish(SbxGwInStream *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}
