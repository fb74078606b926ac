/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sbx-netpol-range.h"
#include "sbx-netpol-ruleset.h"

SbxNetpolZone *
sbx_netpol_ruleset_zone_new(const gchar *bridge, GPtrArray *blocked4, GPtrArray *blocked6)
{
	SbxNetpolZone *zone = g_new0(SbxNetpolZone, 1);

	zone->bridge = g_strdup(bridge);
	zone->blocked4 =
	    blocked4 != NULL ? g_ptr_array_ref(blocked4) : g_ptr_array_new_with_free_func(g_free);
	zone->blocked6 =
	    blocked6 != NULL ? g_ptr_array_ref(blocked6) : g_ptr_array_new_with_free_func(g_free);
	return zone;
}

void
sbx_netpol_ruleset_zone_free(SbxNetpolZone *zone)
{
	if (zone == NULL)
		return;
	g_free(zone->bridge);
	g_ptr_array_unref(zone->blocked4);
	g_ptr_array_unref(zone->blocked6);
	g_free(zone);
}

static gboolean
name_is_valid(const gchar *name, gsize max, const gchar *extra)
{
	gsize len = name != NULL ? strlen(name) : 0;

	if (len == 0 || len > max)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(name[i]) && strchr(extra, name[i]) == NULL)
			return FALSE;
	}
	return TRUE;
}

gboolean
sbx_netpol_ruleset_table_is_valid(const gchar *table)
{
	return name_is_valid(table, 32, "_");
}

gboolean
sbx_netpol_ruleset_ifname_is_valid(const gchar *name)
{
	return name_is_valid(name, 15, "_.-");
}

static void
append_set(GString *out, const gchar *name, const gchar *type, GPtrArray *elements)
{
	g_string_append_printf(out,
			       "\tset %s {\n"
			       "\t\ttype %s\n"
			       "\t\tflags interval\n"
			       "\t\tauto-merge\n",
			       name, type);
	if (elements->len > 0) {
		g_string_append(out, "\t\telements = { ");
		for (guint i = 0; i < elements->len; i++)
			g_string_append_printf(out, "%s%s", i > 0 ? ", " : "",
					       (const gchar *)g_ptr_array_index(elements, i));
		g_string_append(out, " }\n");
	}
	g_string_append(out, "\t}\n");
}

