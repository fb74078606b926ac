/* host side of the guest agent's filesystem requests.
 *
 * Everything the guest sends back is parsed strictly (exact lengths,
 * bounded names and counts); what people see is made valid UTF-8.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "sbx-agent-fs.h"
#include "sbx-error.h"

void
sbx_agent_fs_stat_free(SbxFsStat *st)
{
	if (st == NULL)
		return;
	g_free(st->link_target);
	g_free(st);
}

void
sbx_agent_fs_dirent_free(SbxFsDirent *e)
{
	if (e == NULL)
		return;
	g_free(e->name);
	g_free(e);
}

const gchar *
sbx_agent_fs_type_to_string(SbxFsType type)
{
	switch (type) {
	case SBX_FS_TYPE_FILE:
		return "file";
	case SBX_FS_TYPE_DIRECTORY:
		return "directory";
	case SBX_FS_TYPE_SYMLINK:
		return "symlink";
	case SBX_FS_TYPE_OTHER:
		return "other";
	default:
		return "unknown";
	}
}

gboolean
sbx_agent_fs_path_check(const gchar *path, GError **error)
{
	gsize len;
	if (path == NULL || path[0] == '\0') {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "the guest path is empty");
		return FALSE;
	}
	len = strlen(path);
	if (len > SBX_FS_MAX_PATH) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "the guest path is %" G_GSIZE_FORMAT " bytes long (at most %u)", len,
			    SBX_FS_MAX_PATH);
		return FALSE;
	}
	if (!g_utf8_validate(path, (gssize)len, NULL)) {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "the guest path is not valid UTF-8");
		return FALSE;
	}
	if (path[0] != '/') {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "%s: the guest path must be absolute", path);
		return FALSE;
	}
	return TRUE;
}

GError *
sbx_agent_fs_error_new(gint err, const gchar *path)
{
	return g_error_new(SBX_ERROR, sbx_error_code_from_errno(err), "%s: %s", path,
			   g_strerror(err));
}

/* encoding */

static void
put_u32(GByteArray *buf, guint32 v)
{
	guint8 tmp[4];
	sbx_proto_put_u32(tmp, v);
	g_byte_array_append(buf, tmp, 4);
}

static void
put_string(GByteArray *buf, const gchar *s)
{
	gsize len = strlen(s);
	put_u32(buf, (guint32)len);
	g_byte_array_append(buf, (const guint8 *)s, (guint)len);
}

GBytes *
sbx_agent_fs_encode_request(guint32 flags, const guint32 *extra, guint n_extra, const gchar *path,
			    const gchar *path2)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	put_u32(buf, flags);
	for (guint i = 0; i < n_extra; i++)
		put_u32(buf, extra[i]);
	put_string(buf, path);
	if (path2 != NULL)
		put_string(buf, path2);
	return g_byte_array_free_to_bytes(g_steal_pointer(&buf));
}

/* parsing */

static gboolean
fs_bad(GError **error, const gchar *what, const gchar *why)
{
	g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL, "malformed %s from the agent: %s", what,
		    why);
	return FALSE;
}

static gint64
get_i64(const guint8 *p)
{
	return (gint64)((guint64)sbx_proto_get_u32(p) | ((guint64)sbx_proto_get_u32(p + 4) << 32));
}

static guint64
get_u64(const guint8 *p)
{
	return (guint64)sbx_proto_get_u32(p) | ((guint64)sbx_proto_get_u32(p + 4) << 32);
}

/* raw guest bytes (no NUL) as text people can read */
static gchar *
fs_text(const guint8 *p, gsize len)
{
	return g_utf8_make_valid((const gchar *)p, (gssize)len);
}

