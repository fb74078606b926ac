/* host side of the guest agent's TCP_CONNECT: what the agent would refuse
 * as malformed is refused here first, with a clear error.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "sbx-agent-tcp.h"
#include "sbx-error.h"
#include "sbx-protocol.h"

GBytes *
sbx_agent_tcp_encode_connect(const gchar *host, guint port, guint32 window, guint32 timeout_ms,
			     GError **error)
{
	gsize hlen = host != NULL ? strlen(host) : 0;
	guint8 *p;

	if (hlen == 0 || hlen > SBX_TCP_MAX_HOST || !g_hostname_is_ip_address(host) ||
	    strchr(host, '%') != NULL) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "'%.64s' is not a numeric IPv4 or IPv6 address", host ? host : "");
		return NULL;
	}
	if (port == 0 || port > 65535) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "port %u out of range (1-65535)", port);
		return NULL;
	}
	if (timeout_ms > SBX_TCP_MAX_TIMEOUT_MS) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "connect timeout %u ms is more than %u", timeout_ms,
			    SBX_TCP_MAX_TIMEOUT_MS);
		return NULL;
	}
	p = g_malloc(20 + hlen);
	sbx_proto_put_u32(p, 0);
	sbx_proto_put_u32(p + 4, window);
	sbx_proto_put_u32(p + 8, timeout_ms);
	sbx_proto_put_u32(p + 12, port);
	sbx_proto_put_u32(p + 16, (guint32)hlen);
	memcpy(p + 20, host, hlen);
	return g_bytes_new_take(p, 20 + hlen);
}
