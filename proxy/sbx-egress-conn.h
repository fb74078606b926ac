/* egress proxy: one guest TCP connection the firewall redirected here. Reads
 * the SNI or Host, checks it against the sandbox's list, resolves the name
 * itself, connects upstream to it and splices the two streams.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-egress-policy.h"

G_BEGIN_DECLS

/* how long a guest has to say where it goes, and we to get there */
#define SBX_EGRESS_CONN_TIMEOUT_SEC 10
#define SBX_EGRESS_CONN_MAX 1024
/* one sandbox cannot take every connection the proxy has */
#define SBX_EGRESS_CONN_MAX_PER_SANDBOX 256
/* a connection with no byte either way for this long goes */
#define SBX_EGRESS_CONN_IDLE_SEC_DEFAULT 600

typedef void (*SbxEgressConnDenied)(const gchar *ip, const gchar *host, guint16 port,
				    const gchar *why, gpointer user_data);

typedef struct {
	SbxEgressPolicy *policy;
	GResolver *resolver;
	GPtrArray *blocked; /* GInetAddressMask: never upstream, whatever a name resolves to */
	SbxEgressConnDenied denied;
	gpointer user_data;
	guint active;
	GHashTable *per_ip; /* IPv4 text -> open connections (GUINT_TO_POINTER) */
	/* GTlsCertificate, read before dropping privileges; NULL: the host's CAs */
	GList *upstream_ca;
	guint idle_timeout_sec; /* 0: none */
} SbxEgressConnContext;

/* takes over @guest; @ctx must outlive it */
void sbx_egress_conn_start(SbxEgressConnContext *ctx, GSocketConnection *guest);
/* the destination port the guest asked for before the redirect, or 0 */
guint16 sbx_egress_conn_original_port(GSocketConnection *guest);

G_END_DECLS
