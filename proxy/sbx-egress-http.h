/* egress proxy: the guest's side of an HTTP/1.x connection, request after
 * request. Every request's Host must be the connection's host (a keep-alive
 * connection cannot turn to another name after its first request), heads and
 * chunk lines are bounded, a request with both Content-Length and
 * Transfer-Encoding is refused (smuggling), and on intercepted connections
 * the secrets' placeholders in the headers become their values. An Upgrade
 * request (WebSocket) ends the parsing: what follows is no longer HTTP.
 * Pure: bytes in, bytes out, no I/O.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "sbx-egress-sniff.h"

G_BEGIN_DECLS

#define SBX_EGRESS_HTTP_HEAD_MAX SBX_EGRESS_SNIFF_MAX_HTTP /* request line and headers */
#define SBX_EGRESS_HTTP_LINE_MAX 1024			   /* a chunk-size or trailer line */

typedef struct _SbxEgressHttp SbxEgressHttp;

/* @host: the name the connection goes to; @secrets: SbxEgressSecret, may be
 * NULL (referenced: a policy replaced meanwhile does not pull it away) */
SbxEgressHttp *sbx_egress_http_new(const gchar *host, GPtrArray *secrets);
void sbx_egress_http_free(SbxEgressHttp *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxEgressHttp, sbx_egress_http_free)

/* takes @len bytes from the guest, appends what goes upstream to @out.
 * FALSE (and the reason, fit for the event log) ends the connection. */
gboolean sbx_egress_http_feed(SbxEgressHttp *self, const guint8 *data, gsize len, GByteArray *out,
			      GError **error);
/* requests seen so far, placeholders replaced so far */
guint sbx_egress_http_get_requests(SbxEgressHttp *self);
guint sbx_egress_http_get_replaced(SbxEgressHttp *self);

G_END_DECLS
