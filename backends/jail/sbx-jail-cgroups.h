/* sandboxd: the cgroups a jailed VMM runs in, with its memory and CPU limits.
 *
 * cgroup v2 when the configured root's parent is a writable cgroup2 tree
 * (memory.max, cpu.max, pids.max); else cgroup v1 mounted beside it (the
 * root's parent holds memory/, cpu/ and pids/), a folder named like the root
 * in each (memory.limit_in_bytes, cpu.cfs_quota_us, pids.max); else none.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* one cgroup.procs fd per hierarchy the child joins, -1 after the last */
#define SBX_JAIL_CGROUP_MAX_FDS 4

/* a bound on a VMM's tasks: a TCG QEMU with its I/O and librbd threads stays
 * far below it, a runaway one does not take the host's pid space */
#define SBX_JAIL_PIDS_MAX 4096

typedef struct _SbxJailCgroups SbxJailCgroups;

SbxJailCgroups *sbx_jail_cgroups_new(const gchar *root);
void sbx_jail_cgroups_free(SbxJailCgroups *cgroups);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxJailCgroups, sbx_jail_cgroups_free)

const gchar *sbx_jail_cgroups_describe(SbxJailCgroups *cgroups);
gboolean sbx_jail_cgroups_create(SbxJailCgroups *cgroups, const gchar *name, guint64 memory_max,
				 guint vcpus, int fds[SBX_JAIL_CGROUP_MAX_FDS], GError **error);
GStrv sbx_jail_cgroups_dirs(SbxJailCgroups *cgroups, const gchar *name);
void sbx_jail_cgroups_remove(SbxJailCgroups *cgroups, const gchar *name);

G_END_DECLS
