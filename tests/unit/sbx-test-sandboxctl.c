/* sandboxctl against a mock org.sandboxd on a private bus: argument parsing, what goes over
 * D-Bus, stdio through passed fds, exit codes and error lines.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sbx-dbus-generated.h"

#define MOCK_PATH "/org/sandboxd/Sandbox1/mock1"

/* the mock daemon: runs in its own thread and main context */
typedef struct {
	GMutex mutex;
	GCond cond;
	GMainContext *context;
	GMainLoop *loop;
	GThread *thread;
	GDBusConnection *connection;
	gboolean ready;
	gchar *last_create_options;
	gchar *last_exec_options;
	guint kills;
	GDBusMethodInvocation *hanging_exec;
} Mock;

static gchar *bus_address = NULL;
/* "NAME=VALUE" set in sandboxctl's environment (not ours: threads run) */
static const gchar *ctl_env = NULL;
static Mock *mock = NULL;

static void
mock_write_all(gint fd, const gchar *buf)
{
	gsize len = strlen(buf);

	while (len > 0) {
		gssize n = write(fd, buf, len);
		if (n <= 0)
			return;
		buf += n;
		len -= (gsize)n;
	}
}

static void
mock_exec(GDBusMethodInvocation *invocation, GVariant *parameters)
{
	GDBusMessage *message = g_dbus_method_invocation_get_message(invocation);
	GUnixFDList *fd_list = g_dbus_message_get_unix_fd_list(message);
	g_autofree const gchar **argv = NULL;
	g_autoptr(GVariant) options = NULL;
	gint32 h_in, h_out, h_err;
	gint fd_in, fd_out, fd_err;

	g_variant_get(parameters, "(^a&s@a{sv}hhh)", &argv, &options, &h_in, &h_out, &h_err);
	g_assert_nonnull(fd_list);
	g_assert_cmpint(g_unix_fd_list_get_length(fd_list), ==, 3);
	fd_in = g_unix_fd_list_peek_fds(fd_list, NULL)[h_in];
	fd_out = g_unix_fd_list_peek_fds(fd_list, NULL)[h_out];
	fd_err = g_unix_fd_list_peek_fds(fd_list, NULL)[h_err];

	g_mutex_lock(&mock->mutex);
	g_free(mock->last_exec_options);
	mock->last_exec_options = g_variant_print(options, TRUE);
	g_mutex_unlock(&mock->mutex);

	if (g_strcmp0(argv[0], "echo") == 0) {
		g_autofree gchar *line = g_strjoinv(" ", (gchar **)argv + 1);
		mock_write_all(fd_out, line);
		mock_write_all(fd_out, "\n");
		mock_write_all(fd_err, "to stderr\n");
		g_dbus_method_invocation_return_value(invocation, g_variant_new("(ii)", 0, 0));
	} else if (g_strcmp0(argv[0], "cat") == 0) {
		gchar buf[4096];
		gssize n;
		while ((n = read(fd_in, buf, sizeof(buf))) > 0) {
			if (write(fd_out, buf, (gsize)n) != n)
				break;
		}
		g_dbus_method_invocation_return_value(invocation, g_variant_new("(ii)", 0, 0));
	} else if (g_strcmp0(argv[0], "exit") == 0) {
		g_dbus_method_invocation_return_value(invocation,
						      g_variant_new("(ii)", atoi(argv[1]), 0));
	} else if (g_strcmp0(argv[0], "signal") == 0) {
		g_dbus_method_invocation_return_value(invocation,
						      g_variant_new("(ii)", -1, atoi(argv[1])));
	} else if (g_strcmp0(argv[0], "hang") == 0) {
		/* answered by Kill */
		g_mutex_lock(&mock->mutex);
		mock->hanging_exec = invocation;
		g_cond_broadcast(&mock->cond);
		g_mutex_unlock(&mock->mutex);
	} else {
		g_dbus_method_invocation_return_dbus_error(
		    invocation, "org.sandboxd.Error.SandboxGone", "the sandbox died\nunexpectedly");
	}
}

