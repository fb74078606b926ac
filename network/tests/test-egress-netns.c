/* allow_net host names end to end without VMs: the real firewall (sandboxd's
 * SbxNetpolFirewall: its nftables table, the sandbox's nat and host chains)
 * and the real sandboxd-egress it starts, a "guest" in a network namespace
 * on a bridge of its own and upstream test hosts in another. The guest
 * reaches allowed.test by name over HTTP and HTTPS and nothing else.
 * A forked parent removes the namespaces and the table whatever happens.
 * Needs root, nft, ip, openssl, python3.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sbx-netpol-firewall.h"
#include "sbx-netpol-nft.h"
#include "sbx-netpol-ruleset.h"

#define GUEST_IP "10.77.0.5"
#define UPSTREAM "198.18.77.2"
#define OTHER_IP "198.18.77.9"

static gchar *tag;
static gchar *dir;
static gchar *table;

static gboolean
run_script(const gchar *verb, GError **error)
{
	g_autofree gchar *script = g_test_build_filename(G_TEST_DIST, "egress-netns.sh", NULL);
	const gchar *argv[] = {"sh", script, verb, tag, dir, NULL};
	gint status = 0;

	if (!g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
			  &status, error))
		return FALSE;
	return g_spawn_check_wait_status(status, error);
}

typedef struct {
	GPtrArray *denied;
	gchar *out;
	gboolean done;
} Fetch;

static void
on_denied(SbxNetpolEgress *egress, const gchar *id, const gchar *host, guint port, const gchar *why,
	  gpointer user_data)
{
	Fetch *fetch = user_data;

	g_test_message("denied: %s %s %u %s", id, host, port, why);
	g_ptr_array_add(fetch->denied, g_strdup_printf("%s %s %u", id, host, port));
}

static void
on_fetched(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Fetch *fetch = user_data;

	g_assert_true(g_subprocess_communicate_utf8_finish(G_SUBPROCESS(source), res, &fetch->out,
							   NULL, NULL));
	fetch->done = TRUE;
}

static void
on_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	*(gboolean *)user_data = TRUE;
}

static void
wait_for(gboolean *flag)
{
	while (!*flag)
		g_main_context_iteration(NULL, TRUE);
}

static GHashTable *
parse(const gchar *out)
{
	GHashTable *res = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);

	for (guint i = 0; lines[i] != NULL; i++) {
		gchar *sp = strchr(lines[i], ' ');
		if (sp != NULL)
			g_hash_table_insert(res, g_strndup(lines[i], sp - lines[i]),
					    g_strdup(sp + 1));
	}
	return res;
}

static void
assert_result(GHashTable *res, const gchar *spec, const gchar *prefix)
{
	const gchar *got = g_hash_table_lookup(res, spec);

	if (got == NULL || !g_str_has_prefix(got, prefix))
		g_error("%s: expected %s..., got %s", spec, prefix, got);
}

/* the pid of the proxy the firewall started (our child), or 0 */
static pid_t
find_proxy(void)
{
	g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
	const gchar *name;

	while (proc != NULL && (name = g_dir_read_name(proc)) != NULL) {
		g_autofree gchar *path = g_strdup_printf("/proc/%s/stat", name);
		g_autofree gchar *stat = NULL;
		g_auto(GStrv) f = NULL;
		if (!g_ascii_isdigit(name[0]) || !g_file_get_contents(path, &stat, NULL, NULL))
			continue;
		/* "pid (comm) state ppid ..." */
		f = g_strsplit(stat, " ", 5);
		if (g_strv_length(f) >= 4 && g_str_equal(f[1], "(sandboxd-egress)") &&
		    g_str_equal(f[2], "S") && atoi(f[3]) == getpid())
			return atoi(name);
	}
	return 0;
}

static gchar *
fetch_run(Fetch *fetch, const gchar *guest_ns, const gchar *fetch_py, const gchar *ca,
	  const gchar *const *specs)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;

	g_ptr_array_add(argv, (gpointer) "ip");
	g_ptr_array_add(argv, (gpointer) "netns");
	g_ptr_array_add(argv, (gpointer) "exec");
	g_ptr_array_add(argv, (gpointer)guest_ns);
	g_ptr_array_add(argv, (gpointer) "python3");
	g_ptr_array_add(argv, (gpointer)fetch_py);
	g_ptr_array_add(argv, (gpointer)ca);
	for (guint i = 0; specs[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)specs[i]);
	g_ptr_array_add(argv, NULL);
	proc = g_subprocess_newv((const gchar *const *)argv->pdata, G_SUBPROCESS_FLAGS_STDOUT_PIPE,
				 &error);
	g_assert_no_error(error);
	fetch->done = FALSE;
	g_clear_pointer(&fetch->out, g_free);
	g_subprocess_communicate_utf8_async(proc, NULL, NULL, on_fetched, fetch);
	while (!fetch->done)
		g_main_context_iteration(NULL, TRUE);
	/* the last denials may still be on their way */
	for (guint i = 0; i < 20; i++)
		g_main_context_iteration(NULL, FALSE);
	g_test_message("%s", fetch->out);
	return g_strdup(fetch->out);
}

