/* create and connect: answer the upgrade only once the sandbox runs.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "sbx-gw-conn.h"
#include "sbx-gw-create.h"
#include "sbx-gw-metrics.h"
#include "sbx-gw-rest.h"
#include "sbx-gw-rpc.h"
#include "sbx-gw-sandbox-config.h"

#define SBX_GW_BUS_NAME "org.sandboxd"

typedef struct {
	SbxGwServer *server;
	SoupServerMessage *msg;
	GSocket *socket;
	gchar *trace_id;
	gboolean create;
	gboolean disconnected;
	gint64 started_us;
	SbxGwSandbox *sandbox;
	gchar *reserved_for; /* the token whose place (MaxSandboxesPerToken) this create holds */
} SbxGwUpgrade;

static void
upgrade_free(SbxGwUpgrade *up)
{
	g_signal_handlers_disconnect_by_data(up->msg, up);
	g_object_unref(up->msg);
	g_clear_object(&up->socket);
	g_clear_object(&up->sandbox);
	if (up->reserved_for != NULL)
		sbx_gw_limits_release(up->server->limits, up->reserved_for);
	g_free(up->reserved_for);
	g_free(up->trace_id);
	g_free(up);
}

static void
complete_upgrade(SoupServerMessage *msg, gpointer data)
{
	SbxGwUpgrade *up = data;
	g_autoptr(GIOStream) stream = NULL;
	g_autoptr(SbxGwValve) valve = NULL;
	g_autoptr(SoupWebsocketConnection) ws = NULL;
	g_autoptr(SbxGwConn) conn = NULL;
	SoupMessageHeaders *req = soup_server_message_get_request_headers(msg);

	stream = soup_server_message_steal_connection(msg);
	/* libsoup reads a WebSocket without pause: the valve lets uploads slow the client */
	valve = sbx_gw_valve_new(stream);
	ws = soup_websocket_connection_new(G_IO_STREAM(valve), soup_server_message_get_uri(msg),
					   SOUP_WEBSOCKET_CONNECTION_SERVER,
					   soup_message_headers_get_one(req, "Origin"), NULL, NULL);
	conn = sbx_gw_conn_new(up->server, up->sandbox, ws, valve, up->socket, up->trace_id);
	conn->tenant = sbx_gw_metrics_tenant_tag(sbx_gw_server_get_token(msg));
	if (up->create)
		up->sandbox->creator = conn;
	/* the upgrade's own request line: its message ends with the socket */
	g_message("request tenant=%s sandbox=%s method=%s path=%s status=101 duration_ms=%.1f "
		  "outcome=%s trace=%s",
		  conn->tenant, up->sandbox->sdk_id, soup_server_message_get_method(msg),
		  g_uri_get_path(soup_server_message_get_uri(msg)),
		  (gdouble)(g_get_monotonic_time() - up->started_us) / 1000.0,
		  up->create ? "created" : "connected", up->trace_id);
	upgrade_free(up);
}

static void
on_disconnected(SoupServerMessage *msg, gpointer data)
{
	SbxGwUpgrade *up = data;
	up->disconnected = TRUE;
}

static void
on_killed(GObject *source, GAsyncResult *res, gpointer data)
{
	sbx_dbus_sandbox1_call_kill_finish(SBX_DBUS_SANDBOX1(source), res, NULL);
}

static void
fail_upgrade(SbxGwUpgrade *up, const GError *error)
{
	g_message("upgrade failed trace=%s: %s", up->trace_id, error->message);
	if (up->create)
		sbx_gw_metrics_observe_create(0, FALSE);
	sbx_gw_server_reply_gerror(up->msg, error);
	soup_server_message_unpause(up->msg);
	upgrade_free(up);
}

static void
finish_upgrade(SbxGwUpgrade *up, SbxDBusSandbox1 *proxy)
{
	SoupMessageHeaders *headers = soup_server_message_get_response_headers(up->msg);

	if (up->disconnected) {
		/* nobody to hand the new sandbox to */
		if (up->create && sbx_dbus_sandbox1_get_expires_at(proxy) == 0)
			sbx_dbus_sandbox1_call_kill(proxy, NULL, on_killed, NULL);
		upgrade_free(up);
		return;
	}
	up->sandbox = sbx_gw_sandbox_get(up->server, proxy);
	if (up->sandbox->sdk_id == NULL || up->sandbox->gone) {
		g_autoptr(GError) error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
							      "the sandbox is not running");
		fail_upgrade(up, error);
		return;
	}
	if (up->create)
		sbx_gw_metrics_observe_create(
		    (gdouble)(g_get_monotonic_time() - up->started_us) / G_USEC_PER_SEC, TRUE);
	soup_websocket_server_process_handshake(up->msg, NULL, NULL, NULL, NULL);
	soup_message_headers_replace(headers, "x-deno-sandbox-id", up->sandbox->sdk_id);
	g_signal_connect(up->msg, "wrote-informational", G_CALLBACK(complete_upgrade), up);
	soup_server_message_unpause(up->msg);
}

