/* a jailed process's access to one file, as a POSIX ACL entry: for files it
 * opens by path (cloud-hypervisor's disks) that stay their owner's.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* a named-user entry for @uid on @path's access ACL: rw-, or r-- without
 * @writable; the mask follows. Nothing to do for root or the owner */
gboolean sbx_jail_acl_grant(const gchar *path, uid_t uid, gboolean writable, GError **error);
/* @uid's entry removed again; the last named entry takes the ACL with it
 * (the file's mode as before the grant) */
gboolean sbx_jail_acl_revoke(const gchar *path, uid_t uid, GError **error);

G_END_DECLS
