/* routes, authentication and the WebSocket upgrade of create and connect.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "sbx-gw-conn.h"
#include "sbx-gw-create.h"
#include "sbx-gw-error.h"
#include "sbx-gw-expose.h"
#include "sbx-gw-id.h"
#include "sbx-gw-metrics.h"
#include "sbx-gw-rest.h"
#include "sbx-gw-server.h"
#ifdef SBX_GW_HAVE_SSH
#include "sbx-gw-ssh.h"
#endif
#include "sbx-gw-volumes.h"

#define SBX_GW_BUS_NAME "org.sandboxd"
#define SBX_GW_MANAGER_PATH "/org/sandboxd/Manager1"
/* REST bodies are small; the big data goes over the socket */
#define SBX_GW_MAX_REST_BODY (1024 * 1024)

guint64
sbx_gw_server_next_stream_id(SbxGwServer *server)
{
	return server->next_stream_id++;
}

gchar *
sbx_gw_server_resolve_path(SbxGwServer *server, const gchar *path)
{
	if (g_path_is_absolute(path))
		return g_strdup(path);
	return g_build_filename(server->config->work_dir, path, NULL);
}

void
sbx_gw_server_reply_json(SoupServerMessage *msg, guint status, JsonNode *body)
{
	g_autoptr(JsonGenerator) gen = json_generator_new();
	gsize len = 0;
	gchar *text;

	json_generator_set_root(gen, body);
	text = json_generator_to_data(gen, &len);
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text, len);
}

void
sbx_gw_server_reply_error(SoupServerMessage *msg, guint status, const gchar *code,
			  const gchar *message)
{
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	g_autoptr(JsonNode) node = NULL;

	sbx_gw_metrics_count_error(code);
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "code");
	json_builder_add_string_value(b, code);
	json_builder_set_member_name(b, "message");
	json_builder_add_string_value(b, message);
	json_builder_end_object(b);
	node = json_builder_get_root(b);
	sbx_gw_server_reply_json(msg, status, node);
}

void
sbx_gw_server_reply_gerror(SoupServerMessage *msg, const GError *error)
{
	g_autoptr(GError) copy = g_error_copy(error);
	const gchar *code = NULL;
	guint status = sbx_gw_error_http_status(error, &code);

	g_dbus_error_strip_remote_error(copy);
	if (status == SOUP_STATUS_NOT_FOUND)
		code = "SANDBOX_NOT_FOUND";
	sbx_gw_server_reply_error(msg, status, code, copy->message);
}

/* --- authentication --- */

const gchar *
sbx_gw_server_get_token(SoupServerMessage *msg)
{
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
	const gchar *auth = soup_message_headers_get_one(headers, "Authorization");

	if (auth == NULL || !g_str_has_prefix(auth, "Bearer ") || strlen(auth) <= 7 ||
	    strlen(auth) > 512 || !g_utf8_validate(auth, -1, NULL))
		return NULL;
	return auth + 7;
}

/* the token's shape only: sandboxd says whose it is, or that it is bad, on
 * each call that acts for a tenant */
static gboolean
authenticate(SbxGwServer *server, SoupServerMessage *msg)
{
	if (sbx_gw_server_get_token(msg) == NULL) {
		sbx_gw_server_reply_error(msg, SOUP_STATUS_UNAUTHORIZED, "INVALID_TOKEN",
					  "a valid access token is required");
		return FALSE;
	}
	return TRUE;
}

/* the token's request rate: 429 with Retry-After, which the SDK reports with
 * the status (ApiError, ConnectionEstablishmentError) */
static gboolean
admit(SbxGwServer *server, SoupServerMessage *msg)
{
	guint retry_after = 0;
	g_autofree gchar *seconds = NULL;

	if (sbx_gw_limits_admit(server->limits, sbx_gw_server_get_token(msg),
				g_get_monotonic_time(), &retry_after))
		return TRUE;
	seconds = g_strdup_printf("%u", retry_after);
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Retry-After",
				     seconds);
	sbx_gw_server_reply_error(msg, 429 /* Too Many Requests */, "TOO_MANY_REQUESTS",
				  "too many requests with this token ([gateway] "
				  "RequestsPerSecond); try again later");
	return FALSE;
}

/* --- routes --- */

static void
reply_not_supported(SoupServerMessage *msg, const gchar *what)
{
	g_autofree gchar *message =
	    g_strdup_printf("%s is not supported by this server (sandboxd-gateway)", what);
	sbx_gw_server_reply_error(msg, SOUP_STATUS_NOT_IMPLEMENTED, "NOT_SUPPORTED", message);
}

