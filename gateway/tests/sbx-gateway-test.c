/* runs one Node script using the real @deno/sandbox SDK (installed with npm ci from
 * the checked-in lock file) against a real sandboxd-gateway, a real sandboxd on a private
 * bus and real VMs (the Debian image: the SDK's sh runs bash).
 *
 *   sbx-gateway-test SCRIPT.mjs
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include "sbx-test-env.h"
#include "sbx-test-supervisor.h"

#define GATEWAY_START_TIMEOUT_US (20 * G_USEC_PER_SEC)

static const gchar *
require(const gchar *name)
{
	const gchar *value = g_getenv(name);
	if (value == NULL || value[0] == '\0') {
		g_printerr("%s is not set (run me through meson test)\n", name);
		exit(1);
	}
	return value;
}

static gboolean
copy_file(const gchar *from, const gchar *to, GError **error)
{
	g_autofree gchar *contents = NULL;
	gsize len = 0;
	if (!g_file_get_contents(from, &contents, &len, error))
		return FALSE;
	return g_file_set_contents(to, contents, (gssize)len, error);
}

/* the SDK from npm, exactly as the lock file pins it; skipped when already installed */
static gboolean
install_sdk(const gchar *src, const gchar *dir, GError **error)
{
	g_autofree gchar *lock_src = g_build_filename(src, "package-lock.json", NULL);
	g_autofree gchar *lock_dst = g_build_filename(dir, "package-lock.json", NULL);
	g_autofree gchar *pkg_src = g_build_filename(src, "package.json", NULL);
	g_autofree gchar *pkg_dst = g_build_filename(dir, "package.json", NULL);
	g_autofree gchar *marker =
	    g_build_filename(dir, "node_modules", ".package-lock.json", NULL);
	g_autofree gchar *want = NULL;
	g_autofree gchar *have = NULL;
	const gchar *npm_argv[] = {"npm",	 "ci",	      "--prefix",	  dir,
				   "--no-audit", "--no-fund", "--loglevel=error", NULL};
	gint status = 0;
	g_autoptr(GDir) scripts = NULL;
	const gchar *name;

	if (g_mkdir_with_parents(dir, 0755) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create %s", dir);
		return FALSE;
	}
	/* the test scripts run from beside node_modules so that imports resolve */
	scripts = g_dir_open(src, 0, error);
	if (scripts == NULL)
		return FALSE;
	while ((name = g_dir_read_name(scripts)) != NULL) {
		g_autofree gchar *from = g_build_filename(src, name, NULL);
		g_autofree gchar *to = g_build_filename(dir, name, NULL);
		if ((g_str_has_suffix(name, ".mjs") || g_str_has_suffix(name, ".json")) &&
		    !copy_file(from, to, error))
			return FALSE;
	}
	if (!g_file_get_contents(lock_src, &want, NULL, error))
		return FALSE;
	if (g_file_get_contents(marker, &have, NULL, NULL) &&
	    g_file_test(lock_dst, G_FILE_TEST_EXISTS)) {
		g_autofree gchar *installed_from = NULL;
		g_autofree gchar *stamp = g_build_filename(dir, ".installed-lock.json", NULL);
		if (g_file_get_contents(stamp, &installed_from, NULL, NULL) &&
		    g_str_equal(installed_from, want))
			return TRUE;
	}
	g_printerr("# npm ci in %s\n", dir);
	/* g_spawn_sync, not GSubprocess: this runs before sbx_supervisor_fork(), and a
	 * GSubprocess would start GLib's worker thread, which the forked child lacks:
	 * its own child watches would then never fire (node's exit was never seen) */
	if (!g_spawn_sync(NULL, (gchar **)npm_argv, NULL,
			  G_SPAWN_SEARCH_PATH | G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL,
			  NULL, &status, error) ||
	    !g_spawn_check_wait_status(status, error))
		return FALSE;
	{
		g_autofree gchar *stamp = g_build_filename(dir, ".installed-lock.json", NULL);
		return g_file_set_contents(stamp, want, -1, error);
	}
}

