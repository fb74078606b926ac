/* sizes as people write them, shared by the daemon and sandboxctl.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "300000000", "300000000B", "512M", "512MiB", "10G", "1TiB" (binary units,
 * any case) -> bytes; FALSE for anything else or an overflow, and the caller
 * words the error for its audience */
gboolean sbx_size_parse(const gchar *text, guint64 *bytes);

G_END_DECLS
