/* per-token limits: a request rate (token bucket) and the number of sandboxes a
 * token has alive through this gateway. Tokens are keyed by their SHA-256, never kept.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _SbxGwLimits SbxGwLimits;

/* @rate requests per second (0: unlimited) with bursts of @burst; at most
 * @max_sandboxes alive per token (0: unlimited) */
SbxGwLimits *sbx_gw_limits_new(guint rate, guint burst, guint max_sandboxes);
void sbx_gw_limits_free(SbxGwLimits *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxGwLimits, sbx_gw_limits_free)

/* takes one request from @token's bucket at @now_us; FALSE with the seconds
 * until the next one is allowed when it is empty */
gboolean sbx_gw_limits_admit(SbxGwLimits *self, const gchar *token, gint64 now_us,
			     guint *retry_after);

/* reserves a place for a sandbox @token is creating: FALSE (LimitExceeded) when it
 * has max_sandboxes alive or being created. Every successful reserve ends in
 * exactly one of bind (the create succeeded) or release (it failed). */
gboolean sbx_gw_limits_reserve(SbxGwLimits *self, const gchar *token, GError **error);
void sbx_gw_limits_bind(SbxGwLimits *self, const gchar *token, const gchar *sandbox_id);
void sbx_gw_limits_release(SbxGwLimits *self, const gchar *token);
/* a sandbox ended (sandboxd's SandboxRemoved): its place is free again */
void sbx_gw_limits_sandbox_gone(SbxGwLimits *self, const gchar *sandbox_id);

/* how many tokens are tracked (tests, metrics) */
guint sbx_gw_limits_get_n_tracked(SbxGwLimits *self);

G_END_DECLS
