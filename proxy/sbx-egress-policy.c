/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sbx-egress-policy.h"
#include "sbx-netpol-ca.h"
#include "sbx-netpol-range.h"

/* leaves issued per sandbox: a guest naming many hosts cannot grow this */
#define LEAVES_MAX 64

typedef struct {
	gchar *id;
	SbxNetpolPolicy *policy;
	SbxNetpolCa *ca;    /* NULL: no secrets, nothing intercepted */
	GPtrArray *secrets; /* SbxEgressSecret */
	GHashTable *leaves; /* host -> PEM certificate and key */
	gboolean open;	    /* any name */
} Sandbox;

struct _SbxEgressPolicy {
	GHashTable *sandboxes; /* IPv4 text -> Sandbox */
};

static void
sandbox_free(Sandbox *sandbox)
{
	g_free(sandbox->id);
	sbx_netpol_policy_free(sandbox->policy);
	sbx_netpol_ca_free(sandbox->ca);
	g_ptr_array_unref(sandbox->secrets);
	g_hash_table_unref(sandbox->leaves);
	g_free(sandbox);
}

SbxEgressPolicy *
sbx_egress_policy_new(void)
{
	SbxEgressPolicy *self = g_new0(SbxEgressPolicy, 1);

	self->sandboxes =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)sandbox_free);
	return self;
}

void
sbx_egress_policy_free(SbxEgressPolicy *self)
{
	if (self == NULL)
		return;
	g_hash_table_unref(self->sandboxes);
	g_free(self);
}

gboolean
sbx_egress_policy_set(SbxEgressPolicy *self, const gchar *ip, const gchar *id,
		      const gchar *const *allow_net, GError **error)
{
	g_autoptr(SbxNetpolPolicy) policy = NULL;
	g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(ip);
	Sandbox *sandbox;

	if (addr == NULL || g_inet_address_get_family(addr) != G_SOCKET_FAMILY_IPV4) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "'%s' is not an IPv4 address", ip);
		return FALSE;
	}
	if (id == NULL || strlen(id) == 0 || strlen(id) > 63 || !g_str_is_ascii(id)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "no valid sandbox id");
		return FALSE;
	}
	policy = sbx_netpol_policy_new(allow_net, error);
	if (policy == NULL)
		return FALSE;
	sandbox = g_new0(Sandbox, 1);
	sandbox->id = g_strdup(id);
	sandbox->policy = g_steal_pointer(&policy);
	sandbox->secrets = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_egress_secret_free);
	sandbox->leaves = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						(GDestroyNotify)sbx_netpol_ca_wipe_free);
	g_hash_table_replace(self->sandboxes, g_inet_address_to_string(addr), sandbox);
	return TRUE;
}

gboolean
sbx_egress_policy_set_open(SbxEgressPolicy *self, const gchar *ip, const gchar *id, GError **error)
{
	const gchar *none[] = {NULL};
	Sandbox *sandbox;

	if (!sbx_egress_policy_set(self, ip, id, none, error))
		return FALSE;
	sandbox = g_hash_table_lookup(self->sandboxes, ip);
	sandbox->open = TRUE;
	return TRUE;
}

void
sbx_egress_policy_remove(SbxEgressPolicy *self, const gchar *ip)
{
	g_hash_table_remove(self->sandboxes, ip);
}

const gchar *
sbx_egress_policy_lookup(SbxEgressPolicy *self, const gchar *ip)
{
	Sandbox *sandbox = g_hash_table_lookup(self->sandboxes, ip);

	return sandbox != NULL ? sandbox->id : NULL;
}

gboolean
sbx_egress_policy_name_matches(const gchar *pattern, const gchar *host)
{
	gsize plen, hlen;

	if (!g_str_has_prefix(pattern, "*."))
		return g_ascii_strcasecmp(pattern, host) == 0;
	/* "*.example.com": any name below it, not example.com itself */
	plen = strlen(pattern) - 1;
	hlen = strlen(host);
	return hlen > plen && g_ascii_strcasecmp(host + hlen - plen, pattern + 1) == 0;
}

