/* fetch: an HTTP request made from inside the sandbox, its response body
 * streamed back to the SDK.
 *
 * libsoup is the HTTP client. Its session's "remote-connectable" is a
 * GNetworkAddress for the URL's host and port (so TLS checks the server's
 * certificate against that name, with glib-networking's usual checks)
 * whose addresses are a private Unix socket of ours; each connection
 * libsoup makes there is relayed to Sandbox1.ConnectTcp(host, port), a
 * connection made by the guest agent inside the sandbox, under its network
 * policy. Names are resolved by sandboxd. Redirects are followed here (a
 * new session per hop, each bound to its own host), at most 20.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <string.h>
#include <unistd.h>

#include "sbx-gw-call.h"
#include "sbx-gw-in-stream.h"
#include "sbx-gw-out-stream.h"
#include "sbx-gw-relay.h"
#include "sbx-gw-tcp.h"

#define SBX_GW_FETCH_MAX_REDIRECTS 20
#define SBX_GW_FETCH_MAX_CONNS 4		   /* connections libsoup may open per hop */
#define SBX_GW_FETCH_IO_TIMEOUT_S 60		   /* libsoup: no progress for this long */
#define SBX_GW_FETCH_MAX_BODY (1024 * 1024 * 1024) /* response bytes, then the body is cut */
#define SBX_GW_FETCH_MAX_HEADERS 256
#define SBX_GW_FETCH_CHUNK (64 * 1024)

/* --- a GNetworkAddress whose addresses are our Unix socket --- */

#define SBX_GW_TYPE_FETCH_ADDRESS (sbx_gw_fetch_address_get_type())
G_DECLARE_FINAL_TYPE(SbxGwFetchAddress, sbx_gw_fetch_address, SBX_GW, FETCH_ADDRESS,
		     GNetworkAddress)

struct _SbxGwFetchAddress {
	GNetworkAddress parent_instance;
	GSocketAddress *local; /* the Unix socket libsoup really connects to */
};

static void sbx_gw_fetch_address_connectable_init(GSocketConnectableIface *iface);

G_DEFINE_TYPE_WITH_CODE(SbxGwFetchAddress, sbx_gw_fetch_address, G_TYPE_NETWORK_ADDRESS,
			G_IMPLEMENT_INTERFACE(G_TYPE_SOCKET_CONNECTABLE,
					      sbx_gw_fetch_address_connectable_init))

static GSocketAddressEnumerator *
sbx_gw_fetch_address_enumerate(GSocketConnectable *connectable)
{
	SbxGwFetchAddress *self = SBX_GW_FETCH_ADDRESS(connectable);
	return g_socket_connectable_enumerate(G_SOCKET_CONNECTABLE(self->local));
}

static void
sbx_gw_fetch_address_connectable_init(GSocketConnectableIface *iface)
{
	iface->enumerate = sbx_gw_fetch_address_enumerate;
	/* no proxy: the connection leaves from the sandbox */
	iface->proxy_enumerate = sbx_gw_fetch_address_enumerate;
}

static void
sbx_gw_fetch_address_finalize(GObject *object)
{
	SbxGwFetchAddress *self = SBX_GW_FETCH_ADDRESS(object);
	g_clear_object(&self->local);
	G_OBJECT_CLASS(sbx_gw_fetch_address_parent_class)->finalize(object);
}

static void
sbx_gw_fetch_address_class_init(SbxGwFetchAddressClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = sbx_gw_fetch_address_finalize;
}

static void
sbx_gw_fetch_address_init(SbxGwFetchAddress *self)
{
}

static GSocketConnectable *
sbx_gw_fetch_address_new(const gchar *host, guint16 port, const gchar *socket_path)
{
	SbxGwFetchAddress *self =
	    g_object_new(SBX_GW_TYPE_FETCH_ADDRESS, "hostname", host, "port", (guint)port, NULL);
	self->local = g_unix_socket_address_new(socket_path);
	return G_SOCKET_CONNECTABLE(self);
}

/* --- one fetch --- */

