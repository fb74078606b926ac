/* network policy: address ranges (IPv4/IPv6 CIDR) as nftables accepts them.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* what a sandbox never reaches unless its policy names the address itself:
 * private, shared (CGNAT), loopback, link-local (cloud metadata), unique-local */
#define SBX_NETPOL_RANGE_BLOCKED_DEFAULT                                                           \
	"10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,127.0.0.0/8,169.254.0.0/16,"        \
	"0.0.0.0/8,fc00::/7,fe80::/10,::1/128"

/* "a.b.c.d", "a.b.c.d/n", "v6", "v6/n": on success *@normalized is the
 * network address with its prefix ("10.0.0.0/8"; host bits cleared) and
 * *@family G_SOCKET_FAMILY_IPV4 or _IPV6 */
gboolean sbx_netpol_range_parse(const gchar *text, gchar **normalized, GSocketFamily *family,
				GError **error);
/* a comma, semicolon or space separated list; empty items are skipped.
 * *@v4 and *@v6 get the normalized ranges of each family */
gboolean sbx_netpol_range_parse_list(const gchar *text, GPtrArray **v4, GPtrArray **v6,
				     GError **error);

G_END_DECLS
