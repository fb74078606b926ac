/* network policy: the host firewall sandboxd owns (one nftables table), from
 * the [network] config section and the bridges of the hypervisor backends.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-config-key.h"
#include "sbx-netpol-egress.h"
#include "sbx-netpol-policy.h"

G_BEGIN_DECLS

#define SBX_NETPOL_SECTION "network"
#define SBX_NETPOL_TABLE_DEFAULT "sandboxd"

#define SBX_TYPE_NETPOL_FIREWALL (sbx_netpol_firewall_get_type())
G_DECLARE_FINAL_TYPE(SbxNetpolFirewall, sbx_netpol_firewall, SBX, NETPOL_FIREWALL, GObject)

/* the keys of [network], for the core's config checker */
const SbxConfigKey *sbx_netpol_firewall_get_config_keys(void);

/* reads [network] (Table, BlockedRanges) of the merged config */
SbxNetpolFirewall *sbx_netpol_firewall_new(GKeyFile *config, GError **error);
/* guests on @bridge get the isolation rules; a bridge added twice counts once */
gboolean sbx_netpol_firewall_add_bridge(SbxNetpolFirewall *self, const gchar *bridge,
					GError **error);
/* whether guests on @bridge get the isolation rules (added before start) */
gboolean sbx_netpol_firewall_has_bridge(SbxNetpolFirewall *self, const gchar *bridge);
/* installs the table (replacing a stale one of a previous run). On failure
 * the firewall stays inactive and remembers why. */
void sbx_netpol_firewall_start_async(SbxNetpolFirewall *self, GCancellable *cancellable,
				     GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_netpol_firewall_start_finish(SbxNetpolFirewall *self, GAsyncResult *res,
					  GError **error);
/* removes the table; blocks (for shutdown, when no guest is left) */
gboolean sbx_netpol_firewall_stop(SbxNetpolFirewall *self, GError **error);
/* sandboxes may get a network only while this is TRUE (fail closed) */
gboolean sbx_netpol_firewall_is_active(SbxNetpolFirewall *self);
/* why the firewall is not active, or NULL */
const gchar *sbx_netpol_firewall_get_failure(SbxNetpolFirewall *self);
const gchar *sbx_netpol_firewall_get_table(SbxNetpolFirewall *self);

/* the rules of a sandbox with an allow_net list (@policy, borrowed) and its
 * @secrets (NULL: none), by its guest address; fails when the firewall is
 * not installed. @policy NULL (with @secrets): the default isolation, HTTPS
 * through the egress proxy */
void sbx_netpol_firewall_add_sandbox_async(SbxNetpolFirewall *self, const gchar *id,
					   const gchar *ip, const SbxNetpolPolicy *policy,
					   SbxNetpolSecrets *secrets, GCancellable *cancellable,
					   GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_netpol_firewall_add_sandbox_finish(SbxNetpolFirewall *self, GAsyncResult *res,
						GError **error);
/* drops them (a sandbox without rules of its own: nothing to do); never blocks */
/* a bridge with blocked ranges of its own (a region's BlockedRanges; NULL:
 * [network] BlockedRanges). Names through the proxy are refused in every
 * zone's ranges (one proxy serves all). Regions sharing a bridge must agree. */
gboolean sbx_netpol_firewall_add_bridge_with_ranges(SbxNetpolFirewall *self, const gchar *bridge,
						    const gchar *blocked, GError **error);
void sbx_netpol_firewall_remove_sandbox(SbxNetpolFirewall *self, const gchar *id);

/* the egress proxy it starts with the table (its "denied" signal) */
SbxNetpolEgress *sbx_netpol_firewall_get_egress(SbxNetpolFirewall *self);

/* the daemon's firewall (NULL until set: no network for anyone) */
SbxNetpolFirewall *sbx_netpol_firewall_get_default(void);
void sbx_netpol_firewall_set_default(SbxNetpolFirewall *firewall);

G_END_DECLS
