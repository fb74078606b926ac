/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/mman.h>

#include <gio/gio.h>

#include "sbx-egress-policy.h"
#include "sbx-egress-secret.h"
#include "sbx-egress-sniff.h"

static gboolean
placeholder_is_valid(const gchar *p)
{
	gsize len = strlen(p);

	if (len < SBX_EGRESS_SECRET_PLACEHOLDER_MIN || len > SBX_EGRESS_SECRET_PLACEHOLDER_MAX)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(p[i]) && p[i] != '_')
			return FALSE;
	}
	return TRUE;
}

static gboolean
host_is_valid(const gchar *host)
{
	const gchar *name = g_str_has_prefix(host, "*.") ? host + 2 : host;
	g_autofree gchar *norm = sbx_egress_sniff_normalize_host(name, strlen(name));

	return norm != NULL && g_str_equal(norm, name);
}

SbxEgressSecret *
sbx_egress_secret_new(const gchar *placeholder, const gchar *value, gsize value_len,
		      const gchar *const *hosts, GError **error)
{
	g_autoptr(SbxEgressSecret) self = NULL;
	guint n_hosts = hosts != NULL ? g_strv_length((gchar **)hosts) : 0;

	/* the messages name neither the value nor the placeholder */
	if (!placeholder_is_valid(placeholder)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "secret: bad placeholder");
		return NULL;
	}
	if (value_len == 0 || value_len > SBX_EGRESS_SECRET_VALUE_MAX ||
	    memchr(value, '\r', value_len) != NULL || memchr(value, '\n', value_len) != NULL ||
	    memchr(value, '\0', value_len) != NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "secret: the value must be 1 to %u bytes without CR, LF or NUL",
			    SBX_EGRESS_SECRET_VALUE_MAX);
		return NULL;
	}
	if (n_hosts == 0 || n_hosts > SBX_EGRESS_SECRET_HOSTS_MAX) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "secret: 1 to %u hosts",
			    SBX_EGRESS_SECRET_HOSTS_MAX);
		return NULL;
	}
	for (guint i = 0; i < n_hosts; i++) {
		if (!host_is_valid(hosts[i])) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "secret: '%.64s' is not a host name", hosts[i]);
			return NULL;
		}
	}
	self = g_new0(SbxEgressSecret, 1);
	self->placeholder = g_strdup(placeholder);
	self->value = g_malloc(value_len + 1);
	/* kept out of swap when the limits allow; nothing else depends on it */
	self->locked = mlock(self->value, value_len + 1) == 0;
	memcpy(self->value, value, value_len);
	self->value[value_len] = '\0';
	self->value_len = value_len;
	self->hosts = g_strdupv((gchar **)hosts);
	return g_steal_pointer(&self);
}

void
sbx_egress_secret_free(SbxEgressSecret *self)
{
	if (self == NULL)
		return;
	if (self->value != NULL) {
		explicit_bzero(self->value, self->value_len + 1);
		if (self->locked)
			munlock(self->value, self->value_len + 1);
		g_free(self->value);
	}
	g_free(self->placeholder);
	g_strfreev(self->hosts);
	g_free(self);
}

gboolean
sbx_egress_secret_applies(const SbxEgressSecret *self, const gchar *host)
{
	for (guint i = 0; self->hosts[i] != NULL; i++) {
		if (sbx_egress_policy_name_matches(self->hosts[i], host))
			return TRUE;
	}
	return FALSE;
}

guint
sbx_egress_secret_substitute(GPtrArray *secrets, const gchar *host, GString *headers)
{
	guint replaced = 0;

	for (guint i = 0; secrets != NULL && i < secrets->len; i++) {
		SbxEgressSecret *secret = g_ptr_array_index(secrets, i);
		if (sbx_egress_secret_applies(secret, host))
			replaced +=
			    g_string_replace(headers, secret->placeholder, secret->value, 0);
	}
	return replaced;
}
