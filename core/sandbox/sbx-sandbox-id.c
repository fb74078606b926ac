/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sbx-sandbox-id.h"

gchar *
sbx_sandbox_id_new(void)
{
	static const gchar alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	GString *id = g_string_new(SBX_SANDBOX_ID_PREFIX);
	for (guint i = 0; i < SBX_SANDBOX_ID_RANDOM_LEN; i++)
		g_string_append_c(id, alphabet[g_random_int_range(0, sizeof(alphabet) - 1)]);
	return g_string_free(id, FALSE);
}

gboolean
sbx_sandbox_id_is_valid(const gchar *id)
{
	if (strlen(id) != strlen(SBX_SANDBOX_ID_PREFIX) + SBX_SANDBOX_ID_RANDOM_LEN ||
	    !g_str_has_prefix(id, SBX_SANDBOX_ID_PREFIX))
		return FALSE;
	for (const gchar *p = id; *p != '\0'; p++) {
		if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p))
			return FALSE;
	}
	return TRUE;
}
