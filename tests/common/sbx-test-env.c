/* the one daemon test harness: a private dbus-daemon with the shipped policy,
 * the sandboxd built here, and helpers to call it; used by the unit tests
 * (test backend) and the integration tests (libvirt, real guests).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sbx-test-env.h"
#include "sbx-test-supervisor.h"

#define SBX_TEST_BUS_NAME "org.sandboxd"
#define SBX_TEST_MANAGER_PATH "/org/sandboxd/Manager1"
#define SBX_TEST_MANAGER_IFACE "org.sandboxd.Manager1"
#define SBX_TEST_SANDBOX_IFACE "org.sandboxd.Sandbox1"
/* boots run under TCG on a loaded machine: generous, never asserted on */
#define SBX_TEST_CREATE_TIMEOUT_MS (5 * 60 * 1000)
#define SBX_TEST_NAME_TIMEOUT_MS (60 * 1000)

static SbxTestEnv the_env;

SbxTestEnv *
sbx_test_env_get(void)
{
	return &the_env;
}

static const gchar *
require_env(const gchar *name, GError **error)
{
	const gchar *value = g_getenv(name);
	if (value == NULL || value[0] == '\0') {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "%s is not set (run me through meson test)", name);
		return NULL;
	}
	return value;
}

static GSubprocessLauncher *
new_launcher(GSubprocessFlags flags)
{
	GSubprocessLauncher *launcher = g_subprocess_launcher_new(flags);
	g_subprocess_launcher_set_child_setup(launcher, sbx_supervisor_child_setup, NULL, NULL);
	return launcher;
}

static gboolean
start_bus(SbxTestEnv *env, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GDataInputStream) stdout_data = NULL;
	g_autofree gchar *conf_path = g_build_filename(env->tmpdir, "bus.conf", NULL);
	g_autofree gchar *socket_path = g_build_filename(env->tmpdir, "bus", NULL);
	g_autofree gchar *conf_arg = NULL;
	g_autofree gchar *template = NULL;
	g_autoptr(GString) conf = NULL;
	g_autofree gchar *address = NULL;

	/* the same bus as the shell tests': the system bus's defaults and the
	 * shipped policy (tests/common/sbx-test-bus.conf) */
	if (!g_file_get_contents(SBX_TEST_BUS_CONF, &template, NULL, error))
		return FALSE;
	conf = g_string_new(template);
	g_string_replace(conf, "@SOCKET@", socket_path, 0);
	g_string_replace(conf, "@POLICY@", SBX_TEST_DBUS_POLICY, 0);
	if (!g_file_set_contents(conf_path, conf->str, -1, error))
		return FALSE;
	conf_arg = g_strdup_printf("--config-file=%s", conf_path);
	launcher = new_launcher(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	env->bus = g_subprocess_launcher_spawn(launcher, error, "dbus-daemon", conf_arg, "--nofork",
					       "--print-address=1", NULL);
	if (env->bus == NULL)
		return FALSE;
	sbx_supervisor_record_pid(env->tmpdir, (pid_t)atoi(g_subprocess_get_identifier(env->bus)));
	stdout_data = g_data_input_stream_new(g_subprocess_get_stdout_pipe(env->bus));
	address = g_data_input_stream_read_line(stdout_data, NULL, NULL, error);
	if (address == NULL) {
		if (error != NULL && *error == NULL)
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "dbus-daemon printed no address");
		return FALSE;
	}
	env->bus_address = g_strstrip(g_steal_pointer(&address));
	return TRUE;
}

gboolean
sbx_test_env_write_config(SbxTestEnv *env, const gchar *contents, GError **error)
{
	g_autofree gchar *path = g_build_filename(env->config_dir, "sandboxd.conf", NULL);
	return g_file_set_contents(path, contents, -1, error);
}

const gchar *
sbx_test_backend(void)
{
	const gchar *backend = g_getenv("SBX_TEST_BACKEND");
	return backend == NULL || backend[0] == '\0' ? "libvirt" : backend;
}

/* $SBX_TEST_BACKEND picks the hypervisor backend (default libvirt); qemu
 * keeps its records under the test folder and shares /tmp, where the
 * sandboxes' files are. Its name, and its section in *section */
