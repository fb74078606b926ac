/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include <errno.h>
#include <ftw.h>
#include <glib/gstdio.h>
#include <gio/gunixsocketaddress.h>
#include <sys/stat.h>

#include "sbx-agent-client.h"
#include "sbx-snapshot-store.h"

/* the guest notices a closed host end on its next probe; let it settle so
 * clones start waiting for their host, not talking to a gone one */
#define SETTLE_MS 100
/* the warm-up command before a save; a template that takes longer is saved anyway */
#define WARM_TIMEOUT_MS 60000

struct _SbxSnapshotStore {
	gchar *root;
	gchar *runtime_dir;
	guint boot_timeout_sec;
	GHashTable *building; /* snapshot dir -> its Build (not owned) while it runs */
	GHashTable *failed;   /* snapshot dir -> why: not retried until restart */
	GHashTable
	    *waiters; /* snapshot dir -> GPtrArray of GTask (sbx_snapshot_store_wait_async) */
};

SbxSnapshotStore *
sbx_snapshot_store_new(const gchar *root, const gchar *runtime_dir, guint boot_timeout_sec)
{
	SbxSnapshotStore *store = g_new0(SbxSnapshotStore, 1);
	store->root = g_strdup(root);
	store->runtime_dir = g_strdup(runtime_dir);
	store->boot_timeout_sec = boot_timeout_sec;
	store->building = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	store->failed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	store->waiters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					       (GDestroyNotify)g_ptr_array_unref);
	return store;
}

void
sbx_snapshot_store_free(SbxSnapshotStore *store)
{
	if (store == NULL)
		return;
	g_hash_table_unref(store->building);
	g_hash_table_unref(store->failed);
	/* a waiter's task holds no ref on the store: they all end here */
	g_hash_table_unref(store->waiters);
	g_free(store->root);
	g_free(store->runtime_dir);
	g_free(store);
}

/* a file's identity: a rebuilt image (new agent, kernel, root disk) differs */
static void
add_file(GChecksum *sum, const gchar *what, const gchar *path)
{
	struct stat st;

	g_checksum_update(sum, (const guchar *)what, -1);
	if (path == NULL || stat(path, &st) != 0) {
		g_checksum_update(sum, (const guchar *)"-", 1);
		return;
	}
	{
		g_autofree gchar *id = g_strdup_printf(
		    "%s:%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT ":%" G_GINT64_FORMAT ".%ld", path,
		    (guint64)st.st_ino, (guint64)st.st_size, (gint64)st.st_mtim.tv_sec,
		    st.st_mtim.tv_nsec);
		g_checksum_update(sum, (const guchar *)id, -1);
	}
}

/* the image folder's build inputs digest (build-image.sh writes it) */
static void
add_image_inputs(GChecksum *sum, const gchar *kernel)
{
	g_autofree gchar *dir = g_path_get_dirname(kernel);
	g_autofree gchar *inputs = g_build_filename(dir, ".inputs", NULL);
	g_autofree gchar *data = NULL;

	if (g_file_get_contents(inputs, &data, NULL, NULL))
		g_checksum_update(sum, (const guchar *)data, -1);
}

/* the snapshot folder for @spec, or NULL (and why) when there can be none */
gchar *
sbx_snapshot_store_lookup(SbxSnapshotStore *store, SbxHypervisorBackend *backend,
			  const SbxVmSpec *spec, gboolean *ready, gchar **why)
{
	const gchar *compat = sbx_hypervisor_backend_get_snapshot_compat(backend);
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_autofree gchar *shape = NULL;
	g_autofree gchar *dir = NULL;
	const gchar *failed;

	*ready = FALSE;
	if (compat == NULL) {
		*why = g_strdup_printf("the %s backend takes no snapshots",
				       G_OBJECT_TYPE_NAME(backend));
		return NULL;
	}
	/* a snapshot's devices are fixed: volumes would need hotplug */
	if (spec->disks != NULL && spec->disks->len > 0) {
		*why = g_strdup("it has volumes");
		return NULL;
	}
	g_checksum_update(sum, (const guchar *)compat, -1);
	add_file(sum, "kernel", spec->kernel);
	add_file(sum, "initrd", spec->initrd);
	add_file(sum, "root", spec->root_disk);
	add_image_inputs(sum, spec->kernel);
	shape = g_strdup_printf("%u MiB %u vcpus disk %" G_GUINT64_FORMAT " net %d fmt %s proto %u "
				"cmdline %s",
				spec->memory_mib, spec->vcpus, spec->disk_size, spec->network,
				spec->root_format != NULL ? spec->root_format : "",
				SBX_PROTO_VERSION, spec->cmdline != NULL ? spec->cmdline : "");
	g_checksum_update(sum, (const guchar *)shape, -1);
	dir = g_build_filename(store->root, g_checksum_get_string(sum), NULL);
	failed = g_hash_table_lookup(store->failed, dir);
	if (failed != NULL) {
		*why = g_strdup_printf("taking its snapshot failed: %s", failed);
		return NULL;
	}
	*ready = g_file_test(dir, G_FILE_TEST_IS_DIR);
	if (!*ready)
		*why = g_strdup(g_hash_table_contains(store->building, dir)
				    ? "its snapshot is being taken"
				    : "no snapshot yet (taking one now)");
	return g_steal_pointer(&dir);
}