gboolean
sbx_agent_fs_parse_error(const guint8 *p, gsize len, gint *err, gchar **path, GError **error)
{
	guint32 e;
	if (len < 4 || len > 4 + SBX_FS_MAX_PATH)
		return fs_bad(error, "FS_ERROR", "bad length");
	e = sbx_proto_get_u32(p);
	if (e == 0 || e > 4095)
		return fs_bad(error, "FS_ERROR", "bad errno");
	if (memchr(p + 4, '\0', len - 4) != NULL)
		return fs_bad(error, "FS_ERROR", "NUL in the path");
	*err = (gint)e;
	*path = len > 4 ? fs_text(p + 4, len - 4) : NULL;
	return TRUE;
}

SbxFsStat *
sbx_agent_fs_parse_stat(const guint8 *p, gsize len, GError **error)
{
	g_autoptr(SbxFsStat) st = g_new0(SbxFsStat, 1);
	if (len < SBX_FS_STAT_FIXED || len > SBX_FS_STAT_FIXED + SBX_FS_MAX_PATH) {
		fs_bad(error, "FS_STAT_REPLY", "bad length");
		return NULL;
	}
	st->type = sbx_proto_get_u32(p);
	st->mode = sbx_proto_get_u32(p + 4);
	st->uid = sbx_proto_get_u32(p + 8);
	st->gid = sbx_proto_get_u32(p + 12);
	st->nlink = sbx_proto_get_u32(p + 16);
	st->size = get_u64(p + 20);
	st->mtime = get_i64(p + 28);
	st->mtime_nsec = sbx_proto_get_u32(p + 36);
	st->atime = get_i64(p + 40);
	st->atime_nsec = sbx_proto_get_u32(p + 48);
	st->ctime = get_i64(p + 52);
	st->ctime_nsec = sbx_proto_get_u32(p + 60);
	if (st->type > SBX_FS_TYPE_OTHER || st->mode > 07777 || st->mtime_nsec >= 1000000000u ||
	    st->atime_nsec >= 1000000000u || st->ctime_nsec >= 1000000000u ||
	    st->size > G_MAXINT64) {
		fs_bad(error, "FS_STAT_REPLY", "field out of range");
		return NULL;
	}
	if (len > SBX_FS_STAT_FIXED) {
		const guint8 *t = p + SBX_FS_STAT_FIXED;
		gsize tlen = len - SBX_FS_STAT_FIXED;
		if (st->type != SBX_FS_TYPE_SYMLINK || memchr(t, '\0', tlen) != NULL) {
			fs_bad(error, "FS_STAT_REPLY", "unexpected link target");
			return NULL;
		}
		st->link_target = fs_text(t, tlen);
	}
	return g_steal_pointer(&st);
}

gboolean
sbx_agent_fs_parse_dirents(const guint8 *p, gsize len, gboolean *more, guint64 *cookie,
			   GPtrArray *entries, GError **error)
{
	guint32 flags, count;
	gsize pos = 16;
	if (len < 16 || len > SBX_PROTO_MAX_PAYLOAD)
		return fs_bad(error, "FS_DIRENTS", "bad length");
	flags = sbx_proto_get_u32(p);
	*cookie = get_u64(p + 4);
	count = sbx_proto_get_u32(p + 12);
	if ((flags & ~(guint32)SBX_FS_MORE) != 0)
		return fs_bad(error, "FS_DIRENTS", "unknown flags");
	*more = (flags & SBX_FS_MORE) != 0;
	if (*more && count == 0)
		return fs_bad(error, "FS_DIRENTS", "an empty page with more to come");
	if (count > (len - 16) / (SBX_FS_DIRENT_FIXED + 1))
		return fs_bad(error, "FS_DIRENTS", "count larger than the payload");
	for (guint32 i = 0; i < count; i++) {
		SbxFsDirent *e;
		guint32 nlen, type, mode;
		if (len - pos < SBX_FS_DIRENT_FIXED)
			return fs_bad(error, "FS_DIRENTS", "truncated entry");
		type = sbx_proto_get_u32(p + pos);
		mode = sbx_proto_get_u32(p + pos + 4);
		nlen = sbx_proto_get_u32(p + pos + 24);
		if (type > SBX_FS_TYPE_OTHER || mode > 07777)
			return fs_bad(error, "FS_DIRENTS", "field out of range");
		if (nlen == 0 || nlen > SBX_FS_MAX_NAME || len - pos - SBX_FS_DIRENT_FIXED < nlen)
			return fs_bad(error, "FS_DIRENTS", "bad name length");
		if (memchr(p + pos + SBX_FS_DIRENT_FIXED, '\0', nlen) != NULL ||
		    memchr(p + pos + SBX_FS_DIRENT_FIXED, '/', nlen) != NULL)
			return fs_bad(error, "FS_DIRENTS", "bad name");
		e = g_new0(SbxFsDirent, 1);
		e->type = type;
		e->mode = mode;
		e->size = get_u64(p + pos + 8);
		e->mtime = get_i64(p + pos + 16);
		e->name = fs_text(p + pos + SBX_FS_DIRENT_FIXED, nlen);
		g_ptr_array_add(entries, e);
		pos += SBX_FS_DIRENT_FIXED + nlen;
	}
	if (pos != len)
		return fs_bad(error, "FS_DIRENTS", "trailing bytes");
	return TRUE;
}

