/* encoders and strict parsers for agent protocol payloads (sbx-protocol.h).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-protocol.h"

G_BEGIN_DECLS

/* bounds the host puts on strings the guest sends (shown to users) */
#define SBX_PROTO_MAX_AGENT_VERSION 256u
#define SBX_PROTO_MAX_MESSAGE 4096u
#define SBX_PROTO_MAX_PING 64u

typedef struct {
	guint32 flags; /* SbxExecFlags */
	guint32 stdout_window;
	guint32 stderr_window;
	guint32 uid;
	guint32 gid;
	guint32 timeout_ms;
	gchar **argv; /* NULL-terminated, >= 1 element */
	gchar **envp; /* NULL-terminated, may be NULL when encoding */
	gchar *cwd;   /* NULL or "" = agent default */
	guint32 rows; /* with SBX_EXEC_PTY */
	guint32 cols;
	gchar *user; /* with SBX_EXEC_USER_NAME: non-empty */
} SbxProtoExec;

void sbx_proto_exec_clear(SbxProtoExec *exec);

typedef struct {
	guint32 magic;
	guint32 version;
	guint32 features;
	gchar *agent_version; /* valid UTF-8, may be "" */
} SbxProtoHelloReply;

void sbx_proto_hello_reply_clear(SbxProtoHelloReply *reply);

/* a whole frame (header + payload); @len <= SBX_PROTO_MAX_PAYLOAD */
GBytes *sbx_proto_encode_frame(SbxMsgType type, guint16 flags, guint32 channel,
			       const guint8 *payload, gsize len);

/* host -> guest */
GBytes *sbx_proto_encode_hello(guint32 min_version, guint32 max_version);
GBytes *sbx_proto_encode_exec(guint32 channel, const SbxProtoExec *exec, GError **error);
GBytes *sbx_proto_encode_data(guint32 channel, SbxStream stream, const guint8 *data, gsize len);
GBytes *sbx_proto_encode_eof(guint32 channel, SbxStream stream);
GBytes *sbx_proto_encode_credit(guint32 channel, SbxStream stream, guint32 bytes);
GBytes *sbx_proto_encode_signal(guint32 channel, gint32 signum, guint32 flags);
GBytes *sbx_proto_encode_resize(guint32 channel, guint32 rows, guint32 cols);
GBytes *sbx_proto_encode_ping(SbxMsgType type, const guint8 *data, gsize len);

/* guest -> host (used by tests and fuzz seeds) */
/* what a restored clone gets to become itself (IDENTITY) */
typedef struct {
	gint64 realtime_us;
	const guint8 *entropy;
	gsize entropy_len;
	const gchar *hostname;
	const gchar *machine_id; /* 32 lower-case hex */
	const gchar *net;	 /* sbx.ip= ... words, or NULL */
	const gchar *const *env; /* KEY=VALUE, or NULL */
} SbxProtoIdentity;

GBytes *sbx_proto_encode_identity(const SbxProtoIdentity *identity, GError **error);
GBytes *sbx_proto_encode_hello_reply(guint32 magic, guint32 version, guint32 features,
				     const gchar *agent_version);
GBytes *sbx_proto_encode_exec_started(guint32 channel, guint32 pid, guint32 stdin_window);
GBytes *sbx_proto_encode_exec_failed(guint32 channel, gint32 err, const gchar *message);
GBytes *sbx_proto_encode_exit(guint32 channel, gint32 exit_code, gint32 signum, guint32 flags);
GBytes *sbx_proto_encode_error(guint32 channel, guint32 code, const gchar *message);

/* parsers: @p/@len is a frame payload; every one checks the exact length and
 * fails with SBX_ERROR_PROTOCOL */
gboolean sbx_proto_parse_hello(const guint8 *p, gsize len, guint32 *min_version,
			       guint32 *max_version, GError **error);
gboolean sbx_proto_parse_hello_reply(const guint8 *p, gsize len, SbxProtoHelloReply *reply,
				     GError **error);
gboolean sbx_proto_parse_exec(const guint8 *p, gsize len, SbxProtoExec *exec, GError **error);
gboolean sbx_proto_parse_exec_started(const guint8 *p, gsize len, guint32 *pid,
				      guint32 *stdin_window, GError **error);
gboolean sbx_proto_parse_exec_failed(const guint8 *p, gsize len, gint32 *err, gchar **message,
				     GError **error);
gboolean sbx_proto_parse_exit(const guint8 *p, gsize len, gint32 *exit_code, gint32 *signum,
			      guint32 *flags, GError **error);
gboolean sbx_proto_parse_credit(const guint8 *p, gsize len, guint32 *bytes, GError **error);
gboolean sbx_proto_parse_signal(const guint8 *p, gsize len, gint32 *signum, guint32 *flags,
				GError **error);
gboolean sbx_proto_parse_resize(const guint8 *p, gsize len, guint32 *rows, guint32 *cols,
				GError **error);
gboolean sbx_proto_parse_error(const guint8 *p, gsize len, guint32 *code, gchar **message,
			       GError **error);
gboolean sbx_proto_parse_ping(const guint8 *p, gsize len, GError **error);

G_END_DECLS
