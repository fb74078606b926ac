/* the gateway's OpenMetrics (/metrics) and its per-request log line.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-gw-server.h"

G_BEGIN_DECLS

/* main thread only: plain counters */
void sbx_gw_metrics_observe_create(gdouble seconds, gboolean ok);
void sbx_gw_metrics_count_error(const gchar *code);
void sbx_gw_metrics_add_bytes(gboolean to_client, guint64 bytes);

/* GET /metrics: sandboxd's sandboxes by state (Manager1.GetStatus) and the
 * counters above, as application/openmetrics-text; pauses @msg */
void sbx_gw_metrics_serve(SbxGwServer *server, SoupServerMessage *msg);
/* the text for @states (a{su} or NULL): for tests */
gchar *sbx_gw_metrics_render(GVariant *states);

/* a short, stable, non-secret name for a bearer token (the tenant in logs) */
gchar *sbx_gw_metrics_tenant_tag(const gchar *token);
/* logs one structured line when @msg is finished: tenant, sandbox, method,
 * route, status, duration and trace id */
void sbx_gw_metrics_log_request(SoupServerMessage *msg, const gchar *trace_id);

G_END_DECLS