/* an FS_ERROR reply as the named error; FALSE for any other type */
static gboolean
fs_reply_is_error(SbxAgentReply *reply, const gchar *path, GError **error)
{
	gint err = 0;
	g_autofree gchar *failed = NULL;
	gsize len = 0;
	const guint8 *p = g_bytes_get_data(reply->payload, &len);
	if (reply->type != SBX_MSG_FS_ERROR)
		return FALSE;
	if (!sbx_agent_fs_parse_error(p, len, &err, &failed, error))
		return TRUE;
	g_propagate_error(error, sbx_agent_fs_error_new(err, failed != NULL ? failed : path));
	return TRUE;
}

static gboolean
fs_reply_unexpected(SbxAgentReply *reply, GError **error)
{
	g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
		    "unexpected reply type %u to a filesystem request", reply->type);
	return FALSE;
}

/* streams */

void
sbx_agent_fs_read_async(SbxAgentClient *client, const gchar *user, const gchar *path, gint fd,
			GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	guint32 window = SBX_PROTO_DEFAULT_WINDOW;
	g_autoptr(GBytes) payload = sbx_agent_fs_encode_request(0, &window, 1, path, NULL);
	sbx_agent_client_fs_stream_async(client, SBX_MSG_FS_READ, payload, user, path, -1, fd,
					 cancellable, callback, user_data);
}

gboolean
sbx_agent_fs_read_finish(SbxAgentClient *client, GAsyncResult *res, GError **error)
{
	return sbx_agent_client_fs_stream_finish(client, res, error);
}

void
sbx_agent_fs_write_async(SbxAgentClient *client, const gchar *user, const gchar *path,
			 guint32 flags, guint32 mode, gint fd, GCancellable *cancellable,
			 GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GBytes) payload = sbx_agent_fs_encode_request(flags, &mode, 1, path, NULL);
	sbx_agent_client_fs_stream_async(client, SBX_MSG_FS_WRITE, payload, user, path, fd, -1,
					 cancellable, callback, user_data);
}

gboolean
sbx_agent_fs_write_finish(SbxAgentClient *client, GAsyncResult *res, GError **error)
{
	return sbx_agent_client_fs_stream_finish(client, res, error);
}

/* stat */

