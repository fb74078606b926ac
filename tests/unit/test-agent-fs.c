/* filesystem requests: sbx-agent-fs.c (host) against the real agent
 * in `--listen` mode; guest paths are host paths here, inside a temp dir.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include <sys/stat.h>

#include "sbx-agent-client.h"
#include "sbx-agent-fs.h"
#include "sbx-error.h"
#include "sbx-test-agent.h"

typedef SbxTestAgent Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	sbx_test_agent_start(fx);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	sbx_test_agent_stop(fx);
}

/* the tree under test: fx->dir/t, removed afterwards */
static gchar *
root_path(Fixture *fx, const gchar *rel)
{
	return g_build_filename(fx->dir, "t", rel, NULL);
}

static void
fs_setup(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *root = NULL;
	fixture_setup(fx, data);
	root = root_path(fx, NULL);
	g_assert_cmpint(g_mkdir(root, 0755), ==, 0);
}

static void
fs_teardown(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *root = root_path(fx, NULL);
	const gchar *argv[] = {"rm", "-rf", root, NULL};
	gint status = 0;
	g_assert_true(g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
				   NULL, NULL, &status, NULL));
	fixture_teardown(fx, data);
}

/* writes @data to @path through WriteFile, as @user (NULL: root) */
static gboolean
fs_write_as(Fixture *fx, const gchar *user, const gchar *path, guint32 flags, guint32 mode,
	    GBytes *data, GError **error)
{
	SbxTestFeed feed = {0};
	SbxTestWait w = {0};
	gint fd = sbx_test_feed_start(&feed, data);
	gboolean ok;
	sbx_agent_fs_write_async(fx->client, user, path, flags, mode, fd, NULL, sbx_test_wait_cb,
				 &w);
	close(fd);
	sbx_test_wait_done(&w);
	ok = sbx_agent_fs_write_finish(fx->client, w.res, error);
	g_object_unref(w.res);
	/* on failure the feeder may still hold the pipe */
	if (feed.id != 0) {
		g_source_remove(feed.id);
		close(feed.fd);
	}
	g_bytes_unref(feed.data);
	return ok;
}

static gboolean
fs_write(Fixture *fx, const gchar *path, guint32 flags, guint32 mode, GBytes *data, GError **error)
{
	return fs_write_as(fx, NULL, path, flags, mode, data, error);
}

/* reads @path through ReadFile; returns the bytes or NULL */
static GString *
fs_read(Fixture *fx, const gchar *path, gchar **sha256, GError **error)
{
	SbxTestDrain d = {0};
	SbxTestWait w = {0};
	gint fd = sbx_test_drain_start(&d, TRUE);
	gboolean ok;
	sbx_agent_fs_read_async(fx->client, NULL, path, fd, NULL, sbx_test_wait_cb, &w);
	close(fd);
	sbx_test_wait_done(&w);
	ok = sbx_agent_fs_read_finish(fx->client, w.res, error);
	g_object_unref(w.res);
	sbx_test_drain_finish(&d);
	if (sha256 != NULL)
		*sha256 = g_strdup(g_checksum_get_string(d.sum));
	g_checksum_free(d.sum);
	if (!ok) {
		g_string_free(d.text, TRUE);
		return NULL;
	}
	return d.text;
}

static gboolean
fs_op_as(Fixture *fx, const gchar *user, SbxMsgType type, guint32 flags, guint32 mode,
	 const gchar *path, const gchar *path2, GError **error)
{
	SbxTestWait w = {0};
	gboolean ok;
	sbx_agent_fs_op_async(fx->client, user, type, flags, mode, path, path2, NULL,
			      sbx_test_wait_cb, &w);
	sbx_test_wait_done(&w);
	ok = sbx_agent_fs_op_finish(fx->client, w.res, error);
	g_object_unref(w.res);
	return ok;
}

static gboolean
fs_op(Fixture *fx, SbxMsgType type, guint32 flags, guint32 mode, const gchar *path,
      const gchar *path2, GError **error)
{
	return fs_op_as(fx, NULL, type, flags, mode, path, path2, error);
}

static gboolean
fs_nums(Fixture *fx, SbxMsgType type, const guint32 *nums, guint n, const gchar *path,
	const gchar *path2, GError **error)
{
	SbxTestWait w = {0};
	gboolean ok;
	sbx_agent_fs_op_nums_async(fx->client, NULL, type, nums, n, path, path2, NULL,
				   sbx_test_wait_cb, &w);
	sbx_test_wait_done(&w);
	ok = sbx_agent_fs_op_finish(fx->client, w.res, error);
	g_object_unref(w.res);
	return ok;
}

