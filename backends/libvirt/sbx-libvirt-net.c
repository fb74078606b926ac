/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sbx-cmdline-keys.h"
#include "sbx-libvirt-net.h"

gboolean
sbx_libvirt_net_name_is_valid(const gchar *name)
{
	gsize len = name != NULL ? strlen(name) : 0;

	if (len == 0 || len > 64 || name[0] == '-' || name[0] == '.')
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(name[i]) && strchr("_.-", name[i]) == NULL)
			return FALSE;
	}
	return TRUE;
}

gchar *
sbx_libvirt_net_ip_to_string(guint32 ip)
{
	return g_strdup_printf("%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
			       ip & 0xff);
}

gboolean
sbx_libvirt_net_ip_from_string(const gchar *str, guint32 *ip)
{
	g_auto(GStrv) parts = NULL;
	guint32 value = 0;

	if (str == NULL)
		return FALSE;
	parts = g_strsplit(str, ".", -1);
	if (g_strv_length(parts) != 4)
		return FALSE;
	for (guint i = 0; i < 4; i++) {
		guint64 n = 0;
		if (!g_ascii_string_to_unsigned(parts[i], 10, 0, 255, &n, NULL))
			return FALSE;
		value = value << 8 | (guint32)n;
	}
	*ip = value;
	return TRUE;
}

static gboolean
prefix_ok(guint64 prefix, const gchar *what, GError **error)
{
	/* /31 and /32 leave no room for sandboxes; the MAC scheme needs >= /8 */
	if (prefix < 8 || prefix > 30) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s: the prefix length must be 8-30", what);
		return FALSE;
	}
	return TRUE;
}

gboolean
sbx_libvirt_net_parse_cidr(const gchar *cidr, SbxLibvirtNetInfo *info, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(cidr != NULL ? cidr : "", "/", 2);
	guint64 prefix = 0;

	memset(info, 0, sizeof(*info));
	if (g_strv_length(parts) != 2 ||
	    !sbx_libvirt_net_ip_from_string(parts[0], &info->gateway) ||
	    !g_ascii_string_to_unsigned(parts[1], 10, 0, 32, &prefix, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "'%s' is not an IPv4 address with a prefix length (a.b.c.d/n)",
			    cidr != NULL ? cidr : "");
		return FALSE;
	}
	if (!prefix_ok(prefix, cidr, error))
		return FALSE;
	info->prefix = (guint)prefix;
	return TRUE;
}

typedef struct {
	SbxLibvirtNetInfo *info;
	gboolean found;
} NetParse;

static const gchar *
attr_lookup(const gchar **names, const gchar **values, const gchar *name)
{
	for (guint i = 0; names[i] != NULL; i++) {
		if (g_strcmp0(names[i], name) == 0)
			return values[i];
	}
	return NULL;
}

/* the first IPv4 <ip> and the <mtu> directly below <network> */
static void
net_start(GMarkupParseContext *ctx, const gchar *name, const gchar **attr_names,
	  const gchar **attr_values, gpointer user_data, GError **error)
{
	NetParse *parse = user_data;
	const GSList *stack = g_markup_parse_context_get_element_stack(ctx);
	guint64 n = 0;

	if (g_slist_length((GSList *)stack) != 2 || g_strcmp0(stack->next->data, "network") != 0)
		return;
	if (g_strcmp0(name, "ip") == 0 && !parse->found) {
		const gchar *family = attr_lookup(attr_names, attr_values, "family");
		const gchar *prefix = attr_lookup(attr_names, attr_values, "prefix");
		const gchar *netmask = attr_lookup(attr_names, attr_values, "netmask");
		guint32 mask = 0;

		if ((family != NULL && g_strcmp0(family, "ipv4") != 0) ||
		    !sbx_libvirt_net_ip_from_string(attr_lookup(attr_names, attr_values, "address"),
						    &parse->info->gateway))
			return;
		if (prefix != NULL && g_ascii_string_to_unsigned(prefix, 10, 0, 32, &n, NULL)) {
			parse->info->prefix = (guint)n;
			parse->found = TRUE;
		} else if (sbx_libvirt_net_ip_from_string(netmask, &mask)) {
			parse->info->prefix = (guint)__builtin_popcount(mask);
			parse->found = TRUE;
		}
	} else if (g_strcmp0(name, "mtu") == 0) {
		const gchar *size = attr_lookup(attr_names, attr_values, "size");
		if (size != NULL && g_ascii_string_to_unsigned(size, 10, 576, 65535, &n, NULL))
			parse->info->mtu = (guint)n;
	}
}

