/* encoders and strict parsers for agent protocol payloads. The encoders
 * refuse what the peer would refuse (SBX_ERROR_INVALID_ARGUMENT); the
 * parsers treat every payload as hostile (SBX_ERROR_PROTOCOL).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "sbx-error.h"
#include "sbx-proto.h"

void
sbx_proto_exec_clear(SbxProtoExec *exec)
{
	g_clear_pointer(&exec->argv, g_strfreev);
	g_clear_pointer(&exec->envp, g_strfreev);
	g_clear_pointer(&exec->cwd, g_free);
	g_clear_pointer(&exec->user, g_free);
}

void
sbx_proto_hello_reply_clear(SbxProtoHelloReply *reply)
{
	g_clear_pointer(&reply->agent_version, g_free);
}

/* encoding */

GBytes *
sbx_proto_encode_frame(SbxMsgType type, guint16 flags, guint32 channel, const guint8 *payload,
		       gsize len)
{
	SbxFrameHeader h = {.type = type, .flags = flags, .channel = channel, .length = len};
	guint8 *buf;

	g_return_val_if_fail(len <= SBX_PROTO_MAX_PAYLOAD, NULL);
	buf = g_malloc(SBX_PROTO_HEADER_SIZE + len);
	sbx_proto_header_encode(buf, &h);
	if (len > 0)
		memcpy(buf + SBX_PROTO_HEADER_SIZE, payload, len);
	return g_bytes_new_take(buf, SBX_PROTO_HEADER_SIZE + len);
}

static GBytes *
sbx_proto_encode_u32s(SbxMsgType type, guint16 flags, guint32 channel, const guint32 *v, guint n)
{
	guint8 buf[16];
	g_assert(n <= 4);
	for (guint i = 0; i < n; i++)
		sbx_proto_put_u32(buf + 4 * i, v[i]);
	return sbx_proto_encode_frame(type, flags, channel, buf, 4 * n);
}

/* u32s followed by a string that fills the rest of the payload */
static GBytes *
sbx_proto_encode_u32s_string(SbxMsgType type, guint32 channel, const guint32 *v, guint n,
			     const gchar *str)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	gsize slen = str != NULL ? strlen(str) : 0;

	g_return_val_if_fail(4 * n + slen <= SBX_PROTO_MAX_PAYLOAD, NULL);
	for (guint i = 0; i < n; i++) {
		guint8 tmp[4];
		sbx_proto_put_u32(tmp, v[i]);
		g_byte_array_append(buf, tmp, 4);
	}
	if (slen > 0)
		g_byte_array_append(buf, (const guint8 *)str, slen);
	return sbx_proto_encode_frame(type, 0, channel, buf->data, buf->len);
}

GBytes *
sbx_proto_encode_hello(guint32 min_version, guint32 max_version)
{
	guint32 v[] = {SBX_PROTO_MAGIC, min_version, max_version};
	return sbx_proto_encode_u32s(SBX_MSG_HELLO, 0, 0, v, G_N_ELEMENTS(v));
}

static gboolean
sbx_proto_put_string(GByteArray *buf, const gchar *what, const gchar *str, GError **error)
{
	gsize len = strlen(str);
	guint8 tmp[4];

	if (len > SBX_PROTO_MAX_STRING) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "%s is %" G_GSIZE_FORMAT " bytes long, at most %u are allowed", what,
			    len, SBX_PROTO_MAX_STRING);
		return FALSE;
	}
	sbx_proto_put_u32(tmp, (guint32)len);
	g_byte_array_append(buf, tmp, 4);
	g_byte_array_append(buf, (const guint8 *)str, len);
	return TRUE;
}

static void
sbx_proto_put_u32_array(GByteArray *buf, guint32 v)
{
	guint8 tmp[4];
	sbx_proto_put_u32(tmp, v);
	g_byte_array_append(buf, tmp, 4);
}

