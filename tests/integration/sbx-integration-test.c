/* integration tests: a private dbus-daemon, the real sandboxd from the build dir, the
 * system libvirtd and real microVMs (TCG on machines without usable KVM).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gstdio.h>
#include <gio/gunixfdlist.h>
#include <signal.h>
#include <unistd.h>
#include <string.h>

#include "sbx-test-env.h"
#include "sbx-test-main.h"
#include "sbx-test-supervisor.h"

#define MANAGER_PATH "/org/sandboxd/Manager1"
#define MANAGER_IFACE "org.sandboxd.Manager1"
#define SANDBOX_IFACE "org.sandboxd.Sandbox1"
#define BIG_STDOUT_BYTES (20 * 1024 * 1024)
#define BIG_STDIN_BYTES (8 * 1024 * 1024)

/* one VM shared by every test that does not need its own: each boot costs seconds */
static gchar *shared_path;
static gchar *shared_id;
static gchar *shared_error;
/* the second sandbox of the two-at-once test, killed by the kill test */
static gchar *second_path;

static const gchar *
shared_sandbox(void)
{
	g_autoptr(GError) error = NULL;
	GVariantBuilder labels;
	GVariantBuilder opts;

	if (shared_path != NULL)
		return shared_path;
	if (shared_error != NULL)
		g_error("the shared sandbox could not be created earlier: %s", shared_error);
	g_variant_builder_init(&labels, G_VARIANT_TYPE("a{ss}"));
	g_variant_builder_add(&labels, "{ss}", "suite", "integration");
	g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&opts, "{sv}", "memory", g_variant_new_uint32(768));
	g_variant_builder_add(&opts, "{sv}", "vcpus", g_variant_new_uint32(1));
	g_variant_builder_add(&opts, "{sv}", "labels", g_variant_builder_end(&labels));
	shared_path = sbx_test_create(NULL, g_variant_builder_end(&opts), &error);
	if (shared_path == NULL) {
		shared_error = g_strdup(error->message);
		g_assert_no_error(error);
	}
	shared_id = sbx_test_get_id(NULL, shared_path);
	g_assert_nonnull(shared_id);
	g_test_message("shared sandbox %s", shared_id);
	return shared_path;
}

static void
assert_contains(const gchar *haystack, const gchar *needle)
{
	if (haystack == NULL || strstr(haystack, needle) == NULL)
		g_error("'%s' does not contain '%s'", haystack, needle);
}

static GPtrArray *
list_sandboxes(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autofree const gchar **paths = NULL;
	GPtrArray *result = g_ptr_array_new_with_free_func(g_free);

	reply = g_dbus_connection_call_sync(
	    sbx_test_env_get()->conn, "org.sandboxd", MANAGER_PATH, MANAGER_IFACE, "ListSandboxes",
	    g_variant_new_parsed("(@a{sv} {},)"), G_VARIANT_TYPE("(ao)"), G_DBUS_CALL_FLAGS_NONE,
	    -1, NULL, &error);
	g_assert_no_error(error);
	g_variant_get(reply, "(^a&o)", &paths);
	for (guint i = 0; paths[i] != NULL; i++)
		g_ptr_array_add(result, g_strdup(paths[i]));
	return result;
}

static gboolean
str_array_has(GPtrArray *array, const gchar *str)
{
	for (guint i = 0; i < array->len; i++) {
		if (g_strcmp0(g_ptr_array_index(array, i), str) == 0)
			return TRUE;
	}
	return FALSE;
}

/* what a killed sandbox left in the state or runtime folder, or NULL */
static gchar *
leftover_of(SbxTestEnv *env, const gchar *id, GPtrArray *files_before)
{
	g_autoptr(GPtrArray) state = sbx_test_list_files(env->state_dir);
	g_autoptr(GPtrArray) run = sbx_test_list_files(env->runtime_dir);

	for (guint i = 0; i < state->len; i++) {
		const gchar *file = g_ptr_array_index(state, i);
		if (strstr(file, id) != NULL)
			return g_strdup_printf("%s/%s is left behind after Kill", env->state_dir,
					       file);
	}
	for (guint i = 0; i < run->len; i++) {
		const gchar *file = g_ptr_array_index(run, i);
		/* a snapshot's template VM (qemu backend: the first cold boot of a
		 * kind takes one in the background) comes and goes on its own time */
		if (g_str_has_prefix(file, "sbxsnap"))
			continue;
		if (strstr(file, id) != NULL)
			return g_strdup_printf("%s/%s is left behind after Kill", env->runtime_dir,
					       file);
		if (files_before != NULL && !str_array_has(files_before, file))
			return g_strdup_printf("%s/%s appeared with %s and stayed after Kill",
					       env->runtime_dir, file, id);
	}
	return NULL;
}

