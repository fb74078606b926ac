/* pausable input under libsoup's WebSocket reader.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "sbx-gw-valve.h"

/* --- the input stream ---------------------------------------------------- */

#define SBX_GW_TYPE_VALVE_INPUT (sbx_gw_valve_input_get_type())
G_DECLARE_FINAL_TYPE(SbxGwValveInput, sbx_gw_valve_input, SBX_GW, VALVE_INPUT, GFilterInputStream)

typedef struct {
	GSource *source; /* what create_source() returned (ref) */
	GSource *child;	 /* the base stream's source while open (ref), or NULL */
} Watch;

struct _SbxGwValveInput {
	GFilterInputStream parent_instance;
	gboolean open;
	GPtrArray *watches; /* Watch */
};

static void sbx_gw_valve_input_pollable_init(GPollableInputStreamInterface *iface);

G_DEFINE_TYPE_WITH_CODE(SbxGwValveInput, sbx_gw_valve_input, G_TYPE_FILTER_INPUT_STREAM,
			G_IMPLEMENT_INTERFACE(G_TYPE_POLLABLE_INPUT_STREAM,
					      sbx_gw_valve_input_pollable_init))

static GPollableInputStream *
base_of(SbxGwValveInput *self)
{
	return G_POLLABLE_INPUT_STREAM(
	    g_filter_input_stream_get_base_stream(G_FILTER_INPUT_STREAM(self)));
}

static void
watch_free(Watch *w)
{
	if (w->child != NULL) {
		if (!g_source_is_destroyed(w->source))
			g_source_remove_child_source(w->source, w->child);
		g_source_unref(w->child);
	}
	g_source_unref(w->source);
	g_free(w);
}

static void
watch_open(Watch *w, GPollableInputStream *base)
{
	if (w->child != NULL || g_source_is_destroyed(w->source))
		return;
	w->child = g_pollable_input_stream_create_source(base, NULL);
	/* its readiness dispatches the parent, which calls the reader */
	g_source_set_dummy_callback(w->child);
	g_source_add_child_source(w->source, w->child);
}

static void
watch_shut(Watch *w)
{
	if (w->child == NULL)
		return;
	if (!g_source_is_destroyed(w->source))
		g_source_remove_child_source(w->source, w->child);
	g_clear_pointer(&w->child, g_source_unref);
}

/* sources their owner destroyed need no more care */
static void
prune(SbxGwValveInput *self)
{
	for (guint i = self->watches->len; i > 0; i--) {
		Watch *w = g_ptr_array_index(self->watches, i - 1);
		if (g_source_is_destroyed(w->source))
			g_ptr_array_remove_index_fast(self->watches, i - 1);
	}
}

static gboolean
valve_input_can_poll(GPollableInputStream *stream)
{
	return TRUE;
}

static gboolean
valve_input_is_readable(GPollableInputStream *stream)
{
	SbxGwValveInput *self = SBX_GW_VALVE_INPUT(stream);
	return self->open && g_pollable_input_stream_is_readable(base_of(self));
}

static GSource *
valve_input_create_source(GPollableInputStream *stream, GCancellable *cancellable)
{
	SbxGwValveInput *self = SBX_GW_VALVE_INPUT(stream);
	Watch *w = g_new0(Watch, 1);

	prune(self);
	w->source = g_pollable_source_new_full(stream, NULL, cancellable);
	if (self->open)
		watch_open(w, base_of(self));
	g_ptr_array_add(self->watches, w);
	return g_source_ref(w->source);
}

static gssize
valve_input_read_nonblocking(GPollableInputStream *stream, void *buffer, gsize count,
			     GError **error)
{
	SbxGwValveInput *self = SBX_GW_VALVE_INPUT(stream);

	if (!self->open) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "input is paused");
		return -1;
	}
	return g_pollable_input_stream_read_nonblocking(base_of(self), buffer, count, NULL, error);
}

