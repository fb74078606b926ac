/* the access tokens of the gateway's tenants: "ddo_" + 40 random characters,
 * kept only as SHA-256 in one key file (0600) in sandboxd's state folder.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SBX_TOKEN_PREFIX "ddo_"

#define SBX_TYPE_TOKEN_STORE (sbx_token_store_get_type())
G_DECLARE_FINAL_TYPE(SbxTokenStore, sbx_token_store, SBX, TOKEN_STORE, GObject)

/* loads @path if it exists; a file that cannot be read is an error */
SbxTokenStore *sbx_token_store_new(const gchar *path, GError **error);
/* a new token named @name (1-64 of [A-Za-z0-9._-], unique per uid) for
 * @uid; the raw token is returned once and never stored */
gchar *sbx_token_store_create(SbxTokenStore *self, guint uid, const gchar *name, GError **error);
/* a(st): the names and creation times (unix seconds) of @uid's tokens */
GVariant *sbx_token_store_list(SbxTokenStore *self, guint uid);
gboolean sbx_token_store_revoke(SbxTokenStore *self, guint uid, const gchar *name, GError **error);
/* the uid @token belongs to; FALSE for an unknown or revoked one */
gboolean sbx_token_store_lookup(SbxTokenStore *self, const gchar *token, guint *uid);

/* the owner of @token for a call that acts for a tenant ("tenant-token",
 * OpenSandbox, OpenVolume): AccessDenied unless the caller may act for
 * tenants (sbx_authority_identify_call()), InvalidToken for an unknown or
 * revoked token or a NULL @self */
gboolean sbx_token_store_resolve_call(SbxTokenStore *self, GDBusMethodInvocation *invocation,
				      const gchar *token, guint *uid, GError **error);

G_END_DECLS
