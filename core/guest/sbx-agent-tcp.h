/* host side of the guest agent's TCP_CONNECT (type 112 in
 * agent/sbx-protocol.h): request checks and encoding.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* the TCP_CONNECT payload; SBX_ERROR_INVALID_ARGUMENT unless @host is a
 * numeric IPv4 or IPv6 address (no zone), @port 1-65535 and @timeout_ms
 * within SBX_TCP_MAX_TIMEOUT_MS */
GBytes *sbx_agent_tcp_encode_connect(const gchar *host, guint port, guint32 window,
				     guint32 timeout_ms, GError **error);

G_END_DECLS
