/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/random.h>

#include "sbx-netpol-secrets.h"

#define PLACEHOLDER_RANDOM 32

static void
secret_free(SbxNetpolSecret *secret)
{
	g_free(secret->name);
	g_strfreev(secret->hosts);
	sbx_netpol_ca_wipe_free(secret->value);
	g_free(secret->placeholder);
	g_free(secret);
}

void
sbx_netpol_secrets_free(SbxNetpolSecrets *self)
{
	if (self == NULL)
		return;
	g_clear_pointer(&self->items, g_ptr_array_unref);
	sbx_netpol_ca_free(self->ca);
	g_free(self);
}

static gboolean invalid(GError **error, const gchar *format, ...) G_GNUC_PRINTF(2, 3);

static gboolean
invalid(GError **error, const gchar *format, ...)
{
	va_list args;
	g_autofree gchar *msg = NULL;

	va_start(args, format);
	msg = g_strdup_vprintf(format, args);
	va_end(args);
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "secrets: %s", msg);
	return FALSE;
}

static gboolean
name_is_valid(const gchar *name)
{
	gsize len = strlen(name);

	if (len == 0 || len > 256 || g_ascii_isdigit(name[0]))
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(name[i]) && name[i] != '_')
			return FALSE;
	}
	return TRUE;
}

/* the guest's traffic to @host reaches the proxy only when a name entry of
 * allow_net covers it */
static gboolean
host_is_allowed(const gchar *host, const SbxNetpolPolicy *allow_net)
{
	for (guint i = 0; allow_net != NULL && i < allow_net->entries->len; i++) {
		SbxNetpolEntry *e = g_ptr_array_index(allow_net->entries, i);
		gsize elen, hlen = strlen(host);

		if (e->host == NULL || (e->port != 0 && e->port != 443))
			continue;
		if (g_ascii_strcasecmp(e->host, host) == 0)
			return TRUE;
		elen = strlen(e->host);
		if (g_str_has_prefix(e->host, "*.") && hlen > elen - 1 &&
		    g_ascii_strcasecmp(host + hlen - (elen - 1), e->host + 1) == 0)
			return TRUE;
	}
	return FALSE;
}

static gchar *
make_placeholder(GError **error)
{
	static const gchar alphabet[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	guint8 raw[PLACEHOLDER_RANDOM];
	GString *s = g_string_new(SBX_NETPOL_SECRET_PREFIX);

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw)) {
		g_string_free(s, TRUE);
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "no entropy");
		return NULL;
	}
	/* 62 * 4 = 248: drop the top values so each letter is as likely */
	for (guint i = 0; i < sizeof(raw); i++) {
		guint8 r = raw[i];
		while (r >= 248) {
			if (getrandom(&r, 1, 0) != 1)
				r = 0;
		}
		g_string_append_c(s, alphabet[r % 62]);
	}
	return g_string_free(s, FALSE);
}

static SbxNetpolSecret *
parse_one(const gchar *name, GVariant *entry, const SbxNetpolPolicy *allow_net, GError **error)
{
	g_autofree const gchar **hosts = NULL;
	const gchar *value = NULL;
	gsize value_len = 0;
	g_autoptr(GVariant) hosts_v = NULL;
	g_autoptr(GVariant) value_v = NULL;
	g_autoptr(SbxNetpolPolicy) parsed = NULL;
	g_autoptr(GError) error_local = NULL;
	SbxNetpolSecret *secret;
	gsize n_hosts = 0;

	if (!name_is_valid(name)) {
		invalid(error, "'%.64s' is not an environment variable name", name);
		return NULL;
	}
	hosts_v = g_variant_get_child_value(entry, 0);
	value_v = g_variant_get_child_value(entry, 1);
	hosts = g_variant_get_strv(hosts_v, &n_hosts);
	value = g_variant_get_string(value_v, &value_len);
	if (n_hosts == 0 || n_hosts > SBX_NETPOL_SECRET_HOSTS_MAX) {
		invalid(error, "%s: 1 to %u hosts", name, SBX_NETPOL_SECRET_HOSTS_MAX);
		return NULL;
	}
	parsed = sbx_netpol_policy_new(hosts, &error_local);
	if (parsed == NULL) {
		invalid(error, "%s: %s", name, error_local->message);
		return NULL;
	}
	for (guint i = 0; i < parsed->entries->len; i++) {
		SbxNetpolEntry *e = g_ptr_array_index(parsed->entries, i);
		if (e->host == NULL || e->port != 0) {
			invalid(error, "%s: hosts are names without a port (HTTPS, 443)", name);
			return NULL;
		}
		/* without allow_net all HTTPS passes the proxy */
		if (allow_net != NULL && !host_is_allowed(e->host, allow_net)) {
			invalid(error,
				"%s: host '%s' is not in allow_net (list the secret's hosts "
				"there: only their traffic passes the egress proxy)",
				name, e->host);
			return NULL;
		}
	}
	/* a header value: no line breaks (header injection), no NUL */
	if (value_len == 0 || value_len > SBX_NETPOL_SECRET_VALUE_MAX ||
	    strpbrk(value, "\r\n") != NULL) {
		invalid(error, "%s: the value must be 1 to %u bytes without CR or LF", name,
			SBX_NETPOL_SECRET_VALUE_MAX);
		return NULL;
	}
	secret = g_new0(SbxNetpolSecret, 1);
	secret->name = g_strdup(name);
	secret->hosts = sbx_netpol_policy_to_strv(parsed);
	secret->value = g_strndup(value, value_len);
	secret->placeholder = make_placeholder(error);
	if (secret->placeholder == NULL) {
		secret_free(secret);
		return NULL;
	}
	return secret;
}