GBytes *
sbx_proto_encode_exec(guint32 channel, const SbxProtoExec *exec, GError **error)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	guint argc = exec->argv != NULL ? g_strv_length(exec->argv) : 0;
	guint envc = exec->envp != NULL ? g_strv_length(exec->envp) : 0;

	g_return_val_if_fail(channel != 0, NULL);

	if (argc == 0) {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "the command line is empty");
		return NULL;
	}
	if (argc > SBX_PROTO_MAX_ARGS) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "%u arguments given, at most %u are allowed", argc, SBX_PROTO_MAX_ARGS);
		return NULL;
	}
	if (envc > SBX_PROTO_MAX_ENV) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "%u environment variables given, at most %u are allowed", envc,
			    SBX_PROTO_MAX_ENV);
		return NULL;
	}
	if (exec->cwd != NULL && exec->cwd[0] != '\0' && exec->cwd[0] != '/') {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "working directory '%s' is not absolute", exec->cwd);
		return NULL;
	}

	sbx_proto_put_u32_array(buf, exec->flags);
	sbx_proto_put_u32_array(buf, exec->stdout_window);
	sbx_proto_put_u32_array(buf, exec->stderr_window);
	sbx_proto_put_u32_array(buf, exec->uid);
	sbx_proto_put_u32_array(buf, exec->gid);
	sbx_proto_put_u32_array(buf, exec->timeout_ms);
	sbx_proto_put_u32_array(buf, argc);
	for (guint i = 0; i < argc; i++) {
		if (!sbx_proto_put_string(buf, "an argument", exec->argv[i], error))
			return NULL;
		/* checked as we go so a huge argv is refused early */
		if (buf->len > SBX_PROTO_MAX_PAYLOAD)
			break;
	}
	sbx_proto_put_u32_array(buf, envc);
	for (guint i = 0; i < envc && buf->len <= SBX_PROTO_MAX_PAYLOAD; i++) {
		const gchar *eq = strchr(exec->envp[i], '=');
		if (eq == NULL || eq == exec->envp[i]) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "environment entry '%s' is not KEY=VALUE", exec->envp[i]);
			return NULL;
		}
		if (!sbx_proto_put_string(buf, "an environment entry", exec->envp[i], error))
			return NULL;
	}
	if (!sbx_proto_put_string(buf, "the working directory", exec->cwd != NULL ? exec->cwd : "",
				  error))
		return NULL;
	if (exec->flags & SBX_EXEC_PTY) {
		sbx_proto_put_u32_array(buf, exec->rows);
		sbx_proto_put_u32_array(buf, exec->cols);
	}
	if (exec->flags & SBX_EXEC_USER_NAME) {
		if (exec->user == NULL || exec->user[0] == '\0') {
			g_set_error_literal(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
					    "the user name is empty");
			return NULL;
		}
		if (!sbx_proto_put_string(buf, "the user name", exec->user, error))
			return NULL;
	}
	if (buf->len > SBX_PROTO_MAX_PAYLOAD) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "the command line, environment and working directory are too "
			    "large (at most %u bytes encoded)",
			    SBX_PROTO_MAX_PAYLOAD);
		return NULL;
	}
	return sbx_proto_encode_frame(SBX_MSG_EXEC, 0, channel, buf->data, buf->len);
}

GBytes *
sbx_proto_encode_data(guint32 channel, SbxStream stream, const guint8 *data, gsize len)
{
	g_return_val_if_fail(len >= 1 && len <= SBX_PROTO_MAX_PAYLOAD, NULL);
	return sbx_proto_encode_frame(SBX_MSG_DATA, stream, channel, data, len);
}

GBytes *
sbx_proto_encode_eof(guint32 channel, SbxStream stream)
{
	return sbx_proto_encode_frame(SBX_MSG_EOF, stream, channel, NULL, 0);
}

GBytes *
sbx_proto_encode_credit(guint32 channel, SbxStream stream, guint32 bytes)
{
	return sbx_proto_encode_u32s(SBX_MSG_CREDIT, stream, channel, &bytes, 1);
}

