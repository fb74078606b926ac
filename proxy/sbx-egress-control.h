/* egress proxy: the private channel from sandboxd (a socketpair end it hands
 * us). In, one line each: "set IP ID ENTRY...", "forget IP". Out: "deny IP
 * HOST PORT REASON" for the sandbox's event log (names and ports, never
 * payloads). sandboxd gone (EOF): @closed runs, the proxy exits.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-egress-policy.h"

G_BEGIN_DECLS

#define SBX_EGRESS_CONTROL_MAX_LINE 32768

typedef struct _SbxEgressControl SbxEgressControl;

/* applies one line to @policy */
gboolean sbx_egress_control_apply(SbxEgressPolicy *policy, const gchar *line, GError **error);

SbxEgressControl *sbx_egress_control_new(GIOStream *stream, SbxEgressPolicy *policy,
					 GCallback closed, gpointer user_data);
void sbx_egress_control_free(SbxEgressControl *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxEgressControl, sbx_egress_control_free)
/* reports a denial; @host may be NULL (none could be read) */
void sbx_egress_control_deny(SbxEgressControl *self, const gchar *ip, const gchar *host,
			     guint16 port, const gchar *why);

G_END_DECLS
