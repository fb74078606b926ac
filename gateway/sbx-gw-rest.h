/* REST routes: kill, extend, sandboxes list (the SDK's sandbox.js and client.js).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-gw-server.h"

G_BEGIN_DECLS

/* each pauses @msg and answers it later */
void sbx_gw_rest_kill(SbxGwServer *server, SoupServerMessage *msg, const gchar *sdk_id);
void sbx_gw_rest_extend(SbxGwServer *server, SoupServerMessage *msg, const gchar *sdk_id);
void sbx_gw_rest_list_sandboxes(SbxGwServer *server, SoupServerMessage *msg, GHashTable *query);

/* the D-Bus proxy of running sandbox @sdk_id (async: GetSandbox, then the proxy) */
void sbx_gw_rest_lookup_sandbox(SbxGwServer *server, const gchar *sdk_id,
				GAsyncReadyCallback callback, gpointer user_data);
SbxDBusSandbox1 *sbx_gw_rest_lookup_sandbox_finish(GAsyncResult *res, GError **error);

G_END_DECLS