static void
mock_method_call(GDBusConnection *connection, const gchar *sender, const gchar *object_path,
		 const gchar *interface_name, const gchar *method_name, GVariant *parameters,
		 GDBusMethodInvocation *invocation, gpointer user_data)
{
	if (g_strcmp0(method_name, "CreateSandbox") == 0) {
		g_autoptr(GVariant) options = g_variant_get_child_value(parameters, 0);
		guint32 memory = 0;

		g_mutex_lock(&mock->mutex);
		g_free(mock->last_create_options);
		mock->last_create_options = g_variant_print(options, TRUE);
		g_mutex_unlock(&mock->mutex);
		if (g_variant_lookup(options, "memory", "u", &memory) && memory < 768) {
			g_dbus_method_invocation_return_dbus_error(
			    invocation, "org.sandboxd.Error.InvalidArgument",
			    "memory: 1 is out of range (768-4096 MiB)");
			return;
		}
		g_dbus_method_invocation_return_value(invocation, g_variant_new("(o)", MOCK_PATH));
	} else if (g_strcmp0(method_name, "ListSandboxes") == 0) {
		const gchar *paths[] = {MOCK_PATH, "/org/sandboxd/Sandbox1/vanished", NULL};
		g_dbus_method_invocation_return_value(invocation, g_variant_new("(^ao)", paths));
	} else if (g_strcmp0(method_name, "GetSandbox") == 0) {
		const gchar *id = NULL;
		g_variant_get(parameters, "(&s)", &id);
		if (g_strcmp0(id, "mock1") != 0) {
			g_dbus_method_invocation_return_dbus_error(
			    invocation, "org.sandboxd.Error.NotFound", "no such sandbox");
			return;
		}
		g_dbus_method_invocation_return_value(invocation, g_variant_new("(o)", MOCK_PATH));
	} else if (g_strcmp0(method_name, "Exec") == 0) {
		mock_exec(invocation, parameters);
	} else if (g_strcmp0(method_name, "Kill") == 0) {
		g_autoptr(GDBusMethodInvocation) hanging = NULL;

		g_mutex_lock(&mock->mutex);
		mock->kills++;
		hanging = g_steal_pointer(&mock->hanging_exec);
		g_cond_broadcast(&mock->cond);
		g_mutex_unlock(&mock->mutex);
		if (hanging != NULL) {
			g_dbus_method_invocation_return_dbus_error(
			    g_object_ref(hanging), "org.sandboxd.Error.SandboxGone", "killed");
		}
		g_dbus_method_invocation_return_value(invocation, NULL);
	} else {
		g_dbus_method_invocation_return_dbus_error(
		    invocation, "org.freedesktop.DBus.Error.UnknownMethod", "no such method");
	}
}

static GVariant *
mock_get_property(GDBusConnection *connection, const gchar *sender, const gchar *object_path,
		  const gchar *interface_name, const gchar *property_name, GError **error,
		  gpointer user_data)
{
	if (g_strcmp0(property_name, "Id") == 0)
		return g_variant_new_string("mock1");
	if (g_strcmp0(property_name, "State") == 0)
		return g_variant_new_string("running");
	if (g_strcmp0(property_name, "Image") == 0)
		return g_variant_new_string("minimal");
	if (g_strcmp0(property_name, "MemoryMiB") == 0)
		return g_variant_new_uint32(1024);
	if (g_strcmp0(property_name, "VCpus") == 0)
		return g_variant_new_uint32(2);
	if (g_strcmp0(property_name, "CreatedAt") == 0)
		return g_variant_new_uint64(1700000000ULL * G_USEC_PER_SEC);
	if (g_strcmp0(property_name, "ExpiresAt") == 0)
		return g_variant_new_uint64(0);
	if (g_strcmp0(property_name, "Labels") == 0) {
		GVariantBuilder builder;
		g_variant_builder_init(&builder, G_VARIANT_TYPE("a{ss}"));
		g_variant_builder_add(&builder, "{ss}", "b", "2");
		g_variant_builder_add(&builder, "{ss}", "a", "1");
		return g_variant_builder_end(&builder);
	}
	g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "no %s", property_name);
	return NULL;
}

