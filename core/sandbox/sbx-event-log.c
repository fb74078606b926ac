/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#include "sbx-event-log.h"
#include "sbx-fd-sink.h"
#include "sbx-text.h"

struct _SbxEventLog {
	GQueue lines;	      /* gchar*, oldest first */
	GPtrArray *followers; /* SbxFdSink */
	gboolean closed;
	gint fd; /* events.log, or -1 */
};

/* what is read back of an existing file */
#define SBX_EVENT_LOG_LOAD_MAX (SBX_EVENT_LOG_MAX_EVENTS * 256)

SbxEventLog *
sbx_event_log_new(void)
{
	SbxEventLog *self = g_new0(SbxEventLog, 1);
	g_queue_init(&self->lines);
	self->followers = g_ptr_array_new();
	self->fd = -1;
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
	sbx_text_sanitize(message);
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
	if (self->fd >= 0 && write(self->fd, line->str, line->len) < 0)
		g_debug("events: %s", g_strerror(errno));
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
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	for (guint i = 0; i < self->followers->len; i++)
		retire(g_ptr_array_index(self->followers, i));
	g_ptr_array_set_size(self->followers, 0);
}

static void
load_file(SbxEventLog *self, gint fd)
{
	g_autofree gchar *buf = g_malloc(SBX_EVENT_LOG_LOAD_MAX + 1);
	g_auto(GStrv) lines = NULL;
	off_t end = lseek(fd, 0, SEEK_END);
	gssize n = 0;
	guint first = 0;

	if (end < 0)
		return;
	lseek(fd, end > SBX_EVENT_LOG_LOAD_MAX ? end - SBX_EVENT_LOG_LOAD_MAX : 0, SEEK_SET);
	while (n < SBX_EVENT_LOG_LOAD_MAX) {
		gssize r = read(fd, buf + n, SBX_EVENT_LOG_LOAD_MAX - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	buf[n] = '\0';
	lines = g_strsplit(buf, "\n", -1);
	/* a cut first line is dropped, as is the empty piece after the last \n */
	if (end > SBX_EVENT_LOG_LOAD_MAX)
		first = 1;
	for (guint i = first; lines[i] != NULL; i++) {
		if (lines[i][0] == '\0')
			continue;
		/* our own lines only: no control characters */
		sbx_text_sanitize(lines[i]);
		g_queue_push_tail(&self->lines, g_strconcat(lines[i], "\n", NULL));
	}
	while (self->lines.length > SBX_EVENT_LOG_MAX_EVENTS)
		g_free(g_queue_pop_head(&self->lines));
}

void
sbx_event_log_set_file(SbxEventLog *self, const gchar *path, gboolean load)
{
	gint fd;

	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0) {
		g_debug("events: %s: %s", path, g_strerror(errno));
		return;
	}
	if (load)
		load_file(self, fd);
	self->fd = fd;
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
