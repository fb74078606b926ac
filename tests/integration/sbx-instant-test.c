/* instant start with real VMs on the qemu backend: the first sandbox of its
 * kind boots cold (named by its id, like the clones) and a snapshot is taken;
 * the next ones are restored from it,
 * run Exec and file calls like a cold one, and never share their identity
 * (entropy, hostname, machine id, address, VM generation id) while taking the host's clock; Kill
 * leaves no QEMU, run folder, record or tap, nor does a daemon killed with SIGKILL in the middle of
 * a create once it is back; a changed initrd makes the snapshot stale, so the next sandbox boots
 * cold and a new one is taken. Run with SBX_TEST_BACKEND=qemu (meson test --suite instant).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gunixfdlist.h>
#include <gio/gunixsocketaddress.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <unistd.h>

#include "sbx-test-env.h"
#include "sbx-test-supervisor.h"

#define WAIT_US (300 * G_USEC_PER_SEC)
/* how far a restored guest's clock may be from the host's; the snapshot is
 * older than that when the clones start, so a clock left alone fails */
#define CLOCK_SLACK_SEC 4
#define SNAPSHOT_MIN_AGE_SEC (3 * CLOCK_SLACK_SEC)

#define ASSERT_OK(expr)                                                                            \
	G_STMT_START                                                                               \
	{                                                                                          \
		gboolean ok_ = (expr);                                                             \
		g_assert_no_error(error);                                                          \
		g_assert_true(ok_);                                                                \
	}                                                                                          \
	G_STMT_END

static gchar *snapshot_root;
static gchar *image_dir;
static gint64 snapshot_taken_at;

static GVariant *
shape(void)
{
	/* every sandbox here has one shape, hence one snapshot */
	return g_variant_new_parsed("{'memory': <uint32 768>, 'vcpus': <uint32 1>}");
}

static gboolean
was_restored(const gchar *path)
{
	g_autofree gchar *events = sbx_test_read_log(path, "events");
	return strstr(events, "from a snapshot") != NULL;
}

static guint
count_snapshots(void)
{
	g_autoptr(GDir) dir = g_dir_open(snapshot_root, 0, NULL);
	const gchar *name;
	guint n = 0;

	/* finished ones only: a snapshot being taken has a leading dot or suffix */
	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		if (strlen(name) == 64 && strspn(name, "0123456789abcdef") == 64)
			n++;
	}
	return n;
}

static void
wait_snapshots(guint want)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_US;
	while (count_snapshots() < want) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(100 * 1000);
	}
	snapshot_taken_at = g_get_monotonic_time();
}

static gchar *
sh_out(const gchar *path, const gchar *script)
{
	g_autoptr(GError) error = NULL;
	SbxExecResult res = {0};
	gchar *out;

	ASSERT_OK(sbx_test_sh(path, script, NULL, &res, &error));
	g_assert_cmpint(res.exit_status, ==, 0);
	out = g_bytes_get_size(res.out) > 0
		  ? g_strndup(g_bytes_get_data(res.out, NULL), g_bytes_get_size(res.out))
		  : g_strdup("");
	sbx_exec_result_clear(&res);
	return g_strstrip(out);
}

static gchar *
tap_name(const gchar *id)
{
	gsize len = strlen(id);
	return g_strdup_printf("st%s", len > 13 ? id + len - 13 : id);
}

/* whether the tap's anti-spoofing table (bridge sbxq_TAP) is in place */
static gboolean
tap_guarded(const gchar *id)
{
	g_autofree gchar *tap = tap_name(id);
	g_autofree gchar *table = g_strdup_printf("sbxq_%s", tap);
	gint status = -1;
	const gchar *argv[] = {"nft", "list", "table", "bridge", table, NULL};

	if (!g_spawn_sync(NULL, (gchar **)argv, NULL,
			  G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
			      G_SPAWN_STDERR_TO_DEV_NULL,
			  NULL, NULL, NULL, NULL, &status, NULL))
		return FALSE;
	return g_spawn_check_wait_status(status, NULL);
}

/* the VM's cgroup folders (the backend's default CgroupRoot): cgroup2, or
 * one per v1 hierarchy */
static GPtrArray *
vm_cgroups(const gchar *id)
{
	const gchar *roots[] = {"", "memory", "cpu", "pids"};
	GPtrArray *dirs = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < G_N_ELEMENTS(roots); i++) {
		g_autofree gchar *dir =
		    g_build_filename("/sys/fs/cgroup", roots[i], "sandboxd-qemu", id, NULL);
		if (g_file_test(dir, G_FILE_TEST_IS_DIR))
			g_ptr_array_add(dirs, g_steal_pointer(&dir));
	}
	return dirs;
}

/* the jail, seen from outside: QEMU runs unprivileged, in its cgroups with
 * the sandbox's memory limit, with a /dev of a few nodes */
