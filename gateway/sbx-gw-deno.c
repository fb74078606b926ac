/* deno.run, deno.repl and deno.eval: the image's Deno harness, driven through Spawn.
 *
 * Each Deno process is two guest processes: deno-control (a shell helper whose stdin
 * and stdout are our control channel; it makes two FIFOs in a private folder and prints
 * the folder first) and then `deno run` with deno-harness.js, which opens those FIFOs
 * and leaves its own stdio to the user. Requests and answers are JSON lines; one REPL
 * request is in flight at a time, the rest wait in order.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gunixfdlist.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sbx-gw-call.h"

#define DENO_BUS_NAME "org.sandboxd"
#define DENO_BINARY "/usr/local/bin/deno"
#define DENO_HARNESS "/usr/lib/sandboxd/deno-harness.js"
#define DENO_CONTROL "/usr/lib/sandboxd/deno-control"
#define DENO_MAX_CODE (4 * 1024 * 1024)
/* the harness refuses results above 16 MiB; the rest is the envelope */
#define DENO_MAX_LINE (17 * 1024 * 1024)
/* with no request in flight only events come, and they are short */
#define DENO_MAX_IDLE_LINE (64 * 1024)
#define DENO_MAX_ERROR_TEXT (64 * 1024)
#define DENO_START_TIMEOUT_S 120
#define DENO_MAX_PER_SOCKET 256

typedef struct {
	SbxGwConn *conn; /* ref while starting; the socket's table holds the rest */
	GDBusConnection *bus;
	gboolean repl;
	guint pid; /* the harness's, once it runs */
	gchar *control_path;
	gchar *harness_path;
	gchar *dir;
	GOutputStream *to_guest; /* deno-control's stdin */
	GInputStream *from_guest;
	GCancellable *cancellable;
	GByteArray *line;
	GQueue writes;	  /* GBytes */
	GBytes *writing;  /* the one being written */
	gboolean closing; /* close deno-control's stdin once the writes are out */
	GQueue requests;  /* SbxGwCall, the head in flight */
	GQueue waiters;	  /* denoHttpWait calls */
	gint64 next_id;
	guint timeout_id;
	guint eval_timeout_s; /* [gateway] DenoEvalTimeoutSec */
	gboolean listening;
	gboolean http_answered; /* a denoHttpWait got its answer */
	gboolean exited;
	/* while starting */
	SbxGwCall *start_call;
	gchar *init_line;
	GStrv argv_tail; /* the harness's argv after the control folder is known */
} SbxGwDeno;

static void deno_fail_requests(SbxGwDeno *deno, const gchar *message);

static void
deno_clear(SbxGwDeno *deno)
{
	g_clear_object(&deno->conn);
	g_clear_object(&deno->bus);
	g_free(deno->control_path);
	g_free(deno->harness_path);
	g_free(deno->dir);
	g_clear_object(&deno->to_guest);
	g_clear_object(&deno->from_guest);
	g_clear_object(&deno->cancellable);
	g_clear_pointer(&deno->line, g_byte_array_unref);
	g_queue_clear_full(&deno->writes, (GDestroyNotify)g_bytes_unref);
	g_clear_pointer(&deno->writing, g_bytes_unref);
	g_free(deno->init_line);
	g_strfreev(deno->argv_tail);
}

static SbxGwDeno *
deno_ref(SbxGwDeno *deno)
{
	return g_rc_box_acquire(deno);
}

static void
deno_unref(SbxGwDeno *deno)
{
	g_rc_box_release_full(deno, (GDestroyNotify)deno_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxGwDeno, deno_unref)

/* the socket's Deno processes: pid -> SbxGwDeno (ref) */
static GHashTable *
deno_table(SbxGwConn *conn)
{
	GHashTable *table = g_object_get_data(G_OBJECT(conn), "sbx-gw-deno");
	if (table == NULL) {
		table = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
					      (GDestroyNotify)deno_unref);
		g_object_set_data_full(G_OBJECT(conn), "sbx-gw-deno", table,
				       (GDestroyNotify)g_hash_table_unref);
	}
	return table;
}

