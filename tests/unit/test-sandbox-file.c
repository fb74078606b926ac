/* Sandbox1's OpenFile, the File methods, CloseFile, Umask, Walk and Glob
 * against the real sandboxd on a private bus with the test backend (the
 * agent runs on the host in --listen mode, so guest paths are host paths
 * in a temp dir): handles belong to their bus name, close when it leaves,
 * locks wait.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "sbx-test-env.h"

/* generous: only a hang fails on this, never a slow machine */
#define WAIT_MS (60 * 1000)

typedef struct {
	SbxTestEnv *env;
	GDBusConnection *conn; /* env's */
	gchar *sandbox;
	gchar *dir; /* the "guest" files */
} Fixture;

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	f->env = sbx_test_env_new("sandbox-file");
	f->env->plugin_dir = g_strdup(PLUGIN_DIR);
	f->conn = f->env->conn;
	f->dir = g_build_filename(f->env->tmpdir, "g", NULL);
	g_assert_cmpint(g_mkdir(f->dir, 0755), ==, 0);
	g_assert_true(sbx_test_env_write_config(
	    f->env, "[daemon]\nBackend=test\nMaxLifetimeSec=600\n", &error));
	g_assert_true(sbx_test_env_start_daemon(f->env, &error));
	g_assert_no_error(error);
	f->sandbox = sbx_test_create(f->conn, g_variant_new_parsed("{'timeout': <'5m'>}"), &error);
	g_assert_no_error(error);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	g_free(f->dir);
	g_clear_pointer(&f->env, sbx_test_env_free);
	g_free(f->sandbox);
}

static GVariant *
call(GDBusConnection *conn, Fixture *f, const gchar *method, GVariant *args, GError **error)
{
	return g_dbus_connection_call_sync(conn, "org.sandboxd", f->sandbox,
					   "org.sandboxd.Sandbox1", method, args, NULL,
					   G_DBUS_CALL_FLAGS_NONE, WAIT_MS, NULL, error);
}

static guint32
open_file(GDBusConnection *conn, Fixture *f, const gchar *name, const gchar *options)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *path = g_build_filename(f->dir, name, NULL);
	g_autoptr(GVariant) reply =
	    call(conn, f, "OpenFile",
		 g_variant_new("(s@a{sv})", path, g_variant_new_parsed(options)), &error);
	guint32 handle = 0;
	g_assert_no_error(error);
	g_variant_get(reply, "(u)", &handle);
	g_assert_cmpuint(handle, !=, 0);
	return handle;
}

static void
call_ok(GDBusConnection *conn, Fixture *f, const gchar *method, GVariant *args)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = call(conn, f, method, args, &error);
	g_assert_no_error(error);
}

static void
call_fails(GDBusConnection *conn, Fixture *f, const gchar *method, GVariant *args,
	   const gchar *dbus_error)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = call(conn, f, method, args, &error);
	g_autofree gchar *name = NULL;
	g_assert_null(reply);
	name = g_dbus_error_get_remote_error(error);
	g_assert_cmpstr(name, ==, dbus_error);
}

