/* the gateway: one SoupServer for the sandbox endpoint and the console REST API,
 * a D-Bus client of sandboxd.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "sbx-dbus-generated.h"
#include "sbx-gw-config.h"
#include "sbx-gw-limits.h"

G_BEGIN_DECLS

typedef struct _SbxGwSandbox SbxGwSandbox;
typedef struct _SbxGwSsh SbxGwSsh;

typedef struct {
	SbxGwConfig *config;
	GDBusConnection *bus;
	SbxDBusManager1 *manager;
	SoupServer *soup;
	GHashTable *sandboxes; /* sandboxd id -> SbxGwSandbox (ref) while a socket uses it */
	guint64 next_stream_id;
	guint removed_subscription;
	SbxGwLimits *limits;
	GHashTable *exposes; /* label -> exposed service (sbx-gw-expose.c) */
	SbxGwSsh *ssh;	     /* exposeSsh's server; NULL without [gateway] SSHListen */
} SbxGwServer;

SbxGwServer *sbx_gw_server_new(SbxGwConfig *config, GDBusConnection *bus, GError **error);
void sbx_gw_server_free(SbxGwServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxGwServer, sbx_gw_server_free)
gboolean sbx_gw_server_listen(SbxGwServer *server, GError **error);

/* server -> client stream ids: gateway-wide, never reused (the SDK keeps them per process) */
guint64 sbx_gw_server_next_stream_id(SbxGwServer *server);
/* the SDK path for @path: relative ones are below [gateway] WorkDir */
gchar *sbx_gw_server_resolve_path(SbxGwServer *server, const gchar *path);

/* helpers for HTTP answers in the SDK's shapes */
void sbx_gw_server_reply_json(SoupServerMessage *msg, guint status, JsonNode *body);
void sbx_gw_server_reply_error(SoupServerMessage *msg, guint status, const gchar *code,
			       const gchar *message);
void sbx_gw_server_reply_gerror(SoupServerMessage *msg, const GError *error);
/* the bearer token of @msg (NULL when missing or malformed): passed to
 * sandboxd with every call that acts for its owner */
const gchar *sbx_gw_server_get_token(SoupServerMessage *msg);

G_END_DECLS