static void
deno_kill_object(SbxGwDeno *deno, const gchar *path)
{
	if (path == NULL || deno->bus == NULL)
		return;
	g_dbus_connection_call(deno->bus, DENO_BUS_NAME, path, "org.sandboxd.Process1", "Kill",
			       NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
}

/* no more requests: deno-control ends, a REPL harness reads EOF */
static void
deno_close_control(SbxGwDeno *deno)
{
	g_queue_clear_full(&deno->writes, (GDestroyNotify)g_bytes_unref);
	deno->closing = TRUE;
	if (deno->to_guest != NULL && deno->writing == NULL)
		g_output_stream_close(deno->to_guest, NULL, NULL);
}

/* --- answers to the waiting calls --- */

static void
deno_answer_waiters(SbxGwDeno *deno, gboolean listening)
{
	SbxGwCall *call;
	while ((call = g_queue_pop_head(&deno->waiters)) != NULL) {
		deno->http_answered = TRUE;
		sbx_gw_call_return(call, json_node_init_boolean(json_node_alloc(), listening));
	}
}

static void
deno_exited(SbxGwDeno *deno, const gchar *why)
{
	if (deno->exited)
		return;
	deno->exited = TRUE;
	g_debug("deno pid=%u: control channel ended: %s", deno->pid, why);
	deno_answer_waiters(deno, deno->listening);
	deno_fail_requests(deno, "the Deno process has exited");
	deno_close_control(deno);
	g_clear_pointer(&deno->line, g_byte_array_unref);
	g_cancellable_cancel(deno->cancellable);
}

/* --- writing requests, in order --- */

static void deno_write_next(SbxGwDeno *deno);

static void
deno_write_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(SbxGwDeno) deno = data;
	g_autoptr(GError) error = NULL;

	g_clear_pointer(&deno->writing, g_bytes_unref);
	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), res, NULL, &error)) {
		g_output_stream_close(deno->to_guest, NULL, NULL);
		deno_exited(deno, error->message);
		return;
	}
	if (deno->closing)
		g_output_stream_close(deno->to_guest, NULL, NULL);
	else
		deno_write_next(deno);
}

static void
deno_write_next(SbxGwDeno *deno)
{
	gsize len;
	gconstpointer data;

	if (deno->writing != NULL || deno->closing || deno->to_guest == NULL ||
	    g_queue_is_empty(&deno->writes))
		return;
	deno->writing = g_queue_pop_head(&deno->writes);
	data = g_bytes_get_data(deno->writing, &len);
	g_output_stream_write_all_async(deno->to_guest, data, len, G_PRIORITY_DEFAULT,
					deno->cancellable, deno_write_ready, deno_ref(deno));
}

/* takes @line, a JSON value without newlines */
static void
deno_write(SbxGwDeno *deno, gchar *line)
{
	gsize len = strlen(line);
	g_queue_push_tail(&deno->writes, g_bytes_new_take(g_strconcat(line, "\n", NULL), len + 1));
	g_free(line);
	deno_write_next(deno);
}

/* --- REPL requests --- */

static gboolean
deno_timed_out(gpointer data)
{
	SbxGwDeno *deno = data;
	SbxGwCall *call = g_queue_pop_head(&deno->requests);
	g_autoptr(GError) error = g_error_new(
	    G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
	    "the evaluation did not finish within %u s; the REPL was ended", deno->eval_timeout_s);

	deno->timeout_id = 0;
	/* a late answer must not match the next request */
	deno->next_id++;
	if (call != NULL)
		sbx_gw_call_return_error(call, error);
	deno_kill_object(deno, deno->harness_path);
	return G_SOURCE_REMOVE;
}

