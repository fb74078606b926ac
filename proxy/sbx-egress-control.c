/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sbx-egress-control.h"

/* denials waiting to be written: beyond this they are dropped, never
 * buffered without bound when sandboxd reads slowly */
#define MAX_QUEUED 256

struct _SbxEgressControl {
	GIOStream *stream;
	GDataInputStream *in;
	SbxEgressPolicy *policy;
	GCancellable *cancellable;
	GCallback closed;
	gpointer user_data;
	GQueue queue; /* gchar* lines to write */
	gboolean writing;
};

/* base64 that must decode to text */
static gchar *
decode(const gchar *b64, gsize *len)
{
	gsize n = 0;
	guchar *raw = g_base64_decode(b64, &n);
	gchar *text;

	if (raw == NULL || n == 0) {
		g_free(raw);
		return NULL;
	}
	text = g_realloc(raw, n + 1);
	text[n] = '\0';
	*len = n;
	return text;
}

static void
wipe_free(gchar *text, gsize len)
{
	if (text != NULL)
		explicit_bzero(text, len);
	g_free(text);
}

/* "ca IP CERT KEY": PEM in base64 */
static gboolean
apply_ca(SbxEgressPolicy *policy, gchar **words, GError **error)
{
	gsize cert_len = 0, key_len = 0;
	g_autofree gchar *cert = decode(words[2], &cert_len);
	gchar *key = decode(words[3], &key_len);
	gboolean ok;

	if (cert == NULL || key == NULL) {
		wipe_free(key, key_len);
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "ca: bad base64");
		return FALSE;
	}
	ok = sbx_egress_policy_set_ca(policy, words[1], cert, key, error);
	wipe_free(key, key_len);
	explicit_bzero(words[3], strlen(words[3]));
	return ok;
}

/* "secret IP PLACEHOLDER VALUE HOST,HOST...": the value in base64 */
static gboolean
apply_secret(SbxEgressPolicy *policy, gchar **words, GError **error)
{
	gsize len = 0;
	gchar *value = decode(words[3], &len);
	g_auto(GStrv) hosts = g_strsplit(words[4], ",", SBX_EGRESS_SECRET_HOSTS_MAX + 1);
	SbxEgressSecret *secret = NULL;

	explicit_bzero(words[3], strlen(words[3]));
	if (value == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "secret: bad base64");
		return FALSE;
	}
	secret = sbx_egress_secret_new(words[2], value, len, (const gchar *const *)hosts, error);
	wipe_free(value, len);
	if (secret == NULL)
		return FALSE;
	return sbx_egress_policy_add_secret(policy, words[1], secret, error);
}

gboolean
sbx_egress_control_apply(SbxEgressPolicy *policy, const gchar *line, GError **error)
{
	g_auto(GStrv) words = g_strsplit(line, " ", -1);
	guint n = g_strv_length(words);

	if (n >= 3 && g_str_equal(words[0], "set"))
		return sbx_egress_policy_set(policy, words[1], words[2],
					     (const gchar *const *)words + 3, error);
	if (n == 3 && g_str_equal(words[0], "open"))
		return sbx_egress_policy_set_open(policy, words[1], words[2], error);
	if (n == 4 && g_str_equal(words[0], "ca"))
		return apply_ca(policy, words, error);
	if (n == 5 && g_str_equal(words[0], "secret"))
		return apply_secret(policy, words, error);
	if (n == 2 && g_str_equal(words[0], "forget")) {
		sbx_egress_policy_remove(policy, words[1]);
		return TRUE;
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "unknown control line");
	return FALSE;
}

static void read_line(SbxEgressControl *self);

static void
on_line(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	gsize len = 0;
	g_autofree gchar *line = g_data_input_stream_read_line_finish_utf8(
	    G_DATA_INPUT_STREAM(source), res, &len, &error);
	SbxEgressControl *self = user_data;

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	if (line == NULL) {
		((void (*)(gpointer))self->closed)(self->user_data);
		return;
	}
	if (len > SBX_EGRESS_CONTROL_MAX_LINE ||
	    !sbx_egress_control_apply(self->policy, line, &error))
		g_warning("control: %s", error != NULL ? error->message : "line too long");
	/* it may have carried a secret */
	explicit_bzero(line, len);
	read_line(self);
}

static void
read_line(SbxEgressControl *self)
{
	g_data_input_stream_read_line_async(self->in, G_PRIORITY_DEFAULT, self->cancellable,
					    on_line, self);
}

SbxEgressControl *
sbx_egress_control_new(GIOStream *stream, SbxEgressPolicy *policy, GCallback closed,
		       gpointer user_data)
{
	SbxEgressControl *self = g_new0(SbxEgressControl, 1);

	self->stream = g_object_ref(stream);
	self->in = g_data_input_stream_new(g_io_stream_get_input_stream(stream));
	self->policy = policy;
	self->cancellable = g_cancellable_new();
	self->closed = closed;
	self->user_data = user_data;
	g_queue_init(&self->queue);
	read_line(self);
	return self;
}

void
sbx_egress_control_free(SbxEgressControl *self)
{
	if (self == NULL)
		return;
	g_cancellable_cancel(self->cancellable);
	g_queue_clear_full(&self->queue, g_free);
	g_object_unref(self->in);
	g_object_unref(self->stream);
	g_object_unref(self->cancellable);
	g_free(self);
}

static void write_next(SbxEgressControl *self);

static void
on_written(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GError) error = NULL;
	SbxEgressControl *self = user_data;

	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, &error) &&
	    g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	g_free(g_queue_pop_head(&self->queue));
	self->writing = FALSE;
	write_next(self);
}

static void
write_next(SbxEgressControl *self)
{
	const gchar *line = g_queue_peek_head(&self->queue);

	if (self->writing || line == NULL)
		return;
	self->writing = TRUE;
	g_output_stream_write_all_async(g_io_stream_get_output_stream(self->stream), line,
					strlen(line), G_PRIORITY_DEFAULT, self->cancellable,
					on_written, self);
}

void
sbx_egress_control_deny(SbxEgressControl *self, const gchar *ip, const gchar *host, guint16 port,
			const gchar *why)
{
	if (self->queue.length >= MAX_QUEUED)
		return;
	/* host is a validated DNS name or absent, why is ours: one safe line */
	g_queue_push_tail(&self->queue, g_strdup_printf("deny %s %s %u %s\n", ip,
							host != NULL ? host : "-", port, why));
	write_next(self);
}