gboolean
sbx_libvirt_net_parse_xml(const gchar *xml, SbxLibvirtNetInfo *info, GError **error)
{
	const GMarkupParser parser = {net_start, NULL, NULL, NULL, NULL};
	NetParse parse = {info, FALSE};
	g_autoptr(GMarkupParseContext) ctx = NULL;

	memset(info, 0, sizeof(*info));
	ctx = g_markup_parse_context_new(&parser, 0, &parse, NULL);
	if (!g_markup_parse_context_parse(ctx, xml, -1, error) ||
	    !g_markup_parse_context_end_parse(ctx, error)) {
		g_prefix_error(error, "the network's XML: ");
		return FALSE;
	}
	if (!parse.found) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "the network has no IPv4 address");
		return FALSE;
	}
	return prefix_ok(info->prefix, "the network's address", error);
}

gchar *
sbx_libvirt_net_xml_new(const gchar *name, const gchar *bridge, const SbxLibvirtNetInfo *info)
{
	g_autoptr(GString) xml = g_string_new(NULL);
	g_autofree gchar *gw = sbx_libvirt_net_ip_to_string(info->gateway);
	g_autofree gchar *tmp = NULL;

	tmp = g_markup_printf_escaped("<network>\n"
				      "  <name>%s</name>\n"
				      "  <forward mode='nat'/>\n"
				      "  <bridge name='%s' stp='off' delay='0'/>\n",
				      name, bridge);
	g_string_append(xml, tmp);
	if (info->mtu != 0)
		g_string_append_printf(xml, "  <mtu size='%u'/>\n", info->mtu);
	/* dnsmasq answers DNS on the gateway address; no DHCP: addresses are ours */
	g_string_append_printf(xml,
			       "  <ip address='%s' prefix='%u'>\n"
			       "  </ip>\n"
			       "</network>\n",
			       gw, info->prefix);
	return g_string_free(g_steal_pointer(&xml), FALSE);
}

guint
sbx_libvirt_net_host_mtu(const gchar *root)
{
	g_autofree gchar *route_path = g_build_filename(root, "proc/net/route", NULL);
	g_autofree gchar *routes = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents(route_path, &routes, NULL, NULL))
		return 0;
	lines = g_strsplit(routes, "\n", -1);
	for (guint i = 1; lines[i] != NULL; i++) {
		g_auto(GStrv) f = g_strsplit_set(lines[i], " \t", -1);
		g_autofree gchar *mtu_path = NULL;
		g_autofree gchar *mtu = NULL;
		guint64 n = 0;
		guint nf = 0;
		const gchar *fields[3] = {NULL};

		for (guint j = 0; f[j] != NULL && nf < 3; j++) {
			if (f[j][0] != '\0')
				fields[nf++] = f[j];
		}
		/* Iface Destination Gateway: the default route has destination 0 */
		if (nf < 2 || g_strcmp0(fields[1], "00000000") != 0 || strchr(fields[0], '/') ||
		    fields[0][0] == '.')
			continue;
		mtu_path = g_build_filename(root, "sys/class/net", fields[0], "mtu", NULL);
		if (g_file_get_contents(mtu_path, &mtu, NULL, NULL) &&
		    g_ascii_string_to_unsigned(g_strstrip(mtu), 10, 576, 65535, &n, NULL))
			return (guint)n;
	}
	return 0;
}

gchar *
sbx_libvirt_net_mac_for_ip(guint32 ip)
{
	return g_strdup_printf("52:54:00:%02x:%02x:%02x", (ip >> 16) & 0xff, (ip >> 8) & 0xff,
			       ip & 0xff);
}

guint32
sbx_libvirt_net_ip_pick(const SbxLibvirtNetInfo *info, const gchar *seed, GHashTable *taken)
{
	guint32 mask = info->prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> info->prefix);
	guint32 net = info->gateway & mask;
	guint32 hosts = ~mask - 1; /* without the network and broadcast addresses */
	guint32 start;

	if (info->prefix < 8 || info->prefix > 30)
		return 0;
	/* spread the picks so two daemons on one network rarely race for one */
	start = g_str_hash(seed != NULL ? seed : "") % hosts;
	for (guint32 i = 0; i < hosts; i++) {
		guint32 ip = net + 1 + (start + i) % hosts;
		if (ip == info->gateway || g_hash_table_contains(taken, GUINT_TO_POINTER(ip)))
			continue;
		return ip;
	}
	return 0;
}

gchar *
sbx_libvirt_net_cmdline(const SbxLibvirtNetInfo *info, guint32 ip)
{
	g_autofree gchar *addr = sbx_libvirt_net_ip_to_string(ip);
	g_autofree gchar *gw = sbx_libvirt_net_ip_to_string(info->gateway);
	GString *str = g_string_new(NULL);

	g_string_append_printf(str,
			       SBX_CMDLINE_IP "=%s/%u " SBX_CMDLINE_GW "=%s " SBX_CMDLINE_DNS "=%s",
			       addr, info->prefix, gw, gw);
	if (info->mtu != 0)
		g_string_append_printf(str, " " SBX_CMDLINE_MTU "=%u", info->mtu);
	return g_string_free(str, FALSE);
}