static void
route(SbxGwServer *server, SoupServerMessage *msg, const gchar *path, GHashTable *query,
      const gchar *trace_id)
{
	const gchar *method = soup_server_message_get_method(msg);
	g_auto(GStrv) parts = g_strsplit(path, "/", 0);
	guint n = g_strv_length(parts);

	/* parts[0] is "" (the path starts with /) */
	if (n == 5 && g_str_equal(parts[1], "api") && g_str_equal(parts[2], "v3") &&
	    g_str_equal(parts[3], "sandboxes") && g_str_equal(parts[4], "create")) {
		sbx_gw_create_upgrade(server, msg, NULL, trace_id);
	} else if (n >= 5 && g_str_equal(parts[1], "api") && g_str_equal(parts[2], "v3") &&
		   g_str_equal(parts[3], "sandbox")) {
		const gchar *id = parts[4];
		if (n == 6 && g_str_equal(parts[5], "connect"))
			sbx_gw_create_upgrade(server, msg, id, trace_id);
		else if (n == 5 && g_str_equal(method, "DELETE"))
			sbx_gw_rest_kill(server, msg, id);
		else if (n == 5 && g_str_equal(method, "PATCH"))
			sbx_gw_rest_extend(server, msg, id);
		else if (n == 7 && g_str_equal(parts[5], "expose") && g_str_equal(parts[6], "http"))
			sbx_gw_expose_reserve(server, msg, id);
#ifdef SBX_GW_HAVE_SSH
		else if (n == 7 && g_str_equal(parts[5], "expose") &&
			 g_str_equal(parts[6], "ssh") && g_str_equal(method, "POST") &&
			 server->ssh != NULL)
			sbx_gw_ssh_expose(server->ssh, msg, id);
#endif
		else if (n == 7 && g_str_equal(parts[5], "expose"))
			reply_not_supported(msg, "expose");
		else
			sbx_gw_server_reply_error(msg, SOUP_STATUS_NOT_FOUND, "NOT_FOUND",
						  "no such route");
	} else if (n == 4 && g_str_equal(parts[1], "api") && g_str_equal(parts[2], "v2") &&
		   g_str_equal(parts[3], "sandboxes") && g_str_equal(method, "GET")) {
		sbx_gw_rest_list_sandboxes(server, msg, query);
	} else if (n >= 4 && n <= 6 && g_str_equal(parts[1], "api") &&
		   g_str_equal(parts[2], "v2") &&
		   (g_str_equal(parts[3], "volumes") || g_str_equal(parts[3], "snapshots"))) {
		sbx_gw_volumes_route(server, msg, (const gchar *const *)parts + 3, query);
	} else if (n >= 4 && g_str_equal(parts[1], "api") && g_str_equal(parts[2], "v2")) {
		reply_not_supported(msg, parts[3]);
	} else {
		sbx_gw_server_reply_error(msg, SOUP_STATUS_NOT_FOUND, "NOT_FOUND", "no such route");
	}
}

static void
handle_request(SoupServer *soup, SoupServerMessage *msg, const gchar *path, GHashTable *query,
	       gpointer data)
{
	SbxGwServer *server = data;
	g_autofree gchar *trace_id = g_strdup_printf("%08x%08x", g_random_int(), g_random_int());

	soup_message_headers_replace(soup_server_message_get_response_headers(msg),
				     "x-deno-trace-id", trace_id);
	g_debug("request %s %s trace=%s", soup_server_message_get_method(msg), path, trace_id);
	sbx_gw_metrics_log_request(msg, trace_id);
	/* aggregate figures only, no tenant's data: no token needed (keep the
	 * listener private, or filter /metrics in front of it) */
	if (g_str_equal(path, "/metrics") &&
	    g_str_equal(soup_server_message_get_method(msg), "GET")) {
		sbx_gw_metrics_serve(server, msg);
		return;
	}
	/* exposed services are public: their unguessable label is the key */
	if (sbx_gw_expose_handle(server, msg, path))
		return;
	if (!authenticate(server, msg) || !admit(server, msg))
		return;
	route(server, msg, path, query, trace_id);
}

/* refuse big or unbounded REST bodies before libsoup reads them */
static void
check_body_size(SoupServer *soup, SoupServerMessage *msg, const gchar *path, GHashTable *query,
		gpointer data)
{
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
	goffset length = soup_message_headers_get_content_length(headers);

	if (soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CHUNKED ||
	    length > SBX_GW_MAX_REST_BODY)
		sbx_gw_server_reply_error(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
					  "BODY_TOO_LARGE", "request bodies are at most 1 MiB");
}

