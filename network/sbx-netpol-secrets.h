/* network policy: a sandbox's secrets (CreateSandbox `secrets`, a{s(ass)}:
 * env name -> (hosts, value)). Each gets a random placeholder, the value the
 * guest's env var holds; the values and the sandbox's CA key go to
 * sandboxd-egress over its private channel only, never to the guest, the
 * state file, the logs or D-Bus. Across a daemon restart they wait in the
 * kernel keyring (sbx-netpol-keyring.h), never on disk.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-netpol-ca.h"
#include "sbx-netpol-policy.h"

G_BEGIN_DECLS

#define SBX_NETPOL_SECRETS_MAX 16	 /* per sandbox */
#define SBX_NETPOL_SECRET_HOSTS_MAX 16	 /* per secret */
#define SBX_NETPOL_SECRET_VALUE_MAX 8192 /* bytes */
#define SBX_NETPOL_SECRET_PREFIX "sbx_secret_"
/* where the guest finds the CA (also appended to the system bundle) */
#define SBX_NETPOL_SECRETS_CA_PATH "/usr/local/share/ca-certificates/sandboxd-secrets.crt"
#define SBX_NETPOL_SECRETS_BUNDLE_PATH "/etc/ssl/certs/ca-certificates.crt"

typedef struct {
	gchar *name;
	GStrv hosts;
	gchar *value;
	gchar *placeholder;
} SbxNetpolSecret;

typedef struct {
	GPtrArray *items; /* SbxNetpolSecret */
	SbxNetpolCa *ca;
} SbxNetpolSecrets;

/* @value: a{s(ass)}; with @allow_net, every secret's hosts must be names it
 * lets the sandbox reach (the proxy sees only that traffic); without, the
 * sandbox's HTTPS goes through the proxy. Makes the placeholders
 * and the CA. Errors never carry a value. */
SbxNetpolSecrets *sbx_netpol_secrets_new(GVariant *value, const SbxNetpolPolicy *allow_net,
					 GError **error);
void sbx_netpol_secrets_free(SbxNetpolSecrets *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxNetpolSecrets, sbx_netpol_secrets_free)

/* NAME=placeholder for each secret and the CA variables for common TLS
 * clients (Node, Deno, Python, curl, OpenSSL), unless @env has them */
void sbx_netpol_secrets_add_env(SbxNetpolSecrets *self, GHashTable *env);
/* the lines telling sandboxd-egress the CA and the secrets of the sandbox at
 * @ip: secret, wipe with sbx_netpol_ca_wipe_free() */
gchar *sbx_netpol_secrets_to_control(SbxNetpolSecrets *self, const gchar *ip);
/* everything needed to restore them after a daemon restart (for the
 * keyring, sbx-netpol-keyring.h): secret, wiped when freed */
GBytes *sbx_netpol_secrets_serialize(SbxNetpolSecrets *self);
SbxNetpolSecrets *sbx_netpol_secrets_deserialize(GBytes *blob, GError **error);
/* the secrets' names, for logs and properties */
gchar *sbx_netpol_secrets_describe(SbxNetpolSecrets *self);

G_END_DECLS