/* after Kill: no object, no domain, no QEMU, no file left in the runtime dir */
static void
assert_sandbox_gone(const gchar *path, const gchar *id, GPtrArray *files_before)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GPtrArray) paths = list_sandboxes();
	g_autoptr(GArray) qemu = NULL;
	gchar *left;
	gint64 deadline;

	g_assert_false(str_array_has(paths, path));
	reply = g_dbus_connection_call_sync(env->conn, "org.sandboxd", MANAGER_PATH, MANAGER_IFACE,
					    "GetSandbox", g_variant_new("(s)", id),
					    G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
					    &error);
	g_assert_null(reply);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.NotFound", NULL);
	g_clear_error(&error);

	sbx_test_wait_vm_gone(id, 60);
	qemu = sbx_test_find_qemu(id);
	if (qemu->len > 0)
		g_error("QEMU pid %d of %s still runs after Kill", g_array_index(qemu, gint, 0),
			id);

	/* neither folder keeps anything of it. Its record goes through the state
	 * store's writer thread, behind any write (and fsync) queued before: wait
	 * for that, bounded */
	deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	while ((left = leftover_of(env, id, files_before)) != NULL) {
		if (g_get_monotonic_time() > deadline)
			g_error("%s", left);
		g_free(left);
		g_usleep(100 * 1000);
	}
}

static void
test_manager_properties(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) version = NULL;
	g_autoptr(GVariant) domain_type = NULL;
	const gchar *type;

	version = sbx_test_get_property(NULL, MANAGER_PATH, MANAGER_IFACE, "Version", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(g_variant_get_string(version, NULL), ==, PACKAGE_VERSION);
	domain_type =
	    sbx_test_get_property(NULL, MANAGER_PATH, MANAGER_IFACE, "DomainType", &error);
	g_assert_no_error(error);
	type = g_variant_get_string(domain_type, NULL);
	g_test_message("DomainType=%s", type);
	g_assert_true(g_strcmp0(type, "kvm") == 0 || g_strcmp0(type, "qemu") == 0);
	/* DomainType=auto must not pick KVM where it cannot boot a guest */
	if (!g_file_test("/dev/kvm", G_FILE_TEST_EXISTS) ||
	    g_file_test("/sys/module/kvm_pvm", G_FILE_TEST_EXISTS))
		g_assert_cmpstr(type, ==, "qemu");
}

static void
test_create_bad_options(void)
{
	g_autoptr(GPtrArray) before = list_sandboxes();
	g_autoptr(GPtrArray) after = NULL;
	g_autofree gchar *long_key = g_strnfill(65, 'k');
	g_autofree gchar *long_value = g_strnfill(129, 'v');
	struct {
		const gchar *options;
		const gchar *mentions[3];
	} cases[] = {
	    {"{'memory': <uint32 767>}", {"memory", "768", "4096"}},
	    {"{'memory': <uint32 4097>}", {"memory", "768", "4096"}},
	    {"{'memory': <'1024'>}", {"memory", NULL}},
	    {"{'vcpus': <uint32 0>}", {"vcpus", "1", "2"}},
	    {"{'vcpus': <uint32 3>}", {"vcpus", "1", "2"}},
	    {"{'bogus': <'x'>}", {"bogus", NULL}},
	    {"{'labels': <{'a': '1', 'b': '2', 'c': '3', 'd': '4', 'e': '5', 'f': '6'}>}",
	     {"labels", "5", NULL}},
	    {"{'timeout': <'forever'>}", {"timeout", NULL}},
	    {"{'image': <'no-such-image'>}", {"no-such-image", NULL}},
	};
	g_autofree gchar *key_case = g_strdup_printf("{'labels': <{'%s': 'v'}>}", long_key);
	g_autofree gchar *value_case = g_strdup_printf("{'labels': <{'k': '%s'}>}", long_value);
	const gchar *label_cases[] = {key_case, value_case};

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *path = NULL;
		g_autofree gchar *msg = NULL;
		GVariant *opts = g_variant_new_parsed(cases[i].options);
		g_test_message("CreateSandbox(%s)", cases[i].options);
		path = sbx_test_create(NULL, opts, &error);
		g_assert_null(path);
		sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument", NULL);
		msg = g_dbus_error_get_remote_error(error);
		g_dbus_error_strip_remote_error(error);
		g_test_message("  -> %s: %s", msg, error->message);
		for (guint j = 0; j < G_N_ELEMENTS(cases[i].mentions) && cases[i].mentions[j]; j++)
			assert_contains(error->message, cases[i].mentions[j]);
	}
	for (guint i = 0; i < G_N_ELEMENTS(label_cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *path = NULL;
		path = sbx_test_create(NULL, g_variant_new_parsed(label_cases[i]), &error);
		g_assert_null(path);
		sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument", NULL);
		g_dbus_error_strip_remote_error(error);
		assert_contains(error->message, "label");
	}
	/* a refused call creates nothing */
	after = list_sandboxes();
	g_assert_cmpuint(after->len, ==, before->len);
}