static void
test_handles(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) r = NULL;
	g_autoptr(GVariant) data_v = NULL;
	g_autoptr(GVariant) info = NULL;
	g_autoptr(GDBusConnection) other = NULL;
	g_autofree gchar *path = g_build_filename(f->dir, "f", NULL);
	g_autofree gchar *text = NULL;
	guint32 h, written = 0;
	guint64 pos = 0, size = 0;
	const gchar *payload = "hello handles";

	h = open_file(f->conn, f, "f", "{'read': <true>, 'write': <true>, 'create': <true>}");
	r = call(f->conn, f, "FileWrite",
		 g_variant_new(
		     "(u@ay)", h,
		     g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, payload, strlen(payload), 1)),
		 &error);
	g_assert_no_error(error);
	g_variant_get(r, "(u)", &written);
	g_assert_cmpuint(written, ==, strlen(payload));
	g_clear_pointer(&r, g_variant_unref);
	r = call(f->conn, f, "FileSeek", g_variant_new("(uxu)", h, (gint64)6, 0), &error);
	g_assert_no_error(error);
	g_variant_get(r, "(t)", &pos);
	g_assert_cmpuint(pos, ==, 6);
	g_clear_pointer(&r, g_variant_unref);
	r = call(f->conn, f, "FileRead", g_variant_new("(uu)", h, 65536), &error);
	g_assert_no_error(error);
	g_variant_get(r, "(@ay)", &data_v);
	g_assert_cmpmem(g_variant_get_data(data_v), g_variant_get_size(data_v), "handles", 7);
	g_clear_pointer(&r, g_variant_unref);
	r = call(f->conn, f, "FileStat", g_variant_new("(u)", h), &error);
	g_assert_no_error(error);
	g_variant_get(r, "(@a{sv})", &info);
	g_assert_true(g_variant_lookup(info, "size", "t", &size));
	g_assert_cmpuint(size, ==, strlen(payload));
	call_ok(f->conn, f, "FileTruncate", g_variant_new("(ut)", h, (guint64)5));
	call_ok(f->conn, f, "FileSync", g_variant_new("(ub)", h, TRUE));
	call_ok(f->conn, f, "FileUtime",
		g_variant_new("(uxuxu)", h, (gint64)1000000000, 0, (gint64)1500000000, 0));

	/* another bus name cannot use it, the owner still can */
	other = sbx_test_env_connect(f->env, &error);
	g_assert_no_error(error);
	call_fails(other, f, "FileRead", g_variant_new("(uu)", h, 10),
		   "org.sandboxd.Error.NotFound");
	call_fails(other, f, "CloseFile", g_variant_new("(u)", h), "org.sandboxd.Error.NotFound");
	call_ok(f->conn, f, "CloseFile", g_variant_new("(u)", h));
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "hello");
	call_fails(f->conn, f, "FileRead", g_variant_new("(uu)", h, 10),
		   "org.sandboxd.Error.NotFound");

	/* bad arguments and guest errors */
	call_fails(f->conn, f, "OpenFile", g_variant_new_parsed("(%s, {'bogus': <true>})", path),
		   "org.sandboxd.Error.InvalidArgument");
	call_fails(f->conn, f, "OpenFile", g_variant_new_parsed("('relative', @a{sv} {})"),
		   "org.sandboxd.Error.InvalidArgument");
	{
		g_autofree gchar *missing = g_build_filename(f->dir, "none", NULL);
		call_fails(
		    f->conn, f, "OpenFile",
		    g_variant_new("(s@a{sv})", missing, g_variant_new_parsed("{'read': <true>}")),
		    "org.sandboxd.Error.NotFound");
	}
	call_fails(f->conn, f, "OpenFile",
		   g_variant_new("(s@a{sv})", path,
				 g_variant_new_parsed("{'write': <true>, 'create_new': <true>}")),
		   "org.sandboxd.Error.AlreadyExists");
	h = open_file(f->conn, f, "f", "{'read': <true>}");
	call_fails(f->conn, f, "FileRead", g_variant_new("(uu)", h, 0),
		   "org.sandboxd.Error.InvalidArgument");
	call_fails(f->conn, f, "FileSeek", g_variant_new("(uxu)", h, (gint64)0, 3),
		   "org.sandboxd.Error.InvalidArgument");
	call_ok(f->conn, f, "CloseFile", g_variant_new("(u)", h));
}

typedef struct {
	gboolean done;
	GError *error;
} LockWait;

static void
on_lock_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	LockWait *w = user_data;
	g_autoptr(GVariant) r =
	    g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &w->error);
	w->done = TRUE;
}

/* a contended lock waits (the daemon retries); a leaving owner's files close,
 * which releases their locks */
