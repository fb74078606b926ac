/* integration tests of the Sandbox1 filesystem and environment methods in a real VM:
 * a 1 GiB WriteFile/ReadFile round trip with checksums, directory Upload/Download
 * equality, stat/readdir/mkdir/remove/rename/chmod, bad paths giving the named errors,
 * the sandbox environment inherited by Exec, and `sandboxctl cp`. One sandbox of the
 * minimal image is shared (its /tmp is a tmpfs: the sandbox gets the memory for 1 GiB).
 * SBX_TEST_FS_MIB overrides the size of the round trip (MiB, default 1024).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-test-env.h"
#include "sbx-test-main.h"
#include "sbx-test-supervisor.h"

#define SANDBOX_IFACE "org.sandboxd.Sandbox1"

static gchar *sb_path;
static gchar *sb_id;

/* runs `sh -c SCRIPT` in the shared sandbox, asserts exit 0, returns stdout */
static gchar *
sh_ok(const gchar *script)
{
	return sbx_test_sh_ok(sb_path, script);
}

static GVariant *
call(const gchar *method, GVariant *params, const GVariantType *reply_type, GError **error)
{
	return g_dbus_connection_call_sync(sbx_test_env_get()->conn, "org.sandboxd", sb_path,
					   SANDBOX_IFACE, method, params, reply_type,
					   G_DBUS_CALL_FLAGS_NONE, 10 * 60 * 1000, NULL, error);
}

/* a call passing one fd as the handle 0 */
static GVariant *
call_fd(const gchar *method, GVariant *params, gint fd, GError **error)
{
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_assert_cmpint(g_unix_fd_list_append(fds, fd, NULL), ==, 0);
	return g_dbus_connection_call_with_unix_fd_list_sync(
	    sbx_test_env_get()->conn, "org.sandboxd", sb_path, SANDBOX_IFACE, method, params, NULL,
	    G_DBUS_CALL_FLAGS_NONE, 30 * 60 * 1000, fds, NULL, NULL, error);
}

/* a pseudo-random stream generated and hashed in a thread */

typedef struct {
	gint fd;
	guint64 size;
	GChecksum *sum;
	gboolean write; /* generate into fd; else read fd to EOF */
	guint64 done;
	gint64 usec;
} Pump;

static gpointer
pump_thread(gpointer data)
{
	Pump *p = data;
	gsize chunk = 1024 * 1024;
	g_autofree guint64 *buf = g_malloc(chunk);
	guint64 x = 0x9e3779b97f4a7c15ull;
	gint64 t0 = g_get_monotonic_time();

	while (p->write ? p->done < p->size : TRUE) {
		gsize want = p->write ? (gsize)MIN(chunk, p->size - p->done) : chunk;
		gssize n;
		if (p->write) {
			/* xorshift: cheap, and no two chunks alike */
			for (gsize i = 0; i < chunk / 8; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				buf[i] = x;
			}
			gsize off = 0;
			while (off < want) {
				n = write(p->fd, (guint8 *)buf + off, want - off);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					goto out;
				off += (gsize)n;
			}
			g_checksum_update(p->sum, (guint8 *)buf, want);
			p->done += want;
		} else {
			n = read(p->fd, buf, chunk);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			g_checksum_update(p->sum, (guint8 *)buf, (gsize)n);
			p->done += (guint64)n;
		}
	}
out:
	p->usec = g_get_monotonic_time() - t0;
	close(p->fd);
	return NULL;
}