typedef struct {
	SbxGwCall *call; /* NULL once answered */
	SbxGwConn *conn;
	SbxDBusSandbox1 *proxy;
	GCancellable *cancellable;
	gint64 abort_id;
	gchar *redirect; /* "follow", "manual" or "error" */
	gchar *method;
	GPtrArray *headers; /* name, value, name, value... */
	GInputStream *body; /* request body, or NULL */
	guint hops;

	/* the current hop */
	GUri *uri;
	gchar *host;
	guint16 port;
	gchar *socket_dir;
	gchar *socket_path;
	GSocketListener *listener;
	guint n_conns;
	SoupSession *session;
	SoupMessage *msg;

	/* the response body */
	GInputStream *response;
	GOutputStream *sink;
	SbxGwOutStream *out;
	guint8 *buf;
	guint64 sent;
} SbxGwFetch;

static void fetch_hop(SbxGwFetch *f);

static void
on_relay_done(gpointer data)
{
	/* nothing: fetch_hop_clear() cancels what is still live */
}

static void
fetch_hop_clear(SbxGwFetch *f)
{
	if (f->listener != NULL) {
		g_object_set_data(G_OBJECT(f->listener), "sbx-gw-fetch", NULL);
		g_socket_listener_close(f->listener);
	}
	g_clear_object(&f->listener);
	if (f->socket_path != NULL)
		g_unlink(f->socket_path);
	g_clear_pointer(&f->socket_path, g_free);
	g_clear_object(&f->msg);
	if (f->session != NULL)
		soup_session_abort(f->session);
	g_clear_object(&f->session);
	g_clear_pointer(&f->uri, g_uri_unref);
	g_clear_pointer(&f->host, g_free);
	f->n_conns = 0;
}

static GHashTable *
aborts_of(SbxGwConn *conn)
{
	GHashTable *t = g_object_get_data(G_OBJECT(conn), "sbx-gw-fetch-aborts");
	if (t == NULL) {
		t = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
		g_object_set_data_full(G_OBJECT(conn), "sbx-gw-fetch-aborts", t,
				       (GDestroyNotify)g_hash_table_unref);
	}
	return t;
}

static void
fetch_free(SbxGwFetch *f)
{
	/* ends the relays and connects still going */
	g_cancellable_cancel(f->cancellable);
	fetch_hop_clear(f);
	if (f->abort_id >= 0)
		g_hash_table_remove(aborts_of(f->conn), &f->abort_id);
	if (f->socket_dir != NULL)
		g_rmdir(f->socket_dir);
	g_free(f->socket_dir);
	g_clear_object(&f->cancellable);
	g_clear_object(&f->proxy);
	g_clear_object(&f->conn);
	g_clear_object(&f->body);
	g_clear_object(&f->response);
	g_clear_object(&f->sink);
	g_clear_object(&f->out);
	g_clear_pointer(&f->headers, g_ptr_array_unref);
	g_free(f->redirect);
	g_free(f->method);
	g_free(f->buf);
	g_free(f);
}

static void
fetch_fail(SbxGwFetch *f, const GError *error)
{
	if (f->call != NULL)
		sbx_gw_call_return_error(g_steal_pointer(&f->call), error);
	fetch_free(f);
}

static void
fetch_fail_literal(SbxGwFetch *f, const gchar *constructor, const gchar *code, const gchar *message)
{
	if (f->call != NULL)
		sbx_gw_call_return_literal(g_steal_pointer(&f->call), constructor, code, message);
	fetch_free(f);
}

/* --- connections libsoup makes: relayed into the sandbox --- */

typedef struct {
	GIOStream *local;
	GCancellable *cancellable;
} SbxGwFetchConn;

static void
on_upstream(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwFetchConn *fc = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GIOStream) upstream =
	    sbx_gw_tcp_connect_finish(SBX_DBUS_SANDBOX1(source), res, &error);

	if (upstream == NULL) {
		/* libsoup sees the connection close and fails the request; keep
		 * sandboxd's reason for the answer */
		g_dbus_error_strip_remote_error(error);
		g_debug("fetch: connect from the sandbox: %s", error->message);
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			g_object_set_data_full(G_OBJECT(fc->cancellable),
					       "sbx-gw-fetch-connect-error", g_error_copy(error),
					       (GDestroyNotify)g_error_free);
		g_io_stream_close(fc->local, NULL, NULL);
	} else if (!g_cancellable_is_cancelled(fc->cancellable)) {
		g_debug("fetch: connected from the sandbox, relaying");
		sbx_gw_relay_start(fc->local, upstream, NULL, fc->cancellable, 0, on_relay_done,
				   NULL);
	}
	g_object_unref(fc->local);
	g_object_unref(fc->cancellable);
	g_free(fc);
}