static void
test_get_sandbox_not_found(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	reply = g_dbus_connection_call_sync(
	    sbx_test_env_get()->conn, "org.sandboxd", MANAGER_PATH, MANAGER_IFACE, "GetSandbox",
	    g_variant_new("(s)", "no-such-sandbox"), G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE,
	    -1, NULL, &error);
	g_assert_null(reply);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.NotFound", NULL);
}

static void
test_sandbox_properties(void)
{
	const gchar *path = shared_sandbox();
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) state = NULL;
	g_autoptr(GVariant) memory = NULL;
	g_autoptr(GVariant) vcpus = NULL;
	g_autoptr(GVariant) created = NULL;
	g_autoptr(GVariant) expires = NULL;
	g_autoptr(GVariant) labels = NULL;
	g_autoptr(GVariant) image = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GPtrArray) paths = NULL;
	g_autofree gchar *got_path = NULL;
	const gchar *label = NULL;
	guint64 now = (guint64)g_get_real_time();

	g_assert_true(g_str_has_suffix(path, shared_id));
	state = sbx_test_get_property(NULL, path, SANDBOX_IFACE, "State", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(g_variant_get_string(state, NULL), ==, "running");
	memory = sbx_test_get_property(NULL, path, SANDBOX_IFACE, "MemoryMiB", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_variant_get_uint32(memory), ==, 768);
	vcpus = sbx_test_get_property(NULL, path, SANDBOX_IFACE, "VCpus", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_variant_get_uint32(vcpus), ==, 1);
	created = sbx_test_get_property(NULL, path, SANDBOX_IFACE, "CreatedAt", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_variant_get_uint64(created), >, 0);
	g_assert_cmpuint(g_variant_get_uint64(created), <=, now);
	expires = sbx_test_get_property(NULL, path, SANDBOX_IFACE, "ExpiresAt", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_variant_get_uint64(expires), ==, 0);
	labels = sbx_test_get_property(NULL, path, SANDBOX_IFACE, "Labels", &error);
	g_assert_no_error(error);
	g_assert_true(g_variant_lookup(labels, "suite", "&s", &label));
	g_assert_cmpstr(label, ==, "integration");
	g_assert_cmpuint(g_variant_n_children(labels), ==, 1);
	image = sbx_test_get_property(NULL, path, SANDBOX_IFACE, "Image", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(g_variant_get_string(image, NULL), ==, "integration");

	paths = list_sandboxes();
	g_assert_true(str_array_has(paths, path));
	reply = g_dbus_connection_call_sync(sbx_test_env_get()->conn, "org.sandboxd", MANAGER_PATH,
					    MANAGER_IFACE, "GetSandbox",
					    g_variant_new("(s)", shared_id), G_VARIANT_TYPE("(o)"),
					    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	g_assert_no_error(error);
	g_variant_get(reply, "(o)", &got_path);
	g_assert_cmpstr(got_path, ==, path);
	SBX_TEST_ASSERT_OK(sbx_test_vm_exists(NULL, shared_id, &error));
}

static void
test_exec_echo(void)
{
	g_autoptr(GError) error = NULL;
	SbxExecResult res;
	g_autofree gchar *out = NULL;
	const gchar *argv[] = {"echo", "hello", "from the guest", NULL};

	SBX_TEST_ASSERT_OK(sbx_test_exec(NULL, shared_sandbox(), argv, NULL, NULL, &res, &error));
	out = sbx_test_bytes_to_str(res.out);
	g_assert_cmpstr(out, ==, "hello from the guest\n");
	g_assert_cmpuint(g_bytes_get_size(res.err), ==, 0);
	g_assert_cmpint(res.exit_status, ==, 0);
	g_assert_cmpint(res.signal, ==, 0);
	sbx_exec_result_clear(&res);
}

/* the reply promises all output was written: the caller's pipes must see EOF then,
 * or a client reading a pipe (not a tty or a file) waits forever */
static void
test_exec_output_eof(void)
{
	g_autoptr(GError) error = NULL;
	SbxExecResult res;
	guint before = sbx_test_exec_eof_missing_count();
	const gchar *argv[] = {"true", NULL};

	SBX_TEST_ASSERT_OK(sbx_test_exec(NULL, shared_sandbox(), argv, NULL, NULL, &res, &error));
	sbx_exec_result_clear(&res);
	if (sbx_test_exec_eof_missing_count() != before)
		g_error("sandboxd kept the stdout/stderr fds open after Exec replied");

	/* same through the CLI: `sandboxctl exec ID -- true | cat` must end */
	{
		g_autofree gchar *out = NULL;
		g_autofree gchar *err = NULL;
		const gchar *args[] = {"exec", shared_id, "--", "true", NULL};
		gint code = -1;
		SBX_TEST_ASSERT_OK(sbx_test_cli(args, NULL, &code, &out, &err, &error));
		g_assert_cmpint(code, ==, 0);
		if (sbx_test_exec_eof_missing_count() != before)
			g_error("sandboxd kept sandboxctl's stdout/stderr open after it exited");
	}
}

static void
test_exec_stdin_cat(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) input = NULL;
	g_autoptr(GString) text = g_string_new(NULL);
	SbxExecResult res;
	const gchar *argv[] = {"cat", NULL};

	for (guint i = 0; i < 2000; i++)
		g_string_append_printf(text, "line %u of the input\n", i);
	input = g_bytes_new(text->str, text->len);
	SBX_TEST_ASSERT_OK(sbx_test_exec(NULL, shared_sandbox(), argv, NULL, input, &res, &error));
	g_assert_true(g_bytes_equal(res.out, input));
	g_assert_cmpint(res.exit_status, ==, 0);
	sbx_exec_result_clear(&res);

	/* no input at all: cat sees EOF at once */
	SBX_TEST_ASSERT_OK(sbx_test_exec(NULL, shared_sandbox(), argv, NULL, NULL, &res, &error));
	g_assert_cmpuint(g_bytes_get_size(res.out), ==, 0);
	g_assert_cmpint(res.exit_status, ==, 0);
	sbx_exec_result_clear(&res);
}

static void
test_exec_exit_codes(void)
{
	const gint codes[] = {0, 1, 42, 255};
	for (guint i = 0; i < G_N_ELEMENTS(codes); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *script = g_strdup_printf("exit %d", codes[i]);
		SbxExecResult res;
		SBX_TEST_ASSERT_OK(sbx_test_sh(shared_sandbox(), script, NULL, &res, &error));
		g_assert_cmpint(res.exit_status, ==, codes[i]);
		g_assert_cmpint(res.signal, ==, 0);
		sbx_exec_result_clear(&res);
	}
}

static void
test_exec_signal(void)
{
	const gint signals[] = {SIGKILL, SIGTERM, SIGSEGV};
	for (guint i = 0; i < G_N_ELEMENTS(signals); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *script = g_strdup_printf("kill -%d $$", signals[i]);
		SbxExecResult res;
		SBX_TEST_ASSERT_OK(sbx_test_sh(shared_sandbox(), script, NULL, &res, &error));
		g_assert_cmpint(res.exit_status, ==, -1);
		g_assert_cmpint(res.signal, ==, signals[i]);
		sbx_exec_result_clear(&res);
	}
}

static void
test_exec_stdout_stderr_apart(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) want_out = g_string_new(NULL);
	g_autoptr(GString) want_err = g_string_new(NULL);
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	SbxExecResult res;

	for (guint i = 1; i <= 500; i++) {
		g_string_append_printf(want_out, "out %u\n", i);
		g_string_append_printf(want_err, "err %u\n", i);
	}
	SBX_TEST_ASSERT_OK(sbx_test_sh(shared_sandbox(),
				       "i=1; while [ $i -le 500 ]; do echo \"out $i\"; "
				       "echo \"err $i\" >&2; i=$((i+1)); done; exit 3",
				       NULL, &res, &error));
	out = sbx_test_bytes_to_str(res.out);
	err = sbx_test_bytes_to_str(res.err);
	g_assert_cmpstr(out, ==, want_out->str);
	g_assert_cmpstr(err, ==, want_err->str);
	g_assert_cmpint(res.exit_status, ==, 3);
	sbx_exec_result_clear(&res);
}