static void
assert_jailed(const gchar *id)
{
	g_autoptr(GArray) qemu = sbx_test_find_qemu(id);
	g_autoptr(GPtrArray) cgroups = vm_cgroups(id);
	g_autofree gchar *status_path = NULL;
	g_autofree gchar *status = NULL;
	g_autofree gchar *dev = NULL;
	g_autofree gchar *member = g_strdup_printf("/sandboxd-qemu/%s\n", id);
	GPid pid;

	g_assert_cmpuint(qemu->len, ==, 1);
	pid = g_array_index(qemu, GPid, 0);
	status_path = g_strdup_printf("/proc/%d/status", pid);
	g_assert_true(g_file_get_contents(status_path, &status, NULL, NULL));
	g_assert_null(strstr(status, "\nUid:\t0\t"));
	g_assert_nonnull(strstr(status, "\nNoNewPrivs:\t1\n"));

	/* this host has writable cgroups (v1 or v2): the limits must be there */
	g_assert_cmpuint(cgroups->len, >, 0);
	for (guint i = 0; i < cgroups->len; i++) {
		const gchar *dir = g_ptr_array_index(cgroups, i);
		const gchar *files[] = {"memory.limit_in_bytes", "memory.max"};
		g_autofree gchar *procs_path = g_build_filename(dir, "cgroup.procs", NULL);
		g_autofree gchar *procs = NULL;
		g_autofree gchar *want = g_strdup_printf("%d\n", pid);

		g_assert_true(g_file_get_contents(procs_path, &procs, NULL, NULL));
		g_assert_nonnull(strstr(procs, want));
		for (guint j = 0; j < G_N_ELEMENTS(files); j++) {
			g_autofree gchar *p = g_build_filename(dir, files[j], NULL);
			g_autofree gchar *limit = NULL;
			if (g_file_get_contents(p, &limit, NULL, NULL))
				/* the guest's memory and QEMU's own, far below "max" */
				g_assert_cmpuint(g_ascii_strtoull(limit, NULL, 10), <,
						 (guint64)8 << 30);
		}
	}
	{
		g_autofree gchar *cg_path = g_strdup_printf("/proc/%d/cgroup", pid);
		g_autofree gchar *cg = NULL;
		g_assert_true(g_file_get_contents(cg_path, &cg, NULL, NULL));
		g_assert_nonnull(strstr(cg, member));
	}
	dev = g_strdup_printf("/proc/%d/root/dev/kmsg", pid);
	g_assert_false(g_file_test(dev, G_FILE_TEST_EXISTS));
	g_free(dev);
	dev = g_strdup_printf("/proc/%d/root/dev/urandom", pid);
	g_assert_true(g_file_test(dev, G_FILE_TEST_EXISTS));
}

/* what a VM owns on the host: none of it may outlive it */
static gboolean
vm_leftovers(const gchar *id, GString *what)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GArray) qemu = sbx_test_find_qemu(id);
	g_autofree gchar *run_dir = g_build_filename(env->runtime_dir, id, NULL);
	g_autofree gchar *record_name = g_strconcat(id, ".vm", NULL);
	g_autofree gchar *record = g_build_filename(env->tmpdir, "qemu-records", record_name, NULL);
	gsize len = strlen(id);
	g_autofree gchar *tap =
	    g_strdup_printf("/sys/class/net/st%s", len > 13 ? id + len - 13 : id);

	g_string_truncate(what, 0);
	if (qemu->len > 0)
		g_string_append(what, " qemu");
	if (g_file_test(run_dir, G_FILE_TEST_EXISTS))
		g_string_append(what, " run-dir");
	if (g_file_test(record, G_FILE_TEST_EXISTS))
		g_string_append(what, " record");
	{
		g_autoptr(GPtrArray) cgroups = vm_cgroups(id);
		if (cgroups->len > 0)
			g_string_append(what, " cgroup");
	}
	if (g_file_test(tap, G_FILE_TEST_EXISTS))
		g_string_append(what, " tap");
	else if (what->len == 0 && tap_guarded(id))
		g_string_append(what, " nft-bridge-table");
	return what->len > 0;
}

static void
assert_gone_soon(const gchar *id)
{
	g_autoptr(GString) what = g_string_new(NULL);
	gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

	while (vm_leftovers(id, what)) {
		if (g_get_monotonic_time() > deadline) {
			g_autofree gchar *tail =
			    sbx_test_env_daemon_log_tail(sbx_test_env_get(), 8192);
			g_printerr("# sandboxd's log:\n%s\n", tail);
			g_error("vm %s left behind:%s", id, what->str);
		}
		g_usleep(20 * 1000);
	}
}

/* the first sandbox boots cold and triggers the snapshot */
static void
test_cold_then_snapshot(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = sbx_test_create(NULL, shape(), &error);
	g_autofree gchar *id = NULL;
	g_autofree gchar *out = NULL;

	g_assert_no_error(error);
	id = sbx_test_get_id(NULL, path);
	g_assert_false(was_restored(path));
	out = sh_out(path, "echo cold");
	g_assert_cmpstr(out, ==, "cold");
	/* a cold boot is named like a restored clone: its id (sbx.hostname=) */
	g_clear_pointer(&out, g_free);
	out = sh_out(path, "cat /proc/sys/kernel/hostname");
	g_assert_cmpstr(out, ==, id);
	wait_snapshots(1);
	ASSERT_OK(sbx_test_kill(NULL, path, &error));
	assert_gone_soon(id);
}

