/* guest -> client: one enqueue per chunk read from a guest fd, and never more than one
 * chunk per stream beyond what the kernel takes toward the client.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>

#include "sbx-gw-error.h"
#include "sbx-gw-metrics.h"
#include "sbx-gw-rpc.h"
#include "sbx-gw-metrics.h"
#include "sbx-gw-out-stream.h"

#define SBX_GW_CHUNK (64 * 1024)

struct _SbxGwOutStream {
	GObject parent_instance;
	SbxGwConn *conn;
	guint64 id;
	GInputStream *input; /* pollable, non-blocking */
	GSource *source;
	gboolean started;
	gboolean done;
	guint64 bytes;
	GPtrArray *waiters; /* GTask */
	guint8 *buffer;
	GByteArray *records; /* walk records not yet whole, or NULL: plain bytes */
	/* walk: the end waits for the producer's verdict (the D-Bus reply) */
	gboolean hold_end;
	gboolean at_eof;
	gboolean has_verdict;
	GError *verdict; /* NULL: a clean end */
};

G_DEFINE_TYPE(SbxGwOutStream, sbx_gw_out_stream, G_TYPE_OBJECT)

static void
out_stream_finish(SbxGwOutStream *self, const GError *error)
{
	g_autoptr(JsonBuilder) b = NULL;
	g_autoptr(JsonNode) params = NULL;
	g_autofree gchar *frame = NULL;
	g_autoptr(GPtrArray) waiters = NULL;

	if (self->done)
		return;
	self->done = TRUE;
	g_debug("stream %" G_GUINT64_FORMAT " ended after %" G_GUINT64_FORMAT " bytes%s%s",
		self->id, self->bytes, error != NULL ? ": " : "",
		error != NULL ? error->message : "");
	if (self->source != NULL) {
		g_source_destroy(self->source);
		g_clear_pointer(&self->source, g_source_unref);
	}
	g_input_stream_close(self->input, NULL, NULL);
	b = json_builder_new_immutable();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "streamId");
	json_builder_add_int_value(b, (gint64)self->id);
	if (error != NULL) {
		json_builder_set_member_name(b, "error");
		json_builder_add_value(b, sbx_gw_error_to_json(error));
	}
	json_builder_end_object(b);
	params = json_builder_get_root(b);
	frame = sbx_gw_rpc_notification(
	    error != NULL ? "$sandbox.stream.error" : "$sandbox.stream.end", params);
	sbx_gw_conn_send(self->conn, frame);
	waiters = g_steal_pointer(&self->waiters);
	self->waiters = g_ptr_array_new_with_free_func(g_object_unref);
	for (guint i = 0; i < waiters->len; i++)
		g_task_return_boolean(g_ptr_array_index(waiters, i), TRUE);
	g_ptr_array_set_free_func(waiters, g_object_unref);
}

static void out_stream_arm(SbxGwOutStream *self);

static gboolean
out_stream_resume(gpointer data)
{
	SbxGwOutStream *self = data;
	if (!self->done)
		out_stream_arm(self);
	g_object_unref(self);
	return G_SOURCE_REMOVE;
}