static void
test_exec_env_cwd(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out = NULL;
	SbxExecResult res;
	const gchar *argv[] = {"sh", "-c", "echo \"$SBX_TEST_VAR\"; pwd", NULL};
	GVariant *opts = g_variant_new_parsed("{'env': <{'SBX_TEST_VAR': 'a b=c'}>, "
					      "'cwd': <'/proc'>}");

	SBX_TEST_ASSERT_OK(sbx_test_exec(NULL, shared_sandbox(), argv, opts, NULL, &res, &error));
	out = sbx_test_bytes_to_str(res.out);
	g_assert_cmpstr(out, ==, "a b=c\n/proc\n");
	g_assert_cmpint(res.exit_status, ==, 0);
	sbx_exec_result_clear(&res);
}

static void
test_exec_big_stdout(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *script = NULL;
	g_autofree gchar *want = NULL;
	g_autofree gchar *err = NULL;
	SbxExecResult res;

	/* the guest checksums the very bytes it then streams: stderr carries the sum */
	script = g_strdup_printf("set -e; mkdir -p /tmp; "
				 "head -c %d /dev/urandom > /tmp/big; "
				 "sha256sum /tmp/big >&2; cat /tmp/big; rm -f /tmp/big",
				 BIG_STDOUT_BYTES);
	SBX_TEST_ASSERT_OK(sbx_test_sh(shared_sandbox(), script, NULL, &res, &error));
	err = sbx_test_bytes_to_str(res.err);
	g_assert_cmpint(res.exit_status, ==, 0);
	g_assert_cmpuint(g_bytes_get_size(res.out), ==, BIG_STDOUT_BYTES);
	want = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, res.out);
	g_assert_true(g_str_has_prefix(err, want));
	sbx_exec_result_clear(&res);
}