#define ALLOWED_HTTP "ok:host=allowed.test;addr=" UPSTREAM ";tls=False"
#define ALLOWED_HTTPS "ok:host=allowed.test;addr=" UPSTREAM ";tls=True"

static void
test_names(void)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(SbxNetpolFirewall) fw = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) res = NULL;
	g_autofree gchar *bridge = g_strdup_printf("eg%sb", tag);
	g_autofree gchar *guest_ns = g_strdup_printf("eg%sg", tag);
	g_autofree gchar *fetch_py = g_test_build_filename(G_TEST_DIST, "egress-fetch.py", NULL);
	g_autofree gchar *ca = g_build_filename(dir, "web.crt", NULL);
	const gchar *allow[] = {"allowed.test", NULL};
	g_autoptr(SbxNetpolPolicy) policy = sbx_netpol_policy_new(allow, &error);
	guint base = 30000 + (guint)getpid() % 10000 * 2 + 1;
	Fetch fetch = {g_ptr_array_new_with_free_func(g_free), NULL, FALSE};
	gboolean done = FALSE;
	const gchar *specs[] = {
	    "http,allowed.test", "https,allowed.test",
	    /* no DNS answer for a name not in the list */
	    "http,blocked.test", "dns,blocked.test,10.77.0.1",
	    /* blocked by Host/SNI whatever the address */
	    "http,blocked.test," UPSTREAM, "https,blocked.test," UPSTREAM,
	    /* a direct IP: no name */
	    "http," UPSTREAM "," UPSTREAM,
	    /* a permitted name sent to a forbidden address reaches the name */
	    "http,allowed.test," OTHER_IP, "https,allowed.test," OTHER_IP,
	    /* DNS to an outside resolver, QUIC, other ports: not redirected, dropped */
	    "dns,allowed.test," UPSTREAM, "udp," UPSTREAM ",443", "udp," UPSTREAM ",53", NULL};

	g_assert_no_error(error);
	g_key_file_set_string(kf, "network", "Table", table);
	g_key_file_set_string(kf, "network", "EgressProgram", g_getenv("SBX_EGRESS_PROGRAM"));
	g_key_file_set_uint64(kf, "network", "EgressPort", base);
	g_key_file_set_uint64(kf, "network", "EgressDnsPort", base + 1);
	g_key_file_set_string(kf, "network", "EgressResolve",
			      "allowed.test=" UPSTREAM " blocked.test=" OTHER_IP);
	fw = sbx_netpol_firewall_new(kf, &error);
	g_assert_no_error(error);
	g_assert_true(sbx_netpol_firewall_add_bridge(fw, bridge, &error));
	sbx_netpol_firewall_start_async(fw, NULL, on_done, &done);
	wait_for(&done);
	g_assert_true(sbx_netpol_firewall_is_active(fw));
	g_assert_true(sbx_netpol_egress_is_running(sbx_netpol_firewall_get_egress(fw)));
	g_signal_connect(sbx_netpol_firewall_get_egress(fw), "denied", G_CALLBACK(on_denied),
			 &fetch);
	done = FALSE;
	sbx_netpol_firewall_add_sandbox_async(fw, "sbxegress", GUEST_IP, policy, NULL, NULL,
					      on_done, &done);
	wait_for(&done);

	g_free(fetch_run(&fetch, guest_ns, fetch_py, ca, specs));
	res = parse(fetch.out);
	assert_result(res, specs[0], ALLOWED_HTTP);
	assert_result(res, specs[1], ALLOWED_HTTPS);
	assert_result(res, specs[2], "error:");
	assert_result(res, specs[3], "rcode5:-");
	for (guint i = 4; i <= 6; i++)
		assert_result(res, specs[i], "error:");
	assert_result(res, specs[7], ALLOWED_HTTP);
	assert_result(res, specs[8], ALLOWED_HTTPS);
	for (guint i = 9; specs[i] != NULL; i++)
		assert_result(res, specs[i], "error:");
	/* the denials, by name and port, for the sandbox's event log */
	{
		gboolean dns = FALSE, https = FALSE;
		for (guint i = 0; i < fetch.denied->len; i++) {
			const gchar *d = g_ptr_array_index(fetch.denied, i);
			dns |= g_str_equal(d, "sbxegress blocked.test 53");
			https |= g_str_equal(d, "sbxegress blocked.test 443");
		}
		g_assert_true(dns);
		g_assert_true(https);
	}
	/* a proxy that dies is started again and told every sandbox again */
	{
		pid_t pid = find_proxy();
		const gchar *again[] = {"https,allowed.test", "https,blocked.test," UPSTREAM, NULL};
		g_autoptr(GHashTable) res2 = NULL;
		g_autofree gchar *out = NULL;
		gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

		g_assert_cmpint(pid, >, 0);
		g_test_expect_message("sandboxd", G_LOG_LEVEL_WARNING,
				      "network: sandboxd-egress exited*restarting it");
		g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
		while (find_proxy() == 0 || find_proxy() == pid) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_main_context_iteration(NULL, FALSE);
			g_usleep(50000);
		}
		/* let it bind and read its policy */
		for (guint i = 0; i < 10; i++) {
			g_main_context_iteration(NULL, FALSE);
			g_usleep(50000);
		}
		g_test_assert_expected_messages();
		out = fetch_run(&fetch, guest_ns, fetch_py, ca, again);
		res2 = parse(out);
		assert_result(res2, again[0], ALLOWED_HTTPS);
		assert_result(res2, again[1], "error:");
	}
	sbx_netpol_firewall_remove_sandbox(fw, "sbxegress");
	g_assert_true(sbx_netpol_firewall_stop(fw, &error));
	g_assert_no_error(error);
	g_assert_false(sbx_netpol_egress_is_running(sbx_netpol_firewall_get_egress(fw)));
	g_ptr_array_unref(fetch.denied);
	g_free(fetch.out);
}