static const GDBusInterfaceVTable mock_vtable = {mock_method_call, mock_get_property, NULL};

static gpointer
mock_thread(gpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;

	g_main_context_push_thread_default(mock->context);
	mock->connection = g_dbus_connection_new_for_address_sync(
	    bus_address,
	    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	    NULL, NULL, &error);
	g_assert_no_error(error);
	g_dbus_connection_register_object(mock->connection, "/org/sandboxd/Manager1",
					  sbx_dbus_manager1_interface_info(), &mock_vtable, NULL,
					  NULL, &error);
	g_assert_no_error(error);
	g_dbus_connection_register_object(mock->connection, MOCK_PATH,
					  sbx_dbus_sandbox1_interface_info(), &mock_vtable, NULL,
					  NULL, &error);
	g_assert_no_error(error);
	reply = g_dbus_connection_call_sync(
	    mock->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
	    "org.freedesktop.DBus", "RequestName", g_variant_new("(su)", "org.sandboxd", 0),
	    G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	g_assert_no_error(error);

	g_mutex_lock(&mock->mutex);
	mock->ready = TRUE;
	g_cond_broadcast(&mock->cond);
	g_mutex_unlock(&mock->mutex);
	g_main_loop_run(mock->loop);
	g_main_context_pop_thread_default(mock->context);
	return NULL;
}

static void
mock_ensure(void)
{
	if (mock != NULL)
		return;
	mock = g_new0(Mock, 1);
	g_mutex_init(&mock->mutex);
	g_cond_init(&mock->cond);
	mock->context = g_main_context_new();
	mock->loop = g_main_loop_new(mock->context, FALSE);
	mock->thread = g_thread_new("mock-sandboxd", mock_thread, NULL);
	g_mutex_lock(&mock->mutex);
	while (!mock->ready)
		g_cond_wait(&mock->cond, &mock->mutex);
	g_mutex_unlock(&mock->mutex);
}

/* run sandboxctl with @args; returns its exit status */
static gint
run_ctl(const gchar *const *args, const gchar *stdin_buf, gboolean with_address, gchar **out,
	gchar **err)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GSubprocessLauncher) launcher = NULL;
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;

	g_ptr_array_add(argv, (gpointer)g_getenv("SANDBOXCTL"));
	if (with_address) {
		g_ptr_array_add(argv, (gpointer) "--address");
		g_ptr_array_add(argv, bus_address);
	}
	for (guint i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, (gpointer)args[i]);
	g_ptr_array_add(argv, NULL);
	launcher = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE |
					     G_SUBPROCESS_FLAGS_STDOUT_PIPE |
					     G_SUBPROCESS_FLAGS_STDERR_PIPE);
	if (ctl_env != NULL) {
		g_auto(GStrv) kv = g_strsplit(ctl_env, "=", 2);
		g_subprocess_launcher_setenv(launcher, kv[0], kv[1], TRUE);
	}
	proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv->pdata, &error);
	g_assert_no_error(error);
	g_subprocess_communicate_utf8(proc, stdin_buf, NULL, out, err, &error);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_get_if_exited(proc));
	return g_subprocess_get_exit_status(proc);
}

/* sandboxctl's own errors are exactly one line starting with "sandboxctl: " */
static void
assert_error_line(const gchar *err, const gchar *contains)
{
	g_assert_true(g_str_has_prefix(err, "sandboxctl: "));
	g_assert_true(g_str_has_suffix(err, "\n"));
	g_assert_true(strchr(err, '\n') == err + strlen(err) - 1);
	g_assert_nonnull(strstr(err, contains));
	g_assert_null(strstr(err, "GDBus.Error"));
	g_assert_null(strstr(err, "CRITICAL"));
}

