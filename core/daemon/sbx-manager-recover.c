/* after a restart or crash of the daemon: re-adopt duration sandboxes whose
 * VM still runs, destroy session ones (their client is gone), expired ones
 * and orphans, and remove records and run folders nobody owns.
 *
 * A VM the backend lists is ours when we have its record, or when its run
 * folder exists in our runtime folder (a crash between booting it and
 * writing the record). Other VMs are left alone: another daemon (tests,
 * another RuntimeDir) may share the hypervisor.
 *
 * A record names the backend (plugin) that runs its VM: that one decides,
 * even when the config changed since (e.g. [daemon] Backend flipped from
 * libvirt to qemu). A backend no region uses any more is loaded for this,
 * from its own config section; a sandbox it runs is adopted with it and
 * lives on to its end (the backend stays loaded meanwhile), while new
 * sandboxes of its region get the region's current backend. Its bridge
 * must be one the firewall isolates, or the VM goes. When that backend
 * cannot be loaded, the record and run folder stay and the VM is left alone
 * (a warning says what to do): forgetting it would leak a running VM.
 * Records without a backend name, or naming one that does not run the VM
 * while their region's does (earlier builds named [daemon] Backend for
 * every region), use their region's.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <glib/gstdio.h>

#include "sbx-log.h"
#include "sbx-manager.h"
#include "sbx-netpol-firewall.h"
#include "sbx-error.h"
#include "sbx-region.h"
#include "sbx-sandbox.h"
#include "sbx-volume-manager.h"

typedef struct {
	SbxManager *manager;
	GPtrArray *records; /* SbxStateRecord */
	GPtrArray *bad_ids; /* gchar*: records we could not read */
	GHashTable *keep;   /* id -> NULL: adopted, their run folders stay */
	guint pending;
	/* one per distinct backend (the default one, every region's, and the
	 * ones loaded for records no region's backend runs) */
	GPtrArray *backends; /* SbxHypervisorBackend */
	GHashTable *listed;  /* backend -> GHashTable of ids (NULL: list failed) */
	guint n_listing;
	/* backends that records name but no region uses */
	GHashTable *extra;	/* name -> SbxHypervisorBackend, loaded for recovery */
	GHashTable *unloadable; /* name -> gchar *: why it cannot be loaded */
	GHashTable *names;	/* backend -> its plugin name (borrowed) */
} Recovery;

static void
ids_free(gpointer ids)
{
	if (ids != NULL)
		g_hash_table_unref(ids);
}

static void
recovery_free(Recovery *r)
{
	g_clear_object(&r->manager);
	g_clear_pointer(&r->records, g_ptr_array_unref);
	g_clear_pointer(&r->bad_ids, g_ptr_array_unref);
	g_clear_pointer(&r->keep, g_hash_table_unref);
	g_clear_pointer(&r->backends, g_ptr_array_unref);
	g_clear_pointer(&r->listed, g_hash_table_unref);
	g_clear_pointer(&r->extra, g_hash_table_unref);
	g_clear_pointer(&r->unloadable, g_hash_table_unref);
	g_clear_pointer(&r->names, g_hash_table_unref);
	g_free(r);
}

static int
rm_rf_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) != 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) != 0 && errno != ENOENT ? -1 : 0;
}

/* removes every sandbox run folder of the runtime folder we do not keep */
static void
sweep_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	Recovery *r = task_data;
	const gchar *runtime_dir = sbx_manager_get_runtime_dir(r->manager);
	g_autoptr(GDir) dir = g_dir_open(runtime_dir, 0, NULL);
	const gchar *name;

	while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = NULL;
		if (!sbx_sandbox_id_is_valid(name) || g_hash_table_contains(r->keep, name))
			continue;
		path = g_build_filename(runtime_dir, name, NULL);
		if (!g_file_test(path, G_FILE_TEST_IS_DIR) ||
		    g_file_test(path, G_FILE_TEST_IS_SYMLINK))
			continue;
		sbx_sandbox_info(name, "recovery: removing the run folder %s", path);
		if (nftw(path, rm_rf_cb, 16, FTW_DEPTH | FTW_PHYS) != 0)
			sbx_sandbox_warning(name, "recovery: cannot remove %s: %s", path,
					    g_strerror(errno));
	}
	g_task_return_boolean(task, TRUE);
}