static void
test_exec_big_stdin(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) input = NULL;
	g_autofree guint8 *data = g_malloc(BIG_STDIN_BYTES);
	g_autofree gchar *want = NULL;
	g_autofree gchar *out = NULL;
	SbxExecResult res;
	const gchar *argv[] = {"sha256sum", NULL};

	for (gsize i = 0; i < BIG_STDIN_BYTES; i += sizeof(guint32))
		*(guint32 *)(data + i) = g_random_int();
	input = g_bytes_new_take(g_steal_pointer(&data), BIG_STDIN_BYTES);
	want = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, input);
	SBX_TEST_ASSERT_OK(sbx_test_exec(NULL, shared_sandbox(), argv, NULL, input, &res, &error));
	out = sbx_test_bytes_to_str(res.out);
	g_assert_true(g_str_has_prefix(out, want));
	g_assert_cmpint(res.exit_status, ==, 0);
	sbx_exec_result_clear(&res);
}

static void
test_exec_bad_options(void)
{
	const gchar *echo[] = {"echo", "x", NULL};
	const gchar *empty[] = {NULL};
	struct {
		const gchar *const *argv;
		const gchar *options;
		const gchar *mentions;
	} cases[] = {
	    {echo, "{'bogus': <'x'>}", "bogus"},
	    {echo, "{'cwd': <'relative/path'>}", "cwd"},
	    {empty, "@a{sv} {}", "argv"},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		SbxExecResult res;
		g_test_message("Exec(%s)", cases[i].options);
		g_assert_false(sbx_test_exec(NULL, shared_sandbox(), cases[i].argv,
					     g_variant_new_parsed(cases[i].options), NULL, &res,
					     &error));
		sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument", NULL);
		g_dbus_error_strip_remote_error(error);
		g_test_message("  -> %s", error->message);
		assert_contains(error->message, cases[i].mentions);
	}
}

static void
test_exec_missing_command(void)
{
	g_autoptr(GError) error = NULL;
	SbxExecResult res;
	const gchar *argv[] = {"/no/such/program", NULL};

	/* either an error or a failed exit status, but the sandbox must survive it */
	if (sbx_test_exec(NULL, shared_sandbox(), argv, NULL, NULL, &res, &error)) {
		g_assert_cmpint(res.exit_status, !=, 0);
		sbx_exec_result_clear(&res);
	} else {
		g_test_message("Exec of a missing program: %s", error->message);
		g_clear_error(&error);
	}
	test_exec_echo();
}

static void
test_two_at_once(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *second_id = NULL;
	g_autofree gchar *out1 = NULL;
	g_autofree gchar *out2 = NULL;
	g_autoptr(GVariant) created = NULL;
	g_autoptr(GVariant) expires = NULL;
	g_autoptr(GPtrArray) paths = NULL;
	SbxExecCall *call1, *call2;
	SbxExecResult res1, res2;
	const gchar *argv1[] = {"sh", "-c", "echo one > /tmp/who; sleep 1; cat /tmp/who", NULL};
	const gchar *argv2[] = {"sh", "-c", "echo two > /tmp/who; sleep 1; cat /tmp/who", NULL};
	const gchar *shared = shared_sandbox();

	second_path = sbx_test_create(NULL, g_variant_new_parsed("{'timeout': <'10m'>}"), &error);
	g_assert_no_error(error);
	g_assert_cmpstr(second_path, !=, shared);
	second_id = sbx_test_get_id(NULL, second_path);
	g_assert_cmpstr(second_id, !=, shared_id);
	paths = list_sandboxes();
	g_assert_true(str_array_has(paths, shared));
	g_assert_true(str_array_has(paths, second_path));

	/* a duration sandbox expires that long after it was created (or came up: the
	 * clock may start once it runs, so allow the configured boot timeout) */
	created = sbx_test_get_property(NULL, second_path, SANDBOX_IFACE, "CreatedAt", &error);
	g_assert_no_error(error);
	expires = sbx_test_get_property(NULL, second_path, SANDBOX_IFACE, "ExpiresAt", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_variant_get_uint64(expires), >=,
			 g_variant_get_uint64(created) + 600 * G_USEC_PER_SEC);
	g_assert_cmpuint(g_variant_get_uint64(expires), <=,
			 g_variant_get_uint64(created) + (600 + 300) * G_USEC_PER_SEC);

	/* both run at the same time, each in its own machine */
	call1 = sbx_test_exec_start(NULL, shared, argv1, NULL, NULL);
	call2 = sbx_test_exec_start(NULL, second_path, argv2, NULL, NULL);
	SBX_TEST_ASSERT_OK(sbx_test_exec_finish(call1, &res1, &error));
	SBX_TEST_ASSERT_OK(sbx_test_exec_finish(call2, &res2, &error));
	out1 = sbx_test_bytes_to_str(res1.out);
	out2 = sbx_test_bytes_to_str(res2.out);
	g_assert_cmpstr(out1, ==, "one\n");
	g_assert_cmpstr(out2, ==, "two\n");
	sbx_exec_result_clear(&res1);
	sbx_exec_result_clear(&res2);
}

