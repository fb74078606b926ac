/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "sbx-gw-metrics.h"

/* create latency buckets, seconds: TCG boots take seconds, KVM ones less */
static const gdouble create_buckets[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

static struct {
	guint64 create_counts[G_N_ELEMENTS(create_buckets) + 1]; /* the last is +Inf */
	gdouble create_sum;
	guint64 create_failed;
	GHashTable *errors; /* code -> guint64 count (boxed in the pointer) */
	guint64 bytes_out;
	guint64 bytes_in;
} metrics;

void
sbx_gw_metrics_observe_create(gdouble seconds, gboolean ok)
{
	guint i = 0;

	if (!ok) {
		metrics.create_failed++;
		return;
	}
	while (i < G_N_ELEMENTS(create_buckets) && seconds > create_buckets[i])
		i++;
	metrics.create_counts[i]++;
	metrics.create_sum += seconds;
}

void
sbx_gw_metrics_count_error(const gchar *code)
{
	gpointer count;

	if (metrics.errors == NULL)
		metrics.errors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	/* codes come from our own tables; bound them anyway */
	if (code == NULL || g_hash_table_size(metrics.errors) >= 64)
		code = "OTHER";
	count = g_hash_table_lookup(metrics.errors, code);
	g_hash_table_replace(metrics.errors, g_strdup(code),
			     GSIZE_TO_POINTER(GPOINTER_TO_SIZE(count) + 1));
}

void
sbx_gw_metrics_add_bytes(gboolean to_client, guint64 bytes)
{
	if (to_client)
		metrics.bytes_out += bytes;
	else
		metrics.bytes_in += bytes;
}

static gint
compare_keys(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

gchar *
sbx_gw_metrics_render(GVariant *states)
{
	GString *out = g_string_new(NULL);
	static const gchar *const known[] = {"starting", "running", "stopping", "crashed"};
	guint64 cumulative = 0;

	g_string_append(out, "# TYPE sandboxd_sandboxes gauge\n"
			     "# HELP sandboxd_sandboxes Sandboxes of sandboxd by state.\n");
	for (guint i = 0; i < G_N_ELEMENTS(known); i++) {
		guint32 n = 0;
		if (states != NULL)
			g_variant_lookup(states, known[i], "u", &n);
		g_string_append_printf(out, "sandboxd_sandboxes{state=\"%s\"} %u\n", known[i], n);
	}
	g_string_append(out, "# TYPE sandboxd_gateway_create_seconds histogram\n"
			     "# HELP sandboxd_gateway_create_seconds Sandbox.create() until the "
			     "socket is ready.\n");
	for (guint i = 0; i <= G_N_ELEMENTS(create_buckets); i++) {
		cumulative += metrics.create_counts[i];
		if (i < G_N_ELEMENTS(create_buckets))
			g_string_append_printf(
			    out,
			    "sandboxd_gateway_create_seconds_bucket{le=\"%g\"} %" G_GUINT64_FORMAT
			    "\n",
			    create_buckets[i], cumulative);
		else
			g_string_append_printf(
			    out,
			    "sandboxd_gateway_create_seconds_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT
			    "\n",
			    cumulative);
	}
	g_string_append_printf(out, "sandboxd_gateway_create_seconds_sum %.6f\n",
			       metrics.create_sum);
	g_string_append_printf(out, "sandboxd_gateway_create_seconds_count %" G_GUINT64_FORMAT "\n",
			       cumulative);
	g_string_append_printf(out,
			       "# TYPE sandboxd_gateway_create_failures counter\n"
			       "sandboxd_gateway_create_failures_total %" G_GUINT64_FORMAT "\n",
			       metrics.create_failed);
	g_string_append(out, "# TYPE sandboxd_gateway_errors counter\n"
			     "# HELP sandboxd_gateway_errors Errors answered, by code.\n");
	if (metrics.errors != NULL) {
		g_autofree gpointer *keys = g_hash_table_get_keys_as_array(metrics.errors, NULL);
		guint n = g_hash_table_size(metrics.errors);
		qsort(keys, n, sizeof(gpointer), compare_keys);
		for (guint i = 0; i < n; i++)
			g_string_append_printf(
			    out, "sandboxd_gateway_errors_total{code=\"%s\"} %" G_GSIZE_FORMAT "\n",
			    (const gchar *)keys[i],
			    GPOINTER_TO_SIZE(g_hash_table_lookup(metrics.errors, keys[i])));
	}
	g_string_append_printf(out,
			       "# TYPE sandboxd_gateway_stream_bytes counter\n"
			       "# HELP sandboxd_gateway_stream_bytes Stream bytes (stdout, stderr, "
			       "files) between clients and sandboxes.\n"
			       "sandboxd_gateway_stream_bytes_total{direction=\"to_client\"} "
			       "%" G_GUINT64_FORMAT "\n"
			       "sandboxd_gateway_stream_bytes_total{direction=\"to_sandbox\"} "
			       "%" G_GUINT64_FORMAT "\n"
			       "# EOF\n",
			       metrics.bytes_out, metrics.bytes_in);
	return g_string_free(out, FALSE);
}

static void
status_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(SoupServerMessage) msg = data;
	g_autoptr(GVariant) status = NULL;
	g_autoptr(GVariant) states = NULL;
	g_autoptr(GError) error = NULL;
	gchar *text;

	/* sandboxd down: still the gateway's own figures */
	if (!sbx_dbus_manager1_call_get_status_finish(SBX_DBUS_MANAGER1(source), &status, res,
						      &error))
		g_debug("metrics: GetStatus: %s", error->message);
	else
		states = g_variant_lookup_value(status, "states", G_VARIANT_TYPE("a{su}"));
	text = sbx_gw_metrics_render(states);
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg,
					 "application/openmetrics-text; version=1.0.0; "
					 "charset=utf-8",
					 SOUP_MEMORY_TAKE, text, strlen(text));
	soup_server_message_unpause(msg);
}