GBytes *
sbx_proto_encode_resize(guint32 channel, guint32 rows, guint32 cols)
{
	guint32 v[] = {rows, cols};
	return sbx_proto_encode_u32s(SBX_MSG_RESIZE, 0, channel, v, G_N_ELEMENTS(v));
}

GBytes *
sbx_proto_encode_signal(guint32 channel, gint32 signum, guint32 flags)
{
	guint32 v[] = {(guint32)signum, flags};
	return sbx_proto_encode_u32s(SBX_MSG_SIGNAL, 0, channel, v, G_N_ELEMENTS(v));
}

GBytes *
sbx_proto_encode_ping(SbxMsgType type, const guint8 *data, gsize len)
{
	g_return_val_if_fail(type == SBX_MSG_PING || type == SBX_MSG_PONG, NULL);
	g_return_val_if_fail(len <= SBX_PROTO_MAX_PING, NULL);
	return sbx_proto_encode_frame(type, 0, 0, data, len);
}

GBytes *
sbx_proto_encode_hello_reply(guint32 magic, guint32 version, guint32 features,
			     const gchar *agent_version)
{
	guint32 v[] = {magic, version, features};
	return sbx_proto_encode_u32s_string(SBX_MSG_HELLO_REPLY, 0, v, G_N_ELEMENTS(v),
					    agent_version);
}

GBytes *
sbx_proto_encode_exec_started(guint32 channel, guint32 pid, guint32 stdin_window)
{
	guint32 v[] = {pid, stdin_window};
	return sbx_proto_encode_u32s(SBX_MSG_EXEC_STARTED, 0, channel, v, G_N_ELEMENTS(v));
}

GBytes *
sbx_proto_encode_exec_failed(guint32 channel, gint32 err, const gchar *message)
{
	guint32 v[] = {(guint32)err};
	return sbx_proto_encode_u32s_string(SBX_MSG_EXEC_FAILED, channel, v, 1, message);
}

GBytes *
sbx_proto_encode_exit(guint32 channel, gint32 exit_code, gint32 signum, guint32 flags)
{
	guint32 v[] = {(guint32)exit_code, (guint32)signum, flags};
	return sbx_proto_encode_u32s(SBX_MSG_EXIT, 0, channel, v, G_N_ELEMENTS(v));
}

GBytes *
sbx_proto_encode_error(guint32 channel, guint32 code, const gchar *message)
{
	return sbx_proto_encode_u32s_string(SBX_MSG_ERROR, channel, &code, 1, message);
}

/* parsing */

typedef struct {
	const guint8 *p;
	gsize len;
	const gchar *what; /* message name for errors */
} SbxReader;

static gboolean
sbx_reader_fail(SbxReader *r, GError **error, const gchar *why)
{
	g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL, "malformed %s: %s", r->what, why);
	return FALSE;
}

static gboolean
sbx_reader_u32(SbxReader *r, guint32 *v, GError **error)
{
	if (r->len < 4)
		return sbx_reader_fail(r, error, "payload too short");
	*v = sbx_proto_get_u32(r->p);
	r->p += 4;
	r->len -= 4;
	return TRUE;
}

static gboolean
sbx_reader_exact(SbxReader *r, gsize len, GError **error)
{
	if (r->len != len) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_PROTOCOL,
			    "malformed %s: payload is %" G_GSIZE_FORMAT
			    " bytes, expected %" G_GSIZE_FORMAT,
			    r->what, r->len, len);
		return FALSE;
	}
	return TRUE;
}