static void
test_kill_cleans_up(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) files_before = NULL;
	g_autoptr(GArray) qemu = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;
	g_autoptr(GPtrArray) files_running = NULL;

	/* what the runtime dir holds without this sandbox */
	shared_sandbox();
	files_before = sbx_test_list_files(env->runtime_dir);
	if (second_path != NULL) {
		path = g_steal_pointer(&second_path);
		id = sbx_test_get_id(NULL, path);
		/* the second sandbox's files are in there already */
		for (guint i = files_before->len; i > 0; i--) {
			if (strstr(g_ptr_array_index(files_before, i - 1), id) != NULL)
				g_ptr_array_remove_index(files_before, i - 1);
		}
	} else {
		path = sbx_test_create(NULL, NULL, &error);
		g_assert_no_error(error);
		id = sbx_test_get_id(NULL, path);
	}
	SBX_TEST_ASSERT_OK(sbx_test_vm_exists(NULL, id, &error));
	qemu = sbx_test_find_qemu(id);
	g_assert_cmpuint(qemu->len, ==, 1);
	files_running = sbx_test_list_files(env->runtime_dir);
	g_test_message("runtime dir while %s runs: %u entries", id, files_running->len);

	SBX_TEST_ASSERT_OK(sbx_test_kill(NULL, path, &error));
	assert_sandbox_gone(path, id, files_before);

	/* a second Kill finds nothing */
	g_assert_false(sbx_test_kill(NULL, path, &error));
	g_assert_nonnull(error);
}

/* a session-bound sandbox (the default) dies with the connection that created it */
static void
test_dies_with_caller(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) conn = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;
	gint64 deadline;

	conn = g_dbus_connection_new_for_address_sync(
	    env->bus_address,
	    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	    NULL, NULL, &error);
	g_assert_no_error(error);
	path = sbx_test_create(conn, NULL, &error);
	g_assert_no_error(error);
	id = sbx_test_get_id(conn, path);
	SBX_TEST_ASSERT_OK(sbx_test_vm_exists(NULL, id, &error));
	g_dbus_connection_close_sync(conn, NULL, &error);
	g_assert_no_error(error);

	/* how long teardown takes is not the point: wait generously */
	deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
	for (;;) {
		g_autoptr(GPtrArray) paths = list_sandboxes();
		/* the object may go before the domain is destroyed: wait for both */
		if (!str_array_has(paths, path) && !sbx_test_vm_exists(NULL, id, &error))
			break;
		g_assert_no_error(error);
		if (g_get_monotonic_time() > deadline)
			g_error("%s still exists 120 s after its caller left", id);
		g_usleep(200 * 1000);
	}
	assert_sandbox_gone(path, id, NULL);
}

static void
test_cli_run_uname(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint code = -1;
	const gchar *args[] = {"run", "--", "uname", "-a", NULL};

	SBX_TEST_ASSERT_OK(sbx_test_cli(args, NULL, &code, &out, &err, &error));
	g_test_message("sandboxctl run -- uname -a: %s", out);
	if (code != 0)
		g_error("sandboxctl run exited %d: %s", code, err);
	g_assert_true(g_str_has_prefix(out, "Linux "));
	/* run kills what it created */
	{
		g_autoptr(GPtrArray) paths = list_sandboxes();
		for (guint i = 0; i < paths->len; i++) {
			const gchar *p = g_ptr_array_index(paths, i);
			g_assert_true(g_strcmp0(p, shared_path) == 0);
		}
	}
}

static void
test_cli_exec(void)
{
	const gchar *id;
	struct {
		const gchar *script;
		const gchar *input;
		gint code;
		const gchar *out;
		const gchar *err;
	} cases[] = {
	    {"echo hello", NULL, 0, "hello\n", ""},
	    {"exit 1", NULL, 1, "", ""},
	    {"exit 42", NULL, 42, "", ""},
	    {"kill -9 $$", NULL, 137, "", ""},
	    {"kill -15 $$", NULL, 143, "", ""},
	    {"cat; echo to-stderr >&2", "piped through cat\n", 0, "piped through cat\n",
	     "to-stderr\n"},
	};

	shared_sandbox();
	id = shared_id;
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *out = NULL;
		g_autofree gchar *err = NULL;
		gint code = -1;
		const gchar *args[] = {"exec", id, "--", "sh", "-c", cases[i].script, NULL};
		g_test_message("sandboxctl exec %s -- sh -c '%s'", id, cases[i].script);
		SBX_TEST_ASSERT_OK(sbx_test_cli(args, cases[i].input, &code, &out, &err, &error));
		if (code != cases[i].code)
			g_error("sandboxctl exec -- sh -c '%s' exited %d, not %d (stderr: %s)",
				cases[i].script, code, cases[i].code, err);
		g_assert_cmpstr(out, ==, cases[i].out);
		g_assert_cmpstr(err, ==, cases[i].err);
	}
}

