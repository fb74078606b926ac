/* network policy: the nftables ruleset sandboxd owns, as text for `nft -f -`.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-netpol-policy.h"

G_BEGIN_DECLS

/* the conntrack mark of guest traffic a sandbox's nat chain redirected to the
 * egress proxy ("sbxe") */
#define SBX_NETPOL_RULESET_EGRESS_MARK "0x73627865"
/* conntrack mark of a guest's connection to an address its allow_net lists */
#define SBX_NETPOL_RULESET_ALLOW_MARK "0x73627861"

/* one sandbox bridge and what its guests may not reach */
typedef struct {
	gchar *bridge;
	GPtrArray *blocked4; /* normalized CIDR strings (sbx-netpol-range.h) */
	GPtrArray *blocked6;
} SbxNetpolZone;

SbxNetpolZone *sbx_netpol_ruleset_zone_new(const gchar *bridge, GPtrArray *blocked4,
					   GPtrArray *blocked6);
void sbx_netpol_ruleset_zone_free(SbxNetpolZone *zone);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxNetpolZone, sbx_netpol_ruleset_zone_free)

/* [A-Za-z0-9_], 1-32 bytes: a table name we write unquoted */
gboolean sbx_netpol_ruleset_table_is_valid(const gchar *table);
/* an interface name: [A-Za-z0-9_.-], 1-15 bytes */
gboolean sbx_netpol_ruleset_ifname_is_valid(const gchar *name);

/* replaces table `inet @table` with the isolation rules for @zones
 * (element-type SbxNetpolZone) in one transaction; other tables untouched */
gchar *sbx_netpol_ruleset_build(const gchar *table, GPtrArray *zones, GError **error);
/* removes table `inet @table`, and nothing else */
gchar *sbx_netpol_ruleset_build_delete(const gchar *table);

/* adds the rules of one sandbox with an allow_net list: only the listed
 * addresses (and ports), keyed by its IPv4 address. With host names and the
 * egress proxy's ports (0: no proxy, names reach nothing), its DNS to the
 * host goes to the proxy's resolver and its TCP to ports 80, 443 and the
 * names' ports to the proxy; nothing else, not even DNS elsewhere */
gchar *sbx_netpol_ruleset_build_sandbox(const gchar *table, const gchar *id, const gchar *ip,
					const SbxNetpolPolicy *policy, guint16 egress_port,
					guint16 dns_port, GError **error);
/* removes them */
/* a sandbox with secrets and no allow_net: the default isolation, its TCP
 * to port 443 to the egress proxy (which lets any name through and
 * intercepts the secrets' hosts) */
gchar *sbx_netpol_ruleset_build_sandbox_open(const gchar *table, const gchar *id, const gchar *ip,
					     guint16 egress_port, GError **error);
gchar *sbx_netpol_ruleset_build_sandbox_delete(const gchar *table, const gchar *id, const gchar *ip,
					       GError **error);

G_END_DECLS
