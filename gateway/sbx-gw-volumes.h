/* console REST for volumes and snapshots (the SDK's client.volumes and
 * client.snapshots) onto sandboxd's volumes, as the bearer token's owner.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-gw-server.h"

G_BEGIN_DECLS

/* /api/v2/volumes[/ID[/snapshot]] and /api/v2/snapshots[/ID]: @parts from
 * parts[3] on ("volumes" or "snapshots", then the rest); pauses @msg and
 * answers it later */
void sbx_gw_volumes_route(SbxGwServer *server, SoupServerMessage *msg, const gchar *const *parts,
			  GHashTable *query);

/* the SDK's slug rule: 2-32 of a-z 0-9 -, no - first or last, no "--" at 3-4 */
gboolean sbx_gw_volumes_slug_is_valid(const gchar *slug);
/* a capacity: a JSON number of bytes, or "<n>GB|MB|kB|GiB|MiB|KiB" */
gboolean sbx_gw_volumes_parse_capacity(JsonNode *node, guint64 *bytes, GError **error);

G_END_DECLS
