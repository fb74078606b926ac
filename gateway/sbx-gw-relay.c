/* a two-way byte relay for the reverse proxy (sbx-gw-expose.c) and fetch
 * (sbx-gw-fetch.c): @a is the client's side, @b the connection into the
 * sandbox. The client's end (EOF on @a) is passed on as a FIN on @b, and
 * the relay goes on until the sandbox side ends; the sandbox side's end
 * (EOF on @b) ends the whole relay, as a proxy does with a connection
 * that closes after its response.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "sbx-gw-relay.h"

#define SBX_GW_RELAY_CHUNK (64 * 1024)

typedef struct {
	SbxGwRelay *relay;
	GInputStream *in;
	GOutputStream *out;
	GIOStream *out_stream;
	gboolean is_upstream; /* reads the sandbox side */
	GBytes *head;
	guint8 buf[SBX_GW_RELAY_CHUNK];
} SbxGwPump;

struct _SbxGwRelay {
	GIOStream *a;
	GIOStream *b;
	GCancellable *cancellable;
	GCancellable *external; /* the caller's, or NULL */
	gulong external_id;
	GSource *idle; /* ends a relay that moved nothing for idle_us, or NULL */
	gint64 idle_us;
	SbxGwPump pumps[2];
	guint active; /* pumps with an operation in flight */
	gboolean finishing;
	SbxGwRelayDoneFunc done;
	gpointer user_data;
};

static void pump_read(SbxGwPump *pump);

static void
relay_free(SbxGwRelay *relay)
{
	for (guint i = 0; i < 2; i++)
		g_clear_pointer(&relay->pumps[i].head, g_bytes_unref);
	if (relay->external != NULL)
		g_cancellable_disconnect(relay->external, relay->external_id);
	g_clear_object(&relay->external);
	if (relay->idle != NULL)
		g_source_destroy(relay->idle);
	g_clear_pointer(&relay->idle, g_source_unref);
	g_clear_object(&relay->cancellable);
	g_clear_object(&relay->a);
	g_clear_object(&relay->b);
	g_free(relay);
}

static void
relay_finish(SbxGwRelay *relay)
{
	relay->finishing = TRUE;
	g_cancellable_cancel(relay->cancellable);
}

/* a pump stopped; the last one closes both sides */
static void
pump_stopped(SbxGwPump *pump)
{
	SbxGwRelay *relay = pump->relay;
	if (--relay->active > 0)
		return;
	g_io_stream_close_async(relay->a, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
	g_io_stream_close_async(relay->b, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
	if (relay->done != NULL)
		relay->done(relay->user_data);
	relay_free(relay);
}

/* the client is done sending: a FIN into the sandbox, reading goes on */
static void
half_close(GIOStream *stream)
{
	if (G_IS_SOCKET_CONNECTION(stream))
		g_socket_shutdown(g_socket_connection_get_socket(G_SOCKET_CONNECTION(stream)),
				  FALSE, TRUE, NULL);
	else
		g_output_stream_close_async(g_io_stream_get_output_stream(stream),
					    G_PRIORITY_DEFAULT, NULL, NULL, NULL);
}

static void
on_written(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwPump *pump = data;
	g_autoptr(GError) error = NULL;

	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, &error)) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_debug("relay: write failed: %s", error->message);
		relay_finish(pump->relay);
		pump_stopped(pump);
		return;
	}
	if (pump->relay->finishing) {
		pump_stopped(pump);
		return;
	}
	pump_read(pump);
}

static void
on_read(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwPump *pump = data;
	g_autoptr(GError) error = NULL;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, &error);

	if (n < 0 || pump->relay->finishing) {
		if (error != NULL && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_debug("relay: read failed: %s", error->message);
		relay_finish(pump->relay);
		pump_stopped(pump);
		return;
	}
	if (n == 0) {
		g_debug("relay: %s side ended", pump->is_upstream ? "sandbox" : "client");
		if (pump->is_upstream)
			relay_finish(pump->relay);
		else
			half_close(pump->out_stream);
		pump_stopped(pump);
		return;
	}
	if (pump->relay->idle != NULL)
		g_source_set_ready_time(pump->relay->idle,
					g_get_monotonic_time() + pump->relay->idle_us);
	g_output_stream_write_all_async(pump->out, pump->buf, (gsize)n, G_PRIORITY_DEFAULT,
					pump->relay->cancellable, on_written, pump);
}

static void
pump_read(SbxGwPump *pump)
{
	g_input_stream_read_async(pump->in, pump->buf, sizeof(pump->buf), G_PRIORITY_DEFAULT,
				  pump->relay->cancellable, on_read, pump);
}

static void
pump_start(SbxGwPump *pump)
{
	gsize len = 0;
	const guint8 *data;
	if (pump->head == NULL) {
		pump_read(pump);
		return;
	}
	data = g_bytes_get_data(pump->head, &len);
	g_output_stream_write_all_async(pump->out, data, len, G_PRIORITY_DEFAULT,
					pump->relay->cancellable, on_written, pump);
}

static void
on_external_cancelled(GCancellable *cancellable, gpointer data)
{
	SbxGwRelay *relay = data;
	/* our own cancellable, never the one being cancelled: no re-entry */
	relay->finishing = TRUE;
	g_cancellable_cancel(relay->cancellable);
}

/* a source that fires at its ready time only */
static gboolean
idle_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
	return callback(data);
}

static GSourceFuncs idle_funcs = {.dispatch = idle_dispatch};

static gboolean
on_idle(gpointer data)
{
	SbxGwRelay *relay = data;
	g_debug("relay: idle for %" G_GINT64_FORMAT " s, closing", relay->idle_us / G_USEC_PER_SEC);
	g_source_set_ready_time(relay->idle, -1);
	relay_finish(relay);
	return G_SOURCE_CONTINUE;
}

void
sbx_gw_relay_start(GIOStream *a, GIOStream *b, GBytes *head, GCancellable *cancellable,
		   guint idle_s, SbxGwRelayDoneFunc done, gpointer user_data)
{
	SbxGwRelay *relay = g_new0(SbxGwRelay, 1);

	relay->a = g_object_ref(a);
	relay->b = g_object_ref(b);
	relay->cancellable = g_cancellable_new();
	relay->done = done;
	relay->user_data = user_data;
	relay->pumps[0] = (SbxGwPump){.relay = relay,
				      .in = g_io_stream_get_input_stream(a),
				      .out = g_io_stream_get_output_stream(b),
				      .out_stream = b,
				      .head = head != NULL ? g_bytes_ref(head) : NULL};
	relay->pumps[1] = (SbxGwPump){.relay = relay,
				      .in = g_io_stream_get_input_stream(b),
				      .out = g_io_stream_get_output_stream(a),
				      .out_stream = a,
				      .is_upstream = TRUE};
	relay->active = 2;
	if (idle_s > 0) {
		relay->idle_us = (gint64)idle_s * G_USEC_PER_SEC;
		relay->idle = g_source_new(&idle_funcs, sizeof(GSource));
		g_source_set_callback(relay->idle, on_idle, relay, NULL);
		g_source_set_ready_time(relay->idle, g_get_monotonic_time() + relay->idle_us);
		g_source_attach(relay->idle, NULL);
	}
	pump_start(&relay->pumps[0]);
	pump_start(&relay->pumps[1]);
	if (cancellable != NULL) {
		relay->external = g_object_ref(cancellable);
		relay->external_id = g_cancellable_connect(
		    cancellable, G_CALLBACK(on_external_cancelled), relay, NULL);
	}
}
