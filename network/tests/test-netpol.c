/* unit tests of the host network policy: range parsing, the nftables ruleset
 * (golden file), and, as root, the kernel accepting, installing and removing it
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <string.h>
#include <unistd.h>

#include "sbx-netpol-firewall.h"
#include "sbx-netpol-keyring.h"
#include "sbx-netpol-nft.h"
#include "sbx-netpol-policy.h"
#include "sbx-netpol-range.h"
#include "sbx-netpol-ruleset.h"

static void
test_range_parse(void)
{
	static const struct {
		const gchar *in;
		const gchar *out; /* NULL: refused */
		GSocketFamily family;
	} cases[] = {
	    {"10.0.0.0/8", "10.0.0.0/8", G_SOCKET_FAMILY_IPV4},
	    {"10.1.2.3/8", "10.0.0.0/8", G_SOCKET_FAMILY_IPV4},
	    {"192.0.2.7", "192.0.2.7/32", G_SOCKET_FAMILY_IPV4},
	    {"172.31.255.255/12", "172.16.0.0/12", G_SOCKET_FAMILY_IPV4},
	    {"0.0.0.0/0", "0.0.0.0/0", G_SOCKET_FAMILY_IPV4},
	    {"fe80::1/10", "fe80::/10", G_SOCKET_FAMILY_IPV6},
	    {"::1", "::1/128", G_SOCKET_FAMILY_IPV6},
	    {"10.0.0.0/33", NULL},
	    {"10.0.0/8", NULL},
	    {"fe80::/129", NULL},
	    {"10.0.0.0/", NULL},
	    {"10.0.0.0/-1", NULL},
	    {"example.com", NULL},
	    {"", NULL},
	    {"1.2.3.4/8/8", NULL},
	    {"1.2.3.4 }; flush ruleset", NULL},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *out = NULL;
		GSocketFamily family = G_SOCKET_FAMILY_INVALID;
		gboolean ok = sbx_netpol_range_parse(cases[i].in, &out, &family, &error);

		if (cases[i].out == NULL) {
			g_assert_false(ok);
			g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
			continue;
		}
		g_assert_no_error(error);
		g_assert_true(ok);
		g_assert_cmpstr(out, ==, cases[i].out);
		g_assert_cmpint(family, ==, cases[i].family);
	}
}

static void
test_range_list(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) v4 = NULL;
	g_autoptr(GPtrArray) v6 = NULL;

	g_assert_true(
	    sbx_netpol_range_parse_list(SBX_NETPOL_RANGE_BLOCKED_DEFAULT, &v4, &v6, &error));
	g_assert_no_error(error);
	g_assert_cmpuint(v4->len, ==, 7);
	g_assert_cmpuint(v6->len, ==, 3);
	g_clear_pointer(&v4, g_ptr_array_unref);
	g_clear_pointer(&v6, g_ptr_array_unref);
	g_assert_true(sbx_netpol_range_parse_list(" ;, ", &v4, &v6, &error));
	g_assert_cmpuint(v4->len + v6->len, ==, 0);
	g_clear_pointer(&v4, g_ptr_array_unref);
	g_clear_pointer(&v6, g_ptr_array_unref);
	g_assert_false(sbx_netpol_range_parse_list("10.0.0.0/8, nope", &v4, &v6, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_assert_null(v4);
}

static GPtrArray *
test_zones(void)
{
	GPtrArray *zones =
	    g_ptr_array_new_with_free_func((GDestroyNotify)sbx_netpol_ruleset_zone_free);
	g_autoptr(GPtrArray) v4 = NULL;
	g_autoptr(GPtrArray) v6 = NULL;
	g_autoptr(GPtrArray) none4 = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) none6 = g_ptr_array_new_with_free_func(g_free);

	g_assert_true(
	    sbx_netpol_range_parse_list(SBX_NETPOL_RANGE_BLOCKED_DEFAULT, &v4, &v6, NULL));
	g_ptr_array_add(zones, sbx_netpol_ruleset_zone_new("sbxbr0", v4, v6));
	/* overlapping ranges are merged by nft, not refused */
	g_ptr_array_add(v4, g_strdup("10.1.0.0/16"));
	g_ptr_array_add(zones, sbx_netpol_ruleset_zone_new("sbxbr1", none4, none6));
	return zones;
}