gboolean
sbx_egress_policy_allows(SbxEgressPolicy *self, const gchar *ip, const gchar *host, guint16 port)
{
	Sandbox *sandbox = g_hash_table_lookup(self->sandboxes, ip);

	if (sandbox == NULL || host == NULL)
		return FALSE;
	if (sandbox->open)
		return TRUE;
	for (guint i = 0; i < sandbox->policy->entries->len; i++) {
		SbxNetpolEntry *e = g_ptr_array_index(sandbox->policy->entries, i);

		if (e->host == NULL || !sbx_egress_policy_name_matches(e->host, host))
			continue;
		if (port == 0 || e->port == 0 || e->port == port)
			return TRUE;
	}
	return FALSE;
}

void
sbx_egress_policy_clear(SbxEgressPolicy *self)
{
	g_hash_table_remove_all(self->sandboxes);
}

static Sandbox *
lookup(SbxEgressPolicy *self, const gchar *ip, GError **error)
{
	Sandbox *sandbox = g_hash_table_lookup(self->sandboxes, ip);

	if (sandbox == NULL)
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "no sandbox at that address (set comes first)");
	return sandbox;
}

gboolean
sbx_egress_policy_set_ca(SbxEgressPolicy *self, const gchar *ip, const gchar *cert_pem,
			 const gchar *key_pem, GError **error)
{
	Sandbox *sandbox = lookup(self, ip, error);
	SbxNetpolCa *ca;

	if (sandbox == NULL)
		return FALSE;
	ca = sbx_netpol_ca_new_from_pem(cert_pem, key_pem, error);
	if (ca == NULL)
		return FALSE;
	sbx_netpol_ca_free(sandbox->ca);
	sandbox->ca = ca;
	g_hash_table_remove_all(sandbox->leaves);
	return TRUE;
}

gboolean
sbx_egress_policy_add_secret(SbxEgressPolicy *self, const gchar *ip, SbxEgressSecret *secret,
			     GError **error)
{
	g_autoptr(SbxEgressSecret) owned = secret;
	Sandbox *sandbox = lookup(self, ip, error);

	if (sandbox == NULL)
		return FALSE;
	if (sandbox->secrets->len >= SBX_EGRESS_SECRET_MAX) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "more than %u secrets",
			    SBX_EGRESS_SECRET_MAX);
		return FALSE;
	}
	g_ptr_array_add(sandbox->secrets, g_steal_pointer(&owned));
	return TRUE;
}

GPtrArray *
sbx_egress_policy_get_secrets(SbxEgressPolicy *self, const gchar *ip)
{
	Sandbox *sandbox = g_hash_table_lookup(self->sandboxes, ip);

	return sandbox != NULL && sandbox->secrets->len > 0 ? sandbox->secrets : NULL;
}

const gchar *
sbx_egress_policy_intercept(SbxEgressPolicy *self, const gchar *ip, const gchar *host,
			    GError **error)
{
	Sandbox *sandbox = g_hash_table_lookup(self->sandboxes, ip);
	gboolean wanted = FALSE;
	const gchar *leaf;
	gchar *issued;

	if (sandbox == NULL || sandbox->ca == NULL || host == NULL)
		return NULL;
	for (guint i = 0; i < sandbox->secrets->len && !wanted; i++)
		wanted = sbx_egress_secret_applies(g_ptr_array_index(sandbox->secrets, i), host);
	if (!wanted)
		return NULL;
	leaf = g_hash_table_lookup(sandbox->leaves, host);
	if (leaf != NULL)
		return leaf;
	issued = sbx_netpol_ca_issue(sandbox->ca, host, error);
	if (issued == NULL)
		return NULL;
	if (g_hash_table_size(sandbox->leaves) >= LEAVES_MAX)
		g_hash_table_remove_all(sandbox->leaves);
	g_hash_table_insert(sandbox->leaves, g_strdup(host), issued);
	return issued;
}