/* the head request goes to the harness; its id is its position in the stream */
static void
deno_send_head(SbxGwDeno *deno)
{
	SbxGwCall *call = g_queue_peek_head(&deno->requests);
	g_autoptr(JsonBuilder) b = NULL;
	g_autoptr(JsonGenerator) gen = NULL;
	g_autoptr(JsonNode) root = NULL;

	if (call == NULL || deno->timeout_id != 0 || deno->exited)
		return;
	b = json_builder_new_immutable();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "id");
	json_builder_add_int_value(b, ++deno->next_id);
	if (g_strcmp0(call->method, "denoReplEval") == 0) {
		json_builder_set_member_name(b, "eval");
		json_builder_add_string_value(b,
					      json_object_get_string_member(call->params, "code"));
	} else {
		json_builder_set_member_name(b, "call");
		json_builder_add_string_value(b, json_object_get_string_member(call->params, "fn"));
		json_builder_set_member_name(b, "args");
		json_builder_add_value(
		    b, json_node_copy(json_object_get_member(call->params, "args")));
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	gen = json_generator_new();
	json_generator_set_root(gen, root);
	deno->timeout_id = g_timeout_add_seconds(deno->eval_timeout_s, deno_timed_out, deno);
	deno_write(deno, json_generator_to_data(gen, NULL));
}

static void
deno_fail_requests(SbxGwDeno *deno, const gchar *message)
{
	SbxGwCall *call;

	g_clear_handle_id(&deno->timeout_id, g_source_remove);
	while ((call = g_queue_pop_head(&deno->requests)) != NULL) {
		g_autoptr(GError) error =
		    g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CLOSED, message);
		sbx_gw_call_return_error(call, error);
	}
}

static const gchar *
member_string(JsonObject *obj, const gchar *name)
{
	JsonNode *node = json_object_get_member(obj, name);
	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_STRING)
		return NULL;
	return json_node_get_string(node);
}

static void
add_bounded_string(JsonBuilder *b, const gchar *name, const gchar *value)
{
	json_builder_set_member_name(b, name);
	if (value == NULL) {
		json_builder_add_null_value(b);
	} else if (strlen(value) > DENO_MAX_ERROR_TEXT) {
		g_autofree gchar *cut = g_utf8_make_valid(value, DENO_MAX_ERROR_TEXT);
		json_builder_add_string_value(b, cut);
	} else {
		json_builder_add_string_value(b, value);
	}
}

/* the guest's error object, rebuilt from known members only */
static JsonNode *
deno_error_object(JsonObject *err)
{
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	const gchar *ctor = member_string(err, "constructorName");
	const gchar *message = member_string(err, "message");

	if (ctor == NULL || strlen(ctor) > 64)
		ctor = "Error";
	json_builder_begin_object(b);
	add_bounded_string(b, "constructorName", ctor);
	add_bounded_string(b, "message", message != NULL ? message : "");
	add_bounded_string(b, "code", member_string(err, "code"));
	add_bounded_string(b, "stack", member_string(err, "stack"));
	add_bounded_string(b, "name", member_string(err, "name"));
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

static void
deno_take_answer(SbxGwDeno *deno, JsonObject *msg)
{
	SbxGwCall *call = g_queue_peek_head(&deno->requests);
	JsonNode *id = json_object_get_member(msg, "id");
	JsonNode *err = json_object_get_member(msg, "error");

	if (call == NULL || id == NULL || !JSON_NODE_HOLDS_VALUE(id) ||
	    json_node_get_int(id) != deno->next_id) {
		g_debug("deno pid=%u: an answer nobody asked for", deno->pid);
		return;
	}
	g_queue_pop_head(&deno->requests);
	g_clear_handle_id(&deno->timeout_id, g_source_remove);
	if (err != NULL && JSON_NODE_HOLDS_OBJECT(err)) {
		g_autoptr(JsonNode) obj = deno_error_object(json_node_get_object(err));
		g_autofree gchar *frame = sbx_gw_rpc_app_error(call->id, obj);
		g_message(
		    "call sandbox=%s method=%s id=%" G_GINT64_FORMAT
		    " outcome=guest error %s trace=%s",
		    call->conn->sandbox->sdk_id, call->method, call->id,
		    json_object_get_string_member(json_node_get_object(obj), "constructorName"),
		    call->conn->trace_id);
		sbx_gw_conn_send(call->conn, frame);
		sbx_gw_call_free(call);
	} else if (json_object_has_member(msg, "ok")) {
		sbx_gw_call_return(call, json_node_copy(json_object_get_member(msg, "ok")));
	} else {
		sbx_gw_call_return_literal(call, "Error", "EIO",
					   "the Deno harness answered nonsense");
	}
	deno_send_head(deno);
}

static void
deno_take_line(SbxGwDeno *deno, const gchar *text, gsize len)
{
	g_autoptr(JsonParser) parser = NULL;
	g_autoptr(GError) error = NULL;
	JsonNode *root;
	JsonObject *msg;

	if (!sbx_gw_rpc_depth_ok(text, len)) {
		g_debug("deno pid=%u: a control line nests too deep", deno->pid);
		return;
	}
	parser = json_parser_new_immutable();
	if (!json_parser_load_from_data(parser, text, (gssize)len, &error)) {
		g_debug("deno pid=%u: a bad control line: %s", deno->pid, error->message);
		return;
	}
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root))
		return;
	msg = json_node_get_object(root);
	if (g_strcmp0(member_string(msg, "event"), "listening") == 0) {
		deno->listening = TRUE;
		deno_answer_waiters(deno, TRUE);
		return;
	}
	deno_take_answer(deno, msg);
}