void
sbx_gw_metrics_serve(SbxGwServer *server, SoupServerMessage *msg)
{
	soup_server_message_pause(msg);
	sbx_dbus_manager1_call_get_status(server->manager, NULL, status_ready, g_object_ref(msg));
}

gchar *
sbx_gw_metrics_tenant_tag(const gchar *token)
{
	g_autofree gchar *sum = NULL;

	if (token == NULL)
		return g_strdup("-");
	sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1);
	/* 48 bits: enough to tell tenants apart in logs, useless to an attacker */
	return g_strndup(sum, 12);
}

typedef struct {
	gchar *trace_id;
	gchar *tenant;
	gint64 started_us;
} RequestLog;

static void
request_log_free(gpointer data, GClosure *closure)
{
	RequestLog *log = data;
	g_free(log->trace_id);
	g_free(log->tenant);
	g_free(log);
}

static void
on_finished(SoupServerMessage *msg, gpointer data)
{
	RequestLog *log = data;
	const gchar *sandbox = soup_message_headers_get_one(
	    soup_server_message_get_response_headers(msg), "x-deno-sandbox-id");

	g_message("request tenant=%s sandbox=%s method=%s path=%s status=%u duration_ms=%.1f "
		  "trace=%s",
		  log->tenant, sandbox != NULL ? sandbox : "-", soup_server_message_get_method(msg),
		  g_uri_get_path(soup_server_message_get_uri(msg)),
		  soup_server_message_get_status(msg),
		  (gdouble)(g_get_monotonic_time() - log->started_us) / 1000.0, log->trace_id);
}

void
sbx_gw_metrics_log_request(SoupServerMessage *msg, const gchar *trace_id)
{
	SoupMessageHeaders *headers = soup_server_message_get_request_headers(msg);
	const gchar *auth = soup_message_headers_get_one(headers, "Authorization");
	RequestLog *log = g_new0(RequestLog, 1);

	log->trace_id = g_strdup(trace_id);
	log->tenant = sbx_gw_metrics_tenant_tag(
	    auth != NULL && g_str_has_prefix(auth, "Bearer ") ? auth + 7 : NULL);
	log->started_us = g_get_monotonic_time();
	g_signal_connect_data(msg, "finished", G_CALLBACK(on_finished), log, request_log_free, 0);
}
