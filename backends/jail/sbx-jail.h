/* sandboxd: the process jail hypervisor backends run their VMMs in.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <sys/types.h>

G_BEGIN_DECLS

/**
 * SbxJail:
 *
 * How a backend's hypervisor processes are confined: an unprivileged user, a
 * private mount namespace with its own /tmp and a /dev holding only the nodes
 * a VMM uses (null, zero, full, random, urandom, kvm, net/tun, vhost-net), no
 * new privileges, no inherited fds but the ones passed, its own session, and
 * cgroups with memory, CPU and task limits (v2, or v1 on hosts without a
 * writable cgroup2 tree: sbx-jail-cgroups.h).
 */
typedef struct _SbxJail SbxJail;

SbxJail *sbx_jail_new(const gchar *user, const gchar *cgroup_root, gboolean private_tmp,
		      GError **error);
SbxJail *sbx_jail_ref(SbxJail *jail);
void sbx_jail_free(SbxJail *jail);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxJail, sbx_jail_free)

uid_t sbx_jail_get_uid(SbxJail *jail);
gid_t sbx_jail_get_gid(SbxJail *jail);
gboolean sbx_jail_has_cgroups(SbxJail *jail);
GStrv sbx_jail_cgroup_dirs(SbxJail *jail, const gchar *name);
void sbx_jail_set_private_dev(SbxJail *jail, gboolean private_dev);
gboolean sbx_jail_chown(SbxJail *jail, const gchar *path, GError **error);

gboolean sbx_jail_spawn(SbxJail *jail, const gchar *name, const gchar *const *argv, const gint *fds,
			guint n_fds, guint64 memory_max, guint vcpus, GPid *pid, GError **error);
void sbx_jail_remove_cgroup(SbxJail *jail, const gchar *name);
guint sbx_jail_sweep_cgroups(SbxJail *jail, guint min_age_sec);

G_END_DECLS