static void
test_lock_and_owner(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	LockWait done = {0};
	g_autoptr(GDBusConnection) other = NULL;
	g_autofree gchar *path = g_build_filename(f->dir, "lock", NULL);
	guint32 a, b, c;
	gint64 deadline;

	g_assert_true(g_file_set_contents(path, "x", 1, NULL));
	a = open_file(f->conn, f, "lock", "{'read': <true>, 'write': <true>}");
	b = open_file(f->conn, f, "lock", "{'read': <true>, 'write': <true>}");
	call_ok(f->conn, f, "FileLock", g_variant_new("(ub)", a, TRUE));
	g_dbus_connection_call(f->conn, "org.sandboxd", f->sandbox, "org.sandboxd.Sandbox1",
			       "FileLock", g_variant_new("(ub)", b, TRUE), NULL,
			       G_DBUS_CALL_FLAGS_NONE, WAIT_MS, NULL, on_lock_done, &done);
	/* it must still wait after a few retries */
	deadline = g_get_monotonic_time() + 300 * 1000;
	while (g_get_monotonic_time() < deadline) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10000);
	}
	g_assert_false(done.done);
	call_ok(f->conn, f, "FileUnlock", g_variant_new("(u)", a));
	while (!done.done)
		g_main_context_iteration(NULL, TRUE);
	g_assert_no_error(done.error);
	call_ok(f->conn, f, "CloseFile", g_variant_new("(u)", b));
	call_ok(f->conn, f, "CloseFile", g_variant_new("(u)", a));

	/* another client locks and leaves the bus without closing */
	other = sbx_test_env_connect(f->env, &error);
	g_assert_no_error(error);
	c = open_file(other, f, "lock", "{'read': <true>, 'write': <true>}");
	call_ok(other, f, "FileLock", g_variant_new("(ub)", c, TRUE));
	g_dbus_connection_close_sync(other, NULL, NULL);
	/* only a closed file lets this lock through (the call would time out) */
	a = open_file(f->conn, f, "lock", "{'read': <true>, 'write': <true>}");
	call_ok(f->conn, f, "FileLock", g_variant_new("(ub)", a, TRUE));
	call_ok(f->conn, f, "CloseFile", g_variant_new("(u)", a));
}

static void
test_umask(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) r = NULL;
	g_autofree gchar *path = g_build_filename(f->dir, "m", NULL);
	guint32 old = 0, h;
	GStatBuf st;

	r = call(f->conn, f, "Umask", g_variant_new("(bu)", TRUE, 077), &error);
	g_assert_no_error(error);
	g_variant_get(r, "(u)", &old);
	g_clear_pointer(&r, g_variant_unref);
	r = call(f->conn, f, "Umask", g_variant_new("(bu)", FALSE, 0), &error);
	g_assert_no_error(error);
	g_assert_cmpuint(g_variant_get_uint32(g_variant_get_child_value(r, 0)), ==, 077);
	h = open_file(f->conn, f, "m",
		      "{'write': <true>, 'create': <true>, 'mode': <uint32 0666>}");
	call_ok(f->conn, f, "CloseFile", g_variant_new("(u)", h));
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	call_fails(f->conn, f, "Umask", g_variant_new("(bu)", TRUE, 01000),
		   "org.sandboxd.Error.InvalidArgument");
	call_ok(f->conn, f, "Umask", g_variant_new("(bu)", TRUE, old));
}

/* Walk or Glob into a pipe; the records as "type:path" lines */
static gchar *
walk(Fixture *f, const gchar *method, const gchar *path, const gchar *options, GError **error)
{
	g_autoptr(GUnixFDList) fds = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GString) raw = g_string_new(NULL);
	g_autoptr(GString) out = g_string_new(NULL);
	gint p[2];
	gchar buf[4096];
	gssize n;
	gsize pos = 0;

	g_assert_true(g_unix_open_pipe(p, FD_CLOEXEC, NULL));
	fds = g_unix_fd_list_new_from_array(&p[1], 1);
	/* the walk is small: everything fits in the pipe before the reply */
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    f->conn, "org.sandboxd", f->sandbox, "org.sandboxd.Sandbox1", method,
	    g_variant_new("(s@a{sv}h)", path, g_variant_new_parsed(options), 0), NULL,
	    G_DBUS_CALL_FLAGS_NONE, WAIT_MS, fds, NULL, NULL, error);
	/* our copy of the write end too, or the read never sees EOF */
	g_clear_object(&fds);
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		g_string_append_len(raw, buf, n);
	close(p[0]);
	if (reply == NULL)
		return NULL;
	while (raw->len - pos >= 8) {
		guint32 t, len;
		memcpy(&t, raw->str + pos, 4);
		memcpy(&len, raw->str + pos + 4, 4);
		t = GUINT32_FROM_LE(t);
		len = GUINT32_FROM_LE(len);
		g_assert_cmpuint(raw->len - pos - 8, >=, len);
		g_string_append_printf(out, "%u:%.*s\n", t, (int)len, raw->str + pos + 8);
		pos += 8 + len;
	}
	g_assert_cmpuint(pos, ==, raw->len);
	return g_strdup(out->str);
}