static void
on_swept(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = G_TASK(user_data);
	g_task_propagate_boolean(G_TASK(res), NULL);
	g_task_return_boolean(task, TRUE);
}

static void
step_done(GTask *task)
{
	Recovery *r = g_task_get_task_data(task);
	g_autoptr(GTask) sweep = NULL;

	if (--r->pending > 0)
		return;
	sweep = g_task_new(NULL, NULL, on_swept, g_object_ref(task));
	g_task_set_task_data(sweep, r, NULL);
	g_task_run_in_thread(sweep, sweep_thread);
}

typedef struct {
	GTask *task;
	gchar *id;
} Step;

static void
step_free(Step *step)
{
	g_clear_object(&step->task);
	g_free(step->id);
	g_free(step);
}

static Step *
step_new(GTask *task, const gchar *id)
{
	Step *step = g_new0(Step, 1);
	Recovery *r = g_task_get_task_data(task);
	step->task = g_object_ref(task);
	step->id = g_strdup(id);
	r->pending++;
	return step;
}

static void
on_orphan_destroyed(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Step *step = user_data;
	g_autoptr(GError) error = NULL;
	if (!sbx_hypervisor_backend_destroy_vm_finish(SBX_HYPERVISOR_BACKEND(source), res, &error))
		sbx_sandbox_warning(step->id, "recovery: cannot destroy the VM of %s: %s", step->id,
				    error->message);
	step_done(step->task);
	step_free(step);
}

/* the VM goes, then (in the sweep) its run folder; the record now */
static void
destroy_vm(GTask *task, SbxHypervisorBackend *backend, const gchar *id, const gchar *why)
{
	Recovery *r = g_task_get_task_data(task);
	SbxStateStore *store = sbx_manager_get_state_store(r->manager);

	sbx_sandbox_message(id, "recovery: destroying sandbox %s: %s", id, why);
	sbx_state_store_remove(store, id);
	sbx_hypervisor_backend_destroy_vm_async(backend, id, NULL, on_orphan_destroyed,
						step_new(task, id));
}

static void
on_adopted(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Step *step = user_data;
	Recovery *r = g_task_get_task_data(step->task);
	SbxSandbox *sandbox = SBX_SANDBOX(source);
	g_autoptr(GError) error = NULL;

	if (sbx_sandbox_adopt_finish(sandbox, res, &error)) {
		sbx_sandbox_message(step->id, "recovery: sandbox %s re-adopted", step->id);
		sbx_manager_add_adopted(r->manager, sandbox);
	} else {
		/* the failed start destroyed the VM, its folder and its record */
		sbx_sandbox_warning(step->id, "recovery: cannot re-adopt sandbox %s: %s", step->id,
				    error->message);
		g_hash_table_remove(r->keep, step->id);
		if (sbx_manager_get_volume_manager(r->manager) != NULL)
			sbx_volume_manager_detach(sbx_manager_get_volume_manager(r->manager),
						  step->id);
	}
	g_object_unref(sandbox);
	step_done(step->task);
	step_free(step);
}

