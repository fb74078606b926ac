/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <stdarg.h>

#include "sbx-event-log.h"
#include "sbx-fd-sink.h"

struct _SbxEventLog {
	GQueue lines; /* gchar*, oldest first */
	GPtrArray *followers; /* SbxFdSink */
	gboolean closed;
};

SbxEventLog *
sbx_event_log_new(void)
{
	SbxEventLog *self = g_new0(SbxEventLog, 1);
	g_queue_init(&self->lines);
	self->followers = g_ptr_array_new();
	return self;
}

/* a follower that is done frees itself once its queue is written */
static void
on_closing_drained(SbxFdSink *sink, gpointer user_data)
{
	sbx_fd_sink_free(sink);
}

static void
retire(SbxFdSink *sink)
{
	if (sbx_fd_sink_is_broken(sink) || sbx_fd_sink_get_pending(sink) == 0) {
		sbx_fd_sink_free(sink);
		return;
	}
	sbx_fd_sink_set_drained_func(sink, on_closing_drained, NULL);
}

void
sbx_event_log_add(SbxEventLog *self, const gchar *format, ...)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree gchar *stamp = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ");
	g_autofree gchar *message = NULL;
	GString *line;
	va_list args;

	va_start(args, format);
	message = g_strdup_vprintf(format, args);
	va_end(args);
	if (strlen(message) > SBX_EVENT_LOG_MAX_LINE)
		message[SBX_EVENT_LOG_MAX_LINE] = '\0';
	/* one event, one line: guest-controlled text cannot forge others */
	for (gchar *p = message; *p != '\0'; p++) {
		if ((guchar)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	line = g_string_new(stamp);
	g_string_append_printf(line, " %s\n", message);

	for (guint i = 0; i < self->followers->len;) {
		SbxFdSink *sink = g_ptr_array_index(self->followers, i);
		if (!sbx_fd_sink_write(sink, line->str, line->len)) {
			g_ptr_array_remove_index(self->followers, i);
			sbx_fd_sink_free(sink);
			continue;
		}
		i++;
	}
	g_queue_push_tail(&self->lines, g_string_free(line, FALSE));
	while (self->lines.length > SBX_EVENT_LOG_MAX_EVENTS)
		g_free(g_queue_pop_head(&self->lines));
}

gboolean
sbx_event_log_stream(SbxEventLog *self, gint fd, gboolean follow, GError **error)
{
	SbxFdSink *sink = sbx_fd_sink_new(fd, error);

	if (sink == NULL)
		return FALSE;
	for (GList *l = self->lines.head; l != NULL; l = l->next)
		sbx_fd_sink_write(sink, l->data, strlen(l->data));
	if (follow && !self->closed && !sbx_fd_sink_is_broken(sink))
		g_ptr_array_add(self->followers, sink);
	else
		retire(sink);
	return TRUE;
}

void
sbx_event_log_close(SbxEventLog *self)
{
	self->closed = TRUE;
	for (guint i = 0; i < self->followers->len; i++)
		retire(g_ptr_array_index(self->followers, i));
	g_ptr_array_set_size(self->followers, 0);
}

gchar *
sbx_event_log_dup_text(SbxEventLog *self)
{
	GString *text = g_string_new(NULL);
	for (GList *l = self->lines.head; l != NULL; l = l->next)
		g_string_append(text, l->data);
	return g_string_free(text, FALSE);
}

void
sbx_event_log_free(SbxEventLog *self)
{
	if (self == NULL)
		return;
	sbx_event_log_close(self);
	g_ptr_array_unref(self->followers);
	g_queue_clear_full(&self->lines, g_free);
	g_free(self);
}