/* a length-prefixed string without NUL bytes */
static gboolean
sbx_reader_string(SbxReader *r, gchar **out, GError **error)
{
	guint32 len = 0;
	if (!sbx_reader_u32(r, &len, error))
		return FALSE;
	if (len > SBX_PROTO_MAX_STRING)
		return sbx_reader_fail(r, error, "string too long");
	if (len > r->len)
		return sbx_reader_fail(r, error, "string runs past the payload");
	if (memchr(r->p, '\0', len) != NULL)
		return sbx_reader_fail(r, error, "string contains a NUL byte");
	*out = g_strndup((const gchar *)r->p, len);
	r->p += len;
	r->len -= len;
	return TRUE;
}

/* the rest of the payload as a message shown to people */
static gboolean
sbx_reader_text(SbxReader *r, gsize max, gchar **out, GError **error)
{
	if (r->len > max)
		return sbx_reader_fail(r, error, "text too long");
	if (memchr(r->p, '\0', r->len) != NULL)
		return sbx_reader_fail(r, error, "text contains a NUL byte");
	if (!g_utf8_validate((const gchar *)r->p, r->len, NULL))
		return sbx_reader_fail(r, error, "text is not valid UTF-8");
	*out = g_strndup((const gchar *)r->p, r->len);
	r->p += r->len;
	r->len = 0;
	return TRUE;
}

gboolean
sbx_proto_parse_hello(const guint8 *p, gsize len, guint32 *min_version, guint32 *max_version,
		      GError **error)
{
	SbxReader r = {p, len, "HELLO"};
	guint32 magic = 0;
	if (!sbx_reader_exact(&r, 12, error))
		return FALSE;
	sbx_reader_u32(&r, &magic, NULL);
	sbx_reader_u32(&r, min_version, NULL);
	sbx_reader_u32(&r, max_version, NULL);
	if (magic != SBX_PROTO_MAGIC)
		return sbx_reader_fail(&r, error, "bad magic");
	if (*min_version > *max_version)
		return sbx_reader_fail(&r, error, "empty version range");
	return TRUE;
}

gboolean
sbx_proto_parse_hello_reply(const guint8 *p, gsize len, SbxProtoHelloReply *reply, GError **error)
{
	SbxReader r = {p, len, "HELLO_REPLY"};
	g_autofree gchar *version = NULL;
	if (!sbx_reader_u32(&r, &reply->magic, error) ||
	    !sbx_reader_u32(&r, &reply->version, error) ||
	    !sbx_reader_u32(&r, &reply->features, error))
		return FALSE;
	if (reply->magic != SBX_PROTO_MAGIC)
		return sbx_reader_fail(&r, error, "bad magic");
	if (!sbx_reader_text(&r, SBX_PROTO_MAX_AGENT_VERSION, &version, error))
		return FALSE;
	g_free(reply->agent_version);
	reply->agent_version = g_steal_pointer(&version);
	return TRUE;
}