static gboolean
write_dropin(const gchar *tmpdir, const gchar *debian_dir, GError **error)
{
	g_autofree gchar *dir = g_build_filename(tmpdir, "config", "sandboxd.conf.d", NULL);
	g_autofree gchar *path = g_build_filename(dir, "50-gateway.conf", NULL);
	g_autofree gchar *gateway_conf = g_build_filename(tmpdir, "config", "gateway.conf", NULL);
	g_autofree gchar *cmdline_file = g_build_filename(debian_dir, "cmdline", NULL);
	g_autofree gchar *disk = g_build_filename(debian_dir, "debian.qcow2", NULL);
	g_autofree gchar *vmlinux = g_build_filename(debian_dir, "vmlinux", NULL);
	g_autofree gchar *kernel = g_build_filename(debian_dir, "vmlinuz", NULL);
	g_autofree gchar *initrd = g_build_filename(debian_dir, "initrd.img", NULL);
	g_autofree gchar *cmdline = NULL;
	g_autofree gchar *conf = NULL;

	if (!g_file_test(disk, G_FILE_TEST_IS_REGULAR) ||
	    !g_file_get_contents(cmdline_file, &cmdline, NULL, NULL)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no debian image in %s (build it: meson compile -C BUILDDIR "
			    "image-debian)",
			    debian_dir);
		return FALSE;
	}
	g_autofree gchar *vol_dir = g_build_filename(tmpdir, "volumes", NULL);

	conf = g_strdup_printf("# written by the gateway tests\n"
			       "[image debian]\nKernel=%s\nInitrd=%s\nCmdline=%s\nRootDisk=%s\n\n"
			       "[limits]\nMaxSandboxesPerUser=64\n"
			       "[volumes]\nDefaultBackend=qcow2\nMinCapacityMiB=300\n"
			       "MaxCapacityMiB=2048\n[qcow2]\nDirectory=%s\n"
			       /* secrets: the proxy just built, on the free ports the
				* harness picked (never ports derived from our pid) */
			       "[network]\nEgressProgram=%s\n",
			       g_file_test(vmlinux, G_FILE_TEST_EXISTS) ? vmlinux : kernel, initrd,
			       g_strstrip(cmdline), disk, vol_dir, g_getenv("SBX_TEST_EGRESS"));
	/* QEMU (another user) opens the images */
	if (g_mkdir_with_parents(vol_dir, 0755) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create %s", vol_dir);
		return FALSE;
	}
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create %s", dir);
		return FALSE;
	}
	if (!g_file_set_contents(path, conf, -1, error))
		return FALSE;
	/* the gateway's own file, beside sandboxd's */
	/* sdk-deno waits for a REPL's eval timeout: shorter than the default, longer than a
	 * Deno start under a busy TCG */
	return g_file_set_contents(gateway_conf, "[gateway]\nImage=debian\nDenoEvalTimeoutSec=90\n",
				   -1, error);
}

/* every sandbox the gateway makes, so the supervisor can destroy it if we crash
 * and the end of the test can check that none is left */
static GPtrArray *seen_sandboxes;

static void
on_interfaces_added(GDBusConnection *conn, const gchar *sender, const gchar *path,
		    const gchar *iface, const gchar *signal, GVariant *params, gpointer data)
{
	const gchar *object = NULL;
	const gchar *base;
	g_variant_get_child(params, 0, "&o", &object);
	if (!g_str_has_prefix(object, "/org/sandboxd/Sandbox1/"))
		return;
	base = object + strlen("/org/sandboxd/Sandbox1/");
	if (strchr(base, '/') == NULL &&
	    !g_ptr_array_find_with_equal_func(seen_sandboxes, base, g_str_equal, NULL)) {
		sbx_supervisor_record_domain(data, base);
		g_ptr_array_add(seen_sandboxes, g_strdup(base));
	}
}

/* a script that passed must leave nothing: no sandbox in sandboxd, no domain */
static gboolean
check_nothing_left(SbxTestEnv *env, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

	for (;;) {
		g_autoptr(GVariant) reply = NULL;
		g_autoptr(GVariant) paths = NULL;
		g_autoptr(GError) local = NULL;
		const gchar *left = NULL;

		reply = g_dbus_connection_call_sync(
		    env->conn, "org.sandboxd", "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
		    "ListSandboxes", g_variant_new_parsed("(@a{sv} {},)"), G_VARIANT_TYPE("(ao)"),
		    G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
		if (reply == NULL)
			return FALSE;
		paths = g_variant_get_child_value(reply, 0);
		if (g_variant_n_children(paths) > 0)
			g_variant_get_child(paths, 0, "&o", &left);
		for (guint i = 0; left == NULL && i < seen_sandboxes->len; i++) {
			if (sbx_test_vm_exists(NULL, g_ptr_array_index(seen_sandboxes, i), &local))
				left = g_ptr_array_index(seen_sandboxes, i);
			if (local != NULL) {
				g_propagate_error(error, g_steal_pointer(&local));
				return FALSE;
			}
		}
		if (left == NULL)
			return TRUE;
		if (g_get_monotonic_time() > deadline) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "%s is still there 60 s after the script ended (of %u "
				    "sandboxes made)",
				    left, seen_sandboxes->len);
			return FALSE;
		}
		g_usleep(G_USEC_PER_SEC / 2);
	}
}

