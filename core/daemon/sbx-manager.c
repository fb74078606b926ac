/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include "sbx-dbus-generated.h"
#include "sbx-error.h"
#include "sbx-log.h"
#include "sbx-authority.h"
#include "sbx-limits.h"
#include "sbx-manager.h"
#include "sbx-pool.h"
#include "sbx-snapshot-store.h"
#include "sbx-options.h"
#include "sbx-region.h"
#include "sbx-sandbox.h"
#include "sbx-volume-dbus.h"
#include "sbx-volume-manager.h"

struct _SbxManager {
	GObject parent_instance;
	SbxConfig *config;
	SbxHypervisorBackend *backend;
	gchar *runtime_dir;
	SbxSnapshotStore *snapshots; /* NULL: every sandbox boots cold */
	SbxPool *pool;		     /* NULL: [daemon] PoolSize=0 or no snapshots */
	gboolean pool_stopping;	     /* shutdown waits for its VMs */
	GDBusConnection *connection;
	GDBusObjectManagerServer *object_manager;
	SbxDBusManager1 *iface;
	GHashTable *sandboxes; /* id -> SbxSandbox, in any state but stopped */
	gulong vm_exited_id;
	gboolean shutting_down;
	GPtrArray *shutdown_waiters; /* GTask */
	/* regions (SbxRegion); NULL: just self->backend, as region "local" */
	GPtrArray *regions;
	gchar *default_region;
	/* backends no region uses, loaded by recovery for sandboxes they run
	 * (SbxRegion, name NULL): kept while the daemon lives */
	GPtrArray *extra_backends;
	SbxPluginLoader *loader; /* NULL: recovery loads no other backend */
	/* durability and observability */
	SbxStateStore *store;
	gchar *backend_name;
	GHashTable *crashed; /* id -> SbxSandbox, kept a while for their logs */
	guint n_adopted;
	gint64 started_at;
	SbxVolumeManager *volumes;
	SbxTokenStore *tokens; /* NULL: no tenants */
	/* creates beyond MaxConcurrentCreates wait here (CreateCall), bounded
	 * by MaxQueuedCreates through the limits check */
	GQueue create_queue;
	guint n_launching;
};

G_DEFINE_TYPE(SbxManager, sbx_manager, G_TYPE_OBJECT)

/* how long a crashed sandbox stays on the bus */
#define SBX_CRASHED_KEEP_SEC (5 * 60)

static void
sbx_manager_dispose(GObject *object)
{
	SbxManager *self = SBX_MANAGER(object);
	if (self->backend != NULL)
		g_clear_signal_handler(&self->vm_exited_id, self->backend);
	g_clear_pointer(&self->sandboxes, g_hash_table_unref);
	g_clear_pointer(&self->crashed, g_hash_table_unref);
	g_clear_object(&self->store);
	g_clear_object(&self->tokens);
	g_clear_object(&self->object_manager);
	g_clear_object(&self->iface);
	g_clear_object(&self->connection);
	g_clear_object(&self->backend);
	g_clear_object(&self->config);
	g_clear_object(&self->volumes);
	g_clear_object(&self->loader);
	G_OBJECT_CLASS(sbx_manager_parent_class)->dispose(object);
}

static void
sbx_manager_finalize(GObject *object)
{
	SbxManager *self = SBX_MANAGER(object);
	sbx_pool_free(self->pool);
	sbx_snapshot_store_free(self->snapshots);
	g_free(self->runtime_dir);
	g_free(self->default_region);
	if (self->regions != NULL) {
		for (guint i = 0; i < self->regions->len; i++) {
			SbxRegion *region = g_ptr_array_index(self->regions, i);
			g_signal_handlers_disconnect_by_data(region->backend, self);
		}
		g_ptr_array_unref(self->regions);
	}
	for (guint i = 0; i < self->extra_backends->len; i++) {
		SbxRegion *extra = g_ptr_array_index(self->extra_backends, i);
		g_signal_handlers_disconnect_by_data(extra->backend, self);
	}
	g_ptr_array_unref(self->extra_backends);
	g_free(self->backend_name);
	g_ptr_array_unref(self->shutdown_waiters);
	G_OBJECT_CLASS(sbx_manager_parent_class)->finalize(object);
}

static void
sbx_manager_class_init(SbxManagerClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	object_class->dispose = sbx_manager_dispose;
	object_class->finalize = sbx_manager_finalize;
}

static void
sbx_manager_init(SbxManager *self)
{
	self->sandboxes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
	self->shutdown_waiters = g_ptr_array_new_with_free_func(g_object_unref);
	self->crashed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
	self->started_at = g_get_real_time();
	self->extra_backends = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_region_free);
}

guint
sbx_manager_get_n_sandboxes(SbxManager *self)
{
	return g_hash_table_size(self->sandboxes);
}

static void
check_shutdown_done(SbxManager *self)
{
	g_autoptr(GPtrArray) waiters = NULL;
	if (!self->shutting_down || g_hash_table_size(self->sandboxes) > 0 || self->pool_stopping)
		return;
	waiters = g_steal_pointer(&self->shutdown_waiters);
	self->shutdown_waiters = g_ptr_array_new_with_free_func(g_object_unref);
	for (guint i = 0; i < waiters->len; i++)
		g_task_return_boolean(g_ptr_array_index(waiters, i), TRUE);
}

static void
drop_crashed(SbxManager *self, SbxSandbox *sandbox)
{
	g_autoptr(SbxSandbox) keep = g_object_ref(sandbox);
	g_signal_handlers_disconnect_by_data(sandbox, self);
	if (self->object_manager != NULL)
		g_dbus_object_manager_server_unexport(self->object_manager,
						      sbx_sandbox_get_object_path(sandbox));
	g_hash_table_remove(self->crashed, sbx_sandbox_get_id(sandbox));
}

