/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sbx-text.h"

gboolean
sbx_text_has_control_chars(const gchar *text)
{
	for (const gchar *p = text; *p != '\0'; p++) {
		if ((guchar)*p < 0x20 || *p == 0x7f)
			return TRUE;
	}
	return FALSE;
}

void
sbx_text_sanitize(gchar *text)
{
	for (gchar *p = text; *p != '\0'; p++) {
		if ((guchar)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
}