static void
test_usage_errors(void)
{
	struct {
		const gchar *args[8];
		const gchar *message;
	} cases[] = {
	    {{NULL}, "missing command"},
	    {{"frobnicate", NULL}, "unknown command 'frobnicate'"},
	    {{"--bogus", "list", NULL}, "--bogus"},
	    {{"list", "--bogus", NULL}, "--bogus"},
	    {{"list", "extra", NULL}, "unexpected argument 'extra'"},
	    {{"create", "--memory", "lots", NULL}, "--memory"},
	    {{"create", "--vcpus", "-1", NULL}, "--vcpus"},
	    {{"create", "--env", "NOEQUALS", NULL}, "KEY=VALUE"},
	    {{"create", "--label", "=v", NULL}, "KEY=VALUE"},
	    {{"create", "--secret", "NOAT", NULL}, "expected NAME@HOST"},
	    {{"create", "--secret", "SBX_TEST_UNSET_VAR@a.test", NULL},
	     "the environment variable SBX_TEST_UNSET_VAR is not set"},
	    {{"exec", "mock1", "true", NULL}, "missing '--'"},
	    {{"exec", "mock1", "--", NULL}, "missing the command"},
	    {{"exec", "--", "true", NULL}, "missing the sandbox id"},
	    {{"exec", "mock1", "--env", "X", "--", "true", NULL}, "KEY=VALUE"},
	    {{"run", "true", NULL}, "missing '--'"},
	    {{"run", "--memory", "", "--", "true", NULL}, "--memory"},
	    {{"kill", NULL}, "missing the sandbox id"},
	    {{"kill", "a", "b", NULL}, "unexpected argument 'b'"},
	    {{"--address", "not-an-address", "list", NULL}, "invalid D-Bus address"},
	};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree gchar *out = NULL;
		g_autofree gchar *err = NULL;
		gint rc = run_ctl(cases[i].args, NULL, FALSE, &out, &err);

		g_test_message("case %u: %s", i, err);
		g_assert_cmpint(rc, ==, 2);
		g_assert_cmpstr(out, ==, "");
		assert_error_line(err, cases[i].message);
	}
}

static void
test_help_version(void)
{
	const gchar *help[] = {"--help", NULL};
	const gchar *exec_help[] = {"exec", "--help", NULL};
	const gchar *version[] = {"--version", NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	g_assert_cmpint(run_ctl(help, NULL, FALSE, &out, &err), ==, 0);
	g_assert_nonnull(strstr(out, "create"));
	g_assert_nonnull(strstr(out, "--address"));
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_ctl(exec_help, NULL, FALSE, &out, &err), ==, 0);
	g_assert_nonnull(strstr(out, "sandboxctl exec"));
	g_assert_nonnull(strstr(out, "--cwd"));
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_ctl(version, NULL, FALSE, &out, &err), ==, 0);
	g_assert_true(g_str_has_prefix(out, "sandboxctl " PACKAGE_VERSION));
}

