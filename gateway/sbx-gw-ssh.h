/* exposeSsh: an SSH front door on the gateway host (libssh's server API).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-gw-server.h"

G_BEGIN_DECLS

typedef struct _SbxGwSsh SbxGwSsh;

/* listens on [gateway] SSHListen with the host key in StateDir (made on first start) */
SbxGwSsh *sbx_gw_ssh_new(SbxGwServer *server, GError **error);
void sbx_gw_ssh_free(SbxGwSsh *ssh);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxGwSsh, sbx_gw_ssh_free)

/* the login name that opens a shell in sandboxd's sandbox @sbx_id (object @path), made
 * on first use: random, per sandbox, valid until the sandbox goes away */
gchar *sbx_gw_ssh_grant(SbxGwSsh *ssh, const gchar *sbx_id, const gchar *path);
/* the sandbox went away: its login name opens nothing any more */
void sbx_gw_ssh_revoke(SbxGwSsh *ssh, const gchar *sbx_id);
/* POST /api/v3/sandbox/<id>/expose/ssh: {"hostname", "username"} for the token's owner */
void sbx_gw_ssh_expose(SbxGwSsh *ssh, SoupServerMessage *msg, const gchar *sdk_id);

G_END_DECLS
