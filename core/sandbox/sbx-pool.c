/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include <errno.h>
#include <ftw.h>
#include <glib/gstdio.h>

#include "sbx-pool.h"
#include "sbx-sandbox-id.h"

/* a refill starts once no create has started for this long */
#define REFILL_IDLE_MS 300
/* after a failed restore, the next try of that kind waits longer */
#define RETRY_MS 5000
/* a kind whose VMs fail to restore this often in a row gets no more */
#define MAX_FAILURES 3
#define CONNECT_RETRY_MS 50
#define CONNECT_DEADLINE_US (10 * G_USEC_PER_SEC)
/* the same warm-up as the snapshot's template: this QEMU process translates
 * the guest's exec path once, before a caller's first command */
#define WARM_TIMEOUT_MS 60000

typedef struct _Kind Kind;

typedef struct {
	gint ref; /* the pool's, and one per step in flight */
	gboolean remove_run_dir;
	SbxPool *pool;
	Kind *kind; /* NULL once its kind was dropped */
	SbxHypervisorBackend *backend;
	SbxVmSpec *spec;
	gchar *net;
	SbxAgentClient *agent;
	gulong closed_id;
	GCancellable *cancellable;
	gint64 started;
	gint64 deadline;
	gboolean dying; /* destroyed: callbacks still in flight just end */
} PoolVm;

struct _Kind {
	gchar *dir;
	SbxHypervisorBackend *backend;
	SbxVmSpec *spec;
	GQueue ready;	  /* PoolVm, oldest first */
	gboolean waiting; /* for its snapshot to be taken */
	guint failures;
};

struct _SbxPool {
	SbxSnapshotStore *snapshots;
	gchar *runtime_dir;
	guint size;
	guint max_memory_mib;
	guint boot_timeout_sec;
	SbxPoolHooks hooks;
	GHashTable *kinds;   /* snapshot dir -> Kind */
	GHashTable *vms;     /* id -> PoolVm, ready or being restored (not destroying) */
	GHashTable *watched; /* backends whose vm-exited we follow -> handler id */
	PoolVm *filling;     /* at most one restore at a time */
	guint n_alive;	     /* PoolVm not yet freed, destroying ones too */
	guint refill_id;
	gboolean stopped;
	GTask *stop_task;
	guint64 n_served;
	guint n_waits;	/* sbx_snapshot_store_wait_async() in flight */
	gboolean freed; /* sbx_pool_free() ran */
};

static void schedule_refill(SbxPool *pool, guint delay_ms);
static void vm_destroy(PoolVm *vm, const gchar *why);
static void maybe_free(SbxPool *pool);

void
sbx_pool_entry_free(SbxPoolEntry *entry)
{
	if (entry == NULL)
		return;
	g_free(entry->id);
	g_free(entry->snapshot_dir);
	g_free(entry->net);
	if (entry->agent != NULL && !sbx_agent_client_is_closed(entry->agent))
		sbx_agent_client_close(entry->agent, NULL);
	g_clear_object(&entry->agent);
	g_free(entry);
}

static void
kind_free(Kind *kind)
{
	g_queue_clear(&kind->ready);
	g_free(kind->dir);
	g_object_unref(kind->backend);
	sbx_vm_spec_free(kind->spec);
	g_free(kind);
}

SbxPool *
sbx_pool_new(SbxSnapshotStore *snapshots, const gchar *runtime_dir, guint size,
	     guint max_memory_mib, guint boot_timeout_sec, const SbxPoolHooks *hooks)
{
	SbxPool *pool = g_new0(SbxPool, 1);
	pool->snapshots = snapshots;
	pool->runtime_dir = g_strdup(runtime_dir);
	pool->size = size;
	pool->max_memory_mib = max_memory_mib;
	pool->boot_timeout_sec = boot_timeout_sec;
	pool->hooks = *hooks;
	pool->kinds =
	    g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)kind_free);
	pool->vms = g_hash_table_new(g_str_hash, g_str_equal);
	pool->watched = g_hash_table_new_full(g_direct_hash, g_direct_equal, g_object_unref, NULL);
	return pool;
}

