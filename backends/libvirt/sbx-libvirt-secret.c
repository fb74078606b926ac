/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gio.h>
#include <string.h>

#include "sbx-libvirt-secret.h"

#define SECRET_USAGE_PREFIX "sandboxd/"

static void
set_error(GError **error, const gchar *id, const gchar *what)
{
	const gchar *msg = virGetLastErrorMessage();
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "vm %s: %s: %s", id, what,
		    msg != NULL ? msg : "unknown libvirt error");
}

void
sbx_libvirt_secret_undefine_all(virConnectPtr conn, const gchar *id)
{
	g_autofree gchar *prefix = g_strconcat(SECRET_USAGE_PREFIX, id, "/", NULL);
	virSecretPtr *secrets = NULL;
	gint n = virConnectListAllSecrets(conn, &secrets, VIR_CONNECT_LIST_SECRETS_EPHEMERAL);

	if (n < 0) {
		virResetLastError();
		return;
	}
	for (gint i = 0; i < n; i++) {
		const gchar *usage = virSecretGetUsageID(secrets[i]);
		if (usage != NULL && g_str_has_prefix(usage, prefix) &&
		    virSecretUndefine(secrets[i]) < 0) {
			g_warning("vm %s: cannot undefine secret %s: %s", id, usage,
				  virGetLastErrorMessage());
			virResetLastError();
		}
		virSecretFree(secrets[i]);
	}
	free(secrets);
}

gchar **
sbx_libvirt_secret_define_all(virConnectPtr conn, const SbxVmSpec *spec, GError **error)
{
	g_autoptr(GPtrArray) uuids = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; spec->disks != NULL && i < spec->disks->len; i++) {
		const SbxVmDisk *disk = g_ptr_array_index(spec->disks, i);
		g_autofree gchar *usage = NULL;
		g_autofree gchar *xml = NULL;
		g_autofree guchar *key = NULL;
		gsize key_len = 0;
		gchar uuid[VIR_UUID_STRING_BUFLEN] = {0};
		virSecretPtr secret;

		if (disk->source == NULL || disk->source->kind != SBX_DISK_SOURCE_RBD ||
		    disk->source->auth_key == NULL || disk->source->auth_key[0] == '\0') {
			g_ptr_array_add(uuids, g_strdup(""));
			continue;
		}
		usage = g_strdup_printf(SECRET_USAGE_PREFIX "%s/%s", spec->id, disk->serial);
		/* ids and serials are [A-Za-z0-9_-]: nothing to escape */
		xml = g_strdup_printf("<secret ephemeral='yes' private='yes'>"
				      "<usage type='ceph'><name>%s</name></usage></secret>",
				      usage);
		secret = virSecretDefineXML(conn, xml, 0);
		if (secret == NULL) {
			set_error(error, spec->id, "cannot define the rbd key secret");
			sbx_libvirt_secret_undefine_all(conn, spec->id);
			return NULL;
		}
		key = g_base64_decode(disk->source->auth_key, &key_len);
		if (key_len == 0 || virSecretSetValue(secret, key, key_len, 0) < 0 ||
		    virSecretGetUUIDString(secret, uuid) < 0) {
			if (key_len == 0)
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
					    "vm %s: the rbd key of %s is not base64", spec->id,
					    disk->serial);
			else
				set_error(error, spec->id, "cannot set the rbd key secret");
			memset(key, 0, key_len);
			virSecretFree(secret);
			sbx_libvirt_secret_undefine_all(conn, spec->id);
			return NULL;
		}
		memset(key, 0, key_len);
		virSecretFree(secret);
		g_ptr_array_add(uuids, g_strdup(uuid));
	}
	g_ptr_array_add(uuids, NULL);
	return (gchar **)g_ptr_array_free(g_steal_pointer(&uuids), FALSE);
}
