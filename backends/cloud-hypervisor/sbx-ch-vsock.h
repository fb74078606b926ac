/* cloud-hypervisor backend: the host end of the hybrid vsock
 * (`CONNECT <port>\n` -> `OK <host port>\n`, then a raw stream).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* connects to guest @port through the VMM's vsock socket @socket_path.
 * Fails with %G_IO_ERROR_CONNECTION_REFUSED when the VMM closes without "OK"
 * (nobody listens on the port in the guest), %G_IO_ERROR_TIMED_OUT after
 * @timeout_ms, %G_IO_ERROR_INVALID_DATA for any other answer. */
void sbx_ch_vsock_connect_async(const gchar *socket_path, guint port, guint timeout_ms,
				GCancellable *cancellable, GAsyncReadyCallback callback,
				gpointer user_data);
GIOStream *sbx_ch_vsock_connect_finish(GAsyncResult *res, GError **error);

G_END_DECLS
