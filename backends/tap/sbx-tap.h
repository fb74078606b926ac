/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

gchar *sbx_tap_name(const gchar *id);
/* a tap on @bridge, its port isolated (talks to the uplink only) */
gint sbx_tap_open(const gchar *name, const gchar *bridge, GError **error);
/* the same, persistent, for a VMM that opens it by name as @owner (Cloud
 * Hypervisor's vm.create takes no fds); never takes over an existing one */
gboolean sbx_tap_create(const gchar *name, const gchar *bridge, uid_t owner, GError **error);
/* removes a tap made by sbx_tap_create, even while a VMM holds it; quiet
 * when it is gone already */
gboolean sbx_tap_delete(const gchar *name, GError **error);
/* nftables bridge rules (table bridge sbxq_NAME): from the tap only @mac
 * and @ip; blocks (runs nft) */
gboolean sbx_tap_guard(const gchar *name, const gchar *mac, const gchar *ip, GError **error);
/* removes them; quiet when they are gone already */
void sbx_tap_unguard(const gchar *name);
/* sbx_tap_delete now (netlink: does not block), sbx_tap_unguard in a
 * thread (nft): for a main loop */
void sbx_tap_release(const gchar *name);

G_END_DECLS
