/* durations as people write them, shared by the daemon and sandboxctl.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "90", "90s", "5m", "1h": at most G_MAXUINT32 of the unit -> seconds; FALSE
 * for anything else (signs, spaces, other units), and the caller words the
 * error and its own bounds */
gboolean sbx_duration_parse(const gchar *text, guint64 *seconds);

G_END_DECLS