static void
test_unreachable(void)
{
	const gchar *no_bus[] = {"--address", "unix:path=/nonexistent/sandboxd-bus", "list", NULL};
	const gchar *list[] = {"list", NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	/* no bus at all */
	g_assert_cmpint(run_ctl(no_bus, NULL, FALSE, &out, &err), ==, 1);
	assert_error_line(err, "cannot reach sandboxd on the given bus address");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	/* a bus without sandboxd on it */
	g_assert_null(mock);
	g_assert_cmpint(run_ctl(list, NULL, TRUE, &out, &err), ==, 1);
	assert_error_line(err, "cannot reach sandboxd");
	g_assert_cmpstr(out, ==, "");
}

static void
test_create(void)
{
	const gchar *args[] = {"create", "--memory", "2048",  "--vcpus", "1",	    "--env",
			       "A=1",	 "--env",    "B=x=y", "--label", "team=ci", NULL};
	const gchar *args_timeout[] = {"create", "--timeout", "5m", NULL};
	const gchar *args_bad[] = {"create", "--memory", "1", NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	mock_ensure();
	g_assert_cmpint(run_ctl(args, NULL, TRUE, &out, &err), ==, 0);
	g_assert_cmpstr(out, ==, "mock1\n");
	g_assert_cmpstr(err, ==, "");
	g_mutex_lock(&mock->mutex);
	g_assert_nonnull(strstr(mock->last_create_options, "'memory': <uint32 2048>"));
	g_assert_nonnull(strstr(mock->last_create_options, "'vcpus': <uint32 1>"));
	g_assert_nonnull(strstr(mock->last_create_options, "'env': <{'A': '1', 'B': 'x=y'}>"));
	g_assert_nonnull(strstr(mock->last_create_options, "'labels': <{'team': 'ci'}>"));
	/* create exits at once, so its sandbox must not be session-bound */
	g_assert_nonnull(strstr(mock->last_create_options, "'timeout': <'10m'>"));
	g_mutex_unlock(&mock->mutex);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	g_assert_cmpint(run_ctl(args_timeout, NULL, TRUE, &out, &err), ==, 0);
	g_mutex_lock(&mock->mutex);
	g_assert_cmpstr(mock->last_create_options, ==, "{'timeout': <'5m'>}");
	g_mutex_unlock(&mock->mutex);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	/* the daemon's error, without the GDBus prefix */
	g_assert_cmpint(run_ctl(args_bad, NULL, TRUE, &out, &err), ==, 1);
	assert_error_line(err, "cannot create sandbox: memory: 1 is out of range (768-4096 MiB)");
}

/* --secret NAME@HOST,HOST: the value comes from sandboxctl's environment */
static void
test_create_secret(void)
{
	const gchar *args[] = {"create",
			       "--allow-net",
			       "api.example.com,b.example.com",
			       "--secret",
			       "SBX_TEST_KEY@api.example.com, b.example.com",
			       NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	mock_ensure();
	ctl_env = "SBX_TEST_KEY=sk-from-env";
	g_assert_cmpint(run_ctl(args, NULL, TRUE, &out, &err), ==, 0);
	ctl_env = NULL;
	g_assert_cmpstr(err, ==, "");
	g_mutex_lock(&mock->mutex);
	g_assert_nonnull(strstr(mock->last_create_options,
				"'secrets': <{'SBX_TEST_KEY': (['api.example.com', "
				"'b.example.com'], 'sk-from-env')}>"));
	g_mutex_unlock(&mock->mutex);
}

static void
test_exec(void)
{
	const gchar *echo[] = {"exec", "mock1", "--", "echo", "hello", "world", NULL};
	const gchar *cat[] = {"exec", "mock1", "--env", "K=V", "--cwd", "/tmp", "--", "cat", NULL};
	const gchar *exit42[] = {"exec", "mock1", "--", "exit", "42", NULL};
	const gchar *sig9[] = {"exec", "mock1", "--", "signal", "9", NULL};
	const gchar *gone[] = {"exec", "mock1", "--", "die", NULL};
	const gchar *missing[] = {"exec", "nope", "--", "true", NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	mock_ensure();
	g_assert_cmpint(run_ctl(echo, NULL, TRUE, &out, &err), ==, 0);
	g_assert_cmpstr(out, ==, "hello world\n");
	g_assert_cmpstr(err, ==, "to stderr\n");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	g_assert_cmpint(run_ctl(cat, "piped through\n", TRUE, &out, &err), ==, 0);
	g_assert_cmpstr(out, ==, "piped through\n");
	g_mutex_lock(&mock->mutex);
	g_assert_cmpstr(mock->last_exec_options, ==, "{'env': <{'K': 'V'}>, 'cwd': <'/tmp'>}");
	g_mutex_unlock(&mock->mutex);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	g_assert_cmpint(run_ctl(exit42, NULL, TRUE, &out, &err), ==, 42);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	g_assert_cmpint(run_ctl(sig9, NULL, TRUE, &out, &err), ==, 128 + 9);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	/* a multi-line remote message still gives one line */
	g_assert_cmpint(run_ctl(gone, NULL, TRUE, &out, &err), ==, 1);
	assert_error_line(err, "cannot run the command: the sandbox died unexpectedly");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	g_assert_cmpint(run_ctl(missing, NULL, TRUE, &out, &err), ==, 1);
	assert_error_line(err, "cannot find sandbox 'nope': no such sandbox");
}

static guint
mock_kills(void)
{
	guint kills;

	g_mutex_lock(&mock->mutex);
	kills = mock->kills;
	g_mutex_unlock(&mock->mutex);
	return kills;
}

static void
test_run(void)
{
	const gchar *exit42[] = {"run", "--label", "a=b", "--", "exit", "42", NULL};
	const gchar *gone[] = {"run", "--", "die", NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	guint kills;

	mock_ensure();
	kills = mock_kills();
	g_assert_cmpint(run_ctl(exit42, NULL, TRUE, &out, &err), ==, 42);
	g_assert_cmpstr(err, ==, "");
	g_assert_cmpuint(mock_kills(), ==, kills + 1);
	g_mutex_lock(&mock->mutex);
	g_assert_cmpstr(mock->last_create_options, ==,
			"{'labels': <{'a': 'b'}>, 'timeout': <'session'>}");
	g_mutex_unlock(&mock->mutex);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	/* Kill is attempted even when Exec fails */
	g_assert_cmpint(run_ctl(gone, NULL, TRUE, &out, &err), ==, 1);
	assert_error_line(err, "cannot run the command");
	g_assert_cmpuint(mock_kills(), ==, kills + 2);
}

static void
test_run_interrupted(void)
{
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GError) error = NULL;
	guint kills;

	mock_ensure();
	kills = mock_kills();
	proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE, &error, g_getenv("SANDBOXCTL"),
				"--address", bus_address, "run", "--", "hang", NULL);
	g_assert_no_error(error);
	g_mutex_lock(&mock->mutex);
	while (mock->hanging_exec == NULL)
		g_cond_wait(&mock->cond, &mock->mutex);
	g_mutex_unlock(&mock->mutex);

	g_subprocess_send_signal(proc, SIGINT);
	g_subprocess_wait(proc, NULL, &error);
	g_assert_no_error(error);
	g_assert_true(g_subprocess_get_if_exited(proc));
	g_assert_cmpint(g_subprocess_get_exit_status(proc), ==, 128 + SIGINT);
	g_assert_cmpuint(mock_kills(), ==, kills + 1);
}

static void
test_list_kill(void)
{
	const gchar *list[] = {"list", NULL};
	const gchar *list_session[] = {"--session", "list", NULL};
	const gchar *kill[] = {"kill", "mock1", NULL};
	const gchar *kill_missing[] = {"kill", "nope", NULL};
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_auto(GStrv) lines = NULL;
	g_auto(GStrv) cols = NULL;
	guint kills;

	mock_ensure();
	g_assert_cmpint(run_ctl(list, NULL, TRUE, &out, &err), ==, 0);
	g_assert_cmpstr(err, ==, "");
	lines = g_strsplit(out, "\n", -1);
	/* header, mock1 (the vanished path is skipped), and the empty tail */
	g_assert_cmpuint(g_strv_length(lines), ==, 3);
	g_assert_true(g_str_has_prefix(lines[0], "ID"));
	g_assert_nonnull(strstr(lines[0], "LABELS"));
	cols = g_regex_split_simple("\\s+", lines[1], 0, 0);
	g_assert_cmpuint(g_strv_length(cols), ==, 7);
	g_assert_cmpstr(cols[0], ==, "mock1");
	g_assert_cmpstr(cols[1], ==, "running");
	g_assert_cmpstr(cols[2], ==, "1024");
	g_assert_cmpstr(cols[3], ==, "2");
	g_assert_cmpstr(cols[6], ==, "a=1,b=2");
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	/* main() pointed DBUS_SESSION_BUS_ADDRESS at the same bus */
	g_assert_cmpint(run_ctl(list_session, NULL, FALSE, &out, &err), ==, 0);
	g_assert_true(g_str_has_prefix(out, "ID"));
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	kills = mock_kills();
	g_assert_cmpint(run_ctl(kill, NULL, TRUE, &out, &err), ==, 0);
	g_assert_cmpstr(err, ==, "");
	g_assert_cmpuint(mock_kills(), ==, kills + 1);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);

	g_assert_cmpint(run_ctl(kill_missing, NULL, TRUE, &out, &err), ==, 1);
	assert_error_line(err, "cannot find sandbox 'nope'");
}

static void
bus_child_setup(gpointer user_data)
{
	/* no stray bus if this test dies on a failed assertion */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* a private dbus-daemon; GTestDBus would leak it when an assertion aborts */
static GSubprocess *
bus_start(GError **error)
{
	g_autoptr(GSubprocessLauncher) launcher =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_autoptr(GSubprocess) proc = NULL;
	g_autoptr(GDataInputStream) stdout_data = NULL;
	g_autofree gchar *line = NULL;

	g_subprocess_launcher_set_child_setup(launcher, bus_child_setup, NULL, NULL);
	proc = g_subprocess_launcher_spawn(launcher, error, "dbus-daemon", "--session", "--nofork",
					   "--print-address=1", NULL);
	if (proc == NULL)
		return NULL;
	stdout_data = g_data_input_stream_new(g_subprocess_get_stdout_pipe(proc));
	line = g_data_input_stream_read_line(stdout_data, NULL, NULL, error);
	if (line == NULL)
		return NULL;
	bus_address = g_strdup(g_strstrip(line));
	return g_steal_pointer(&proc);
}

int
main(int argc, char **argv)
{
	g_autoptr(GSubprocess) bus = NULL;
	g_autoptr(GError) error = NULL;
	gint rc;

	g_test_init(&argc, &argv, NULL);
	g_assert_nonnull(g_getenv("SANDBOXCTL"));
	g_unsetenv("SANDBOXCTL_BUS_ADDRESS");
	/* sandboxctl's messages are checked in English */
	g_setenv("LC_ALL", "C", TRUE);

	bus = bus_start(&error);
	g_assert_no_error(error);
	g_assert_nonnull(bus_address);
	/* for sandboxctl --session */
	g_setenv("DBUS_SESSION_BUS_ADDRESS", bus_address, TRUE);

	g_test_add_func("/sandboxctl/usage-errors", test_usage_errors);
	g_test_add_func("/sandboxctl/help-version", test_help_version);
	g_test_add_func("/sandboxctl/unreachable", test_unreachable);
	g_test_add_func("/sandboxctl/create", test_create);
	g_test_add_func("/sandboxctl/create-secret", test_create_secret);
	g_test_add_func("/sandboxctl/exec", test_exec);
	g_test_add_func("/sandboxctl/run", test_run);
	g_test_add_func("/sandboxctl/run-interrupted", test_run_interrupted);
	g_test_add_func("/sandboxctl/list-kill", test_list_kill);
	rc = g_test_run();

	if (mock != NULL) {
		g_main_loop_quit(mock->loop);
		g_thread_join(mock->thread);
		g_dbus_connection_close_sync(mock->connection, NULL, NULL);
		g_clear_object(&mock->connection);
	}
	g_subprocess_force_exit(bus);
	g_subprocess_wait(bus, NULL, NULL);
	g_free(bus_address);
	return rc;
}
