/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <netinet/in.h>
#include <sys/socket.h>

#include "sbx-egress-conn.h"
#include "sbx-egress-sniff.h"

/* linux/netfilter_ipv4.h, which clashes with netinet/in.h */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif

#define PUMP_BUFFER 16384

typedef struct _Conn Conn;

/* one direction of the splice: one bounded buffer, read then write */
typedef struct {
	Conn *conn;
	GIOStream *from;
	GIOStream *to;
	guint8 buf[PUMP_BUFFER];
	gboolean done;
} Pump;

struct _Conn {
	SbxEgressConnContext *ctx;
	GSocketConnection *guest;
	GIOStream *upstream;
	GCancellable *cancellable;
	guint timeout_id;
	gchar *ip;
	gchar *host;
	guint16 port;
	guint8 buf[SBX_EGRESS_SNIFF_MAX_TLS];
	gsize len;
	Pump up;
	Pump down;
	guint pumping;	  /* reads and writes in flight */
	gboolean counted; /* in ctx->per_ip */
};

static void
conn_free(Conn *conn)
{
	if (conn->timeout_id != 0)
		g_source_remove(conn->timeout_id);
	g_clear_object(&conn->upstream);
	g_io_stream_close(G_IO_STREAM(conn->guest), NULL, NULL);
	g_object_unref(conn->guest);
	g_object_unref(conn->cancellable);
	if (conn->counted) {
		guint n = GPOINTER_TO_UINT(g_hash_table_lookup(conn->ctx->per_ip, conn->ip));
		if (n <= 1)
			g_hash_table_remove(conn->ctx->per_ip, conn->ip);
		else
			g_hash_table_insert(conn->ctx->per_ip, g_strdup(conn->ip),
					    GUINT_TO_POINTER(n - 1));
	}
	g_free(conn->ip);
	g_free(conn->host);
	conn->ctx->active--;
	g_free(conn);
}

static void
conn_deny(Conn *conn, const gchar *why)
{
	if (conn->ctx->denied != NULL)
		conn->ctx->denied(conn->ip, conn->host, conn->port, why, conn->ctx->user_data);
	conn_free(conn);
}

guint16
sbx_egress_conn_original_port(GSocketConnection *guest)
{
	struct sockaddr_in dst = {0};
	socklen_t len = sizeof(dst);
	gint fd = g_socket_get_fd(g_socket_connection_get_socket(guest));

	/* the conntrack entry of the redirect: no entry, no destination */
	if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &len) != 0 || dst.sin_family != AF_INET)
		return 0;
	return ntohs(dst.sin_port);
}

static gboolean
on_timeout(gpointer user_data)
{
	Conn *conn = user_data;

	conn->timeout_id = 0;
	g_cancellable_cancel(conn->cancellable);
	return G_SOURCE_REMOVE;
}

static void pump_read(Pump *pump);

/* called at the end of every pump callback: the last one out frees */
static void
pump_settle(Conn *conn)
{
	if (conn->pumping == 0 && conn->up.done && conn->down.done)
		conn_free(conn);
}

/* an end of stream is passed on as a half-close, so request-then-shutdown
 * clients and close-delimited responses both work; an error ends both ways */
static void
pump_finish(Pump *pump, gboolean error)
{
	pump->done = TRUE;
	if (error)
		g_cancellable_cancel(pump->conn->cancellable);
	else
		g_socket_shutdown(g_socket_connection_get_socket(G_SOCKET_CONNECTION(pump->to)),
				  FALSE, TRUE, NULL);
}

static void
on_pump_written(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Pump *pump = user_data;

	pump->conn->pumping--;
	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, NULL))
		pump_finish(pump, TRUE);
	else
		pump_read(pump);
	pump_settle(pump->conn);
}

static void
on_pump_read(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Pump *pump = user_data;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, NULL);

	pump->conn->pumping--;
	if (n <= 0) {
		pump_finish(pump, n < 0);
	} else {
		pump->conn->pumping++;
		g_output_stream_write_all_async(g_io_stream_get_output_stream(pump->to), pump->buf,
						n, G_PRIORITY_DEFAULT, pump->conn->cancellable,
						on_pump_written, pump);
	}
	pump_settle(pump->conn);
}

static void
pump_read(Pump *pump)
{
	pump->conn->pumping++;
	g_input_stream_read_async(g_io_stream_get_input_stream(pump->from), pump->buf,
				  sizeof(pump->buf), G_PRIORITY_DEFAULT, pump->conn->cancellable,
				  on_pump_read, pump);
}

static void
pump_start(Pump *pump, Conn *conn, GIOStream *from, GIOStream *to)
{
	pump->conn = conn;
	pump->from = from;
	pump->to = to;
	pump_read(pump);
}

static void
on_sent(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Conn *conn = user_data;

	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, NULL)) {
		conn_free(conn);
		return;
	}
	if (conn->timeout_id != 0) {
		g_source_remove(conn->timeout_id);
		conn->timeout_id = 0;
	}
	pump_start(&conn->up, conn, G_IO_STREAM(conn->guest), conn->upstream);
	pump_start(&conn->down, conn, conn->upstream, G_IO_STREAM(conn->guest));
}