static const gchar *
backend_config(SbxTestEnv *env, gchar **section, GError **error)
{
	const gchar *backend = sbx_test_backend();

	if (g_strcmp0(backend, "libvirt") == 0) {
		*section = g_strdup("[libvirt]\n"
				    "DomainType=auto\n");
		return "libvirt";
	}
	if (g_strcmp0(backend, "qemu") == 0) {
		g_autofree gchar *records = g_build_filename(env->tmpdir, "qemu-records", NULL);
		*section = g_strdup_printf("[qemu]\n"
					   "PrivateTmp=false\n"
					   "RecordDir=%s\n",
					   records);
		return "qemu";
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		    "SBX_TEST_BACKEND=%s: not libvirt or qemu", backend);
	return NULL;
}

/* a port free for TCP and UDP on every address right now: the egress proxy's
 * (a system sandboxd may hold the default ones) */
guint
sbx_test_pick_free_port(void)
{
	for (guint tries = 0; tries < 100; tries++) {
		guint port = g_random_int_range(20000, 40000);
		gboolean free_port = TRUE;
		GSocketType types[] = {G_SOCKET_TYPE_STREAM, G_SOCKET_TYPE_DATAGRAM};

		for (guint i = 0; i < G_N_ELEMENTS(types) && free_port; i++) {
			g_autoptr(GSocket) sock = g_socket_new(G_SOCKET_FAMILY_IPV4, types[i],
							       G_SOCKET_PROTOCOL_DEFAULT, NULL);
			g_autoptr(GInetAddress) any = g_inet_address_new_any(G_SOCKET_FAMILY_IPV4);
			g_autoptr(GSocketAddress) addr = g_inet_socket_address_new(any, port);
			free_port = sock != NULL && g_socket_bind(sock, addr, FALSE, NULL);
		}
		if (free_port)
			return port;
	}
	return 0;
}

static gboolean
write_config(SbxTestEnv *env, const gchar *image_dir, GError **error)
{
	g_autofree gchar *kernel = g_build_filename(image_dir, "vmlinuz", NULL);
	g_autofree gchar *initrd = g_build_filename(image_dir, "initrd.img", NULL);
	g_autofree gchar *cmdline_file = g_build_filename(image_dir, "cmdline", NULL);
	g_autofree gchar *cmdline = NULL;
	g_autofree gchar *cmdline_line = NULL;
	g_autofree gchar *conf = NULL;
	g_autofree gchar *section = NULL;
	const gchar *backend = backend_config(env, &section, error);
	/* never the production daemon's firewall table */
	g_autofree gchar *table = g_strdup_printf("sbxtest_%d", (int)getpid());
	/* pooled VMs are extra QEMUs and run folders: only the tests that want
	 * them get them (SBX_TEST_POOL_SIZE) */
	const gchar *pool_size = g_getenv("SBX_TEST_POOL_SIZE");
	g_autofree gchar *pool_line =
	    g_strdup_printf("PoolSize=%s\n", pool_size != NULL ? pool_size : "0");
	guint proxy_port = sbx_test_pick_free_port(), dns_port = sbx_test_pick_free_port();
	g_autofree gchar *egress_ports =
	    proxy_port != 0 && dns_port != 0 && proxy_port != dns_port
		? g_strdup_printf("EgressPort=%u\nEgressDnsPort=%u\n", proxy_port, dns_port)
		: g_strdup("");

	if (backend == NULL)
		return FALSE;
	if (!g_file_test(kernel, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no guest image at %s (build it: meson compile -C BUILDDIR image)",
			    image_dir);
		return FALSE;
	}
	/* only the built-in image reads a cmdline file: pass its contents on */
	if (g_file_get_contents(cmdline_file, &cmdline, NULL, NULL))
		cmdline_line = g_strdup_printf("Cmdline=%s\n", g_strstrip(cmdline));
	conf =
	    g_strdup_printf("# written by the integration tests\n"
			    "[daemon]\n"
			    "Backend=%s\n"
			    "DefaultImage=integration\n"
			    "StateDir=%s\n"
			    "BootTimeoutSec=300\n"
			    "%s"
			    "\n"
			    "[image integration]\n"
			    "Kernel=%s\n"
			    "Initrd=%s\n"
			    "%s"
			    "\n"
			    "[network]\n"
			    "Table=%s\n"
			    "%s"
			    "\n"
			    "%s",
			    backend, env->state_dir, pool_line, kernel, initrd,
			    cmdline_line != NULL ? cmdline_line : "", table, egress_ports, section);
	sbx_supervisor_record_nft_table(env->tmpdir, table);
	return sbx_test_env_write_config(env, conf, error);
}