static void
test_roundtrip(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) info = NULL;
	const gchar *env_mib = g_getenv("SBX_TEST_FS_MIB");
	guint64 mib = env_mib != NULL ? g_ascii_strtoull(env_mib, NULL, 10) : 1024;
	Pump w = {0}, r = {0};
	GThread *t;
	gint p[2];
	gint64 t0;
	guint64 size = 0;
	g_autofree gchar *guest_sum = NULL;
	g_autofree gchar *host_sum = NULL;

	g_assert_cmpuint(mib, >, 0);
	/* WriteFile from a pipe the generator fills */
	g_assert_true(g_unix_open_pipe(p, FD_CLOEXEC, NULL));
	w = (Pump){.fd = p[1], .size = mib * 1024 * 1024, .write = TRUE};
	w.sum = g_checksum_new(G_CHECKSUM_SHA256);
	t = g_thread_new("writer", pump_thread, &w);
	t0 = g_get_monotonic_time();
	reply = call_fd("WriteFile",
			g_variant_new("(s@a{sv}h)", "/tmp/fs-test/big.bin",
				      g_variant_new_parsed("{'parents': <true>}"), 0),
			p[0], &error);
	close(p[0]);
	g_thread_join(t);
	g_assert_no_error(error);
	g_test_message("WriteFile: %" G_GUINT64_FORMAT " MiB in %.1f s (%.1f MiB/s)", mib,
		       (g_get_monotonic_time() - t0) / 1e6,
		       mib / ((g_get_monotonic_time() - t0) / 1e6));
	g_assert_cmpuint(w.done, ==, mib * 1024 * 1024);
	host_sum = g_strdup(g_checksum_get_string(w.sum));
	g_clear_pointer(&reply, g_variant_unref);

	/* the guest's own view of it */
	reply = call("Stat", g_variant_new_parsed("('/tmp/fs-test/big.bin', @a{sv} {})"),
		     G_VARIANT_TYPE("(a{sv})"), &error);
	g_assert_no_error(error);
	g_variant_get(reply, "(@a{sv})", &info);
	g_assert_true(g_variant_lookup(info, "size", "t", &size));
	g_assert_cmpuint(size, ==, mib * 1024 * 1024);
	g_clear_pointer(&reply, g_variant_unref);
	guest_sum = sh_ok("sha256sum /tmp/fs-test/big.bin | cut -d' ' -f1");
	g_assert_cmpstr(g_strstrip(guest_sum), ==, host_sum);

	/* ReadFile into a pipe a hashing thread drains */
	g_assert_true(g_unix_open_pipe(p, FD_CLOEXEC, NULL));
	r = (Pump){.fd = p[0], .write = FALSE};
	r.sum = g_checksum_new(G_CHECKSUM_SHA256);
	t = g_thread_new("reader", pump_thread, &r);
	t0 = g_get_monotonic_time();
	reply = call_fd(
	    "ReadFile",
	    g_variant_new("(s@a{sv}h)", "/tmp/fs-test/big.bin", g_variant_new("a{sv}", NULL), 0),
	    p[1], &error);
	close(p[1]);
	g_thread_join(t);
	g_assert_no_error(error);
	g_test_message("ReadFile: %" G_GUINT64_FORMAT " MiB in %.1f s (%.1f MiB/s)", mib,
		       (g_get_monotonic_time() - t0) / 1e6,
		       mib / ((g_get_monotonic_time() - t0) / 1e6));
	g_assert_cmpuint(r.done, ==, mib * 1024 * 1024);
	g_assert_cmpstr(g_checksum_get_string(r.sum), ==, host_sum);
	g_checksum_free(w.sum);
	g_checksum_free(r.sum);
	g_free(sh_ok("rm -f /tmp/fs-test/big.bin"));
}

/* a local tree with the things tar must keep */
static void
make_tree(const gchar *root)
{
	g_autofree gchar *deep = g_build_filename(root, "a", "b", "c", NULL);
	g_autofree gchar *empty = g_build_filename(root, "empty", NULL);
	g_autofree gchar *exe = g_build_filename(root, "a", "run.sh", NULL);
	g_autofree gchar *link = g_build_filename(root, "link", NULL);
	g_assert_cmpint(g_mkdir_with_parents(deep, 0755), ==, 0);
	g_assert_cmpint(g_mkdir(empty, 0700), ==, 0);
	for (guint i = 0; i < 40; i++) {
		g_autofree gchar *name = g_strdup_printf("%s/file-%02u with space", deep, i);
		g_autofree gchar *data = g_strnfill(1000 * i + 1, (gchar)('a' + i % 26));
		g_assert_true(g_file_set_contents(name, data, -1, NULL));
	}
	{
		/* a big binary one */
		g_autofree gchar *name = g_build_filename(root, "a", "blob", NULL);
		gsize len = 3 * 1024 * 1024;
		g_autofree guint8 *buf = g_malloc(len);
		for (gsize i = 0; i < len; i++)
			buf[i] = (guint8)g_random_int();
		g_assert_true(g_file_set_contents(name, (gchar *)buf, (gssize)len, NULL));
	}
	g_assert_true(g_file_set_contents(exe, "#!/bin/sh\necho hi\n", -1, NULL));
	g_assert_cmpint(g_chmod(exe, 0750), ==, 0);
	g_assert_cmpint(symlink("a/b/c", link), ==, 0);
}