static void
test_walk_glob(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *sub = g_build_filename(f->dir, "w", "sub", NULL);
	g_autofree gchar *root = g_build_filename(f->dir, "w", NULL);
	g_autofree gchar *a = g_build_filename(root, "a.txt", NULL);
	g_autofree gchar *b = g_build_filename(sub, "b.txt", NULL);
	g_autofree gchar *glob = g_build_filename(root, "**", "*.txt", NULL);
	g_autofree gchar *all = NULL;
	g_autofree gchar *files = NULL;
	g_autofree gchar *globbed = NULL;
	g_autofree gchar *want = NULL;
	g_autofree gchar *bad = NULL;

	g_assert_cmpint(g_mkdir_with_parents(sub, 0755), ==, 0);
	g_assert_true(g_file_set_contents(a, "a", 1, NULL));
	g_assert_true(g_file_set_contents(b, "b", 1, NULL));
	all = walk(f, "Walk", root, "@a{sv} {}", &error);
	g_assert_no_error(error);
	want = g_strdup_printf("2:%s\n", root);
	g_assert_true(g_str_has_prefix(all, want));
	g_assert_nonnull(strstr(all, a));
	g_assert_nonnull(strstr(all, b));
	files = walk(f, "Walk", root,
		     "{'include_dirs': <false>, 'max_depth': <uint32 1>, 'match': <[('A\\\\.TXT$', "
		     "true)]>}",
		     &error);
	g_assert_no_error(error);
	g_free(want);
	want = g_strdup_printf("1:%s\n", a);
	g_assert_cmpstr(files, ==, want);
	globbed = walk(f, "Glob", glob, "@a{sv} {}", &error);
	g_assert_no_error(error);
	g_free(want);
	want = g_strdup_printf("1:%s\n1:%s\n", a, b);
	g_assert_cmpstr(globbed, ==, want);
	bad = walk(f, "Walk", root, "{'bogus': <1>}", &error);
	g_assert_null(bad);
	g_assert_true(g_dbus_error_is_remote_error(error));
	g_clear_error(&error);
	bad = walk(f, "Walk", root, "{'max_depth': <'deep'>}", &error);
	g_assert_null(bad);
	g_assert_nonnull(strstr(error->message, "InvalidArgument"));
	g_clear_error(&error);
	bad = walk(f, "Walk", root, "{'match': <[('(unclosed', false)]>}", &error);
	g_assert_null(bad);
	g_assert_nonnull(error);
	g_clear_error(&error);
	bad = walk(f, "Walk", root, "{'max_entries': <uint32 1>}", &error);
	g_assert_null(bad);
	g_assert_nonnull(strstr(error->message, "LimitExceeded"));
}