static void
proxy_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwUpgrade *up = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxDBusSandbox1) proxy = NULL;

	if (up->create)
		proxy = sbx_dbus_sandbox1_proxy_new_finish(res, &error);
	else
		proxy = sbx_gw_rest_lookup_sandbox_finish(res, &error);
	if (proxy == NULL) {
		fail_upgrade(up, error);
		return;
	}
	g_dbus_proxy_set_default_timeout(G_DBUS_PROXY(proxy), G_MAXINT);
	finish_upgrade(up, proxy);
}

static void
create_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwUpgrade *up = data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;

	if (!sbx_dbus_manager1_call_create_sandbox_finish(SBX_DBUS_MANAGER1(source), &path, res,
							  &error)) {
		fail_upgrade(up, error);
		return;
	}
	/* from now on the sandbox holds the place until sandboxd removes it */
	sbx_gw_limits_bind(up->server->limits, up->reserved_for, strrchr(path, '/') + 1);
	g_clear_pointer(&up->reserved_for, g_free);
	sbx_dbus_sandbox1_proxy_new(up->server->bus, G_DBUS_PROXY_FLAGS_NONE, SBX_GW_BUS_NAME, path,
				    NULL, proxy_ready, up);
}

/* sandboxd makes the token's owner the owner (it alone reads the token) */
static GVariant *
options_with_token(GVariant *options, const gchar *token)
{
	g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	GVariantIter iter;
	const gchar *key;
	GVariant *value;

	g_variant_iter_init(&iter, options);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
		if (!g_str_equal(key, "tenant-token"))
			g_variant_builder_add(&builder, "{sv}", key, value);
		g_variant_unref(value);
	}
	g_variant_builder_add(&builder, "{sv}", "tenant-token", g_variant_new_string(token));
	return g_variant_ref_sink(g_variant_builder_end(&builder));
}

void
sbx_gw_create_upgrade(SbxGwServer *server, SoupServerMessage *msg, const gchar *sdk_id,
		      const gchar *trace_id)
{
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) options = NULL;
	g_autoptr(GVariant) with_token = NULL;
	SbxGwUpgrade *up;

	if (!soup_websocket_server_check_handshake(msg, NULL, NULL, NULL, &error)) {
		sbx_gw_server_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "BAD_HANDSHAKE",
					  error->message);
		return;
	}
	if (sdk_id == NULL) {
		options = sbx_gw_sandbox_config_parse(
		    soup_message_headers_get_one(headers, "x-deno-sandbox-config"),
		    server->config->image, g_get_real_time() / 1000, &error);
		if (options == NULL) {
			sbx_gw_server_reply_error(msg, SOUP_STATUS_BAD_REQUEST, "INVALID_CONFIG",
						  error->message);
			return;
		}
		if (!sbx_gw_limits_reserve(server->limits, sbx_gw_server_get_token(msg), &error)) {
			sbx_gw_server_reply_gerror(msg, error);
			return;
		}
		with_token = options_with_token(options, sbx_gw_server_get_token(msg));
	}
	up = g_new0(SbxGwUpgrade, 1);
	up->server = server;
	up->msg = g_object_ref(msg);
	up->socket = g_object_ref(soup_server_message_get_socket(msg));
	up->trace_id = g_strdup(trace_id);
	up->create = sdk_id == NULL;
	if (up->create)
		up->reserved_for = g_strdup(sbx_gw_server_get_token(msg));
	up->started_us = g_get_monotonic_time();
	g_signal_connect(msg, "disconnected", G_CALLBACK(on_disconnected), up);
	soup_server_message_pause(msg);
	if (up->create)
		sbx_dbus_manager1_call_create_sandbox(server->manager, with_token, NULL,
						      create_ready, up);
	else
		sbx_gw_rest_lookup_sandbox(server, sdk_id, sbx_gw_server_get_token(msg),
					   proxy_ready, up);
}
