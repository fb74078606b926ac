/* dispatch: every request answers on its own, in any order.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "sbx-gw-call.h"
#include "sbx-gw-metrics.h"
#include "sbx-gw-error.h"
#include "sbx-gw-expose.h"

typedef struct {
	const gchar *name;
	SbxGwMethodFunc func;
} SbxGwMethod;

static const SbxGwMethod methods[] = {
    {"spawn", sbx_gw_process_spawn},
    {"processWait", sbx_gw_process_wait},
    {"processKill", sbx_gw_process_kill},
    {"envGet", sbx_gw_env_get},
    {"envSet", sbx_gw_env_set},
    {"envDelete", sbx_gw_env_delete},
    {"envToObject", sbx_gw_env_to_object},
    {"readFile", sbx_gw_fs_read_file},
    {"readTextFile", sbx_gw_fs_read_file},
    {"writeFile", sbx_gw_fs_write_file},
    {"writeTextFile", sbx_gw_fs_write_file},
    {"stat", sbx_gw_fs_stat},
    {"lstat", sbx_gw_fs_stat},
    {"readDir", sbx_gw_fs_read_dir},
    {"mkdir", sbx_gw_fs_mkdir},
    {"remove", sbx_gw_fs_remove},
    {"rename", sbx_gw_fs_rename},
    {"chmod", sbx_gw_fs_chmod},
    {"symlink", sbx_gw_fs_symlink},
    {"link", sbx_gw_fs_link},
    {"copyFile", sbx_gw_fs_copy_file},
    {"truncate", sbx_gw_fs_truncate},
    {"chown", sbx_gw_fs_chown},
    {"utime", sbx_gw_fs_utime},
    {"readLink", sbx_gw_fs_read_link},
    {"realPath", sbx_gw_fs_real_path},
    {"makeTempDir", sbx_gw_fs_make_temp_dir},
    {"makeTempFile", sbx_gw_fs_make_temp_file},
    /* sbx-gw-file.c */
    {"open", sbx_gw_file_open},
    {"create", sbx_gw_file_open},
    {"fileRead", sbx_gw_file_op},
    {"fileWrite", sbx_gw_file_op},
    {"fileSeek", sbx_gw_file_op},
    {"fileStat", sbx_gw_file_op},
    {"fileSync", sbx_gw_file_op},
    {"fileSyncData", sbx_gw_file_op},
    {"fileTruncate", sbx_gw_file_op},
    {"fileLock", sbx_gw_file_op},
    {"fileUnlock", sbx_gw_file_op},
    {"fileUtime", sbx_gw_file_op},
    {"fileClose", sbx_gw_file_op},
    {"umask", sbx_gw_file_umask},
    {"walk", sbx_gw_file_walk},
    {"expandGlob", sbx_gw_file_walk},
    {"exposeHttp", sbx_gw_expose_http},
    {"fetch", sbx_gw_fetch},
    {"abort", sbx_gw_fetch_abort},
    {"spawnDeno", sbx_gw_deno_spawn},
    {"spawnDenoRepl", sbx_gw_deno_spawn_repl},
    {"denoReplEval", sbx_gw_deno_repl_eval},
    {"denoReplCall", sbx_gw_deno_repl_call},
    {"denoReplClose", sbx_gw_deno_repl_close},
    {"denoHttpWait", sbx_gw_deno_http_wait},
};

/* need VS Code in the guest: not offered (docs/gateway.md) */
static const gchar *const unsupported[] = {"vscode", NULL};

void
sbx_gw_call_free(SbxGwCall *call)
{
	call->conn->calls_in_flight--;
	g_clear_object(&call->conn);
	g_free(call->method);
	g_clear_pointer(&call->params, json_object_unref);
	g_free(call);
}

static void
call_log(SbxGwCall *call, const gchar *outcome)
{
	g_message("call tenant=%s sandbox=%s method=%s id=%" G_GINT64_FORMAT
		  " duration_ms=%.1f outcome=%s trace=%s",
		  call->conn->tenant != NULL ? call->conn->tenant : "-",
		  call->conn->sandbox->sdk_id, call->method, call->id,
		  (gdouble)(g_get_monotonic_time() - call->started_us) / 1000.0, outcome,
		  call->conn->trace_id);
}

void
sbx_gw_call_return(SbxGwCall *call, JsonNode *ok)
{
	g_autofree gchar *frame = sbx_gw_rpc_ok(call->id, ok);
	call_log(call, "ok");
	sbx_gw_conn_send(call->conn, frame);
	if (ok != NULL)
		json_node_unref(ok);
	sbx_gw_call_free(call);
}

void
sbx_gw_call_return_error(SbxGwCall *call, const GError *error)
{
	g_autoptr(JsonNode) obj = sbx_gw_error_to_json(error);
	g_autofree gchar *frame = sbx_gw_rpc_app_error(call->id, obj);
	sbx_gw_metrics_count_error(
	    json_object_get_string_member_with_default(json_node_get_object(obj), "code", NULL));
	call_log(call, error->message);
	sbx_gw_conn_send(call->conn, frame);
	sbx_gw_call_free(call);
}

void
sbx_gw_call_return_literal(SbxGwCall *call, const gchar *constructor, const gchar *code,
			   const gchar *message)
{
	g_autoptr(JsonNode) obj = sbx_gw_error_object_new(constructor, message, code);
	g_autofree gchar *frame = sbx_gw_rpc_app_error(call->id, obj);
	sbx_gw_metrics_count_error(code);
	call_log(call, message);
	sbx_gw_conn_send(call->conn, frame);
	sbx_gw_call_free(call);
}

void
sbx_gw_call_void_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwCall *call = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, &error);

	if (reply == NULL)
		sbx_gw_call_return_error(call, error);
	else
		sbx_gw_call_return(call, NULL);
}

static void
return_unknown_method(SbxGwCall *call)
{
	g_autofree gchar *message = g_strdup_printf("unknown method '%s'", call->method);
	g_autofree gchar *frame =
	    sbx_gw_rpc_protocol_error(call->id, SBX_GW_RPC_METHOD_NOT_FOUND, message);
	call_log(call, message);
	sbx_gw_conn_send(call->conn, frame);
	sbx_gw_call_free(call);
}

void
sbx_gw_call_dispatch(SbxGwConn *conn, SbxGwRpcMessage *msg)
{
	SbxGwCall *call = g_new0(SbxGwCall, 1);

	call->conn = g_object_ref(conn);
	call->id = msg->id;
	call->method = g_steal_pointer(&msg->method);
	call->params = g_steal_pointer(&msg->params);
	call->started_us = g_get_monotonic_time();
	/* each call holds D-Bus calls and buffers: a client may not pile them up */
	if (++conn->calls_in_flight > conn->server->config->max_calls_per_socket) {
		g_autofree gchar *message = g_strdup_printf(
		    "more than %u calls in flight on this socket ([gateway] MaxCallsPerSocket)",
		    conn->server->config->max_calls_per_socket);
		sbx_gw_call_return_literal(call, "Error", "ELIMIT", message);
		return;
	}
	for (guint i = 0; i < G_N_ELEMENTS(methods); i++) {
		if (g_strcmp0(methods[i].name, call->method) == 0) {
			methods[i].func(call);
			return;
		}
	}
	if (g_strv_contains(unsupported, call->method)) {
		g_autofree gchar *message = g_strdup_printf(
		    "%s is not supported by this server (sandboxd-gateway)", call->method);
		sbx_gw_call_return_literal(call, "NotSupported", "ENOTSUP", message);
		return;
	}
	return_unknown_method(call);
}