static void
test_restored_exec_and_files(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = sbx_test_create(NULL, shape(), &error);
	g_autofree gchar *id = NULL;
	g_autofree gchar *local = g_build_filename(env->tmpdir, "cp-src", NULL);
	g_autofree gchar *back = g_build_filename(env->tmpdir, "cp-back", NULL);
	g_autofree gchar *remote = NULL;
	g_autofree gchar *data = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	SbxExecResult res = {0};
	gint rc = -1;

	g_assert_no_error(error);
	id = sbx_test_get_id(NULL, path);
	g_assert_true(was_restored(path));
	assert_jailed(id);

	ASSERT_OK(sbx_test_sh(path, "echo out; echo err >&2; exit 7", NULL, &res, &error));
	g_assert_cmpint(res.exit_status, ==, 7);
	g_assert_cmpmem(g_bytes_get_data(res.out, NULL), g_bytes_get_size(res.out), "out\n", 4);
	g_assert_cmpmem(g_bytes_get_data(res.err, NULL), g_bytes_get_size(res.err), "err\n", 4);
	sbx_exec_result_clear(&res);
	{
		g_autoptr(GBytes) in = g_bytes_new_static("piped in", 8);
		ASSERT_OK(sbx_test_sh(path, "cat", in, &res, &error));
		g_assert_cmpint(res.exit_status, ==, 0);
		g_assert_cmpmem(g_bytes_get_data(res.out, NULL), g_bytes_get_size(res.out),
				"piped in", 8);
		sbx_exec_result_clear(&res);
	}

	/* file calls, through sandboxctl cp, both ways */
	remote = g_strdup_printf("%s:/tmp/instant-file", id);
	g_assert_true(g_file_set_contents(local, "restored files\n", -1, NULL));
	{
		const gchar *args[] = {"cp", local, remote, NULL};
		ASSERT_OK(sbx_test_cli(args, NULL, &rc, &out, &err, &error));
		g_assert_cmpint(rc, ==, 0);
	}
	g_clear_pointer(&out, g_free);
	out = sh_out(path, "cat /tmp/instant-file");
	g_assert_cmpstr(out, ==, "restored files");
	{
		const gchar *args[] = {"cp", remote, back, NULL};
		g_clear_pointer(&out, g_free);
		g_clear_pointer(&err, g_free);
		ASSERT_OK(sbx_test_cli(args, NULL, &rc, &out, &err, &error));
		g_assert_cmpint(rc, ==, 0);
	}
	g_assert_true(g_file_get_contents(back, &data, NULL, NULL));
	g_assert_cmpstr(data, ==, "restored files\n");

	/* the guest may use all of its memory: QEMU's cgroup limit leaves room
	 * for the snapshot pages it shares and for QEMU itself */
	ASSERT_OK(sbx_test_sh(path,
			      "d=/tmp/fill; mkdir -p $d; mount -t tmpfs -o size=700m fill $d "
			      "2>/dev/null; dd if=/dev/zero of=$d/x bs=1M count=640 2>/dev/null "
			      "&& ls -l $d/x | awk '{print $5}'; rm -f $d/x",
			      NULL, &res, &error));
	g_assert_cmpint(res.exit_status, ==, 0);
	g_assert_cmpmem(g_bytes_get_data(res.out, NULL), g_bytes_get_size(res.out), "671088640\n",
			10);
	sbx_exec_result_clear(&res);
	assert_jailed(id);

	ASSERT_OK(sbx_test_kill(NULL, path, &error));
	assert_gone_soon(id);
}

typedef struct {
	gchar *random;
	gchar *hostname;
	gchar *machine_id;
	gchar *mac;
	gchar *addr;
	gint64 clock_skew;
} Identity;

static void
identity_clear(Identity *ident)
{
	g_free(ident->random);
	g_free(ident->hostname);
	g_free(ident->machine_id);
	g_free(ident->mac);
	g_free(ident->addr);
}

static void
read_identity(const gchar *path, Identity *ident)
{
	g_autofree gchar *guest_now = NULL;
	gint64 before, after, guest;

	ident->random = sh_out(path, "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'");
	ident->hostname = sh_out(path, "cat /proc/sys/kernel/hostname");
	ident->machine_id = sh_out(path, "cat /etc/machine-id");
	ident->mac = sh_out(path, "cat /sys/class/net/eth0/address 2>/dev/null || true");
	ident->addr = sh_out(path, "ip -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}'");
	/* the guest read its clock between these two host readings: how long the
	 * Exec took on a loaded host is no skew */
	before = g_get_real_time() / G_USEC_PER_SEC;
	guest_now = sh_out(path, "date +%s");
	after = g_get_real_time() / G_USEC_PER_SEC + 1;
	guest = g_ascii_strtoll(guest_now, NULL, 10);
	ident->clock_skew = guest < before ? guest - before : guest > after ? guest - after : 0;
	g_test_message(
	    "random %s hostname %s machine-id %s mac %s addr %s clock skew %" G_GINT64_FORMAT " s",
	    ident->random, ident->hostname, ident->machine_id, ident->mac, ident->addr,
	    ident->clock_skew);
}

/* the guid QEMU's vmgenid device of sandbox @id gives its guest, asked on the
 * VM's monitor (the backend holds it only while starting the VM) */
