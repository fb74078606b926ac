/* network policy: a sandbox's allow_net list, parsed and bounded.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SBX_NETPOL_POLICY_MAX_ENTRIES 64
#define SBX_NETPOL_POLICY_MAX_ENTRY 260

/* one allow_net entry: a host name ("example.com", "*.example.com") or an
 * address range ("10.1.2.3", "10.0.0.0/8", "[fd00::1]"), with a port or 0 for any */
typedef struct {
	gchar *host;   /* lower-case name, "*." prefix for a wildcard; NULL for a range */
	gchar *range;  /* normalized CIDR (sbx-netpol-range.h); NULL for a name */
	gboolean ipv6; /* @range is IPv6 */
	guint16 port;  /* 0: any */
} SbxNetpolEntry;

typedef struct {
	GPtrArray *entries; /* SbxNetpolEntry; empty: no network at all */
} SbxNetpolPolicy;

/* @allow_net as the caller sent it; every entry is checked, the first bad one
 * is named in the error */
SbxNetpolPolicy *sbx_netpol_policy_new(const gchar *const *allow_net, GError **error);
void sbx_netpol_policy_free(SbxNetpolPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxNetpolPolicy, sbx_netpol_policy_free)

/* TRUE when the list is empty: the sandbox gets no network at all */
gboolean sbx_netpol_policy_is_offline(const SbxNetpolPolicy *policy);
/* the entries back as normalized strings (for the state file and properties) */
gchar **sbx_netpol_policy_to_strv(const SbxNetpolPolicy *policy);

G_END_DECLS