/* SCRIPT.gateway.conf beside SCRIPT.mjs: gateway settings for that script only */
static gboolean
copy_script_dropin(const gchar *script, const gchar *config_dir, GError **error)
{
	g_autofree gchar *base = g_strndup(script, strlen(script) - strlen(".mjs"));
	g_autofree gchar *name = g_strconcat(base, ".gateway.conf", NULL);
	g_autofree gchar *src = g_build_filename(require("SBX_TEST_SDK_SRC"), name, NULL);
	g_autofree gchar *dir = g_build_filename(config_dir, "gateway.conf.d", NULL);
	g_autofree gchar *dst = g_build_filename(dir, "50-script.conf", NULL);

	if (!g_file_test(src, G_FILE_TEST_EXISTS))
		return TRUE;
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create %s", dir);
		return FALSE;
	}
	return copy_file(src, dst, error);
}

static guint16
free_port(void)
{
	g_autoptr(GSocket) sock =
	    g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
	g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GSocketAddress) any = g_inet_socket_address_new(lo, 0);
	g_autoptr(GSocketAddress) bound = NULL;

	if (sock == NULL || !g_socket_bind(sock, any, FALSE, NULL))
		return 0;
	bound = g_socket_get_local_address(sock, NULL);
	return bound != NULL ? g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound)) : 0;
}

static gboolean
write_ssh_dropin(const gchar *tmpdir, const gchar *config_dir, guint16 port, GError **error)
{
	g_autofree gchar *dir = g_build_filename(config_dir, "gateway.conf.d", NULL);
	g_autofree gchar *path = g_build_filename(dir, "50-ssh.conf", NULL);
	g_autofree gchar *state = g_build_filename(tmpdir, "gateway-state", NULL);
	g_autofree gchar *conf =
	    g_strdup_printf("[gateway]\nSSHListen=127.0.0.1:%u\nStateDir=%s\n", port, state);

	if (g_mkdir_with_parents(dir, 0755) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create %s", dir);
		return FALSE;
	}
	return g_file_set_contents(path, conf, -1, error);
}

static gboolean
wait_for_port(GSubprocess *gateway, guint16 port)
{
	gint64 deadline = g_get_monotonic_time() + GATEWAY_START_TIMEOUT_US;
	while (g_get_monotonic_time() < deadline) {
		g_autoptr(GSocketClient) client = g_socket_client_new();
		g_autoptr(GSocketConnection) c =
		    g_socket_client_connect_to_host(client, "127.0.0.1", port, NULL, NULL);
		if (c != NULL)
			return TRUE;
		if (g_subprocess_get_identifier(gateway) == NULL)
			return FALSE;
		g_usleep(100 * 1000);
		while (g_main_context_iteration(NULL, FALSE))
			;
	}
	return FALSE;
}

static void
print_tail(const gchar *what, const gchar *path)
{
	g_autofree gchar *contents = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &contents, &len, NULL))
		return;
	if (g_getenv("SBX_TEST_VERBOSE") != NULL)
		g_printerr("# --- %s ---\n%s\n", what, contents);
	else
		g_printerr("# --- last lines of %s ---\n%s\n", what,
			   len > 8192 ? contents + len - 8192 : contents);
}

static void
on_node_exited(GObject *source, GAsyncResult *res, gpointer data)
{
	g_subprocess_wait_finish(G_SUBPROCESS(source), res, NULL);
	g_main_loop_quit(data);
}

/* the hypervisor and the volume plugins in one folder: symlinks */
static gchar *
make_plugin_dir(const gchar *tmpdir)
{
	gchar *dir = g_build_filename(tmpdir, "plugins", NULL);
	const gchar *srcs[] = {g_getenv("SBX_TEST_PLUGIN_DIR"),
			       g_getenv("SBX_TEST_VOLUME_PLUGIN_DIR")};
	g_mkdir_with_parents(dir, 0755);
	for (guint i = 0; i < G_N_ELEMENTS(srcs); i++) {
		g_autoptr(GDir) d = srcs[i] != NULL ? g_dir_open(srcs[i], 0, NULL) : NULL;
		const gchar *name;
		while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
			g_autofree gchar *src = NULL;
			g_autofree gchar *dst = NULL;
			if (!g_str_has_suffix(name, ".so"))
				continue;
			src = g_build_filename(srcs[i], name, NULL);
			dst = g_build_filename(dir, name, NULL);
			if (symlink(src, dst) != 0)
				g_printerr("symlink %s: %s\n", dst, g_strerror(errno));
		}
	}
	return dir;
}

