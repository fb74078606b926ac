/* egress proxy: a GResolver answering from a fixed table, for tests only
 * (--resolve NAME=IPV4): the test's upstream hosts live in network
 * namespaces no real DNS knows. Unknown names are not found.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SBX_TYPE_EGRESS_RESOLVER (sbx_egress_resolver_get_type())
G_DECLARE_FINAL_TYPE(SbxEgressResolver, sbx_egress_resolver, SBX, EGRESS_RESOLVER, GResolver)

SbxEgressResolver *sbx_egress_resolver_new(void);
/* "name=1.2.3.4" */
gboolean sbx_egress_resolver_add(SbxEgressResolver *self, const gchar *entry, GError **error);

G_END_DECLS
