/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "sbx-egress-conn.h"
#include "sbx-egress-http.h"
#include "sbx-egress-replay.h"
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
	SbxEgressHttp *http; /* guest to upstream: each request checked */
	GByteArray *out;     /* what the parser passes on */
} Pump;

struct _Conn {
	SbxEgressConnContext *ctx;
	GSocketConnection *guest;
	GIOStream *guest_io; /* the guest connection, or our TLS server on it */
	GIOStream *upstream; /* the socket, or our TLS client on it */
	gchar *leaf;	     /* intercepted: the certificate (and key) we show the guest */
	gint64 last_active;
	guint idle_id;
	GCancellable *cancellable;
	guint timeout_id;
	gchar *ip;
	gchar *host;
	guint16 port;
	gboolean tls;
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
	if (conn->idle_id != 0)
		g_source_remove(conn->idle_id);
	g_clear_pointer(&conn->up.http, sbx_egress_http_free);
	if (conn->up.out != NULL) {
		explicit_bzero(conn->up.out->data, conn->up.out->len);
		g_byte_array_unref(conn->up.out);
	}
	explicit_bzero(conn->up.buf, sizeof(conn->up.buf));
	g_clear_object(&conn->upstream);
	g_clear_object(&conn->guest_io);
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
	if (conn->leaf != NULL)
		explicit_bzero(conn->leaf, strlen(conn->leaf));
	g_free(conn->leaf);
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

/* a denial in the middle of a connection: reported once, the pumps end it */
static void
pump_deny(Conn *conn, const gchar *why)
{
	if (conn->ctx->denied != NULL && !g_cancellable_is_cancelled(conn->cancellable))
		conn->ctx->denied(conn->ip, conn->host, conn->port, why, conn->ctx->user_data);
	g_cancellable_cancel(conn->cancellable);
}

/* no byte either way for the idle timeout: the connection goes */
static gboolean
on_idle(gpointer user_data)
{
	Conn *conn = user_data;
	gint64 idle = g_get_monotonic_time() - conn->last_active;

	if (idle < (gint64)conn->ctx->idle_timeout_sec * G_USEC_PER_SEC)
		return G_SOURCE_CONTINUE;
	conn->idle_id = 0;
	g_cancellable_cancel(conn->cancellable);
	return G_SOURCE_REMOVE;
}

/* called at the end of every pump callback: the last one out frees */
static void
pump_settle(Conn *conn)
{
	if (conn->pumping == 0 && conn->up.done && conn->down.done)
		conn_free(conn);
}

static void
on_tls_closed(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Pump *pump = user_data;

	g_output_stream_close_finish(G_OUTPUT_STREAM(source), res, NULL);
	pump->conn->pumping--;
	pump_settle(pump->conn);
}

/* an end of stream is passed on as a half-close, so request-then-shutdown
 * clients and close-delimited responses both work; an error ends both ways */
static void
pump_finish(Pump *pump, gboolean error)
{
	pump->done = TRUE;
	if (error)
		g_cancellable_cancel(pump->conn->cancellable);
	else if (G_IS_SOCKET_CONNECTION(pump->to))
		g_socket_shutdown(g_socket_connection_get_socket(G_SOCKET_CONNECTION(pump->to)),
				  FALSE, TRUE, NULL);
	else {
		/* TLS: close_notify, without waiting in the main loop */
		pump->conn->pumping++;
		g_output_stream_close_async(g_io_stream_get_output_stream(pump->to),
					    G_PRIORITY_DEFAULT, pump->conn->cancellable,
					    on_tls_closed, pump);
	}
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

	g_autoptr(GError) error = NULL;
	const guint8 *data = pump->buf;

	pump->conn->pumping--;
	pump->conn->last_active = g_get_monotonic_time();
	if (n > 0 && pump->http != NULL) {
		g_byte_array_set_size(pump->out, 0);
		if (!sbx_egress_http_feed(pump->http, pump->buf, n, pump->out, &error)) {
			pump_deny(pump->conn, error->message);
			n = -1;
		} else {
			data = pump->out->data;
			n = pump->out->len;
			if (n == 0) {
				pump_read(pump);
				pump_settle(pump->conn);
				return;
			}
		}
	}
	if (n <= 0) {
		pump_finish(pump, n < 0);
	} else {
		pump->conn->pumping++;
		g_output_stream_write_all_async(g_io_stream_get_output_stream(pump->to), data, n,
						G_PRIORITY_DEFAULT, pump->conn->cancellable,
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
start_pumps(Conn *conn)
{
	if (conn->timeout_id != 0) {
		g_source_remove(conn->timeout_id);
		conn->timeout_id = 0;
	}
	conn->last_active = g_get_monotonic_time();
	if (conn->ctx->idle_timeout_sec > 0)
		conn->idle_id =
		    g_timeout_add_seconds(MAX(conn->ctx->idle_timeout_sec / 4, 1), on_idle, conn);
	pump_start(&conn->up, conn, conn->guest_io, conn->upstream);
	pump_start(&conn->down, conn, conn->upstream, conn->guest_io);
}

static void
on_sent(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Conn *conn = user_data;

	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, NULL)) {
		conn_free(conn);
		return;
	}
	start_pumps(conn);
}

static void
on_guest_handshake(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Conn *conn = user_data;

	/* the guest may not trust our CA (its own bundle): its business, no denial */
	if (!g_tls_connection_handshake_finish(G_TLS_CONNECTION(source), res, NULL)) {
		conn_free(conn);
		return;
	}
	start_pumps(conn);
}

/* the upstream is who it says: now the guest gets our leaf for the name and
 * sees its first bytes (the ClientHello we read) again */
static void
on_upstream_handshake(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Conn *conn = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GTlsCertificate) leaf = NULL;
	g_autoptr(GInputStream) replay = NULL;
	g_autoptr(GIOStream) base = NULL;
	const gchar *alpn[] = {"http/1.1", NULL};

	if (!g_tls_connection_handshake_finish(G_TLS_CONNECTION(source), res, &error)) {
		conn_deny(conn, g_error_matches(error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE)
				    ? "upstream certificate not trusted"
				    : "upstream TLS failed");
		return;
	}
	leaf = g_tls_certificate_new_from_pem(conn->leaf, -1, &error);
	if (leaf == NULL) {
		conn_deny(conn, "no certificate for the name");
		return;
	}
	replay = sbx_egress_replay_new(g_io_stream_get_input_stream(G_IO_STREAM(conn->guest)),
				       conn->buf, conn->len);
	base =
	    g_simple_io_stream_new(replay, g_io_stream_get_output_stream(G_IO_STREAM(conn->guest)));
	g_clear_object(&conn->guest_io);
	conn->guest_io = G_IO_STREAM(g_tls_server_connection_new(base, leaf, &error));
	if (conn->guest_io == NULL) {
		conn_deny(conn, "TLS server failed");
		return;
	}
	g_tls_connection_set_advertised_protocols(G_TLS_CONNECTION(conn->guest_io), alpn);
	g_tls_connection_handshake_async(G_TLS_CONNECTION(conn->guest_io), G_PRIORITY_DEFAULT,
					 conn->cancellable, on_guest_handshake, conn);
}

/* --upstream-ca: the name's certificate must chain to one of these, valid now */
static gboolean
on_accept_certificate(GTlsConnection *tls, GTlsCertificate *peer, GTlsCertificateFlags errors,
		      gpointer user_data)
{
	Conn *conn = user_data;
	g_autoptr(GSocketConnectable) identity = g_network_address_new(conn->host, conn->port);

	for (GList *l = conn->ctx->upstream_ca; l != NULL; l = l->next) {
		if (g_tls_certificate_verify(peer, identity, l->data) == 0)
			return TRUE;
	}
	return FALSE;
}

/* intercepted: our TLS client to the name, checked against the host's CAs */
static void
intercept(Conn *conn)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketConnectable) identity = g_network_address_new(conn->host, conn->port);
	GIOStream *tls = g_tls_client_connection_new(conn->upstream, identity, &error);
	const gchar *alpn[] = {"http/1.1", NULL};

	if (tls == NULL) {
		conn_deny(conn, "TLS client failed");
		return;
	}
	g_object_unref(conn->upstream);
	conn->upstream = tls;
	if (conn->ctx->upstream_ca != NULL) {
		/* only those CAs: no database, so every certificate comes to us */
		g_tls_connection_set_database(G_TLS_CONNECTION(tls), NULL);
		g_signal_connect(tls, "accept-certificate", G_CALLBACK(on_accept_certificate),
				 conn);
	}
	g_tls_connection_set_advertised_protocols(G_TLS_CONNECTION(tls), alpn);
	conn->up.http = sbx_egress_http_new(
	    conn->host, sbx_egress_policy_get_secrets(conn->ctx->policy, conn->ip));
	conn->up.out = g_byte_array_new();
	g_tls_connection_handshake_async(G_TLS_CONNECTION(tls), G_PRIORITY_DEFAULT,
					 conn->cancellable, on_upstream_handshake, conn);
}