/* --- tenants: a token of each of two users, made with sandboxctl as them --- */

typedef struct {
	uid_t uid;
	gid_t gid;
} Creds;

static gboolean
ensure_user(const gchar *name, Creds *creds, GError **error)
{
	struct passwd *pw = getpwnam(name);
	gint status = 0;
	const gchar *argv[] = {"useradd", "-r", "-M", "-s", "/usr/sbin/nologin", name, NULL};

	if (pw == NULL) {
		if (!g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
				  NULL, &status, error) ||
		    !g_spawn_check_wait_status(status, error))
			return FALSE;
		pw = getpwnam(name);
	}
	if (pw == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no user %s", name);
		return FALSE;
	}
	creds->uid = pw->pw_uid;
	creds->gid = pw->pw_gid;
	return TRUE;
}

static void
drop_to_user(gpointer user_data)
{
	Creds *c = user_data;
	/* async-signal-safe calls only: this runs between fork and exec */
	if (setgroups(0, NULL) != 0 || setgid(c->gid) != 0 || setuid(c->uid) != 0)
		_exit(99);
}

/* `sandboxctl token create NAME` as @user: the token it prints */
static gchar *
create_token(const gchar *tmpdir, const gchar *bus_address, const gchar *user, GError **error)
{
	g_autofree gchar *ctl = g_build_filename(tmpdir, "sandboxctl", NULL);
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_autoptr(GSubprocess) proc = NULL;
	gchar *out = NULL;
	Creds creds;

	/* the build tree may be out of other users' reach */
	if (!g_file_test(ctl, G_FILE_TEST_EXISTS)) {
		g_autoptr(GFile) src = g_file_new_for_path(require("SBX_TEST_SANDBOXCTL"));
		g_autoptr(GFile) dst = g_file_new_for_path(ctl);
		if (!g_file_copy(src, dst, G_FILE_COPY_NONE, NULL, NULL, NULL, error))
			return NULL;
		g_chmod(ctl, 0755);
	}
	if (!ensure_user(user, &creds, error))
		return NULL;
	g_subprocess_launcher_set_child_setup(launcher, drop_to_user, &creds, NULL);
	g_subprocess_launcher_set_cwd(launcher, "/");
	proc = g_subprocess_launcher_spawn(launcher, error, ctl, "--address", bus_address, "token",
					   "create", "sdk-test", NULL);
	if (proc == NULL || !g_subprocess_communicate_utf8(proc, NULL, NULL, &out, NULL, error))
		return NULL;
	if (!g_subprocess_get_successful(proc) || !g_str_has_prefix(out, "ddo_")) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "sandboxctl token create: '%s'",
			    out);
		g_free(out);
		return NULL;
	}
	return g_strstrip(out);
}

/* SBX_TEST_GATEWAY_TLS: the gateway on TLS with a self-signed certificate for
 * expose.test and *.expose.test (made here with openssl), exposed services on
 * <label>.expose.test:PORT; the script gets the certificate to trust */
