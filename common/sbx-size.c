/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "sbx-size.h"

static const struct {
	const gchar *suffix;
	guint shift;
} units[] = {
    {"", 0},	 {"B", 0},  {"K", 10},	 {"KiB", 10}, {"M", 20},
    {"MiB", 20}, {"G", 30}, {"GiB", 30}, {"T", 40},   {"TiB", 40},
};

gboolean
sbx_size_parse(const gchar *text, guint64 *bytes)
{
	gchar *end = NULL;
	guint64 n;

	if (text == NULL || !g_ascii_isdigit(text[0]))
		return FALSE;
	errno = 0;
	n = g_ascii_strtoull(text, &end, 10);
	if (errno != 0) /* ERANGE: it saturates rather than fails */
		return FALSE;
	for (guint i = 0; i < G_N_ELEMENTS(units); i++) {
		if (g_ascii_strcasecmp(end, units[i].suffix) != 0)
			continue;
		if (n > (G_MAXUINT64 >> units[i].shift))
			return FALSE;
		*bytes = n << units[i].shift;
		return TRUE;
	}
	return FALSE;
}
