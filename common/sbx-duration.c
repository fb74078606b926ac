/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sbx-duration.h"

gboolean
sbx_duration_parse(const gchar *text, guint64 *seconds)
{
	g_autofree gchar *digits = NULL;
	guint64 unit = 1;
	guint64 n = 0;
	gsize len;

	if (text == NULL)
		return FALSE;
	len = strlen(text);
	if (len == 0 || len > 16)
		return FALSE;
	switch (text[len - 1]) {
	case 's':
		len--;
		break;
	case 'm':
		unit = 60;
		len--;
		break;
	case 'h':
		unit = 3600;
		len--;
		break;
	default:
		break;
	}
	digits = g_strndup(text, len);
	if (len == 0 || !g_ascii_isdigit(digits[0]) ||
	    !g_ascii_string_to_unsigned(digits, 10, 0, G_MAXUINT32, &n, NULL))
		return FALSE;
	*seconds = n * unit;
	return TRUE;
}
