/* exposeHttp: a public URL that reaches a port inside a sandbox.
 *
 * POST /api/v3/sandbox/<id>/expose/http reserves an unguessable label (128
 * random bits) for that SDK id; the exposeHttp call on the sandbox's own
 * authenticated socket then binds it to a guest port. Requests whose Host
 * is <label>.<ExposeBaseDomain>, or whose path is /expose/<label>/..., are
 * relayed to a connection made from inside the sandbox (Sandbox1.ConnectTcp
 * to 127.0.0.1:port): the request head and body (bounded like every request
 * body) are written out again with "Connection: close", then libsoup hands
 * the client's connection over and bytes flow both ways until the guest
 * closes. So responses of any size are streamed with one bounded buffer
 * per direction, and a WebSocket (or any other) upgrade is relayed as it
 * is. One request per client connection. A label dies with its sandbox.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/random.h>

#include "sbx-gw-call.h"
#include "sbx-gw-expose.h"
#include "sbx-gw-relay.h"
#include "sbx-gw-rest.h"
#include "sbx-gw-tcp.h"

#define SBX_GW_EXPOSE_LABEL_LEN 26 /* 128 bits in base32 */
#define SBX_GW_EXPOSE_RESERVED_US (120 * G_USEC_PER_SEC)
#define SBX_GW_EXPOSE_MAX 4096 /* labels, reserved or bound, gateway-wide */
#define SBX_GW_EXPOSE_MAX_PER_SANDBOX 32
#define SBX_GW_EXPOSE_MAX_PATH 8192

typedef struct {
	gchar *label;
	gchar *sdk_id;		/* whose reservation it is */
	gint64 reserved_until;	/* monotonic µs, while not bound */
	SbxDBusSandbox1 *proxy; /* NULL until bound */
	gchar *sbx_id;		/* sandboxd's id, once bound */
	guint16 port;
} SbxGwExpose;

static void
expose_free(gpointer data)
{
	SbxGwExpose *e = data;
	g_clear_object(&e->proxy);
	g_free(e->label);
	g_free(e->sdk_id);
	g_free(e->sbx_id);
	g_free(e);
}

GHashTable *
sbx_gw_expose_table_new(void)
{
	return g_hash_table_new_full(g_str_hash, g_str_equal, NULL, expose_free);
}

/* the label is the only secret of a public URL: the kernel's randomness */
static gchar *
new_label(void)
{
	static const gchar alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	guint8 bytes[16];
	GString *s;
	guint bits = 0, acc = 0;

	if (getrandom(bytes, sizeof(bytes), 0) != (gssize)sizeof(bytes))
		return NULL;
	s = g_string_sized_new(SBX_GW_EXPOSE_LABEL_LEN);
	for (guint i = 0; i < sizeof(bytes); i++) {
		acc = ((acc << 8) | bytes[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			g_string_append_c(s, alphabet[(acc >> (bits - 5)) & 31]);
			bits -= 5;
		}
	}
	if (bits > 0)
		g_string_append_c(s, alphabet[(acc << (5 - bits)) & 31]);
	return g_string_free(s, FALSE);
}

static gboolean
label_is_valid(const gchar *label, gsize len)
{
	if (len != SBX_GW_EXPOSE_LABEL_LEN)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_islower(label[i]) && !(label[i] >= '2' && label[i] <= '7'))
			return FALSE;
	}
	return TRUE;
}

/* drops reservations nobody bound in time */
static void
expire_reservations(SbxGwServer *server)
{
	GHashTableIter iter;
	SbxGwExpose *e;
	gint64 now = g_get_monotonic_time();

	g_hash_table_iter_init(&iter, server->exposes);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&e)) {
		if (e->proxy == NULL && e->reserved_until < now)
			g_hash_table_iter_remove(&iter);
	}
}

static guint
count_for_sandbox(SbxGwServer *server, const gchar *sdk_id)
{
	GHashTableIter iter;
	SbxGwExpose *e;
	guint n = 0;

	g_hash_table_iter_init(&iter, server->exposes);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&e)) {
		if (g_str_equal(e->sdk_id, sdk_id))
			n++;
	}
	return n;
}

/* the host part of a Host header or of ExposeBaseDomain, lower case */
static gchar *
host_part(const gchar *host)
{
	const gchar *colon = strrchr(host, ':');
	gsize len =
	    colon != NULL && strchr(host, ']') == NULL ? (gsize)(colon - host) : strlen(host);
	return g_ascii_strdown(host, (gssize)len);
}

typedef struct {
	SbxGwServer *server;
	SoupServerMessage *msg;
	gchar *sdk_id;
} SbxGwReserve;