/* "path type mode size sha/target" lines of a tree, sorted */
static gchar *
describe_tree(const gchar *root)
{
	g_autoptr(GPtrArray) files = sbx_test_list_files(root);
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < files->len; i++) {
		const gchar *rel = g_ptr_array_index(files, i);
		g_autofree gchar *full = g_build_filename(root, rel, NULL);
		struct stat st;
		g_assert_cmpint(lstat(full, &st), ==, 0);
		g_string_append_printf(s, "%s %o ", rel, st.st_mode);
		if (S_ISLNK(st.st_mode)) {
			g_autofree gchar *target = g_file_read_link(full, NULL);
			g_string_append_printf(s, "-> %s", target);
		} else if (S_ISREG(st.st_mode)) {
			g_autofree gchar *data = NULL;
			gsize len = 0;
			g_autofree gchar *sum = NULL;
			g_assert_true(g_file_get_contents(full, &data, &len, NULL));
			sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guint8 *)data, len);
			g_string_append_printf(s, "%" G_GSIZE_FORMAT " %s", len, sum);
		}
		g_string_append_c(s, '\n');
	}
	return g_string_free(s, FALSE);
}

static void
test_tree(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GSubprocess) tar = NULL;
	g_autofree gchar *src = g_build_filename(env->tmpdir, "tree-src", NULL);
	g_autofree gchar *dst = g_build_filename(env->tmpdir, "tree-dst", NULL);
	g_autofree gchar *dst_tree = g_build_filename(dst, "tree", NULL);
	g_autofree gchar *want = NULL;
	g_autofree gchar *got = NULL;
	g_autofree gchar *count = NULL;
	GOutputStream *in;
	GInputStream *out;
	gint fd;

	g_assert_cmpint(g_mkdir(src, 0755), ==, 0);
	make_tree(src);
	/* Upload: local tar -> the guest's tar */
	tar = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "tar", "-c", "-f", "-", "-C",
			       src, ".", NULL);
	g_assert_no_error(error);
	out = g_subprocess_get_stdout_pipe(tar);
	fd = g_unix_input_stream_get_fd(G_UNIX_INPUT_STREAM(out));
	reply = call_fd("Upload", g_variant_new("(sh)", "/tmp/fs-test/up/tree", 0), fd, &error);
	g_assert_no_error(error);
	g_input_stream_close(out, NULL, NULL);
	SBX_TEST_ASSERT_OK(g_subprocess_wait_check(tar, NULL, &error));
	g_clear_object(&tar);
	g_clear_pointer(&reply, g_variant_unref);
	count = sh_ok("cd /tmp/fs-test/up/tree && find . | wc -l");
	/* ., a, a/b, a/b/c, empty; 40 files, blob, run.sh, link */
	g_assert_cmpint(atoi(count), ==, 1 + 4 + 40 + 3);

	/* Download: the guest's tar -> local tar */
	g_assert_cmpint(g_mkdir(dst, 0755), ==, 0);
	tar = g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE, &error, "tar", "-x", "-f", "-", "-C",
			       dst, NULL);
	g_assert_no_error(error);
	in = g_subprocess_get_stdin_pipe(tar);
	fd = g_unix_output_stream_get_fd(G_UNIX_OUTPUT_STREAM(in));
	reply = call_fd("Download", g_variant_new("(sh)", "/tmp/fs-test/up/tree/", 0), fd, &error);
	g_assert_no_error(error);
	g_output_stream_close(in, NULL, NULL);
	SBX_TEST_ASSERT_OK(g_subprocess_wait_check(tar, NULL, &error));
	g_clear_pointer(&reply, g_variant_unref);

	want = describe_tree(src);
	got = describe_tree(dst_tree);
	g_assert_cmpstr(got, ==, want);

	/* a broken stream fails with tar's message */
	{
		gint p[2];
		g_assert_true(g_unix_open_pipe(p, FD_CLOEXEC, NULL));
		g_assert_cmpint(write(p[1], "this is not a tar archive", 25), ==, 25);
		close(p[1]);
		reply =
		    call_fd("Upload", g_variant_new("(sh)", "/tmp/fs-test/bad", 0), p[0], &error);
		close(p[0]);
		g_assert_null(reply);
		sbx_test_assert_remote_error(error, "org.sandboxd.Error.Failed",
					     "tar failed in the guest");
		g_clear_error(&error);
	}
	/* Download of a missing path */
	{
		gint nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
		reply =
		    call_fd("Download", g_variant_new("(sh)", "/tmp/fs-test/nope", 0), nul, &error);
		close(nul);
		g_assert_null(reply);
		sbx_test_assert_remote_error(error, "org.sandboxd.Error.NotFound",
					     "/tmp/fs-test/nope");
		g_clear_error(&error);
	}
	sbx_test_rm_rf(src);
	sbx_test_rm_rf(dst);
}

