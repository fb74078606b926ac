/* one JSON-RPC request in flight and the table of methods.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gunixfdlist.h>

#include "sbx-gw-conn.h"
#include "sbx-gw-rpc.h"

G_BEGIN_DECLS

typedef struct {
	SbxGwConn *conn; /* ref */
	gint64 id;
	gchar *method;
	JsonObject *params; /* ref */
	gint64 started_us;
} SbxGwCall;

/* the answers free @call; a closed socket just drops them */
void sbx_gw_call_return(SbxGwCall *call, JsonNode *ok);
void sbx_gw_call_return_error(SbxGwCall *call, const GError *error);
void sbx_gw_call_return_literal(SbxGwCall *call, const gchar *constructor, const gchar *code,
				const gchar *message);
void sbx_gw_call_free(SbxGwCall *call);
/* for g_dbus_proxy_call() of a method without results: answers null or the error */
void sbx_gw_call_void_ready(GObject *source, GAsyncResult *res, gpointer data);

/* runs @msg (a request) */
void sbx_gw_call_dispatch(SbxGwConn *conn, SbxGwRpcMessage *msg);

/* spawn's stdio/env/cwd/user from @call's params, with @argv instead of command and args
 * and @extra_env (NULL-terminated name, value pairs) over the client's env. @done (if not
 * NULL) gets the result object or the error instead of @call being answered, and then
 * owns @call and @result; @proc is the new process (not owned) */
/* a pipe: the far end goes into @fds (its handle returned), the near end to *near */
gint sbx_gw_process_add_pipe(GUnixFDList *fds, gboolean far_reads, gint *near, GError **error);
typedef void (*SbxGwProcessSpawned)(SbxGwCall *call, SbxDBusProcess1 *proc, JsonNode *result,
				    const GError *error, gpointer data);
void sbx_gw_process_spawn_argv(SbxGwCall *call, const gchar *const *argv,
			       const gchar *const *extra_env, SbxGwProcessSpawned done,
			       gpointer done_data);

/* method implementations */
typedef void (*SbxGwMethodFunc)(SbxGwCall *call);
void sbx_gw_process_spawn(SbxGwCall *call);
void sbx_gw_process_wait(SbxGwCall *call);
void sbx_gw_process_kill(SbxGwCall *call);
void sbx_gw_env_get(SbxGwCall *call);
void sbx_gw_env_set(SbxGwCall *call);
void sbx_gw_env_delete(SbxGwCall *call);
void sbx_gw_env_to_object(SbxGwCall *call);
void sbx_gw_fs_read_file(SbxGwCall *call);
void sbx_gw_fs_write_file(SbxGwCall *call);
void sbx_gw_fs_stat(SbxGwCall *call);
void sbx_gw_fs_read_dir(SbxGwCall *call);
void sbx_gw_fs_mkdir(SbxGwCall *call);
void sbx_gw_fs_remove(SbxGwCall *call);
void sbx_gw_fs_rename(SbxGwCall *call);
void sbx_gw_fs_chmod(SbxGwCall *call);
void sbx_gw_fs_symlink(SbxGwCall *call);
void sbx_gw_fs_link(SbxGwCall *call);
void sbx_gw_fs_copy_file(SbxGwCall *call);
void sbx_gw_fs_truncate(SbxGwCall *call);
void sbx_gw_fs_chown(SbxGwCall *call);
void sbx_gw_fs_utime(SbxGwCall *call);
void sbx_gw_fs_read_link(SbxGwCall *call);
void sbx_gw_fs_real_path(SbxGwCall *call);
void sbx_gw_fs_make_temp_dir(SbxGwCall *call);
void sbx_gw_fs_make_temp_file(SbxGwCall *call);
JsonNode *sbx_gw_fs_stat_to_json(GVariant *info);
/* the fs methods act as the configured guest user (User; empty: root) */
void sbx_gw_fs_add_user(SbxGwCall *call, GVariantBuilder *options);
/* a Date member (ISO 8601) as seconds (and nanoseconds, or NULL) since 1970 */
gboolean sbx_gw_fs_get_date(SbxGwCall *call, const gchar *name, gint64 *sec, guint32 *nsec,
			    GError **error);
/* sbx-gw-file.c: open files, umask, walk, expandGlob */
void sbx_gw_file_open(SbxGwCall *call);
void sbx_gw_file_op(SbxGwCall *call);
void sbx_gw_file_umask(SbxGwCall *call);
void sbx_gw_file_walk(SbxGwCall *call);
/* the socket closed: closes the files it opened */
void sbx_gw_file_close_all(SbxGwConn *conn);
/* sbx-gw-fetch.c */
void sbx_gw_fetch(SbxGwCall *call);
void sbx_gw_fetch_abort(SbxGwCall *call);
void sbx_gw_deno_spawn(SbxGwCall *call);
void sbx_gw_deno_spawn_repl(SbxGwCall *call);
void sbx_gw_deno_repl_eval(SbxGwCall *call);
void sbx_gw_deno_repl_call(SbxGwCall *call);
void sbx_gw_deno_repl_close(SbxGwCall *call);
void sbx_gw_deno_http_wait(SbxGwCall *call);
/* the socket closed: its REPLs end */
void sbx_gw_deno_conn_closed(SbxGwConn *conn);

G_END_DECLS