#define SECRET_VALUE "sk-netns-secret-value"

/* secrets through the real firewall and proxy: the proxy intercepts TLS to
 * the secret's host (checking the upstream against EgressUpstreamCA) and puts
 * the value where the placeholder was; another allowed host's TLS passes
 * through and gets the placeholder as it is. @data FALSE: EgressUpstreamCA is
 * a CA the upstream's certificate does not chain to: nothing is sent there */
static void
test_secrets(gconstpointer data)
{
	gboolean trusted = GPOINTER_TO_INT(data);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(SbxNetpolFirewall) fw = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GHashTable) res = NULL;
	g_autofree gchar *bridge = g_strdup_printf("eg%sb", tag);
	g_autofree gchar *guest_ns = g_strdup_printf("eg%sg", tag);
	g_autofree gchar *fetch_py = g_test_build_filename(G_TEST_DIST, "egress-fetch.py", NULL);
	g_autofree gchar *web_ca = g_build_filename(dir, "web.crt", NULL);
	g_autofree gchar *both = g_build_filename(dir, "both.crt", NULL);
	g_autofree gchar *wrong = g_build_filename(dir, "wrong.crt", NULL);
	g_autofree gchar *web_pem = NULL;
	g_autofree gchar *both_pem = NULL;
	g_autofree gchar *spec_secret = NULL;
	g_autofree gchar *spec_other = NULL;
	g_autofree gchar *want_other = NULL;
	const gchar *allow[] = {"allowed.test", "blocked.test", NULL};
	g_autoptr(SbxNetpolPolicy) policy = sbx_netpol_policy_new(allow, &error);
	g_autoptr(SbxNetpolSecrets) secrets = NULL;
	const gchar *placeholder;
	guint base = 30000 + (guint)getpid() % 10000 * 2 + 1;
	Fetch fetch = {g_ptr_array_new_with_free_func(g_free), NULL, FALSE};
	gboolean done = FALSE;

	g_assert_no_error(error);
	secrets = sbx_netpol_secrets_new(
	    g_variant_new_parsed("{'API_TOKEN': (['allowed.test'], %s)}", SECRET_VALUE), policy,
	    &error);
	g_assert_no_error(error);
	placeholder = ((SbxNetpolSecret *)g_ptr_array_index(secrets->items, 0))->placeholder;
	/* the guest trusts the sandbox's CA and (for pass-through) the server's */
	g_assert_true(g_file_get_contents(web_ca, &web_pem, NULL, &error));
	both_pem = g_strconcat(web_pem, sbx_netpol_ca_get_cert_pem(secrets->ca), NULL);
	g_assert_true(g_file_set_contents(both, both_pem, -1, &error));
	g_assert_true(
	    g_file_set_contents(wrong, sbx_netpol_ca_get_cert_pem(secrets->ca), -1, &error));

	g_key_file_set_string(kf, "network", "Table", table);
	g_key_file_set_string(kf, "network", "EgressProgram", g_getenv("SBX_EGRESS_PROGRAM"));
	g_key_file_set_uint64(kf, "network", "EgressPort", base);
	g_key_file_set_uint64(kf, "network", "EgressDnsPort", base + 1);
	g_key_file_set_string(kf, "network", "EgressResolve",
			      "allowed.test=" UPSTREAM " blocked.test=" OTHER_IP);
	g_key_file_set_string(kf, "network", "EgressUpstreamCA", trusted ? web_ca : wrong);
	fw = sbx_netpol_firewall_new(kf, &error);
	g_assert_no_error(error);
	g_assert_true(sbx_netpol_firewall_add_bridge(fw, bridge, &error));
	sbx_netpol_firewall_start_async(fw, NULL, on_done, &done);
	wait_for(&done);
	g_assert_true(sbx_netpol_egress_is_running(sbx_netpol_firewall_get_egress(fw)));
	g_signal_connect(sbx_netpol_firewall_get_egress(fw), "denied", G_CALLBACK(on_denied),
			 &fetch);
	done = FALSE;
	sbx_netpol_firewall_add_sandbox_async(fw, "sbxegress", GUEST_IP, policy, secrets, NULL,
					      on_done, &done);
	wait_for(&done);

	spec_secret = g_strdup_printf("auth,allowed.test,%s", placeholder);
	spec_other = g_strdup_printf("auth,blocked.test,%s", placeholder);
	{
		const gchar *specs[] = {spec_secret, spec_other, "https,allowed.test", NULL};
		g_free(fetch_run(&fetch, guest_ns, fetch_py, both, specs));
	}
	res = parse(fetch.out);
	want_other = g_strdup_printf("ok:auth=%s", placeholder);
	assert_result(res, spec_other, want_other);
	if (!trusted) {
		gboolean denied = FALSE;
		assert_result(res, spec_secret, "error:");
		assert_result(res, "https,allowed.test", "error:");
		for (guint i = 0; i < fetch.denied->len; i++)
			denied |= g_str_equal(g_ptr_array_index(fetch.denied, i),
					      "sbxegress allowed.test 443");
		g_assert_true(denied);
		g_assert_true(sbx_netpol_firewall_stop(fw, &error));
		g_ptr_array_unref(fetch.denied);
		g_free(fetch.out);
		return;
	}
	assert_result(res, spec_secret, "ok:auth=" SECRET_VALUE);
	assert_result(res, "https,allowed.test", ALLOWED_HTTPS);
	/* with only the server's CA, the guest refuses our leaf: nothing leaks */
	{
		const gchar *specs[] = {spec_secret, NULL};
		g_autofree gchar *out = fetch_run(&fetch, guest_ns, fetch_py, web_ca, specs);
		g_autoptr(GHashTable) res2 = parse(out);
		assert_result(res2, spec_secret, "error:");
	}
	/* the whole table goes with the firewall */
	g_assert_true(sbx_netpol_firewall_stop(fw, &error));
	g_assert_no_error(error);
	g_ptr_array_unref(fetch.denied);
	g_free(fetch.out);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	pid_t child;
	int status = 0;

	g_test_init(&argc, &argv, NULL);
	if (getuid() != 0) {
		g_printerr("skipping: needs root (network namespaces, nftables)\n");
		return 77;
	}
	tag = g_strdup_printf("%d", (int)getpid() % 100000);
	table = g_strdup_printf("sbxegress_%s", tag);
	dir = g_dir_make_tmp("sbx-egress-XXXXXX", &error);
	g_assert_no_error(error);
	if (!run_script("up", &error)) {
		g_printerr("cannot set up the test hosts: %s\n", error->message);
		g_clear_error(&error);
		run_script("down", &error);
		return 1;
	}
	/* the parent cleans up after the child, whatever the child does */
	child = fork();
	if (child == 0) {
		/* first: names ends with a removal still on its way */
		g_test_add_data_func("/egress/netns/secrets", GINT_TO_POINTER(TRUE), test_secrets);
		g_test_add_data_func("/egress/netns/secrets-untrusted-upstream",
				     GINT_TO_POINTER(FALSE), test_secrets);
		g_test_add_func("/egress/netns/names", test_names);
		_exit(g_test_run());
	}
	waitpid(child, &status, 0);
	{
		g_autofree gchar *del = sbx_netpol_ruleset_build_delete(table);
		g_autofree gchar *rm = g_strdup_printf("rm -rf %s", dir);
		sbx_netpol_nft_run_sync(del, FALSE, NULL);
		run_script("down", NULL);
		g_spawn_command_line_sync(rm, NULL, NULL, NULL, NULL);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