static void
test_ruleset_golden(void)
{
	g_autoptr(GPtrArray) zones = test_zones();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *script = sbx_netpol_ruleset_build("sandboxd", zones, &error);
	g_autofree gchar *path = g_test_build_filename(G_TEST_DIST, "data", "ruleset.nft", NULL);
	g_autofree gchar *expected = NULL;

	g_assert_no_error(error);
	if (g_getenv("SBX_TEST_REGENERATE_OUTPUT") != NULL) {
		g_assert_true(g_file_set_contents(path, script, -1, &error));
		return;
	}
	g_assert_true(g_file_get_contents(path, &expected, NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(script, ==, expected);
}

static void
test_ruleset_bad_names(void)
{
	g_autoptr(GPtrArray) zones =
	    g_ptr_array_new_with_free_func((GDestroyNotify)sbx_netpol_ruleset_zone_free);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *script = NULL;

	script = sbx_netpol_ruleset_build("sandboxd; flush ruleset", zones, &error);
	g_assert_null(script);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_ptr_array_add(zones, sbx_netpol_ruleset_zone_new("br\" accept", NULL, NULL));
	script = sbx_netpol_ruleset_build("sandboxd", zones, &error);
	g_assert_null(script);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_assert_false(sbx_netpol_ruleset_ifname_is_valid("a-very-long-bridge0"));
	g_assert_true(sbx_netpol_ruleset_ifname_is_valid("sbxbr0"));
}

static void
test_firewall_config(void)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxNetpolFirewall) fw = NULL;

	fw = sbx_netpol_firewall_new(NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(sbx_netpol_firewall_get_table(fw), ==, "sandboxd");
	/* not installed: no network for anyone, and it says why */
	g_assert_false(sbx_netpol_firewall_is_active(fw));
	g_assert_nonnull(sbx_netpol_firewall_get_failure(fw));
	g_assert_false(sbx_netpol_firewall_is_active(NULL));
	g_clear_object(&fw);

	g_key_file_set_string(kf, "network", "BlockedRanges", "10.0.0.0/8, 300.1.1.1");
	fw = sbx_netpol_firewall_new(kf, &error);
	g_assert_null(fw);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_assert_nonnull(strstr(error->message, "BlockedRanges"));
	g_clear_error(&error);
	g_key_file_set_string(kf, "network", "BlockedRanges", "");
	g_key_file_set_string(kf, "network", "Table", "x y");
	fw = sbx_netpol_firewall_new(kf, &error);
	g_assert_null(fw);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

static gboolean
table_exists(const gchar *table)
{
	g_autoptr(GSubprocess) proc = NULL;

	proc =
	    g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
			     NULL, "nft", "list", "table", "inet", table, NULL);
	g_assert_nonnull(proc);
	g_assert_true(g_subprocess_wait(proc, NULL, NULL));
	return g_subprocess_get_if_exited(proc) && g_subprocess_get_exit_status(proc) == 0;
}

static gboolean
can_use_nft(void)
{
	g_autofree gchar *nft = g_find_program_in_path("nft");

	if (getuid() != 0 || nft == NULL) {
		g_test_skip("needs root and nft (apt-get install nftables)");
		return FALSE;
	}
	return TRUE;
}

/* the kernel's own parser accepts the ruleset (nft -c: checked, not applied) */
static void
test_ruleset_kernel_check(void)
{
	g_autoptr(GPtrArray) zones = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *script = NULL;

	if (!can_use_nft())
		return;
	zones = test_zones();
	script = sbx_netpol_ruleset_build("sbxunit_check", zones, &error);
	g_assert_no_error(error);
	g_assert_true(sbx_netpol_nft_run_sync(script, TRUE, &error));
	g_assert_no_error(error);
	g_assert_false(table_exists("sbxunit_check"));
	/* and a broken script gets nft's message */
	g_assert_false(
	    sbx_netpol_nft_run_sync("table inet x { chain c { nonsense } }", TRUE, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "nft refused"));
}

static void
on_started(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GError **error = user_data;
	if (!sbx_netpol_firewall_start_finish(SBX_NETPOL_FIREWALL(source), res, error))
		g_assert_nonnull(*error);
	else
		*error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_EXISTS, "done");
}