/* --- reading the control channel --- */

static void deno_start_harness(SbxGwDeno *deno, const gchar *dir);
static void deno_start_failed(SbxGwDeno *deno, const GError *error);

static void
deno_take_dir(SbxGwDeno *deno, const gchar *dir)
{
	g_autoptr(GError) error = NULL;

	/* deno-control's mktemp: nothing else may reach the harness's argv */
	if (!g_str_has_prefix(dir, "/tmp/sbx-deno.") || strlen(dir) > 64 ||
	    strspn(dir + 14, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
		strlen(dir + 14)) {
		g_set_error(&error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    "the Deno control helper answered an unexpected folder");
		deno_start_failed(deno, error);
		return;
	}
	deno_start_harness(deno, dir);
}

static void deno_read_next(SbxGwDeno *deno);

static void
deno_read_ready(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(SbxGwDeno) deno = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GBytes) chunk =
	    g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), res, &error);
	guint8 *nl;

	if (deno->exited)
		return;
	if (chunk == NULL || g_bytes_get_size(chunk) == 0) {
		if (deno->start_call != NULL) {
			g_autoptr(GError) e = g_error_new_literal(
			    G_IO_ERROR, G_IO_ERROR_FAILED,
			    "the Deno runtime could not start (is this the debian image?)");
			deno_start_failed(deno, e);
		}
		deno_exited(deno, error != NULL ? error->message : "end of file");
		return;
	}
	g_byte_array_append(deno->line, g_bytes_get_data(chunk, NULL), g_bytes_get_size(chunk));
	while (deno->line != NULL &&
	       (nl = memchr(deno->line->data, '\n', deno->line->len)) != NULL) {
		gsize len = nl - deno->line->data;
		g_autofree gchar *text = g_strndup((const gchar *)deno->line->data, len);
		g_byte_array_remove_range(deno->line, 0, len + 1);
		if (deno->dir == NULL)
			deno_take_dir(deno, text);
		else
			deno_take_line(deno, text, len);
	}
	if (deno->line == NULL)
		return;
	if (deno->line->len >
	    (g_queue_is_empty(&deno->requests) ? DENO_MAX_IDLE_LINE : DENO_MAX_LINE)) {
		g_message("deno pid=%u: a control line beyond its bound, ending it", deno->pid);
		deno_kill_object(deno, deno->harness_path);
		deno_exited(deno, "line too long");
		return;
	}
	deno_read_next(deno);
}

