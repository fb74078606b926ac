/* network policy: the certificate authority of one sandbox's secrets. sandboxd
 * makes it at create (GnuTLS: ECDSA P-256, name-constrained to the secret
 * hosts), puts its certificate into the guest's trust store and hands
 * certificate and key to sandboxd-egress over the private channel; the proxy
 * issues leaf certificates with it for the hosts it intercepts. The key never
 * reaches the guest or the disk.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* how long a CA and the leaves it issues are valid */
#define SBX_NETPOL_CA_DAYS 3650
#define SBX_NETPOL_CA_LEAF_DAYS 397

typedef struct _SbxNetpolCa SbxNetpolCa;

/* a new CA named after @label whose leaves may only name @hosts (and names
 * below them); @hosts as in allow_net ("api.example.com", "*.example.com") */
SbxNetpolCa *sbx_netpol_ca_new(const gchar *label, const gchar *const *hosts, GError **error);
/* the CA from its PEM certificate and (PKCS #8) key */
SbxNetpolCa *sbx_netpol_ca_new_from_pem(const gchar *cert_pem, const gchar *key_pem,
					GError **error);
void sbx_netpol_ca_free(SbxNetpolCa *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxNetpolCa, sbx_netpol_ca_free)

const gchar *sbx_netpol_ca_get_cert_pem(SbxNetpolCa *self);
/* the PEM key: secret, the caller wipes it (sbx_netpol_ca_wipe_free) */
const gchar *sbx_netpol_ca_get_key_pem(SbxNetpolCa *self);
/* a server certificate for @host signed by the CA, with a new key: PEM
 * certificate then PEM key in one string (g_tls_certificate_new_from_pem) */
gchar *sbx_netpol_ca_issue(SbxNetpolCa *self, const gchar *host, GError **error);
/* zeroes then frees a string that held a secret */
void sbx_netpol_ca_wipe_free(gchar *secret);

G_END_DECLS
