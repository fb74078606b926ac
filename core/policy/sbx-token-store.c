/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <glib/gstdio.h>

#include "sbx-authority.h"
#include "sbx-error.h"
#include "sbx-token-store.h"

/* 40 characters of a 62-letter alphabet: about 238 bits */
#define TOKEN_RANDOM_CHARS 40
#define TOKEN_MAX_LEN 512
#define NAME_MAX_LEN 64
#define MAX_TOKENS_PER_UID 64

struct _SbxTokenStore {
	GObject parent_instance;
	gchar *path;
	/* groups: the token's SHA-256 in hex; keys Uid, Name, Created */
	GKeyFile *file;
};

G_DEFINE_TYPE(SbxTokenStore, sbx_token_store, G_TYPE_OBJECT)

static void
sbx_token_store_finalize(GObject *object)
{
	SbxTokenStore *self = SBX_TOKEN_STORE(object);
	g_free(self->path);
	g_key_file_unref(self->file);
	G_OBJECT_CLASS(sbx_token_store_parent_class)->finalize(object);
}

static void
sbx_token_store_class_init(SbxTokenStoreClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = sbx_token_store_finalize;
}

static void
sbx_token_store_init(SbxTokenStore *self)
{
	self->file = g_key_file_new();
}

SbxTokenStore *
sbx_token_store_new(const gchar *path, GError **error)
{
	g_autoptr(SbxTokenStore) self = g_object_new(SBX_TYPE_TOKEN_STORE, NULL);
	g_autoptr(GError) local = NULL;

	self->path = g_strdup(path);
	if (!g_key_file_load_from_file(self->file, path, G_KEY_FILE_NONE, &local) &&
	    !g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG, "%s: %s", path, local->message);
		return NULL;
	}
	return g_steal_pointer(&self);
}

static gchar *
hash_token(const gchar *token)
{
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1);
}

/* small and rare: written whole, atomically, readable by root only */
static gboolean
save(SbxTokenStore *self, GError **error)
{
	g_autofree gchar *data = g_key_file_to_data(self->file, NULL, NULL);
	g_autoptr(GError) local = NULL;

	if (!g_file_set_contents_full(self->path, data, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
				      &local)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_FAILED, "cannot save tokens: %s",
			    local->message);
		return FALSE;
	}
	return TRUE;
}

static gboolean
name_is_valid(const gchar *name)
{
	gsize len = strlen(name);
	if (len == 0 || len > NAME_MAX_LEN)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-')
			return FALSE;
	}
	return TRUE;
}

/* a damaged entry belongs to nobody, never to root */
static guint
group_uid(SbxTokenStore *self, const gchar *group)
{
	g_autoptr(GError) error = NULL;
	guint64 uid = g_key_file_get_uint64(self->file, group, "Uid", &error);
	if (error != NULL || uid >= SBX_UID_NOBODY)
		return SBX_UID_NOBODY;
	return (guint)uid;
}

/* the group of @uid's token @name, or NULL */
static gchar *
find_named(SbxTokenStore *self, guint uid, const gchar *name, guint *n_owned)
{
	g_auto(GStrv) groups = g_key_file_get_groups(self->file, NULL);
	gchar *found = NULL;

	for (guint i = 0; groups[i] != NULL; i++) {
		g_autofree gchar *have = NULL;
		if (group_uid(self, groups[i]) != uid)
			continue;
		if (n_owned != NULL)
			(*n_owned)++;
		have = g_key_file_get_string(self->file, groups[i], "Name", NULL);
		if (found == NULL && g_strcmp0(have, name) == 0)
			found = g_strdup(groups[i]);
	}
	return found;
}

static gchar *
random_token(void)
{
	static const gchar alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	g_autoptr(GString) token = g_string_new(SBX_TOKEN_PREFIX);
	guint8 bytes[TOKEN_RANDOM_CHARS * 2];
	g_autoptr(GInputStream) urandom = NULL;
	g_autoptr(GFile) file = g_file_new_for_path("/dev/urandom");
	gsize got = 0;

	urandom = G_INPUT_STREAM(g_file_read(file, NULL, NULL));
	if (urandom == NULL ||
	    !g_input_stream_read_all(urandom, bytes, sizeof(bytes), &got, NULL, NULL) ||
	    got != sizeof(bytes))
		return NULL;
	/* rejection sampling keeps every letter equally likely */
	for (gsize i = 0;
	     i < sizeof(bytes) && token->len < strlen(SBX_TOKEN_PREFIX) + TOKEN_RANDOM_CHARS; i++) {
		if (bytes[i] < 248)
			g_string_append_c(token, alphabet[bytes[i] % 62]);
	}
	if (token->len < strlen(SBX_TOKEN_PREFIX) + TOKEN_RANDOM_CHARS)
		return NULL;
	return g_string_free(g_steal_pointer(&token), FALSE);
}

