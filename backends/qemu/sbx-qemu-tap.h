/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gchar *sbx_qemu_tap_name(const gchar *id);
/* a tap on @bridge, its port isolated (talks to the uplink only) */
gint sbx_qemu_tap_open(const gchar *name, const gchar *bridge, GError **error);
/* nftables bridge rules (table bridge sbxq_NAME): from the tap only @mac
 * and @ip; blocks (runs nft) */
gboolean sbx_qemu_tap_guard(const gchar *name, const gchar *mac, const gchar *ip, GError **error);
/* removes them; quiet when they are gone already */
void sbx_qemu_tap_unguard(const gchar *name);

G_END_DECLS
