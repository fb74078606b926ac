/* the [limits] a CreateSandbox must fit in; each refusal is
 * org.sandboxd.Error.LimitExceeded naming the limit's config key.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

#include "sbx-config.h"

G_BEGIN_DECLS

typedef struct {
	guint n_total;		    /* sandboxes not yet stopped */
	guint n_owner;		    /* of them, the caller's */
	guint n_starting;	    /* still booting, or queued to */
	guint64 starting_mib;	    /* memory of those (not yet in MemAvailable) */
	gboolean vms_are_processes; /* the test backend: CheckHostMemory=auto skips */
	guint64 pool_mib;	    /* guest memory of the pool's VMs ([daemon] PoolSize):
				       given back when a create needs it */
	gboolean drain_pool;	    /* out: the create fits only once the pool's VMs go */
	gboolean resident;	    /* its VM runs already (a pooled one): no memory check */
} SbxLimitsUsage;

/* MemAvailable of @meminfo (a /proc/meminfo text) in MiB */
gboolean sbx_limits_parse_mem_available(const gchar *meminfo, guint64 *mib);

/* checked in this order: MaxSandboxes, MaxSandboxesPerUser,
 * MaxConcurrentCreates + MaxQueuedCreates (SBX_ERROR_CAPACITY), the host's free memory
 * (CheckHostMemory, HostMemoryReserveMiB). Reads /proc/meminfo (small, never blocks). */
gboolean sbx_limits_check_create(SbxConfig *config, SbxLimitsUsage *usage, guint owner_uid,
				 guint memory_mib, GError **error);
/* whether the host keeps room for a create of @memory_mib once the pool
 * holds @pool_extra_mib more (the pool's own refill check) */
gboolean sbx_limits_pool_fits(SbxConfig *config, const SbxLimitsUsage *usage, guint pool_extra_mib,
			      guint memory_mib);

G_END_DECLS