static gchar *
fs_path(Fixture *fx, SbxMsgType type, guint32 flags, const guint32 *nums, guint n,
	const gchar *path, GError **error)
{
	SbxTestWait w = {0};
	gchar *out;
	sbx_agent_fs_path_async(fx->client, NULL, type, flags, nums, n, path, NULL,
				sbx_test_wait_cb, &w);
	sbx_test_wait_done(&w);
	out = sbx_agent_fs_path_finish(fx->client, w.res, error);
	g_object_unref(w.res);
	return out;
}

static SbxFsStat *
fs_stat(Fixture *fx, const gchar *path, gboolean nofollow, GError **error)
{
	SbxTestWait w = {0};
	SbxFsStat *st;
	sbx_agent_fs_stat_async(fx->client, NULL, path, nofollow, NULL, sbx_test_wait_cb, &w);
	sbx_test_wait_done(&w);
	st = sbx_agent_fs_stat_finish(fx->client, w.res, error);
	g_object_unref(w.res);
	return st;
}

static GPtrArray *
fs_readdir(Fixture *fx, const gchar *path, guint max, GError **error)
{
	SbxTestWait w = {0};
	GPtrArray *entries;
	sbx_agent_fs_readdir_async(fx->client, NULL, path, max, NULL, sbx_test_wait_cb, &w);
	sbx_test_wait_done(&w);
	entries = sbx_agent_fs_readdir_finish(fx->client, w.res, error);
	g_object_unref(w.res);
	return entries;
}

static void
test_roundtrip(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = root_path(fx, "a/b/big.bin");
	g_autofree gchar *want = NULL;
	g_autofree gchar *got = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes = NULL;
	g_autoptr(SbxFsStat) st = NULL;
	gsize len = 5 * 1024 * 1024 + 123; /* several windows, not a multiple of a frame */
	guint8 *buf = g_malloc(len);
	GString *back;

	for (gsize i = 0; i < len; i++)
		buf[i] = (guint8)(g_random_int() & 0xff);
	want = g_compute_checksum_for_data(G_CHECKSUM_SHA256, buf, len);
	bytes = g_bytes_new_take(buf, len);
	/* no parents: the directory is missing */
	g_assert_false(fs_write(fx, path, 0, 0, bytes, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "big.bin"));
	g_clear_error(&error);
	g_assert_true(fs_write(fx, path, SBX_FS_PARENTS | SBX_FS_MODE, 0640, bytes, &error));
	g_assert_no_error(error);
	back = fs_read(fx, path, &got, &error);
	g_assert_no_error(error);
	g_assert_nonnull(back);
	g_assert_cmpuint(back->len, ==, len);
	g_assert_cmpstr(got, ==, want);
	g_string_free(back, TRUE);
	st = fs_stat(fx, path, FALSE, &error);
	g_assert_no_error(error);
	g_assert_cmpint(st->type, ==, SBX_FS_TYPE_FILE);
	g_assert_cmpuint(st->size, ==, len);
	g_assert_cmpuint(st->mode, ==, 0640);
	g_assert_cmpuint(st->uid, ==, getuid());
}