static void
test_ops(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) entries = NULL;
	g_autoptr(GVariant) info = NULL;
	g_autofree gchar *out = NULL;
	const gchar *type = NULL;
	const gchar *target = NULL;
	guint32 mode = 0;
	gint64 mtime = 0;

	reply = call("MakeDirectory",
		     g_variant_new_parsed("('/tmp/fs-test/ops/a/b', {'parents': <true>, "
					  "'mode': <uint32 0750>})"),
		     NULL, &error);
	g_assert_no_error(error);
	g_clear_pointer(&reply, g_variant_unref);
	g_free(sh_ok("cd /tmp/fs-test/ops && echo x > a/f && ln -s a/f a/l && touch a/b/g"));
	reply = call("ReadDir", g_variant_new("(s)", "/tmp/fs-test/ops/a"),
		     G_VARIANT_TYPE("(aa{sv})"), &error);
	g_assert_no_error(error);
	g_variant_get(reply, "(@aa{sv})", &entries);
	g_assert_cmpuint(g_variant_n_children(entries), ==, 3);
	for (gsize i = 0; i < 3; i++) {
		g_autoptr(GVariant) e = g_variant_get_child_value(entries, i);
		const gchar *name = NULL;
		guint64 size = 0;
		g_assert_true(g_variant_lookup(e, "name", "&s", &name));
		g_assert_true(g_variant_lookup(e, "type", "&s", &type));
		g_assert_true(g_variant_lookup(e, "size", "t", &size));
		g_assert_true(g_variant_lookup(e, "mode", "u", &mode));
		g_assert_true(g_variant_lookup(e, "mtime", "x", &mtime));
		g_assert_cmpint(mtime, >, 1000000000);
		if (g_strcmp0(name, "f") == 0) {
			g_assert_cmpstr(type, ==, "file");
			g_assert_cmpuint(size, ==, 2);
		} else if (g_strcmp0(name, "l") == 0) {
			g_assert_cmpstr(type, ==, "symlink");
		} else {
			g_assert_cmpstr(name, ==, "b");
			g_assert_cmpstr(type, ==, "directory");
			g_assert_cmpuint(mode, ==, 0750);
		}
	}
	g_clear_pointer(&reply, g_variant_unref);
	/* lstat and stat */
	reply = call("Stat",
		     g_variant_new_parsed("('/tmp/fs-test/ops/a/l', {'follow_symlinks': <false>})"),
		     G_VARIANT_TYPE("(a{sv})"), &error);
	g_assert_no_error(error);
	g_variant_get(reply, "(@a{sv})", &info);
	g_assert_true(g_variant_lookup(info, "type", "&s", &type));
	g_assert_cmpstr(type, ==, "symlink");
	g_assert_true(g_variant_lookup(info, "link_target", "&s", &target));
	g_assert_cmpstr(target, ==, "a/f");
	g_clear_pointer(&reply, g_variant_unref);
	g_clear_pointer(&info, g_variant_unref);
	reply = call("Stat", g_variant_new_parsed("('/tmp/fs-test/ops/a/l', @a{sv} {})"),
		     G_VARIANT_TYPE("(a{sv})"), &error);
	/* relative to a/, "a/f" does not exist: the guest resolves it */
	g_assert_null(reply);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.NotFound", "/tmp/fs-test/ops/a/l");
	g_clear_error(&error);
	/* rename, chmod, remove */
	reply = call("Rename", g_variant_new("(ss)", "/tmp/fs-test/ops/a/f", "/tmp/fs-test/ops/f2"),
		     NULL, &error);
	g_assert_no_error(error);
	g_clear_pointer(&reply, g_variant_unref);
	reply = call("Chmod", g_variant_new("(su)", "/tmp/fs-test/ops/f2", 0604), NULL, &error);
	g_assert_no_error(error);
	g_clear_pointer(&reply, g_variant_unref);
	out =
	    sh_ok("stat -c '%a %s' /tmp/fs-test/ops/f2; test -e /tmp/fs-test/ops/a/f || echo gone");
	g_assert_cmpstr(out, ==, "604 2\ngone\n");
	reply =
	    call("Remove", g_variant_new_parsed("('/tmp/fs-test/ops/a', @a{sv} {})"), NULL, &error);
	g_assert_null(reply);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.NotEmpty", "/tmp/fs-test/ops/a");
	g_clear_error(&error);
	reply = call("Remove", g_variant_new_parsed("('/tmp/fs-test/ops', {'recursive': <true>})"),
		     NULL, &error);
	g_assert_no_error(error);
	g_clear_pointer(&reply, g_variant_unref);
	g_free(out);
	out = sh_ok("test -e /tmp/fs-test/ops || echo gone");
	g_assert_cmpstr(out, ==, "gone\n");
}