static void
adopt(GTask *task, SbxHypervisorBackend *backend, const gchar *backend_name,
      const SbxStateRecord *rec)
{
	Recovery *r = g_task_get_task_data(task);
	SbxConfig *config = sbx_manager_get_config(r->manager);
	const SbxImage *image = sbx_config_get_image(config, rec->image);
	g_autoptr(SbxImage) stub = NULL;
	SbxSandbox *sandbox;

	/* the image left the config meanwhile: the VM runs anyway, keep its name */
	if (image == NULL)
		image = stub = sbx_image_new(rec->image);
	sandbox = sbx_sandbox_state_new_adopted(rec, image, backend,
						sbx_config_get_boot_timeout_sec(config));
	/* as CreateSandbox does */
	sbx_sandbox_lifetime_set_region(sandbox, rec->region != NULL
						     ? rec->region
						     : sbx_manager_get_default_region(r->manager));
	sbx_sandbox_lifetime_set_limits(
	    sandbox, sbx_config_get_max_lifetime_sec(config),
	    (guint)sbx_config_get_uint(config, "daemon", "ExtendStepSec"),
	    (guint)sbx_config_get_uint(config, "daemon", "ExpiryGraceSec"));
	sbx_sandbox_state_set_store(sandbox, sbx_manager_get_state_store(r->manager), backend_name);
	/* its volumes' locks again, or it goes: adopted unlocked, another sandbox
	 * could attach them read-write while this one still writes */
	if (rec->volumes->len > 0) {
		SbxVolumeManager *volumes = sbx_manager_get_volume_manager(r->manager);
		g_autoptr(GPtrArray) disks = NULL;
		g_autoptr(GError) error = NULL;
		if (volumes == NULL)
			g_set_error(&error, SBX_ERROR, SBX_ERROR_NOT_FOUND,
				    "no volume backend is loaded");
		else
			disks = sbx_volume_manager_attach(
			    volumes, rec->owner_uid, rec->id, rec->volumes,
			    sbx_sandbox_has_root_disk(sandbox) ? 'b' : 'a', &error);
		if (disks == NULL) {
			g_autofree gchar *why = g_strdup_printf(
			    "its volumes cannot be attached again: %s", error->message);
			g_object_unref(sandbox);
			destroy_vm(task, backend, rec->id, why);
			return;
		}
		sbx_sandbox_set_disks(sandbox, disks);
	}
	g_hash_table_add(r->keep, g_strdup(rec->id));
	/* a backend loaded for recovery stays while the daemon lives (a known
	 * one is ignored); its VM exits are watched from now on */
	if (backend_name != NULL && backend_name[0] != '\0')
		sbx_manager_add_backend(r->manager, backend_name, backend);
	sbx_sandbox_adopt_async(sandbox, on_adopted, step_new(task, rec->id));
}

static gboolean
run_dir_exists(Recovery *r, const gchar *id)
{
	g_autofree gchar *path =
	    g_build_filename(sbx_manager_get_runtime_dir(r->manager), id, NULL);
	return g_file_test(path, G_FILE_TEST_IS_DIR);
}

static gboolean
same_dir(const gchar *a, const gchar *b)
{
	g_autofree gchar *ca = g_canonicalize_filename(a, NULL);
	g_autofree gchar *cb = g_canonicalize_filename(b, NULL);
	return g_strcmp0(ca, cb) == 0;
}

/* not another daemon's (another RuntimeDir sharing the StateDir) */
static gboolean
record_is_ours(Recovery *r, const SbxStateRecord *rec)
{
	g_autofree gchar *parent = g_path_get_dirname(rec->run_dir);
	return same_dir(parent, sbx_manager_get_runtime_dir(r->manager));
}

static gboolean
has_backend_name(const SbxStateRecord *rec)
{
	return rec->backend != NULL && rec->backend[0] != '\0';
}

static gboolean
lists(Recovery *r, SbxHypervisorBackend *backend, const gchar *id)
{
	GHashTable *running = backend != NULL ? g_hash_table_lookup(r->listed, backend) : NULL;
	return running != NULL && g_hash_table_contains(running, id);
}

/* the backend a record names: of the instances of that plugin (regions may
 * share one with different URIs), the one that lists its VM, else its
 * region's, else any; NULL when none is loaded */
static SbxHypervisorBackend *
named_backend(Recovery *r, const SbxStateRecord *rec, SbxHypervisorBackend *region_backend)
{
	SbxHypervisorBackend *found = NULL;

	for (guint i = 0; i < r->backends->len; i++) {
		SbxHypervisorBackend *backend = g_ptr_array_index(r->backends, i);
		if (g_strcmp0(g_hash_table_lookup(r->names, backend), rec->backend) != 0)
			continue;
		if (lists(r, backend, rec->id))
			return backend;
		if (found == NULL || backend == region_backend)
			found = backend;
	}
	return found;
}