gboolean
sbx_test_name_has_owner(GDBusConnection *conn, gboolean *owned, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	reply = g_dbus_connection_call_sync(
	    conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	    "NameHasOwner", g_variant_new("(s)", SBX_TEST_BUS_NAME), G_VARIANT_TYPE("(b)"),
	    G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
	if (reply == NULL)
		return FALSE;
	g_variant_get(reply, "(b)", owned);
	return TRUE;
}

/* the name is owned by this very process: right after a SIGKILL the bus may
 * not have dropped the old daemon yet, and a call would go to the dead one */
static gboolean
name_owned_by_daemon(SbxTestEnv *env, gboolean *owned, GError **error)
{
	const gchar *pid = g_subprocess_get_identifier(env->daemon);
	g_autoptr(GError) error_local = NULL;
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	    env->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	    "GetConnectionUnixProcessID", g_variant_new("(s)", SBX_TEST_BUS_NAME),
	    G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error_local);
	guint32 owner = 0;

	*owned = FALSE;
	if (reply == NULL) {
		g_autofree gchar *remote = g_dbus_error_get_remote_error(error_local);
		if (g_strcmp0(remote, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0)
			return TRUE;
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	g_variant_get(reply, "(u)", &owner);
	*owned = pid != NULL && owner == (guint32)atoi(pid);
	return TRUE;
}

gboolean
sbx_test_env_start_daemon(SbxTestEnv *env, GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	const gchar *sandboxd = g_getenv("SBX_TEST_SANDBOXD");
	const gchar *plugin_dir = env->plugin_dir;
	gint64 deadline;

	if (sandboxd == NULL || sandboxd[0] == '\0')
		sandboxd = SBX_TEST_SANDBOXD_BUILT;
	if (plugin_dir == NULL)
		plugin_dir = require_env("SBX_TEST_PLUGIN_DIR", error);
	if (plugin_dir == NULL)
		return FALSE;
	/* a daemon just killed may still own the name until the bus notices:
	 * the new one would not get it */
	deadline = g_get_monotonic_time() + SBX_TEST_NAME_TIMEOUT_MS * 1000;
	for (;;) {
		gboolean owned = FALSE;
		if (!sbx_test_name_has_owner(env->conn, &owned, error))
			return FALSE;
		if (!owned)
			break;
		if (g_get_monotonic_time() >= deadline) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
				    "%s still has an owner: is another sandboxd running here?",
				    SBX_TEST_BUS_NAME);
			return FALSE;
		}
		g_usleep(20 * 1000);
	}
	launcher = new_launcher(G_SUBPROCESS_FLAGS_STDERR_MERGE);
	g_subprocess_launcher_set_stdout_file_path(launcher, env->daemon_log);
	/* only the flag may choose the plugins */
	g_subprocess_launcher_unsetenv(launcher, "SANDBOXD_PLUGIN_DIR");
	g_subprocess_launcher_setenv(launcher, "G_DEBUG", "fatal-criticals", TRUE);
	env->daemon = g_subprocess_launcher_spawn(
	    launcher, error, sandboxd, "--address", env->bus_address, "--config-dir",
	    env->config_dir, "--plugin-dir", plugin_dir, "--runtime-dir", env->runtime_dir,
	    "--state-dir", env->state_dir, "--verbose", NULL);
	if (env->daemon == NULL)
		return FALSE;
	sbx_supervisor_record_pid(env->tmpdir,
				  (pid_t)atoi(g_subprocess_get_identifier(env->daemon)));

	/* it is ready once it owns its name (not the daemon it replaces) */
	deadline = g_get_monotonic_time() + SBX_TEST_NAME_TIMEOUT_MS * 1000;
	while (g_get_monotonic_time() < deadline) {
		gboolean owned = FALSE;
		if (!name_owned_by_daemon(env, &owned, error))
			return FALSE;
		if (owned)
			return TRUE;
		if (g_subprocess_get_identifier(env->daemon) == NULL) {
			g_autofree gchar *tail = sbx_test_env_daemon_log_tail(env, 4096);
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "sandboxd exited at startup (status %d); its log:\n%s",
				    g_subprocess_get_status(env->daemon), tail);
			return FALSE;
		}
		g_usleep(100 * 1000);
		/* lets GSubprocess notice the exit */
		while (g_main_context_iteration(NULL, FALSE))
			;
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "sandboxd did not own %s within %d s",
		    SBX_TEST_BUS_NAME, SBX_TEST_NAME_TIMEOUT_MS / 1000);
	return FALSE;
}

