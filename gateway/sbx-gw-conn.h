/* one SDK WebSocket: decodes frames, dispatches calls, carries stream notifications.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-gw-sandbox.h"
#include "sbx-gw-valve.h"

G_BEGIN_DECLS

typedef struct _SbxGwInStream SbxGwInStream;
typedef struct _SbxGwOutStream SbxGwOutStream;

#define SBX_GW_TYPE_CONN (sbx_gw_conn_get_type())
G_DECLARE_FINAL_TYPE(SbxGwConn, sbx_gw_conn, SBX_GW, CONN, GObject)

struct _SbxGwConn {
	GObject parent_instance;
	SbxGwServer *server;
	SbxGwSandbox *sandbox;
	SoupWebsocketConnection *ws;
	SbxGwValve *valve; /* under ws: shut while the guest falls behind the client */
	GSocket *socket;   /* to see whether the kernel takes more output */
	gchar *trace_id;
	gchar *tenant; /* sbx_gw_metrics_tenant_tag() of the socket's token, for logs */
	gboolean closed;
	GHashTable *in_streams;	 /* client stream id -> SbxGwInStream (ref) */
	GHashTable *out_streams; /* our stream id -> SbxGwOutStream (ref) until it ends */
	GHashTable *files;	 /* SDK fileHandleId -> sandboxd's handle (sbx-gw-file.c) */
	guint32 next_file;
	guint64 in_buffered;   /* bytes of client streams not yet written anywhere */
	guint calls_in_flight; /* JSON-RPC requests not answered yet */
	GPtrArray *blocked;    /* callbacks waiting for the socket to take output */
	GSource *writable_source;
};

SbxGwConn *sbx_gw_conn_new(SbxGwServer *server, SbxGwSandbox *sandbox, SoupWebsocketConnection *ws,
			   SbxGwValve *valve, GSocket *socket, const gchar *trace_id);
/* after in_buffered changed: stops reading the client while more than
 * MaxStreamBufferMiB of its stream bytes wait for the guest, reads again below half */
void sbx_gw_conn_update_input(SbxGwConn *self);
/* sends one text frame if the socket is still open */
void sbx_gw_conn_send(SbxGwConn *self, const gchar *text);
void sbx_gw_conn_close(SbxGwConn *self, gushort code, const gchar *reason);
/* whether the socket takes more output now; the kernel's send buffer bounds what
 * libsoup queues for us */
gboolean sbx_gw_conn_can_send(SbxGwConn *self);
/* calls @func(@data) once when the socket takes output again (or closed) */
void sbx_gw_conn_when_writable(SbxGwConn *self, GSourceFunc func, gpointer data);
/* lets the client cancel @stream; forgotten when it ends */
void sbx_gw_conn_add_out_stream(SbxGwConn *self, SbxGwOutStream *stream);
/* the client stream @id of this socket, made on first mention */
SbxGwInStream *sbx_gw_conn_in_stream(SbxGwConn *self, guint64 id);

G_END_DECLS