/* its bridge (if any) must be one the firewall isolates: the table of the
 * previous run, which had it, was replaced when this daemon started */
static gboolean
bridge_is_isolated(SbxHypervisorBackend *backend, const gchar **bridge)
{
	SbxNetpolFirewall *firewall = sbx_netpol_firewall_get_default();
	*bridge = sbx_hypervisor_backend_get_network_bridge(backend);
	return *bridge == NULL ||
	       (firewall != NULL && sbx_netpol_firewall_has_bridge(firewall, *bridge));
}

/* a record's VM stays untouched while its backend cannot be loaded */
static void
keep_unloadable(Recovery *r, const SbxStateRecord *rec)
{
	const gchar *why = g_hash_table_lookup(r->unloadable, rec->backend);

	g_hash_table_add(r->keep, g_strdup(rec->id));
	sbx_sandbox_warning(
	    rec->id,
	    "recovery: sandbox %s runs on backend '%s', which cannot be loaded (%s); its VM is "
	    "left alone and its record and run folder are kept. Make the '%s' plugin loadable "
	    "(installed, its [%s] section valid) and restart sandboxd to adopt or destroy it, "
	    "or remove its VM by hand, then %s/%s.json",
	    rec->id, rec->backend, why != NULL ? why : "unknown", rec->backend, rec->backend,
	    sbx_state_store_get_dir(sbx_manager_get_state_store(r->manager)), rec->id);
}

