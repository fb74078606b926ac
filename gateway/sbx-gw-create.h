/* the WebSocket upgrade: create (x-deno-sandbox-config) or connect to a sandbox.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-gw-server.h"

G_BEGIN_DECLS

/* @sdk_id NULL: create a sandbox; else connect to it. Answers 101 with
 * x-deno-sandbox-id once it runs, or an error in the SDK's JSON shape */
void sbx_gw_create_upgrade(SbxGwServer *server, SoupServerMessage *msg, const gchar *sdk_id,
			   const gchar *trace_id);

G_END_DECLS