/* a stat of @path fails with @name naming the path */
static void
stat_fails(const gchar *path, const gchar *name, const gchar *in_message)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply =
	    call("Stat", g_variant_new("(s@a{sv})", path, g_variant_new("a{sv}", NULL)),
		 G_VARIANT_TYPE("(a{sv})"), &error);
	g_assert_null(reply);
	sbx_test_assert_remote_error(error, name, in_message);
}

static void
test_bad_paths(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GString) longp = g_string_new(NULL);
	g_autofree gchar *out = NULL;
	gint p[2];

	g_free(sh_ok("mkdir -p /tmp/fs-test/bad && echo data > /tmp/fs-test/bad/file"));
	stat_fails("relative/path", "org.sandboxd.Error.InvalidArgument", "absolute");
	stat_fails("", "org.sandboxd.Error.InvalidArgument", NULL);
	while (longp->len <= 4095)
		g_string_append(longp, "/aaaaaaaaaaaaaaa");
	stat_fails(longp->str, "org.sandboxd.Error.InvalidArgument", "4095");
	stat_fails("/tmp/fs-test/bad/missing", "org.sandboxd.Error.NotFound",
		   "/tmp/fs-test/bad/missing");
	stat_fails("/tmp/fs-test/bad/file/child", "org.sandboxd.Error.NotADirectory",
		   "/tmp/fs-test/bad/file/child");
	/* ".." as the guest resolves it: a missing component still fails, and the root's
	 * parent is the root */
	stat_fails("/tmp/fs-test/bad/missing/../file", "org.sandboxd.Error.NotFound", NULL);
	reply = call("Stat",
		     g_variant_new_parsed("('/../../../tmp/fs-test/bad/../bad/file', @a{sv} {})"),
		     G_VARIANT_TYPE("(a{sv})"), &error);
	g_assert_no_error(error);
	g_clear_pointer(&reply, g_variant_unref);
	/* a directory is no file */
	g_assert_true(g_unix_open_pipe(p, FD_CLOEXEC, NULL));
	reply = call_fd(
	    "ReadFile",
	    g_variant_new("(s@a{sv}h)", "/tmp/fs-test/bad", g_variant_new("a{sv}", NULL), 0), p[1],
	    &error);
	close(p[0]);
	close(p[1]);
	g_assert_null(reply);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.IsADirectory", "/tmp/fs-test/bad");
	g_clear_error(&error);
	reply = call("MakeDirectory", g_variant_new_parsed("('/tmp/fs-test/bad', @a{sv} {})"), NULL,
		     &error);
	g_assert_null(reply);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.AlreadyExists", "/tmp/fs-test/bad");
	g_clear_error(&error);
	/* a read-only file system refuses changes: PermissionDenied */
	g_free(sh_ok("mkdir -p /tmp/fs-test/ro && mount -t tmpfs -o ro tmpfs /tmp/fs-test/ro"));
	reply = call("MakeDirectory", g_variant_new_parsed("('/tmp/fs-test/ro/d', @a{sv} {})"),
		     NULL, &error);
	g_assert_null(reply);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.PermissionDenied",
				     "/tmp/fs-test/ro/d");
	g_clear_error(&error);
	reply = call("Chmod", g_variant_new("(su)", "/tmp/fs-test/ro", 0700), NULL, &error);
	g_assert_null(reply);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.PermissionDenied",
				     "/tmp/fs-test/ro");
	g_clear_error(&error);
	g_free(sh_ok("umount /tmp/fs-test/ro"));
	/* a full file system: NoSpace, and the old file is left alone */
	g_free(sh_ok("mkdir -p /tmp/fs-test/small && mount -t tmpfs -o size=1m tmpfs "
		     "/tmp/fs-test/small && echo old > /tmp/fs-test/small/f"));
	{
		Pump w = {0};
		GThread *t;
		g_assert_true(g_unix_open_pipe(p, FD_CLOEXEC, NULL));
		w = (Pump){.fd = p[1], .size = 4 * 1024 * 1024, .write = TRUE};
		w.sum = g_checksum_new(G_CHECKSUM_SHA256);
		t = g_thread_new("writer", pump_thread, &w);
		reply = call_fd("WriteFile",
				g_variant_new("(s@a{sv}h)", "/tmp/fs-test/small/f",
					      g_variant_new("a{sv}", NULL), 0),
				p[0], &error);
		close(p[0]);
		g_thread_join(t);
		g_checksum_free(w.sum);
	}
	g_assert_null(reply);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.NoSpace", "/tmp/fs-test/small/f");
	g_clear_error(&error);
	out = sh_ok("cat /tmp/fs-test/small/f; ls -a /tmp/fs-test/small | wc -l; "
		    "umount /tmp/fs-test/small");
	/* old contents, and no temp file left: . .. f */
	g_assert_cmpstr(out, ==, "old\n3\n");
}

