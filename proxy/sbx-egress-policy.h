/* egress proxy: what each sandbox may reach by name, keyed by its guest
 * address (clean-traffic pins it, so the source address is the sandbox).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-netpol-policy.h"

G_BEGIN_DECLS

typedef struct _SbxEgressPolicy SbxEgressPolicy;

SbxEgressPolicy *sbx_egress_policy_new(void);
void sbx_egress_policy_free(SbxEgressPolicy *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxEgressPolicy, sbx_egress_policy_free)

/* replaces the list of the sandbox at @ip (IPv4); @allow_net as in
 * CreateSandbox. Fails on a bad address or entry, changing nothing. */
gboolean sbx_egress_policy_set(SbxEgressPolicy *self, const gchar *ip, const gchar *id,
			       const gchar *const *allow_net, GError **error);
void sbx_egress_policy_remove(SbxEgressPolicy *self, const gchar *ip);
/* forgets every sandbox: nothing is allowed */
void sbx_egress_policy_clear(SbxEgressPolicy *self);
/* the sandbox id at @ip, or NULL: no sandbox we know, nothing allowed */
const gchar *sbx_egress_policy_lookup(SbxEgressPolicy *self, const gchar *ip);
/* may the sandbox at @ip reach @host on @port (0: any port, for DNS)? */
gboolean sbx_egress_policy_allows(SbxEgressPolicy *self, const gchar *ip, const gchar *host,
				  guint16 port);
/* does @pattern ("example.com", "*.example.com") cover @host? */
gboolean sbx_egress_policy_name_matches(const gchar *pattern, const gchar *host);

G_END_DECLS