static gchar *
vm_generation_id(const gchar *id)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *sock =
	    g_build_filename(sbx_test_env_get()->runtime_dir, id, "qmp.sock", NULL);
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(sock);
	g_autoptr(GSocketConnection) conn = NULL;
	g_autoptr(GDataInputStream) in = NULL;
	const gchar *requests[] = {"{\"execute\": \"qmp_capabilities\"}\n",
				   "{\"execute\": \"query-vm-generation-id\"}\n"};
	gchar *line = NULL;

	conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, &error);
	g_assert_no_error(error);
	in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
	/* the greeting, then one reply per request (no events while it runs) */
	g_free(g_data_input_stream_read_line(in, NULL, NULL, &error));
	g_assert_no_error(error);
	for (guint i = 0; i < G_N_ELEMENTS(requests); i++) {
		g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)),
					  requests[i], strlen(requests[i]), NULL, NULL, &error);
		g_assert_no_error(error);
		g_free(line);
		line = g_data_input_stream_read_line(in, NULL, NULL, &error);
		g_assert_no_error(error);
		g_assert_nonnull(line);
	}
	{
		g_autofree gchar *reply = line;
		const gchar *guid = strstr(reply, "\"guid\": \"");
		g_assert_nonnull(guid);
		guid += strlen("\"guid\": \"");
		return g_strndup(guid, strcspn(guid, "\""));
	}
}

static void
test_restored_identity(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *a = NULL;
	g_autofree gchar *b = NULL;
	g_autofree gchar *a_id = NULL;
	g_autofree gchar *b_id = NULL;
	Identity ia = {0};
	Identity ib = {0};

	/* a guest clock left as the snapshot had it is this far behind */
	while (g_get_monotonic_time() - snapshot_taken_at < SNAPSHOT_MIN_AGE_SEC * G_USEC_PER_SEC)
		g_usleep(100 * 1000);
	a = sbx_test_create(NULL, shape(), &error);
	g_assert_no_error(error);
	b = sbx_test_create(NULL, shape(), &error);
	g_assert_no_error(error);
	a_id = sbx_test_get_id(NULL, a);
	b_id = sbx_test_get_id(NULL, b);
	g_assert_true(was_restored(a));
	g_assert_true(was_restored(b));

	read_identity(a, &ia);
	read_identity(b, &ib);
	g_assert_cmpuint(strlen(ia.random), ==, 64);
	g_assert_cmpstr(ia.random, !=, ib.random);
	g_assert_cmpuint(strlen(ia.machine_id), ==, 32);
	g_assert_cmpstr(ia.machine_id, !=, ib.machine_id);
	/* each clone is named after its sandbox */
	g_assert_cmpstr(ia.hostname, ==, a_id);
	g_assert_cmpstr(ib.hostname, ==, b_id);
	/* a VM generation id of its own (QEMU's vmgenid device) */
	{
		g_autofree gchar *ga = vm_generation_id(a_id);
		g_autofree gchar *gb = vm_generation_id(b_id);
		g_test_message("generation ids %s %s", ga, gb);
		g_assert_cmpuint(strlen(ga), ==, 36);
		g_assert_cmpuint(strlen(gb), ==, 36);
		g_assert_cmpstr(ga, !=, gb);
	}
	g_assert_cmpint(ABS(ia.clock_skew), <=, CLOCK_SLACK_SEC);
	g_assert_cmpint(ABS(ib.clock_skew), <=, CLOCK_SLACK_SEC);
	/* with a NIC (the host's isolation rules in place), each its own */
	if (ia.mac[0] != '\0' || ib.mac[0] != '\0') {
		const gchar *ids[] = {a_id, b_id};
		g_assert_cmpstr(ia.mac, !=, ib.mac);
		g_assert_cmpstr(ia.addr, !=, "");
		g_assert_cmpstr(ia.addr, !=, ib.addr);
		/* isolated like libvirt's ports, and pinned to its own MAC and address */
		for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
			g_autofree gchar *tap = tap_name(ids[i]);
			g_autofree gchar *flag_path =
			    g_build_filename("/sys/class/net", tap, "brport", "isolated", NULL);
			g_autofree gchar *flag = NULL;
			g_assert_true(g_file_get_contents(flag_path, &flag, NULL, NULL));
			g_assert_cmpstr(g_strstrip(flag), ==, "1");
			g_assert_true(tap_guarded(ids[i]));
		}
	} else {
		g_test_message("no NIC in these guests: addresses not compared");
	}

	ASSERT_OK(sbx_test_kill(NULL, a, &error));
	ASSERT_OK(sbx_test_kill(NULL, b, &error));
	assert_gone_soon(a_id);
	assert_gone_soon(b_id);
	identity_clear(&ia);
	identity_clear(&ib);
}

static void
on_create_reply(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GVariant) reply =
	    g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, NULL);
	*(gboolean *)user_data = TRUE;
}

/* the run folder of the create under way: the one not in @before */
static gchar *
new_run_dir(GPtrArray *before)
{
	g_autoptr(GDir) dir = g_dir_open(sbx_test_env_get()->runtime_dir, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		if (g_str_has_prefix(name, "sbx") && !g_str_has_prefix(name, "sbxsnap") &&
		    !g_ptr_array_find_with_equal_func(before, name, g_str_equal, NULL))
			return g_strdup(name);
	}
	return NULL;
}