gboolean
sbx_proto_parse_exec(const guint8 *p, gsize len, SbxProtoExec *exec, GError **error)
{
	SbxReader r = {p, len, "EXEC"};
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) envp = g_ptr_array_new_with_free_func(g_free);
	g_autofree gchar *cwd = NULL;
	g_autofree gchar *user = NULL;
	guint32 argc = 0;
	guint32 envc = 0;
	guint32 rows = 0;
	guint32 cols = 0;

	if (len > SBX_PROTO_MAX_PAYLOAD)
		return sbx_reader_fail(&r, error, "payload too long");
	if (!sbx_reader_u32(&r, &exec->flags, error) ||
	    !sbx_reader_u32(&r, &exec->stdout_window, error) ||
	    !sbx_reader_u32(&r, &exec->stderr_window, error) ||
	    !sbx_reader_u32(&r, &exec->uid, error) || !sbx_reader_u32(&r, &exec->gid, error) ||
	    !sbx_reader_u32(&r, &exec->timeout_ms, error) || !sbx_reader_u32(&r, &argc, error))
		return FALSE;
	if (argc == 0 || argc > SBX_PROTO_MAX_ARGS)
		return sbx_reader_fail(&r, error, "bad argument count");
	for (guint32 i = 0; i < argc; i++) {
		gchar *s = NULL;
		if (!sbx_reader_string(&r, &s, error))
			return FALSE;
		g_ptr_array_add(argv, s);
	}
	if (!sbx_reader_u32(&r, &envc, error))
		return FALSE;
	if (envc > SBX_PROTO_MAX_ENV)
		return sbx_reader_fail(&r, error, "too many environment entries");
	for (guint32 i = 0; i < envc; i++) {
		gchar *s = NULL;
		if (!sbx_reader_string(&r, &s, error))
			return FALSE;
		g_ptr_array_add(envp, s);
	}
	if (!sbx_reader_string(&r, &cwd, error))
		return FALSE;
	if ((exec->flags & SBX_EXEC_PTY) &&
	    (!sbx_reader_u32(&r, &rows, error) || !sbx_reader_u32(&r, &cols, error)))
		return FALSE;
	if ((exec->flags & SBX_EXEC_USER_NAME) && !sbx_reader_string(&r, &user, error))
		return FALSE;
	if (r.len != 0)
		return sbx_reader_fail(&r, error, "trailing bytes");
	g_ptr_array_add(argv, NULL);
	g_ptr_array_add(envp, NULL);
	sbx_proto_exec_clear(exec);
	exec->argv = (gchar **)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
	exec->envp = (gchar **)g_ptr_array_free(g_steal_pointer(&envp), FALSE);
	exec->cwd = g_steal_pointer(&cwd);
	exec->rows = rows;
	exec->cols = cols;
	exec->user = g_steal_pointer(&user);
	return TRUE;
}

gboolean
sbx_proto_parse_resize(const guint8 *p, gsize len, guint32 *rows, guint32 *cols, GError **error)
{
	SbxReader r = {p, len, "RESIZE"};
	if (!sbx_reader_exact(&r, 8, error))
		return FALSE;
	sbx_reader_u32(&r, rows, NULL);
	sbx_reader_u32(&r, cols, NULL);
	return TRUE;
}

gboolean
sbx_proto_parse_exec_started(const guint8 *p, gsize len, guint32 *pid, guint32 *stdin_window,
			     GError **error)
{
	SbxReader r = {p, len, "EXEC_STARTED"};
	if (!sbx_reader_exact(&r, 8, error))
		return FALSE;
	sbx_reader_u32(&r, pid, NULL);
	sbx_reader_u32(&r, stdin_window, NULL);
	return TRUE;
}

gboolean
sbx_proto_parse_exec_failed(const guint8 *p, gsize len, gint32 *err, gchar **message,
			    GError **error)
{
	SbxReader r = {p, len, "EXEC_FAILED"};
	guint32 v = 0;
	if (!sbx_reader_u32(&r, &v, error))
		return FALSE;
	if (!sbx_reader_text(&r, SBX_PROTO_MAX_MESSAGE, message, error))
		return FALSE;
	*err = (gint32)v;
	return TRUE;
}

gboolean
sbx_proto_parse_exit(const guint8 *p, gsize len, gint32 *exit_code, gint32 *signum, guint32 *flags,
		     GError **error)
{
	SbxReader r = {p, len, "EXIT"};
	guint32 code = 0;
	guint32 sig = 0;
	if (!sbx_reader_exact(&r, 12, error))
		return FALSE;
	sbx_reader_u32(&r, &code, NULL);
	sbx_reader_u32(&r, &sig, NULL);
	sbx_reader_u32(&r, flags, NULL);
	/* linux signals are 1..64 */
	if (sig > 64)
		return sbx_reader_fail(&r, error, "bad signal number");
	if (sig == 0 && code > 255)
		return sbx_reader_fail(&r, error, "bad exit code");
	if ((*flags & ~(guint32)SBX_EXIT_TIMED_OUT) != 0)
		return sbx_reader_fail(&r, error, "unknown flags");
	*exit_code = sig == 0 ? (gint32)code : -1;
	*signum = (gint32)sig;
	return TRUE;
}