static void
sbx_gw_valve_input_pollable_init(GPollableInputStreamInterface *iface)
{
	iface->can_poll = valve_input_can_poll;
	iface->is_readable = valve_input_is_readable;
	iface->create_source = valve_input_create_source;
	iface->read_nonblocking = valve_input_read_nonblocking;
}

static void
sbx_gw_valve_input_finalize(GObject *object)
{
	SbxGwValveInput *self = SBX_GW_VALVE_INPUT(object);
	g_ptr_array_unref(self->watches);
	G_OBJECT_CLASS(sbx_gw_valve_input_parent_class)->finalize(object);
}

static void
sbx_gw_valve_input_class_init(SbxGwValveInputClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = sbx_gw_valve_input_finalize;
}

static void
sbx_gw_valve_input_init(SbxGwValveInput *self)
{
	self->open = TRUE;
	self->watches = g_ptr_array_new_with_free_func((GDestroyNotify)watch_free);
}

static void
valve_input_set_open(SbxGwValveInput *self, gboolean open)
{
	if (self->open == open)
		return;
	self->open = open;
	prune(self);
	for (guint i = 0; i < self->watches->len; i++) {
		Watch *w = g_ptr_array_index(self->watches, i);
		if (open)
			watch_open(w, base_of(self));
		else
			watch_shut(w);
	}
}

/* --- the I/O stream ------------------------------------------------------ */

struct _SbxGwValve {
	GIOStream parent_instance;
	GIOStream *base;
	SbxGwValveInput *input;
};

G_DEFINE_TYPE(SbxGwValve, sbx_gw_valve, G_TYPE_IO_STREAM)

static GInputStream *
valve_get_input_stream(GIOStream *stream)
{
	return G_INPUT_STREAM(SBX_GW_VALVE(stream)->input);
}

static GOutputStream *
valve_get_output_stream(GIOStream *stream)
{
	return g_io_stream_get_output_stream(SBX_GW_VALVE(stream)->base);
}

static gboolean
valve_close(GIOStream *stream, GCancellable *cancellable, GError **error)
{
	return g_io_stream_close(SBX_GW_VALVE(stream)->base, cancellable, error);
}

static void
sbx_gw_valve_dispose(GObject *object)
{
	SbxGwValve *self = SBX_GW_VALVE(object);
	/* each watch's source holds the input stream: let go of them first */
	if (self->input != NULL)
		g_ptr_array_set_size(self->input->watches, 0);
	g_clear_object(&self->input);
	g_clear_object(&self->base);
	G_OBJECT_CLASS(sbx_gw_valve_parent_class)->dispose(object);
}

static void
sbx_gw_valve_class_init(SbxGwValveClass *klass)
{
	GIOStreamClass *stream_class = G_IO_STREAM_CLASS(klass);

	G_OBJECT_CLASS(klass)->dispose = sbx_gw_valve_dispose;
	stream_class->get_input_stream = valve_get_input_stream;
	stream_class->get_output_stream = valve_get_output_stream;
	stream_class->close_fn = valve_close;
}

static void
sbx_gw_valve_init(SbxGwValve *self)
{
}

SbxGwValve *
sbx_gw_valve_new(GIOStream *base)
{
	SbxGwValve *self = g_object_new(SBX_GW_TYPE_VALVE, NULL);

	g_return_val_if_fail(G_IS_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(base)), NULL);
	self->base = g_object_ref(base);
	/* the base stream closes with the base GIOStream, not through this filter */
	self->input =
	    g_object_new(SBX_GW_TYPE_VALVE_INPUT, "base-stream", g_io_stream_get_input_stream(base),
			 "close-base-stream", FALSE, NULL);
	return self;
}

void
sbx_gw_valve_set_open(SbxGwValve *self, gboolean open)
{
	g_return_if_fail(SBX_GW_IS_VALVE(self));
	valve_input_set_open(self->input, open);
}

gboolean
sbx_gw_valve_get_open(SbxGwValve *self)
{
	return self->input->open;
}
