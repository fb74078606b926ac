/* egress proxy: what each sandbox may reach by name, keyed by its guest
 * address (clean-traffic pins it, so the source address is the sandbox).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-egress-secret.h"
#include "sbx-netpol-policy.h"

G_BEGIN_DECLS

typedef struct _SbxEgressPolicy SbxEgressPolicy;

SbxEgressPolicy *sbx_egress_policy_new(void);
void sbx_egress_policy_free(SbxEgressPolicy *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxEgressPolicy, sbx_egress_policy_free)

/* replaces the list of the sandbox at @ip (IPv4); @allow_net as in
 * CreateSandbox. Fails on a bad address or entry, changing nothing. */
gboolean sbx_egress_policy_set(SbxEgressPolicy *self, const gchar *ip, const gchar *id,
			       const gchar *const *allow_net, GError **error);
/* the sandbox at @ip may reach any name (a sandbox with secrets and no
 * allow_net: the firewall sends only its HTTPS here) */
gboolean sbx_egress_policy_set_open(SbxEgressPolicy *self, const gchar *ip, const gchar *id,
				    GError **error);
void sbx_egress_policy_remove(SbxEgressPolicy *self, const gchar *ip);
/* forgets every sandbox: nothing is allowed */
void sbx_egress_policy_clear(SbxEgressPolicy *self);
/* the sandbox id at @ip, or NULL: no sandbox we know, nothing allowed */
const gchar *sbx_egress_policy_lookup(SbxEgressPolicy *self, const gchar *ip);
/* may the sandbox at @ip reach @host on @port (0: any port, for DNS)? */
gboolean sbx_egress_policy_allows(SbxEgressPolicy *self, const gchar *ip, const gchar *host,
				  guint16 port);
/* the CA of the sandbox at @ip's secrets (PEM; the key PKCS #8) */
gboolean sbx_egress_policy_set_ca(SbxEgressPolicy *self, const gchar *ip, const gchar *cert_pem,
				  const gchar *key_pem, GError **error);
/* one more secret of the sandbox at @ip (takes @secret, even on failure) */
gboolean sbx_egress_policy_add_secret(SbxEgressPolicy *self, const gchar *ip,
				      SbxEgressSecret *secret, GError **error);
/* the sandbox's secrets (SbxEgressSecret; NULL: none), for a connection to
 * take a reference */
GPtrArray *sbx_egress_policy_get_secrets(SbxEgressPolicy *self, const gchar *ip);
/* should TLS to @host from the sandbox at @ip be intercepted (it has a CA and
 * a secret for @host)? Then the leaf certificate for @host, made once and
 * kept (PEM certificate and key, for g_tls_certificate_new_from_pem);
 * else NULL, and @error is set only when making one failed */
const gchar *sbx_egress_policy_intercept(SbxEgressPolicy *self, const gchar *ip, const gchar *host,
					 GError **error);
/* does @pattern ("example.com", "*.example.com") cover @host? */
gboolean sbx_egress_policy_name_matches(const gchar *pattern, const gchar *host);

G_END_DECLS
