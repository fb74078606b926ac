/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <errno.h>
#include <glib-unix.h>

#include "sbx-fd.h"
#include "sbx-fd-sink.h"

struct _SbxFdSink {
	SbxFd fd;
	GByteArray *queue;
	gsize offset; /* bytes of @queue already written */
	guint watch_id;
	gboolean broken;
	SbxFdSinkFunc drained;
	gpointer drained_data;
};

static void flush(SbxFdSink *self);

static void
notify_drained(SbxFdSink *self)
{
	if (self->drained != NULL)
		self->drained(self, self->drained_data);
}

static void
set_broken(SbxFdSink *self)
{
	if (self->broken)
		return;
	self->broken = TRUE;
	g_byte_array_set_size(self->queue, 0);
	self->offset = 0;
	g_clear_handle_id(&self->watch_id, g_source_remove);
}

static gboolean
on_writable(gint fd, GIOCondition condition, gpointer user_data)
{
	SbxFdSink *self = user_data;
	self->watch_id = 0;
	flush(self);
	if (self->broken || self->queue->len == 0)
		notify_drained(self);
	return G_SOURCE_REMOVE;
}

/* writes what the fd takes now; waits for POLLOUT for the rest */
static void
flush(SbxFdSink *self)
{
	while (!self->broken && self->offset < self->queue->len) {
		gssize n = sbx_fd_write(&self->fd, self->queue->data + self->offset,
					self->queue->len - self->offset);
		if (n > 0) {
			self->offset += n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			if (errno == EINTR)
				continue;
			if (self->watch_id == 0)
				self->watch_id = g_unix_fd_add(self->fd.fd, G_IO_OUT | G_IO_ERR,
							       on_writable, self);
			return;
		}
		set_broken(self);
		return;
	}
	g_byte_array_set_size(self->queue, 0);
	self->offset = 0;
}

SbxFdSink *
sbx_fd_sink_new(gint fd, GError **error)
{
	SbxFdSink *self = g_new0(SbxFdSink, 1);
	self->fd.fd = -1;
	if (!sbx_fd_open(&self->fd, fd, TRUE, error)) {
		g_free(self);
		return NULL;
	}
	self->queue = g_byte_array_new();
	if (self->fd.broken)
		self->broken = TRUE;
	return self;
}

gboolean
sbx_fd_sink_write(SbxFdSink *self, const void *data, gsize len)
{
	if (self->broken)
		return FALSE;
	if (self->queue->len - self->offset + len > SBX_FD_SINK_MAX_PENDING) {
		set_broken(self);
		return FALSE;
	}
	g_byte_array_append(self->queue, data, len);
	if (self->watch_id == 0)
		flush(self);
	return !self->broken;
}

gsize
sbx_fd_sink_get_pending(SbxFdSink *self)
{
	return self->queue->len - self->offset;
}

gboolean
sbx_fd_sink_is_broken(SbxFdSink *self)
{
	return self->broken;
}

void
sbx_fd_sink_set_drained_func(SbxFdSink *self, SbxFdSinkFunc func, gpointer user_data)
{
	self->drained = func;
	self->drained_data = user_data;
}

void
sbx_fd_sink_free(SbxFdSink *self)
{
	if (self == NULL)
		return;
	g_clear_handle_id(&self->watch_id, g_source_remove);
	sbx_fd_close(&self->fd);
	g_byte_array_unref(self->queue);
	g_free(self);
}
