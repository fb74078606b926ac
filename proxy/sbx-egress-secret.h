/* egress proxy: one secret of a sandbox. The guest only knows the placeholder;
 * in the headers of a request to one of the secret's hosts the proxy puts the
 * value in its place. The value lives here only: locked in memory where the
 * system allows, zeroed when freed, never logged.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SBX_EGRESS_SECRET_MAX 32	      /* secrets per sandbox */
#define SBX_EGRESS_SECRET_VALUE_MAX 8192      /* bytes */
#define SBX_EGRESS_SECRET_HOSTS_MAX 16	      /* hosts per secret */
#define SBX_EGRESS_SECRET_PLACEHOLDER_MIN 16  /* bytes */
#define SBX_EGRESS_SECRET_PLACEHOLDER_MAX 128 /* bytes */

typedef struct {
	gchar *placeholder;
	gchar *value;
	gsize value_len;
	GStrv hosts; /* "api.example.com", "*.example.com" */
	gboolean locked;
} SbxEgressSecret;

/* @value: bytes that may stand in an HTTP header value (no CR, LF or NUL);
 * @placeholder: letters, digits and '_'; @hosts: DNS names or "*.name" */
SbxEgressSecret *sbx_egress_secret_new(const gchar *placeholder, const gchar *value,
				       gsize value_len, const gchar *const *hosts, GError **error);
void sbx_egress_secret_free(SbxEgressSecret *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxEgressSecret, sbx_egress_secret_free)

/* does the secret go to @host? */
gboolean sbx_egress_secret_applies(const SbxEgressSecret *self, const gchar *host);
/* in @headers (a request's header lines, without the request line), every
 * placeholder of a secret of @secrets that goes to @host becomes its value;
 * the others stay as they are. Returns how many were replaced. */
guint sbx_egress_secret_substitute(GPtrArray *secrets, const gchar *host, GString *headers);

G_END_DECLS