static void
on_crashed_dismissed(SbxSandbox *sandbox, gpointer user_data)
{
	drop_crashed(SBX_MANAGER(user_data), sandbox);
}

static gboolean
on_crashed_expired(gpointer user_data)
{
	SbxSandbox *sandbox = SBX_SANDBOX(user_data);
	SbxManager *self = g_object_get_data(G_OBJECT(sandbox), "sbx-manager");
	if (self != NULL &&
	    g_hash_table_lookup(self->crashed, sbx_sandbox_get_id(sandbox)) == sandbox)
		drop_crashed(self, sandbox);
	return G_SOURCE_REMOVE;
}

static void
on_sandbox_gone(SbxSandbox *sandbox, gpointer user_data)
{
	SbxManager *self = SBX_MANAGER(user_data);
	g_autoptr(SbxSandbox) keep = g_object_ref(sandbox);
	gboolean kept = sbx_sandbox_get_state(sandbox) == SBX_SANDBOX_STATE_CRASHED &&
			!self->shutting_down && self->object_manager != NULL;

	if (self->object_manager != NULL && !kept)
		g_dbus_object_manager_server_unexport(self->object_manager,
						      sbx_sandbox_get_object_path(sandbox));
	g_signal_handlers_disconnect_by_data(sandbox, self);
	/* the VM is gone: its disks are closed */
	if (self->volumes != NULL)
		sbx_volume_manager_detach(self->volumes, sbx_sandbox_get_id(sandbox));
	if (kept) {
		/* its logs stay readable a while: the manager outlives its sandboxes */
		g_object_set_data(G_OBJECT(sandbox), "sbx-manager", self);
		g_hash_table_replace(self->crashed, g_strdup(sbx_sandbox_get_id(sandbox)),
				     g_object_ref(sandbox));
		g_signal_connect(sandbox, "dismissed", G_CALLBACK(on_crashed_dismissed), self);
		g_timeout_add_seconds_full(G_PRIORITY_DEFAULT, SBX_CRASHED_KEEP_SEC,
					   on_crashed_expired, g_object_ref(sandbox),
					   g_object_unref);
	}
	if (self->iface != NULL) {
		const gchar *reason = sbx_sandbox_lifetime_get_destroy_reason(sandbox);
		sbx_dbus_manager1_emit_sandbox_removed(self->iface, sbx_sandbox_get_id(sandbox),
						       reason != NULL ? reason : "start failed");
	}
	sbx_authority_forget(sbx_authority_get_default(), sbx_sandbox_get_id(sandbox));
	g_hash_table_remove(self->sandboxes, sbx_sandbox_get_id(sandbox));
	check_shutdown_done(self);
}

static void
on_vm_exited(SbxHypervisorBackend *backend, const gchar *id, gpointer user_data)
{
	SbxManager *self = SBX_MANAGER(user_data);
	SbxSandbox *sandbox = g_hash_table_lookup(self->sandboxes, id);
	if (sandbox == NULL || sbx_sandbox_get_state(sandbox) != SBX_SANDBOX_STATE_RUNNING)
		return;
	sbx_sandbox_warning(id, "sandbox %s: its VM stopped on its own", id);
	sbx_sandbox_state_crash(sandbox, "its VM stopped");
}

SbxManager *
sbx_manager_new(SbxConfig *config, SbxHypervisorBackend *backend, const gchar *runtime_dir)
{
	SbxManager *self = g_object_new(SBX_TYPE_MANAGER, NULL);
	self->config = g_object_ref(config);
	self->backend = g_object_ref(backend);
	self->runtime_dir = g_strdup(runtime_dir);
	self->vm_exited_id = g_signal_connect(backend, "vm-exited", G_CALLBACK(on_vm_exited), self);
	return self;
}

void
sbx_manager_set_volume_manager(SbxManager *self, SbxVolumeManager *volumes)
{
	g_set_object(&self->volumes, volumes);
}

SbxVolumeManager *
sbx_manager_get_volume_manager(SbxManager *self)
{
	return self->volumes;
}

/* --- regions ------------------------------------------------------------ */

void
sbx_manager_set_regions(SbxManager *self, GPtrArray *regions, const gchar *default_region)
{
	g_return_if_fail(self->regions == NULL);
	self->regions = g_ptr_array_ref(regions);
	self->default_region = g_strdup(default_region);
	for (guint i = 0; i < regions->len; i++) {
		SbxRegion *region = g_ptr_array_index(regions, i);
		if (region->backend != self->backend)
			g_signal_connect(region->backend, "vm-exited", G_CALLBACK(on_vm_exited),
					 self);
	}
}

GPtrArray *
sbx_manager_get_regions(SbxManager *self)
{
	return self->regions;
}

const gchar *
sbx_manager_get_default_region(SbxManager *self)
{
	return self->default_region != NULL ? self->default_region : SBX_REGION_IMPLICIT;
}

SbxHypervisorBackend *
sbx_manager_get_region_backend(SbxManager *self, const gchar *name)
{
	SbxRegion *region;
	if (self->regions == NULL)
		return name == NULL || g_strcmp0(name, SBX_REGION_IMPLICIT) == 0 ? self->backend
										 : NULL;
	region = sbx_region_lookup(self->regions, name != NULL ? name : self->default_region);
	return region != NULL ? region->backend : NULL;
}

/* the plugin name of a region's backend (@name NULL: the default region) */
const gchar *
sbx_manager_get_region_backend_name(SbxManager *self, const gchar *name)
{
	SbxRegion *region;
	if (self->regions == NULL)
		return name == NULL || g_strcmp0(name, SBX_REGION_IMPLICIT) == 0
			   ? self->backend_name
			   : NULL;
	region = sbx_region_lookup(self->regions, name != NULL ? name : self->default_region);
	return region != NULL ? region->backend_name : NULL;
}