static void
reserve_free(SbxGwReserve *r)
{
	g_object_unref(r->msg);
	g_free(r->sdk_id);
	g_free(r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxGwReserve, reserve_free)

/* a label for @sdk_id, answered as {"domain": ...} */
static void
reserve_label(SbxGwServer *server, SoupServerMessage *msg, const gchar *sdk_id)
{
	const gchar *base = server->config->expose_base_domain;
	const gchar *host =
	    soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Host");
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	g_autoptr(JsonNode) node = NULL;
	g_autofree gchar *domain = NULL;
	g_autofree gchar *label = NULL;
	SbxGwExpose *e;

	expire_reservations(server);
	if (g_hash_table_size(server->exposes) >= SBX_GW_EXPOSE_MAX ||
	    count_for_sandbox(server, sdk_id) >= SBX_GW_EXPOSE_MAX_PER_SANDBOX) {
		sbx_gw_server_reply_error(msg, 429, "LIMIT_EXCEEDED", "too many exposed services");
		return;
	}
	label = new_label();
	if (label == NULL) {
		sbx_gw_server_reply_error(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "INTERNAL",
					  "no randomness for a label");
		return;
	}
	e = g_new0(SbxGwExpose, 1);
	e->label = g_steal_pointer(&label);
	e->sdk_id = g_strdup(sdk_id);
	e->reserved_until = g_get_monotonic_time() + SBX_GW_EXPOSE_RESERVED_US;
	g_hash_table_insert(server->exposes, e->label, e);
	/* the SDK makes https://<domain> of it */
	if (base != NULL)
		domain = g_strdup_printf("%s.%s", e->label, base);
	else
		domain = g_strdup_printf("%s/expose/%s", host, e->label);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "domain");
	json_builder_add_string_value(b, domain);
	json_builder_end_object(b);
	node = json_builder_get_root(b);
	sbx_gw_server_reply_json(msg, SOUP_STATUS_OK, node);
}

static void
on_reserve_lookup(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(SbxGwReserve) r = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxDBusSandbox1) proxy = sbx_gw_rest_lookup_sandbox_finish(res, &error);

	if (proxy == NULL)
		sbx_gw_server_reply_gerror(r->msg, error);
	else
		reserve_label(r->server, r->msg, r->sdk_id);
	soup_server_message_unpause(r->msg);
}

void
sbx_gw_expose_reserve(SbxGwServer *server, SoupServerMessage *msg, const gchar *sdk_id)
{
	const gchar *host =
	    soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Host");
	SbxGwReserve *r;

	if (!g_str_equal(soup_server_message_get_method(msg), "POST")) {
		sbx_gw_server_reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "NOT_FOUND",
					  "expose takes POST");
		return;
	}
	if (server->config->expose_base_domain == NULL &&
	    (host == NULL || host[0] == '\0' || strlen(host) > 255 ||
	     strpbrk(host, "/?#@ \t") != NULL)) {
		sbx_gw_server_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "INVALID_ARGUMENT",
					  "no Host header to build the exposed URL from");
		return;
	}
	/* only the token's owner reserves for a sandbox: as for kill, sandboxd decides */
	r = g_new0(SbxGwReserve, 1);
	r->server = server;
	r->msg = g_object_ref(msg);
	r->sdk_id = g_strdup(sdk_id);
	soup_server_message_pause(msg);
	sbx_gw_rest_lookup_sandbox(server, sdk_id, sbx_gw_server_get_token(msg), on_reserve_lookup,
				   r);
}

/* the label in a domain the reservation answered */
static gchar *
label_of_domain(const gchar *domain)
{
	const gchar *slash = strstr(domain, "/expose/");
	const gchar *dot = strchr(domain, '.');
	if (slash != NULL && label_is_valid(slash + 8, strlen(slash + 8)))
		return g_strdup(slash + 8);
	if (dot != NULL && label_is_valid(domain, (gsize)(dot - domain)))
		return g_strndup(domain, (gsize)(dot - domain));
	return NULL;
}