static void
on_accepted(GObject *source, GAsyncResult *res, gpointer data)
{
	/* NULL once the hop is over (and the fetch perhaps gone) */
	SbxGwFetch *f = g_object_get_data(source, "sbx-gw-fetch");
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketConnection) local =
	    g_socket_listener_accept_finish(G_SOCKET_LISTENER(source), res, NULL, &error);
	SbxGwFetchConn *fc;

	if (local == NULL || f == NULL) {
		if (local != NULL)
			g_io_stream_close(G_IO_STREAM(local), NULL, NULL);
		return;
	}
	if (++f->n_conns > SBX_GW_FETCH_MAX_CONNS) {
		g_io_stream_close(G_IO_STREAM(local), NULL, NULL);
	} else {
		g_debug("fetch: libsoup connected, connecting to %s port %u from the sandbox",
			f->host, f->port);
		fc = g_new0(SbxGwFetchConn, 1);
		fc->local = G_IO_STREAM(g_object_ref(local));
		fc->cancellable = g_object_ref(f->cancellable);
		sbx_gw_tcp_connect_async(f->proxy, f->host, f->port, f->cancellable, on_upstream,
					 fc);
	}
	g_socket_listener_accept_async(f->listener, f->cancellable, on_accepted, NULL);
}

/* --- the response body --- */

static void pump_body(SbxGwFetch *f);

static void
body_done(SbxGwFetch *f)
{
	g_debug("fetch: %" G_GUINT64_FORMAT " response bytes", f->sent);
	fetch_free(f);
}

static void
on_body_written(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwFetch *f = data;
	g_autoptr(GError) error = NULL;
	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, &error)) {
		/* the reader cancelled the stream */
		body_done(f);
		return;
	}
	pump_body(f);
}

static void
on_body_read(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwFetch *f = data;
	g_autoptr(GError) error = NULL;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, &error);

	if (n <= 0) {
		if (n < 0)
			g_message("fetch: the response body failed: %s", error->message);
		body_done(f);
		return;
	}
	if (f->sent + (guint64)n > SBX_GW_FETCH_MAX_BODY) {
		g_message("fetch: the response body is cut at %u bytes", SBX_GW_FETCH_MAX_BODY);
		body_done(f);
		return;
	}
	f->sent += (guint64)n;
	g_output_stream_write_all_async(f->sink, f->buf, (gsize)n, G_PRIORITY_DEFAULT,
					f->cancellable, on_body_written, f);
}

static void
pump_body(SbxGwFetch *f)
{
	g_input_stream_read_async(f->response, f->buf, SBX_GW_FETCH_CHUNK, G_PRIORITY_DEFAULT,
				  f->cancellable, on_body_read, f);
}

static gboolean
status_has_body(const gchar *method, guint status)
{
	return !g_str_equal(method, "HEAD") && status >= 200 && status != 204 && status != 205 &&
	       status != 304;
}