static void
test_env(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autofree gchar *out = NULL;
	const gchar *value = NULL;

	reply = call("SetEnv", g_variant_new("(ss)", "FS_TEST_VAR", "some value"), NULL, &error);
	g_assert_no_error(error);
	g_clear_pointer(&reply, g_variant_unref);
	reply = call("GetEnv", g_variant_new("(s)", "FS_TEST_VAR"), G_VARIANT_TYPE("(s)"), &error);
	g_assert_no_error(error);
	g_variant_get(reply, "(&s)", &value);
	g_assert_cmpstr(value, ==, "some value");
	g_clear_pointer(&reply, g_variant_unref);
	/* inherited by a later Exec, with the create-time env */
	out = sh_ok("echo \"$FS_TEST_VAR|$FROM_CREATE\"");
	g_assert_cmpstr(out, ==, "some value|created\n");
	reply = call("GetEnvironment", NULL, G_VARIANT_TYPE("(a{ss})"), &error);
	g_assert_no_error(error);
	{
		g_autoptr(GVariant) env = NULL;
		g_variant_get(reply, "(@a{ss})", &env);
		g_assert_true(g_variant_lookup(env, "FROM_CREATE", "&s", &value));
		g_assert_cmpstr(value, ==, "created");
	}
	g_clear_pointer(&reply, g_variant_unref);
	reply = call("UnsetEnv", g_variant_new("(s)", "FS_TEST_VAR"), NULL, &error);
	g_assert_no_error(error);
	g_clear_pointer(&reply, g_variant_unref);
	reply = call("GetEnv", g_variant_new("(s)", "FS_TEST_VAR"), G_VARIANT_TYPE("(s)"), &error);
	g_assert_null(reply);
	sbx_test_assert_remote_error(error, "org.sandboxd.Error.NotFound", "FS_TEST_VAR");
	g_clear_error(&error);
	g_free(out);
	out = sh_ok("echo \"${FS_TEST_VAR-unset}\"");
	g_assert_cmpstr(out, ==, "unset\n");
}