/* SIGKILL while a restore is under way: the next daemon finishes the VM */
static void
test_daemon_killed_mid_create(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autoptr(GDBusConnection) client = sbx_test_env_connect(env, &error);
	g_autoptr(GPtrArray) before = sbx_test_list_files(env->runtime_dir);
	g_autofree gchar *id = NULL;
	gboolean replied = FALSE;
	gint64 deadline = g_get_monotonic_time() + WAIT_US;

	g_assert_no_error(error);
	g_dbus_connection_call(client, "org.sandboxd", "/org/sandboxd/Manager1",
			       "org.sandboxd.Manager1", "CreateSandbox",
			       g_variant_new("(@a{sv})", shape()), G_VARIANT_TYPE("(o)"),
			       G_DBUS_CALL_FLAGS_NONE, G_MAXINT, NULL, on_create_reply, &replied);
	/* as soon as its QEMU runs */
	for (;;) {
		g_autoptr(GArray) qemu = NULL;
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_assert_false(replied);
		if (id == NULL)
			id = new_run_dir(before);
		if (id != NULL) {
			qemu = sbx_test_find_qemu(id);
			if (qemu->len > 0)
				break;
		}
		g_usleep(1000);
	}
	g_test_message("killing the daemon while %s starts", id);
	sbx_test_env_kill_daemon(env);
	ASSERT_OK(sbx_test_env_start_daemon(env, &error));
	assert_gone_soon(id);
}

/* a changed snapshot key input: never restored from, a new snapshot taken */
static void
test_stale_snapshot(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *initrd = g_build_filename(image_dir, "initrd.img", NULL);
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *out = NULL;
	guint before = count_snapshots();

	/* a rebuilt initrd: same bytes, new file */
	{
		g_autofree gchar *data = NULL;
		g_autofree gchar *tmp = g_strconcat(initrd, ".new", NULL);
		gsize len = 0;
		g_assert_true(g_file_get_contents(initrd, &data, &len, NULL));
		g_assert_true(g_file_set_contents(tmp, data, (gssize)len, NULL));
		g_assert_cmpint(g_rename(tmp, initrd), ==, 0);
	}
	path = sbx_test_create(NULL, shape(), &error);
	g_assert_no_error(error);
	id = sbx_test_get_id(NULL, path);
	g_assert_false(was_restored(path));
	out = sh_out(path, "echo rebuilt");
	g_assert_cmpstr(out, ==, "rebuilt");
	g_clear_pointer(&out, g_free);
	out = sh_out(path, "cat /proc/sys/kernel/hostname");
	g_assert_cmpstr(out, ==, id);
	wait_snapshots(before + 1);
	ASSERT_OK(sbx_test_kill(NULL, path, &error));
	assert_gone_soon(id);

	/* and the next one is restored from the new one */
	g_clear_pointer(&path, g_free);
	g_clear_pointer(&id, g_free);
	path = sbx_test_create(NULL, shape(), &error);
	g_assert_no_error(error);
	id = sbx_test_get_id(NULL, path);
	g_assert_true(was_restored(path));
	ASSERT_OK(sbx_test_kill(NULL, path, &error));
	assert_gone_soon(id);
}

/* the image is copied: the stale test changes its initrd */
static gboolean
copy_image(const gchar *from, const gchar *to, GError **error)
{
	static const gchar *const names[] = {"vmlinuz", "initrd.img", "cmdline", ".inputs"};

	if (g_mkdir(to, 0755) != 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "%s: %s", to,
			    g_strerror(errno));
		return FALSE;
	}
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *src = g_build_filename(from, names[i], NULL);
		g_autofree gchar *dst = g_build_filename(to, names[i], NULL);
		g_autofree gchar *data = NULL;
		gsize len = 0;
		if (!g_file_test(src, G_FILE_TEST_EXISTS) && i >= 2)
			continue;
		if (!g_file_get_contents(src, &data, &len, error) ||
		    !g_file_set_contents(dst, data, (gssize)len, error) || g_chmod(dst, 0644) != 0)
			return FALSE;
	}
	return TRUE;
}

/* `sandboxctl image warm` takes a new shape's snapshot ahead: the first
 * sandbox of that shape is restored; warming it again returns at once */
static void
test_image_warm(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;
	/* a shape no other test uses: its snapshot does not exist yet */
	const gchar *args[] = {"image", "warm", "integration", "--memory=896", "--vcpus=1", NULL};
	guint before = count_snapshots();
	gint rc = -1;

	ASSERT_OK(sbx_test_cli(args, NULL, &rc, &out, &err, &error));
	g_test_message("image warm: %s%s", out, err);
	g_assert_cmpint(rc, ==, 0);
	g_assert_cmpuint(count_snapshots(), ==, before + 1);
	/* the sandbox it booted is gone */
	path = sbx_test_create(
	    NULL, g_variant_new_parsed("{'memory': <uint32 896>, 'vcpus': <uint32 1>}"), &error);
	g_assert_no_error(error);
	id = sbx_test_get_id(NULL, path);
	g_assert_true(was_restored(path));
	ASSERT_OK(sbx_test_kill(NULL, path, &error));
	assert_gone_soon(id);

	g_clear_pointer(&out, g_free);
	g_clear_pointer(&err, g_free);
	ASSERT_OK(sbx_test_cli(args, NULL, &rc, &out, &err, &error));
	g_assert_cmpint(rc, ==, 0);
	g_assert_cmpuint(count_snapshots(), ==, before + 1);
	/* only the shape is WarmImage's */
	{
		const gchar *bad[] = {"image", "warm", "no-such-image", NULL};
		g_clear_pointer(&out, g_free);
		g_clear_pointer(&err, g_free);
		ASSERT_OK(sbx_test_cli(bad, NULL, &rc, &out, &err, &error));
		g_assert_cmpint(rc, !=, 0);
		g_assert_cmpuint(count_snapshots(), ==, before + 1);
	}
}