/* every backend answered: decide about each record and each VM */
static void
decide(GTask *task)
{
	Recovery *r = g_task_get_task_data(task);
	SbxStateStore *store = sbx_manager_get_state_store(r->manager);
	g_autoptr(GHashTable) recorded = g_hash_table_new(g_str_hash, g_str_equal);
	gint64 now = g_get_real_time();
	GHashTableIter iter;
	gpointer key, value;

	/* one step of our own, so the sweep waits until everything is started */
	r->pending++;
	for (guint i = 0; i < r->records->len; i++) {
		SbxStateRecord *rec = g_ptr_array_index(r->records, i);
		g_autofree gchar *base = g_path_get_basename(rec->run_dir);
		SbxHypervisorBackend *region_backend =
		    sbx_manager_get_region_backend(r->manager, rec->region);
		SbxHypervisorBackend *backend = region_backend;
		const gchar *backend_name =
		    sbx_manager_get_region_backend_name(r->manager, rec->region);
		const gchar *bridge = NULL;
		GHashTable *running;

		g_hash_table_add(recorded, rec->id);
		if (!record_is_ours(r, rec)) {
			sbx_sandbox_debug(rec->id, "recovery: %s belongs to %s, leaving it",
					  rec->id, rec->run_dir);
			continue;
		}
		if (has_backend_name(rec)) {
			const gchar *region_backend_name = backend_name;
			backend = named_backend(r, rec, region_backend);
			backend_name = rec->backend;
			/* versions before this one named [daemon] Backend whatever
			 * the region's was: its region's backend runs the VM */
			if (!lists(r, backend, rec->id) && lists(r, region_backend, rec->id)) {
				backend = region_backend;
				backend_name = region_backend_name;
			}
			if (backend == NULL) {
				keep_unloadable(r, rec);
				continue;
			}
		}
		if (backend == NULL) {
			sbx_sandbox_warning(rec->id,
					    "recovery: sandbox %s: its region '%s' is no longer "
					    "configured; forgetting it",
					    rec->id, rec->region);
			sbx_state_store_remove(store, rec->id);
			continue;
		}
		if (g_strcmp0(base, rec->id) != 0) {
			/* never rm -rf a folder a record merely names */
			sbx_sandbox_warning(rec->id, "recovery: %s: bad run_dir %s", rec->id,
					    rec->run_dir);
			destroy_vm(task, backend, rec->id, "its record is damaged");
			continue;
		}
		running = g_hash_table_lookup(r->listed, backend);
		if (running != NULL && !g_hash_table_contains(running, rec->id)) {
			sbx_sandbox_message(rec->id, "recovery: sandbox %s: its VM is gone",
					    rec->id);
			sbx_state_store_remove(store, rec->id);
			continue;
		}
		if (region_backend == NULL) {
			g_autofree gchar *why =
			    g_strdup_printf("its region '%s' is no longer configured", rec->region);
			destroy_vm(task, backend, rec->id, why);
			continue;
		}
		if (rec->timeout_sec == 0) {
			destroy_vm(task, backend, rec->id, "it was bound to a session that ended");
			continue;
		}
		if (rec->expires_at <= now) {
			destroy_vm(task, backend, rec->id,
				   "its lifetime ended while sandboxd was down");
			continue;
		}
		if (backend_name != NULL && g_hash_table_contains(r->extra, backend_name) &&
		    !bridge_is_isolated(backend, &bridge)) {
			g_autofree gchar *why = g_strdup_printf(
			    "its backend '%s' puts it on bridge %s, which no region uses: the "
			    "firewall does not isolate it",
			    backend_name, bridge);
			destroy_vm(task, backend, rec->id, why);
			continue;
		}
		if (backend != region_backend)
			sbx_sandbox_message(rec->id,
					    "recovery: sandbox %s runs on backend '%s', not on its "
					    "region's current one: adopting it with its own",
					    rec->id, backend_name);
		adopt(task, backend, backend_name, rec);
	}
	for (guint i = 0; i < r->bad_ids->len; i++) {
		const gchar *id = g_ptr_array_index(r->bad_ids, i);
		g_hash_table_add(recorded, (gpointer)id);
		if (run_dir_exists(r, id)) {
			for (guint j = 0; j < r->backends->len; j++)
				destroy_vm(task, g_ptr_array_index(r->backends, j), id,
					   "its record is unreadable");
		} else {
			sbx_state_store_remove(store, id);
		}
	}
	/* orphans: booted by us (their run folder is ours) but never recorded */
	g_hash_table_iter_init(&iter, r->listed);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		GHashTableIter ids;
		gpointer id;
		if (value == NULL)
			continue;
		g_hash_table_iter_init(&ids, value);
		while (g_hash_table_iter_next(&ids, &id, NULL)) {
			if (g_hash_table_contains(recorded, id) || !sbx_sandbox_id_is_valid(id) ||
			    !run_dir_exists(r, id))
				continue;
			destroy_vm(task, key, id, "orphaned VM without a record");
		}
	}
	step_done(task);
}

static void
on_listed(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = G_TASK(user_data);
	Recovery *r = g_task_get_task_data(task);
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) vms =
	    sbx_hypervisor_backend_list_vms_finish(SBX_HYPERVISOR_BACKEND(source), res, &error);
	GHashTable *ids = NULL;

	if (vms == NULL) {
		/* unknown: records are tried (a dead agent fails the adoption) */
		g_warning("recovery: a backend cannot list its VMs (%s): trying every record",
			  error->message);
	} else {
		ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		for (guint i = 0; vms[i] != NULL; i++)
			g_hash_table_add(ids, g_strdup(vms[i]));
	}
	g_hash_table_insert(r->listed, source, ids);
	if (--r->n_listing == 0)
		decide(task);
}

/* a backend no region uses, from its plugin and its own config section;
 * blocking (as the regions' at startup): recovery runs before the bus name */