static void
unwatch_backends(SbxPool *pool)
{
	GHashTableIter iter;
	gpointer key, value;

	g_hash_table_iter_init(&iter, pool->watched);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		gulong id = GPOINTER_TO_SIZE(value);
		g_signal_handler_disconnect(key, id);
	}
	g_hash_table_remove_all(pool->watched);
}

/* the daemon ends: sbx_pool_stop_async() ran; VMs still in flight keep the
 * struct until their last callback (pool->stopped makes them just end) */
void
sbx_pool_free(SbxPool *pool)
{
	if (pool == NULL)
		return;
	g_clear_handle_id(&pool->refill_id, g_source_remove);
	unwatch_backends(pool);
	pool->stopped = TRUE;
	pool->freed = TRUE;
	maybe_free(pool);
}

/* the struct goes once sbx_pool_free() ran and nothing in flight needs it */
static void
maybe_free(SbxPool *pool)
{
	if (!pool->freed || pool->n_alive > 0 || pool->n_waits > 0)
		return;
	g_hash_table_unref(pool->kinds);
	g_hash_table_unref(pool->vms);
	g_hash_table_unref(pool->watched);
	g_free(pool->runtime_dir);
	g_free(pool);
}

/* --- a pooled VM's way down --------------------------------------------- */

static int
rm_rf_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) != 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) != 0 && errno != ENOENT ? -1 : 0;
}

static void
rm_run_dir_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	const gchar *dir = task_data;
	if (g_file_test(dir, G_FILE_TEST_EXISTS))
		nftw(dir, rm_rf_cb, 16, FTW_DEPTH | FTW_PHYS);
	g_task_return_boolean(task, TRUE);
}

static void
vm_free(PoolVm *vm)
{
	SbxPool *pool = vm->pool;

	if (vm->agent != NULL && vm->closed_id != 0)
		g_clear_signal_handler(&vm->closed_id, vm->agent);
	if (vm->agent != NULL && !sbx_agent_client_is_closed(vm->agent))
		sbx_agent_client_close(vm->agent, NULL);
	g_clear_object(&vm->agent);
	g_clear_object(&vm->cancellable);
	g_clear_object(&vm->backend);
	sbx_vm_spec_free(vm->spec);
	g_free(vm->net);
	g_free(vm);
	pool->n_alive--;
	if (pool->n_alive == 0 && pool->stop_task != NULL) {
		g_autoptr(GTask) task = g_steal_pointer(&pool->stop_task);
		g_task_return_boolean(task, TRUE);
	}
	/* sbx_pool_free() ran while this one was going: the last one frees it */
	maybe_free(pool);
}

static void
on_run_dir_removed(GObject *source, GAsyncResult *res, gpointer user_data)
{
	vm_free(user_data);
}

static PoolVm *
vm_ref(PoolVm *vm)
{
	vm->ref++;
	return vm;
}

/* the last step of a destroyed VM ended (no thread writes its run folder
 * any more): the folder goes, then the bookkeeping */
static void
vm_unref(PoolVm *vm)
{
	g_autoptr(GTask) task = NULL;

	if (--vm->ref > 0)
		return;
	if (!vm->remove_run_dir) {
		vm_free(vm);
		return;
	}
	task = g_task_new(NULL, NULL, on_run_dir_removed, vm);
	g_task_set_task_data(task, g_strdup(vm->spec->run_dir), g_free);
	g_task_run_in_thread(task, rm_run_dir_thread);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PoolVm, vm_unref)

static void
on_vm_destroyed(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(PoolVm) vm = user_data;
	g_autoptr(GError) error = NULL;

	if (!sbx_hypervisor_backend_destroy_vm_finish(vm->backend, res, &error))
		g_warning("pool: destroying VM %s failed: %s", vm->spec->id, error->message);
}

/* out of the pool; the VM goes now, its run folder once no step of it is in
 * flight (each ends on vm->dying) */