gboolean
sbx_proto_parse_credit(const guint8 *p, gsize len, guint32 *bytes, GError **error)
{
	SbxReader r = {p, len, "CREDIT"};
	if (!sbx_reader_exact(&r, 4, error))
		return FALSE;
	sbx_reader_u32(&r, bytes, NULL);
	return TRUE;
}

gboolean
sbx_proto_parse_signal(const guint8 *p, gsize len, gint32 *signum, guint32 *flags, GError **error)
{
	SbxReader r = {p, len, "SIGNAL"};
	guint32 sig = 0;
	if (!sbx_reader_exact(&r, 8, error))
		return FALSE;
	sbx_reader_u32(&r, &sig, NULL);
	sbx_reader_u32(&r, flags, NULL);
	if (sig == 0 || sig > 64)
		return sbx_reader_fail(&r, error, "bad signal number");
	if ((*flags & ~(guint32)SBX_SIGNAL_GROUP) != 0)
		return sbx_reader_fail(&r, error, "unknown flags");
	*signum = (gint32)sig;
	return TRUE;
}

gboolean
sbx_proto_parse_error(const guint8 *p, gsize len, guint32 *code, gchar **message, GError **error)
{
	SbxReader r = {p, len, "ERROR"};
	if (!sbx_reader_u32(&r, code, error))
		return FALSE;
	return sbx_reader_text(&r, SBX_PROTO_MAX_MESSAGE, message, error);
}

gboolean
sbx_proto_parse_ping(const guint8 *p, gsize len, GError **error)
{
	SbxReader r = {p, len, "PING"};
	if (len > SBX_PROTO_MAX_PING)
		return sbx_reader_fail(&r, error, "payload too long");
	return TRUE;
}

static void
sbx_proto_put_bytes(GByteArray *buf, const guint8 *data, gsize len)
{
	sbx_proto_put_u32_array(buf, (guint32)len);
	g_byte_array_append(buf, data, (guint)len);
}

GBytes *
sbx_proto_encode_identity(const SbxProtoIdentity *identity, GError **error)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	const gchar *net = identity->net != NULL ? identity->net : "";
	guint n_env = identity->env != NULL ? g_strv_length((gchar **)identity->env) : 0;

	if (identity->entropy_len < SBX_IDENTITY_ENTROPY_MIN ||
	    identity->entropy_len > SBX_IDENTITY_ENTROPY_MAX || identity->hostname == NULL ||
	    identity->hostname[0] == '\0' ||
	    strlen(identity->hostname) > SBX_IDENTITY_HOSTNAME_MAX ||
	    identity->machine_id == NULL || strlen(identity->machine_id) != 32 ||
	    strlen(net) > SBX_IDENTITY_NET_MAX || n_env > SBX_IDENTITY_ENV_MAX) {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "identity out of bounds");
		return NULL;
	}
	sbx_proto_put_u32_array(buf, (guint32)((guint64)identity->realtime_us & 0xffffffffu));
	sbx_proto_put_u32_array(buf, (guint32)((guint64)identity->realtime_us >> 32));
	sbx_proto_put_bytes(buf, identity->entropy, identity->entropy_len);
	sbx_proto_put_bytes(buf, (const guint8 *)identity->hostname, strlen(identity->hostname));
	sbx_proto_put_bytes(buf, (const guint8 *)identity->machine_id, 32);
	sbx_proto_put_bytes(buf, (const guint8 *)net, strlen(net));
	sbx_proto_put_u32_array(buf, n_env);
	for (guint i = 0; i < n_env; i++) {
		if (!sbx_proto_put_string(buf, "environment entry", identity->env[i], error))
			return NULL;
	}
	if (buf->len > SBX_PROTO_MAX_PAYLOAD) {
		g_set_error_literal(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "identity larger than one frame");
		return NULL;
	}
	return sbx_proto_encode_frame(SBX_MSG_IDENTITY, 0, 0, buf->data, buf->len);
}
