/* Sandbox1.ConnectTcp from the gateway: a connection made from inside a
 * sandbox, as a GIOStream here.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-dbus-generated.h"

G_BEGIN_DECLS

/* connects from inside @proxy's sandbox to @host:@port (as the sandbox
 * sees them: "127.0.0.1" is the guest itself) */
void sbx_gw_tcp_connect_async(SbxDBusSandbox1 *proxy, const gchar *host, guint16 port,
			      GCancellable *cancellable, GAsyncReadyCallback callback,
			      gpointer user_data);
/* the connection (a GSocketConnection), or NULL with sandboxd's error */
GIOStream *sbx_gw_tcp_connect_finish(SbxDBusSandbox1 *proxy, GAsyncResult *res, GError **error);

G_END_DECLS