gchar *
sbx_netpol_ruleset_build(const gchar *table, GPtrArray *zones, GError **error)
{
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GString) bridges = g_string_new(NULL);

	if (!sbx_netpol_ruleset_table_is_valid(table)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "'%s' is not a valid nftables table name ([A-Za-z0-9_], 1-32 bytes)",
			    table != NULL ? table : "");
		return NULL;
	}
	for (guint i = 0; i < zones->len; i++) {
		SbxNetpolZone *zone = g_ptr_array_index(zones, i);
		if (!sbx_netpol_ruleset_ifname_is_valid(zone->bridge)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "'%s' is not a valid bridge name",
				    zone->bridge != NULL ? zone->bridge : "");
			return NULL;
		}
		g_string_append_printf(bridges, "%s\"%s\"", i > 0 ? ", " : "", zone->bridge);
	}

	/* declaring the table first makes the delete succeed on a fresh host; the
	 * whole file is one transaction, so there is no moment without rules */
	g_string_append_printf(out,
			       "table inet %s\n"
			       "delete table inet %s\n"
			       "table inet %s {\n",
			       table, table, table);
	/* sandboxes with an allow_net list, by address (clean-traffic pins it) */
	g_string_append(out, "\tmap sandbox_out {\n"
			     "\t\ttype ipv4_addr : verdict\n"
			     "\t}\n"
			     "\tmap sandbox_host {\n"
			     "\t\ttype ipv4_addr : verdict\n"
			     "\t}\n"
			     "\tmap sandbox_nat {\n"
			     "\t\ttype ipv4_addr : verdict\n"
			     "\t}\n");
	for (guint i = 0; i < zones->len; i++) {
		SbxNetpolZone *zone = g_ptr_array_index(zones, i);
		g_autofree gchar *set4 = g_strdup_printf("blocked4_%u", i);
		g_autofree gchar *set6 = g_strdup_printf("blocked6_%u", i);

		g_string_append_printf(out, "\t# zone %u: bridge %s\n", i, zone->bridge);
		append_set(out, set4, "ipv4_addr", zone->blocked4);
		append_set(out, set6, "ipv6_addr", zone->blocked6);
	}

	/* guests reach the host only for DNS (and, with a policy, the egress
	 * proxy): no ssh, no metrics endpoint, no libvirt, nothing else */
	g_string_append(out, "\tchain input {\n"
			     "\t\ttype filter hook input priority filter - 10; policy accept;\n");
	if (zones->len > 0)
		g_string_append_printf(out, "\t\tiifname { %s } jump guest_to_host\n",
				       bridges->str);
	g_string_append(out,
			"\t}\n"
			"\tchain guest_to_host {\n"
			"\t\tmeta nfproto ipv6 counter drop\n"
			"\t\tct state established,related accept\n"
			"\t\tip saddr vmap @sandbox_host\n"
			/* another sandboxd's guest, sent to its proxy by its table */
			"\t\tct status dnat ct mark " SBX_NETPOL_RULESET_EGRESS_MARK " accept\n"
			"\t\tmeta l4proto { tcp, udp } th dport 53 accept\n"
			"\t\tcounter drop\n"
			"\t}\n");

	/* routed traffic: never from one guest to another (port isolation
	 * stops it on the bridge, this through the host), never to the
	 * blocked ranges, never new connections into a guest */
	g_string_append(out, "\tchain forward {\n"
			     "\t\ttype filter hook forward priority filter - 10; policy accept;\n");
	for (guint i = 0; i < zones->len; i++) {
		SbxNetpolZone *zone = g_ptr_array_index(zones, i);
		g_string_append_printf(out, "\t\tiifname \"%s\" jump guest_out_%u\n", zone->bridge,
				       i);
	}
	if (zones->len > 0)
		g_string_append_printf(out, "\t\toifname { %s } jump to_guest\n", bridges->str);
	g_string_append(out, "\t}\n");
	for (guint i = 0; i < zones->len; i++) {
		g_string_append_printf(out, "\tchain guest_out_%u {\n", i);
		g_string_append(out, "\t\tmeta nfproto ipv6 counter drop\n");
		g_string_append_printf(out, "\t\toifname { %s } counter drop\n", bridges->str);
		/* a listed address may be a private one: before the blocked ranges;
		 * the mark: another sandboxd's guest, to an address its policy lists */
		g_string_append(out, "\t\tct mark " SBX_NETPOL_RULESET_ALLOW_MARK " accept\n"
				     "\t\tip saddr vmap @sandbox_out\n");
		g_string_append_printf(out,
				       "\t\tip daddr @blocked4_%u counter drop\n"
				       "\t\tip6 daddr @blocked6_%u counter drop\n"
				       "\t}\n",
				       i, i);
	}
	/* sandboxes with host names: their DNS and web traffic to the egress
	 * proxy (the sandbox's own chain says which) */
	g_string_append(out, "\tchain prerouting {\n"
			     "\t\ttype nat hook prerouting priority dstnat - 10; policy accept;\n");
	if (zones->len > 0)
		g_string_append_printf(out, "\t\tiifname { %s } ip saddr vmap @sandbox_nat\n",
				       bridges->str);
	g_string_append(out, "\t}\n");
	g_string_append(out, "\tchain to_guest {\n"
			     "\t\tct state established,related accept\n"
			     "\t\tcounter drop\n"
			     "\t}\n"
			     "}\n");
	return g_string_free(g_steal_pointer(&out), FALSE);
}

gchar *
sbx_netpol_ruleset_build_delete(const gchar *table)
{
	g_return_val_if_fail(sbx_netpol_ruleset_table_is_valid(table), NULL);
	/* "destroy" needs nft 1.0.8; declare-then-delete works everywhere */
	return g_strdup_printf("table inet %s\n"
			       "delete table inet %s\n",
			       table, table);
}

/* chain names from the sandbox id ([a-z0-9-]) */
static gchar *
chain_name(const gchar *id, const gchar *suffix)
{
	g_autofree gchar *safe = g_strdup(id);

	g_strcanon(safe, "abcdefghijklmnopqrstuvwxyz0123456789", '_');
	return g_strdup_printf("sbx_%s_%s", safe, suffix);
}