static void
test_replace_append(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = root_path(fx, "f.txt");
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) one = g_bytes_new_static("one\n", 4);
	g_autoptr(GBytes) two = g_bytes_new_static("two\n", 4);
	g_autoptr(GBytes) empty = g_bytes_new_static("", 0);
	g_autoptr(GPtrArray) entries = NULL;
	g_autofree gchar *root = root_path(fx, NULL);
	GString *s;

	g_assert_true(fs_write(fx, path, SBX_FS_MODE, 0600, one, &error));
	g_assert_true(fs_write(fx, path, 0, 0, two, &error));
	s = fs_read(fx, path, NULL, &error);
	g_assert_cmpstr(s->str, ==, "two\n");
	g_string_free(s, TRUE);
	/* a replaced file keeps its mode */
	{
		struct stat st;
		g_assert_cmpint(stat(path, &st), ==, 0);
		g_assert_cmpuint(st.st_mode & 07777, ==, 0600);
	}
	g_assert_true(fs_write(fx, path, SBX_FS_APPEND, 0, one, &error));
	s = fs_read(fx, path, NULL, &error);
	g_assert_cmpstr(s->str, ==, "two\none\n");
	g_string_free(s, TRUE);
	/* exclusive refuses an existing file */
	g_assert_false(fs_write(fx, path, SBX_FS_EXCLUSIVE, 0, one, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_ALREADY_EXISTS);
	g_clear_error(&error);
	/* an empty file */
	g_assert_true(fs_write(fx, path, 0, 0, empty, &error));
	s = fs_read(fx, path, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(s->len, ==, 0);
	g_string_free(s, TRUE);
	/* no temp files left behind */
	entries = fs_readdir(fx, root, 100, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(entries->len, ==, 1);
}

static void
test_stat_readdir(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *dir = root_path(fx, "many");
	g_autofree gchar *link = root_path(fx, "link");
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) entries = NULL;
	g_autoptr(SbxFsStat) st = NULL;
	g_autoptr(SbxFsStat) lst = NULL;
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	const guint n = 3000; /* several FS_DIRENTS pages */

	g_assert_true(fs_op(fx, SBX_MSG_FS_MKDIR, 0, 0755, dir, NULL, &error));
	g_assert_no_error(error);
	for (guint i = 0; i < n; i++) {
		g_autofree gchar *name =
		    g_strdup_printf("%s/entry-with-a-longish-name-%05u", dir, i);
		if (i % 2 == 0)
			g_assert_cmpint(g_mkdir(name, 0700), ==, 0);
		else
			g_assert_true(g_file_set_contents(name, "x", 1, NULL));
	}
	entries = fs_readdir(fx, dir, SBX_FS_MAX_DIR_ENTRIES, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(entries->len, ==, n);
	for (guint i = 0; i < entries->len; i++) {
		SbxFsDirent *e = g_ptr_array_index(entries, i);
		guint idx = (guint)g_ascii_strtoull(e->name + strlen(e->name) - 5, NULL, 10);
		g_assert_true(g_hash_table_add(seen, e->name));
		g_assert_cmpint(e->type, ==,
				idx % 2 == 0 ? SBX_FS_TYPE_DIRECTORY : SBX_FS_TYPE_FILE);
		if (idx % 2 == 1)
			g_assert_cmpuint(e->size, ==, 1);
		else
			g_assert_cmpuint(e->mode, ==, 0700);
		g_assert_cmpint(e->mtime, >, 0);
	}
	/* the cap */
	g_ptr_array_unref(entries);
	entries = fs_readdir(fx, dir, 100, &error);
	g_assert_null(entries);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_LIMIT_EXCEEDED);
	g_clear_error(&error);

	/* symlinks: stat follows, lstat does not */
	g_assert_cmpint(symlink("many", link), ==, 0);
	st = fs_stat(fx, link, FALSE, &error);
	g_assert_no_error(error);
	g_assert_cmpint(st->type, ==, SBX_FS_TYPE_DIRECTORY);
	g_assert_null(st->link_target);
	lst = fs_stat(fx, link, TRUE, &error);
	g_assert_no_error(error);
	g_assert_cmpint(lst->type, ==, SBX_FS_TYPE_SYMLINK);
	g_assert_cmpstr(lst->link_target, ==, "many");
}

static void
test_ops(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *deep = root_path(fx, "x/y/z");
	g_autofree gchar *x = root_path(fx, "x");
	g_autofree gchar *x2 = root_path(fx, "x2");
	g_autofree gchar *file = root_path(fx, "x2/y/z/f");
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) data_bytes = g_bytes_new_static("hi", 2);
	struct stat st;

	g_assert_false(fs_op(fx, SBX_MSG_FS_MKDIR, 0, 0755, deep, NULL, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_true(fs_op(fx, SBX_MSG_FS_MKDIR, SBX_FS_PARENTS, 0755, deep, NULL, &error));
	g_assert_no_error(error);
	/* mkdir -p of an existing directory is fine, plain mkdir is not */
	g_assert_true(fs_op(fx, SBX_MSG_FS_MKDIR, SBX_FS_PARENTS, 0755, deep, NULL, &error));
	g_assert_false(fs_op(fx, SBX_MSG_FS_MKDIR, 0, 0755, deep, NULL, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_ALREADY_EXISTS);
	g_clear_error(&error);
	g_assert_true(fs_op(fx, SBX_MSG_FS_RENAME, 0, 0, x, x2, &error));
	g_assert_no_error(error);
	g_assert_cmpint(stat(x, &st), <, 0);
	g_assert_true(fs_write(fx, file, 0, 0, data_bytes, &error));
	g_assert_true(fs_op(fx, SBX_MSG_FS_CHMOD, 0, 0604, file, NULL, &error));
	g_assert_cmpint(stat(file, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 07777, ==, 0604);
	/* a non-empty directory needs recursive */
	g_assert_false(fs_op(fx, SBX_MSG_FS_REMOVE, 0, 0, x2, NULL, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_NOT_EMPTY);
	g_clear_error(&error);
	g_assert_true(fs_op(fx, SBX_MSG_FS_REMOVE, SBX_FS_RECURSIVE, 0, x2, NULL, &error));
	g_assert_no_error(error);
	g_assert_cmpint(lstat(x2, &st), <, 0);
	g_assert_false(fs_op(fx, SBX_MSG_FS_REMOVE, 0, 0, x2, NULL, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_NOT_FOUND);
}

/* symlink, link, copy, truncate, chown, utime */
static void
test_links(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *file = root_path(fx, "f");
	g_autofree gchar *sym = root_path(fx, "s");
	g_autofree gchar *hard = root_path(fx, "h");
	g_autofree gchar *copy = root_path(fx, "c");
	g_autofree gchar *missing = root_path(fx, "nope");
	g_autofree gchar *root = root_path(fx, NULL);
	g_autofree gchar *target = NULL;
	g_autofree gchar *contents = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) data_bytes = g_bytes_new_static("hello", 5);
	guint32 len[2] = {3, 0};
	guint32 big[2] = {0, 1}; /* 4 GiB: sparse */
	guint32 owner[2] = {getuid(), getgid()};
	guint32 times[4] = {1000000000, 0, 1500000000, 0};
	gsize n = 0;
	struct stat st;

	g_assert_true(fs_write(fx, file, 0, 0640, data_bytes, &error));
	g_assert_no_error(error);

	g_assert_true(fs_nums(fx, SBX_MSG_FS_SYMLINK, NULL, 0, file, sym, &error));
	g_assert_no_error(error);
	target = g_file_read_link(sym, NULL);
	g_assert_cmpstr(target, ==, file);
	g_assert_false(fs_nums(fx, SBX_MSG_FS_SYMLINK, NULL, 0, file, sym, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_ALREADY_EXISTS);
	g_clear_error(&error);

	g_assert_true(fs_nums(fx, SBX_MSG_FS_LINK, NULL, 0, file, hard, &error));
	g_assert_cmpint(stat(file, &st), ==, 0);
	g_assert_cmpuint(st.st_nlink, ==, 2);
	g_assert_false(fs_nums(fx, SBX_MSG_FS_LINK, NULL, 0, missing, copy, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, "nope"));
	g_clear_error(&error);

	g_assert_cmpint(g_chmod(file, 0640), ==, 0);
	g_assert_true(fs_nums(fx, SBX_MSG_FS_COPY, NULL, 0, file, copy, &error));
	g_assert_true(g_file_get_contents(copy, &contents, &n, NULL));
	g_assert_cmpstr(contents, ==, "hello");
	g_assert_cmpint(stat(copy, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 07777, ==, 0640);
	g_assert_false(fs_nums(fx, SBX_MSG_FS_COPY, NULL, 0, root, copy, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_IS_A_DIRECTORY);
	g_clear_error(&error);

	g_assert_true(fs_nums(fx, SBX_MSG_FS_TRUNCATE, len, 2, copy, NULL, &error));
	g_assert_cmpint(stat(copy, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 3);
	g_assert_true(fs_nums(fx, SBX_MSG_FS_TRUNCATE, big, 2, copy, NULL, &error));
	g_assert_cmpint(stat(copy, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, G_GINT64_CONSTANT(1) << 32);

	g_assert_true(fs_nums(fx, SBX_MSG_FS_CHOWN, owner, 2, sym, NULL, &error));
	g_assert_no_error(error);
	g_assert_false(fs_nums(fx, SBX_MSG_FS_CHOWN, owner, 2, missing, NULL, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_NOT_FOUND);
	g_clear_error(&error);

	g_assert_true(fs_nums(fx, SBX_MSG_FS_UTIME, times, 4, file, NULL, &error));
	g_assert_cmpint(stat(file, &st), ==, 0);
	g_assert_cmpint(st.st_atime, ==, 1000000000);
	g_assert_cmpint(st.st_mtime, ==, 1500000000);
	/* a relative path is refused before any syscall */
	g_assert_false(fs_nums(fx, SBX_MSG_FS_UTIME, times, 4, "rel", NULL, &error));
	g_assert_nonnull(error);
}

/* realpath and mkstemps/mkdtemp */
static void
test_paths(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *root = root_path(fx, NULL);
	g_autofree gchar *sub = root_path(fx, "d");
	g_autofree gchar *sym = root_path(fx, "s");
	g_autofree gchar *via = g_build_filename(root, "s", "..", "d", NULL);
	g_autofree gchar *real_root = realpath(root, NULL);
	g_autofree gchar *want = g_build_filename(real_root, "d", NULL);
	g_autofree gchar *got = NULL;
	g_autofree gchar *tmpl = g_build_filename(root, "preXXXXXX.txt", NULL);
	g_autofree gchar *dtmpl = g_build_filename(root, "dirXXXXXX", NULL);
	g_autofree gchar *bad = g_build_filename(root, "noXs.txt", NULL);
	g_autofree gchar *file = NULL;
	g_autofree gchar *dir = NULL;
	g_autoptr(GError) error = NULL;
	guint32 four = 4;
	guint32 zero = 0;
	struct stat st;

	g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
	g_assert_cmpint(symlink(sub, sym), ==, 0);
	got = fs_path(fx, SBX_MSG_FS_REALPATH, 0, NULL, 0, via, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(got, ==, want);
	g_clear_pointer(&got, g_free);
	got = fs_path(fx, SBX_MSG_FS_REALPATH, 0, NULL, 0, tmpl, &error);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_NOT_FOUND);
	g_clear_error(&error);

	file = fs_path(fx, SBX_MSG_FS_MKTEMP, 0, &four, 1, tmpl, &error);
	g_assert_no_error(error);
	g_assert_true(g_str_has_suffix(file, ".txt"));
	g_assert_cmpstr(file, !=, tmpl);
	g_assert_cmpint(stat(file, &st), ==, 0);
	g_assert_true(S_ISREG(st.st_mode));
	g_assert_cmpuint(st.st_mode & 0777, ==, 0600);
	dir = fs_path(fx, SBX_MSG_FS_MKTEMP, SBX_FS_MKTEMP_DIR, &zero, 1, dtmpl, &error);
	g_assert_no_error(error);
	g_assert_cmpint(stat(dir, &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	/* no XXXXXX before the suffix */
	g_assert_null(fs_path(fx, SBX_MSG_FS_MKTEMP, 0, &four, 1, bad, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
}

static void
test_errors(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *root = root_path(fx, NULL);
	g_autofree gchar *file = root_path(fx, "file");
	g_autofree gchar *under_file = root_path(fx, "file/child");
	g_autofree gchar *missing = root_path(fx, "missing");
	g_autofree gchar *dotdot = root_path(fx, "sub/../file");
	g_autofree gchar *sub = root_path(fx, "sub");
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) bytes = g_bytes_new_static("data", 4);
	g_autoptr(SbxFsStat) st = NULL;
	g_autoptr(GString) longp = g_string_new("/");
	GString *s;

	g_assert_true(fs_write(fx, file, 0, 0, bytes, &error));
	/* nonexistent */
	s = fs_read(fx, missing, NULL, &error);
	g_assert_null(s);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(error->message, missing));
	g_clear_error(&error);
	/* a directory is not a file */
	s = fs_read(fx, root, NULL, &error);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_IS_A_DIRECTORY);
	g_clear_error(&error);
	g_assert_false(fs_write(fx, root, 0, 0, bytes, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_IS_A_DIRECTORY);
	g_clear_error(&error);
	/* a file is not a directory */
	g_assert_false(fs_write(fx, under_file, 0, 0, bytes, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_NOT_A_DIRECTORY);
	g_clear_error(&error);
	g_assert_null(fs_readdir(fx, file, 10, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_NOT_A_DIRECTORY);
	g_clear_error(&error);
	/* ".." resolves in the guest: sub must exist for sub/.. to work */
	g_assert_null(fs_stat(fx, dotdot, FALSE, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
	st = fs_stat(fx, dotdot, FALSE, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(st->size, ==, 4);
	/* relative and too long: refused by the guest as well as the host */
	s = fs_read(fx, "relative/path", NULL, &error);
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_null(fs_stat(fx, "relative", FALSE, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	while (longp->len <= SBX_FS_MAX_PATH)
		g_string_append(longp, "aaaaaaa/");
	g_assert_false(fs_op(fx, SBX_MSG_FS_MKDIR, 0, 0755, longp->str, NULL, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	/* the connection survived all of it */
	g_assert_false(sbx_agent_client_is_closed(fx->client));
}

/* the file opens but reading it fails (the agent's own /proc/self/mem at
 * offset 0 gives EIO): the call fails, it does not end as an empty file */
static void
test_read_fails_midstream(Fixture *fx, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	GString *s = fs_read(fx, "/proc/self/mem", NULL, &error);

	g_assert_null(s);
	g_assert_nonnull(error);
	g_assert_nonnull(strstr(error->message, "/proc/self/mem"));
	g_assert_nonnull(strstr(error->message, g_strerror(EIO)));
	g_assert_false(sbx_agent_client_is_closed(fx->client));
}

static void
test_path_check(void)
{
	g_autoptr(GString) longp = g_string_new("/");
	g_autoptr(GError) error = NULL;
	g_assert_true(sbx_agent_fs_path_check("/", &error));
	g_assert_true(sbx_agent_fs_path_check("/a/../b", &error));
	g_assert_false(sbx_agent_fs_path_check("", &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_false(sbx_agent_fs_path_check("a/b", &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_false(sbx_agent_fs_path_check("/\xff", &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	while (longp->len < SBX_FS_MAX_PATH)
		g_string_append_c(longp, 'a');
	g_assert_true(sbx_agent_fs_path_check(longp->str, &error));
	g_string_append_c(longp, 'a');
	g_assert_false(sbx_agent_fs_path_check(longp->str, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
}

static void
test_errno_map(void)
{
	g_autoptr(GError) error = NULL;
	g_assert_cmpint(sbx_error_code_from_errno(ENOENT), ==, SBX_ERROR_NOT_FOUND);
	g_assert_cmpint(sbx_error_code_from_errno(EACCES), ==, SBX_ERROR_PERMISSION_DENIED);
	g_assert_cmpint(sbx_error_code_from_errno(EPERM), ==, SBX_ERROR_PERMISSION_DENIED);
	g_assert_cmpint(sbx_error_code_from_errno(ENOTDIR), ==, SBX_ERROR_NOT_A_DIRECTORY);
	g_assert_cmpint(sbx_error_code_from_errno(EISDIR), ==, SBX_ERROR_IS_A_DIRECTORY);
	g_assert_cmpint(sbx_error_code_from_errno(EEXIST), ==, SBX_ERROR_ALREADY_EXISTS);
	g_assert_cmpint(sbx_error_code_from_errno(ENOSPC), ==, SBX_ERROR_NO_SPACE);
	g_assert_cmpint(sbx_error_code_from_errno(ENOTEMPTY), ==, SBX_ERROR_NOT_EMPTY);
	g_assert_cmpint(sbx_error_code_from_errno(ENAMETOOLONG), ==, SBX_ERROR_INVALID_ARGUMENT);
	g_assert_cmpint(sbx_error_code_from_errno(EIO), ==, SBX_ERROR_FAILED);
	/* the D-Bus names callers match on */
	error = sbx_agent_fs_error_new(ENOSPC, "/data/x");
	g_assert_cmpstr(error->message, ==, "/data/x: No space left on device");
	{
		g_autofree gchar *name = g_dbus_error_encode_gerror(error);
		g_assert_cmpstr(name, ==, "org.sandboxd.Error.NoSpace");
	}
}

static void
test_parsers(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func(g_free);
	guint8 buf[128] = {0};
	gboolean more = FALSE;
	guint64 cookie = 0;
	gint err = 0;
	gchar *path = NULL;

	/* FS_ERROR: errno 0 and NUL bytes are refused */
	g_assert_false(sbx_agent_fs_parse_error(buf, 4, &err, &path, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL);
	g_clear_error(&error);
	sbx_proto_put_u32(buf, ENOENT);
	memcpy(buf + 4, "/a\0b", 4);
	g_assert_false(sbx_agent_fs_parse_error(buf, 8, &err, &path, &error));
	g_clear_error(&error);
	memcpy(buf + 4, "/a\xff", 3);
	g_assert_true(sbx_agent_fs_parse_error(buf, 7, &err, &path, &error));
	g_assert_cmpint(err, ==, ENOENT);
	g_assert_true(g_utf8_validate(path, -1, NULL));
	g_free(path);
	/* FS_STAT_REPLY: short, bad type, target on a non-link */
	memset(buf, 0, sizeof(buf));
	g_assert_null(sbx_agent_fs_parse_stat(buf, SBX_FS_STAT_FIXED - 1, &error));
	g_clear_error(&error);
	sbx_proto_put_u32(buf, 9);
	g_assert_null(sbx_agent_fs_parse_stat(buf, SBX_FS_STAT_FIXED, &error));
	g_clear_error(&error);
	sbx_proto_put_u32(buf, SBX_FS_TYPE_FILE);
	g_assert_null(sbx_agent_fs_parse_stat(buf, SBX_FS_STAT_FIXED + 2, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL);
	g_clear_error(&error);
	/* FS_DIRENTS: a count beyond the payload, a name with '/', "more" with nothing */
	memset(buf, 0, sizeof(buf));
	sbx_proto_put_u32(buf + 12, 1000);
	g_assert_false(sbx_agent_fs_parse_dirents(buf, 16, &more, &cookie, entries, &error));
	g_clear_error(&error);
	sbx_proto_put_u32(buf + 12, 1);
	sbx_proto_put_u32(buf + 16 + 24, 3);
	memcpy(buf + 16 + SBX_FS_DIRENT_FIXED, "a/b", 3);
	g_assert_false(sbx_agent_fs_parse_dirents(buf, 16 + SBX_FS_DIRENT_FIXED + 3, &more, &cookie,
						  entries, &error));
	g_clear_error(&error);
	sbx_proto_put_u32(buf, SBX_FS_MORE);
	sbx_proto_put_u32(buf + 12, 0);
	g_assert_false(sbx_agent_fs_parse_dirents(buf, 16, &more, &cookie, entries, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL);
	g_assert_cmpuint(entries->len, ==, 0);
}

/* hand-made payloads the host API would never send: the agent refuses each on its
 * channel (ERROR MALFORMED, seen as SBX_ERROR_AGENT) and keeps serving */
static void
test_malformed(Fixture *fx, gconstpointer data)
{
	const struct {
		guint16 type;
		const gchar *bytes;
		gsize len;
	} cases[] = {
	    {SBX_MSG_FS_STAT, "\x80\0\0\0\x02\0\0\0/a", 10},	      /* unknown flag */
	    {SBX_MSG_FS_STAT, "\0\0", 2},			      /* truncated */
	    {SBX_MSG_FS_STAT, "\0\0\0\0\x09\0\0\0/a", 10},	      /* string past the end */
	    {SBX_MSG_FS_REMOVE, "\0\0\0\0\x02\0\0\0/ax", 11},	      /* trailing byte */
	    {SBX_MSG_FS_CHMOD, "\0\0\0\0\0\x10\0\0\x02\0\0\0/a", 14}, /* mode > 07777 */
	    {SBX_MSG_FS_RENAME, "\0\0\0\0\x02\0\0\0/a", 10},	      /* no second path */
	    /* the requests added for the SDK: truncated, unknown flags, a missing path */
	    {SBX_MSG_FS_SYMLINK, "\0\0\0\0\x02\0\0\0/a", 10},
	    {SBX_MSG_FS_LINK, "\0\0", 2},
	    {SBX_MSG_FS_COPY, "\x80\0\0\0\x02\0\0\0/a\x02\0\0\0/b", 16},
	    {SBX_MSG_FS_TRUNCATE, "\0\0\0\0\0\0", 6},
	    {SBX_MSG_FS_CHOWN, "\0\0\0\0\0\0\0\0", 8},
	    {SBX_MSG_FS_UTIME, "\0\0\0\0\0\0\0\0", 8},
	    {SBX_MSG_FS_REALPATH, "\0\0\0\0\x09\0\0\0/a", 10},
	    {SBX_MSG_FS_MKTEMP, "\0\0", 2},
	};
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxFsStat) st = NULL;
	g_autofree gchar *root = root_path(fx, NULL);

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GBytes) payload = g_bytes_new(cases[i].bytes, cases[i].len);
		g_autoptr(SbxAgentReply) reply = NULL;
		SbxTestWait w = {0};
		sbx_agent_client_fs_request_async(fx->client, cases[i].type, payload, NULL, "/a",
						  NULL, sbx_test_wait_cb, &w);
		sbx_test_wait_done(&w);
		reply = sbx_agent_client_fs_request_finish(fx->client, w.res, &error);
		g_object_unref(w.res);
		g_assert_null(reply);
		g_assert_error(error, SBX_ERROR, SBX_ERROR_AGENT);
		g_clear_error(&error);
	}
	/* a stream request with a bad mode */
	{
		g_autoptr(GBytes) payload = g_bytes_new("\x04\0\0\0\0\x10\0\0\x02\0\0\0/a", 14);
		SbxTestWait w = {0};
		sbx_agent_client_fs_stream_async(fx->client, SBX_MSG_FS_WRITE, payload, NULL, "/a",
						 -1, -1, NULL, sbx_test_wait_cb, &w);
		sbx_test_wait_done(&w);
		g_assert_false(sbx_agent_client_fs_stream_finish(fx->client, w.res, &error));
		g_object_unref(w.res);
		g_assert_error(error, SBX_ERROR, SBX_ERROR_AGENT);
		g_clear_error(&error);
	}
	g_assert_false(sbx_agent_client_is_closed(fx->client));
	st = fs_stat(fx, root, FALSE, &error);
	g_assert_no_error(error);
	g_assert_cmpint(st->type, ==, SBX_FS_TYPE_DIRECTORY);
}

static gboolean
cancel_later_cb(gpointer data)
{
	g_cancellable_cancel(data);
	return G_SOURCE_REMOVE;
}

/* a cancelled write leaves neither the file nor its temp file behind */
static void
test_cancel_write(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = root_path(fx, "cancelled");
	g_autofree gchar *root = root_path(fx, NULL);
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) entries = NULL;
	guint8 chunk[4096] = {0};
	SbxTestWait w = {0};
	gint64 deadline;
	gint p[2];

	g_assert_true(g_unix_open_pipe(p, FD_CLOEXEC, NULL));
	/* some bytes, and the write end stays open: the transfer never ends by itself */
	g_assert_cmpint(write(p[1], chunk, sizeof(chunk)), ==, sizeof(chunk));
	sbx_agent_fs_write_async(fx->client, NULL, path, 0, 0, p[0], cancellable, sbx_test_wait_cb,
				 &w);
	close(p[0]);
	/* let the guest start and take the first bytes */
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_usleep(100000);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_timeout_add(50, cancel_later_cb, cancellable);
	sbx_test_wait_done(&w);
	g_assert_false(sbx_agent_fs_write_finish(fx->client, w.res, &error));
	g_object_unref(w.res);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	g_clear_error(&error);
	close(p[1]);
	/* the guest reports the abort (EXIT) before it forgets the channel; wait for a
	 * request after it to be answered, then look (bounded) */
	deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	for (;;) {
		g_clear_pointer(&entries, g_ptr_array_unref);
		entries = fs_readdir(fx, root, 100, &error);
		g_assert_no_error(error);
		if (entries->len == 0 || g_get_monotonic_time() > deadline)
			break;
		g_usleep(20000);
	}
	g_assert_cmpuint(entries->len, ==, 0);
	g_assert_false(sbx_agent_client_is_closed(fx->client));
}

/* SBX_FS_AS_USER: uid 1000 (no passwd entry needed: gid 1000, no groups) */
static void
test_as_user(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *root = root_path(fx, NULL);
	g_autofree gchar *mine = root_path(fx, "mine.txt");
	g_autofree gchar *dir = root_path(fx, "mydir");
	g_autofree gchar *closed = root_path(fx, "closed");
	g_autofree gchar *forbidden = root_path(fx, "closed/x");
	g_autofree gchar *nobody = root_path(fx, "nobody");
	g_autoptr(GBytes) bytes = g_bytes_new_static("hello\n", 6);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxFsStat) st = NULL;
	g_autoptr(SbxFsStat) st2 = NULL;
	g_autoptr(SbxFsStat) st3 = NULL;

	/* the user may enter the test tree and write into its root only */
	g_assert_cmpint(chmod(fx->dir, 0711), ==, 0);
	g_assert_cmpint(chmod(root, 0777), ==, 0);
	g_assert_cmpint(g_mkdir(closed, 0700), ==, 0);

	g_assert_true(fs_write_as(fx, "1000", mine, 0, 0, bytes, &error));
	g_assert_no_error(error);
	st = fs_stat(fx, mine, FALSE, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(st->uid, ==, 1000);
	g_assert_cmpuint(st->gid, ==, 1000);
	/* a replace renames as the user too, and keeps the user's file */
	g_assert_true(fs_write_as(fx, "1000", mine, 0, 0, bytes, &error));
	g_assert_no_error(error);
	g_assert_true(fs_op_as(fx, "1000", SBX_MSG_FS_MKDIR, 0, 0755, dir, NULL, &error));
	g_assert_no_error(error);
	st2 = fs_stat(fx, dir, FALSE, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(st2->uid, ==, 1000);

	/* a root-only directory refuses the user */
	g_assert_false(fs_write_as(fx, "1000", forbidden, 0, 0, bytes, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PERMISSION_DENIED);
	g_clear_error(&error);
	g_assert_false(g_file_test(forbidden, G_FILE_TEST_EXISTS));

	/* the identity is restored: the next request without a user is root's,
	 * and the user cannot remove what root wrote there */
	g_assert_true(fs_write(fx, forbidden, 0, 0, bytes, &error));
	g_assert_no_error(error);
	st3 = fs_stat(fx, forbidden, FALSE, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(st3->uid, ==, 0);
	g_assert_false(fs_op_as(fx, "1000", SBX_MSG_FS_REMOVE, 0, 0, forbidden, NULL, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_PERMISSION_DENIED);
	g_clear_error(&error);

	/* an unknown user name is refused, not run as root */
	g_assert_false(
	    fs_op_as(fx, "no-such-user-sbx", SBX_MSG_FS_MKDIR, 0, 0755, nobody, NULL, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_false(fs_op_as(fx, "bad:name", SBX_MSG_FS_MKDIR, 0, 0755, dir, NULL, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/agent-fs/path-check", test_path_check);
	g_test_add_func("/agent-fs/errno-map", test_errno_map);
	g_test_add_func("/agent-fs/parsers", test_parsers);
#define ADD(path, func) g_test_add("/agent-fs/" path, Fixture, NULL, fs_setup, func, fs_teardown)
	ADD("links", test_links);
	ADD("paths", test_paths);
	ADD("roundtrip", test_roundtrip);
	ADD("replace-append", test_replace_append);
	ADD("stat-readdir", test_stat_readdir);
	ADD("ops", test_ops);
	ADD("errors", test_errors);
	ADD("read-fails-midstream", test_read_fails_midstream);
	ADD("malformed", test_malformed);
	ADD("cancel-write", test_cancel_write);
	ADD("as-user", test_as_user);
	return g_test_run();
}