static gboolean
setup_tls(const gchar *tmpdir, const gchar *config_dir, guint16 port, GError **error)
{
	g_autofree gchar *cert = g_build_filename(tmpdir, "gateway-cert.pem", NULL);
	g_autofree gchar *key = g_build_filename(tmpdir, "gateway-key.pem", NULL);
	g_autofree gchar *conf_path = g_build_filename(config_dir, "gateway.conf", NULL);
	g_autofree gchar *conf = NULL;
	const gchar *argv[] = {
	    "openssl",	"req",
	    "-x509",	"-newkey",
	    "rsa:2048", "-nodes",
	    "-days",	"2",
	    "-subj",	"/CN=expose.test",
	    "-addext",	"subjectAltName=DNS:expose.test,DNS:*.expose.test,IP:127.0.0.1",
	    "-keyout",	key,
	    "-out",	cert,
	    NULL};
	gint status = 0;

	if (!g_spawn_sync(NULL, (gchar **)argv, NULL,
			  G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
			      G_SPAWN_STDERR_TO_DEV_NULL,
			  NULL, NULL, NULL, NULL, &status, error) ||
	    !g_spawn_check_wait_status(status, error))
		return FALSE;
	conf = g_strdup_printf("[gateway]\nImage=debian\nTLSCertificate=%s\nTLSKey=%s\n"
			       "ExposeBaseDomain=expose.test:%u\nExposeIdleTimeoutSec=10\n",
			       cert, key, port);
	g_setenv("SBX_TEST_TLS_CERT", cert, TRUE);
	g_setenv("SBX_TEST_TLS_KEY", key, TRUE);
	return g_file_set_contents(conf_path, conf, -1, error);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tmpdir = NULL;
	g_autofree gchar *gateway_log = NULL;
	g_autofree gchar *listen = NULL;
	g_autofree gchar *endpoint = NULL;
	g_autofree gchar *node = g_find_program_in_path("node");
	g_autofree gchar *npm = g_find_program_in_path("npm");
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) gateway = NULL;
	g_autoptr(GSubprocess) script = NULL;
	g_autoptr(GMainLoop) loop = NULL;
	g_autofree gchar *token_a = NULL;
	g_autofree gchar *token_b = NULL;
	const gchar *sdk_dir;
	SbxTestEnv *env = sbx_test_env_get();
	guint16 port;
	gboolean tls;
	guint16 ssh_port = 0;
	gint rc;

	if (argc != 2 || !g_str_has_suffix(argv[1], ".mjs")) {
		g_printerr("usage: %s SCRIPT.mjs\n", argv[0]);
		return 2;
	}
	seen_sandboxes = g_ptr_array_new_with_free_func(g_free);
	if (node == NULL || npm == NULL) {
		g_printerr("skipping: node and npm are needed to run the @deno/sandbox SDK\n");
		return 77;
	}
	sdk_dir = require("SBX_TEST_SDK_DIR");
	if (!install_sdk(require("SBX_TEST_SDK_SRC"), sdk_dir, &error)) {
		g_printerr("cannot install the SDK: %s\n", error->message);
		return 1;
	}
	tmpdir = g_dir_make_tmp("sbx-gateway-XXXXXX", &error);
	if (tmpdir == NULL) {
		g_printerr("%s\n", error->message);
		return 1;
	}
	sbx_supervisor_fork(tmpdir);
	signal(SIGPIPE, SIG_IGN);
	if (!sbx_test_backend_probe(&error)) {
		g_printerr("skipping: %s\n", error->message);
		return 77;
	}
	env->plugin_dir = make_plugin_dir(tmpdir);
	if (!write_dropin(tmpdir, require("SBX_TEST_DEBIAN_IMAGE_DIR"), &error) ||
	    !sbx_test_env_start(env, tmpdir, &error)) {
		g_printerr("cannot start the test environment: %s\n", error->message);
		sbx_test_env_stop(env);
		return 1;
	}
	if (!copy_script_dropin(argv[1], env->config_dir, &error)) {
		g_printerr("cannot write the script's gateway settings: %s\n", error->message);
		sbx_test_env_stop(env);
		return 1;
	}
	g_dbus_connection_signal_subscribe(
	    env->conn, "org.sandboxd", "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
	    NULL, NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_interfaces_added, tmpdir, NULL);

	/* two tenants; the SDK scripts run as the first */
	token_a = create_token(tmpdir, env->bus_address, "sbxtest1", &error);
	if (token_a != NULL)
		token_b = create_token(tmpdir, env->bus_address, "sbxtest2", &error);
	if (token_b == NULL) {
		g_printerr("cannot create the tenants' tokens: %s\n", error->message);
		sbx_test_env_stop(env);
		return 1;
	}

	/* exposeSsh's server, when the gateway has one */
	if (g_strcmp0(g_getenv("SBX_TEST_SSH"), "1") == 0) {
		ssh_port = free_port();
		if (!write_ssh_dropin(tmpdir, env->config_dir, ssh_port, &error)) {
			g_printerr("%s\n", error->message);
			sbx_test_env_stop(env);
			return 1;
		}
	}
	port = free_port();
	listen = g_strdup_printf("127.0.0.1:%u", port);
	tls = g_getenv("SBX_TEST_GATEWAY_TLS") != NULL;
	endpoint = g_strdup_printf("%s://127.0.0.1:%u", tls ? "https" : "http", port);
	if (tls && !setup_tls(tmpdir, env->config_dir, port, &error)) {
		g_printerr("cannot set up TLS: %s\n", error->message);
		sbx_test_env_stop(env);
		return 1;
	}
	gateway_log = g_build_filename(tmpdir, "gateway.log", NULL);
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_MERGE);
	g_subprocess_launcher_set_child_setup(launcher, sbx_supervisor_child_setup, NULL, NULL);
	g_subprocess_launcher_set_stdout_file_path(launcher, gateway_log);
	g_subprocess_launcher_setenv(launcher, "G_DEBUG", "fatal-criticals", TRUE);
	gateway = g_subprocess_launcher_spawn(
	    launcher, &error, require("SBX_TEST_GATEWAY"), "--address", env->bus_address,
	    "--config-dir", env->config_dir, "--listen", listen, "--verbose", NULL);
	if (gateway == NULL || !wait_for_port(gateway, port)) {
		g_printerr("sandboxd-gateway did not start: %s\n",
			   error != NULL ? error->message : "see its log");
		print_tail("the gateway log", gateway_log);
		sbx_test_env_stop(env);
		return 1;
	}
	sbx_supervisor_record_pid(tmpdir, (pid_t)atoi(g_subprocess_get_identifier(gateway)));

	g_clear_object(&launcher);
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
	g_subprocess_launcher_set_child_setup(launcher, sbx_supervisor_child_setup, NULL, NULL);
	g_subprocess_launcher_set_cwd(launcher, sdk_dir);
	g_subprocess_launcher_setenv(launcher, "DENO_SANDBOX_ENDPOINT", endpoint, TRUE);
	g_subprocess_launcher_setenv(launcher, "DENO_DEPLOY_ENDPOINT", endpoint, TRUE);
	g_subprocess_launcher_setenv(launcher, "DENO_DEPLOY_TOKEN", token_a, TRUE);
	g_subprocess_launcher_setenv(launcher, "SBX_TEST_TOKEN_B", token_b, TRUE);
	g_subprocess_launcher_setenv(launcher, "SBX_TEST_BUS_ADDRESS", env->bus_address, TRUE);
	g_subprocess_launcher_setenv(launcher, "SBX_TEST_GATEWAY_PID",
				     g_subprocess_get_identifier(gateway), TRUE);
	g_subprocess_launcher_unsetenv(launcher, "DENO_DEPLOY_ORG");
	if (tls) {
		g_autofree gchar *port_text = g_strdup_printf("%u", port);
		g_subprocess_launcher_setenv(launcher, "NODE_EXTRA_CA_CERTS",
					     g_getenv("SBX_TEST_TLS_CERT"), TRUE);
		g_subprocess_launcher_setenv(launcher, "SBX_TEST_GATEWAY_PORT", port_text, TRUE);
	}
	if (ssh_port != 0) {
		g_autofree gchar *ssh_port_str = g_strdup_printf("%u", ssh_port);
		g_subprocess_launcher_setenv(launcher, "SBX_TEST_SSH_PORT", ssh_port_str, TRUE);
		g_autofree gchar *state = g_build_filename(tmpdir, "gateway-state", NULL);
		g_subprocess_launcher_setenv(launcher, "SBX_TEST_SSH_STATE_DIR", state, TRUE);
	}
	/* the SDK may leave a keep-alive timer behind a failed connect */
	script = g_subprocess_launcher_spawn(launcher, &error, node, "--test-reporter=tap",
					     "--test-force-exit", argv[1], NULL);
	if (script == NULL) {
		g_printerr("cannot run node: %s\n", error->message);
		sbx_test_env_stop(env);
		return 1;
	}
	loop = g_main_loop_new(NULL, FALSE);
	g_subprocess_wait_async(script, NULL, on_node_exited, loop);
	g_main_loop_run(loop);
	rc = g_subprocess_get_if_exited(script) ? g_subprocess_get_exit_status(script) : 1;
	if (rc == 0 && !check_nothing_left(env, &error)) {
		g_printerr("not ok - leftovers: %s\n", error->message);
		rc = 1;
	}

	g_subprocess_send_signal(gateway, SIGTERM);
	g_subprocess_wait(gateway, NULL, NULL);
	if (rc != 0 || g_getenv("SBX_TEST_VERBOSE") != NULL) {
		print_tail("the gateway log", gateway_log);
		{
			g_autofree gchar *tail = sbx_test_env_daemon_log_tail(env, 8192);
			g_printerr("# --- last lines of the sandboxd log ---\n%s\n", tail);
		}
	}
	sbx_test_env_stop(env);
	return rc == 0 ? 0 : 1;
}
