/* open files, umask, walk and glob (agent requests 88-100) against the
 * real agent in `--listen` mode; guest paths are host paths in a temp dir.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "sbx-agent-client.h"
#include "sbx-agent-fs.h"
#include "sbx-error.h"
#include "sbx-test-agent.h"

typedef SbxTestAgent Fixture;

static gchar *
root_path(Fixture *fx, const gchar *rel)
{
	return g_build_filename(fx->dir, "t", rel, NULL);
}

static void
file_setup(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *root = NULL;
	sbx_test_agent_start(fx);
	root = root_path(fx, NULL);
	g_assert_cmpint(g_mkdir(root, 0755), ==, 0);
}

static void
file_teardown(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *root = root_path(fx, NULL);
	const gchar *argv[] = {"rm", "-rf", root, NULL};
	gint status = 0;
	g_assert_true(g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
				   NULL, NULL, &status, NULL));
	sbx_test_agent_stop(fx);
}

/* u32s then optional bytes */
static GBytes *
payload(const guint32 *v, guint n, const gchar *tail, gsize tail_len)
{
	GByteArray *b = g_byte_array_new();
	for (guint i = 0; i < n; i++) {
		guint8 p[4];
		sbx_proto_put_u32(p, v[i]);
		g_byte_array_append(b, p, 4);
	}
	if (tail_len > 0)
		g_byte_array_append(b, (const guint8 *)tail, (guint)tail_len);
	return g_byte_array_free_to_bytes(b);
}

static SbxAgentReply *
request(Fixture *fx, guint16 type, GBytes *p, GError **error)
{
	SbxTestWait w = {0};
	SbxAgentReply *reply;
	sbx_agent_client_fs_request_async(fx->client, type, p, NULL, "/t", NULL, sbx_test_wait_cb,
					  &w);
	sbx_test_wait_done(&w);
	reply = sbx_agent_client_fs_request_finish(fx->client, w.res, error);
	g_object_unref(w.res);
	return reply;
}

/* a request that must be answered FS_ERROR @err */
static void
expect_errno(Fixture *fx, guint16 type, const guint32 *v, guint n, gint err)
{
	g_autoptr(GBytes) p = payload(v, n, NULL, 0);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxAgentReply) reply = request(fx, type, p, &error);
	gint got = 0;
	g_autofree gchar *path = NULL;
	gsize len = 0;
	const guint8 *d;

	g_assert_no_error(error);
	g_assert_cmpuint(reply->type, ==, SBX_MSG_FS_ERROR);
	d = g_bytes_get_data(reply->payload, &len);
	g_assert_true(sbx_agent_fs_parse_error(d, len, &got, &path, &error));
	g_assert_cmpint(got, ==, err);
}

static guint64
expect_value(Fixture *fx, guint16 type, GBytes *p)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxAgentReply) reply = request(fx, type, p, &error);
	const guint8 *d;
	g_assert_no_error(error);
	g_assert_cmpuint(reply->type, ==, SBX_MSG_FS_VALUE_REPLY);
	g_assert_cmpuint(g_bytes_get_size(reply->payload), ==, 8);
	d = g_bytes_get_data(reply->payload, NULL);
	return (guint64)sbx_proto_get_u32(d) | ((guint64)sbx_proto_get_u32(d + 4) << 32);
}

static void
expect_ok(Fixture *fx, guint16 type, const guint32 *v, guint n)
{
	g_autoptr(GBytes) p = payload(v, n, NULL, 0);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxAgentReply) reply = request(fx, type, p, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(reply->type, ==, SBX_MSG_FS_OK);
}

static guint32
open_file(Fixture *fx, const gchar *path, guint32 flags, guint32 mode)
{
	g_autoptr(GBytes) p = sbx_agent_fs_encode_request(flags, &mode, 1, path, NULL);
	return (guint32)expect_value(fx, SBX_MSG_FS_FILE_OPEN, p);
}

static GBytes *
read_file(Fixture *fx, guint32 handle, guint32 length)
{
	guint32 v[2] = {handle, length};
	g_autoptr(GBytes) p = payload(v, 2, NULL, 0);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxAgentReply) reply = request(fx, SBX_MSG_FS_FILE_READ, p, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(reply->type, ==, SBX_MSG_FS_DATA_REPLY);
	return g_bytes_ref(reply->payload);
}