static void
on_sandbox_removed(GDBusConnection *bus, const gchar *sender, const gchar *path, const gchar *iface,
		   const gchar *signal, GVariant *params, gpointer data)
{
	SbxGwServer *server = data;
	const gchar *id = NULL;
	const gchar *reason = NULL;
	SbxGwSandbox *sandbox;

	if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(ss)")))
		return;
	g_variant_get(params, "(&s&s)", &id, &reason);
	sbx_gw_limits_sandbox_gone(server->limits, id);
	sbx_gw_expose_sandbox_gone(server, id);
#ifdef SBX_GW_HAVE_SSH
	if (server->ssh != NULL)
		sbx_gw_ssh_revoke(server->ssh, id);
#endif
	sandbox = g_hash_table_lookup(server->sandboxes, id);
	if (sandbox != NULL)
		sbx_gw_sandbox_gone(sandbox, reason);
}

SbxGwServer *
sbx_gw_server_new(SbxGwConfig *config, GDBusConnection *bus, GError **error)
{
	g_autoptr(SbxGwServer) server = g_new0(SbxGwServer, 1);

	server->config = config;
	server->bus = g_object_ref(bus);
	server->sandboxes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
	server->limits = sbx_gw_limits_new(config->requests_per_second, config->request_burst,
					   config->max_sandboxes_per_token);
	server->exposes = sbx_gw_expose_table_new();
	server->manager = sbx_dbus_manager1_proxy_new_sync(
	    bus, G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES | G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
	    SBX_GW_BUS_NAME, SBX_GW_MANAGER_PATH, NULL, error);
	if (server->manager == NULL)
		return NULL;
	/* creates boot a VM: no D-Bus timeout, the client decides how long to wait */
	g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(server->manager), G_MAXINT);
	server->removed_subscription = g_dbus_connection_signal_subscribe(
	    bus, SBX_GW_BUS_NAME, "org.sandboxd.Manager1", "SandboxRemoved", SBX_GW_MANAGER_PATH,
	    NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_sandbox_removed, server, NULL);
	server->soup = soup_server_new("server-header", "sandboxd-gateway/" PACKAGE_VERSION, NULL);
	soup_server_add_early_handler(server->soup, NULL, check_body_size, server, NULL);
	soup_server_add_handler(server->soup, NULL, handle_request, server, NULL);
	return g_steal_pointer(&server);
}

gboolean
sbx_gw_server_listen(SbxGwServer *server, GError **error)
{
	g_autoptr(GInetSocketAddress) address = NULL;
	SoupServerListenOptions options = 0;

	if (!sbx_gw_config_check_listen(server->config, &address, error))
		return FALSE;
	if (server->config->tls_certificate != NULL) {
		g_autoptr(GTlsCertificate) cert = g_tls_certificate_new_from_files(
		    server->config->tls_certificate, server->config->tls_key, error);
		if (cert == NULL)
			return FALSE;
		soup_server_set_tls_certificate(server->soup, cert);
		options |= SOUP_SERVER_LISTEN_HTTPS;
	}
	if (!soup_server_listen(server->soup, G_SOCKET_ADDRESS(address), options, error))
		return FALSE;
	g_message("listening on %s://%s", options & SOUP_SERVER_LISTEN_HTTPS ? "https" : "http",
		  server->config->listen);
	if (server->config->ssh_listen == NULL)
		return TRUE;
#ifdef SBX_GW_HAVE_SSH
	server->ssh = sbx_gw_ssh_new(server, error);
	return server->ssh != NULL;
#else
	g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "[gateway] SSHListen: this sandboxd-gateway was built without SSH "
			    "(libssh-dev, meson -Dssh=enabled)");
	return FALSE;
#endif
}

void
sbx_gw_server_free(SbxGwServer *server)
{
	if (server->removed_subscription != 0)
		g_dbus_connection_signal_unsubscribe(server->bus, server->removed_subscription);
#ifdef SBX_GW_HAVE_SSH
	g_clear_pointer(&server->ssh, sbx_gw_ssh_free);
#endif
	if (server->soup != NULL)
		soup_server_disconnect(server->soup);
	g_clear_object(&server->soup);
	g_clear_pointer(&server->sandboxes, g_hash_table_unref);
	g_clear_pointer(&server->limits, sbx_gw_limits_free);
	g_clear_pointer(&server->exposes, g_hash_table_unref);
	g_clear_object(&server->manager);
	g_clear_object(&server->bus);
	g_free(server);
}