static void test_stale_snapshot(void);

/* --- the pool (SBX_TEST_POOL_SIZE): restored VMs kept ahead ------------- */

static guint pool_size;

static GVariant *
manager_call(const gchar *method, GVariant *args, const gchar *reply_type)
{
	g_autoptr(GError) error = NULL;
	GVariant *reply = g_dbus_connection_call_sync(
	    sbx_test_env_get()->conn, "org.sandboxd", "/org/sandboxd/Manager1",
	    "org.sandboxd.Manager1", method, args, G_VARIANT_TYPE(reply_type),
	    G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
	g_assert_no_error(error);
	return reply;
}

static guint
pool_ready(void)
{
	g_autoptr(GVariant) reply = manager_call("GetStatus", NULL, "(a{sv})");
	g_autoptr(GVariant) status = g_variant_get_child_value(reply, 0);
	guint n = 0;
	g_assert_true(g_variant_lookup(status, "pool_ready", "u", &n));
	return n;
}

static void
wait_pool_ready(guint want)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_US;
	while (pool_ready() < want) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(100 * 1000);
	}
}

static guint
n_listed(void)
{
	g_autoptr(GVariant) reply =
	    manager_call("ListSandboxes", g_variant_new_parsed("(@a{sv} {},)"), "(ao)");
	g_autoptr(GVariant) paths = g_variant_get_child_value(reply, 0);
	return (guint)g_variant_n_children(paths);
}

static gboolean
was_pooled(const gchar *path)
{
	g_autofree gchar *events = sbx_test_read_log(path, "events");
	return strstr(events, "from the pool") != NULL;
}

/* the run folders of VMs that are no sandbox (the pool's); @skip: sandbox ids */
static GPtrArray *
pool_ids(const gchar *const *skip)
{
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GDir) dir = g_dir_open(sbx_test_env_get()->runtime_dir, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		if (!g_str_has_prefix(name, "sbx") || g_str_has_prefix(name, "sbxsnap") ||
		    (skip != NULL && g_strv_contains(skip, name)))
			continue;
		g_ptr_array_add(ids, g_strdup(name));
	}
	return ids;
}

/* the pool fills once the snapshot is there, and its VMs are no sandboxes */
static void
test_pool_fills(void)
{
	g_autoptr(GPtrArray) ids = NULL;

	wait_pool_ready(pool_size);
	g_assert_cmpuint(n_listed(), ==, 0);
	ids = pool_ids(NULL);
	g_assert_cmpuint(ids->len, >=, pool_size);
	for (guint i = 0; i < ids->len; i++) {
		g_autoptr(GArray) qemu = sbx_test_find_qemu(g_ptr_array_index(ids, i));
		g_assert_cmpuint(qemu->len, ==, 1);
	}
}

/* a pooled VM whose QEMU dies is dropped (nothing of it left) and replaced */
static void
test_pool_vm_dies(void)
{
	g_autoptr(GPtrArray) before = NULL;
	g_autoptr(GPtrArray) after = NULL;
	const gchar *victim;
	gint64 deadline = g_get_monotonic_time() + WAIT_US;

	wait_pool_ready(pool_size);
	before = pool_ids(NULL);
	g_assert_cmpuint(before->len, >=, 1);
	victim = g_ptr_array_index(before, 0);
	{
		g_autoptr(GArray) qemu = sbx_test_find_qemu(victim);
		g_assert_cmpuint(qemu->len, ==, 1);
		g_test_message("killing pooled VM %s (QEMU pid %d)", victim,
			       g_array_index(qemu, gint, 0));
		g_assert_cmpint(kill(g_array_index(qemu, gint, 0), SIGKILL), ==, 0);
	}
	assert_gone_soon(victim);
	/* refilled under a new id */
	for (;;) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_clear_pointer(&after, g_ptr_array_unref);
		after = pool_ids(NULL);
		if (pool_ready() >= pool_size &&
		    !g_ptr_array_find_with_equal_func(after, victim, g_str_equal, NULL))
			break;
		g_usleep(100 * 1000);
	}
	g_assert_cmpuint(n_listed(), ==, 0);
}

/* two creates served from the pool: each runs Exec and has its own identity;
 * the pool refills behind them */