static int
rm_rf_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) != 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) != 0 && errno != ENOENT ? -1 : 0;
}

static void
rm_rf(const gchar *path)
{
	if (g_file_test(path, G_FILE_TEST_EXISTS))
		nftw(path, rm_rf_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* a snapshot that did not restore: gone, and not retried until restart */
void
sbx_snapshot_store_forget(SbxSnapshotStore *store, const gchar *snapshot_dir, const gchar *why)
{
	g_warning("snapshot %s: %s; sandboxes of its kind boot cold", snapshot_dir, why);
	g_hash_table_replace(store->failed, g_strdup(snapshot_dir), g_strdup(why));
	rm_rf(snapshot_dir);
}

/* --- building: boot a template, wait for its agent, save, destroy ---------- */

typedef struct {
	SbxSnapshotStore *store;
	SbxHypervisorBackend *backend;
	SbxVmSpec *spec;
	gchar *final_dir;
	SbxAgentClient *agent;
	gint64 started;
	gint64 deadline;
	GError *error;
} Build;

static void
build_free(Build *b)
{
	g_clear_object(&b->agent);
	g_object_unref(b->backend);
	sbx_vm_spec_free(b->spec);
	g_free(b->final_dir);
	g_clear_error(&b->error);
	g_free(b);
}

/* the build of @dir ended: its waiters learn how */
static void
wake_waiters(SbxSnapshotStore *store, const gchar *dir, const GError *error)
{
	g_autoptr(GPtrArray) tasks = NULL;
	gpointer key = NULL;

	if (!g_hash_table_steal_extended(store->waiters, dir, &key, (gpointer *)&tasks))
		return;
	g_free(key);
	for (guint i = 0; i < tasks->len; i++) {
		GTask *task = g_ptr_array_index(tasks, i);
		if (error != NULL)
			g_task_return_error(task, g_error_copy(error));
		else
			g_task_return_boolean(task, TRUE);
	}
}

static void
on_template_destroyed(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Build *b = user_data;
	g_autoptr(GError) error = NULL;

	sbx_hypervisor_backend_destroy_vm_finish(b->backend, res, &error);
	rm_rf(b->spec->run_dir);
	g_hash_table_remove(b->store->building, b->final_dir);
	if (b->error == NULL && g_rename(b->spec->snapshot_dir, b->final_dir) != 0)
		b->error = g_error_new(G_IO_ERROR, g_io_error_from_errno(errno), "rename: %s",
				       g_strerror(errno));
	wake_waiters(b->store, b->final_dir, b->error);
	if (b->error != NULL) {
		rm_rf(b->spec->snapshot_dir);
		sbx_snapshot_store_forget(b->store, b->final_dir, b->error->message);
	} else {
		g_info("snapshot %s taken in %.2f s (%u MiB, %u vCPUs)", b->final_dir,
		       (g_get_monotonic_time() - b->started) / 1e6, b->spec->memory_mib,
		       b->spec->vcpus);
	}
	build_free(b);
}

static void
build_finish(Build *b, GError *error)
{
	if (error != NULL && b->error == NULL)
		b->error = error;
	else if (error != NULL)
		g_error_free(error);
	if (b->agent != NULL && !sbx_agent_client_is_closed(b->agent))
		sbx_agent_client_close(b->agent, NULL);
	sbx_hypervisor_backend_destroy_vm_async(b->backend, b->spec->id, NULL,
						on_template_destroyed, b);
}

static void
on_snapshot_saved(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Build *b = user_data;
	GError *error = NULL;

	sbx_hypervisor_backend_snapshot_vm_finish(b->backend, res, &error);
	build_finish(b, error);
}

static gboolean
on_settled(gpointer user_data)
{
	Build *b = user_data;
	sbx_hypervisor_backend_snapshot_vm_async(b->backend, b->spec->id, NULL, on_snapshot_saved,
						 b);
	return G_SOURCE_REMOVE;
}

static void
on_template_warm(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Build *b = user_data;
	g_autoptr(GError) error = NULL;
	SbxExecResult result = {0};

	/* a failed warm-up only costs the clones its gain */
	if (!sbx_agent_client_exec_finish(b->agent, res, &result, &error))
		g_debug("snapshot %s: the warm-up command failed: %s", b->final_dir,
			error->message);
	sbx_agent_client_close(b->agent, NULL);
	g_timeout_add(SETTLE_MS, on_settled, b);
}

static void
on_template_handshake(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Build *b = user_data;
	GError *error = NULL;

	if (!sbx_agent_client_handshake_finish(b->agent, res, &error)) {
		build_finish(b, error);
		return;
	}
	/* a clone must be able to become itself */
	if ((sbx_agent_client_get_features(b->agent) & SBX_FEATURE_IDENTITY) == 0) {
		build_finish(b, g_error_new(G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
					    "agent %s of the image cannot take an identity",
					    sbx_agent_client_get_agent_version(b->agent)));
		return;
	}
	/* one process before the save: each clone then starts with the page
	 * cache, dentries and agent state of a first command already there (its
	 * own first command is the slowest step of a restore) */
	{
		const gchar *argv[] = {"sh", "-c", "echo x >/dev/null && true", NULL};
		SbxExecParams params = {0};
		params.argv = argv;
		params.uid = -1;
		params.gid = -1;
		params.timeout_ms = WARM_TIMEOUT_MS;
		sbx_agent_client_exec_async(b->agent, &params, -1, -1, -1, NULL, on_template_warm,
					    b);
	}
}

static void try_connect(Build *b);

static gboolean
on_retry(gpointer user_data)
{
	try_connect(user_data);
	return G_SOURCE_REMOVE;
}

static void
on_template_connected(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Build *b = user_data;
	GError *error = NULL;
	g_autoptr(GIOStream) conn =
	    sbx_hypervisor_backend_connect_agent_finish(b->backend, res, &error);

	if (conn == NULL) {
		if (g_get_monotonic_time() < b->deadline) {
			g_clear_error(&error);
			g_timeout_add(50, on_retry, b);
			return;
		}
		build_finish(b, error);
		return;
	}
	b->agent = sbx_agent_client_new(conn, b->spec->id);
	sbx_agent_client_handshake_async(b->agent, b->store->boot_timeout_sec * 1000, NULL,
					 on_template_handshake, b);
}

static void
try_connect(Build *b)
{
	/* the backend knows how its agent is reached */
	sbx_hypervisor_backend_connect_agent_async(b->backend, b->spec->id, b->spec->agent_socket,
						   NULL, on_template_connected, b);
}

static void
on_template_started(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Build *b = user_data;
	GError *error = NULL;

	if (!sbx_hypervisor_backend_start_vm_finish(b->backend, res, &error)) {
		build_finish(b, error);
		return;
	}
	try_connect(b);
}

static gchar *
make_template_id(void)
{
	static const gchar alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	GString *id = g_string_new("sbxsnap");
	for (guint i = 0; i < 9; i++)
		g_string_append_c(id, alphabet[g_random_int_range(0, sizeof(alphabet) - 1)]);
	return g_string_free(id, FALSE);
}

/* in the background, once per snapshot at a time */
void
sbx_snapshot_store_build(SbxSnapshotStore *store, SbxHypervisorBackend *backend,
			 const SbxVmSpec *spec, const gchar *snapshot_dir)
{
	Build *b;
	g_autofree gchar *id = NULL;
	g_autofree gchar *tmp = NULL;

	/* several cold boots of one kind ask for it: the first one takes it, and
	 * one that runs after it was taken must not take it again */
	if (g_hash_table_contains(store->building, snapshot_dir) ||
	    g_hash_table_contains(store->failed, snapshot_dir) ||
	    g_file_test(snapshot_dir, G_FILE_TEST_IS_DIR))
		return;
	if (g_mkdir_with_parents(store->root, 0711) != 0) {
		sbx_snapshot_store_forget(store, snapshot_dir, g_strerror(errno));
		return;
	}
	id = make_template_id();
	tmp = g_strconcat(snapshot_dir, ".", id, NULL);
	b = g_new0(Build, 1);
	b->store = store;
	b->backend = g_object_ref(backend);
	b->spec = sbx_vm_spec_copy(spec);
	b->final_dir = g_strdup(snapshot_dir);
	b->started = g_get_monotonic_time();
	b->deadline = b->started + (gint64)store->boot_timeout_sec * G_USEC_PER_SEC;
	g_free(b->spec->id);
	b->spec->id = g_strdup(id);
	g_free(b->spec->run_dir);
	b->spec->run_dir = g_build_filename(store->runtime_dir, id, NULL);
	g_free(b->spec->agent_socket);
	b->spec->agent_socket = g_build_filename(b->spec->run_dir, "agent.sock", NULL);
	g_free(b->spec->console_log);
	b->spec->console_log = g_build_filename(b->spec->run_dir, "console.log", NULL);
	b->spec->snapshot_dir = g_strdup(tmp);
	if (g_mkdir(b->spec->run_dir, 0750) != 0 || g_mkdir(tmp, 0700) != 0) {
		sbx_snapshot_store_forget(store, snapshot_dir, g_strerror(errno));
		rm_rf(b->spec->run_dir);
		build_free(b);
		return;
	}
	g_hash_table_insert(store->building, g_strdup(snapshot_dir), b);
	g_info("taking snapshot %s (template %s)", snapshot_dir, id);
	sbx_hypervisor_backend_start_vm_async(backend, b->spec, NULL, on_template_started, b);
}

/* the daemon stops: template VMs still booting or being saved go at once (the
 * backend's destroy kills them before it returns; what is left of them the
 * next start's recovery removes) */
void
sbx_snapshot_store_stop(SbxSnapshotStore *store)
{
	GHashTableIter iter;
	gpointer value;

	if (store == NULL)
		return;
	g_hash_table_iter_init(&iter, store->building);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		Build *b = value;
		g_info("snapshot %s: the daemon stops, template %s destroyed", b->final_dir,
		       b->spec->id);
		sbx_hypervisor_backend_destroy_vm_async(b->backend, b->spec->id, NULL, NULL, NULL);
	}
	/* nobody waits past the daemon's end */
	{
		g_autoptr(GError) error =
		    g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED, "sandboxd is stopping");
		g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func(g_free);
		g_hash_table_iter_init(&iter, store->waiters);
		while (g_hash_table_iter_next(&iter, &value, NULL))
			g_ptr_array_add(dirs, g_strdup(value));
		for (guint i = 0; i < dirs->len; i++)
			wake_waiters(store, g_ptr_array_index(dirs, i), error);
	}
}

void
sbx_snapshot_store_wait_async(SbxSnapshotStore *store, const gchar *snapshot_dir,
			      GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(NULL, NULL, callback, user_data);
	const gchar *failed = g_hash_table_lookup(store->failed, snapshot_dir);
	GPtrArray *tasks;

	g_task_set_source_tag(task, sbx_snapshot_store_wait_async);
	if (failed != NULL) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED,
					"taking the snapshot failed: %s", failed);
		return;
	}
	if (!g_hash_table_contains(store->building, snapshot_dir)) {
		if (g_file_test(snapshot_dir, G_FILE_TEST_IS_DIR))
			g_task_return_boolean(task, TRUE);
		else
			g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
						"no snapshot is being taken");
		return;
	}
	tasks = g_hash_table_lookup(store->waiters, snapshot_dir);
	if (tasks == NULL) {
		tasks = g_ptr_array_new_with_free_func(g_object_unref);
		g_hash_table_insert(store->waiters, g_strdup(snapshot_dir), tasks);
	}
	g_ptr_array_add(tasks, g_steal_pointer(&task));
}

gboolean
sbx_snapshot_store_wait_finish(GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}