void
sbx_gw_expose_http(SbxGwCall *call)
{
	SbxGwServer *server = call->conn->server;
	SbxGwSandbox *sandbox = call->conn->sandbox;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *label = NULL;
	const gchar *domain = NULL;
	gint64 port = 0;
	SbxGwExpose *e;

	if (json_object_has_member(call->params, "pid")) {
		sbx_gw_call_return_literal(call, "NotSupported", "ENOTSUP",
					   "exposing a JavaScript runtime (pid) is not supported "
					   "by this server (sandboxd-gateway): expose a port");
		return;
	}
	if (!sbx_gw_rpc_get_string(call->params, "domain", TRUE, &domain, &error) ||
	    !sbx_gw_rpc_get_int(call->params, "port", TRUE, &port, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if (port < 1 || port > 65535) {
		sbx_gw_call_return_literal(call, "TypeError", "EINVAL", "port must be 1-65535");
		return;
	}
	label = label_of_domain(domain);
	e = label != NULL ? g_hash_table_lookup(server->exposes, label) : NULL;
	/* only the sandbox it was reserved for may bind it, once */
	if (e == NULL || e->proxy != NULL || !g_str_equal(e->sdk_id, sandbox->sdk_id) ||
	    sandbox->gone) {
		sbx_gw_call_return_literal(call, "NotFound", "ENOENT",
					   "unknown domain: reserve one with POST .../expose/http");
		return;
	}
	e->proxy = g_object_ref(sandbox->proxy);
	e->sbx_id = g_strdup(sandbox->sbx_id);
	e->port = (guint16)port;
	g_message("expose sandbox=%s port=%u label=%.6s...", sandbox->sdk_id, e->port, e->label);
	sbx_gw_call_return(call, NULL);
}

void
sbx_gw_expose_sandbox_gone(SbxGwServer *server, const gchar *sbx_id)
{
	GHashTableIter iter;
	SbxGwExpose *e;

	g_hash_table_iter_init(&iter, server->exposes);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&e)) {
		if (g_strcmp0(e->sbx_id, sbx_id) == 0)
			g_hash_table_iter_remove(&iter);
	}
}

/* --- the reverse proxy --- */

typedef struct {
	SbxGwServer *server;
	SoupServerMessage *msg;
	gchar *label;
	gchar *path; /* what the guest server sees */
	gboolean upgrade;
	gboolean disconnected; /* the client left while the sandbox connected */
} SbxGwProxied;

static void
proxied_free(SbxGwProxied *p)
{
	g_signal_handlers_disconnect_by_data(p->msg, p);
	g_clear_object(&p->msg);
	g_free(p->label);
	g_free(p->path);
	g_free(p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxGwProxied, proxied_free)

/* hop-by-hop headers, and what we set ourselves */
static gboolean
header_is_ours(const gchar *name)
{
	static const gchar *const dropped[] = {"connection",
					       "keep-alive",
					       "proxy-connection",
					       "proxy-authorization",
					       "te",
					       "trailer",
					       "expect",
					       "transfer-encoding",
					       "x-forwarded-for",
					       "x-forwarded-proto",
					       "x-forwarded-host",
					       NULL};
	for (guint i = 0; dropped[i] != NULL; i++) {
		if (g_ascii_strcasecmp(name, dropped[i]) == 0)
			return TRUE;
	}
	return FALSE;
}

static GBytes *
build_head(SbxGwProxied *p)
{
	SoupServerMessage *msg = p->msg;
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	GUri *uri = soup_server_message_get_uri(msg);
	GSocketAddress *remote = soup_server_message_get_remote_address(msg);
	g_autoptr(GBytes) flat = soup_message_body_flatten(body);
	GString *head = g_string_new(NULL);
	SoupMessageHeadersIter iter;
	const gchar *name, *value;
	g_autofree gchar *client = NULL;
	const gchar *host = soup_message_headers_get_one(headers, "Host");

	g_string_append_printf(head, "%s %s%s%s HTTP/1.1\r\n", soup_server_message_get_method(msg),
			       p->path, g_uri_get_query(uri) != NULL ? "?" : "",
			       g_uri_get_query(uri) != NULL ? g_uri_get_query(uri) : "");
	soup_message_headers_iter_init(&iter, headers);
	while (soup_message_headers_iter_next(&iter, &name, &value)) {
		if (header_is_ours(name) || strpbrk(value, "\r\n") != NULL)
			continue;
		if (g_ascii_strcasecmp(name, "content-length") == 0)
			continue;
		g_string_append_printf(head, "%s: %s\r\n", name, value);
	}
	if (G_IS_INET_SOCKET_ADDRESS(remote)) {
		client = g_inet_address_to_string(
		    g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote)));
		g_string_append_printf(head, "X-Forwarded-For: %s\r\n", client);
	}
	g_string_append_printf(head, "X-Forwarded-Proto: %s\r\n",
			       g_str_equal(g_uri_get_scheme(uri), "https") ? "https" : "http");
	if (host != NULL && strpbrk(host, "\r\n") == NULL)
		g_string_append_printf(head, "X-Forwarded-Host: %s\r\n", host);
	if (p->upgrade)
		g_string_append(head, "Connection: Upgrade\r\n");
	else
		g_string_append(head, "Connection: close\r\n");
	if (g_bytes_get_size(flat) > 0 || soup_message_headers_get_content_length(headers) > 0 ||
	    !p->upgrade)
		g_string_append_printf(head, "Content-Length: %" G_GSIZE_FORMAT "\r\n",
				       g_bytes_get_size(flat));
	g_string_append(head, "\r\n");
	g_string_append_len(head, g_bytes_get_data(flat, NULL), (gssize)g_bytes_get_size(flat));
	return g_string_free_to_bytes(head);
}

static void
on_relay_done(gpointer data)
{
	g_debug("expose: a proxied connection ended");
}