/* whole records out of what was read; FALSE on a malformed one */
static gboolean
out_stream_send_records(SbxGwOutStream *self, gsize n)
{
	gsize pos = 0;

	g_byte_array_append(self->records, self->buffer, (guint)n);
	while (self->records->len - pos >= 8) {
		const guint8 *p = self->records->data + pos;
		guint32 type, len;
		g_autoptr(JsonBuilder) b = NULL;
		g_autoptr(JsonGenerator) gen = NULL;
		g_autoptr(JsonNode) root = NULL;
		g_autofree gchar *path = NULL;
		g_autofree gchar *name = NULL;
		g_autofree gchar *json = NULL;
		g_autofree gchar *frame = NULL;
		gsize json_len = 0;

		memcpy(&type, p, 4);
		memcpy(&len, p + 4, 4);
		type = GUINT32_FROM_LE(type);
		len = GUINT32_FROM_LE(len);
		if (len == 0 || len > 4095 || type > 4)
			return FALSE;
		if (self->records->len - pos - 8 < len)
			break;
		path = g_utf8_make_valid((const gchar *)p + 8, len);
		name = g_path_get_basename(path);
		b = json_builder_new_immutable();
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "path");
		json_builder_add_string_value(b, path);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, name);
		json_builder_set_member_name(b, "isFile");
		json_builder_add_boolean_value(b, type == 1);
		json_builder_set_member_name(b, "isDirectory");
		json_builder_add_boolean_value(b, type == 2);
		json_builder_set_member_name(b, "isSymlink");
		json_builder_add_boolean_value(b, type == 3);
		json_builder_end_object(b);
		root = json_builder_get_root(b);
		gen = json_generator_new();
		json_generator_set_root(gen, root);
		json = json_generator_to_data(gen, &json_len);
		frame = sbx_gw_rpc_stream_enqueue(self->id, (const guint8 *)json, json_len);
		sbx_gw_conn_send(self->conn, frame);
		pos += 8 + len;
	}
	g_byte_array_remove_range(self->records, 0, (guint)pos);
	return TRUE;
}

static gboolean
out_stream_readable(GObject *stream, gpointer data)
{
	SbxGwOutStream *self = data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *frame = NULL;
	gssize n;

	if (self->conn->closed) {
		g_autoptr(GError) closed =
		    g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CLOSED, "the socket closed");
		out_stream_finish(self, closed);
		return G_SOURCE_REMOVE;
	}
	/* backpressure: the guest waits while the client is behind */
	if (!sbx_gw_conn_can_send(self->conn)) {
		g_clear_pointer(&self->source, g_source_unref);
		sbx_gw_conn_when_writable(self->conn, out_stream_resume, g_object_ref(self));
		return G_SOURCE_REMOVE;
	}
	n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(self->input),
						     self->buffer, SBX_GW_CHUNK, NULL, &error);
	if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		g_clear_pointer(&self->source, g_source_unref);
		if (n == 0 && self->hold_end && !self->has_verdict) {
			self->at_eof = TRUE;
			return G_SOURCE_REMOVE;
		}
		if (n == 0 && self->hold_end && self->records->len > 0 && self->verdict == NULL)
			self->verdict = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
							    "a walk entry was cut short");
		out_stream_finish(self, n == 0 && self->hold_end ? self->verdict : error);
		return G_SOURCE_REMOVE;
	}
	self->bytes += (guint64)n;
	sbx_gw_metrics_add_bytes(TRUE, (guint64)n);
	if (self->records != NULL) {
		if (!out_stream_send_records(self, (gsize)n)) {
			g_autoptr(GError) bad = g_error_new_literal(
			    G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "malformed walk entry");
			g_clear_pointer(&self->source, g_source_unref);
			out_stream_finish(self, bad);
			return G_SOURCE_REMOVE;
		}
		return G_SOURCE_CONTINUE;
	}
	frame = sbx_gw_rpc_stream_enqueue(self->id, self->buffer, (gsize)n);
	sbx_gw_conn_send(self->conn, frame);
	return G_SOURCE_CONTINUE;
}

static void
out_stream_arm(SbxGwOutStream *self)
{
	if (self->source != NULL || self->done)
		return;
	self->source =
	    g_pollable_input_stream_create_source(G_POLLABLE_INPUT_STREAM(self->input), NULL);
	g_source_set_callback(self->source, G_SOURCE_FUNC(out_stream_readable), g_object_ref(self),
			      g_object_unref);
	g_source_attach(self->source, NULL);
}

static void
sbx_gw_out_stream_dispose(GObject *object)
{
	SbxGwOutStream *self = SBX_GW_OUT_STREAM(object);
	if (self->source != NULL) {
		g_source_destroy(self->source);
		g_clear_pointer(&self->source, g_source_unref);
	}
	g_clear_object(&self->input);
	g_clear_object(&self->conn);
	G_OBJECT_CLASS(sbx_gw_out_stream_parent_class)->dispose(object);
}