static void
test_handles(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = root_path(fx, "f.txt");
	g_autoptr(GBytes) w = NULL;
	g_autoptr(GBytes) r1 = NULL;
	g_autoptr(GBytes) r2 = NULL;
	g_autoptr(GBytes) r3 = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxAgentReply) st = NULL;
	g_autoptr(SbxFsStat) info = NULL;
	guint32 h, v[7];
	struct stat sb;
	const guint8 *d;
	gsize len = 0;

	h = open_file(fx, path,
		      SBX_FS_OPEN_READ | SBX_FS_OPEN_WRITE | SBX_FS_OPEN_CREATE |
			  SBX_FS_OPEN_CREATE_NEW,
		      0640);
	g_assert_cmpuint(h, !=, 0);
	v[0] = h;
	w = payload(v, 1, "hello world", 11);
	g_assert_cmpuint(expect_value(fx, SBX_MSG_FS_FILE_WRITE, w), ==, 11);
	{
		guint32 s[4] = {h, 0, 6, 0};
		g_autoptr(GBytes) p = payload(s, 4, NULL, 0);
		g_assert_cmpuint(expect_value(fx, SBX_MSG_FS_FILE_SEEK, p), ==, 6);
	}
	r1 = read_file(fx, h, 3);
	g_assert_cmpmem(g_bytes_get_data(r1, NULL), g_bytes_get_size(r1), "wor", 3);
	r2 = read_file(fx, h, 65536);
	g_assert_cmpmem(g_bytes_get_data(r2, NULL), g_bytes_get_size(r2), "ld", 2);
	r3 = read_file(fx, h, 100);
	g_assert_cmpuint(g_bytes_get_size(r3), ==, 0); /* EOF */
	{
		/* seek from the end, negative offset */
		guint64 off = (guint64)-4;
		guint32 s[4] = {h, 2, (guint32)off, (guint32)(off >> 32)};
		g_autoptr(GBytes) p = payload(s, 4, NULL, 0);
		g_assert_cmpuint(expect_value(fx, SBX_MSG_FS_FILE_SEEK, p), ==, 7);
	}
	v[1] = 5;
	v[2] = 0;
	expect_ok(fx, SBX_MSG_FS_FILE_TRUNCATE, v, 3);
	v[1] = SBX_FS_SYNC_DATA;
	expect_ok(fx, SBX_MSG_FS_FILE_SYNC, v, 2);
	v[1] = 1000000000u;
	v[2] = 0;
	v[3] = 5;
	v[4] = 1500000000u;
	v[5] = 0;
	v[6] = 250000000u;
	expect_ok(fx, SBX_MSG_FS_FILE_UTIME, v, 7);
	{
		g_autoptr(GBytes) p = payload(&h, 1, NULL, 0);
		st = request(fx, SBX_MSG_FS_FILE_STAT, p, &error);
	}
	g_assert_no_error(error);
	g_assert_cmpuint(st->type, ==, SBX_MSG_FS_STAT_REPLY);
	d = g_bytes_get_data(st->payload, &len);
	info = sbx_agent_fs_parse_stat(d, len, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(info->size, ==, 5);
	g_assert_cmpint(info->type, ==, SBX_FS_TYPE_FILE);
	g_assert_cmpint(info->mtime, ==, 1500000000);
	g_assert_cmpuint(info->mtime_nsec, ==, 250000000u);
	expect_ok(fx, SBX_MSG_FS_FILE_CLOSE, &h, 1);
	g_assert_cmpint(g_stat(path, &sb), ==, 0);
	g_assert_cmpint(sb.st_size, ==, 5);
	g_assert_cmpint(sb.st_atime, ==, 1000000000);
	/* a closed handle, one never given out, a request on it of each kind */
	expect_errno(fx, SBX_MSG_FS_FILE_CLOSE, &h, 1, ESTALE);
	v[0] = h;
	v[1] = 10;
	expect_errno(fx, SBX_MSG_FS_FILE_READ, v, 2, ESTALE);
	v[0] = 4242;
	expect_errno(fx, SBX_MSG_FS_FILE_STAT, v, 1, ESTALE);
	/* create_new on an existing file, open of a missing one, nothing to do */
	{
		guint32 mode = 0644;
		g_autoptr(GBytes) p = sbx_agent_fs_encode_request(
		    SBX_FS_OPEN_WRITE | SBX_FS_OPEN_CREATE_NEW, &mode, 1, path, NULL);
		g_autoptr(SbxAgentReply) reply = request(fx, SBX_MSG_FS_FILE_OPEN, p, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(reply->type, ==, SBX_MSG_FS_ERROR);
	}
	{
		g_autofree gchar *missing = root_path(fx, "none");
		guint32 mode = 0;
		g_autoptr(GBytes) p =
		    sbx_agent_fs_encode_request(SBX_FS_OPEN_READ, &mode, 1, missing, NULL);
		g_autoptr(SbxAgentReply) reply = request(fx, SBX_MSG_FS_FILE_OPEN, p, &error);
		gint err = 0;
		g_autofree gchar *failed = NULL;
		g_assert_no_error(error);
		g_assert_cmpuint(reply->type, ==, SBX_MSG_FS_ERROR);
		d = g_bytes_get_data(reply->payload, &len);
		g_assert_true(sbx_agent_fs_parse_error(d, len, &err, &failed, &error));
		g_assert_cmpint(err, ==, ENOENT);
		g_assert_cmpstr(failed, ==, missing);
	}
}

/* OFD locks: a second handle is refused at once (EAGAIN), never blocked */
static void
test_lock(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = root_path(fx, "lock");
	guint32 a, b, v[2];

	g_assert_true(g_file_set_contents(path, "x", 1, NULL));
	a = open_file(fx, path, SBX_FS_OPEN_READ | SBX_FS_OPEN_WRITE, 0);
	b = open_file(fx, path, SBX_FS_OPEN_READ | SBX_FS_OPEN_WRITE, 0);
	v[0] = a;
	v[1] = SBX_FS_LOCK_EXCLUSIVE;
	expect_ok(fx, SBX_MSG_FS_FILE_LOCK, v, 2);
	v[0] = b;
	expect_errno(fx, SBX_MSG_FS_FILE_LOCK, v, 2, EAGAIN);
	v[1] = SBX_FS_LOCK_SHARED;
	expect_errno(fx, SBX_MSG_FS_FILE_LOCK, v, 2, EAGAIN);
	v[0] = a;
	v[1] = SBX_FS_LOCK_UNLOCK;
	expect_ok(fx, SBX_MSG_FS_FILE_LOCK, v, 2);
	v[0] = b;
	v[1] = SBX_FS_LOCK_EXCLUSIVE;
	expect_ok(fx, SBX_MSG_FS_FILE_LOCK, v, 2);
	/* closing the holder's handle releases its lock */
	expect_ok(fx, SBX_MSG_FS_FILE_CLOSE, &b, 1);
	v[0] = a;
	expect_ok(fx, SBX_MSG_FS_FILE_LOCK, v, 2);
	v[1] = 7;
	expect_errno(fx, SBX_MSG_FS_FILE_LOCK, v, 2, EINVAL);
	expect_ok(fx, SBX_MSG_FS_FILE_CLOSE, &a, 1);
}

/* the table is bounded: file 257 is refused, closing one makes room */
static void
test_limit(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = root_path(fx, "many");
	guint32 handles[SBX_FS_MAX_FILES];
	guint32 mode = 0;
	g_autoptr(GBytes) p = NULL;

	g_assert_true(g_file_set_contents(path, "", 0, NULL));
	for (guint i = 0; i < SBX_FS_MAX_FILES; i++)
		handles[i] = open_file(fx, path, SBX_FS_OPEN_READ, 0);
	p = sbx_agent_fs_encode_request(SBX_FS_OPEN_READ, &mode, 1, path, NULL);
	{
		g_autoptr(GError) error = NULL;
		g_autoptr(SbxAgentReply) reply = request(fx, SBX_MSG_FS_FILE_OPEN, p, &error);
		g_assert_no_error(error);
		g_assert_cmpuint(reply->type, ==, SBX_MSG_FS_ERROR);
	}
	expect_ok(fx, SBX_MSG_FS_FILE_CLOSE, &handles[0], 1);
	handles[0] = open_file(fx, path, SBX_FS_OPEN_READ, 0);
	for (guint i = 0; i < SBX_FS_MAX_FILES; i++)
		expect_ok(fx, SBX_MSG_FS_FILE_CLOSE, &handles[i], 1);
}

static void
test_umask(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *path = root_path(fx, "masked");
	guint32 get[2] = {0, 0}, set[2] = {SBX_FS_UMASK_SET, 077};
	g_autoptr(GBytes) pg = payload(get, 2, NULL, 0);
	g_autoptr(GBytes) ps = payload(set, 2, NULL, 0);
	guint64 before = expect_value(fx, SBX_MSG_FS_UMASK, pg);
	struct stat sb;
	guint32 h;

	g_assert_cmpuint(expect_value(fx, SBX_MSG_FS_UMASK, ps), ==, before);
	g_assert_cmpuint(expect_value(fx, SBX_MSG_FS_UMASK, pg), ==, 077);
	h = open_file(fx, path, SBX_FS_OPEN_WRITE | SBX_FS_OPEN_CREATE, 0666);
	expect_ok(fx, SBX_MSG_FS_FILE_CLOSE, &h, 1);
	g_assert_cmpint(g_stat(path, &sb), ==, 0);
	g_assert_cmpint(sb.st_mode & 0777, ==, 0600);
	set[1] = (guint32)before;
	{
		g_autoptr(GBytes) pr = payload(set, 2, NULL, 0);
		g_assert_cmpuint(expect_value(fx, SBX_MSG_FS_UMASK, pr), ==, 077);
	}
}

static void
put_string(GByteArray *b, const gchar *s)
{
	guint8 p[4];
	sbx_proto_put_u32(p, (guint32)strlen(s));
	g_byte_array_append(b, p, 4);
	g_byte_array_append(b, (const guint8 *)s, (guint)strlen(s));
}

static void
put_u32(GByteArray *b, guint32 v)
{
	guint8 p[4];
	sbx_proto_put_u32(p, v);
	g_byte_array_append(b, p, 4);
}

/* runs a WALK or GLOB; the entries as "type:path" lines, or NULL and @error */
static gchar *
run_walk(Fixture *fx, guint16 type, GByteArray *b, GError **error)
{
	g_autoptr(GBytes) p = g_byte_array_free_to_bytes(b);
	g_autoptr(GString) out = g_string_new(NULL);
	SbxTestDrain d = {0};
	SbxTestWait w = {0};
	gint fd = sbx_test_drain_start(&d, TRUE);
	gboolean ok;
	gsize pos = 0;

	sbx_agent_client_fs_stream_async(fx->client, type, p, NULL, "/walk", -1, fd, NULL,
					 sbx_test_wait_cb, &w);
	close(fd);
	sbx_test_wait_done(&w);
	ok = sbx_agent_client_fs_stream_finish(fx->client, w.res, error);
	g_object_unref(w.res);
	sbx_test_drain_finish(&d);
	while (ok && d.text->len - pos >= 8) {
		guint32 t = sbx_proto_get_u32((const guint8 *)d.text->str + pos);
		guint32 n = sbx_proto_get_u32((const guint8 *)d.text->str + pos + 4);
		g_assert_cmpuint(d.text->len - pos - 8, >=, n);
		g_string_append_printf(out, "%u:%.*s\n", t, (int)n, d.text->str + pos + 8);
		pos += 8 + n;
	}
	if (ok)
		g_assert_cmpuint(pos, ==, d.text->len);
	sbx_test_drain_clear(&d);
	return ok ? g_strdup(out->str) : NULL;
}

static guint
count_lines(const gchar *s)
{
	guint n = 0;
	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static GByteArray *
walk_payload(guint32 flags, guint32 max_depth, guint32 max_entries, const gchar *root)
{
	GByteArray *b = g_byte_array_new();
	put_u32(b, flags);
	put_u32(b, SBX_PROTO_DEFAULT_WINDOW);
	put_u32(b, max_depth);
	put_u32(b, max_entries);
	put_string(b, root);
	return b;
}

static void
test_walk(Fixture *fx, gconstpointer data)
{
	g_autofree gchar *root = root_path(fx, "w");
	g_autofree gchar *sub = root_path(fx, "w/sub");
	g_autofree gchar *a = root_path(fx, "w/a.txt");
	g_autofree gchar *b = root_path(fx, "w/sub/b.TXT");
	g_autofree gchar *up = root_path(fx, "w/sub/up");
	g_autofree gchar *glob = root_path(fx, "w/**/*.txt");
	g_autofree gchar *excl = root_path(fx, "w/sub");
	g_autoptr(GError) error = NULL;
	g_autofree gchar *all = NULL;
	g_autofree gchar *files = NULL;
	g_autofree gchar *matched = NULL;
	g_autofree gchar *globbed = NULL;
	g_autofree gchar *icase = NULL;
	g_autofree gchar *excluded = NULL;
	g_autofree gchar *followed = NULL;
	g_autofree gchar *want = NULL;
	const guint32 every = SBX_FS_WALK_FILES | SBX_FS_WALK_DIRS | SBX_FS_WALK_SYMLINKS;
	GByteArray *p;

	g_assert_cmpint(g_mkdir_with_parents(sub, 0755), ==, 0);
	g_assert_true(g_file_set_contents(a, "a", 1, NULL));
	g_assert_true(g_file_set_contents(b, "b", 1, NULL));
	g_assert_cmpint(symlink("..", up), ==, 0);

	/* everything, the root first; the loop link reported, not entered */
	p = walk_payload(every | SBX_FS_WALK_CANONICALIZE, 256, 1000, root);
	put_u32(p, 0);
	put_u32(p, 0);
	put_u32(p, 0);
	all = run_walk(fx, SBX_MSG_FS_WALK, p, &error);
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(all, "2:"));
	g_assert_nonnull(strstr(all, "1:")); /* files */
	g_assert_nonnull(strstr(all, "/w/sub/up\n"));
	g_assert_cmpuint(count_lines(all), ==, 5);
	/* files only, with a match (case-insensitive) */
	p = walk_payload(SBX_FS_WALK_FILES, 256, 1000, root);
	put_u32(p, 1);
	put_u32(p, SBX_FS_PATTERN_ICASE);
	put_string(p, "\\.txt$");
	put_u32(p, 0);
	put_u32(p, 0);
	matched = run_walk(fx, SBX_MSG_FS_WALK, p, &error);
	g_assert_no_error(error);
	g_assert_cmpuint(count_lines(matched), ==, 2);
	/* followed: ".." leads back into the tree, and the loop is cut */
	p = walk_payload(every | SBX_FS_WALK_FOLLOW | SBX_FS_WALK_CANONICALIZE, 256, 1000, root);
	put_u32(p, 0);
	put_u32(p, 0);
	put_u32(p, 0);
	followed = run_walk(fx, SBX_MSG_FS_WALK, p, &error);
	g_assert_no_error(error);
	g_assert_null(strstr(followed, "3:"));
	/* the entry bound */
	p = walk_payload(every, 256, 2, root);
	put_u32(p, 0);
	put_u32(p, 0);
	put_u32(p, 0);
	files = run_walk(fx, SBX_MSG_FS_WALK, p, &error);
	g_assert_null(files);
	g_assert_nonnull(error);
	g_clear_error(&error);

	/* glob: sorted, only *.txt (case matters unless CASEFOLD), exclude */
	p = walk_payload(every | SBX_FS_WALK_GLOBSTAR, 256, 1000, glob);
	put_u32(p, 0);
	globbed = run_walk(fx, SBX_MSG_FS_GLOB, p, &error);
	g_assert_no_error(error);
	want = g_strdup_printf("1:%s\n", a);
	g_assert_cmpstr(globbed, ==, want);
	p = walk_payload(every | SBX_FS_WALK_GLOBSTAR | SBX_FS_WALK_CASEFOLD, 256, 1000, glob);
	put_u32(p, 0);
	icase = run_walk(fx, SBX_MSG_FS_GLOB, p, &error);
	g_assert_no_error(error);
	g_free(want);
	want = g_strdup_printf("1:%s\n1:%s\n", a, b);
	g_assert_cmpstr(icase, ==, want);
	/* {a,b} alternatives, nested, in one segment */
	{
		g_autofree gchar *braces = root_path(fx, "w/{sub,none}/*.{md,{TXT,x}}");
		g_autofree gchar *got = NULL;
		p = walk_payload(every | SBX_FS_WALK_GLOBSTAR, 256, 1000, braces);
		put_u32(p, 0);
		got = run_walk(fx, SBX_MSG_FS_GLOB, p, &error);
		g_assert_no_error(error);
		g_free(want);
		want = g_strdup_printf("1:%s\n", b);
		g_assert_cmpstr(got, ==, want);
	}
	p = walk_payload(every | SBX_FS_WALK_GLOBSTAR | SBX_FS_WALK_CASEFOLD, 256, 1000, glob);
	put_u32(p, 1);
	put_string(p, excl);
	excluded = run_walk(fx, SBX_MSG_FS_GLOB, p, &error);
	g_assert_no_error(error);
	g_free(want);
	want = g_strdup_printf("1:%s\n", a);
	g_assert_cmpstr(excluded, ==, want);
}

/* hand-made payloads: refused on their channel, the agent keeps serving */
static void
test_malformed(Fixture *fx, gconstpointer data)
{
	const struct {
		guint16 type;
		const gchar *bytes;
		gsize len;
	} cases[] = {
	    {SBX_MSG_FS_FILE_OPEN, "\x40\0\0\0\0\0\0\0\x02\0\0\0/a", 14},   /* unknown flag */
	    {SBX_MSG_FS_FILE_OPEN, "\x01\0\0\0\0\x10\0\0\x02\0\0\0/a", 14}, /* mode > 07777 */
	    {SBX_MSG_FS_FILE_OPEN, "\x01\0\0\0\0\0", 6},		    /* truncated */
	    {SBX_MSG_FS_FILE_READ, "\x01\0\0\0", 4},			    /* no length */
	    {SBX_MSG_FS_FILE_STAT, "\x01\0\0\0\0", 5},			    /* trailing byte */
	    {SBX_MSG_FS_FILE_SEEK, "\x01\0\0\0\0\0\0\0", 8},		    /* no offset */
	    {SBX_MSG_FS_FILE_CLOSE, "\x01\0", 2},			    /* short handle */
	    {SBX_MSG_FS_FILE_UTIME, "\x01\0\0\0\0\0\0\0", 8},		    /* truncated */
	    {SBX_MSG_FS_UMASK, "\x01\0\0\0\0\x02\0\0", 8},		    /* mask > 0777 */
	    {SBX_MSG_FS_UMASK, "\x02\0\0\0\0\0\0\0", 8},		    /* unknown flag */
	};
	g_autoptr(GError) error = NULL;
	g_autofree gchar *root = root_path(fx, NULL);

	for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GBytes) p = g_bytes_new(cases[i].bytes, cases[i].len);
		g_autoptr(SbxAgentReply) reply = request(fx, cases[i].type, p, &error);
		g_assert_null(reply);
		g_assert_error(error, SBX_ERROR, SBX_ERROR_AGENT);
		g_clear_error(&error);
	}
	/* walk and glob: unknown flags, no entries allowed, depth too large, a
	 * relative root, a count past the payload, a bad regex (EINVAL) */
	{
		GByteArray *bad[6];
		bad[0] = walk_payload(0x100, 1, 1, root);
		bad[1] = walk_payload(0, 1, 0, root);
		bad[2] = walk_payload(0, SBX_FS_WALK_MAX_DEPTH + 1, 1, root);
		bad[3] = walk_payload(0, 1, 1, "relative");
		bad[4] = walk_payload(0, 1, 1, root);
		put_u32(bad[4], 1000);
		bad[5] = walk_payload(0, 1, 1, root);
		put_u32(bad[5], 1);
		put_u32(bad[5], 0);
		put_string(bad[5], "(unclosed");
		put_u32(bad[5], 0);
		put_u32(bad[5], 0);
		for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
			g_autofree gchar *out = run_walk(fx, SBX_MSG_FS_WALK, bad[i], &error);
			g_assert_null(out);
			g_assert_nonnull(error);
			g_clear_error(&error);
		}
	}
	g_assert_false(sbx_agent_client_is_closed(fx->client));
	{
		guint32 get[2] = {0, 0};
		g_autoptr(GBytes) pg = payload(get, 2, NULL, 0);
		expect_value(fx, SBX_MSG_FS_UMASK, pg);
	}
	/* a read of 0 or of more than a frame is an error answer, not a violation */
	{
		g_autofree gchar *path = root_path(fx, "r");
		guint32 h, v[2];
		g_assert_true(g_file_set_contents(path, "r", 1, NULL));
		h = open_file(fx, path, SBX_FS_OPEN_READ, 0);
		v[0] = h;
		v[1] = 0;
		expect_errno(fx, SBX_MSG_FS_FILE_READ, v, 2, EINVAL);
		v[1] = SBX_PROTO_MAX_PAYLOAD + 1;
		expect_errno(fx, SBX_MSG_FS_FILE_READ, v, 2, EINVAL);
		expect_ok(fx, SBX_MSG_FS_FILE_CLOSE, &h, 1);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, func)                                                                            \
	g_test_add("/agent-file/" path, Fixture, NULL, file_setup, func, file_teardown)
	ADD("handles", test_handles);
	ADD("lock", test_lock);
	ADD("limit", test_limit);
	ADD("umask", test_umask);
	ADD("walk", test_walk);
	ADD("malformed", test_malformed);
	return g_test_run();
}