static void
reply_text(SoupServerMessage *msg, guint status, const gchar *text)
{
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text,
					 strlen(text));
}

static void
on_connected(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(SbxGwProxied) p = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GIOStream) upstream =
	    sbx_gw_tcp_connect_finish(SBX_DBUS_SANDBOX1(source), res, &error);
	g_autoptr(GIOStream) client = NULL;
	g_autoptr(GBytes) head = NULL;

	if (upstream == NULL && p->disconnected)
		return;
	if (upstream == NULL) {
		g_autofree gchar *remote = g_dbus_error_get_remote_error(error);
		g_dbus_error_strip_remote_error(error);
		g_debug("expose %.6s...: %s", p->label, error->message);
		/* the sandbox is gone: so is its URL */
		if (g_strcmp0(remote, "org.sandboxd.Error.SandboxGone") == 0 ||
		    g_strcmp0(remote, "org.sandboxd.Error.NotRunning") == 0 ||
		    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD) ||
		    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT)) {
			g_hash_table_remove(p->server->exposes, p->label);
			reply_text(p->msg, SOUP_STATUS_NOT_FOUND, "no such exposed service\n");
		} else {
			g_autofree gchar *text = g_strdup_printf(
			    "the service in the sandbox does not answer: %s\n", error->message);
			reply_text(p->msg, SOUP_STATUS_BAD_GATEWAY, text);
		}
		soup_server_message_unpause(p->msg);
		return;
	}
	if (p->disconnected) {
		g_io_stream_close(upstream, NULL, NULL);
		return;
	}
	head = build_head(p);
	client = soup_server_message_steal_connection(p->msg);
	sbx_gw_relay_start(client, upstream, head, NULL,
			   (guint)p->server->config->expose_idle_timeout_s, on_relay_done, NULL);
}

static void
on_disconnected(SoupServerMessage *msg, gpointer data)
{
	SbxGwProxied *p = data;
	p->disconnected = TRUE;
}

/* the label a request is for, and the path the guest sees; FALSE when it
 * is not an exposed-service request */
static gboolean
match(SbxGwServer *server, SoupServerMessage *msg, const gchar *path, gchar **label,
      gchar **guest_path)
{
	const gchar *host =
	    soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Host");
	const gchar *base = server->config->expose_base_domain;

	if (base != NULL && host != NULL) {
		g_autofree gchar *h = host_part(host);
		g_autofree gchar *b = host_part(base);
		gsize hl = strlen(h), bl = strlen(b);
		/* other names under the base domain (the API's own?) are not ours */
		if (hl > bl + 1 && g_str_has_suffix(h, b) && h[hl - bl - 1] == '.' &&
		    label_is_valid(h, hl - bl - 1)) {
			*label = g_strndup(h, hl - bl - 1);
			*guest_path = g_strdup(path);
			return TRUE;
		}
	}
	if (g_str_has_prefix(path, "/expose/")) {
		const gchar *l = path + 8;
		const gchar *rest = strchr(l, '/');
		gsize len = rest != NULL ? (gsize)(rest - l) : strlen(l);
		*label = label_is_valid(l, len) ? g_strndup(l, len) : g_strdup("");
		*guest_path = g_strdup(rest != NULL ? rest : "/");
		return TRUE;
	}
	return FALSE;
}

gboolean
sbx_gw_expose_handle(SbxGwServer *server, SoupServerMessage *msg, const gchar *path)
{
	g_autofree gchar *label = NULL;
	g_autofree gchar *guest_path = NULL;
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
	SbxGwExpose *e;
	SbxGwProxied *p;

	if (!match(server, msg, path, &label, &guest_path))
		return FALSE;
	e = g_hash_table_lookup(server->exposes, label);
	if (e == NULL || e->proxy == NULL) {
		reply_text(msg, SOUP_STATUS_NOT_FOUND, "no such exposed service\n");
		return TRUE;
	}
	if (strlen(guest_path) > SBX_GW_EXPOSE_MAX_PATH) {
		reply_text(msg, SOUP_STATUS_REQUEST_URI_TOO_LONG, "the path is too long\n");
		return TRUE;
	}
	p = g_new0(SbxGwProxied, 1);
	p->server = server;
	p->msg = g_object_ref(msg);
	p->label = g_strdup(label);
	p->path = g_steal_pointer(&guest_path);
	p->upgrade = soup_message_headers_header_contains(headers, "Connection", "upgrade") &&
		     soup_message_headers_get_one(headers, "Upgrade") != NULL;
	g_signal_connect(msg, "disconnected", G_CALLBACK(on_disconnected), p);
	soup_server_message_pause(msg);
	sbx_gw_tcp_connect_async(e->proxy, "127.0.0.1", e->port, NULL, on_connected, p);
	return TRUE;
}