static void
test_pool_served(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *a = NULL;
	g_autofree gchar *b = NULL;
	g_autofree gchar *a_id = NULL;
	g_autofree gchar *b_id = NULL;
	Identity ia = {0};
	Identity ib = {0};
	SbxExecResult res = {0};

	/* a guest clock left as the snapshot had it is this far behind */
	while (g_get_monotonic_time() - snapshot_taken_at < SNAPSHOT_MIN_AGE_SEC * G_USEC_PER_SEC)
		g_usleep(100 * 1000);
	wait_pool_ready(pool_size);
	a = sbx_test_create(NULL, shape(), &error);
	g_assert_no_error(error);
	b = sbx_test_create(NULL, shape(), &error);
	g_assert_no_error(error);
	a_id = sbx_test_get_id(NULL, a);
	b_id = sbx_test_get_id(NULL, b);
	g_assert_true(was_pooled(a));
	g_assert_true(was_pooled(b));
	g_assert_true(was_restored(a));
	/* the pool's VMs are not listed; its sandboxes are */
	g_assert_cmpuint(n_listed(), ==, 2);

	ASSERT_OK(sbx_test_sh(a, "echo out; echo err >&2; exit 7", NULL, &res, &error));
	g_assert_cmpint(res.exit_status, ==, 7);
	g_assert_cmpmem(g_bytes_get_data(res.out, NULL), g_bytes_get_size(res.out), "out\n", 4);
	g_assert_cmpmem(g_bytes_get_data(res.err, NULL), g_bytes_get_size(res.err), "err\n", 4);
	sbx_exec_result_clear(&res);

	read_identity(a, &ia);
	read_identity(b, &ib);
	g_assert_cmpuint(strlen(ia.random), ==, 64);
	g_assert_cmpstr(ia.random, !=, ib.random);
	g_assert_cmpuint(strlen(ia.machine_id), ==, 32);
	g_assert_cmpstr(ia.machine_id, !=, ib.machine_id);
	g_assert_cmpstr(ia.hostname, ==, a_id);
	g_assert_cmpstr(ib.hostname, ==, b_id);
	g_assert_cmpint(ABS(ia.clock_skew), <=, CLOCK_SLACK_SEC);
	g_assert_cmpint(ABS(ib.clock_skew), <=, CLOCK_SLACK_SEC);
	if (ia.mac[0] != '\0' || ib.mac[0] != '\0') {
		g_assert_cmpstr(ia.mac, !=, ib.mac);
		g_assert_cmpstr(ia.addr, !=, "");
		g_assert_cmpstr(ia.addr, !=, ib.addr);
		g_assert_true(tap_guarded(a_id));
		g_assert_true(tap_guarded(b_id));
	} else {
		g_test_message("no NIC in these guests: addresses not compared");
	}
	/* refilled in the background */
	wait_pool_ready(pool_size);
	g_assert_cmpuint(n_listed(), ==, 2);

	ASSERT_OK(sbx_test_kill(NULL, a, &error));
	ASSERT_OK(sbx_test_kill(NULL, b, &error));
	assert_gone_soon(a_id);
	assert_gone_soon(b_id);
	identity_clear(&ia);
	identity_clear(&ib);
}

/* another shape is another kind: not served from this pool */
static void
test_pool_other_shape(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;
	g_autofree gchar *out = NULL;

	wait_pool_ready(pool_size);
	path = sbx_test_create(
	    NULL, g_variant_new_parsed("{'memory': <uint32 800>, 'vcpus': <uint32 1>}"), &error);
	g_assert_no_error(error);
	id = sbx_test_get_id(NULL, path);
	g_assert_false(was_pooled(path));
	out = sh_out(path, "echo other");
	g_assert_cmpstr(out, ==, "other");
	ASSERT_OK(sbx_test_kill(NULL, path, &error));
	assert_gone_soon(id);
	/* its cold boot took a snapshot of its own: that kind gets a pool too */
	wait_snapshots(2);
	wait_pool_ready(2 * pool_size);
}

/* a create with volumes is never served from the pool (a snapshot has no
 * device for them): on the qemu backend it fails as without a pool */
static void
test_pool_volumes(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = NULL;
	guint before;

	wait_pool_ready(2 * pool_size);
	before = pool_ready();
	path = sbx_test_create(NULL,
			       g_variant_new_parsed("{'memory': <uint32 768>, 'vcpus': <uint32 1>, "
						    "'volumes': <{'/mnt/v': <'pooltest'>}>}"),
			       &error);
	if (path != NULL) {
		g_autofree gchar *id = sbx_test_get_id(NULL, path);
		g_assert_false(was_pooled(path));
		ASSERT_OK(sbx_test_kill(NULL, path, &error));
		assert_gone_soon(id);
	} else {
		g_test_message("create with a volume: %s", error->message);
	}
	/* no pooled VM was taken for it */
	g_assert_cmpuint(pool_ready(), ==, before);
}

/* SIGTERM: the pool's VMs and run folders go with the daemon (their backend
 * records, marked dying, are finished by the next daemon, as a sandbox's) */
static void
test_pool_sigterm(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) ids = NULL;

	wait_pool_ready(pool_size);
	ids = pool_ids(NULL);
	g_assert_cmpuint(ids->len, >=, pool_size);
	g_assert_cmpint(sbx_test_env_stop_daemon(env, 60000), ==, 0);
	for (guint i = 0; i < ids->len; i++) {
		g_autoptr(GArray) qemu = NULL;
		g_autofree gchar *run_dir =
		    g_build_filename(env->runtime_dir, g_ptr_array_index(ids, i), NULL);
		/* the daemon waited for the run folders, not for QEMU to finish
		 * exiting after its SIGKILL (768 MiB to free on a loaded host) */
		g_assert_false(g_file_test(run_dir, G_FILE_TEST_EXISTS));
		sbx_test_wait_vm_gone(g_ptr_array_index(ids, i), 60);
		qemu = sbx_test_find_qemu(g_ptr_array_index(ids, i));
		g_assert_cmpuint(qemu->len, ==, 0);
	}
	ASSERT_OK(sbx_test_env_start_daemon(env, &error));
	for (guint i = 0; i < ids->len; i++)
		assert_gone_soon(g_ptr_array_index(ids, i));
}