static gboolean
check_sandbox(const gchar *table, const gchar *id, const gchar *ip, GError **error)
{
	g_autofree gchar *range = NULL;
	GSocketFamily family = G_SOCKET_FAMILY_INVALID;

	if (!sbx_netpol_ruleset_table_is_valid(table) || id == NULL || strlen(id) == 0 ||
	    strlen(id) > 63 || ip == NULL || strchr(ip, '/') != NULL ||
	    !sbx_netpol_range_parse(ip, &range, &family, NULL) || family != G_SOCKET_FAMILY_IPV4) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "sandbox %s: no valid table, id or IPv4 address for its rules",
			    id != NULL ? id : "");
		return FALSE;
	}
	return TRUE;
}

static void
append_range_match(GString *out, const SbxNetpolEntry *e, const gchar *verdict)
{
	if (e->port == 0)
		g_string_append_printf(out, "ip daddr %s %s\n", e->range, verdict);
	else
		g_string_append_printf(out,
				       "ip daddr %s meta l4proto { tcp, udp } th dport %u %s\n",
				       e->range, e->port, verdict);
}

/* names go through the proxy: DNS to the host to its resolver, TCP to the
 * web ports (and the ports names list) to its listener */
static void
append_redirects(GString *out, const gchar *table, const gchar *nat_chain,
		 const SbxNetpolPolicy *policy, guint16 egress_port, guint16 dns_port)
{
	g_autoptr(GString) ports = g_string_new("80, 443");

	for (guint i = 0; i < policy->entries->len; i++) {
		SbxNetpolEntry *e = g_ptr_array_index(policy->entries, i);

		if (e->host != NULL && e->port != 0 && e->port != 80 && e->port != 443) {
			g_autofree gchar *p = g_strdup_printf(", %u,", e->port);
			g_autofree gchar *all = g_strdup_printf(", %s,", ports->str);
			if (strstr(all, p) == NULL)
				g_string_append_printf(ports, ", %u", e->port);
		}
	}
	/* the mark says "redirected to a sandboxd egress proxy" to every
	 * sandboxd table on the host (tests run several daemons on one bridge) */
	g_string_append_printf(out,
			       "add rule inet %s %s fib daddr type local udp dport 53 "
			       "ct mark set " SBX_NETPOL_RULESET_EGRESS_MARK " redirect to :%u\n"
			       "add rule inet %s %s tcp dport { %s } "
			       "ct mark set " SBX_NETPOL_RULESET_EGRESS_MARK " redirect to :%u\n",
			       table, nat_chain, dns_port, table, nat_chain, ports->str,
			       egress_port);
}

gchar *
sbx_netpol_ruleset_build_sandbox(const gchar *table, const gchar *id, const gchar *ip,
				 const SbxNetpolPolicy *policy, guint16 egress_port,
				 guint16 dns_port, GError **error)
{
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree gchar *out_chain = chain_name(id != NULL ? id : "", "out");
	g_autofree gchar *host_chain = chain_name(id != NULL ? id : "", "host");
	g_autofree gchar *nat_chain = chain_name(id != NULL ? id : "", "nat");
	gboolean names = FALSE;

	if (!check_sandbox(table, id, ip, error))
		return NULL;
	for (guint i = 0; i < policy->entries->len; i++)
		names |= ((SbxNetpolEntry *)g_ptr_array_index(policy->entries, i))->host != NULL;
	g_string_append_printf(out,
			       "add chain inet %s %s\n"
			       "flush chain inet %s %s\n"
			       "add chain inet %s %s\n"
			       "flush chain inet %s %s\n"
			       "add chain inet %s %s\n"
			       "flush chain inet %s %s\n",
			       table, out_chain, table, out_chain, table, host_chain, table,
			       host_chain, table, nat_chain, table, nat_chain);
	/* listed addresses are not redirected, and their connections carry a mark
	 * that tells every sandboxd table on the host (another daemon's default
	 * rules would block a private address) that a sandboxd policy allowed them */
	for (guint i = 0; i < policy->entries->len; i++) {
		SbxNetpolEntry *e = g_ptr_array_index(policy->entries, i);

		if (e->range == NULL || e->ipv6)
			continue;
		g_string_append_printf(out, "add rule inet %s %s ", table, nat_chain);
		append_range_match(out, e, "ct mark set " SBX_NETPOL_RULESET_ALLOW_MARK " return");
	}
	if (names && egress_port != 0 && dns_port != 0) {
		append_redirects(out, table, nat_chain, policy, egress_port, dns_port);
		/* only what the redirect made of it: a guest cannot aim at the
		 * proxy's ports itself, and gets nothing else of the host */
		g_string_append_printf(out,
				       "add rule inet %s %s ct status dnat tcp dport %u accept\n"
				       "add rule inet %s %s ct status dnat udp dport %u accept\n",
				       table, host_chain, egress_port, table, host_chain, dns_port);
	}
	/* listed addresses (IPv4: guests have no IPv6), any port or the one given */
	for (guint i = 0; i < policy->entries->len; i++) {
		SbxNetpolEntry *e = g_ptr_array_index(policy->entries, i);

		if (e->range == NULL || e->ipv6)
			continue;
		g_string_append_printf(out, "add rule inet %s %s ", table, out_chain);
		append_range_match(out, e, "accept");
	}
	/* everything else: dropped. Names reach out only through the proxy
	 * (the host's input path), never forwarded: no DNS to outside
	 * resolvers, no QUIC, no raw IP */
	g_string_append_printf(out,
			       "add rule inet %s %s counter drop\n"
			       "add rule inet %s %s counter drop\n"
			       "add element inet %s sandbox_out { %s : jump %s }\n"
			       "add element inet %s sandbox_host { %s : jump %s }\n"
			       "add element inet %s sandbox_nat { %s : jump %s }\n",
			       table, out_chain, table, host_chain, table, ip, out_chain, table, ip,
			       host_chain, table, ip, nat_chain);
	return g_string_free(g_steal_pointer(&out), FALSE);
}