static void
vm_destroy(PoolVm *vm, const gchar *why)
{
	SbxPool *pool = vm->pool;

	if (vm->dying)
		return;
	vm->dying = TRUE;
	vm->remove_run_dir = TRUE;
	g_info("pool: VM %s of snapshot %s dropped: %s", vm->spec->id, vm->spec->snapshot_dir, why);
	g_hash_table_remove(pool->vms, vm->spec->id);
	if (vm->kind != NULL)
		g_queue_remove(&vm->kind->ready, vm);
	vm->kind = NULL;
	if (pool->filling == vm)
		pool->filling = NULL;
	g_cancellable_cancel(vm->cancellable);
	if (vm->agent != NULL) {
		if (vm->closed_id != 0)
			g_clear_signal_handler(&vm->closed_id, vm->agent);
		if (!sbx_agent_client_is_closed(vm->agent))
			sbx_agent_client_close(vm->agent, NULL);
	}
	sbx_hypervisor_backend_destroy_vm_async(vm->backend, vm->spec->id, NULL, on_vm_destroyed,
						vm_ref(vm));
	/* the pool's reference */
	vm_unref(vm);
}

static void
drop_kind(SbxPool *pool, Kind *kind, const gchar *why)
{
	PoolVm *vm;

	while ((vm = g_queue_peek_head(&kind->ready)) != NULL)
		vm_destroy(vm, why);
	if (pool->filling != NULL && pool->filling->kind == kind)
		vm_destroy(pool->filling, why);
	g_info("pool: no more VMs of snapshot %s: %s", kind->dir, why);
	g_hash_table_remove(pool->kinds, kind->dir);
}

static void
on_backend_vm_exited(SbxHypervisorBackend *backend, const gchar *id, gpointer user_data)
{
	SbxPool *pool = user_data;
	PoolVm *vm = g_hash_table_lookup(pool->vms, id);

	if (vm == NULL)
		return;
	vm_destroy(vm, "its VM stopped");
	schedule_refill(pool, REFILL_IDLE_MS);
}

static void
on_agent_closed(SbxAgentClient *agent, const GError *reason, gpointer user_data)
{
	PoolVm *vm = user_data;
	SbxPool *pool = vm->pool;
	g_autofree gchar *why = g_strdup_printf("its agent connection closed: %s",
						reason != NULL ? reason->message : "hung up");
	vm_destroy(vm, why);
	schedule_refill(pool, REFILL_IDLE_MS);
}

/* --- filling: restore, connect, HELLO, warm-up ---------------------------- */