static void
sbx_gw_out_stream_finalize(GObject *object)
{
	SbxGwOutStream *self = SBX_GW_OUT_STREAM(object);
	g_ptr_array_unref(self->waiters);
	g_free(self->buffer);
	if (self->records != NULL)
		g_byte_array_unref(self->records);
	g_clear_error(&self->verdict);
	G_OBJECT_CLASS(sbx_gw_out_stream_parent_class)->finalize(object);
}

static void
sbx_gw_out_stream_class_init(SbxGwOutStreamClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = sbx_gw_out_stream_dispose;
	G_OBJECT_CLASS(klass)->finalize = sbx_gw_out_stream_finalize;
}

static void
sbx_gw_out_stream_init(SbxGwOutStream *self)
{
	self->waiters = g_ptr_array_new_with_free_func(g_object_unref);
	self->buffer = g_malloc(SBX_GW_CHUNK);
}

SbxGwOutStream *
sbx_gw_out_stream_new(SbxGwConn *conn, gint fd)
{
	SbxGwOutStream *self = g_object_new(SBX_GW_TYPE_OUT_STREAM, NULL);
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	g_autoptr(JsonNode) params = NULL;
	g_autofree gchar *frame = NULL;

	g_unix_set_fd_nonblocking(fd, TRUE, NULL);
	self->conn = g_object_ref(conn);
	self->id = sbx_gw_server_next_stream_id(conn->server);
	self->input = g_unix_input_stream_new(fd, TRUE);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "streamId");
	json_builder_add_int_value(b, (gint64)self->id);
	json_builder_end_object(b);
	params = json_builder_get_root(b);
	frame = sbx_gw_rpc_notification("$sandbox.stream.start", params);
	sbx_gw_conn_send(conn, frame);
	return self;
}

guint64
sbx_gw_out_stream_get_id(SbxGwOutStream *self)
{
	return self->id;
}

void
sbx_gw_out_stream_set_walk_records(SbxGwOutStream *self)
{
	if (self->records == NULL)
		self->records = g_byte_array_new();
	self->hold_end = TRUE;
}

void
sbx_gw_out_stream_set_verdict(SbxGwOutStream *self, const GError *error)
{
	if (self->has_verdict)
		return;
	self->has_verdict = TRUE;
	self->verdict = error != NULL ? g_error_copy(error) : NULL;
	if (!self->at_eof || self->done)
		return;
	if (self->records->len > 0 && self->verdict == NULL)
		self->verdict = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
						    "a walk entry was cut short");
	out_stream_finish(self, self->verdict);
}

void
sbx_gw_out_stream_start(SbxGwOutStream *self)
{
	self->started = TRUE;
	out_stream_arm(self);
}

void
sbx_gw_out_stream_cancel(SbxGwOutStream *self)
{
	if (self->done)
		return;
	/* the reader is gone: no end follows, just stop */
	self->done = TRUE;
	if (self->source != NULL) {
		g_source_destroy(self->source);
		g_clear_pointer(&self->source, g_source_unref);
	}
	g_input_stream_close(self->input, NULL, NULL);
	for (guint i = 0; i < self->waiters->len; i++)
		g_task_return_boolean(g_ptr_array_index(self->waiters, i), TRUE);
	g_ptr_array_set_size(self->waiters, 0);
}

void
sbx_gw_out_stream_wait_async(SbxGwOutStream *self, GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task = g_task_new(self, NULL, callback, user_data);
	if (self->done) {
		g_task_return_boolean(task, TRUE);
		g_object_unref(task);
		return;
	}
	g_ptr_array_add(self->waiters, task);
}

gboolean
sbx_gw_out_stream_wait_finish(SbxGwOutStream *self, GAsyncResult *res)
{
	return g_task_propagate_boolean(G_TASK(res), NULL);
}