static void
on_connected(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Conn *conn = user_data;
	g_autoptr(GError) error = NULL;
	GSocketConnection *upstream =
	    g_socket_client_connect_finish(G_SOCKET_CLIENT(source), res, &error);

	if (upstream == NULL) {
		conn_deny(conn, "upstream unreachable");
		return;
	}
	conn->upstream = G_IO_STREAM(upstream);
	/* what the guest sent so far, then everything else, both ways */
	g_output_stream_write_all_async(g_io_stream_get_output_stream(conn->upstream), conn->buf,
					conn->len, G_PRIORITY_DEFAULT, conn->cancellable, on_sent,
					conn);
}

static gboolean
address_is_blocked(SbxEgressConnContext *ctx, GInetAddress *addr)
{
	for (guint i = 0; ctx->blocked != NULL && i < ctx->blocked->len; i++) {
		if (g_inet_address_mask_matches(g_ptr_array_index(ctx->blocked, i), addr))
			return TRUE;
	}
	return FALSE;
}

static void
on_resolved(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Conn *conn = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketClient) client = NULL;
	g_autoptr(GSocketAddress) dest = NULL;
	GList *addresses = g_resolver_lookup_by_name_finish(G_RESOLVER(source), res, &error);
	GInetAddress *addr = NULL;

	for (GList *l = addresses; l != NULL && addr == NULL; l = l->next) {
		if (g_inet_address_get_family(l->data) == G_SOCKET_FAMILY_IPV4 &&
		    !address_is_blocked(conn->ctx, l->data))
			addr = l->data;
	}
	if (addr == NULL) {
		g_resolver_free_addresses(addresses);
		conn_deny(conn,
			  error != NULL ? "name not found" : "name resolves to a blocked range");
		return;
	}
	/* the name's own address: where the guest sent its packets plays no part */
	dest = g_inet_socket_address_new(addr, conn->port);
	g_resolver_free_addresses(addresses);
	client = g_socket_client_new();
	/* straight to the name's address, never through a configured proxy */
	g_socket_client_set_enable_proxy(client, FALSE);
	g_socket_client_connect_async(client, G_SOCKET_CONNECTABLE(dest), conn->cancellable,
				      on_connected, conn);
}

static void read_more(Conn *conn);

static void
on_read(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Conn *conn = user_data;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, NULL);
	SbxEgressSniff sniff;
	gboolean tls;

	if (n <= 0) {
		conn_free(conn);
		return;
	}
	conn->len += n;
	tls = sbx_egress_sniff_is_tls(conn->buf, conn->len);
	sniff = tls ? sbx_egress_sniff_tls(conn->buf, conn->len, &conn->host)
		    : sbx_egress_sniff_http(conn->buf, conn->len, &conn->host);
	if (sniff == SBX_EGRESS_SNIFF_MORE &&
	    conn->len < (tls ? SBX_EGRESS_SNIFF_MAX_TLS : SBX_EGRESS_SNIFF_MAX_HTTP)) {
		read_more(conn);
		return;
	}
	if (sniff != SBX_EGRESS_SNIFF_FOUND) {
		conn_deny(conn, tls ? "no TLS server name" : "no HTTP Host");
		return;
	}
	if (!sbx_egress_policy_allows(conn->ctx->policy, conn->ip, conn->host, conn->port)) {
		conn_deny(conn, "not in allow_net");
		return;
	}
	g_resolver_lookup_by_name_with_flags_async(conn->ctx->resolver, conn->host,
						   G_RESOLVER_NAME_LOOKUP_FLAGS_IPV4_ONLY,
						   conn->cancellable, on_resolved, conn);
}

static void
read_more(Conn *conn)
{
	GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn->guest));

	g_input_stream_read_async(in, conn->buf + conn->len, sizeof(conn->buf) - conn->len,
				  G_PRIORITY_DEFAULT, conn->cancellable, on_read, conn);
}

void
sbx_egress_conn_start(SbxEgressConnContext *ctx, GSocketConnection *guest)
{
	g_autoptr(GSocketAddress) peer = g_socket_connection_get_remote_address(guest, NULL);
	Conn *conn;

	if (ctx->active >= SBX_EGRESS_CONN_MAX || !G_IS_INET_SOCKET_ADDRESS(peer)) {
		g_io_stream_close(G_IO_STREAM(guest), NULL, NULL);
		return;
	}
	conn = g_new0(Conn, 1);
	ctx->active++;
	conn->ctx = ctx;
	conn->guest = g_object_ref(guest);
	conn->cancellable = g_cancellable_new();
	conn->ip = g_inet_address_to_string(
	    g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(peer)));
	conn->port = sbx_egress_conn_original_port(guest);
	if (sbx_egress_policy_lookup(ctx->policy, conn->ip) == NULL || conn->port == 0) {
		/* not a sandbox we were told about: nothing to report to */
		conn_free(conn);
		return;
	}
	{
		guint n = GPOINTER_TO_UINT(g_hash_table_lookup(ctx->per_ip, conn->ip));
		if (n >= SBX_EGRESS_CONN_MAX_PER_SANDBOX) {
			conn_deny(conn, "too many connections");
			return;
		}
		g_hash_table_insert(ctx->per_ip, g_strdup(conn->ip), GUINT_TO_POINTER(n + 1));
		conn->counted = TRUE;
	}
	conn->timeout_id = g_timeout_add_seconds(SBX_EGRESS_CONN_TIMEOUT_SEC, on_timeout, conn);
	read_more(conn);
}