SbxNetpolSecrets *
sbx_netpol_secrets_new(GVariant *value, const SbxNetpolPolicy *allow_net, GError **error)
{
	g_autoptr(SbxNetpolSecrets) self = g_new0(SbxNetpolSecrets, 1);
	g_autoptr(GPtrArray) all_hosts = g_ptr_array_new();
	GVariantIter iter;
	const gchar *name;
	GVariant *entry_raw;

	if (!g_variant_is_of_type(value, G_VARIANT_TYPE("a{s(ass)}"))) {
		invalid(error, "must be a{s(ass)}: name -> (hosts, value)");
		return NULL;
	}
	if (g_variant_n_children(value) > SBX_NETPOL_SECRETS_MAX) {
		invalid(error, "at most %u", SBX_NETPOL_SECRETS_MAX);
		return NULL;
	}
	self->items = g_ptr_array_new_with_free_func((GDestroyNotify)secret_free);
	g_variant_iter_init(&iter, value);
	while (g_variant_iter_next(&iter, "{&s@(ass)}", &name, &entry_raw)) {
		g_autoptr(GVariant) entry = entry_raw;
		SbxNetpolSecret *secret = parse_one(name, entry, allow_net, error);
		if (secret == NULL)
			return NULL;
		g_ptr_array_add(self->items, secret);
		for (guint i = 0; secret->hosts[i] != NULL; i++)
			g_ptr_array_add(all_hosts, secret->hosts[i]);
	}
	g_ptr_array_add(all_hosts, NULL);
	if (self->items->len > 0) {
		self->ca =
		    sbx_netpol_ca_new("sandbox", (const gchar *const *)all_hosts->pdata, error);
		if (self->ca == NULL)
			return NULL;
	}
	return g_steal_pointer(&self);
}

void
sbx_netpol_secrets_add_env(SbxNetpolSecrets *self, GHashTable *env)
{
	const gchar *bundle_vars[] = {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
				      NULL};
	const gchar *ca_vars[] = {"NODE_EXTRA_CA_CERTS", "DENO_CERT", NULL};

	for (guint i = 0; i < self->items->len; i++) {
		SbxNetpolSecret *secret = g_ptr_array_index(self->items, i);
		g_hash_table_replace(env, g_strdup(secret->name), g_strdup(secret->placeholder));
	}
	if (self->ca == NULL)
		return;
	for (guint i = 0; bundle_vars[i] != NULL; i++) {
		if (!g_hash_table_contains(env, bundle_vars[i]))
			g_hash_table_insert(env, g_strdup(bundle_vars[i]),
					    g_strdup(SBX_NETPOL_SECRETS_BUNDLE_PATH));
	}
	for (guint i = 0; ca_vars[i] != NULL; i++) {
		if (!g_hash_table_contains(env, ca_vars[i]))
			g_hash_table_insert(env, g_strdup(ca_vars[i]),
					    g_strdup(SBX_NETPOL_SECRETS_CA_PATH));
	}
}

static gchar *
b64(const gchar *text)
{
	return g_base64_encode((const guchar *)text, strlen(text));
}