SbxHypervisorBackend *
sbx_manager_find_backend(SbxManager *self, const gchar *backend_name)
{
	if (backend_name == NULL || backend_name[0] == '\0')
		return NULL;
	if (self->regions == NULL && g_strcmp0(backend_name, self->backend_name) == 0)
		return self->backend;
	for (guint i = 0; self->regions != NULL && i < self->regions->len; i++) {
		SbxRegion *region = g_ptr_array_index(self->regions, i);
		if (g_strcmp0(region->backend_name, backend_name) == 0)
			return region->backend;
	}
	for (guint i = 0; i < self->extra_backends->len; i++) {
		SbxRegion *extra = g_ptr_array_index(self->extra_backends, i);
		if (g_strcmp0(extra->backend_name, backend_name) == 0)
			return extra->backend;
	}
	return NULL;
}

void
sbx_manager_add_backend(SbxManager *self, const gchar *backend_name, SbxHypervisorBackend *backend)
{
	SbxRegion *extra;

	g_return_if_fail(backend_name != NULL && backend_name[0] != '\0');
	if (sbx_manager_find_backend(self, backend_name) != NULL)
		return;
	extra = g_new0(SbxRegion, 1);
	extra->backend_name = g_strdup(backend_name);
	extra->backend = g_object_ref(backend);
	g_signal_connect(backend, "vm-exited", G_CALLBACK(on_vm_exited), self);
	g_ptr_array_add(self->extra_backends, extra);
}

void
sbx_manager_set_plugin_loader(SbxManager *self, SbxPluginLoader *loader)
{
	g_set_object(&self->loader, loader);
}

SbxPluginLoader *
sbx_manager_get_plugin_loader(SbxManager *self)
{
	return self->loader;
}

static gboolean
handle_list_regions(SbxDBusManager1 *iface, GDBusMethodInvocation *invocation, gpointer user_data)
{
	SbxManager *self = SBX_MANAGER(user_data);
	g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a(ss)"));

	if (self->regions == NULL) {
		g_variant_builder_add(&builder, "(ss)", SBX_REGION_IMPLICIT,
				      sbx_config_get_backend(self->config));
	}
	for (guint i = 0; self->regions != NULL && i < self->regions->len; i++) {
		SbxRegion *region = g_ptr_array_index(self->regions, i);
		g_variant_builder_add(&builder, "(ss)", region->name, region->backend_name);
	}
	sbx_dbus_manager1_complete_list_regions(iface, invocation, g_variant_builder_end(&builder));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* the [limits] for one more sandbox of @uid with @memory_mib in @backend;
 * @pooled: its VM is a pooled one, in memory already */
static gboolean
check_limits(SbxManager *self, guint uid, guint memory_mib, SbxHypervisorBackend *backend,
	     gboolean pooled, GError **error)
{
	SbxLimitsUsage usage = {0};
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->sandboxes);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		SbxSandbox *sandbox = value;
		usage.n_total++;
		if (sbx_sandbox_get_owner_uid(sandbox) == uid)
			usage.n_owner++;
		if (sbx_sandbox_get_state(sandbox) == SBX_SANDBOX_STATE_STARTING) {
			usage.n_starting++;
			usage.starting_mib += sbx_sandbox_state_get_memory_mib(sandbox);
		}
	}
	usage.vms_are_processes =
	    g_strcmp0(sbx_hypervisor_backend_get_domain_type(backend), "test") == 0;
	/* pooled VMs count for nobody: they go when a create needs their room */
	usage.pool_mib = sbx_pool_get_memory_mib(self->pool);
	usage.resident = pooled;
	if (!sbx_limits_check_create(self->config, &usage, uid, memory_mib, error))
		return FALSE;
	if (usage.drain_pool) {
		guint64 mib = sbx_pool_drain(self->pool, "a create needs the host's memory");
		g_message("pool: %" G_GUINT64_FORMAT " MiB of pooled VMs given back for a "
			  "create of %u MiB",
			  mib, memory_mib);
	}
	return TRUE;
}

/* --- the pool's questions ------------------------------------------------- */

static gboolean
pool_busy(gpointer data)
{
	SbxManager *self = data;
	return self->n_launching > 0 || !g_queue_is_empty(&self->create_queue) ||
	       self->shutting_down;
}

static gboolean
pool_id_in_use(const gchar *id, gpointer data)
{
	SbxManager *self = data;
	return g_hash_table_contains(self->sandboxes, id) ||
	       g_hash_table_contains(self->crashed, id);
}

static gboolean
pool_memory_ok(guint memory_mib, gpointer data)
{
	SbxManager *self = data;
	SbxLimitsUsage usage = {0};
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->sandboxes);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		if (sbx_sandbox_get_state(value) == SBX_SANDBOX_STATE_STARTING)
			usage.starting_mib += sbx_sandbox_state_get_memory_mib(value);
	}
	usage.vms_are_processes =
	    g_strcmp0(sbx_hypervisor_backend_get_domain_type(self->backend), "test") == 0;
	return sbx_limits_pool_fits(self->config, &usage, memory_mib, memory_mib);
}

/* the snapshot folder of this create's kind (image, shape, network, kernel
 * command line, backend build: the snapshot key) when the pool has a ready VM
 * of it, or NULL */
