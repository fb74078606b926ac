/* network policy: a sandbox's secrets kept across a daemon restart in the
 * kernel's persistent keyring of sandboxd's user (keyctl), never on disk: a
 * re-adopted sandbox gets its CA and values back. The keyring expires after
 * /proc/sys/kernel/keys/persistent_keyring_expiry of no use (3 days).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* replaces what is kept for sandbox @id */
gboolean sbx_netpol_keyring_store(const gchar *id, GBytes *blob, GError **error);
/* what is kept for @id, or NULL (G_IO_ERROR_NOT_FOUND when nothing is) */
GBytes *sbx_netpol_keyring_load(const gchar *id, GError **error);
void sbx_netpol_keyring_remove(const gchar *id);

G_END_DECLS
