/* the SDK's sandbox config header, as sandboxd's CreateSandbox options.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* @header: the x-deno-sandbox-config value; @image: [gateway] Image or NULL; @now_ms:
 * the gateway's clock, to turn stop_at_ms into a duration. A floating-free a{sv}. */
GVariant *sbx_gw_sandbox_config_parse(const gchar *header, const gchar *image, gint64 now_ms,
				      GError **error);

G_END_DECLS