static void
answer(SbxGwFetch *f)
{
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	SoupMessageHeaders *headers = soup_message_get_response_headers(f->msg);
	SoupMessageHeadersIter iter;
	const gchar *name, *value;
	guint status = soup_message_get_status(f->msg);
	gint fds[2];

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "status");
	json_builder_add_int_value(b, status);
	json_builder_set_member_name(b, "statusText");
	json_builder_add_string_value(b, soup_message_get_reason_phrase(f->msg) != NULL
					     ? soup_message_get_reason_phrase(f->msg)
					     : "");
	json_builder_set_member_name(b, "headers");
	json_builder_begin_array(b);
	soup_message_headers_iter_init(&iter, headers);
	while (soup_message_headers_iter_next(&iter, &name, &value)) {
		json_builder_begin_array(b);
		json_builder_add_string_value(b, name);
		json_builder_add_string_value(b, value);
		json_builder_end_array(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "bodyStreamId");
	if (status_has_body(f->method, status) && g_unix_open_pipe(fds, FD_CLOEXEC, NULL)) {
		f->out = sbx_gw_out_stream_new(f->conn, fds[0]);
		sbx_gw_conn_add_out_stream(f->conn, f->out);
		f->sink = g_unix_output_stream_new(fds[1], TRUE);
		f->buf = g_malloc(SBX_GW_FETCH_CHUNK);
		json_builder_add_int_value(b, (gint64)sbx_gw_out_stream_get_id(f->out));
		sbx_gw_out_stream_start(f->out);
	} else {
		json_builder_add_null_value(b);
	}
	json_builder_end_object(b);
	sbx_gw_call_return(g_steal_pointer(&f->call), json_builder_get_root(b));
	if (f->sink != NULL)
		pump_body(f);
	else
		fetch_free(f);
}

/* a 3xx with a Location: the next hop's URL, or NULL */
static GUri *
redirect_target(SbxGwFetch *f)
{
	guint status = soup_message_get_status(f->msg);
	const gchar *location =
	    soup_message_headers_get_one(soup_message_get_response_headers(f->msg), "Location");
	if (!SOUP_STATUS_IS_REDIRECTION(status) || status == 304 || location == NULL)
		return NULL;
	return g_uri_parse_relative(f->uri, location, SOUP_HTTP_URI_FLAGS, NULL);
}

static void
on_sent(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwFetch *f = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GUri) next = NULL;
	GError *connect_error;

	f->response = soup_session_send_finish(SOUP_SESSION(source), res, &error);
	if (f->response == NULL) {
		connect_error =
		    g_object_get_data(G_OBJECT(f->cancellable), "sbx-gw-fetch-connect-error");
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			fetch_fail_literal(f, "AbortError", "ABORT_ERR", "the request was aborted");
		else
			fetch_fail(f, connect_error != NULL ? connect_error : error);
		return;
	}
	next = redirect_target(f);
	if (next == NULL || g_str_equal(f->redirect, "manual")) {
		answer(f);
		return;
	}
	if (g_str_equal(f->redirect, "error")) {
		fetch_fail_literal(f, "TypeError", "EREDIRECT",
				   "the response is a redirect and redirect is \"error\"");
		return;
	}
	if (++f->hops > SBX_GW_FETCH_MAX_REDIRECTS) {
		fetch_fail_literal(f, "TypeError", "EREDIRECT", "too many redirects");
		return;
	}
	/* what browsers do: 303, and 301/302 after a POST, become GET without a body */
	{
		guint status = soup_message_get_status(f->msg);
		if (status == 303 ||
		    ((status == 301 || status == 302) && g_str_equal(f->method, "POST"))) {
			g_free(f->method);
			f->method = g_strdup("GET");
			g_clear_object(&f->body);
		} else if (f->body != NULL) {
			fetch_fail_literal(f, "TypeError", "EREDIRECT",
					   "cannot follow a redirect with a streamed body");
			return;
		}
	}
	g_clear_object(&f->response);
	fetch_hop_clear(f);
	f->uri = g_steal_pointer(&next);
	fetch_hop(f);
}