static void
fill_failed(PoolVm *vm, const gchar *what, const GError *error)
{
	SbxPool *pool = vm->pool;
	g_autofree gchar *why =
	    g_strdup_printf("%s: %s", what, error != NULL ? error->message : "failed");
	Kind *kind = vm->kind;

	if (vm->dying)
		return;
	if (kind != NULL && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		kind->failures++;
	vm_destroy(vm, why);
	if (kind != NULL && kind->failures >= MAX_FAILURES) {
		drop_kind(pool, kind, "its VMs failed to restore too often");
		return;
	}
	schedule_refill(pool, RETRY_MS);
}

static void
on_warm(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(PoolVm) vm = user_data;
	SbxPool *pool = vm->pool;
	g_autoptr(GError) error = NULL;
	SbxExecResult result = {0};
	gboolean ok = sbx_agent_client_exec_finish(SBX_AGENT_CLIENT(source), res, &result, &error);

	if (vm->dying)
		return;
	if (!ok && sbx_agent_client_is_closed(vm->agent)) {
		fill_failed(vm, "the warm-up command failed", error);
		return;
	}
	/* a failed command only costs the first real command its gain */
	if (!ok)
		g_debug("pool: VM %s: the warm-up command failed: %s", vm->spec->id,
			error->message);
	vm->kind->failures = 0;
	pool->filling = NULL;
	vm->closed_id = g_signal_connect(vm->agent, "closed", G_CALLBACK(on_agent_closed), vm);
	g_queue_push_tail(&vm->kind->ready, vm);
	g_info("pool: VM %s of snapshot %s ready in %.3f s (%u of %u)", vm->spec->id, vm->kind->dir,
	       (g_get_monotonic_time() - vm->started) / 1e6, g_queue_get_length(&vm->kind->ready),
	       pool->size);
	schedule_refill(pool, REFILL_IDLE_MS);
}

static void
on_handshake(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(PoolVm) vm = user_data;
	g_autoptr(GError) error = NULL;
	const gchar *argv[] = {"sh", "-c", "echo x >/dev/null && true", NULL};
	SbxExecParams params = {0};
	gboolean ok = sbx_agent_client_handshake_finish(SBX_AGENT_CLIENT(source), res, &error);

	if (vm->dying)
		return;
	if (!ok) {
		fill_failed(vm, "the agent did not answer", error);
		return;
	}
	/* a pooled VM must be able to become a sandbox */
	if ((sbx_agent_client_get_features(vm->agent) & SBX_FEATURE_IDENTITY) == 0) {
		g_set_error(&error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "agent %s cannot take an identity",
			    sbx_agent_client_get_agent_version(vm->agent));
		fill_failed(vm, "unusable agent", error);
		return;
	}
	params.argv = argv;
	params.uid = -1;
	params.gid = -1;
	params.timeout_ms = WARM_TIMEOUT_MS;
	sbx_agent_client_exec_async(vm->agent, &params, -1, -1, -1, vm->cancellable, on_warm,
				    vm_ref(vm));
}

static void try_connect(PoolVm *vm);

static gboolean
on_connect_retry(gpointer user_data)
{
	PoolVm *vm = user_data;
	if (!vm->dying)
		try_connect(vm);
	return G_SOURCE_REMOVE;
}

static void
on_connected(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(PoolVm) vm = user_data;
	SbxPool *pool = vm->pool;
	g_autoptr(GError) error = NULL;
	g_autoptr(GIOStream) conn =
	    sbx_hypervisor_backend_connect_agent_finish(vm->backend, res, &error);

	if (vm->dying)
		return;
	if (conn == NULL) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
		    g_get_monotonic_time() < vm->deadline) {
			g_timeout_add_full(G_PRIORITY_DEFAULT, CONNECT_RETRY_MS, on_connect_retry,
					   vm_ref(vm), (GDestroyNotify)vm_unref);
			return;
		}
		fill_failed(vm, "cannot connect to the agent socket", error);
		return;
	}
	vm->agent = sbx_agent_client_new(conn, vm->spec->id);
	sbx_agent_client_handshake_async(vm->agent, pool->boot_timeout_sec * 1000, vm->cancellable,
					 on_handshake, vm_ref(vm));
}

static void
try_connect(PoolVm *vm)
{
	sbx_hypervisor_backend_connect_agent_async(vm->backend, vm->spec->id,
						   vm->spec->agent_socket, vm->cancellable,
						   on_connected, vm_ref(vm));
}

static void
on_restored(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(PoolVm) vm = user_data;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *net = sbx_hypervisor_backend_restore_vm_finish(vm->backend, res, &error);

	if (vm->dying) {
		/* destroyed while restoring: the backend kills what a cancelled
		 * launch started; once more for one that got through */
		if (net != NULL)
			sbx_hypervisor_backend_destroy_vm_async(vm->backend, vm->spec->id, NULL,
								on_vm_destroyed, vm_ref(vm));
		return;
	}
	if (net == NULL) {
		fill_failed(vm, "the backend could not restore it", error);
		return;
	}
	vm->net = g_steal_pointer(&net);
	vm->deadline = g_get_monotonic_time() + CONNECT_DEADLINE_US;
	try_connect(vm);
}

static gchar *
new_id(SbxPool *pool)
{
	gchar *id = NULL;
	do {
		g_free(id);
		id = sbx_sandbox_id_new();
	} while (g_hash_table_contains(pool->vms, id) ||
		 (pool->hooks.id_in_use != NULL && pool->hooks.id_in_use(id, pool->hooks.data)));
	return id;
}