static void
start_and_wait(SbxNetpolFirewall *fw, GError **error)
{
	sbx_netpol_firewall_start_async(fw, NULL, on_started, error);
	while (*error == NULL)
		g_main_context_iteration(NULL, TRUE);
}

/* [network] for a test table; the egress proxy is the one just built, on
 * ports of this test's own */
static void
set_test_config(GKeyFile *kf, const gchar *table)
{
	guint base = 30000 + (guint)getpid() % 10000 * 2;

	g_key_file_set_string(kf, "network", "Table", table);
	g_key_file_set_string(kf, "network", "EgressProgram", g_getenv("SBX_EGRESS_PROGRAM"));
	g_key_file_set_uint64(kf, "network", "EgressPort", base);
	g_key_file_set_uint64(kf, "network", "EgressDnsPort", base + 1);
}

/* installed twice (a restart replaces it), then removed; nothing else touched */
static void
test_firewall_install(void)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(SbxNetpolFirewall) fw = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *table = g_strdup_printf("sbxunit_%d", (int)getpid());
	g_autofree gchar *other = g_strdup_printf("sbxunit_other_%d", (int)getpid());
	g_autofree gchar *other_script = g_strdup_printf("table inet %s {}\n", other);
	g_autofree gchar *del_other = sbx_netpol_ruleset_build_delete(other);

	if (!can_use_nft())
		return;
	g_assert_true(sbx_netpol_nft_run_sync(other_script, FALSE, &error));
	set_test_config(kf, table);
	fw = sbx_netpol_firewall_new(kf, &error);
	g_assert_no_error(error);
	g_assert_true(sbx_netpol_firewall_add_bridge(fw, "sbxunit0", &error));
	g_assert_true(sbx_netpol_firewall_add_bridge(fw, "sbxunit0", &error));
	g_assert_false(sbx_netpol_firewall_add_bridge(fw, "bad name", &error));
	g_clear_error(&error);
	for (guint i = 0; i < 2; i++) {
		start_and_wait(fw, &error);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
		g_clear_error(&error);
		g_assert_true(sbx_netpol_firewall_is_active(fw));
		g_assert_null(sbx_netpol_firewall_get_failure(fw));
		g_assert_true(table_exists(table));
	}
	g_assert_true(sbx_netpol_firewall_stop(fw, &error));
	g_assert_no_error(error);
	g_assert_false(table_exists(table));
	g_assert_false(sbx_netpol_firewall_is_active(fw));
	g_assert_true(table_exists(other));
	g_assert_true(sbx_netpol_nft_run_sync(del_other, FALSE, &error));
	g_assert_no_error(error);
}

/* a region's BlockedRanges: its bridge gets its own sets; regions sharing a
 * bridge must agree; a bad range is refused */
static void
test_firewall_regions(void)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(SbxNetpolFirewall) fw = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *table = g_strdup_printf("sbxunit_r%d", (int)getpid());
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree gchar *out = NULL;

	if (!can_use_nft())
		return;
	set_test_config(kf, table);
	fw = sbx_netpol_firewall_new(kf, &error);
	g_assert_no_error(error);
	g_assert_true(sbx_netpol_firewall_add_bridge(fw, "sbxunit2", &error));
	g_assert_true(sbx_netpol_firewall_add_bridge_with_ranges(
	    fw, "sbxunit3", "198.51.100.0/24, fd99::/16", &error));
	g_assert_no_error(error);
	/* the same again is fine, other ranges on that bridge are not */
	g_assert_true(sbx_netpol_firewall_add_bridge_with_ranges(
	    fw, "sbxunit3", "fd99::/16 198.51.100.0/24", &error));
	g_assert_false(
	    sbx_netpol_firewall_add_bridge_with_ranges(fw, "sbxunit3", "10.0.0.0/8", &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_false(
	    sbx_netpol_firewall_add_bridge_with_ranges(fw, "sbxunit4", "not-a-range", &error));
	g_assert_nonnull(strstr(error->message, "BlockedRanges"));
	g_clear_error(&error);
	start_and_wait(fw, &error);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_clear_error(&error);
	proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "nft", "list", "table",
				"inet", table, NULL);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error));
	/* the default bridge keeps the private ranges, the region's has its own */
	g_assert_nonnull(strstr(out, "set blocked4_0"));
	g_assert_nonnull(strstr(out, "set blocked4_1"));
	g_assert_nonnull(strstr(out, "198.51.100.0/24"));
	g_assert_nonnull(strstr(out, "10.0.0.0/8"));
	g_assert_true(sbx_netpol_firewall_stop(fw, &error));
	g_assert_no_error(error);
}