/* a hop: a new session bound to the URL's host, a new private socket */
static void
fetch_hop(SbxGwFetch *f)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocketConnectable) address = NULL;
	g_autoptr(GSocketAddress) local = NULL;
	const gchar *scheme = g_uri_get_scheme(f->uri);
	gint port = g_uri_get_port(f->uri);
	SoupMessageHeaders *req;
	g_autofree gchar *name = NULL;

	if (g_strcmp0(scheme, "http") != 0 && g_strcmp0(scheme, "https") != 0) {
		fetch_fail_literal(f, "TypeError", "EINVAL", "only http and https URLs");
		return;
	}
	if (g_uri_get_host(f->uri) == NULL || g_uri_get_host(f->uri)[0] == '\0') {
		fetch_fail_literal(f, "TypeError", "EINVAL", "the URL has no host");
		return;
	}
	f->host = g_strdup(g_uri_get_host(f->uri));
	f->port = port > 0 ? (guint16)port : g_str_equal(scheme, "https") ? 443 : 80;
	name = g_strdup_printf("%08x%08x.sock", g_random_int(), g_random_int());
	f->socket_path = g_build_filename(f->socket_dir, name, NULL);
	local = g_unix_socket_address_new(f->socket_path);
	f->listener = g_socket_listener_new();
	if (!g_socket_listener_add_address(f->listener, local, G_SOCKET_TYPE_STREAM,
					   G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, &error)) {
		fetch_fail(f, error);
		return;
	}
	g_object_set_data(G_OBJECT(f->listener), "sbx-gw-fetch", f);
	g_socket_listener_accept_async(f->listener, f->cancellable, on_accepted, NULL);

	address = sbx_gw_fetch_address_new(f->host, f->port, f->socket_path);
	f->session = soup_session_new_with_options(
	    "remote-connectable", address, "timeout", SBX_GW_FETCH_IO_TIMEOUT_S, "max-conns",
	    SBX_GW_FETCH_MAX_CONNS, "proxy-resolver", NULL, "user-agent", "sandboxd-gateway", NULL);
	f->msg = soup_message_new_from_uri(f->method, f->uri);
	if (f->msg == NULL) {
		fetch_fail_literal(f, "TypeError", "EINVAL", "invalid method or URL");
		return;
	}
	soup_message_add_flags(f->msg, SOUP_MESSAGE_NO_REDIRECT);
	req = soup_message_get_request_headers(f->msg);
	for (guint i = 0; i + 1 < f->headers->len; i += 2) {
		const gchar *n = g_ptr_array_index(f->headers, i);
		if (g_ascii_strcasecmp(n, "host") == 0 ||
		    g_ascii_strcasecmp(n, "connection") == 0 ||
		    g_ascii_strcasecmp(n, "content-length") == 0 ||
		    g_ascii_strcasecmp(n, "transfer-encoding") == 0)
			continue;
		soup_message_headers_append(req, n, g_ptr_array_index(f->headers, i + 1));
	}
	if (f->body != NULL)
		soup_message_set_request_body(f->msg, NULL, f->body, -1);
	soup_session_send_async(f->session, f->msg, G_PRIORITY_DEFAULT, f->cancellable, on_sent, f);
}