static void
start_fill(SbxPool *pool, Kind *kind)
{
	PoolVm *vm = g_new0(PoolVm, 1);
	g_autofree gchar *id = new_id(pool);
	SbxVmSpec *spec = sbx_vm_spec_copy(kind->spec);

	pool->n_alive++;
	vm->ref = 1;
	vm->pool = pool;
	vm->kind = kind;
	vm->backend = g_object_ref(kind->backend);
	vm->cancellable = g_cancellable_new();
	vm->started = g_get_monotonic_time();
	g_free(spec->id);
	spec->id = g_strdup(id);
	g_free(spec->run_dir);
	spec->run_dir = g_build_filename(pool->runtime_dir, id, NULL);
	g_free(spec->agent_socket);
	spec->agent_socket = g_build_filename(spec->run_dir, "agent.sock", NULL);
	g_free(spec->console_log);
	spec->console_log = g_build_filename(spec->run_dir, "console.log", NULL);
	g_free(spec->snapshot_dir);
	spec->snapshot_dir = g_strdup(kind->dir);
	vm->spec = spec;
	g_hash_table_insert(pool->vms, vm->spec->id, vm);
	pool->filling = vm;
	if (g_mkdir(spec->run_dir, 0750) != 0 || g_chmod(spec->run_dir, 0750) != 0) {
		g_autoptr(GError) error = g_error_new(G_IO_ERROR, g_io_error_from_errno(errno),
						      "%s: %s", spec->run_dir, g_strerror(errno));
		fill_failed(vm, "cannot create the run folder", error);
		return;
	}
	g_debug("pool: restoring VM %s of snapshot %s", id, kind->dir);
	sbx_hypervisor_backend_restore_vm_async(vm->backend, spec, vm->cancellable, on_restored,
						vm_ref(vm));
}

/* --- what to fill --------------------------------------------------------- */

/* a snapshot that changed (new image, agent, QEMU) or went: its VMs go */
static void
drop_stale_kinds(SbxPool *pool)
{
	g_autoptr(GPtrArray) stale = g_ptr_array_new();
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, pool->kinds);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		Kind *kind = value;
		gboolean ready = FALSE;
		g_autofree gchar *why = NULL;
		g_autofree gchar *dir = NULL;

		if (kind->waiting)
			continue;
		dir = sbx_snapshot_store_lookup(pool->snapshots, kind->backend, kind->spec, &ready,
						&why);
		if (!ready || g_strcmp0(dir, kind->dir) != 0)
			g_ptr_array_add(stale, kind);
	}
	for (guint i = 0; i < stale->len; i++)
		drop_kind(pool, g_ptr_array_index(stale, i), "its snapshot is stale or gone");
}

guint64
sbx_pool_get_memory_mib(SbxPool *pool)
{
	GHashTableIter iter;
	gpointer value;
	guint64 mib = 0;

	if (pool == NULL)
		return 0;
	g_hash_table_iter_init(&iter, pool->vms);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		mib += ((PoolVm *)value)->spec->memory_mib;
	return mib;
}

static gboolean
on_refill(gpointer user_data)
{
	SbxPool *pool = user_data;
	GHashTableIter iter;
	gpointer value;
	Kind *pick = NULL;

	pool->refill_id = 0;
	if (pool->stopped || pool->filling != NULL)
		return G_SOURCE_REMOVE;
	/* never in the way of a real create: the next kick tries again */
	if (pool->hooks.busy != NULL && pool->hooks.busy(pool->hooks.data))
		return G_SOURCE_REMOVE;
	drop_stale_kinds(pool);
	/* the emptiest kind first */
	g_hash_table_iter_init(&iter, pool->kinds);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		Kind *kind = value;
		if (kind->waiting || g_queue_get_length(&kind->ready) >= pool->size)
			continue;
		if (pick == NULL ||
		    g_queue_get_length(&kind->ready) < g_queue_get_length(&pick->ready))
			pick = kind;
	}
	if (pick == NULL)
		return G_SOURCE_REMOVE;
	if (sbx_pool_get_memory_mib(pool) + pick->spec->memory_mib > pool->max_memory_mib) {
		g_debug("pool: no VM of snapshot %s: PoolMaxMemoryMiB=%u reached", pick->dir,
			pool->max_memory_mib);
		return G_SOURCE_REMOVE;
	}
	if (pool->hooks.memory_ok != NULL &&
	    !pool->hooks.memory_ok(pick->spec->memory_mib, pool->hooks.data)) {
		g_debug("pool: no VM of snapshot %s: the host's memory is kept for creates",
			pick->dir);
		schedule_refill(pool, RETRY_MS);
		return G_SOURCE_REMOVE;
	}
	start_fill(pool, pick);
	return G_SOURCE_REMOVE;
}