/* secrets survive a daemon restart in the kernel keyring, and only there */
static void
test_secrets_keyring(void)
{
	const gchar *hosts[] = {"api.example.com", "*.example.org", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxNetpolSecrets) secrets = sbx_netpol_secrets_new(
	    g_variant_new_parsed("{'K': (%^as, 'v4lue'), 'L': (['api.example.com'], 'w')}", hosts),
	    NULL, &error);
	g_autofree gchar *id = g_strdup_printf("sbxunit-%d", (int)getpid());
	g_autoptr(GBytes) blob = NULL;
	g_autoptr(GBytes) back = NULL;
	g_autoptr(SbxNetpolSecrets) restored = NULL;
	g_autoptr(GBytes) junk = g_bytes_new_static("junk", 4);

	g_assert_no_error(error);
	blob = sbx_netpol_secrets_serialize(secrets);
	g_assert_true(sbx_netpol_keyring_store(id, blob, &error));
	g_assert_no_error(error);
	back = sbx_netpol_keyring_load(id, &error);
	g_assert_no_error(error);
	g_assert_true(g_bytes_equal(back, blob));
	restored = sbx_netpol_secrets_deserialize(back, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(restored->items->len, ==, 2);
	for (guint i = 0; i < 2; i++) {
		SbxNetpolSecret *a = g_ptr_array_index(secrets->items, i);
		SbxNetpolSecret *b = g_ptr_array_index(restored->items, i);
		g_assert_cmpstr(a->name, ==, b->name);
		g_assert_cmpstr(a->value, ==, b->value);
		g_assert_cmpstr(a->placeholder, ==, b->placeholder);
		g_assert_cmpstrv(a->hosts, b->hosts);
	}
	g_assert_cmpstr(sbx_netpol_ca_get_cert_pem(restored->ca), ==,
			sbx_netpol_ca_get_cert_pem(secrets->ca));
	sbx_netpol_keyring_remove(id);
	g_assert_null(sbx_netpol_keyring_load(id, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_null(sbx_netpol_secrets_deserialize(junk, &error));
	g_assert_nonnull(error);
}

static void
test_policy_parse(void)
{
	const gchar *good[] = {"example.com",
			       "Example.COM:8443",
			       "*.example.com",
			       "*.example.com:443",
			       "10.1.2.3",
			       "10.0.0.0/8:5432",
			       "[fd00::1]:443",
			       "[fd00::/8]",
			       "fd00::1",
			       "localhost",
			       NULL};
	const gchar *normalized[] = {"example.com",
				     "example.com:8443",
				     "*.example.com",
				     "*.example.com:443",
				     "10.1.2.3/32",
				     "10.0.0.0/8:5432",
				     "[fd00::1/128]:443",
				     "fd00::/8",
				     "fd00::1/128",
				     "localhost",
				     NULL};
	const gchar *bad[] = {"",
			      "exa mple.com",
			      "example.com:0",
			      "example.com:65536",
			      "example.com:http",
			      "-x.example.com",
			      "a.*.example.com",
			      "*",
			      "*.",
			      "example..com",
			      "10.0.0.0/33",
			      "[fd00::1",
			      "[fd00::1]x",
			      "[example.com]:80",
			      "example.com/8",
			      "ex\"ample.com",
			      "caf\xc3\xa9.com",
			      NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxNetpolPolicy) policy = sbx_netpol_policy_new(good, &error);
	g_auto(GStrv) back = NULL;
	g_autoptr(GPtrArray) many = g_ptr_array_new_with_free_func(g_free);
	const gchar *none[] = {NULL};

	g_assert_no_error(error);
	back = sbx_netpol_policy_to_strv(policy);
	g_assert_cmpstrv(back, normalized);
	g_assert_false(sbx_netpol_policy_is_offline(policy));
	for (guint i = 0; bad[i] != NULL; i++) {
		const gchar *one[] = {bad[i], NULL};
		g_autoptr(SbxNetpolPolicy) p = sbx_netpol_policy_new(one, &error);
		if (p != NULL)
			g_error("'%s' was accepted", bad[i]);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
		g_clear_error(&error);
	}
	for (guint i = 0; i <= SBX_NETPOL_POLICY_MAX_ENTRIES; i++)
		g_ptr_array_add(many, g_strdup_printf("h%u.example.com", i));
	g_ptr_array_add(many, NULL);
	g_clear_pointer(&policy, sbx_netpol_policy_free);
	policy = sbx_netpol_policy_new((const gchar *const *)many->pdata, &error);
	g_assert_null(policy);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	policy = sbx_netpol_policy_new(none, &error);
	g_assert_no_error(error);
	g_assert_true(sbx_netpol_policy_is_offline(policy));
}

static void
on_sandbox_added(GObject *source, GAsyncResult *res, gpointer user_data)
{
	GError **error = user_data;
	if (!sbx_netpol_firewall_add_sandbox_finish(SBX_NETPOL_FIREWALL(source), res, error))
		g_assert_nonnull(*error);
	else
		*error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_EXISTS, "done");
}

/* per-sandbox rules go into the running table and out again */
static void
test_firewall_sandbox(void)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(SbxNetpolFirewall) fw = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *table = g_strdup_printf("sbxunit_sb_%d", (int)getpid());
	const gchar *allow[] = {"172.31.0.9:8080", "192.0.2.0/24", "example.com", "[fd00::1]",
				NULL};
	g_autoptr(SbxNetpolPolicy) policy = sbx_netpol_policy_new(allow, &error);
	g_autofree gchar *out = NULL;
	g_autofree gchar *bad = NULL;

	g_assert_no_error(error);
	bad = sbx_netpol_ruleset_build_sandbox("t", "sbx1", "10.0.0.1 }; flush ruleset; {", policy,
					       0, 0, &error);
	g_assert_null(bad);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	if (!can_use_nft())
		return;
	set_test_config(kf, table);
	fw = sbx_netpol_firewall_new(kf, &error);
	g_assert_true(sbx_netpol_firewall_add_bridge(fw, "sbxunit1", &error));
	start_and_wait(fw, &error);
	g_clear_error(&error);
	sbx_netpol_firewall_add_sandbox_async(fw, "sbxabc-1", "10.213.7.7", policy, NULL, NULL,
					      on_sandbox_added, &error);
	while (error == NULL)
		g_main_context_iteration(NULL, TRUE);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_clear_error(&error);
	{
		g_autoptr(GSubprocess) proc =
		    g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "nft", "list", "table",
				     "inet", table, NULL);
		g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error));
	}
	g_assert_nonnull(strstr(out, "10.213.7.7 : jump sbx_sbxabc_1_out"));
	g_assert_nonnull(
	    strstr(out, "ip daddr 172.31.0.9 meta l4proto { tcp, udp } th dport 8080 accept"));
	g_assert_nonnull(strstr(out, "ip daddr 192.0.2.0/24 accept"));
	/* the name goes through the proxy: DNS and web ports redirected to it,
	 * and only redirected traffic reaches its ports */
	{
		g_autofree gchar *dns = g_strdup_printf(
		    "fib daddr type local udp dport 53 ct mark set 0x73627865 redirect to :%u",
		    (guint)g_key_file_get_uint64(kf, "network", "EgressDnsPort", NULL));
		g_autofree gchar *web = g_strdup_printf(
		    "tcp dport { 80, 443 } ct mark set 0x73627865 redirect to :%u",
		    (guint)g_key_file_get_uint64(kf, "network", "EgressPort", NULL));
		g_assert_nonnull(strstr(out, "10.213.7.7 : jump sbx_sbxabc_1_nat"));
		/* listed addresses: not redirected, marked for every sandboxd table */
		g_assert_nonnull(
		    strstr(out, "ip daddr 192.0.2.0/24 ct mark set 0x73627861 return"));
		g_assert_nonnull(strstr(out, dns));
		g_assert_nonnull(strstr(out, web));
		g_assert_nonnull(strstr(out, "ct status dnat tcp dport"));
		g_assert_true(sbx_netpol_egress_is_running(sbx_netpol_firewall_get_egress(fw)));
	}
	sbx_netpol_firewall_remove_sandbox(fw, "sbxabc-1");
	/* removal is asynchronous: wait for the chain to go */
	for (guint i = 0; i < 100; i++) {
		g_autoptr(GSubprocess) proc =
		    g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "nft", "list", "table",
				     "inet", table, NULL);
		g_clear_pointer(&out, g_free);
		g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error));
		if (strstr(out, "sbx_sbxabc_1_out") == NULL)
			break;
		g_main_context_iteration(NULL, FALSE);
		g_usleep(20000);
	}
	g_assert_null(strstr(out, "sbx_sbxabc_1_out"));
	/* secrets without allow_net: only HTTPS to the proxy, no drop of its
	 * own (the default isolation follows) */
	{
		const gchar *hosts[] = {"api.example.com", NULL};
		g_autoptr(SbxNetpolSecrets) secrets = sbx_netpol_secrets_new(
		    g_variant_new_parsed("{'K': (%^as, 'v')}", hosts), NULL, &error);
		g_autoptr(GSubprocess) proc = NULL;
		g_autofree gchar *web = g_strdup_printf(
		    "tcp dport 443 ct mark set 0x73627865 redirect to :%u",
		    (guint)g_key_file_get_uint64(kf, "network", "EgressPort", NULL));
		g_assert_no_error(error);
		sbx_netpol_firewall_add_sandbox_async(fw, "sbxabc-2", "10.213.7.8", NULL, secrets,
						      NULL, on_sandbox_added, &error);
		while (error == NULL)
			g_main_context_iteration(NULL, TRUE);
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
		g_clear_error(&error);
		proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "nft", "list",
					"chain", "inet", table, "sbx_sbxabc_2_nat", NULL);
		g_clear_pointer(&out, g_free);
		g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error));
		g_assert_nonnull(strstr(out, web));
		g_assert_null(strstr(out, "dport 53"));
		g_clear_object(&proc);
		proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "nft", "list",
					"chain", "inet", table, "sbx_sbxabc_2_out", NULL);
		g_clear_pointer(&out, g_free);
		g_assert_true(g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, &error));
		g_assert_null(strstr(out, "drop"));
	}
	g_assert_true(sbx_netpol_firewall_stop(fw, &error));
	g_assert_no_error(error);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/netpol/range/parse", test_range_parse);
	g_test_add_func("/netpol/range/list", test_range_list);
	g_test_add_func("/netpol/ruleset/golden", test_ruleset_golden);
	g_test_add_func("/netpol/ruleset/bad-names", test_ruleset_bad_names);
	g_test_add_func("/netpol/ruleset/kernel-check", test_ruleset_kernel_check);
	g_test_add_func("/netpol/firewall/config", test_firewall_config);
	g_test_add_func("/netpol/firewall/install", test_firewall_install);
	g_test_add_func("/netpol/firewall/regions", test_firewall_regions);
	g_test_add_func("/netpol/secrets/keyring", test_secrets_keyring);
	g_test_add_func("/netpol/policy/parse", test_policy_parse);
	g_test_add_func("/netpol/firewall/sandbox", test_firewall_sandbox);
	return g_test_run();
}
