/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sbx-agent-client.h"
#include "sbx-hypervisor-backend.h"
#include "sbx-snapshot-store.h"

G_BEGIN_DECLS

/* an internal accelerator: per snapshot kind, a few VMs restored ahead
 * ([daemon] PoolSize), their agent connected, HELLO answered and one warm-up
 * command run, but no IDENTITY yet. A create of exactly that kind takes one
 * (its id becomes the sandbox's) and sends IDENTITY itself; nothing ever runs
 * a caller's code in a pooled VM before that. Refilled in the background,
 * one restore at a time, only while no create is starting. */
typedef struct _SbxPool SbxPool;

/* a restored VM handed to a sandbox: the caller owns it (and its VM) */
typedef struct {
	gchar *id;
	gchar *snapshot_dir;
	gchar *net; /* the network words the backend gave at restore */
	SbxAgentClient *agent;
	guint memory_mib;
	gint64 restored_at; /* monotonic: when its restore began */
} SbxPoolEntry;

void sbx_pool_entry_free(SbxPoolEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxPoolEntry, sbx_pool_entry_free)

/* the manager's answers: whether a create is starting (the pool waits), whether
 * an id is in use, and whether the host has room for @memory_mib more */
typedef struct {
	gboolean (*busy)(gpointer data);
	gboolean (*id_in_use)(const gchar *id, gpointer data);
	gboolean (*memory_ok)(guint memory_mib, gpointer data);
	gpointer data;
} SbxPoolHooks;

SbxPool *sbx_pool_new(SbxSnapshotStore *snapshots, const gchar *runtime_dir, guint size,
		      guint max_memory_mib, guint boot_timeout_sec, const SbxPoolHooks *hooks);
void sbx_pool_free(SbxPool *pool);
/* at shutdown: every pooled VM is killed, no refill after; completes once
 * they are gone with their run folders */
void sbx_pool_stop_async(SbxPool *pool, GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_pool_stop_finish(GAsyncResult *res, GError **error);

/* a sandbox of @spec's kind uses (or is taking) the snapshot @snapshot_dir:
 * keep PoolSize VMs of it once it exists */
void sbx_pool_want(SbxPool *pool, SbxHypervisorBackend *backend, const SbxVmSpec *spec,
		   const gchar *snapshot_dir);
/* a ready VM of @snapshot_dir on @backend, or NULL */
SbxPoolEntry *sbx_pool_take(SbxPool *pool, SbxHypervisorBackend *backend,
			    const gchar *snapshot_dir);
/* whether sbx_pool_take() would return a VM now */
gboolean sbx_pool_has_ready(SbxPool *pool, SbxHypervisorBackend *backend,
			    const gchar *snapshot_dir);
/* an id the pool holds (ready or being restored) */
gboolean sbx_pool_has_id(SbxPool *pool, const gchar *id);
/* a create was done or left the queue: a refill may start once idle */
void sbx_pool_kick(SbxPool *pool);
/* a create needs the host's memory: every ready VM goes; returns the guest
 * memory (MiB) they held */
guint64 sbx_pool_drain(SbxPool *pool, const gchar *why);

/* PoolSize: VMs kept per kind; 0 for a NULL pool */
guint sbx_pool_get_size(SbxPool *pool);
guint sbx_pool_get_n_ready(SbxPool *pool);
guint sbx_pool_get_n_filling(SbxPool *pool);
/* the guest memory of the ready and filling VMs */
guint64 sbx_pool_get_memory_mib(SbxPool *pool);
guint sbx_pool_get_n_kinds(SbxPool *pool);
guint64 sbx_pool_get_n_served(SbxPool *pool);

G_END_DECLS