/* the "user" option: uid 1000 (gid 1000 without a passwd entry) */
static void
test_user(Fixture *f, gconstpointer data)
{
	g_autofree gchar *closed = g_build_filename(f->dir, "closed", NULL);
	g_autofree gchar *secret = g_build_filename(f->dir, "closed/secret", NULL);
	g_autofree gchar *made = g_build_filename(f->dir, "made", NULL);
	g_autofree gchar *opened = g_build_filename(f->dir, "opened", NULL);
	g_autofree gchar *moved = g_build_filename(f->dir, "made/moved", NULL);
	g_autofree gchar *rootfile = g_build_filename(f->dir, "rootfile", NULL);
	const gchar *as_user = "{'user': <'1000'>}";
	guint32 handle;
	GStatBuf st;

	/* the user may enter the tree and write at its top only */
	g_assert_cmpint(g_chmod(f->env->tmpdir, 0711), ==, 0);
	g_assert_cmpint(g_chmod(f->dir, 0777), ==, 0);
	g_assert_cmpint(g_mkdir(closed, 0700), ==, 0);
	g_assert_true(g_file_set_contents(secret, "s", 1, NULL));
	g_assert_true(g_file_set_contents(rootfile, "r", 1, NULL));

	call_ok(f->conn, f, "MakeDirectory",
		g_variant_new("(s@a{sv})", made, g_variant_new_parsed(as_user)));
	g_assert_cmpint(g_stat(made, &st), ==, 0);
	g_assert_cmpuint(st.st_uid, ==, 1000);
	g_assert_cmpuint(st.st_gid, ==, 1000);
	open_file(f->conn, f, "opened", "{'write': <true>, 'create': <true>, 'user': <'1000'>}");
	g_assert_cmpint(g_stat(opened, &st), ==, 0);
	g_assert_cmpuint(st.st_uid, ==, 1000);
	call_ok(f->conn, f, "RenameWithOptions",
		g_variant_new("(ss@a{sv})", opened, moved, g_variant_new_parsed(as_user)));
	g_assert_true(g_file_test(moved, G_FILE_TEST_EXISTS));

	/* root's files are out of reach; without the option root still can */
	call_fails(f->conn, f, "Stat",
		   g_variant_new("(s@a{sv})", secret, g_variant_new_parsed(as_user)),
		   "org.sandboxd.Error.PermissionDenied");
	call_fails(f->conn, f, "ChmodWithOptions",
		   g_variant_new("(su@a{sv})", closed, 0777, g_variant_new_parsed(as_user)),
		   "org.sandboxd.Error.PermissionDenied");
	call_fails(f->conn, f, "ReadDirWithOptions",
		   g_variant_new("(s@a{sv})", closed, g_variant_new_parsed(as_user)),
		   "org.sandboxd.Error.PermissionDenied");
	call_ok(f->conn, f, "ReadDirWithOptions",
		g_variant_new("(s@a{sv})", closed, g_variant_new_parsed("@a{sv} {}")));
	call_ok(f->conn, f, "Stat",
		g_variant_new("(s@a{sv})", secret, g_variant_new_parsed("@a{sv} {}")));

	/* calls on a file opened as the user act as the user: setting the
	 * times of root's file needs its owner, reading it does not */
	handle = open_file(f->conn, f, "rootfile", "{'read': <true>, 'user': <'1000'>}");
	call_fails(f->conn, f, "FileUtime",
		   g_variant_new("(uxuxu)", handle, (gint64)1, 0, (gint64)2, 0),
		   "org.sandboxd.Error.PermissionDenied");
	call_ok(f->conn, f, "FileRead", g_variant_new("(uu)", handle, 16));
	handle = open_file(f->conn, f, "rootfile", "{'read': <true>}");
	call_ok(f->conn, f, "FileUtime",
		g_variant_new("(uxuxu)", handle, (gint64)1, 0, (gint64)2, 0));

	/* bad options and users are refused, never run as root */
	call_fails(
	    f->conn, f, "ChmodWithOptions",
	    g_variant_new("(su@a{sv})", made, 0700, g_variant_new_parsed("{'user': <1000>}")),
	    "org.sandboxd.Error.InvalidArgument");
	call_fails(f->conn, f, "RealPathWithOptions",
		   g_variant_new("(s@a{sv})", made, g_variant_new_parsed("{'bogus': <'x'>}")),
		   "org.sandboxd.Error.InvalidArgument");
	call_fails(f->conn, f, "MakeDirectory",
		   g_variant_new("(s@a{sv})", closed,
				 g_variant_new_parsed("{'user': <'no-such-user-sbx'>}")),
		   "org.sandboxd.Error.NotFound");
	call_fails(
	    f->conn, f, "ChmodWithOptions",
	    g_variant_new("(su@a{sv})", made, 0700, g_variant_new_parsed("{'user': <'a:b'>}")),
	    "org.sandboxd.Error.InvalidArgument");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/sandbox-file/handles", Fixture, NULL, fixture_setup, test_handles,
		   fixture_teardown);
	g_test_add("/sandbox-file/lock-and-owner", Fixture, NULL, fixture_setup,
		   test_lock_and_owner, fixture_teardown);
	g_test_add("/sandbox-file/umask", Fixture, NULL, fixture_setup, test_umask,
		   fixture_teardown);
	g_test_add("/sandbox-file/walk-glob", Fixture, NULL, fixture_setup, test_walk_glob,
		   fixture_teardown);
	g_test_add("/sandbox-file/user", Fixture, NULL, fixture_setup, test_user, fixture_teardown);
	return g_test_run();
}