static void
fs_stat_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxAgentReply) reply = NULL;
	const gchar *path = g_task_get_task_data(task);
	SbxFsStat *st;
	gsize len = 0;
	const guint8 *p;

	reply = sbx_agent_client_fs_request_finish(SBX_AGENT_CLIENT(source), res, &error);
	if (reply == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	if (fs_reply_is_error(reply, path, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	if (reply->type != SBX_MSG_FS_STAT_REPLY) {
		fs_reply_unexpected(reply, &error);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	p = g_bytes_get_data(reply->payload, &len);
	st = sbx_agent_fs_parse_stat(p, len, &error);
	if (st == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_task_return_pointer(task, st, (GDestroyNotify)sbx_agent_fs_stat_free);
}

void
sbx_agent_fs_stat_async(SbxAgentClient *client, const gchar *user, const gchar *path,
			gboolean nofollow, GCancellable *cancellable, GAsyncReadyCallback callback,
			gpointer user_data)
{
	GTask *task = g_task_new(client, cancellable, callback, user_data);
	g_autoptr(GBytes) payload =
	    sbx_agent_fs_encode_request(nofollow ? SBX_FS_NOFOLLOW : 0, NULL, 0, path, NULL);
	g_task_set_task_data(task, g_strdup(path), g_free);
	sbx_agent_client_fs_request_async(client, SBX_MSG_FS_STAT, payload, user, path, cancellable,
					  fs_stat_done, task);
}

SbxFsStat *
sbx_agent_fs_stat_finish(SbxAgentClient *client, GAsyncResult *res, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(res, client), NULL);
	return g_task_propagate_pointer(G_TASK(res), error);
}

/* readdir: one request per page */

typedef struct {
	SbxAgentClient *client;
	gchar *user;
	gchar *path;
	guint max_entries;
	GPtrArray *entries;
} SbxFsReaddir;

static void
fs_readdir_free(SbxFsReaddir *rd)
{
	g_object_unref(rd->client);
	g_free(rd->user);
	g_free(rd->path);
	g_ptr_array_unref(rd->entries);
	g_free(rd);
}

static void fs_readdir_next(GTask *task, guint64 cookie);

static void
fs_readdir_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	SbxFsReaddir *rd = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxAgentReply) reply = NULL;
	gboolean more = FALSE;
	guint64 cookie = 0;
	gsize len = 0;
	const guint8 *p;

	reply = sbx_agent_client_fs_request_finish(SBX_AGENT_CLIENT(source), res, &error);
	if (reply == NULL || fs_reply_is_error(reply, rd->path, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	if (reply->type != SBX_MSG_FS_DIRENTS) {
		fs_reply_unexpected(reply, &error);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	p = g_bytes_get_data(reply->payload, &len);
	if (!sbx_agent_fs_parse_dirents(p, len, &more, &cookie, rd->entries, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	if (rd->entries->len > rd->max_entries) {
		g_task_return_new_error(task, SBX_ERROR, SBX_ERROR_LIMIT_EXCEEDED,
					"%s: the directory has more than %u entries", rd->path,
					rd->max_entries);
		return;
	}
	if (more) {
		fs_readdir_next(g_steal_pointer(&task), cookie);
		return;
	}
	g_task_return_pointer(task, g_ptr_array_ref(rd->entries),
			      (GDestroyNotify)g_ptr_array_unref);
}

static void
fs_readdir_next(GTask *task, guint64 cookie)
{
	SbxFsReaddir *rd = g_task_get_task_data(task);
	guint32 extra[2] = {(guint32)(cookie & 0xffffffffu), (guint32)(cookie >> 32)};
	g_autoptr(GBytes) payload = sbx_agent_fs_encode_request(0, extra, 2, rd->path, NULL);
	sbx_agent_client_fs_request_async(rd->client, SBX_MSG_FS_READDIR, payload, rd->user,
					  rd->path, g_task_get_cancellable(task), fs_readdir_done,
					  task);
}

void
sbx_agent_fs_readdir_async(SbxAgentClient *client, const gchar *user, const gchar *path,
			   guint max_entries, GCancellable *cancellable,
			   GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task = g_task_new(client, cancellable, callback, user_data);
	SbxFsReaddir *rd = g_new0(SbxFsReaddir, 1);
	rd->client = g_object_ref(client);
	rd->user = g_strdup(user);
	rd->path = g_strdup(path);
	rd->max_entries = max_entries;
	rd->entries = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_agent_fs_dirent_free);
	g_task_set_task_data(task, rd, (GDestroyNotify)fs_readdir_free);
	fs_readdir_next(task, 0);
}

GPtrArray *
sbx_agent_fs_readdir_finish(SbxAgentClient *client, GAsyncResult *res, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(res, client), NULL);
	return g_task_propagate_pointer(G_TASK(res), error);
}

/* mkdir, remove, rename, chmod */

static void
fs_op_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxAgentReply) reply = NULL;
	const gchar *path = g_task_get_task_data(task);

	reply = sbx_agent_client_fs_request_finish(SBX_AGENT_CLIENT(source), res, &error);
	if (reply == NULL || fs_reply_is_error(reply, path, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	if (reply->type != SBX_MSG_FS_OK || g_bytes_get_size(reply->payload) != 0) {
		fs_reply_unexpected(reply, &error);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_task_return_boolean(task, TRUE);
}

void
sbx_agent_fs_op_async(SbxAgentClient *client, const gchar *user, SbxMsgType type, guint32 flags,
		      guint32 mode, const gchar *path, const gchar *path2,
		      GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task = g_task_new(client, cancellable, callback, user_data);
	gboolean has_mode = type == SBX_MSG_FS_MKDIR || type == SBX_MSG_FS_CHMOD;
	g_autoptr(GBytes) payload =
	    sbx_agent_fs_encode_request(flags, &mode, has_mode ? 1 : 0, path, path2);
	g_task_set_task_data(task, g_strdup(path), g_free);
	sbx_agent_client_fs_request_async(client, type, payload, user, path, cancellable,
					  fs_op_done, task);
}

void
sbx_agent_fs_op_nums_async(SbxAgentClient *client, const gchar *user, SbxMsgType type,
			   const guint32 *nums, guint n_nums, const gchar *path, const gchar *path2,
			   GCancellable *cancellable, GAsyncReadyCallback callback,
			   gpointer user_data)
{
	GTask *task = g_task_new(client, cancellable, callback, user_data);
	g_autoptr(GBytes) payload = sbx_agent_fs_encode_request(0, nums, n_nums, path, path2);
	g_task_set_task_data(task, g_strdup(path), g_free);
	sbx_agent_client_fs_request_async(client, type, payload, user, path, cancellable,
					  fs_op_done, task);
}

static void
fs_path_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxAgentReply) reply = NULL;
	const gchar *path = g_task_get_task_data(task);
	gsize len = 0;
	const gchar *p;

	reply = sbx_agent_client_fs_request_finish(SBX_AGENT_CLIENT(source), res, &error);
	if (reply == NULL || fs_reply_is_error(reply, path, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	if (reply->type != SBX_MSG_FS_PATH_REPLY) {
		fs_reply_unexpected(reply, &error);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	/* from the guest: a path we can hand on as a D-Bus string */
	p = g_bytes_get_data(reply->payload, &len);
	if (len == 0 || p[0] != '/' || memchr(p, '\0', len) != NULL ||
	    !g_utf8_validate(p, (gssize)len, NULL)) {
		fs_bad(&error, "FS_PATH_REPLY", "not an absolute UTF-8 path");
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_task_return_pointer(task, g_strndup(p, len), g_free);
}

void
sbx_agent_fs_path_async(SbxAgentClient *client, const gchar *user, SbxMsgType type, guint32 flags,
			const guint32 *nums, guint n_nums, const gchar *path,
			GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *task = g_task_new(client, cancellable, callback, user_data);
	g_autoptr(GBytes) payload = sbx_agent_fs_encode_request(flags, nums, n_nums, path, NULL);
	g_task_set_task_data(task, g_strdup(path), g_free);
	sbx_agent_client_fs_request_async(client, type, payload, user, path, cancellable,
					  fs_path_done, task);
}

gchar *
sbx_agent_fs_path_finish(SbxAgentClient *client, GAsyncResult *res, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(res, client), NULL);
	return g_task_propagate_pointer(G_TASK(res), error);
}

gboolean
sbx_agent_fs_op_finish(SbxAgentClient *client, GAsyncResult *res, GError **error)
{
	g_return_val_if_fail(g_task_is_valid(res, client), FALSE);
	return g_task_propagate_boolean(G_TASK(res), error);
}