static gchar *
pool_kind_ready(SbxManager *self, const SbxImage *image, const SbxCreateOptions *opts,
		SbxHypervisorBackend *backend)
{
	g_autofree gchar *limits = NULL;
	g_autoptr(SbxVmSpec) spec = NULL;
	g_autofree gchar *dir = NULL;
	g_autofree gchar *why = NULL;
	gboolean ready = FALSE;

	if (self->pool == NULL || self->snapshots == NULL || sbx_pool_get_n_ready(self->pool) == 0)
		return NULL;
	limits = sbx_sandbox_guest_limits_new(
	    (guint)sbx_config_get_uint(self->config, "limits", "GuestPidsMax"),
	    (guint)sbx_config_get_uint(self->config, "limits", "GuestMemoryReserveMiB"),
	    (guint)sbx_config_get_uint(self->config, "limits", "GuestProcessNice"));
	spec = sbx_sandbox_spec_new(image, opts, limits, NULL);
	if (spec == NULL)
		return NULL;
	dir = sbx_snapshot_store_lookup(self->snapshots, backend, spec, &ready, &why);
	if (!ready || !sbx_pool_has_ready(self->pool, backend, dir))
		return NULL;
	return g_steal_pointer(&dir);
}

/* --- CreateSandbox ------------------------------------------------------ */

typedef struct {
	SbxManager *manager;
	GDBusMethodInvocation *invocation;
	SbxSandbox *sandbox;
	GPtrArray *volume_requests; /* SbxVolumeRequest, or NULL */
	guint uid;
	gboolean warm;	 /* WarmImage: destroyed once its snapshot is there */
	gboolean pooled; /* a pooled VM: no start slot, it is restored already */
} CreateCall;

static void
create_call_free(CreateCall *call)
{
	g_clear_object(&call->manager);
	g_clear_object(&call->invocation);
	g_clear_object(&call->sandbox);
	g_clear_pointer(&call->volume_requests, g_ptr_array_unref);
	g_free(call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CreateCall, create_call_free)

static void launch_next(SbxManager *self);

/* --- WarmImage: a sandbox whose start takes the snapshot, then goes -------- */

static void
on_warm_snapshot(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(CreateCall) call = user_data;
	g_autoptr(GError) error = NULL;

	if (call->manager->iface == NULL)
		g_set_error_literal(&error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
				    "sandboxd is stopping");
	if (error != NULL || !sbx_snapshot_store_wait_finish(res, &error)) {
		g_dbus_method_invocation_return_error(
		    g_steal_pointer(&call->invocation), SBX_ERROR, SBX_ERROR_FAILED,
		    "no snapshot of the image: %s", error->message);
		return;
	}
	sbx_dbus_manager1_complete_warm_image(call->manager->iface,
					      g_steal_pointer(&call->invocation));
}

/* the sandbox runs: it was restored (the snapshot exists) or its cold boot
 * is taking the snapshot; it is not needed either way */
static void
warm_sandbox_started(CreateCall *call_in)
{
	g_autoptr(CreateCall) call = call_in;
	SbxManager *self = call->manager;
	g_autofree gchar *dir = g_strdup(sbx_sandbox_get_snapshot_dir(call->sandbox));

	sbx_sandbox_destroy_async(call->sandbox, "image warm: done with it", NULL, NULL);
	if (dir == NULL || self->snapshots == NULL) {
		g_dbus_method_invocation_return_error(
		    g_steal_pointer(&call->invocation), SBX_ERROR, SBX_ERROR_FAILED,
		    "no snapshot of the image: the backend takes none of this sandbox");
		return;
	}
	sbx_snapshot_store_wait_async(self->snapshots, dir, on_warm_snapshot,
				      g_steal_pointer(&call));
}

static void
on_sandbox_started(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(CreateCall) call = user_data;
	SbxManager *self = call->manager;
	SbxSandbox *sandbox = SBX_SANDBOX(source);
	g_autoptr(GError) error = NULL;

	if (!call->pooled)
		self->n_launching--;
	launch_next(self);
	sbx_pool_kick(self->pool);
	if (!sbx_sandbox_start_finish(sandbox, res, &error)) {
		g_dbus_method_invocation_return_gerror(g_steal_pointer(&call->invocation), error);
		return;
	}
	g_dbus_object_manager_server_export(
	    self->object_manager, G_DBUS_OBJECT_SKELETON(sbx_sandbox_get_object(sandbox)));
	if (call->warm) {
		warm_sandbox_started(g_steal_pointer(&call));
		return;
	}
	sbx_dbus_manager1_complete_create_sandbox(self->iface, g_steal_pointer(&call->invocation),
						  sbx_sandbox_get_object_path(sandbox));
}

/* takes the volumes' attachment locks as @uid and starts the sandbox */
static void
attach_and_start(CreateCall *call_in)
{
	g_autoptr(CreateCall) call = call_in;
	SbxManager *self = call->manager;
	SbxSandbox *sandbox = call->sandbox;
	guint uid = call->uid;
	g_autoptr(GError) error = NULL;

	if (call->volume_requests != NULL && call->volume_requests->len > 0) {
		g_autoptr(GPtrArray) disks = NULL;
		if (self->volumes == NULL) {
			g_set_error(&error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "volumes: no volume backend is loaded");
		} else {
			disks = sbx_volume_manager_attach(
			    self->volumes, uid, sbx_sandbox_get_id(sandbox), call->volume_requests,
			    sbx_sandbox_has_root_disk(sandbox) ? 'b' : 'a', &error);
		}
		if (disks == NULL) {
			/* never started: nothing to tear down but the table entry */
			g_signal_handlers_disconnect_by_data(sandbox, self);
			g_hash_table_remove(self->sandboxes, sbx_sandbox_get_id(sandbox));
			g_dbus_method_invocation_return_gerror(g_steal_pointer(&call->invocation),
							       error);
			check_shutdown_done(self);
			return;
		}
		sbx_sandbox_set_disks(sandbox, disks);
	}
	if (!call->pooled)
		self->n_launching++;
	sbx_sandbox_start_async(sandbox, on_sandbox_started, g_steal_pointer(&call));
}

/* a free slot: the oldest queued create starts (one whose client gave up
 * starts too, and fails at once as cancelled) */
static void
launch_next(SbxManager *self)
{
	guint concurrent =
	    (guint)sbx_config_get_uint(self->config, "limits", "MaxConcurrentCreates");

	while (self->n_launching < concurrent && !g_queue_is_empty(&self->create_queue)) {
		CreateCall *call = g_queue_pop_head(&self->create_queue);
		sbx_sandbox_debug(sbx_sandbox_get_id(call->sandbox),
				  "sandbox %s: leaves the create queue (%u still queued)",
				  sbx_sandbox_get_id(call->sandbox),
				  g_queue_get_length(&self->create_queue));
		attach_and_start(call);
	}
}

/* starts it now, or queues it behind MaxConcurrentCreates starting ones */
static void
start_or_queue(CreateCall *call)
{
	SbxManager *self = call->manager;
	guint concurrent =
	    (guint)sbx_config_get_uint(self->config, "limits", "MaxConcurrentCreates");

	/* a pooled VM only needs its identity: it never waits behind restores */
	if (call->pooled ||
	    (self->n_launching < concurrent && g_queue_is_empty(&self->create_queue))) {
		attach_and_start(call);
		return;
	}
	sbx_sandbox_info(sbx_sandbox_get_id(call->sandbox),
			 "sandbox %s: %u starting already (MaxConcurrentCreates): queued, %u ahead",
			 sbx_sandbox_get_id(call->sandbox), self->n_launching,
			 g_queue_get_length(&self->create_queue));
	g_queue_push_tail(&self->create_queue, call);
}

/* "volumes" is the volume manager's and "tenant-token" the gateway's: take
 * them out before the common parser */
static gboolean
split_volumes_option(GVariant *options, GVariant **rest, GPtrArray **requests, gchar **token,
		     GError **error)
{
	g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	GVariantIter iter;
	const gchar *key;
	GVariant *value;

	g_variant_iter_init(&iter, options);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
		g_autoptr(GVariant) owned = value;
		if (g_strcmp0(key, "tenant-token") == 0) {
			if (!g_variant_is_of_type(value, G_VARIANT_TYPE_STRING) || *token != NULL) {
				g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
					    "tenant-token: expected one string");
				return FALSE;
			}
			*token = g_variant_dup_string(value, NULL);
			continue;
		}
		if (g_strcmp0(key, "volumes") != 0) {
			g_variant_builder_add(&builder, "{sv}", key, value);
			continue;
		}
		if (*requests != NULL) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "volumes: given more than once");
			return FALSE;
		}
		*requests = sbx_volume_manager_parse_requests(value, error);
		if (*requests == NULL)
			return FALSE;
	}
	*rest = g_variant_ref_sink(g_variant_builder_end(&builder));
	return TRUE;
}

