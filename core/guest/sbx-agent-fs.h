/* host side of the guest agent's filesystem requests (types 64-95 in
 * agent/sbx-protocol.h): path checks, payload encoding, strict reply
 * parsing and typed async calls on an SbxAgentClient.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-agent-client.h"
#include "sbx-protocol.h"

G_BEGIN_DECLS

/* a ReadDir fails with SBX_ERROR_LIMIT_EXCEEDED beyond this many entries */
#define SBX_FS_MAX_DIR_ENTRIES 100000u

typedef struct {
	SbxFsType type;
	guint32 mode; /* permission and special bits (07777) */
	guint32 uid;
	guint32 gid;
	guint32 nlink;
	guint64 size;
	gint64 mtime; /* seconds since the epoch */
	guint32 mtime_nsec;
	gint64 atime;
	guint32 atime_nsec;
	gint64 ctime;
	guint32 ctime_nsec;
	gchar *link_target; /* NULL unless a symlink (lstat); invalid UTF-8 replaced */
} SbxFsStat;

typedef struct {
	gchar *name; /* invalid UTF-8 replaced with U+FFFD */
	SbxFsType type;
	guint32 mode;
	guint64 size;
	gint64 mtime;
} SbxFsDirent;

void sbx_agent_fs_stat_free(SbxFsStat *st);
void sbx_agent_fs_dirent_free(SbxFsDirent *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxFsStat, sbx_agent_fs_stat_free)
/* "file", "directory", "symlink", "other" or "unknown" */
const gchar *sbx_agent_fs_type_to_string(SbxFsType type);

/* an absolute guest path of 1..SBX_FS_MAX_PATH bytes, valid UTF-8;
 * SBX_ERROR_INVALID_ARGUMENT otherwise. ".." is left to the guest. */
gboolean sbx_agent_fs_path_check(const gchar *path, GError **error);
/* the named error for a guest errno about @path */
GError *sbx_agent_fs_error_new(gint err, const gchar *path);

/* payloads (exposed for tests): u32 flags, @n_extra u32s, then the path
 * string(s) (@path2 may be NULL) */
GBytes *sbx_agent_fs_encode_request(guint32 flags, const guint32 *extra, guint n_extra,
				    const gchar *path, const gchar *path2);
/* strict parsers: SBX_ERROR_PROTOCOL on any malformed payload */
gboolean sbx_agent_fs_parse_error(const guint8 *p, gsize len, gint *err, gchar **path,
				  GError **error);
SbxFsStat *sbx_agent_fs_parse_stat(const guint8 *p, gsize len, GError **error);
/* appends SbxFsDirent to @entries */
gboolean sbx_agent_fs_parse_dirents(const guint8 *p, gsize len, gboolean *more, guint64 *cookie,
				    GPtrArray *entries, GError **error);

/* ReadFile: the file's bytes are written to @fd (borrowed) */
void sbx_agent_fs_read_async(SbxAgentClient *client, const gchar *user, const gchar *path, gint fd,
			     GCancellable *cancellable, GAsyncReadyCallback callback,
			     gpointer user_data);
gboolean sbx_agent_fs_read_finish(SbxAgentClient *client, GAsyncResult *res, GError **error);

/* WriteFile: @fd is read to EOF into the file; @flags SbxFsFlags
 * (PARENTS, APPEND, MODE, EXCLUSIVE) */
void sbx_agent_fs_write_async(SbxAgentClient *client, const gchar *user, const gchar *path,
			      guint32 flags, guint32 mode, gint fd, GCancellable *cancellable,
			      GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_agent_fs_write_finish(SbxAgentClient *client, GAsyncResult *res, GError **error);

void sbx_agent_fs_stat_async(SbxAgentClient *client, const gchar *user, const gchar *path,
			     gboolean nofollow, GCancellable *cancellable,
			     GAsyncReadyCallback callback, gpointer user_data);
SbxFsStat *sbx_agent_fs_stat_finish(SbxAgentClient *client, GAsyncResult *res, GError **error);

/* all entries (several requests when needed), at most @max_entries */
void sbx_agent_fs_readdir_async(SbxAgentClient *client, const gchar *user, const gchar *path,
				guint max_entries, GCancellable *cancellable,
				GAsyncReadyCallback callback, gpointer user_data);
/* returns SbxFsDirent elements, in the guest's directory order */
GPtrArray *sbx_agent_fs_readdir_finish(SbxAgentClient *client, GAsyncResult *res, GError **error);

/* MKDIR (@flags PARENTS, @mode), REMOVE (RECURSIVE), RENAME (@path2 = to),
 * CHMOD (@mode): answered with FS_OK or a named error */
/* SYMLINK, LINK, COPY (@path, @path2) and TRUNCATE, CHOWN, UTIME (@nums, as
 * in sbx-protocol.h): answered with FS_OK or a named error; finish with
 * sbx_agent_fs_op_finish() */
void sbx_agent_fs_op_nums_async(SbxAgentClient *client, const gchar *user, SbxMsgType type,
				const guint32 *nums, guint n_nums, const gchar *path,
				const gchar *path2, GCancellable *cancellable,
				GAsyncReadyCallback callback, gpointer user_data);
/* REALPATH (@flags 0, no @nums) and MKTEMP (@flags SBX_FS_MKTEMP_DIR or 0,
 * @nums = {suffix_len}): the guest path it answers */
void sbx_agent_fs_path_async(SbxAgentClient *client, const gchar *user, SbxMsgType type,
			     guint32 flags, const guint32 *nums, guint n_nums, const gchar *path,
			     GCancellable *cancellable, GAsyncReadyCallback callback,
			     gpointer user_data);
gchar *sbx_agent_fs_path_finish(SbxAgentClient *client, GAsyncResult *res, GError **error);
void sbx_agent_fs_op_async(SbxAgentClient *client, const gchar *user, SbxMsgType type,
			   guint32 flags, guint32 mode, const gchar *path, const gchar *path2,
			   GCancellable *cancellable, GAsyncReadyCallback callback,
			   gpointer user_data);
gboolean sbx_agent_fs_op_finish(SbxAgentClient *client, GAsyncResult *res, GError **error);

G_END_DECLS
