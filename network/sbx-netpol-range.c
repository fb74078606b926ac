/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sbx-netpol-range.h"

#define SBX_NETPOL_RANGE_MAX 64

static gboolean
invalid(const gchar *text, GError **error)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		    "'%s' is not an IP address or CIDR range", text != NULL ? text : "");
	return FALSE;
}

gboolean
sbx_netpol_range_parse(const gchar *text, gchar **normalized, GSocketFamily *family, GError **error)
{
	g_auto(GStrv) parts = NULL;
	g_autoptr(GInetAddress) given = NULL;
	g_autoptr(GInetAddress) network = NULL;
	g_autofree gchar *addr = NULL;
	guint8 bytes[16];
	guint64 prefix = 0;
	gsize len;

	if (text == NULL || strlen(text) == 0 || strlen(text) > SBX_NETPOL_RANGE_MAX ||
	    !g_str_is_ascii(text))
		return invalid(text, error);
	parts = g_strsplit(text, "/", 2);
	given = g_inet_address_new_from_string(parts[0]);
	if (given == NULL)
		return invalid(text, error);
	len = g_inet_address_get_native_size(given);
	if (parts[1] != NULL &&
	    !g_ascii_string_to_unsigned(parts[1], 10, 0, len * 8, &prefix, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "'%s': the prefix length must be 0-%" G_GSIZE_FORMAT, text, len * 8);
		return FALSE;
	}
	if (parts[1] == NULL)
		prefix = len * 8;
	/* host bits are cleared rather than refused: "10.1.2.3/8" means 10/8 */
	memcpy(bytes, g_inet_address_to_bytes(given), len);
	for (guint i = (guint)prefix; i < len * 8; i++)
		bytes[i / 8] &= (guint8) ~(0x80u >> (i % 8));
	network = g_inet_address_new_from_bytes(bytes, g_inet_address_get_family(given));
	addr = g_inet_address_to_string(network);
	*normalized = g_strdup_printf("%s/%u", addr, (guint)prefix);
	if (family != NULL)
		*family = g_inet_address_get_family(given);
	return TRUE;
}

gboolean
sbx_netpol_range_parse_list(const gchar *text, GPtrArray **v4, GPtrArray **v6, GError **error)
{
	g_auto(GStrv) items = g_strsplit_set(text != NULL ? text : "", ",; \t", -1);
	g_autoptr(GPtrArray) r4 = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) r6 = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; items[i] != NULL; i++) {
		gchar *range = NULL;
		GSocketFamily family;

		if (items[i][0] == '\0')
			continue;
		if (!sbx_netpol_range_parse(items[i], &range, &family, error))
			return FALSE;
		g_ptr_array_add(family == G_SOCKET_FAMILY_IPV4 ? r4 : r6, range);
	}
	*v4 = g_steal_pointer(&r4);
	*v6 = g_steal_pointer(&r6);
	return TRUE;
}