gboolean
sbx_test_env_setup(SbxTestEnv *env, const gchar *tmpdir, GError **error)
{
	env->tmpdir = g_strdup(tmpdir);
	env->config_dir = g_build_filename(tmpdir, "config", NULL);
	env->runtime_dir = g_build_filename(tmpdir, "run", NULL);
	env->state_dir = g_build_filename(tmpdir, "state", NULL);
	env->daemon_log = g_build_filename(tmpdir, "sandboxd.log", NULL);
	/* QEMU and the other users of the tenancy tests run as other users and
	 * must reach the sockets and logs below */
	if (g_mkdir_with_parents(env->config_dir, 0755) != 0 ||
	    g_mkdir_with_parents(env->runtime_dir, 0755) != 0 ||
	    g_mkdir_with_parents(env->state_dir, 0755) != 0 || g_chmod(tmpdir, 0755) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot create the test folders in %s: %s", tmpdir, g_strerror(errno));
		return FALSE;
	}
	if (!start_bus(env, error))
		return FALSE;
	env->conn = sbx_test_env_connect(env, error);
	return env->conn != NULL;
}

GDBusConnection *
sbx_test_env_connect(SbxTestEnv *env, GError **error)
{
	GDBusConnection *conn = g_dbus_connection_new_for_address_sync(
	    env->bus_address,
	    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	    NULL, NULL, error);
	if (conn != NULL)
		g_dbus_connection_set_exit_on_close(conn, FALSE);
	return conn;
}

gboolean
sbx_test_env_start(SbxTestEnv *env, const gchar *tmpdir, GError **error)
{
	const gchar *image_dir = require_env("SBX_TEST_IMAGE_DIR", error);

	if (image_dir == NULL)
		return FALSE;
	return sbx_test_env_setup(env, tmpdir, error) && write_config(env, image_dir, error) &&
	       sbx_test_env_start_daemon(env, error);
}

static gint
stop_process(GSubprocess *proc, guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	if (g_subprocess_get_identifier(proc) != NULL)
		g_subprocess_send_signal(proc, SIGTERM);
	while (g_subprocess_get_identifier(proc) != NULL) {
		if (g_get_monotonic_time() > deadline) {
			g_printerr("# pid %s ignored SIGTERM for %u ms, killing it\n",
				   g_subprocess_get_identifier(proc), timeout_ms);
			g_subprocess_force_exit(proc);
			g_subprocess_wait(proc, NULL, NULL);
			break;
		}
		g_usleep(50 * 1000);
		while (g_main_context_iteration(NULL, FALSE))
			;
	}
	if (g_subprocess_get_if_signaled(proc))
		return -g_subprocess_get_term_sig(proc);
	return g_subprocess_get_exit_status(proc);
}

gint
sbx_test_env_stop_daemon(SbxTestEnv *env, guint timeout_ms)
{
	gint status;
	if (env->daemon == NULL)
		return 0;
	status = stop_process(env->daemon, timeout_ms);
	g_clear_object(&env->daemon);
	return status;
}

/* a new daemon on the same bus, config and folders (after stop_daemon) */
gboolean
sbx_test_env_restart_daemon(SbxTestEnv *env, GError **error)
{
	sbx_test_env_stop_daemon(env, 60 * 1000);
	return sbx_test_env_start_daemon(env, error);
}

