/* network policy: sandboxd's side of sandboxd-egress (proxy/). Starts the
 * proxy with one end of a socketpair (the only way in: no path, no state
 * shared), tells it each sandbox's allow_net by guest address, restarts it
 * if it dies (telling it everything again) and reports its denials.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-netpol-policy.h"
#include "sbx-netpol-secrets.h"

G_BEGIN_DECLS

#define SBX_NETPOL_EGRESS_PORT_DEFAULT 15080
#define SBX_NETPOL_EGRESS_DNS_PORT_DEFAULT 15053
#define SBX_NETPOL_EGRESS_USER_DEFAULT "nobody"

#define SBX_TYPE_NETPOL_EGRESS (sbx_netpol_egress_get_type())
G_DECLARE_FINAL_TYPE(SbxNetpolEgress, sbx_netpol_egress, SBX, NETPOL_EGRESS, GObject)

/* @argv: the program and its fixed arguments (sbx_netpol_egress_build_argv) */
SbxNetpolEgress *sbx_netpol_egress_new(GStrv argv);
/* the proxy runs as a service of its own (conf/sandboxd-egress.service) and
 * waits for us on @path ([network] EgressSocket) */
SbxNetpolEgress *sbx_netpol_egress_new_for_socket(const gchar *path);
/* the command line from [network] EgressProgram, EgressUser, EgressPort,
 * EgressDnsPort, EgressResolve (tests only) and the blocked ranges */
GStrv sbx_netpol_egress_build_argv(GKeyFile *config, GPtrArray *blocked4, guint16 *port,
				   guint16 *dns_port, GError **error);
/* the proxy also refuses names resolving into @blocked4 (a region's own
 * ranges): before sbx_netpol_egress_start(); a service keeps its own */
void sbx_netpol_egress_add_blocked(SbxNetpolEgress *self, GPtrArray *blocked4);
/* spawns the proxy (or connects to the service); it runs until
 * sbx_netpol_egress_stop() */
gboolean sbx_netpol_egress_start(SbxNetpolEgress *self, GError **error);
void sbx_netpol_egress_stop(SbxNetpolEgress *self);
gboolean sbx_netpol_egress_is_running(SbxNetpolEgress *self);
/* the sandbox @id at @ip may reach the names of @policy (borrowed; NULL:
 * any name), with @secrets (may be NULL; what the proxy needs is copied) */
void sbx_netpol_egress_set(SbxNetpolEgress *self, const gchar *id, const gchar *ip,
			   const SbxNetpolPolicy *policy, SbxNetpolSecrets *secrets);
void sbx_netpol_egress_forget(SbxNetpolEgress *self, const gchar *id);
/* TRUE when @policy has host-name entries (the proxy's business) */
gboolean sbx_netpol_egress_policy_has_names(const SbxNetpolPolicy *policy);

G_END_DECLS