/* a snapshot that exists fills the pool once a sandbox of its kind ran: runs
 * one, waits for a full pool, returns the pooled VMs' ids */
static GPtrArray *
run_one_then_fill_pool(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = sbx_test_create(NULL, shape(), &error);
	g_autofree gchar *id = NULL;
	GPtrArray *ids;

	g_assert_no_error(error);
	id = sbx_test_get_id(NULL, path);
	ASSERT_OK(sbx_test_kill(NULL, path, &error));
	assert_gone_soon(id);
	wait_pool_ready(pool_size);
	ids = pool_ids(NULL);
	g_assert_cmpuint(ids->len, >=, pool_size);
	return ids;
}

/* SIGKILL: the pool's VMs outlive the daemon; the next one reaps them */
static void
test_pool_kill9(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) ids = NULL;

	ids = run_one_then_fill_pool();
	sbx_test_env_kill_daemon(env);
	for (guint i = 0; i < ids->len; i++) {
		g_autoptr(GArray) qemu = sbx_test_find_qemu(g_ptr_array_index(ids, i));
		g_test_message("after SIGKILL, pooled VM %s: %u QEMU",
			       (const gchar *)g_ptr_array_index(ids, i), qemu->len);
	}
	ASSERT_OK(sbx_test_env_start_daemon(env, &error));
	for (guint i = 0; i < ids->len; i++)
		assert_gone_soon(g_ptr_array_index(ids, i));
}

/* a changed image: its pooled VMs go (never handed out), the new snapshot gets a pool */
static void
test_pool_stale(void)
{
	g_autoptr(GPtrArray) ids = run_one_then_fill_pool();

	/* boots cold (not from the pool), takes a new snapshot, is restored from it */
	test_stale_snapshot();
	for (guint i = 0; i < ids->len; i++)
		assert_gone_soon(g_ptr_array_index(ids, i));
	wait_pool_ready(pool_size);
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *tmpdir = NULL;
	SbxTestEnv *env = sbx_test_env_get();
	const gchar *src_image = g_getenv("SBX_TEST_IMAGE_DIR");
	int rc;

	if (g_strcmp0(g_getenv("SBX_TEST_BACKEND"), "qemu") != 0) {
		g_print("1..0 # SKIP snapshots need SBX_TEST_BACKEND=qemu (libvirt takes none)\n");
		return 77;
	}
	tmpdir = g_dir_make_tmp("sbx-instant-XXXXXX", &error);
	if (tmpdir == NULL || src_image == NULL) {
		g_printerr("%s\n",
			   error != NULL ? error->message : "SBX_TEST_IMAGE_DIR is not set");
		return 1;
	}
	sbx_supervisor_fork(tmpdir);

	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	image_dir = g_build_filename(tmpdir, "image", NULL);
	snapshot_root = g_build_filename(tmpdir, "snapshots", NULL);
	if (!copy_image(src_image, image_dir, &error)) {
		g_printerr("cannot copy the image: %s\n", error->message);
		return 1;
	}
	g_setenv("SBX_TEST_IMAGE_DIR", image_dir, TRUE);
	if (!sbx_test_env_start(env, tmpdir, &error)) {
		g_printerr("cannot start the test environment: %s\n", error->message);
		sbx_test_env_stop(env);
		return 1;
	}
	pool_size = (guint)g_ascii_strtoull(
	    g_getenv("SBX_TEST_POOL_SIZE") != NULL ? g_getenv("SBX_TEST_POOL_SIZE") : "0", NULL,
	    10);
	if (pool_size > 0) {
		/* the pool suite: the same cold boot and snapshot, then the pool */
		g_test_add_func("/pool/cold-then-snapshot", test_cold_then_snapshot);
		g_test_add_func("/pool/fills", test_pool_fills);
		g_test_add_func("/pool/vm-dies", test_pool_vm_dies);
		g_test_add_func("/pool/served", test_pool_served);
		g_test_add_func("/pool/other-shape", test_pool_other_shape);
		g_test_add_func("/pool/volumes", test_pool_volumes);
		g_test_add_func("/pool/sigterm", test_pool_sigterm);
		g_test_add_func("/pool/kill9", test_pool_kill9);
		g_test_add_func("/pool/stale", test_pool_stale);
		rc = g_test_run();
		sbx_test_env_stop(env);
		g_free(image_dir);
		g_free(snapshot_root);
		return rc;
	}
	g_test_add_func("/instant/cold-then-snapshot", test_cold_then_snapshot);
	/* the ones below restore from that snapshot */
	g_test_add_func("/instant/restored-exec-files", test_restored_exec_and_files);
	g_test_add_func("/instant/restored-identity", test_restored_identity);
	g_test_add_func("/instant/daemon-killed-mid-create", test_daemon_killed_mid_create);
	g_test_add_func("/instant/image-warm", test_image_warm);
	g_test_add_func("/instant/stale-snapshot", test_stale_snapshot);
	rc = g_test_run();
	sbx_test_env_stop(env);
	g_free(image_dir);
	g_free(snapshot_root);
	return rc;
}