static void
deno_read_next(SbxGwDeno *deno)
{
	if (deno->exited)
		return;
	g_input_stream_read_bytes_async(deno->from_guest, 65536, G_PRIORITY_DEFAULT,
					deno->cancellable, deno_read_ready, deno_ref(deno));
}

/* --- starting: deno-control, then the harness --- */

/* an exited REPL, or an exited program whose httpReady was answered */
static gboolean
deno_is_done(gpointer key, gpointer value, gpointer data)
{
	SbxGwDeno *deno = value;
	return deno->exited && (deno->repl || deno->http_answered);
}

static gboolean
deno_start_timed_out(gpointer data)
{
	SbxGwDeno *deno = data;
	g_autoptr(GError) error = NULL;

	deno->timeout_id = 0;
	g_set_error(&error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
		    "the Deno runtime did not start within %d s", DENO_START_TIMEOUT_S);
	deno_start_failed(deno, error);
	return G_SOURCE_REMOVE;
}

static void
deno_start_failed(SbxGwDeno *deno, const GError *error)
{
	SbxGwCall *call = g_steal_pointer(&deno->start_call);

	g_clear_handle_id(&deno->timeout_id, g_source_remove);
	if (call != NULL)
		sbx_gw_call_return_error(call, error);
	deno_kill_object(deno, deno->control_path);
	deno_exited(deno, error->message);
}

static void
deno_harness_spawned(SbxGwCall *call, SbxDBusProcess1 *proc, JsonNode *result, const GError *error,
		     gpointer data)
{
	g_autoptr(SbxGwDeno) deno = data;
	GHashTable *table;

	deno->start_call = call;
	if (result == NULL) {
		deno_start_failed(deno, error);
		return;
	}
	g_clear_handle_id(&deno->timeout_id, g_source_remove);
	deno->start_call = NULL;
	deno->pid = sbx_dbus_process1_get_pid(proc);
	deno->harness_path = g_strdup(g_dbus_proxy_get_object_path(G_DBUS_PROXY(proc)));
	if (!deno->repl) {
		JsonObject *obj = json_node_get_object(result);
		json_object_set_null_member(obj, "watcherId");
	}
	table = deno_table(call->conn);
	g_hash_table_replace(table, GUINT_TO_POINTER(deno->pid), deno_ref(deno));
	/* the socket's table keeps it; it must not keep the socket */
	g_clear_object(&deno->conn);
	if (deno->exited)
		deno_answer_waiters(deno, deno->listening);
	sbx_gw_call_return(call, result);
}

static void
deno_start_harness(SbxGwDeno *deno, const gchar *dir)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *main_path = NULL;
	const gchar *extra_env[] = {"SBX_DENO_CONTROL", dir, "DENO_NO_UPDATE_CHECK", "1", NULL};
	SbxGwCall *call = g_steal_pointer(&deno->start_call);

	deno->dir = g_strdup(dir);
	g_ptr_array_add(argv, g_strdup(DENO_BINARY));
	g_ptr_array_add(argv, g_strdup("run"));
	g_ptr_array_add(argv, g_strdup("-A"));
	if (!deno->repl)
		g_ptr_array_add(argv, g_strdup("--preload"));
	g_ptr_array_add(argv, g_strdup(DENO_HARNESS));
	for (guint i = 0; deno->argv_tail[i] != NULL; i++) {
		/* "@main.EXT": the inline code the harness writes into the folder */
		if (i == 0 && !deno->repl && deno->argv_tail[0][0] == '@')
			g_ptr_array_add(argv,
					g_strdup_printf("%s/%s", dir, deno->argv_tail[0] + 1));
		else
			g_ptr_array_add(argv, g_strdup(deno->argv_tail[i]));
	}
	g_ptr_array_add(argv, NULL);
	/* the init request waits in the pipe until the harness opens its FIFO */
	deno_write(deno, g_steal_pointer(&deno->init_line));
	sbx_gw_process_spawn_argv(call, (const gchar *const *)argv->pdata, extra_env,
				  deno_harness_spawned, deno_ref(deno));
}

