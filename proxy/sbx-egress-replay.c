/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sbx-egress-replay.h"

struct _SbxEgressReplay {
	GInputStream parent;
	GInputStream *base;
	GBytes *prefix;
	gsize pos;
};

static void sbx_egress_replay_pollable_init(GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE(SbxEgressReplay, sbx_egress_replay, G_TYPE_INPUT_STREAM,
			      G_IMPLEMENT_INTERFACE(G_TYPE_POLLABLE_INPUT_STREAM,
						    sbx_egress_replay_pollable_init))

static gsize
prefix_left(SbxEgressReplay *self)
{
	return g_bytes_get_size(self->prefix) - self->pos;
}

static gssize
take_prefix(SbxEgressReplay *self, void *buffer, gsize count)
{
	gsize n = MIN(count, prefix_left(self));

	memcpy(buffer, (const guint8 *)g_bytes_get_data(self->prefix, NULL) + self->pos, n);
	self->pos += n;
	return n;
}

static gssize
replay_read(GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
	    GError **error)
{
	SbxEgressReplay *self = SBX_EGRESS_REPLAY(stream);

	if (prefix_left(self) > 0)
		return take_prefix(self, buffer, count);
	return g_input_stream_read(self->base, buffer, count, cancellable, error);
}

static gboolean
replay_close(GInputStream *stream, GCancellable *cancellable, GError **error)
{
	return TRUE;
}

static gboolean
replay_can_poll(GPollableInputStream *stream)
{
	return TRUE;
}

static gboolean
replay_is_readable(GPollableInputStream *stream)
{
	SbxEgressReplay *self = SBX_EGRESS_REPLAY(stream);

	return prefix_left(self) > 0 ||
	       g_pollable_input_stream_is_readable(G_POLLABLE_INPUT_STREAM(self->base));
}

static GSource *
replay_create_source(GPollableInputStream *stream, GCancellable *cancellable)
{
	SbxEgressReplay *self = SBX_EGRESS_REPLAY(stream);
	g_autoptr(GSource) child = NULL;

	/* bytes waiting here: ready at once */
	if (prefix_left(self) > 0)
		child = g_timeout_source_new(0);
	else
		child = g_pollable_input_stream_create_source(G_POLLABLE_INPUT_STREAM(self->base),
							      cancellable);
	return g_pollable_source_new_full(stream, child, cancellable);
}

static gssize
replay_read_nonblocking(GPollableInputStream *stream, void *buffer, gsize count, GError **error)
{
	SbxEgressReplay *self = SBX_EGRESS_REPLAY(stream);

	if (prefix_left(self) > 0)
		return take_prefix(self, buffer, count);
	return g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(self->base), buffer,
							count, NULL, error);
}

static void
sbx_egress_replay_pollable_init(GPollableInputStreamInterface *iface)
{
	iface->can_poll = replay_can_poll;
	iface->is_readable = replay_is_readable;
	iface->create_source = replay_create_source;
	iface->read_nonblocking = replay_read_nonblocking;
}

static void
sbx_egress_replay_finalize(GObject *object)
{
	SbxEgressReplay *self = SBX_EGRESS_REPLAY(object);

	g_object_unref(self->base);
	g_bytes_unref(self->prefix);
	G_OBJECT_CLASS(sbx_egress_replay_parent_class)->finalize(object);
}

static void
sbx_egress_replay_class_init(SbxEgressReplayClass *klass)
{
	GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS(klass);

	G_OBJECT_CLASS(klass)->finalize = sbx_egress_replay_finalize;
	stream_class->read_fn = replay_read;
	stream_class->close_fn = replay_close;
}

static void
sbx_egress_replay_init(SbxEgressReplay *self)
{
}

GInputStream *
sbx_egress_replay_new(GInputStream *base, const guint8 *data, gsize len)
{
	SbxEgressReplay *self = g_object_new(SBX_TYPE_EGRESS_REPLAY, NULL);

	g_return_val_if_fail(G_IS_POLLABLE_INPUT_STREAM(base), NULL);
	self->base = g_object_ref(base);
	self->prefix = g_bytes_new(data, len);
	return G_INPUT_STREAM(self);
}