static void
test_cli_create_list_kill(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *path = NULL;
	gint code = -1;
	const gchar *create[] = {"create", "--memory", "768",	      "--vcpus",
				 "1",	   "--label",  "made-by=cli", NULL};
	const gchar *list[] = {"list", NULL};

	SBX_TEST_ASSERT_OK(sbx_test_cli(create, NULL, &code, &out, &err, &error));
	if (code != 0)
		g_error("sandboxctl create exited %d: %s", code, err);
	id = g_strstrip(g_strdup(out));
	g_assert_cmpstr(id, !=, "");
	g_assert_null(strchr(id, '\n'));
	sbx_supervisor_record_domain(sbx_test_env_get()->tmpdir, id);
	path = g_strdup_printf("/org/sandboxd/Sandbox1/%s", id);

	/* it outlives the sandboxctl that created it */
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	SBX_TEST_ASSERT_OK(sbx_test_cli(list, NULL, &code, &out, &err, &error));
	g_assert_cmpint(code, ==, 0);
	assert_contains(out, id);
	assert_contains(out, shared_id != NULL ? shared_id : "");
	SBX_TEST_ASSERT_OK(sbx_test_vm_exists(NULL, id, &error));

	{
		const gchar *exec[] = {"exec", id, "--", "echo", "in the cli sandbox", NULL};
		g_clear_pointer(&out, g_free);
		g_clear_pointer(&err, g_free);
		SBX_TEST_ASSERT_OK(sbx_test_cli(exec, NULL, &code, &out, &err, &error));
		g_assert_cmpint(code, ==, 0);
		g_assert_cmpstr(out, ==, "in the cli sandbox\n");
	}
	{
		const gchar *kill_args[] = {"kill", id, NULL};
		g_clear_pointer(&out, g_free);
		g_clear_pointer(&err, g_free);
		SBX_TEST_ASSERT_OK(sbx_test_cli(kill_args, NULL, &code, &out, &err, &error));
		if (code != 0)
			g_error("sandboxctl kill exited %d: %s", code, err);
	}
	assert_sandbox_gone(path, id, NULL);
	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	SBX_TEST_ASSERT_OK(sbx_test_cli(list, NULL, &code, &out, &err, &error));
	g_assert_null(strstr(out, id));
}

static void
test_cli_errors(void)
{
	struct {
		const gchar *args[8];
		const gchar *mentions;
	} cases[] = {
	    {{"create", "--memory", "100", NULL}, "768"},
	    {{"create", "--vcpus", "9", NULL}, "vcpus"},
	    {{"exec", "no-such-sandbox", "--", "true", NULL}, "no-such-sandbox"},
	    {{"kill", "no-such-sandbox", NULL}, "no-such-sandbox"},
	    {{"no-such-command", NULL}, "no-such-command"},
	};
	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *out = NULL;
		g_autofree gchar *err = NULL;
		g_autofree gchar *joined = g_strjoinv(" ", (gchar **)cases[i].args);
		gint code = 0;
		SBX_TEST_ASSERT_OK(sbx_test_cli(cases[i].args, NULL, &code, &out, &err, &error));
		g_test_message("sandboxctl %s -> %d: %s", joined, code, err);
		/* a clean error: non-zero exit, a human line, no GLib assertion or crash */
		g_assert_cmpint(code, >, 0);
		g_assert_cmpstr(err, !=, "");
		g_assert_null(strstr(err, "CRITICAL"));
		g_assert_null(strstr(err, "assertion"));
		assert_contains(err, cases[i].mentions);
	}
}

