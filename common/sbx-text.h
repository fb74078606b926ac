/* small checks on untrusted text, shared by the daemon and sandboxctl.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* a C0 control character or DEL: what may not go into a config value, a
 * label or a log line */
gboolean sbx_text_has_control_chars(const gchar *text);
/* replaces each of them with '?' in place: one line stays one line */
void sbx_text_sanitize(gchar *text);

G_END_DECLS
