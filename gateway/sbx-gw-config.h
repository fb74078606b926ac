/* the [gateway] section of gateway.conf (and its drop-ins), beside sandboxd.conf.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
	gchar *listen;		   /* HOST:PORT */
	gchar *tls_certificate;	   /* PEM file, or NULL */
	gchar *tls_key;		   /* PEM file, or NULL */
	gboolean allow_plain_http; /* on a non-loopback address */
	gchar *region;		   /* 3 letters, the region part of SDK sandbox ids */
	gchar *work_dir;	   /* relative SDK paths and spawn's default cwd */
	gchar *user;		   /* guest user processes run as (HOME, USER); "": the agent's */
	gchar *image;		   /* what SDK sandboxes boot; NULL: the daemon's default */
	guint64 max_message_bytes;
	guint64 max_stream_buffer_bytes;
	guint64 max_read_file_bytes;
	guint requests_per_second;     /* per token, a token bucket; 0: no limit */
	guint request_burst;	       /* the bucket's size */
	guint max_sandboxes_per_token; /* alive sandboxes made through this gateway; 0: none */
	guint max_calls_per_socket;    /* JSON-RPC requests in flight on one socket */
	gchar *expose_base_domain; /* exposeHttp URLs are <label>.<this>; NULL: /expose/<label> */
	guint64 expose_idle_timeout_s; /* a proxied connection idle this long is closed */
	gchar *ssh_listen;	   /* HOST:PORT of exposeSsh's server, or NULL: exposeSsh refused */
	gchar *ssh_hostname;	   /* what exposeSsh answers; NULL: SSHListen's host */
	gchar *state_dir;	   /* the SSH host key */
	guint deno_eval_timeout_s; /* a REPL request unanswered this long ends the REPL */
} SbxGwConfig;

void sbx_gw_config_free(SbxGwConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxGwConfig, sbx_gw_config_free)

/* reads CONFIG_DIR/gateway.conf then CONFIG_DIR/gateway.conf.d/\*.conf in name order;
 * defaults for what they do not set; checks every value */
SbxGwConfig *sbx_gw_config_load(const gchar *config_dir, GError **error);
/* refuses plain HTTP on a non-loopback address unless allowed */
gboolean sbx_gw_config_check_listen(SbxGwConfig *config, GInetSocketAddress **address,
				    GError **error);

G_END_DECLS