/* wrong types and bad handles from a hostile caller: an error, never a crash */
static void
test_hostile_wrong_types(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	const gchar *create_cases[] = {
	    "{'env': <'not a dict'>}", "{'env': <{'1BAD': 'v'}>}", "{'labels': <'not a dict'>}",
	    "{'labels': <[1, 2]>}",    "{'vcpus': <int64 -1>}",	   "{'timeout': <uint32 0>}",
	    "{'timeout': <true>}",     "{'image': <'../../etc'>}",
	};
	const gchar *exec_cases[] = {
	    "{'env': <'not a dict'>}",
	    "{'env': <{'A=B': 'v'}>}",
	    "{'cwd': <uint32 1>}",
	};
	const gchar *echo[] = {"echo", "x", NULL};
	const gchar *path = shared_sandbox();

	for (guint i = 0; i < G_N_ELEMENTS(create_cases); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree gchar *created = NULL;
		g_test_message("CreateSandbox(%s)", create_cases[i]);
		created = sbx_test_create(NULL, g_variant_new_parsed(create_cases[i]), &error);
		g_assert_null(created);
		sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument", NULL);
	}
	for (guint i = 0; i < G_N_ELEMENTS(exec_cases); i++) {
		g_autoptr(GError) error = NULL;
		SbxExecResult res;
		g_test_message("Exec(%s)", exec_cases[i]);
		g_assert_false(sbx_test_exec(NULL, path, echo, g_variant_new_parsed(exec_cases[i]),
					     NULL, &res, &error));
		sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument", NULL);
	}
	/* handles that name no passed fd */
	{
		const gchar *handles[] = {"(0, 1, 2)", "(0, 1, 7)", "(-5, 1, 2)"};
		for (guint i = 0; i < G_N_ELEMENTS(handles); i++) {
			g_autoptr(GError) error = NULL;
			g_autoptr(GVariant) reply = NULL;
			gint32 h[3];
			g_autoptr(GUnixFDList) fds = NULL;
			sscanf(handles[i], "(%d, %d, %d)", &h[0], &h[1], &h[2]);
			/* the first case passes no fds at all, the others pass three */
			if (i > 0) {
				fds = g_unix_fd_list_new();
				for (guint j = 0; j < 3; j++)
					g_unix_fd_list_append(fds, STDERR_FILENO, NULL);
			}
			g_test_message("Exec with handles %s and %d fds", handles[i],
				       fds != NULL ? 3 : 0);
			reply = g_dbus_connection_call_with_unix_fd_list_sync(
			    env->conn, "org.sandboxd", path, SANDBOX_IFACE, "Exec",
			    g_variant_new("(^as@a{sv}hhh)", echo, g_variant_new("a{sv}", NULL),
					  h[0], h[1], h[2]),
			    G_VARIANT_TYPE("(ii)"), G_DBUS_CALL_FLAGS_NONE, -1, fds, NULL, NULL,
			    &error);
			g_assert_null(reply);
			sbx_test_assert_remote_error(error, "org.sandboxd.Error.InvalidArgument",
						     NULL);
		}
	}
	/* and the daemon is still there */
	test_exec_echo();
}

/* last: SIGTERM makes the daemon destroy what it owns and exit 0 */
static void
test_daemon_sigterm(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *id = NULL;
	gint status;

	shared_sandbox();
	id = g_strdup(shared_id);
	status = sbx_test_env_stop_daemon(env, 120 * 1000);
	g_assert_cmpint(status, ==, 0);
	g_clear_pointer(&shared_path, g_free);
	sbx_test_wait_vm_gone(id, 60);
	{
		g_autoptr(GArray) qemu = sbx_test_find_qemu(id);
		g_assert_cmpuint(qemu->len, ==, 0);
	}
	{
		g_autoptr(GPtrArray) files = sbx_test_list_files(env->runtime_dir);
		for (guint i = 0; i < files->len; i++) {
			if (strstr(g_ptr_array_index(files, i), id) != NULL)
				g_error("%s left after SIGTERM",
					(gchar *)g_ptr_array_index(files, i));
		}
	}
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	SbxTestEnv *env = sbx_test_main_run("integ", &argc, &argv);
	int rc;

	g_test_message("bus %s, runtime dir %s", env->bus_address, env->runtime_dir);

	g_test_add_func("/integration/manager/properties", test_manager_properties);
	g_test_add_func("/integration/manager/create-bad-options", test_create_bad_options);
	g_test_add_func("/integration/manager/get-sandbox-not-found", test_get_sandbox_not_found);
	g_test_add_func("/integration/sandbox/properties", test_sandbox_properties);
	g_test_add_func("/integration/exec/echo", test_exec_echo);
	g_test_add_func("/integration/exec/output-eof", test_exec_output_eof);
	g_test_add_func("/integration/exec/stdin-cat", test_exec_stdin_cat);
	g_test_add_func("/integration/exec/exit-codes", test_exec_exit_codes);
	g_test_add_func("/integration/exec/signal", test_exec_signal);
	g_test_add_func("/integration/exec/stdout-stderr-apart", test_exec_stdout_stderr_apart);
	g_test_add_func("/integration/exec/env-cwd", test_exec_env_cwd);
	g_test_add_func("/integration/exec/big-stdout", test_exec_big_stdout);
	g_test_add_func("/integration/exec/big-stdin", test_exec_big_stdin);
	g_test_add_func("/integration/exec/bad-options", test_exec_bad_options);
	g_test_add_func("/integration/exec/missing-command", test_exec_missing_command);
	g_test_add_func("/integration/sandbox/two-at-once", test_two_at_once);
	g_test_add_func("/integration/sandbox/kill-cleans-up", test_kill_cleans_up);
	g_test_add_func("/integration/sandbox/dies-with-caller", test_dies_with_caller);
	g_test_add_func("/integration/cli/run-uname", test_cli_run_uname);
	g_test_add_func("/integration/cli/exec", test_cli_exec);
	g_test_add_func("/integration/cli/create-list-kill", test_cli_create_list_kill);
	g_test_add_func("/integration/cli/errors", test_cli_errors);
	g_test_add_func("/integration/hostile/wrong-types", test_hostile_wrong_types);
	g_test_add_func("/integration/daemon/sigterm", test_daemon_sigterm);
	rc = g_test_run();

	sbx_test_env_stop(env);
	g_free(shared_path);
	g_free(shared_id);
	g_free(shared_error);
	return rc;
}