gchar *
sbx_netpol_secrets_to_control(SbxNetpolSecrets *self, const gchar *ip)
{
	GString *s = g_string_new(NULL);
	g_autofree gchar *cert = NULL;
	gchar *key = NULL;

	if (self->ca == NULL)
		return g_string_free(s, FALSE);
	cert = b64(sbx_netpol_ca_get_cert_pem(self->ca));
	key = b64(sbx_netpol_ca_get_key_pem(self->ca));
	g_string_append_printf(s, "ca %s %s %s\n", ip, cert, key);
	sbx_netpol_ca_wipe_free(key);
	for (guint i = 0; i < self->items->len; i++) {
		SbxNetpolSecret *secret = g_ptr_array_index(self->items, i);
		g_autofree gchar *hosts = g_strjoinv(",", secret->hosts);
		gchar *value = b64(secret->value);
		g_string_append_printf(s, "secret %s %s %s %s\n", ip, secret->placeholder, value,
				       hosts);
		sbx_netpol_ca_wipe_free(value);
	}
	/* g_string growth may leave copies behind: small, and only in sandboxd */
	return g_string_free(s, FALSE);
}

gchar *
sbx_netpol_secrets_describe(SbxNetpolSecrets *self)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < self->items->len; i++) {
		SbxNetpolSecret *secret = g_ptr_array_index(self->items, i);
		g_autofree gchar *hosts = g_strjoinv(",", secret->hosts);
		g_string_append_printf(s, "%s%s@%s", i > 0 ? " " : "", secret->name, hosts);
	}
	return g_string_free(s, FALSE);
}

#define BLOB_TYPE "(ssa{s(asss)})"

static void
wipe_bytes(gpointer data)
{
	GBytes *bytes = data;
	gsize len = 0;
	gpointer p = (gpointer)g_bytes_get_data(bytes, &len);

	explicit_bzero(p, len);
	g_bytes_unref(bytes);
}

GBytes *
sbx_netpol_secrets_serialize(SbxNetpolSecrets *self)
{
	g_auto(GVariantBuilder) items = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{s(asss)}"));
	g_autoptr(GVariant) v = NULL;
	GBytes *data;

	for (guint i = 0; i < self->items->len; i++) {
		SbxNetpolSecret *secret = g_ptr_array_index(self->items, i);
		g_variant_builder_add(&items, "{s(^asss)}", secret->name, secret->hosts,
				      secret->value, secret->placeholder);
	}
	v = g_variant_ref_sink(g_variant_new(
	    "(ss@a{s(asss)})", self->ca != NULL ? sbx_netpol_ca_get_cert_pem(self->ca) : "",
	    self->ca != NULL ? sbx_netpol_ca_get_key_pem(self->ca) : "",
	    g_variant_builder_end(&items)));
	data = g_variant_get_data_as_bytes(v);
	/* the caller's reference wipes the bytes when it goes */
	return g_bytes_new_with_free_func(g_bytes_get_data(data, NULL), g_bytes_get_size(data),
					  wipe_bytes, data);
}

SbxNetpolSecrets *
sbx_netpol_secrets_deserialize(GBytes *blob, GError **error)
{
	g_autoptr(GVariant) v =
	    g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE(BLOB_TYPE), blob, FALSE));
	g_autoptr(SbxNetpolSecrets) self = g_new0(SbxNetpolSecrets, 1);
	g_autoptr(GVariantIter) iter = NULL;
	const gchar *cert, *key, *name, *value, *placeholder;
	const gchar **hosts;

	if (!g_variant_is_normal_form(v)) {
		invalid(error, "the kept secrets are damaged");
		return NULL;
	}
	g_variant_get(v, "(&s&sa{s(asss)})", &cert, &key, &iter);
	self->items = g_ptr_array_new_with_free_func((GDestroyNotify)secret_free);
	while (g_variant_iter_next(iter, "{&s(^a&s&s&s)}", &name, &hosts, &value, &placeholder)) {
		SbxNetpolSecret *secret;
		gboolean ok = name_is_valid(name) && g_strv_length((gchar **)hosts) > 0 &&
			      strlen(value) > 0 && strlen(value) <= SBX_NETPOL_SECRET_VALUE_MAX &&
			      g_str_has_prefix(placeholder, SBX_NETPOL_SECRET_PREFIX) &&
			      self->items->len < SBX_NETPOL_SECRETS_MAX;
		if (!ok) {
			g_free(hosts);
			invalid(error, "the kept secrets are damaged");
			return NULL;
		}
		secret = g_new0(SbxNetpolSecret, 1);
		secret->name = g_strdup(name);
		secret->hosts = g_strdupv((gchar **)hosts);
		secret->value = g_strdup(value);
		secret->placeholder = g_strdup(placeholder);
		g_free(hosts);
		g_ptr_array_add(self->items, secret);
	}
	if (cert[0] != '\0') {
		self->ca = sbx_netpol_ca_new_from_pem(cert, key, error);
		if (self->ca == NULL)
			return NULL;
	}
	return g_steal_pointer(&self);
}
