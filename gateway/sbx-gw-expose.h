/* exposeHttp: labels bound to guest ports, and the reverse proxy to them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-gw-call.h"

G_BEGIN_DECLS

/* label -> its reservation or binding, for SbxGwServer.exposes */
GHashTable *sbx_gw_expose_table_new(void);
/* POST /api/v3/sandbox/<sdk_id>/expose/http: {"domain": ...} */
void sbx_gw_expose_reserve(SbxGwServer *server, SoupServerMessage *msg, const gchar *sdk_id);
/* the exposeHttp call: binds a reserved domain to a port of the call's sandbox */
void sbx_gw_expose_http(SbxGwCall *call);
/* every label of that sandbox (sandboxd's id) stops working */
void sbx_gw_expose_sandbox_gone(SbxGwServer *server, const gchar *sbx_id);
/* TRUE when @msg is for an exposed service (by Host or /expose/ path): it
 * is answered or relayed, no token needed */
gboolean sbx_gw_expose_handle(SbxGwServer *server, SoupServerMessage *msg, const gchar *path);

G_END_DECLS