void
sbx_test_env_stop(SbxTestEnv *env)
{
	sbx_test_env_stop_daemon(env, 60 * 1000);
	if (env->conn != NULL)
		g_dbus_connection_close_sync(env->conn, NULL, NULL);
	g_clear_object(&env->conn);
	if (env->bus != NULL)
		stop_process(env->bus, 10 * 1000);
	g_clear_object(&env->bus);
	g_clear_pointer(&env->bus_address, g_free);
	g_clear_pointer(&env->config_dir, g_free);
	g_clear_pointer(&env->runtime_dir, g_free);
	g_clear_pointer(&env->state_dir, g_free);
	g_clear_pointer(&env->daemon_log, g_free);
	g_clear_pointer(&env->tmpdir, g_free);
	g_clear_pointer(&env->plugin_dir, g_free);
}

/* SIGKILL: no shutdown, what a crash leaves behind */
void
sbx_test_env_kill_daemon(SbxTestEnv *env)
{
	if (env->daemon == NULL)
		return;
	g_subprocess_send_signal(env->daemon, SIGKILL);
	g_subprocess_wait(env->daemon, NULL, NULL);
	g_clear_object(&env->daemon);
}

void
sbx_test_rm_rf(const gchar *path)
{
	if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
		g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
		const gchar *name;
		while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
			g_autofree gchar *child = g_build_filename(path, name, NULL);
			sbx_test_rm_rf(child);
		}
		g_rmdir(path);
		return;
	}
	g_unlink(path);
}

SbxTestEnv *
sbx_test_env_new(const gchar *name)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *template = g_strdup_printf("sbx-test-%s-XXXXXX", name);
	g_autofree gchar *tmpdir = g_dir_make_tmp(template, &error);
	SbxTestEnv *env = g_new0(SbxTestEnv, 1);

	g_assert_no_error(error);
	env->owns_tmpdir = TRUE;
	if (!sbx_test_env_setup(env, tmpdir, &error))
		g_error("cannot set up the test environment in %s: %s", tmpdir, error->message);
	return env;
}

void
sbx_test_env_free(SbxTestEnv *env)
{
	g_autofree gchar *tmpdir = NULL;

	if (env == NULL)
		return;
	if (g_test_failed() && env->daemon_log != NULL) {
		g_autofree gchar *tail = sbx_test_env_daemon_log_tail(env, 16 * 1024);
		g_printerr("# sandboxd's log (last 16 KiB):\n%s\n", tail);
	}
	tmpdir = env->owns_tmpdir ? g_strdup(env->tmpdir) : NULL;
	sbx_test_env_stop(env);
	if (tmpdir != NULL)
		sbx_test_rm_rf(tmpdir);
	g_free(env);
}

gchar *
sbx_test_env_daemon_log_tail(SbxTestEnv *env, gsize max_bytes)
{
	g_autofree gchar *contents = NULL;
	gsize len = 0;
	if (env->daemon_log == NULL || !g_file_get_contents(env->daemon_log, &contents, &len, NULL))
		return g_strdup("(no log)");
	if (len <= max_bytes)
		return g_steal_pointer(&contents);
	return g_strdup(contents + len - max_bytes);
}

static GDBusConnection *
conn_or_default(GDBusConnection *conn)
{
	return conn != NULL ? conn : the_env.conn;
}

gchar *
sbx_test_create(GDBusConnection *conn, GVariant *options, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;

	if (options == NULL)
		options = g_variant_new("a{sv}", NULL);
	reply = g_dbus_connection_call_sync(
	    conn_or_default(conn), SBX_TEST_BUS_NAME, SBX_TEST_MANAGER_PATH, SBX_TEST_MANAGER_IFACE,
	    "CreateSandbox", g_variant_new("(@a{sv})", options), G_VARIANT_TYPE("(o)"),
	    G_DBUS_CALL_FLAGS_NONE, SBX_TEST_CREATE_TIMEOUT_MS, NULL, error);
	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(o)", &path);
	/* so the supervisor can destroy it if we crash */
	id = sbx_test_get_id(conn, path);
	if (id != NULL && the_env.tmpdir != NULL)
		sbx_supervisor_record_domain(the_env.tmpdir, id);
	return g_steal_pointer(&path);
}

gboolean
sbx_test_kill(GDBusConnection *conn, const gchar *path, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	reply = g_dbus_connection_call_sync(
	    conn_or_default(conn), SBX_TEST_BUS_NAME, path, SBX_TEST_SANDBOX_IFACE, "Kill", NULL,
	    NULL, G_DBUS_CALL_FLAGS_NONE, SBX_TEST_CREATE_TIMEOUT_MS, NULL, error);
	return reply != NULL;
}