gchar *
sbx_netpol_ruleset_build_sandbox_open(const gchar *table, const gchar *id, const gchar *ip,
				      guint16 egress_port, GError **error)
{
	g_autofree gchar *out_chain = chain_name(id != NULL ? id : "", "out");
	g_autofree gchar *host_chain = chain_name(id != NULL ? id : "", "host");
	g_autofree gchar *nat_chain = chain_name(id != NULL ? id : "", "nat");

	if (!check_sandbox(table, id, ip, error))
		return NULL;
	/* no drop in its chains: after them the base chains' rules apply as to
	 * any sandbox (blocked ranges, DNS to the host) */
	return g_strdup_printf(
	    "add chain inet %s %s\n"
	    "flush chain inet %s %s\n"
	    "add chain inet %s %s\n"
	    "flush chain inet %s %s\n"
	    "add chain inet %s %s\n"
	    "flush chain inet %s %s\n"
	    "add rule inet %s %s tcp dport 443 ct mark set " SBX_NETPOL_RULESET_EGRESS_MARK
	    " redirect to :%u\n"
	    "add rule inet %s %s ct status dnat tcp dport %u accept\n"
	    "add element inet %s sandbox_out { %s : jump %s }\n"
	    "add element inet %s sandbox_host { %s : jump %s }\n"
	    "add element inet %s sandbox_nat { %s : jump %s }\n",
	    table, out_chain, table, out_chain, table, host_chain, table, host_chain, table,
	    nat_chain, table, nat_chain, table, nat_chain, egress_port, table, host_chain,
	    egress_port, table, ip, out_chain, table, ip, host_chain, table, ip, nat_chain);
}

gchar *
sbx_netpol_ruleset_build_sandbox_delete(const gchar *table, const gchar *id, const gchar *ip,
					GError **error)
{
	g_autofree gchar *out_chain = chain_name(id != NULL ? id : "", "out");
	g_autofree gchar *host_chain = chain_name(id != NULL ? id : "", "host");
	g_autofree gchar *nat_chain = chain_name(id != NULL ? id : "", "nat");

	if (!check_sandbox(table, id, ip, error))
		return NULL;
	return g_strdup_printf("delete element inet %s sandbox_out { %s }\n"
			       "delete element inet %s sandbox_host { %s }\n"
			       "delete element inet %s sandbox_nat { %s }\n"
			       "delete chain inet %s %s\n"
			       "delete chain inet %s %s\n"
			       "delete chain inet %s %s\n",
			       table, ip, table, ip, table, ip, table, out_chain, table, host_chain,
			       table, nat_chain);
}
