/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sbx-netpol-policy.h"
#include "sbx-netpol-range.h"

static void
entry_free(SbxNetpolEntry *entry)
{
	g_free(entry->host);
	g_free(entry->range);
	g_free(entry);
}

void
sbx_netpol_policy_free(SbxNetpolPolicy *policy)
{
	if (policy == NULL)
		return;
	g_ptr_array_unref(policy->entries);
	g_free(policy);
}

/* RFC 1123 labels, at most 253 bytes; "*." only as the first label */
static gboolean
host_is_valid(const gchar *host)
{
	const gchar *p = g_str_has_prefix(host, "*.") ? host + 2 : host;
	g_auto(GStrv) labels = NULL;
	gsize len = strlen(p);

	if (len == 0 || len > 253 || p[len - 1] == '.')
		return FALSE;
	labels = g_strsplit(p, ".", -1);
	for (guint i = 0; labels[i] != NULL; i++) {
		gsize n = strlen(labels[i]);
		if (n == 0 || n > 63 || labels[i][0] == '-' || labels[i][n - 1] == '-')
			return FALSE;
		for (gsize j = 0; j < n; j++) {
			if (!g_ascii_isalnum(labels[i][j]) && labels[i][j] != '-')
				return FALSE;
		}
	}
	return TRUE;
}

static gboolean
parse_port(const gchar *text, guint16 *port)
{
	guint64 n = 0;

	if (!g_ascii_string_to_unsigned(text, 10, 1, 65535, &n, NULL))
		return FALSE;
	*port = (guint16)n;
	return TRUE;
}

static SbxNetpolEntry *
bad_entry(const gchar *text, GError **error)
{
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		    "allow_net: '%s' is not a host name, *.domain, IP address or CIDR range "
		    "(with an optional :port)",
		    text);
	return NULL;
}

/* "[v6]:port", "[v6]", "v4[/n][:port]", "host[:port]"; a bare v6 has no port */
static gchar *
split_port(const gchar *text, guint16 *port)
{
	const gchar *colon = strchr(text, ':');

	*port = 0;
	if (text[0] == '[') {
		const gchar *end = strchr(text, ']');
		if (end == NULL ||
		    (end[1] != '\0' && (end[1] != ':' || !parse_port(end + 2, port))))
			return NULL;
		return g_strndup(text + 1, end - text - 1);
	}
	if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		if (!parse_port(colon + 1, port))
			return NULL;
		return g_strndup(text, colon - text);
	}
	return g_strdup(text);
}

static SbxNetpolEntry *
parse_entry(const gchar *text, GError **error)
{
	g_autofree SbxNetpolEntry *entry = g_new0(SbxNetpolEntry, 1);
	g_autofree gchar *addr = NULL;
	g_autofree gchar *host = NULL;
	GSocketFamily family;

	if (strlen(text) == 0 || strlen(text) > SBX_NETPOL_POLICY_MAX_ENTRY ||
	    !g_str_is_ascii(text)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "allow_net: an entry must be 1-%d ASCII bytes",
			    SBX_NETPOL_POLICY_MAX_ENTRY);
		return NULL;
	}
	addr = split_port(text, &entry->port);
	if (addr == NULL)
		return bad_entry(text, error);
	if (sbx_netpol_range_parse(addr, &entry->range, &family, NULL)) {
		entry->ipv6 = family == G_SOCKET_FAMILY_IPV6;
		return g_steal_pointer(&entry);
	}
	host = g_ascii_strdown(addr, -1);
	if (text[0] == '[' || !host_is_valid(host))
		return bad_entry(text, error);
	entry->host = g_steal_pointer(&host);
	return g_steal_pointer(&entry);
}

SbxNetpolPolicy *
sbx_netpol_policy_new(const gchar *const *allow_net, GError **error)
{
	g_autoptr(SbxNetpolPolicy) policy = g_new0(SbxNetpolPolicy, 1);
	guint n = allow_net != NULL ? g_strv_length((gchar **)allow_net) : 0;

	policy->entries = g_ptr_array_new_with_free_func((GDestroyNotify)entry_free);
	if (n > SBX_NETPOL_POLICY_MAX_ENTRIES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "allow_net: at most %d entries", SBX_NETPOL_POLICY_MAX_ENTRIES);
		return NULL;
	}
	for (guint i = 0; i < n; i++) {
		SbxNetpolEntry *entry = parse_entry(allow_net[i], error);
		if (entry == NULL)
			return NULL;
		g_ptr_array_add(policy->entries, entry);
	}
	return g_steal_pointer(&policy);
}

gboolean
sbx_netpol_policy_is_offline(const SbxNetpolPolicy *policy)
{
	return policy->entries->len == 0;
}

gchar **
sbx_netpol_policy_to_strv(const SbxNetpolPolicy *policy)
{
	GStrvBuilder *builder = g_strv_builder_new();
	gchar **strv;

	for (guint i = 0; i < policy->entries->len; i++) {
		SbxNetpolEntry *e = g_ptr_array_index(policy->entries, i);
		const gchar *what = e->host != NULL ? e->host : e->range;
		g_autofree gchar *s = NULL;

		if (e->port == 0)
			s = g_strdup(what);
		else if (e->ipv6)
			s = g_strdup_printf("[%s]:%u", what, e->port);
		else
			s = g_strdup_printf("%s:%u", what, e->port);
		g_strv_builder_add(builder, s);
	}
	strv = g_strv_builder_end(builder);
	g_strv_builder_unref(builder);
	return strv;
}