/* CreateSandbox, and WarmImage (@warm) */
static void
create_sandbox(SbxManager *self, GDBusMethodInvocation *invocation, GVariant *options,
	       gboolean warm)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxCreateOptions) opts = NULL;
	g_autofree gchar *id = NULL;
	g_autoptr(CreateCall) call = NULL;
	const SbxImage *image;
	const gchar *sender = g_dbus_method_invocation_get_sender(invocation);
	g_autofree gchar *region_owned = NULL;
	const gchar *region;
	SbxHypervisorBackend *backend;
	g_autoptr(GVariant) options_rest = NULL;
	g_autoptr(GPtrArray) volume_requests = NULL;
	g_autofree gchar *tenant_token = NULL;
	g_autoptr(SbxPoolEntry) entry = NULL;
	g_autofree gchar *pool_dir = NULL;
	guint owner_uid = sbx_authority_get_caller_uid(invocation);

	if (self->shutting_down) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_FAILED,
						      "sandboxd is shutting down");
		return;
	}
	if (owner_uid == SBX_UID_NOBODY) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_ACCESS_DENIED, "cannot identify the caller");
		return;
	}
	if (!split_volumes_option(options, &options_rest, &volume_requests, &tenant_token,
				  &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return;
	}
	/* the gateway acts for the token's owner: it owns the sandbox and its volumes */
	if (tenant_token != NULL &&
	    !sbx_manager_tenants_resolve(self, invocation, tenant_token, &owner_uid, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return;
	}
	opts = sbx_options_create_parse(options_rest, self->config, &error);
	if (opts == NULL) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return;
	}
	region = opts->region != NULL ? opts->region : sbx_manager_get_default_region(self);
	backend = sbx_manager_get_region_backend(self, region);
	if (backend == NULL) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR,
						      SBX_ERROR_UNKNOWN_REGION,
						      "region: no region '%s'", region);
		return;
	}
	image = sbx_config_get_image(self->config, opts->image);
	/* no volumes (a snapshot has no devices for them), and not WarmImage */
	if (!warm && (volume_requests == NULL || volume_requests->len == 0))
		pool_dir = pool_kind_ready(self, image, opts, backend);
	/* the caller's uid came with the call (sbx_authority_identify_calls) */
	if (!check_limits(self, owner_uid, opts->memory_mib, backend, pool_dir != NULL, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return;
	}
	region = region_owned = g_strdup(region);
	/* the check ran in this same turn of the main loop: the VM is still there */
	if (pool_dir != NULL)
		entry = sbx_pool_take(self->pool, backend, pool_dir);
	if (entry != NULL) {
		/* the backend knows the VM by this id already */
		id = g_strdup(entry->id);
	} else {
		do {
			g_free(id);
			id = sbx_sandbox_id_new();
		} while (g_hash_table_contains(self->sandboxes, id) ||
			 sbx_pool_has_id(self->pool, id));
	}

	call = g_new0(CreateCall, 1);
	call->manager = g_object_ref(self);
	call->invocation = invocation; /* the handler owns one ref: completing consumes it */
	call->volume_requests = g_steal_pointer(&volume_requests);
	call->uid = owner_uid;
	call->warm = warm;
	call->sandbox =
	    sbx_sandbox_new(id, g_steal_pointer(&opts), image, backend, self->runtime_dir,
			    sbx_config_get_boot_timeout_sec(self->config));
	sbx_sandbox_lifetime_set_region(call->sandbox, region);
	sbx_sandbox_lifetime_set_limits(
	    call->sandbox, sbx_config_get_max_lifetime_sec(self->config),
	    (guint)sbx_config_get_uint(self->config, "daemon", "ExtendStepSec"),
	    (guint)sbx_config_get_uint(self->config, "daemon", "ExpiryGraceSec"));
	sbx_sandbox_set_snapshots(call->sandbox, self->snapshots);
	sbx_sandbox_set_pool(call->sandbox, self->pool);
	if (entry != NULL) {
		call->pooled = TRUE;
		sbx_sandbox_set_pool_entry(call->sandbox, g_steal_pointer(&entry));
	}
	sbx_sandbox_set_guest_limits(
	    call->sandbox, (guint)sbx_config_get_uint(self->config, "limits", "GuestPidsMax"),
	    (guint)sbx_config_get_uint(self->config, "limits", "GuestMemoryReserveMiB"),
	    (guint)sbx_config_get_uint(self->config, "limits", "GuestProcessNice"));
	g_hash_table_insert(self->sandboxes, g_strdup(id), g_object_ref(call->sandbox));
	/* the backend that runs it: recovery finds it by this name */
	sbx_sandbox_state_set_store(call->sandbox, self->store,
				    sbx_manager_get_region_backend_name(self, region));
	g_signal_connect(call->sandbox, "gone", G_CALLBACK(on_sandbox_gone), self);
	sbx_sandbox_debug(id, "CreateSandbox from %s: sandbox %s", sender ? sender : "peer", id);

	/* sbx_authority_identify_calls() named the caller before this handler ran
	 * (SBX_UID_UNKNOWN on a peer-to-peer connection) or refused the call */
	sbx_sandbox_set_owner(call->sandbox,
			      sender != NULL ? g_dbus_method_invocation_get_connection(invocation)
					     : NULL,
			      sender, owner_uid);
	if (tenant_token != NULL)
		sbx_authority_grant(sbx_authority_get_default(), id, sender);
	start_or_queue(g_steal_pointer(&call));
}

