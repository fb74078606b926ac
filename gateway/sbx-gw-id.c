/* sandbox ids: a reversible mapping, so the gateway keeps no table and survives restarts.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "sbx-gw-id.h"

/* 32 of the 33 characters the SDK accepts (0-9 a-h j k m n p-z); 'u' unused */
static const gchar sdk_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
#define SBX_ID_LEN 13
#define SDK_ID_LEN 20

typedef unsigned __int128 sbx_u128;

static sbx_u128
pow36_13(void)
{
	sbx_u128 v = 1;
	for (guint i = 0; i < SBX_ID_LEN; i++)
		v *= 36;
	return v;
}

gboolean
sbx_gw_id_region_is_valid(const gchar *region)
{
	if (region == NULL || strlen(region) != 3)
		return FALSE;
	for (guint i = 0; i < 3; i++) {
		if (region[i] < 'a' || region[i] > 'z')
			return FALSE;
	}
	return TRUE;
}

gchar *
sbx_gw_id_to_sdk(const gchar *sbx_id, const gchar *region)
{
	sbx_u128 value = 0;
	gchar digits[SDK_ID_LEN + 1];

	g_return_val_if_fail(sbx_gw_id_region_is_valid(region), NULL);
	if (sbx_id == NULL || strlen(sbx_id) != 3 + SBX_ID_LEN || strncmp(sbx_id, "sbx", 3) != 0)
		return NULL;
	for (guint i = 3; i < 3 + SBX_ID_LEN; i++) {
		gchar c = sbx_id[i];
		guint d;
		if (c >= '0' && c <= '9')
			d = (guint)(c - '0');
		else if (c >= 'a' && c <= 'z')
			d = 10 + (guint)(c - 'a');
		else
			return NULL;
		value = value * 36 + d;
	}
	for (gint i = SDK_ID_LEN - 1; i >= 0; i--) {
		digits[i] = sdk_alphabet[(guint)(value & 31)];
		value >>= 5;
	}
	digits[SDK_ID_LEN] = '\0';
	return g_strdup_printf("sbx_%s_%s", region, digits);
}

/* the 20 digits as a number, or FALSE when @sdk_id does not have the SDK's id form */
static gboolean
sdk_id_parse(const gchar *sdk_id, sbx_u128 *value)
{
	const gchar *digits;

	if (sdk_id == NULL || strlen(sdk_id) != 4 + 3 + 1 + SDK_ID_LEN ||
	    strncmp(sdk_id, "sbx_", 4) != 0 || sdk_id[7] != '_')
		return FALSE;
	for (guint i = 4; i < 7; i++) {
		if (sdk_id[i] < 'a' || sdk_id[i] > 'z')
			return FALSE;
	}
	digits = sdk_id + 8;
	*value = 0;
	for (guint i = 0; i < SDK_ID_LEN; i++) {
		const gchar *p = memchr(sdk_alphabet, digits[i], sizeof(sdk_alphabet) - 1);
		if (p == NULL)
			return FALSE;
		*value = (*value << 5) | (sbx_u128)(p - sdk_alphabet);
	}
	return *value < pow36_13();
}

gchar *
sbx_gw_id_from_sdk(const gchar *sdk_id, GError **error)
{
	sbx_u128 value = 0;
	gchar out[3 + SBX_ID_LEN + 1] = "sbx";

	if (!sdk_id_parse(sdk_id, &value)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no sandbox '%s'",
			    sdk_id != NULL ? sdk_id : "(null)");
		return NULL;
	}
	for (gint i = SBX_ID_LEN - 1; i >= 0; i--) {
		guint d = (guint)(value % 36);
		out[3 + i] = (gchar)(d < 10 ? '0' + d : 'a' + d - 10);
		value /= 36;
	}
	out[3 + SBX_ID_LEN] = '\0';
	return g_strdup(out);
}