GVariant *
sbx_test_get_property(GDBusConnection *conn, const gchar *path, const gchar *iface,
		      const gchar *name, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	GVariant *value = NULL;
	reply = g_dbus_connection_call_sync(
	    conn_or_default(conn), SBX_TEST_BUS_NAME, path, "org.freedesktop.DBus.Properties",
	    "Get", g_variant_new("(ss)", iface, name), G_VARIANT_TYPE("(v)"),
	    G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(v)", &value);
	return value;
}

gchar *
sbx_test_get_id(GDBusConnection *conn, const gchar *path)
{
	g_autoptr(GVariant) value = NULL;
	g_autoptr(GError) error = NULL;
	value = sbx_test_get_property(conn, path, SBX_TEST_SANDBOX_IFACE, "Id", &error);
	if (value == NULL) {
		g_printerr("# cannot read Id of %s: %s\n", path, error->message);
		return NULL;
	}
	if (!g_variant_is_of_type(value, G_VARIANT_TYPE_STRING))
		return NULL;
	return g_variant_dup_string(value, NULL);
}

/* --- for the unit tests: assertions instead of errors ------------------- */

void
sbx_test_env_run_daemon(SbxTestEnv *env)
{
	g_autoptr(GError) error = NULL;
	sbx_test_env_start_daemon(env, &error);
	g_assert_no_error(error);
}

GDBusConnection *
sbx_test_env_new_client(SbxTestEnv *env)
{
	g_autoptr(GError) error = NULL;
	GDBusConnection *conn = sbx_test_env_connect(env, &error);
	g_assert_no_error(error);
	return conn;
}

GVariant *
sbx_test_call(GDBusConnection *conn, const gchar *path, const gchar *iface, const gchar *method,
	      GVariant *args, const gchar *reply_type, GError **error)
{
	return g_dbus_connection_call_sync(conn_or_default(conn), SBX_TEST_BUS_NAME, path, iface,
					   method, args,
					   reply_type != NULL ? G_VARIANT_TYPE(reply_type) : NULL,
					   G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
}

GVariant *
sbx_test_get_prop(GDBusConnection *conn, const gchar *path, const gchar *iface, const gchar *name)
{
	g_autoptr(GError) error = NULL;
	GVariant *value = sbx_test_get_property(conn, path, iface, name, &error);
	g_assert_no_error(error);
	return value;
}

gint
sbx_test_tmp_fd(void)
{
	gchar name[] = "/tmp/sbx-test-out-XXXXXX";
	gint fd = g_mkstemp(name);
	g_assert_cmpint(fd, >=, 0);
	g_unlink(name);
	return fd;
}

gchar *
sbx_test_read_fd(gint fd)
{
	g_autoptr(GString) s = g_string_new(NULL);
	gchar buf[4096];
	gssize n;
	g_assert_cmpint(lseek(fd, 0, SEEK_SET), ==, 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		g_string_append_len(s, buf, n);
	return g_string_free(g_steal_pointer(&s), FALSE);
}

void
sbx_test_wait_until(SbxTestCondFunc cond, gpointer data, guint timeout_s)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
	while (!cond(data)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10 * 1000);
	}
}

void
sbx_test_assert_remote_error(GError *error, const gchar *name, const gchar *in_message)
{
	g_autofree gchar *remote = NULL;
	g_assert_nonnull(error);
	remote = g_dbus_error_get_remote_error(error);
	if (g_strcmp0(remote, name) != 0)
		g_error("expected %s, got %s: %s", name, remote, error->message);
	if (in_message != NULL && strstr(error->message, in_message) == NULL)
		g_error("expected '%s' in: %s", in_message, error->message);
}

gchar *
sbx_test_create_sandbox(GDBusConnection *conn, const gchar *options, GError **error)
{
	g_autoptr(GVariant) reply =
	    sbx_test_call(conn, SBX_TEST_MANAGER_PATH, SBX_TEST_MANAGER_IFACE, "CreateSandbox",
			  g_variant_new("(@a{sv})", g_variant_new_parsed(options)), "(o)", error);
	gchar *path = NULL;
	if (reply != NULL)
		g_variant_get(reply, "(o)", &path);
	return path;
}