static void
schedule_refill(SbxPool *pool, guint delay_ms)
{
	if (pool->stopped)
		return;
	/* a later kick restarts the idle wait */
	g_clear_handle_id(&pool->refill_id, g_source_remove);
	pool->refill_id = g_timeout_add_full(G_PRIORITY_LOW, delay_ms, on_refill, pool, NULL);
}

void
sbx_pool_kick(SbxPool *pool)
{
	if (pool == NULL || pool->refill_id != 0)
		return;
	schedule_refill(pool, REFILL_IDLE_MS);
}

typedef struct {
	SbxPool *pool;
	gchar *dir;
} Wait;

static void
on_snapshot_taken(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Wait *w = user_data;
	SbxPool *pool = w->pool;
	g_autofree gchar *dir = w->dir;
	g_autoptr(GError) error = NULL;
	gboolean taken = sbx_snapshot_store_wait_finish(res, &error);
	Kind *kind;

	g_free(w);
	pool->n_waits--;
	if (pool->stopped) {
		maybe_free(pool);
		return;
	}
	kind = g_hash_table_lookup(pool->kinds, dir);
	if (kind == NULL)
		return;
	if (!taken) {
		drop_kind(pool, kind, error->message);
		return;
	}
	kind->waiting = FALSE;
	schedule_refill(pool, REFILL_IDLE_MS);
}

void
sbx_pool_want(SbxPool *pool, SbxHypervisorBackend *backend, const SbxVmSpec *spec,
	      const gchar *snapshot_dir)
{
	Kind *kind;

	if (pool == NULL || pool->stopped || pool->size == 0 || snapshot_dir == NULL)
		return;
	if (spec->disks != NULL && spec->disks->len > 0)
		return;
	kind = g_hash_table_lookup(pool->kinds, snapshot_dir);
	if (kind != NULL) {
		if (kind->backend == backend)
			sbx_pool_kick(pool);
		return;
	}
	kind = g_new0(Kind, 1);
	kind->dir = g_strdup(snapshot_dir);
	kind->backend = g_object_ref(backend);
	kind->spec = sbx_vm_spec_copy(spec);
	g_clear_pointer(&kind->spec->snapshot_dir, g_free);
	g_queue_init(&kind->ready);
	g_hash_table_insert(pool->kinds, kind->dir, kind);
	if (!g_hash_table_contains(pool->watched, backend)) {
		gulong id =
		    g_signal_connect(backend, "vm-exited", G_CALLBACK(on_backend_vm_exited), pool);
		g_hash_table_insert(pool->watched, g_object_ref(backend), GSIZE_TO_POINTER(id));
	}
	g_info("pool: keeping %u VMs of snapshot %s (%u MiB, %u vCPUs)", pool->size, snapshot_dir,
	       spec->memory_mib, spec->vcpus);
	if (!g_file_test(snapshot_dir, G_FILE_TEST_IS_DIR)) {
		/* its snapshot is being taken: fill once it is there */
		Wait *w = g_new0(Wait, 1);
		w->pool = pool;
		w->dir = g_strdup(snapshot_dir);
		kind->waiting = TRUE;
		pool->n_waits++;
		sbx_snapshot_store_wait_async(pool->snapshots, snapshot_dir, on_snapshot_taken, w);
		return;
	}
	sbx_pool_kick(pool);
}