static void
test_cli_cp(void)
{
	SbxTestEnv *env = sbx_test_env_get();
	g_autoptr(GError) error = NULL;
	g_autofree gchar *local = g_build_filename(env->tmpdir, "cp-src", NULL);
	g_autofree gchar *back = g_build_filename(env->tmpdir, "cp-back", NULL);
	g_autofree gchar *remote = g_strdup_printf("%s:/tmp/fs-test/cp/file", sb_id);
	g_autofree gchar *remote_dir = g_strdup_printf("%s:/tmp/fs-test/cp/dir", sb_id);
	g_autofree gchar *local_dir = g_build_filename(env->tmpdir, "cp-dir", NULL);
	g_autofree gchar *back_dir = g_build_filename(env->tmpdir, "cp-dir-back", NULL);
	g_autofree gchar *want = NULL;
	g_autofree gchar *got = NULL;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;
	gint rc = -1;

	g_assert_true(g_file_set_contents(local, "copied by sandboxctl\n", -1, NULL));
	{
		const gchar *args[] = {"cp", "-p", local, remote, NULL};
		SBX_TEST_ASSERT_OK(sbx_test_cli(args, NULL, &rc, &out, &err, &error));
		g_assert_cmpint(rc, ==, 0);
	}
	{
		const gchar *args[] = {"cp", remote, back, NULL};
		g_clear_pointer(&out, g_free);
		g_clear_pointer(&err, g_free);
		SBX_TEST_ASSERT_OK(sbx_test_cli(args, NULL, &rc, &out, &err, &error));
		g_assert_cmpint(rc, ==, 0);
	}
	{
		g_autofree gchar *data = NULL;
		g_assert_true(g_file_get_contents(back, &data, NULL, NULL));
		g_assert_cmpstr(data, ==, "copied by sandboxctl\n");
	}
	g_assert_cmpint(g_mkdir(local_dir, 0755), ==, 0);
	make_tree(local_dir);
	{
		const gchar *args[] = {"cp", "-r", local_dir, remote_dir, NULL};
		g_clear_pointer(&out, g_free);
		g_clear_pointer(&err, g_free);
		SBX_TEST_ASSERT_OK(sbx_test_cli(args, NULL, &rc, &out, &err, &error));
		g_assert_cmpint(rc, ==, 0);
	}
	{
		const gchar *args[] = {"cp", "-r", remote_dir, back_dir, NULL};
		g_clear_pointer(&out, g_free);
		g_clear_pointer(&err, g_free);
		SBX_TEST_ASSERT_OK(sbx_test_cli(args, NULL, &rc, &out, &err, &error));
		g_assert_cmpint(rc, ==, 0);
	}
	want = describe_tree(local_dir);
	got = describe_tree(back_dir);
	g_assert_cmpstr(got, ==, want);
	{
		g_autofree gchar *missing = g_strdup_printf("%s:/tmp/fs-test/cp/missing", sb_id);
		const gchar *args[] = {"cp", missing, back, NULL};
		g_clear_pointer(&out, g_free);
		g_clear_pointer(&err, g_free);
		SBX_TEST_ASSERT_OK(sbx_test_cli(args, NULL, &rc, &out, &err, &error));
		g_assert_cmpint(rc, ==, 1);
		g_assert_nonnull(strstr(err, "/tmp/fs-test/cp/missing: No such file or directory"));
	}
	sbx_test_rm_rf(local_dir);
	sbx_test_rm_rf(back_dir);
}

int
main(int argc, char **argv)
{
	SbxTestEnv *env = sbx_test_main_run("fs", &argc, &argv);
	int rc;

	/* one sandbox for everything; memory for a 1 GiB file in its tmpfs /tmp */
	sb_path = sbx_test_main_create("{'memory': <uint32 3072>, 'vcpus': <uint32 1>, "
				       "'env': <{'FROM_CREATE': 'created'}>}");
	sb_id = sbx_test_get_id(NULL, sb_path);

	g_test_add_func("/fs/ops", test_ops);
	g_test_add_func("/fs/bad-paths", test_bad_paths);
	g_test_add_func("/fs/env", test_env);
	g_test_add_func("/fs/tree", test_tree);
	g_test_add_func("/fs/cli-cp", test_cli_cp);
	g_test_add_func("/fs/roundtrip", test_roundtrip);
	rc = g_test_run();

	sbx_test_kill(NULL, sb_path, NULL);
	sbx_test_env_stop(env);
	g_free(sb_path);
	g_free(sb_id);
	return rc;
}
