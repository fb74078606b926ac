/* sandbox ids as the @deno/sandbox SDK wants them, mapped to sandboxd's own ids.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "sbx" + 13 of [a-z0-9] (sandboxd) -> "sbx_" + region + "_" + 20 of the SDK's alphabet;
 * NULL if @sbx_id is not a sandboxd id. @region: 3 lower-case letters */
gchar *sbx_gw_id_to_sdk(const gchar *sbx_id, const gchar *region);
/* the reverse; NULL (with @error) for anything that is not an id this gateway minted */
gchar *sbx_gw_id_from_sdk(const gchar *sdk_id, GError **error);
gboolean sbx_gw_id_region_is_valid(const gchar *region);

G_END_DECLS
