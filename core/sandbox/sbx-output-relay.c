/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <glib-unix.h>

#include "sbx-fd.h"
#include "sbx-error.h"
#include "sbx-output-relay.h"

#define SBX_RELAY_CHUNK (64u * 1024u)
/* stop reading the pipe while this much waits for a slow sink */
#define SBX_RELAY_PENDING_MAX (256u * 1024u)

struct _SbxOutputRelay {
	gint pipe_fd; /* read end; -1 at EOF */
	guint pipe_watch;
	GByteArray *ring;
	gsize ring_max;
	SbxFd sink;
	GByteArray *pending; /* for the sink */
	guint sink_watch;
};

static void sbx_output_relay_update(SbxOutputRelay *self);

static void
sbx_output_relay_drop_sink(SbxOutputRelay *self)
{
	g_clear_handle_id(&self->sink_watch, g_source_remove);
	sbx_fd_close(&self->sink);
	g_byte_array_set_size(self->pending, 0);
}

static gboolean
sbx_output_relay_writable_cb(gint fd, GIOCondition condition, gpointer user_data)
{
	SbxOutputRelay *self = user_data;
	self->sink_watch = 0;
	sbx_output_relay_update(self);
	return G_SOURCE_REMOVE;
}

/* writes what the sink takes now */
static void
sbx_output_relay_flush(SbxOutputRelay *self)
{
	while (self->sink.fd >= 0 && self->pending->len > 0) {
		gssize n = sbx_fd_write(&self->sink, self->pending->data, self->pending->len);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (self->sink_watch == 0)
				self->sink_watch =
				    g_unix_fd_add(self->sink.fd, G_IO_OUT | G_IO_ERR,
						  sbx_output_relay_writable_cb, self);
			return;
		}
		if (n <= 0) {
			/* the reader left: the process keeps running, output goes to the ring */
			g_debug("output sink failed: %s",
				n < 0 ? g_strerror(errno) : "short write");
			sbx_output_relay_drop_sink(self);
			return;
		}
		g_byte_array_remove_range(self->pending, 0, (guint)n);
	}
	/* the stream ended and everything was written: the reader sees EOF */
	if (self->pipe_fd < 0 && self->pending->len == 0 && self->sink.fd >= 0)
		sbx_output_relay_drop_sink(self);
}

static gboolean sbx_output_relay_readable_cb(gint fd, GIOCondition condition, gpointer user_data);

static void
sbx_output_relay_update(SbxOutputRelay *self)
{
	gboolean want_read;
	sbx_output_relay_flush(self);
	want_read = self->pipe_fd >= 0 && self->pending->len < SBX_RELAY_PENDING_MAX;
	if (want_read && self->pipe_watch == 0)
		self->pipe_watch = g_unix_fd_add(self->pipe_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
						 sbx_output_relay_readable_cb, self);
	else if (!want_read)
		g_clear_handle_id(&self->pipe_watch, g_source_remove);
}

static void
sbx_output_relay_ring_append(SbxOutputRelay *self, const guint8 *data, gsize len)
{
	if (len >= self->ring_max) {
		g_byte_array_set_size(self->ring, 0);
		g_byte_array_append(self->ring, data + len - self->ring_max, (guint)self->ring_max);
		return;
	}
	if (self->ring->len + len > self->ring_max)
		g_byte_array_remove_range(self->ring, 0,
					  (guint)(self->ring->len + len - self->ring_max));
	g_byte_array_append(self->ring, data, (guint)len);
}

static gboolean
sbx_output_relay_readable_cb(gint fd, GIOCondition condition, gpointer user_data)
{
	SbxOutputRelay *self = user_data;
	guint8 buf[SBX_RELAY_CHUNK];
	gssize n = read(self->pipe_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n > 0) {
		sbx_output_relay_ring_append(self, buf, (gsize)n);
		if (self->sink.fd >= 0)
			g_byte_array_append(self->pending, buf, (guint)n);
	} else {
		close(self->pipe_fd);
		self->pipe_fd = -1;
	}
	self->pipe_watch = 0;
	sbx_output_relay_update(self);
	/* update() added a new watch if it still wants one */
	return G_SOURCE_REMOVE;
}

static gboolean
sbx_output_relay_set_sink(SbxOutputRelay *self, gint sink_fd, GError **error)
{
	gboolean ok = TRUE;
	sbx_output_relay_drop_sink(self);
	if (sink_fd >= 0) {
		ok = sbx_fd_open(&self->sink, sink_fd, TRUE, error);
		close(sink_fd);
	}
	return ok;
}

SbxOutputRelay *
sbx_output_relay_new(gint sink_fd, gsize ring_max, gint *write_fd, GError **error)
{
	g_autoptr(SbxOutputRelay) self = g_new0(SbxOutputRelay, 1);
	gint p[2];

	self->pipe_fd = -1;
	self->sink.fd = -1;
	self->ring = g_byte_array_new();
	self->pending = g_byte_array_new();
	self->ring_max = MAX(ring_max, 1);
	if (!sbx_output_relay_set_sink(self, sink_fd, error))
		return NULL;
	if (!g_unix_open_pipe(p, FD_CLOEXEC, error))
		return NULL;
	self->pipe_fd = p[0];
	g_unix_set_fd_nonblocking(self->pipe_fd, TRUE, NULL);
	*write_fd = p[1];
	sbx_output_relay_update(self);
	return g_steal_pointer(&self);
}

gboolean
sbx_output_relay_attach(SbxOutputRelay *self, gint sink_fd, GError **error)
{
	if (!sbx_output_relay_set_sink(self, sink_fd, error))
		return FALSE;
	if (self->sink.fd >= 0)
		g_byte_array_append(self->pending, self->ring->data, self->ring->len);
	sbx_output_relay_update(self);
	return TRUE;
}

void
sbx_output_relay_free(SbxOutputRelay *self)
{
	if (self == NULL)
		return;
	g_clear_handle_id(&self->pipe_watch, g_source_remove);
	g_clear_handle_id(&self->sink_watch, g_source_remove);
	sbx_fd_close(&self->sink);
	if (self->pipe_fd >= 0)
		close(self->pipe_fd);
	g_byte_array_unref(self->ring);
	g_byte_array_unref(self->pending);
	g_free(self);
}