gchar *
sbx_token_store_create(SbxTokenStore *self, guint uid, const gchar *name, GError **error)
{
	g_autofree gchar *token = NULL;
	g_autofree gchar *group = NULL;
	g_autofree gchar *existing = NULL;
	guint n_owned = 0;

	g_return_val_if_fail(SBX_IS_TOKEN_STORE(self), NULL);
	if (!name_is_valid(name)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "name: 1-%d of A-Z a-z 0-9 . _ -", NAME_MAX_LEN);
		return NULL;
	}
	existing = find_named(self, uid, name, &n_owned);
	if (existing != NULL) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_ALREADY_EXISTS,
			    "a token named '%s' exists (revoke it first)", name);
		return NULL;
	}
	if (n_owned >= MAX_TOKENS_PER_UID) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_LIMIT_EXCEEDED,
			    "at most %d tokens per user", MAX_TOKENS_PER_UID);
		return NULL;
	}
	token = random_token();
	if (token == NULL) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_FAILED, "cannot read /dev/urandom");
		return NULL;
	}
	group = hash_token(token);
	g_key_file_set_uint64(self->file, group, "Uid", uid);
	g_key_file_set_string(self->file, group, "Name", name);
	g_key_file_set_int64(self->file, group, "Created", g_get_real_time() / G_USEC_PER_SEC);
	if (!save(self, error)) {
		g_key_file_remove_group(self->file, group, NULL);
		return NULL;
	}
	return g_steal_pointer(&token);
}

GVariant *
sbx_token_store_list(SbxTokenStore *self, guint uid)
{
	g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a(st)"));
	g_auto(GStrv) groups = g_key_file_get_groups(self->file, NULL);

	for (guint i = 0; groups[i] != NULL; i++) {
		g_autofree gchar *name = NULL;
		if (group_uid(self, groups[i]) != uid)
			continue;
		name = g_key_file_get_string(self->file, groups[i], "Name", NULL);
		g_variant_builder_add(
		    &builder, "(st)", name != NULL ? name : "",
		    (guint64)g_key_file_get_int64(self->file, groups[i], "Created", NULL));
	}
	return g_variant_builder_end(&builder);
}

gboolean
sbx_token_store_revoke(SbxTokenStore *self, guint uid, const gchar *name, GError **error)
{
	g_autofree gchar *group = find_named(self, uid, name, NULL);
	g_autofree gchar *saved = NULL;

	if (group == NULL) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_NOT_FOUND, "no token named '%.64s'", name);
		return FALSE;
	}
	saved = g_key_file_to_data(self->file, NULL, NULL);
	g_key_file_remove_group(self->file, group, NULL);
	if (!save(self, error)) {
		g_key_file_load_from_data(self->file, saved, -1, G_KEY_FILE_NONE, NULL);
		return FALSE;
	}
	return TRUE;
}

gboolean
sbx_token_store_lookup(SbxTokenStore *self, const gchar *token, guint *uid)
{
	g_autofree gchar *group = NULL;

	g_return_val_if_fail(SBX_IS_TOKEN_STORE(self), FALSE);
	if (token == NULL || !g_str_has_prefix(token, SBX_TOKEN_PREFIX) ||
	    strlen(token) > TOKEN_MAX_LEN)
		return FALSE;
	/* the hash is the key: no comparison of secrets byte by byte */
	group = hash_token(token);
	if (!g_key_file_has_group(self->file, group))
		return FALSE;
	*uid = group_uid(self, group);
	return *uid != SBX_UID_NOBODY;
}

gboolean
sbx_token_store_resolve_call(SbxTokenStore *self, GDBusMethodInvocation *invocation,
			     const gchar *token, guint *uid, GError **error)
{
	if (!sbx_authority_get_caller_may_act_for_tenants(invocation)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_ACCESS_DENIED,
			    "tenant-token: only root, the user " SBX_TENANT_PROXY_USER
			    " or the polkit action " SBX_POLKIT_ACTION_ACT_FOR_TENANTS
			    " may act for a tenant");
		return FALSE;
	}
	if (self == NULL || !sbx_token_store_lookup(self, token, uid)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_TOKEN,
			    "the access token is unknown or revoked");
		return FALSE;
	}
	return TRUE;
}
