/* one sandbox as the gateway serves it: its D-Bus proxy, its sockets, its processes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-gw-server.h"

G_BEGIN_DECLS

typedef struct _SbxGwConn SbxGwConn;
typedef struct _SbxGwProcess SbxGwProcess;

#define SBX_GW_TYPE_SANDBOX (sbx_gw_sandbox_get_type())
G_DECLARE_FINAL_TYPE(SbxGwSandbox, sbx_gw_sandbox, SBX_GW, SANDBOX, GObject)

struct _SbxGwSandbox {
	GObject parent_instance;
	SbxGwServer *server;
	gchar *sbx_id; /* sandboxd's */
	gchar *sdk_id;
	SbxDBusSandbox1 *proxy;
	GPtrArray *conns;   /* SbxGwConn, not owned: a closing conn removes itself */
	SbxGwConn *creator; /* not owned; its close ends a "session" sandbox */
	gboolean session;
	gboolean gone;
	GHashTable *processes; /* guest pid -> SbxGwProcess */
};

/* the server's object for @proxy's sandbox, made and registered on first use */
SbxGwSandbox *sbx_gw_sandbox_get(SbxGwServer *server, SbxDBusSandbox1 *proxy);
void sbx_gw_sandbox_add_conn(SbxGwSandbox *self, SbxGwConn *conn);
/* a closed socket: ends a session sandbox when it was its creator */
void sbx_gw_sandbox_remove_conn(SbxGwSandbox *self, SbxGwConn *conn);
/* the sandbox went away: closes every socket of it */
void sbx_gw_sandbox_gone(SbxGwSandbox *self, const gchar *reason);

/* processes spawned through the gateway (sbx-gw-process.c) */
void sbx_gw_process_free(SbxGwProcess *proc);

G_END_DECLS