static void
deno_control_spawned(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(SbxGwDeno) deno = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;

	reply = g_dbus_proxy_call_with_unix_fd_list_finish(G_DBUS_PROXY(source), NULL, res, &error);
	if (reply == NULL) {
		deno_start_failed(deno, error);
		return;
	}
	g_variant_get(reply, "(o)", &deno->control_path);
	/* its first line names the folder */
	deno_read_next(deno);
}

static void
deno_start(SbxGwCall *call, gboolean repl, gchar *init_line, GPtrArray *argv_tail)
{
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_autoptr(GError) error = NULL;
	SbxGwDeno *deno;
	GHashTable *table = deno_table(call->conn);
	const gchar *argv[] = {DENO_CONTROL, NULL};
	const gchar *user = call->conn->server->config->user;
	gint to_guest = -1;
	gint from_guest = -1;
	gint h_in;
	gint h_out;

	/* what has exited and been told so is forgotten before counting */
	g_hash_table_foreach_remove(table, deno_is_done, NULL);
	if (g_hash_table_size(table) >= DENO_MAX_PER_SOCKET) {
		g_free(init_line);
		sbx_gw_call_return_literal(call, "Error", "ELIMIT",
					   "too many Deno processes on this socket");
		return;
	}
	deno = g_rc_box_new0(SbxGwDeno);
	deno->conn = g_object_ref(call->conn);
	deno->bus =
	    g_object_ref(g_dbus_proxy_get_connection(G_DBUS_PROXY(call->conn->sandbox->proxy)));
	deno->repl = repl;
	deno->eval_timeout_s = call->conn->server->config->deno_eval_timeout_s;
	deno->start_call = call;
	deno->init_line = init_line;
	g_ptr_array_add(argv_tail, NULL);
	deno->argv_tail = (GStrv)g_ptr_array_steal(argv_tail, NULL);
	deno->cancellable = g_cancellable_new();
	deno->line = g_byte_array_new();
	g_queue_init(&deno->writes);
	g_queue_init(&deno->requests);
	g_queue_init(&deno->waiters);
	if ((h_in = sbx_gw_process_add_pipe(fds, TRUE, &to_guest, &error)) < 0 ||
	    (h_out = sbx_gw_process_add_pipe(fds, FALSE, &from_guest, &error)) < 0) {
		if (to_guest >= 0)
			close(to_guest);
		deno_start_failed(deno, error);
		deno_unref(deno);
		return;
	}
	deno->to_guest = g_unix_output_stream_new(to_guest, TRUE);
	deno->from_guest = g_unix_input_stream_new(from_guest, TRUE);
	if (user[0] != '\0')
		g_variant_builder_add(&options, "{sv}", "user", g_variant_new_string(user));
	deno->timeout_id = g_timeout_add_seconds(DENO_START_TIMEOUT_S, deno_start_timed_out, deno);
	g_dbus_proxy_call_with_unix_fd_list(
	    G_DBUS_PROXY(call->conn->sandbox->proxy), "Spawn",
	    g_variant_new("(^asa{sv}hhh)", (gchar **)argv, &options, h_in, h_out, -1),
	    G_DBUS_CALL_FLAGS_NONE, -1, fds, deno->cancellable, deno_control_spawned, deno);
}

/* --- methods --- */

static gboolean
get_script_args(SbxGwCall *call, GPtrArray *tail, GError **error)
{
	g_autoptr(GPtrArray) args = NULL;

	if (!sbx_gw_rpc_get_string_array(call->params, "scriptArgs", &args, error))
		return FALSE;
	for (guint i = 0; args != NULL && i < args->len; i++)
		g_ptr_array_add(tail, g_strdup(g_ptr_array_index(args, i)));
	return TRUE;
}