SbxPoolEntry *
sbx_pool_take(SbxPool *pool, SbxHypervisorBackend *backend, const gchar *snapshot_dir)
{
	Kind *kind;
	PoolVm *vm;
	SbxPoolEntry *entry;

	if (pool == NULL || pool->stopped || snapshot_dir == NULL)
		return NULL;
	kind = g_hash_table_lookup(pool->kinds, snapshot_dir);
	if (kind == NULL || kind->backend != backend)
		return NULL;
	vm = g_queue_pop_head(&kind->ready);
	if (vm == NULL)
		return NULL;
	g_hash_table_remove(pool->vms, vm->spec->id);
	g_clear_signal_handler(&vm->closed_id, vm->agent);
	entry = g_new0(SbxPoolEntry, 1);
	entry->id = g_strdup(vm->spec->id);
	entry->snapshot_dir = g_strdup(kind->dir);
	entry->net = g_steal_pointer(&vm->net);
	entry->agent = g_steal_pointer(&vm->agent);
	entry->memory_mib = vm->spec->memory_mib;
	entry->restored_at = vm->started;
	pool->n_served++;
	/* the VM is the sandbox's now: only the bookkeeping goes */
	vm_unref(vm);
	sbx_pool_kick(pool);
	return entry;
}

gboolean
sbx_pool_has_ready(SbxPool *pool, SbxHypervisorBackend *backend, const gchar *snapshot_dir)
{
	Kind *kind;

	if (pool == NULL || pool->stopped || snapshot_dir == NULL)
		return FALSE;
	kind = g_hash_table_lookup(pool->kinds, snapshot_dir);
	return kind != NULL && kind->backend == backend && !g_queue_is_empty(&kind->ready);
}

gboolean
sbx_pool_has_id(SbxPool *pool, const gchar *id)
{
	return pool != NULL && g_hash_table_contains(pool->vms, id);
}

guint64
sbx_pool_drain(SbxPool *pool, const gchar *why)
{
	g_autoptr(GList) vms = NULL;
	guint64 mib = 0;

	if (pool == NULL)
		return 0;
	vms = g_hash_table_get_values(pool->vms);
	for (GList *l = vms; l != NULL; l = l->next) {
		PoolVm *vm = l->data;
		mib += vm->spec->memory_mib;
		vm_destroy(vm, why);
	}
	/* room for creates first: the next refill waits */
	schedule_refill(pool, RETRY_MS);
	return mib;
}

void
sbx_pool_stop_async(SbxPool *pool, GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(NULL, NULL, callback, user_data);
	g_autoptr(GList) vms = NULL;

	if (pool == NULL) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	pool->stopped = TRUE;
	g_clear_handle_id(&pool->refill_id, g_source_remove);
	vms = g_hash_table_get_values(pool->vms);
	for (GList *l = vms; l != NULL; l = l->next)
		vm_destroy(l->data, "sandboxd is stopping");
	if (pool->n_alive == 0) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	pool->stop_task = g_steal_pointer(&task);
}

gboolean
sbx_pool_stop_finish(GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

guint
sbx_pool_get_size(SbxPool *pool)
{
	return pool != NULL ? pool->size : 0;
}

guint
sbx_pool_get_n_ready(SbxPool *pool)
{
	GHashTableIter iter;
	gpointer value;
	guint n = 0;

	if (pool == NULL)
		return 0;
	g_hash_table_iter_init(&iter, pool->kinds);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		n += g_queue_get_length(&((Kind *)value)->ready);
	return n;
}

guint
sbx_pool_get_n_filling(SbxPool *pool)
{
	return pool != NULL && pool->filling != NULL ? 1 : 0;
}

guint
sbx_pool_get_n_kinds(SbxPool *pool)
{
	return pool != NULL ? g_hash_table_size(pool->kinds) : 0;
}

guint64
sbx_pool_get_n_served(SbxPool *pool)
{
	return pool != NULL ? pool->n_served : 0;
}