/* one [name, value] pair of valid header strings */
static gboolean
header_pair(JsonNode *pair, GPtrArray *out)
{
	JsonArray *a;
	const gchar *name, *value;

	if (!JSON_NODE_HOLDS_ARRAY(pair))
		return FALSE;
	a = json_node_get_array(pair);
	if (json_array_get_length(a) != 2 ||
	    json_node_get_value_type(json_array_get_element(a, 0)) != G_TYPE_STRING ||
	    json_node_get_value_type(json_array_get_element(a, 1)) != G_TYPE_STRING)
		return FALSE;
	name = json_array_get_string_element(a, 0);
	value = json_array_get_string_element(a, 1);
	if (name[0] == '\0' || strlen(name) > 256 || strlen(value) > 16384 ||
	    strpbrk(name, " \t\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
		return FALSE;
	g_ptr_array_add(out, g_strdup(name));
	g_ptr_array_add(out, g_strdup(value));
	return TRUE;
}

/* headers: [[name, value], ...] */
static gboolean
parse_headers(JsonObject *params, GPtrArray *out, GError **error)
{
	JsonNode *node = json_object_get_member(params, "headers");
	JsonArray *array = NULL;
	gboolean ok;

	if (node == NULL || JSON_NODE_HOLDS_NULL(node))
		return TRUE;
	ok = JSON_NODE_HOLDS_ARRAY(node);
	if (ok) {
		array = json_node_get_array(node);
		ok = json_array_get_length(array) <= SBX_GW_FETCH_MAX_HEADERS;
	}
	for (guint i = 0; ok && i < json_array_get_length(array); i++)
		ok = header_pair(json_array_get_element(array, i), out);
	if (!ok)
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "headers must be [name, value] pairs of valid header strings");
	return ok;
}

static gboolean
is_token(const gchar *s)
{
	if (s[0] == '\0' || strlen(s) > 32)
		return FALSE;
	for (; *s != '\0'; s++) {
		if (!g_ascii_isalnum(*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return FALSE;
	}
	return TRUE;
}

void
sbx_gw_fetch(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	const gchar *url = NULL, *method = "GET", *redirect = "follow";
	gint64 abort_id = -1, body_id = -1;
	SbxGwFetch *f;

	if (!sbx_gw_rpc_get_string(call->params, "url", TRUE, &url, &error) ||
	    !sbx_gw_rpc_get_string(call->params, "method", FALSE, &method, &error) ||
	    !sbx_gw_rpc_get_string(call->params, "redirect", FALSE, &redirect, &error) ||
	    !sbx_gw_rpc_get_int(call->params, "abortId", FALSE, &abort_id, &error) ||
	    !sbx_gw_rpc_get_int(call->params, "bodyStreamId", FALSE, &body_id, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if (!is_token(method) ||
	    (!g_str_equal(redirect, "follow") && !g_str_equal(redirect, "manual") &&
	     !g_str_equal(redirect, "error"))) {
		sbx_gw_call_return_literal(call, "TypeError", "EINVAL",
					   "invalid method or redirect mode");
		return;
	}
	f = g_new0(SbxGwFetch, 1);
	f->call = call;
	f->conn = g_object_ref(call->conn);
	f->proxy = g_object_ref(call->conn->sandbox->proxy);
	f->cancellable = g_cancellable_new();
	f->abort_id = -1;
	f->method = g_ascii_strup(method, -1);
	f->redirect = g_strdup(redirect);
	f->headers = g_ptr_array_new_with_free_func(g_free);
	if (!parse_headers(call->params, f->headers, &error)) {
		fetch_fail(f, error);
		return;
	}
	f->uri = g_uri_parse(url, SOUP_HTTP_URI_FLAGS, &error);
	if (f->uri == NULL || strlen(url) > 8192) {
		fetch_fail_literal(f, "TypeError", "EINVAL", "invalid URL");
		return;
	}
	if (body_id >= 0) {
		SbxGwInStream *in = sbx_gw_conn_in_stream(call->conn, (guint64)body_id);
		gint fds[2];
		if (in == NULL || !sbx_gw_in_stream_claim(in, &error) ||
		    !g_unix_open_pipe(fds, FD_CLOEXEC, &error)) {
			if (error == NULL)
				g_set_error_literal(&error, G_IO_ERROR,
						    G_IO_ERROR_TOO_MANY_OPEN_FILES,
						    "too many streams on this socket");
			fetch_fail(f, error);
			return;
		}
		sbx_gw_in_stream_set_sink(in, fds[1]);
		f->body = g_unix_input_stream_new(fds[0], TRUE);
	}
	if (abort_id >= 0) {
		GHashTable *aborts = aborts_of(f->conn);
		if (g_hash_table_contains(aborts, &abort_id)) {
			fetch_fail_literal(f, "TypeError", "EINVAL", "abortId is in use");
			return;
		}
		f->abort_id = abort_id;
		g_hash_table_insert(aborts, g_memdup2(&abort_id, sizeof(abort_id)), f->cancellable);
	}
	/* private: only the gateway's user reaches the sockets libsoup connects to */
	f->socket_dir = g_dir_make_tmp("sbx-gw-fetch-XXXXXX", &error);
	if (f->socket_dir == NULL) {
		fetch_fail(f, error);
		return;
	}
	fetch_hop(f);
}

void
sbx_gw_fetch_abort(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	gint64 abort_id = -1;
	GCancellable *cancellable;

	if (!sbx_gw_rpc_get_int(call->params, "abortId", TRUE, &abort_id, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	cancellable = g_hash_table_lookup(aborts_of(call->conn), &abort_id);
	if (cancellable != NULL)
		g_cancellable_cancel(cancellable);
	sbx_gw_call_return(call, NULL);
}