static gboolean
handle_create_sandbox(SbxDBusManager1 *iface, GDBusMethodInvocation *invocation, GVariant *options,
		      gpointer user_data)
{
	create_sandbox(SBX_MANAGER(user_data), invocation, options, FALSE);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* only the shape: the rest of CreateSandbox's options make no other snapshot */
static gboolean
handle_warm_image(SbxDBusManager1 *iface, GDBusMethodInvocation *invocation, const gchar *image,
		  GVariant *options, gpointer user_data)
{
	g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GVariant) create = NULL;
	GVariantIter iter;
	const gchar *key;
	GVariant *value;

	g_variant_iter_init(&iter, options);
	while (g_variant_iter_next(&iter, "{&sv}", &key, &value)) {
		g_autoptr(GVariant) owned = value;
		if (g_strcmp0(key, "memory") != 0 && g_strcmp0(key, "vcpus") != 0) {
			g_dbus_method_invocation_return_error(
			    invocation, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "%s: WarmImage takes only \"memory\" and \"vcpus\"", key);
			return G_DBUS_METHOD_INVOCATION_HANDLED;
		}
		g_variant_builder_add(&builder, "{sv}", key, value);
	}
	g_variant_builder_add(&builder, "{sv}", "image", g_variant_new_string(image));
	create = g_variant_ref_sink(g_variant_builder_end(&builder));
	create_sandbox(SBX_MANAGER(user_data), invocation, create, TRUE);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- ListSandboxes, GetSandbox ------------------------------------------ */

static gint
str_cmp_cb(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

/* ListSandboxes' filter: labels that must all match, and one state */
static gboolean
parse_list_filter(GVariant *filter, GVariant **labels, const gchar **state, GError **error)
{
	static const gchar *const states[] = {"starting", "running", "stopping", "crashed", NULL};

	*state = "running";
	*labels = g_variant_lookup_value(filter, "labels", NULL);
	if (*labels != NULL && (!g_variant_is_of_type(*labels, G_VARIANT_TYPE("a{ss}")) ||
				g_variant_n_children(*labels) > 5)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "labels: expected a{ss} with at most 5 entries");
		return FALSE;
	}
	if (g_variant_lookup(filter, "state", "&s", state) && !g_strv_contains(states, *state)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
			    "state: '%.32s' is not one of starting, running, stopping, crashed",
			    *state);
		return FALSE;
	}
	for (gsize i = 0; i < g_variant_n_children(filter); i++) {
		const gchar *key = NULL;
		g_variant_get_child(filter, i, "{&sv}", &key, NULL);
		if (g_strcmp0(key, "labels") != 0 && g_strcmp0(key, "state") != 0 &&
		    g_strcmp0(key, "tenant-token") != 0) {
			g_set_error(error, SBX_ERROR, SBX_ERROR_INVALID_ARGUMENT,
				    "unknown filter '%.64s' (known: labels, state, tenant-token)",
				    key);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
labels_match(SbxSandbox *sandbox, GVariant *labels)
{
	GHashTable *have = sbx_sandbox_get_labels(sandbox);
	GVariantIter iter;
	const gchar *key;
	const gchar *value;

	if (labels == NULL)
		return TRUE;
	g_variant_iter_init(&iter, labels);
	while (g_variant_iter_next(&iter, "{&s&s}", &key, &value)) {
		if (have == NULL || g_strcmp0(g_hash_table_lookup(have, key), value) != 0)
			return FALSE;
	}
	return TRUE;
}

static gboolean
handle_list_sandboxes(SbxDBusManager1 *iface, GDBusMethodInvocation *invocation, GVariant *filter,
		      gpointer user_data)
{
	SbxManager *self = SBX_MANAGER(user_data);
	g_autoptr(GPtrArray) paths = g_ptr_array_new();
	g_autoptr(GVariant) labels = NULL;
	g_autoptr(GError) error = NULL;
	const gchar *state = NULL;
	GHashTableIter iter;
	gpointer value;
	guint uid = sbx_authority_get_caller_uid(invocation);
	gboolean admin = sbx_authority_get_caller_is_admin(invocation);
	const gchar *tenant_token = NULL;

	if (!parse_list_filter(filter, &labels, &state, &error)) {
		g_dbus_method_invocation_return_gerror(invocation, error);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	/* a tenant's list is its own, whoever asks: never an admin's */
	if (g_variant_lookup(filter, "tenant-token", "&s", &tenant_token)) {
		if (!sbx_manager_tenants_resolve(self, invocation, tenant_token, &uid, &error)) {
			g_dbus_method_invocation_return_gerror(invocation, error);
			return G_DBUS_METHOD_INVOCATION_HANDLED;
		}
		admin = FALSE;
	}
	/* crashed ones are kept apart, for their logs */
	g_hash_table_iter_init(&iter,
			       g_strcmp0(state, "crashed") == 0 ? self->crashed : self->sandboxes);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		SbxSandbox *sandbox = value;
		/* others' sandboxes are not there for this caller */
		if (tenant_token != NULL
			? sbx_sandbox_get_owner_uid(sandbox) != uid
			: !sbx_authority_may_access(uid, admin, sbx_sandbox_get_owner_uid(sandbox)))
			continue;
		if (g_strcmp0(sbx_sandbox_state_to_string(sbx_sandbox_get_state(sandbox)), state) ==
			0 &&
		    labels_match(sandbox, labels))
			g_ptr_array_add(paths, (gpointer)sbx_sandbox_get_object_path(sandbox));
	}
	g_ptr_array_sort(paths, str_cmp_cb);
	g_ptr_array_add(paths, NULL);
	sbx_dbus_manager1_complete_list_sandboxes(iface, invocation,
						  (const gchar *const *)paths->pdata);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_sandbox(SbxDBusManager1 *iface, GDBusMethodInvocation *invocation, const gchar *id,
		   gpointer user_data)
{
	SbxManager *self = SBX_MANAGER(user_data);
	SbxSandbox *sandbox = NULL;

	if (sbx_sandbox_id_is_valid(id)) {
		sandbox = g_hash_table_lookup(self->sandboxes, id);
		/* a crashed one is kept a while, for its logs */
		if (sandbox == NULL)
			sandbox = g_hash_table_lookup(self->crashed, id);
	}
	/* another user's sandbox does not exist for this caller: NotFound too */
	if (sandbox != NULL &&
	    !sbx_authority_may_access(sbx_authority_get_caller_uid(invocation),
				      sbx_authority_get_caller_is_admin(invocation),
				      sbx_sandbox_get_owner_uid(sandbox)))
		sandbox = NULL;
	if (sandbox == NULL || (sbx_sandbox_get_state(sandbox) != SBX_SANDBOX_STATE_RUNNING &&
				sbx_sandbox_get_state(sandbox) != SBX_SANDBOX_STATE_CRASHED)) {
		g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_NOT_FOUND,
						      "no sandbox '%.64s'", id);
		return G_DBUS_METHOD_INVOCATION_HANDLED;
	}
	sbx_dbus_manager1_complete_get_sandbox(iface, invocation,
					       sbx_sandbox_get_object_path(sandbox));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_status(SbxDBusManager1 *iface, GDBusMethodInvocation *invocation, gpointer user_data)
{
	SbxManager *self = SBX_MANAGER(user_data);
	sbx_dbus_manager1_complete_get_status(iface, invocation, sbx_manager_status_build(self));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* --- durability --------------------------------------------------------- */

void
sbx_manager_set_token_store(SbxManager *self, SbxTokenStore *tokens)
{
	g_set_object(&self->tokens, tokens);
}

SbxTokenStore *
sbx_manager_get_token_store(SbxManager *self)
{
	return self->tokens;
}

/* a running sandbox, or NULL */
SbxSandbox *
sbx_manager_lookup_sandbox(SbxManager *self, const gchar *id)
{
	return g_hash_table_lookup(self->sandboxes, id);
}

void
sbx_manager_set_state_store(SbxManager *self, SbxStateStore *store, const gchar *backend_name)
{
	g_set_object(&self->store, store);
	g_free(self->backend_name);
	self->backend_name = g_strdup(backend_name);
}

SbxConfig *
sbx_manager_get_config(SbxManager *self)
{
	return self->config;
}

SbxHypervisorBackend *
sbx_manager_get_backend(SbxManager *self)
{
	return self->backend;
}

const gchar *
sbx_manager_get_runtime_dir(SbxManager *self)
{
	return self->runtime_dir;
}

SbxStateStore *
sbx_manager_get_state_store(SbxManager *self)
{
	return self->store;
}

const gchar *
sbx_manager_get_backend_name(SbxManager *self)
{
	return self->backend_name;
}

guint
sbx_manager_get_n_adopted(SbxManager *self)
{
	return self->n_adopted;
}

gint64
sbx_manager_get_started_at(SbxManager *self)
{
	return self->started_at;
}

void
sbx_manager_add_adopted(SbxManager *self, SbxSandbox *sandbox)
{
	g_hash_table_insert(self->sandboxes, g_strdup(sbx_sandbox_get_id(sandbox)),
			    g_object_ref(sandbox));
	/* its store and backend name came with it (sbx-manager-recover.c) */
	g_signal_connect(sandbox, "gone", G_CALLBACK(on_sandbox_gone), self);
	self->n_adopted++;
	if (self->object_manager != NULL)
		g_dbus_object_manager_server_export(
		    self->object_manager, G_DBUS_OBJECT_SKELETON(sbx_sandbox_get_object(sandbox)));
}

GPtrArray *
sbx_manager_list_all(SbxManager *self)
{
	GPtrArray *all = g_ptr_array_new_with_free_func(g_object_unref);
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, self->sandboxes);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(all, g_object_ref(value));
	g_hash_table_iter_init(&iter, self->crashed);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(all, g_object_ref(value));
	return all;
}

void
sbx_manager_export(SbxManager *self, GDBusConnection *connection)
{
	g_autoptr(SbxDBusObjectSkeleton) object = sbx_dbus_object_skeleton_new(SBX_MANAGER_PATH);

	g_return_if_fail(SBX_IS_MANAGER(self));
	g_return_if_fail(self->connection == NULL);

	self->connection = g_object_ref(connection);
	self->object_manager = g_dbus_object_manager_server_new(SBX_OBJECT_MANAGER_PATH);
	self->iface = sbx_dbus_manager1_skeleton_new();
	sbx_dbus_manager1_set_version(self->iface, PACKAGE_VERSION);
	sbx_dbus_manager1_set_domain_type(self->iface,
					  sbx_hypervisor_backend_get_domain_type(self->backend));
	g_signal_connect(self->iface, "handle-warm-image", G_CALLBACK(handle_warm_image), self);
	g_signal_connect(self->iface, "handle-create-sandbox", G_CALLBACK(handle_create_sandbox),
			 self);
	g_signal_connect(self->iface, "handle-list-sandboxes", G_CALLBACK(handle_list_sandboxes),
			 self);
	g_signal_connect(self->iface, "handle-get-sandbox", G_CALLBACK(handle_get_sandbox), self);
	g_signal_connect(self->iface, "handle-list-regions", G_CALLBACK(handle_list_regions), self);
	sbx_manager_tenants_connect(self, self->iface);
	sbx_dbus_manager1_set_default_region(self->iface, sbx_manager_get_default_region(self));
	/* every call learns its caller's uid first, in a worker thread */
	sbx_authority_identify_calls(sbx_authority_get_default(),
				     G_DBUS_INTERFACE_SKELETON(self->iface));
	g_signal_connect(self->iface, "handle-get-status", G_CALLBACK(handle_get_status), self);
	if (self->volumes != NULL) {
		sbx_volume_manager_set_token_store(self->volumes, self->tokens);
		sbx_volume_dbus_connect_manager(self->volumes, self->iface);
		sbx_volume_manager_set_object_manager(self->volumes, self->object_manager);
	}
	sbx_dbus_object_skeleton_set_manager1(object, self->iface);
	g_dbus_object_manager_server_export(self->object_manager, G_DBUS_OBJECT_SKELETON(object));
	g_dbus_object_manager_server_set_connection(self->object_manager, connection);
}

/* --- shutdown ----------------------------------------------------------- */

static void
on_pool_stopped(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(SbxManager) self = user_data;
	sbx_pool_stop_finish(res, NULL);
	self->pool_stopping = FALSE;
	check_shutdown_done(self);
}

void
sbx_manager_shutdown_async(SbxManager *self, GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, NULL, callback, user_data);
	g_autoptr(GPtrArray) sandboxes = g_ptr_array_new_with_free_func(g_object_unref);
	GHashTableIter iter;
	gpointer value;

	self->shutting_down = TRUE;
	g_ptr_array_add(self->shutdown_waiters, g_steal_pointer(&task));
	sbx_snapshot_store_stop(self->snapshots);
	if (self->pool != NULL && !self->pool_stopping) {
		self->pool_stopping = TRUE;
		sbx_pool_stop_async(self->pool, on_pool_stopped, g_object_ref(self));
	}

	g_hash_table_iter_init(&iter, self->sandboxes);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(sandboxes, g_object_ref(value));
	if (sandboxes->len > 0)
		g_message("shutting down: destroying %u sandboxes", sandboxes->len);
	for (guint i = 0; i < sandboxes->len; i++)
		sbx_sandbox_destroy_async(g_ptr_array_index(sandboxes, i), "sandboxd is stopping",
					  NULL, NULL);
	check_shutdown_done(self);
}

gboolean
sbx_manager_shutdown_finish(SbxManager *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

/* snapshots of booted guests under @dir (the sandboxes of backends without
 * snapshot support boot cold anyway); NULL turns them off */
void
sbx_manager_set_snapshot_dir(SbxManager *self, const gchar *dir)
{
	g_return_if_fail(SBX_IS_MANAGER(self));
	g_clear_pointer(&self->pool, sbx_pool_free);
	g_clear_pointer(&self->snapshots, sbx_snapshot_store_free);
	if (dir != NULL)
		self->snapshots = sbx_snapshot_store_new(
		    dir, self->runtime_dir, sbx_config_get_boot_timeout_sec(self->config));
	if (self->snapshots != NULL &&
	    sbx_config_get_uint(self->config, "daemon", "PoolSize") > 0) {
		SbxPoolHooks hooks = {pool_busy, pool_id_in_use, pool_memory_ok, self};
		self->pool = sbx_pool_new(
		    self->snapshots, self->runtime_dir,
		    (guint)sbx_config_get_uint(self->config, "daemon", "PoolSize"),
		    (guint)sbx_config_get_uint(self->config, "daemon", "PoolMaxMemoryMiB"),
		    sbx_config_get_boot_timeout_sec(self->config), &hooks);
	}
}

/* the pool of restored VMs, or NULL */
gpointer
sbx_manager_get_pool(SbxManager *self)
{
	return self->pool;
}
