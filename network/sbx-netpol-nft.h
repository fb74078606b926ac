/* network policy: runs the nft command line tool on a script.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* `nft -f -` (or `nft -c -f -` with @check_only) with @script on stdin, in a
 * subprocess: the caller's main loop never waits on netlink. Fails with
 * nft's own message when it refuses the script. */
void sbx_netpol_nft_run_async(const gchar *script, gboolean check_only, GCancellable *cancellable,
			      GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_netpol_nft_run_finish(GAsyncResult *res, GError **error);
/* the same, blocking: for daemon shutdown, tests and tools */
gboolean sbx_netpol_nft_run_sync(const gchar *script, gboolean check_only, GError **error);

G_END_DECLS
