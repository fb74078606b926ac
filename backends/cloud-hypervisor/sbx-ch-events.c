/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include <gio/gunixinputstream.h>

#include "sbx-ch-events.h"

#define SBX_CH_EVENTS_READ_CHUNK 4096

struct _SbxChEvents {
	GInputStream *stream; /* NULL when only fed by hand */
	GCancellable *cancellable;
	SbxChEventsFunc func;
	gpointer user_data;
	GString *buf;
	gboolean skipping; /* dropping an oversized event up to its blank line */
	guint8 chunk[SBX_CH_EVENTS_READ_CHUNK];
};

static void
dispatch_one(SbxChEvents *self, const gchar *text, gsize len)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;
	JsonNode *root;
	JsonObject *obj;
	JsonNode *props;
	const gchar *source;
	const gchar *event;

	if (!json_parser_load_from_data(parser, text, (gssize)len, &error)) {
		g_debug("event monitor: not JSON, skipped: %s", error->message);
		return;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
		return;
	obj = json_node_get_object(root);
	source = json_object_get_string_member_with_default(obj, "source", NULL);
	event = json_object_get_string_member_with_default(obj, "event", NULL);
	if (source == NULL || event == NULL)
		return;
	props = json_object_get_member(obj, "properties");
	self->func(source, event,
		   props != NULL && JSON_NODE_HOLDS_OBJECT(props) ? json_node_get_object(props)
								  : NULL,
		   self->user_data);
}

void
sbx_ch_events_feed(SbxChEvents *self, const gchar *data, gsize len)
{
	g_string_append_len(self->buf, data, (gssize)len);
	for (;;) {
		/* memmem, not strstr: a NUL from the pipe must not hide the separator */
		const gchar *sep = memmem(self->buf->str, self->buf->len, "\n\n", 2);
		gsize used;

		if (sep == NULL) {
			if (self->buf->len > SBX_CH_EVENTS_MAX) {
				g_debug("event monitor: event larger than %u bytes dropped",
					SBX_CH_EVENTS_MAX);
				/* keep the last byte: it may be the first newline */
				g_string_erase(self->buf, 0, (gssize)self->buf->len - 1);
				self->skipping = TRUE;
			}
			return;
		}
		used = (gsize)(sep - self->buf->str);
		if (!self->skipping && used > 0)
			dispatch_one(self, self->buf->str, used);
		self->skipping = FALSE;
		g_string_erase(self->buf, 0, (gssize)used + 2);
	}
}

static void read_more(SbxChEvents *self);

static void
on_read(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxChEvents *self = user_data;
	g_autoptr(GError) error = NULL;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, &error);

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return; /* freed */
	if (n <= 0) {
		if (error != NULL)
			g_debug("event monitor: %s", error->message);
		self->func(NULL, NULL, NULL, self->user_data);
		return;
	}
	sbx_ch_events_feed(self, (const gchar *)self->chunk, (gsize)n);
	read_more(self);
}

static void
read_more(SbxChEvents *self)
{
	g_input_stream_read_async(self->stream, self->chunk, sizeof(self->chunk),
				  G_PRIORITY_DEFAULT, self->cancellable, on_read, self);
}

SbxChEvents *
sbx_ch_events_new(gint fd, SbxChEventsFunc func, gpointer user_data)
{
	SbxChEvents *self = g_new0(SbxChEvents, 1);

	self->func = func;
	self->user_data = user_data;
	self->buf = g_string_new(NULL);
	self->cancellable = g_cancellable_new();
	if (fd >= 0) {
		self->stream = g_unix_input_stream_new(fd, TRUE);
		read_more(self);
	}
	return self;
}

void
sbx_ch_events_free(SbxChEvents *self)
{
	if (self == NULL)
		return;
	/* the pending read ends with CANCELLED and on_read touches nothing then;
	 * the stream stays alive in that read's task until it has */
	g_cancellable_cancel(self->cancellable);
	g_clear_object(&self->stream);
	g_object_unref(self->cancellable);
	g_string_free(self->buf, TRUE);
	g_free(self);
}
