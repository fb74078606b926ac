/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/keyctl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gio/gio.h>

#include "sbx-netpol-keyring.h"

/* a "user" key holds at most this; larger blobs need "big_key" */
#define USER_KEY_MAX 32767
#define BLOB_MAX (1024 * 1024)
/* the possessor's rights (keyutils.h): view, read, write, search, link, setattr */
#define POSSESSOR_ALL 0x3f000000

static gchar *
description(const gchar *id)
{
	return g_strdup_printf("sandboxd:secrets:%s", id);
}

/* the persistent keyring of our user, linked to our process keyring */
static glong
keyring(GError **error)
{
	glong ring = syscall(SYS_keyctl, KEYCTL_GET_PERSISTENT, -1, KEY_SPEC_PROCESS_KEYRING);

	if (ring < 0)
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "no persistent keyring: %s", g_strerror(errno));
	return ring;
}

static glong
search(glong ring, const gchar *desc)
{
	glong key = syscall(SYS_keyctl, KEYCTL_SEARCH, ring, "big_key", desc, 0);

	if (key < 0)
		key = syscall(SYS_keyctl, KEYCTL_SEARCH, ring, "user", desc, 0);
	return key;
}

gboolean
sbx_netpol_keyring_store(const gchar *id, GBytes *blob, GError **error)
{
	g_autofree gchar *desc = description(id);
	gsize len = 0;
	const void *data = g_bytes_get_data(blob, &len);
	glong ring = keyring(error);
	glong key;

	if (ring < 0)
		return FALSE;
	sbx_netpol_keyring_remove(id);
	key = syscall(SYS_add_key, "big_key", desc, data, len, ring);
	if (key < 0 && len <= USER_KEY_MAX)
		key = syscall(SYS_add_key, "user", desc, data, len, ring);
	if (key < 0) {
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot keep the secrets in the keyring: %s", g_strerror(errno));
		return FALSE;
	}
	/* nobody else, not even our other processes, may read it */
	syscall(SYS_keyctl, KEYCTL_SETPERM, key, POSSESSOR_ALL);
	return TRUE;
}

GBytes *
sbx_netpol_keyring_load(const gchar *id, GError **error)
{
	g_autofree gchar *desc = description(id);
	glong ring = keyring(error);
	glong key, size;
	guint8 *buf;

	if (ring < 0)
		return NULL;
	key = search(ring, desc);
	if (key < 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no secrets kept for %s", id);
		return NULL;
	}
	size = syscall(SYS_keyctl, KEYCTL_READ, key, NULL, 0);
	if (size <= 0 || size > BLOB_MAX) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "the secrets kept for %s cannot be read", id);
		return NULL;
	}
	buf = g_malloc(size);
	if (syscall(SYS_keyctl, KEYCTL_READ, key, buf, size) != size) {
		explicit_bzero(buf, size);
		g_free(buf);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "the secrets kept for %s cannot be read", id);
		return NULL;
	}
	return g_bytes_new_take(buf, size);
}

void
sbx_netpol_keyring_remove(const gchar *id)
{
	g_autofree gchar *desc = description(id);
	glong ring = keyring(NULL);
	glong key;

	if (ring < 0)
		return;
	while ((key = search(ring, desc)) >= 0) {
		if (syscall(SYS_keyctl, KEYCTL_INVALIDATE, key) != 0 &&
		    syscall(SYS_keyctl, KEYCTL_UNLINK, key, ring) != 0)
			break;
	}
}