static gchar *
init_line(const gchar *code, const gchar *extension)
{
	g_autoptr(JsonBuilder) b = json_builder_new_immutable();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "init");
	json_builder_begin_object(b);
	if (code != NULL) {
		json_builder_set_member_name(b, "code");
		json_builder_add_string_value(b, code);
		json_builder_set_member_name(b, "extension");
		json_builder_add_string_value(b, extension);
	}
	json_builder_end_object(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	return json_generator_to_data(gen, NULL);
}

void
sbx_gw_deno_spawn(SbxGwCall *call)
{
	static const gchar *const extensions[] = {"js",	 "cjs", "mjs", "ts", "cts",
						  "mts", "jsx", "tsx", NULL};
	g_autoptr(GPtrArray) tail = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	const gchar *entrypoint = NULL;
	const gchar *code = NULL;
	const gchar *extension = "ts";
	JsonNode *watch = json_object_get_member(call->params, "watch");

	if (!sbx_gw_rpc_get_string(call->params, "entrypoint", FALSE, &entrypoint, &error) ||
	    !sbx_gw_rpc_get_string(call->params, "code", FALSE, &code, &error) ||
	    !sbx_gw_rpc_get_string(call->params, "extension", FALSE, &extension, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if ((entrypoint == NULL) == (code == NULL)) {
		sbx_gw_call_return_literal(call, "TypeError", "EINVAL",
					   "give either entrypoint or code");
		return;
	}
	if (watch != NULL && !json_node_is_null(watch) &&
	    !(JSON_NODE_HOLDS_VALUE(watch) && !json_node_get_boolean(watch))) {
		sbx_gw_call_return_literal(call, "NotSupported", "ENOTSUP",
					   "watch is not supported by this server "
					   "(sandboxd-gateway)");
		return;
	}
	if (code != NULL && !g_strv_contains(extensions, extension)) {
		sbx_gw_call_return_literal(call, "TypeError", "EINVAL",
					   "extension: expected js, cjs, mjs, ts, cts, mts, jsx "
					   "or tsx");
		return;
	}
	if (code != NULL && strlen(code) > DENO_MAX_CODE) {
		sbx_gw_call_return_literal(call, "Error", "ELIMIT", "code: larger than 4 MiB");
		return;
	}
	/* deno would take a leading "-" as one of its own flags */
	if (entrypoint != NULL && (entrypoint[0] == '-' || entrypoint[0] == '\0')) {
		sbx_gw_call_return_literal(call, "TypeError", "EINVAL",
					   "entrypoint: a path or URL");
		return;
	}
	if (entrypoint != NULL)
		g_ptr_array_add(tail, g_strdup(entrypoint));
	else
		g_ptr_array_add(tail, g_strdup_printf("@main.%s", extension));
	if (!get_script_args(call, tail, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	deno_start(call, FALSE, init_line(code, extension), tail);
}

void
sbx_gw_deno_spawn_repl(SbxGwCall *call)
{
	g_autoptr(GPtrArray) tail = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;

	if (!get_script_args(call, tail, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	deno_start(call, TRUE, init_line(NULL, NULL), tail);
}

static SbxGwDeno *
lookup(SbxGwCall *call, gboolean repl, GError **error)
{
	gint64 pid = 0;
	SbxGwDeno *deno;

	if (!sbx_gw_rpc_get_int(call->params, "pid", TRUE, &pid, error))
		return NULL;
	deno = g_hash_table_lookup(deno_table(call->conn),
				   GUINT_TO_POINTER((guint)CLAMP(pid, 0, G_MAXUINT)));
	if (deno == NULL || (repl && !deno->repl)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no Deno %s with pid %" G_GINT64_FORMAT
			    " on this socket (it has exited or was closed)",
			    repl ? "REPL" : "process", pid);
		return NULL;
	}
	return deno;
}

static void
deno_queue(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	SbxGwDeno *deno = lookup(call, TRUE, &error);

	if (deno == NULL) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if (deno->exited) {
		sbx_gw_call_return_literal(call, "BadResource", "ESRCH",
					   "the Deno process has exited");
		return;
	}
	g_queue_push_tail(&deno->requests, call);
	deno_send_head(deno);
}

void
sbx_gw_deno_repl_eval(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	const gchar *code = NULL;

	if (!sbx_gw_rpc_get_string(call->params, "code", TRUE, &code, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if (strlen(code) > DENO_MAX_CODE) {
		sbx_gw_call_return_literal(call, "Error", "ELIMIT", "code: larger than 4 MiB");
		return;
	}
	deno_queue(call);
}

void
sbx_gw_deno_repl_call(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonGenerator) gen = json_generator_new();
	const gchar *fn = NULL;
	JsonNode *args = json_object_get_member(call->params, "args");
	gsize len = 0;

	if (!sbx_gw_rpc_get_string(call->params, "fn", TRUE, &fn, &error)) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if (args == NULL || !JSON_NODE_HOLDS_ARRAY(args)) {
		sbx_gw_call_return_literal(call, "TypeError", "EINVAL", "args: expected an array");
		return;
	}
	json_generator_set_root(gen, args);
	g_free(json_generator_to_data(gen, &len));
	if (strlen(fn) + len > DENO_MAX_CODE) {
		sbx_gw_call_return_literal(call, "Error", "ELIMIT",
					   "fn and args: larger than 4 MiB");
		return;
	}
	deno_queue(call);
}

static void
close_killed(GObject *source, GAsyncResult *res, gpointer data)
{
	SbxGwCall *call = data;
	g_autoptr(GVariant) reply =
	    g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, NULL);
	/* NotRunning: it had already exited, which is what close wants */
	sbx_gw_call_return(call, NULL);
}

void
sbx_gw_deno_repl_close(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	SbxGwDeno *deno = lookup(call, TRUE, &error);
	guint pid;

	if (deno == NULL) {
		sbx_gw_call_return_literal(call, "NotFound", "ENOENT", error->message);
		return;
	}
	pid = deno->pid;
	deno_fail_requests(deno, "the REPL was closed");
	deno_close_control(deno);
	g_dbus_connection_call(deno->bus, DENO_BUS_NAME, deno->harness_path,
			       "org.sandboxd.Process1", "Kill", NULL, NULL, G_DBUS_CALL_FLAGS_NONE,
			       -1, NULL, close_killed, call);
	/* its exit still reaches processWait through the process table */
	if (deno->exited)
		g_hash_table_remove(deno_table(call->conn), GUINT_TO_POINTER(pid));
}

void
sbx_gw_deno_http_wait(SbxGwCall *call)
{
	g_autoptr(GError) error = NULL;
	SbxGwDeno *deno = lookup(call, FALSE, &error);

	if (deno == NULL) {
		sbx_gw_call_return_error(call, error);
		return;
	}
	if (deno->listening || deno->exited) {
		deno->http_answered = TRUE;
		sbx_gw_call_return(call,
				   json_node_init_boolean(json_node_alloc(), deno->listening));
		return;
	}
	g_queue_push_tail(&deno->waiters, call);
}

void
sbx_gw_deno_conn_closed(SbxGwConn *conn)
{
	GHashTable *table = g_object_get_data(G_OBJECT(conn), "sbx-gw-deno");
	GHashTableIter iter;
	gpointer value;

	if (table == NULL)
		return;
	g_hash_table_iter_init(&iter, table);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		SbxGwDeno *deno = value;
		/* a REPL is nothing without its socket; deno.run programs live on as spawn's */
		if (deno->repl && !deno->exited)
			deno_kill_object(deno, deno->harness_path);
		deno_answer_waiters(deno, FALSE);
		deno_fail_requests(deno, "the socket closed");
	}
	g_object_set_data(G_OBJECT(conn), "sbx-gw-deno", NULL);
}