static SbxHypervisorBackend *
load_backend(SbxManager *self, const gchar *name, GError **error)
{
	SbxPluginLoader *loader = sbx_manager_get_plugin_loader(self);
	SbxConfig *config = sbx_manager_get_config(self);
	const SbxPlugin *plugin = NULL;
	g_autoptr(SbxHypervisorBackend) backend = NULL;

	if (loader != NULL)
		plugin = sbx_plugin_loader_lookup(loader, SBX_PLUGIN_KIND_HYPERVISOR, name);
	if (plugin == NULL) {
		g_autofree gchar *known =
		    loader != NULL
			? sbx_plugin_loader_list_names(loader, SBX_PLUGIN_KIND_HYPERVISOR)
			: g_strdup("none");
		g_set_error(error, SBX_ERROR, SBX_ERROR_PLUGIN,
			    "no hypervisor plugin '%s' is loaded (found: %s)", name, known);
		return NULL;
	}
	backend = g_object_new(plugin->type, NULL);
	if (!sbx_hypervisor_backend_configure(backend, sbx_config_get_keyfile(config), name,
					      error)) {
		g_prefix_error(error, "%s: ", plugin->filename);
		return NULL;
	}
	return g_steal_pointer(&backend);
}

static void
add_backend(Recovery *r, SbxHypervisorBackend *backend, const gchar *name)
{
	if (g_ptr_array_find(r->backends, backend, NULL))
		return;
	g_ptr_array_add(r->backends, g_object_ref(backend));
	g_hash_table_insert(r->names, backend, (gpointer)name);
}

/* the backends records name that no region uses */
static void
load_named_backends(Recovery *r)
{
	for (guint i = 0; i < r->records->len; i++) {
		SbxStateRecord *rec = g_ptr_array_index(r->records, i);
		g_autoptr(GError) error = NULL;
		SbxHypervisorBackend *backend;

		if (!has_backend_name(rec) || !record_is_ours(r, rec) ||
		    sbx_manager_find_backend(r->manager, rec->backend) != NULL ||
		    g_hash_table_contains(r->extra, rec->backend) ||
		    g_hash_table_contains(r->unloadable, rec->backend))
			continue;
		backend = load_backend(r->manager, rec->backend, &error);
		if (backend == NULL) {
			g_warning("recovery: cannot load backend '%s' for its sandboxes: %s",
				  rec->backend, error->message);
			g_hash_table_insert(r->unloadable, g_strdup(rec->backend),
					    g_strdup(error->message));
			continue;
		}
		g_message("recovery: loaded backend '%s' (no region uses it) for its sandboxes",
			  rec->backend);
		g_hash_table_insert(r->extra, g_strdup(rec->backend), backend);
		add_backend(r, backend, rec->backend);
	}
}

void
sbx_manager_recover_async(SbxManager *self, GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, NULL, callback, user_data);
	SbxStateStore *store = sbx_manager_get_state_store(self);
	GPtrArray *regions;
	Recovery *r;

	g_task_set_source_tag(task, sbx_manager_recover_async);
	if (store == NULL) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	r = g_new0(Recovery, 1);
	r->manager = g_object_ref(self);
	r->bad_ids = g_ptr_array_new_with_free_func(g_free);
	r->records = sbx_state_store_load_all(store, r->bad_ids);
	r->keep = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_task_set_task_data(task, r, (GDestroyNotify)recovery_free);
	if (r->records->len > 0 || r->bad_ids->len > 0)
		g_message("recovery: %u sandbox records in %s", r->records->len + r->bad_ids->len,
			  sbx_state_store_get_dir(store));
	r->backends = g_ptr_array_new_with_free_func(g_object_unref);
	r->listed = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, ids_free);
	r->names = g_hash_table_new(g_direct_hash, g_direct_equal);
	add_backend(r, sbx_manager_get_backend(self),
		    sbx_manager_get_region_backend_name(self, NULL));
	regions = sbx_manager_get_regions(self);
	for (guint i = 0; regions != NULL && i < regions->len; i++) {
		SbxRegion *region = g_ptr_array_index(regions, i);
		add_backend(r, region->backend, region->backend_name);
	}
	r->extra = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
	r->unloadable = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	load_named_backends(r);
	r->n_listing = r->backends->len;
	for (guint i = 0; i < r->backends->len; i++)
		sbx_hypervisor_backend_list_vms_async(g_ptr_array_index(r->backends, i), NULL,
						      on_listed, g_object_ref(task));
}

gboolean
sbx_manager_recover_finish(SbxManager *self, GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}