/* plain HTTP: every request on the connection is checked, the first too */
static gboolean
parse_first(Conn *conn)
{
	g_autoptr(GError) error = NULL;

	conn->up.http = sbx_egress_http_new(conn->host, NULL);
	conn->up.out = g_byte_array_new();
	if (!sbx_egress_http_feed(conn->up.http, conn->buf, conn->len, conn->up.out, &error)) {
		conn_deny(conn, error->message);
		return FALSE;
	}
	return TRUE;
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
	if (conn->leaf != NULL) {
		intercept(conn);
		return;
	}
	if (!conn->tls) {
		if (!parse_first(conn))
			return;
		g_output_stream_write_all_async(
		    g_io_stream_get_output_stream(conn->upstream), conn->up.out->data,
		    conn->up.out->len, G_PRIORITY_DEFAULT, conn->cancellable, on_sent, conn);
		return;
	}
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
	conn->tls = tls;
	if (tls) {
		g_autoptr(GError) error = NULL;
		/* a copy: the policy may be replaced while we connect */
		conn->leaf = g_strdup(
		    sbx_egress_policy_intercept(conn->ctx->policy, conn->ip, conn->host, &error));
		if (error != NULL) {
			conn_deny(conn, "no certificate for the name");
			return;
		}
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
	conn->guest_io = g_object_ref(G_IO_STREAM(guest));
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
