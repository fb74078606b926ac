/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-plugin.h"
#include "sbx-qcow2-backend.h"
#include "sbx-qcow2-store.h"

#define DEFAULT_DIRECTORY SBX_STATEDIR "/volumes"
#define DEFAULT_QEMU_IMG "qemu-img"
/* what qemu-img says about a failure; enough for any real message */
#define QEMU_IMG_OUTPUT_MAX 4096

/* one attachment lock: the volume's, and a shared one on the snapshot a
 * clone is backed by, so we know when no attached clone uses it any more */
typedef struct {
	gint fd;
	gint snap_fd;
	gchar *snap_id;
} SbxQcow2HeldLock;

/* attachment locks held for get_disk_source, per volume */
typedef struct {
	GArray *rw; /* SbxQcow2HeldLock; at most one, but an array keeps release simple */
	GArray *ro;
} SbxQcow2Held;

struct _SbxQcow2Backend {
	SbxVolumeBackend parent_instance;

	/* set by configure, read-only afterwards */
	gchar *dir;
	gchar *qemu_img;

	/* serialises read-modify-write of metadata files in this process */
	GMutex meta_lock;
	/* main thread only: id -> SbxQcow2Held */
	GHashTable *held;
};

G_DEFINE_FINAL_TYPE(SbxQcow2Backend, sbx_qcow2_backend, SBX_TYPE_VOLUME_BACKEND)

static const SbxConfigKey qcow2_config_keys[] = {
    {"Directory", SBX_CONFIG_PATH},
    {"QemuImg", SBX_CONFIG_PATH},
    {NULL},
};

static void
held_lock_clear(SbxQcow2HeldLock *lock)
{
	close(lock->fd);
	if (lock->snap_fd >= 0)
		close(lock->snap_fd);
	g_free(lock->snap_id);
}

static void
held_free(SbxQcow2Held *held)
{
	g_array_unref(held->rw);
	g_array_unref(held->ro);
	g_free(held);
}

/* what every operation needs in its thread */
typedef struct {
	gchar *id;
	gchar *other_id; /* snapshot id for snapshot and clone */
	guint64 capacity;
	GHashTable *attributes;
} TaskData;

static void
task_data_free(TaskData *data)
{
	g_free(data->id);
	g_free(data->other_id);
	if (data->attributes != NULL)
		g_hash_table_unref(data->attributes);
	g_free(data);
}

static gboolean
check_id(const gchar *id, GError **error)
{
	if (sbx_volume_id_is_valid(id))
		return TRUE;
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		    "invalid volume id (1-%u of A-Z a-z 0-9 - _)", (guint)SBX_VOLUME_ID_MAX);
	return FALSE;
}

/* qemu-img wants whole sectors */
static guint64
round_capacity(guint64 capacity)
{
	return (capacity + 511) & ~(guint64)511;
}

static gboolean
check_capacity(guint64 capacity, GError **error)
{
	/* also keeps the rounding and the JSON int64 in range */
	if (capacity == 0 || capacity > G_MAXINT64 / 2) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "invalid capacity %" G_GUINT64_FORMAT, capacity);
		return FALSE;
	}
	return TRUE;
}

static gboolean
ensure_dir(SbxQcow2Backend *self, GError **error)
{
	/* others need search permission: QEMU runs as its own user */
	if (g_mkdir_with_parents(self->dir, 0711) != 0) {
		gint saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "%s: %s", self->dir,
			    g_strerror(saved));
		return FALSE;
	}
	return TRUE;
}

/* runs qemu-img in the volume folder, waiting in this (worker) thread */
static gboolean
run_qemu_img(SbxQcow2Backend *self, GCancellable *cancellable, GError **error, ...)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new(
	    G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree gchar *output = NULL;
	const gchar *arg;
	va_list ap;

	g_ptr_array_add(argv, self->qemu_img);
	va_start(ap, error);
	while ((arg = va_arg(ap, const gchar *)) != NULL)
		g_ptr_array_add(argv, (gpointer)arg);
	va_end(ap);
	g_ptr_array_add(argv, NULL);

	g_subprocess_launcher_set_cwd(launcher, self->dir);
	g_subprocess_launcher_setenv(launcher, "LC_ALL", "C", TRUE);
	proc = g_subprocess_launcher_spawnv(launcher, (const gchar *const *)argv->pdata, error);
	if (proc == NULL)
		return FALSE;
	if (!g_subprocess_communicate_utf8(proc, NULL, cancellable, &output, NULL, error)) {
		g_subprocess_force_exit(proc);
		return FALSE;
	}
	if (!g_subprocess_get_if_exited(proc) || g_subprocess_get_exit_status(proc) != 0) {
		if (output != NULL && strlen(output) > QEMU_IMG_OUTPUT_MAX)
			output[QEMU_IMG_OUTPUT_MAX] = '\0';
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "qemu-img %s failed: %s",
			    (const gchar *)argv->pdata[1],
			    output != NULL ? g_strstrip(output) : "no output");
		return FALSE;
	}
	return TRUE;
}

/* the image and its metadata; the caller holds the id's lock exclusively */
static void
remove_files(SbxQcow2Backend *self, const gchar *id)
{
	g_autofree gchar *json = sbx_qcow2_store_path(self->dir, id, ".json");
	g_autofree gchar *image = sbx_qcow2_store_path(self->dir, id, ".qcow2");

	/* metadata first: a half-removed volume is not listed again */
	if (g_unlink(json) != 0 && errno != ENOENT)
		g_warning("qcow2: cannot remove %s: %s", json, g_strerror(errno));
	if (g_unlink(image) != 0 && errno != ENOENT)
		g_warning("qcow2: cannot remove %s: %s", image, g_strerror(errno));
}

/* takes the new id's lock and checks nothing is stored under it */
static gint
reserve_id(SbxQcow2Backend *self, const gchar *id, GError **error)
{
	g_autofree gchar *json = sbx_qcow2_store_path(self->dir, id, ".json");
	g_autoptr(GError) error_local = NULL;
	gint fd;

	if (!check_id(id, error) || !ensure_dir(self, error))
		return -1;
	fd = sbx_qcow2_store_lock(self->dir, id, LOCK_EX, TRUE, &error_local);
	if (fd < 0) {
		if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_BUSY))
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
				    "volume '%s' already exists", id);
		else
			g_propagate_error(error, g_steal_pointer(&error_local));
		return -1;
	}
	if (g_file_test(json, G_FILE_TEST_EXISTS)) {
		close(fd);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "volume '%s' already exists", id);
		return -1;
	}
	return fd;
}

/* metadata of @id, which must be of @kind */
static SbxVolumeInfo *
load_kind(SbxQcow2Backend *self, const gchar *id, SbxVolumeKind kind, GError **error)
{
	g_autoptr(SbxVolumeInfo) info = NULL;

	if (!check_id(id, error))
		return NULL;
	info = sbx_qcow2_store_meta_load(self->dir, id, error);
	if (info == NULL)
		return NULL;
	if (info->kind != kind) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no %s '%s'",
			    kind == SBX_VOLUME_KIND_SNAPSHOT ? "snapshot" : "volume", id);
		return NULL;
	}
	return g_steal_pointer(&info);
}

/* fills in what is measured, not stored */
static void
info_measure(SbxQcow2Backend *self, SbxVolumeInfo *info)
{
	g_autofree gchar *image = sbx_qcow2_store_path(self->dir, info->id, ".qcow2");
	struct stat st;

	if (stat(image, &st) == 0)
		info->used = (guint64)st.st_blocks * 512;
}

static gboolean
finish_new_image(SbxQcow2Backend *self, SbxVolumeInfo *info, mode_t mode, GError **error)
{
	g_autofree gchar *image = sbx_qcow2_store_path(self->dir, info->id, ".qcow2");

	/* qemu-img honours the umask; the owner is root until libvirt's DAC
	 * driver hands the file to QEMU's user for an attachment */
	if (g_chmod(image, mode) != 0) {
		gint saved = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "%s: %s", image,
			    g_strerror(saved));
		return FALSE;
	}
	info->created = g_get_real_time();
	return sbx_qcow2_store_meta_save(self->dir, info, error);
}

static void
create_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxQcow2Backend *self = source;
	TaskData *data = task_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxVolumeInfo) info = sbx_volume_info_new(data->id, SBX_VOLUME_KIND_VOLUME);
	g_autofree gchar *image = sbx_qcow2_store_path(self->dir, data->id, ".qcow2");
	g_autofree gchar *size = NULL;
	gint fd;

	if (!check_capacity(data->capacity, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	fd = reserve_id(self, data->id, &error);
	if (fd < 0) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	info->capacity = round_capacity(data->capacity);
	size = g_strdup_printf("%" G_GUINT64_FORMAT, info->capacity);
	if (!run_qemu_img(self, cancellable, &error, "create", "-q", "-f", "qcow2", image, size,
			  NULL) ||
	    !finish_new_image(self, info, 0600, &error)) {
		remove_files(self, data->id);
		sbx_qcow2_store_lock_remove(self->dir, data->id, fd);
		g_prefix_error(&error, "volume '%s': ", data->id);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	close(fd);
	g_task_return_boolean(task, TRUE);
}

static void
clone_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxQcow2Backend *self = source;
	TaskData *data = task_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxVolumeInfo) snap = NULL;
	g_autoptr(SbxVolumeInfo) info = sbx_volume_info_new(data->id, SBX_VOLUME_KIND_VOLUME);
	g_autofree gchar *image = sbx_qcow2_store_path(self->dir, data->id, ".qcow2");
	g_autofree gchar *backing = g_strconcat(data->other_id, ".qcow2", NULL);
	g_autofree gchar *size = NULL;
	gint snap_fd;
	gint fd;

	snap = load_kind(self, data->other_id, SBX_VOLUME_KIND_SNAPSHOT, &error);
	if (snap == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	if (data->capacity != 0 && data->capacity < snap->capacity) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
					"volume '%s': capacity %" G_GUINT64_FORMAT
					" is smaller than snapshot '%s' (%" G_GUINT64_FORMAT ")",
					data->id, data->capacity, snap->id, snap->capacity);
		return;
	}
	if (data->capacity != 0 && !check_capacity(data->capacity, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	/* shared: keeps delete_snapshot away until the overlay is recorded */
	snap_fd = sbx_qcow2_store_lock(self->dir, snap->id, LOCK_SH, FALSE, &error);
	if (snap_fd < 0) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	fd = reserve_id(self, data->id, &error);
	if (fd < 0) {
		close(snap_fd);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	info->capacity = data->capacity != 0 ? round_capacity(data->capacity) : snap->capacity;
	info->parent = g_strdup(snap->id);
	size = g_strdup_printf("%" G_GUINT64_FORMAT, info->capacity);
	/* relative backing name: found next to the overlay, whatever the cwd */
	if (!run_qemu_img(self, cancellable, &error, "create", "-q", "-f", "qcow2", "-b", backing,
			  "-F", "qcow2", image, size, NULL) ||
	    !finish_new_image(self, info, 0600, &error)) {
		remove_files(self, data->id);
		sbx_qcow2_store_lock_remove(self->dir, data->id, fd);
		close(snap_fd);
		g_prefix_error(&error, "volume '%s': ", data->id);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	close(fd);
	close(snap_fd);
	g_task_return_boolean(task, TRUE);
}

static void
snapshot_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxQcow2Backend *self = source;
	TaskData *data = task_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxVolumeInfo) vol = NULL;
	g_autoptr(SbxVolumeInfo) info = NULL;
	g_autofree gchar *src = sbx_qcow2_store_path(self->dir, data->id, ".qcow2");
	g_autofree gchar *image = sbx_qcow2_store_path(self->dir, data->other_id, ".qcow2");
	gint vol_fd;
	gint fd;

	vol = load_kind(self, data->id, SBX_VOLUME_KIND_VOLUME, &error);
	if (vol == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	/* shared: readers may stay, a writer would make the copy inconsistent */
	vol_fd = sbx_qcow2_store_lock(self->dir, data->id, LOCK_SH, FALSE, &error);
	if (vol_fd < 0) {
		g_prefix_error(&error, "cannot snapshot: ");
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	fd = reserve_id(self, data->other_id, &error);
	if (fd < 0) {
		close(vol_fd);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	info = sbx_volume_info_new(data->other_id, SBX_VOLUME_KIND_SNAPSHOT);
	info->capacity = vol->capacity;
	info->parent = g_strdup(vol->id);
	/* a flattened, standalone copy: the snapshot never depends on the
	 * volume (or its backing chain), so either can be deleted first */
	if (!run_qemu_img(self, cancellable, &error, "convert", "-q", "-f", "qcow2", "-O", "qcow2",
			  src, image, NULL) ||
	    !finish_new_image(self, info, 0400, &error)) {
		remove_files(self, data->other_id);
		sbx_qcow2_store_lock_remove(self->dir, data->other_id, fd);
		close(vol_fd);
		g_prefix_error(&error, "snapshot '%s' of '%s': ", data->other_id, data->id);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	close(fd);
	close(vol_fd);
	g_task_return_boolean(task, TRUE);
}

static void
delete_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxQcow2Backend *self = source;
	TaskData *data = task_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxVolumeInfo) vol = NULL;
	g_autofree gchar *image = sbx_qcow2_store_path(self->dir, data->id, ".qcow2");
	gint fd;

	vol = load_kind(self, data->id, SBX_VOLUME_KIND_VOLUME, &error);
	if (vol == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	fd = sbx_qcow2_store_lock(self->dir, data->id, LOCK_EX, FALSE, &error);
	if (fd < 0) {
		g_prefix_error(&error, "cannot delete: ");
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	remove_files(self, data->id);
	sbx_qcow2_store_lock_remove(self->dir, data->id, fd);
	g_task_return_boolean(task, TRUE);
}

static gboolean
has_dependents(SbxQcow2Backend *self, const gchar *snapshot_id, gchar **first, GError **error)
{
	g_autoptr(GPtrArray) infos = sbx_qcow2_store_meta_list(self->dir, error);

	if (infos == NULL)
		return TRUE;
	for (guint i = 0; i < infos->len; i++) {
		SbxVolumeInfo *info = g_ptr_array_index(infos, i);
		if (info->kind == SBX_VOLUME_KIND_VOLUME &&
		    g_strcmp0(info->parent, snapshot_id) == 0) {
			*first = g_strdup(info->id);
			return TRUE;
		}
	}
	return FALSE;
}

static void
delete_snapshot_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxQcow2Backend *self = source;
	TaskData *data = task_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxVolumeInfo) snap = NULL;
	g_autofree gchar *dependent = NULL;
	gint fd;

	snap = load_kind(self, data->id, SBX_VOLUME_KIND_SNAPSHOT, &error);
	if (snap == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	/* exclusive: no clone of it is being made right now */
	fd = sbx_qcow2_store_lock(self->dir, data->id, LOCK_EX, FALSE, &error);
	if (fd < 0) {
		g_prefix_error(&error, "cannot delete snapshot: ");
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	if (has_dependents(self, data->id, &dependent, &error)) {
		close(fd);
		if (error != NULL) {
			g_task_return_error(task, g_steal_pointer(&error));
			return;
		}
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_BUSY,
					"snapshot '%s' has dependent volumes (e.g. '%s'); "
					"delete them first",
					data->id, dependent);
		return;
	}
	remove_files(self, data->id);
	sbx_qcow2_store_lock_remove(self->dir, data->id, fd);
	g_task_return_boolean(task, TRUE);
}

static void
resize_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxQcow2Backend *self = source;
	TaskData *data = task_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxVolumeInfo) vol = NULL;
	g_autofree gchar *image = sbx_qcow2_store_path(self->dir, data->id, ".qcow2");
	g_autofree gchar *size = NULL;
	guint64 capacity;
	gint fd;

	vol = load_kind(self, data->id, SBX_VOLUME_KIND_VOLUME, &error);
	if (vol == NULL || !check_capacity(data->capacity, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	capacity = round_capacity(data->capacity);
	if (capacity < vol->capacity) {
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
					"volume '%s': cannot shrink from %" G_GUINT64_FORMAT
					" to %" G_GUINT64_FORMAT " bytes",
					data->id, vol->capacity, data->capacity);
		return;
	}
	if (capacity == vol->capacity) {
		g_task_return_boolean(task, TRUE);
		return;
	}
	fd = sbx_qcow2_store_lock(self->dir, data->id, LOCK_EX, FALSE, &error);
	if (fd < 0) {
		g_prefix_error(&error, "cannot resize: ");
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	size = g_strdup_printf("%" G_GUINT64_FORMAT, capacity);
	if (!run_qemu_img(self, cancellable, &error, "resize", "-q", "-f", "qcow2", image, size,
			  NULL)) {
		close(fd);
		g_prefix_error(&error, "volume '%s': ", data->id);
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_mutex_lock(&self->meta_lock);
	g_clear_pointer(&vol, sbx_volume_info_free);
	vol = sbx_qcow2_store_meta_load(self->dir, data->id, &error);
	if (vol != NULL) {
		vol->capacity = capacity;
		sbx_qcow2_store_meta_save(self->dir, vol, &error);
	}
	g_mutex_unlock(&self->meta_lock);
	close(fd);
	if (error != NULL)
		g_task_return_error(task, g_steal_pointer(&error));
	else
		g_task_return_boolean(task, TRUE);
}

static void
info_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxQcow2Backend *self = source;
	TaskData *data = task_data;
	GError *error = NULL;
	SbxVolumeInfo *info;

	if (!check_id(data->id, &error)) {
		g_task_return_error(task, error);
		return;
	}
	info = sbx_qcow2_store_meta_load(self->dir, data->id, &error);
	if (info == NULL) {
		g_task_return_error(task, error);
		return;
	}
	info_measure(self, info);
	g_task_return_pointer(task, info, (GDestroyNotify)sbx_volume_info_free);
}

static void
list_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxQcow2Backend *self = source;
	GError *error = NULL;
	GPtrArray *infos = sbx_qcow2_store_meta_list(self->dir, &error);

	if (infos == NULL) {
		g_task_return_error(task, error);
		return;
	}
	for (guint i = 0; i < infos->len; i++)
		info_measure(self, g_ptr_array_index(infos, i));
	g_task_return_pointer(task, infos, (GDestroyNotify)g_ptr_array_unref);
}

static void
set_attributes_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxQcow2Backend *self = source;
	TaskData *data = task_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxVolumeInfo) info = NULL;
	GHashTableIter iter;
	gpointer key, value;

	if (!check_id(data->id, &error) || !sbx_volume_attributes_check(data->attributes, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	g_mutex_lock(&self->meta_lock);
	info = sbx_qcow2_store_meta_load(self->dir, data->id, &error);
	if (info != NULL) {
		g_hash_table_remove_all(info->attributes);
		g_hash_table_iter_init(&iter, data->attributes);
		while (g_hash_table_iter_next(&iter, &key, &value))
			g_hash_table_insert(info->attributes, g_strdup(key), g_strdup(value));
		sbx_qcow2_store_meta_save(self->dir, info, &error);
	}
	g_mutex_unlock(&self->meta_lock);
	if (error != NULL)
		g_task_return_error(task, g_steal_pointer(&error));
	else
		g_task_return_boolean(task, TRUE);
}

static void
run_task(SbxQcow2Backend *self, TaskData *data, GTaskThreadFunc func, gpointer tag,
	 GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);

	g_task_set_source_tag(task, tag);
	g_task_set_task_data(task, data, (GDestroyNotify)task_data_free);
	g_task_run_in_thread(task, func);
}

static TaskData *
task_data_new(const gchar *id, const gchar *other_id, guint64 capacity)
{
	TaskData *data = g_new0(TaskData, 1);
	data->id = g_strdup(id);
	data->other_id = g_strdup(other_id);
	data->capacity = capacity;
	return data;
}

static void
qcow2_create_async(SbxVolumeBackend *backend, const gchar *id, guint64 capacity,
		   GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	run_task(SBX_QCOW2_BACKEND(backend), task_data_new(id, NULL, capacity), create_thread,
		 qcow2_create_async, cancellable, callback, user_data);
}

static void
qcow2_clone_async(SbxVolumeBackend *backend, const gchar *id, const gchar *snapshot_id,
		  guint64 capacity, GCancellable *cancellable, GAsyncReadyCallback callback,
		  gpointer user_data)
{
	run_task(SBX_QCOW2_BACKEND(backend), task_data_new(id, snapshot_id, capacity), clone_thread,
		 qcow2_clone_async, cancellable, callback, user_data);
}

static void
qcow2_delete_async(SbxVolumeBackend *backend, const gchar *id, GCancellable *cancellable,
		   GAsyncReadyCallback callback, gpointer user_data)
{
	run_task(SBX_QCOW2_BACKEND(backend), task_data_new(id, NULL, 0), delete_thread,
		 qcow2_delete_async, cancellable, callback, user_data);
}

static void
qcow2_resize_async(SbxVolumeBackend *backend, const gchar *id, guint64 capacity,
		   GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	run_task(SBX_QCOW2_BACKEND(backend), task_data_new(id, NULL, capacity), resize_thread,
		 qcow2_resize_async, cancellable, callback, user_data);
}

static void
qcow2_snapshot_async(SbxVolumeBackend *backend, const gchar *id, const gchar *snapshot_id,
		     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	run_task(SBX_QCOW2_BACKEND(backend), task_data_new(id, snapshot_id, 0), snapshot_thread,
		 qcow2_snapshot_async, cancellable, callback, user_data);
}

static void
qcow2_delete_snapshot_async(SbxVolumeBackend *backend, const gchar *snapshot_id,
			    GCancellable *cancellable, GAsyncReadyCallback callback,
			    gpointer user_data)
{
	run_task(SBX_QCOW2_BACKEND(backend), task_data_new(snapshot_id, NULL, 0),
		 delete_snapshot_thread, qcow2_delete_snapshot_async, cancellable, callback,
		 user_data);
}

static void
qcow2_get_info_async(SbxVolumeBackend *backend, const gchar *id, GCancellable *cancellable,
		     GAsyncReadyCallback callback, gpointer user_data)
{
	run_task(SBX_QCOW2_BACKEND(backend), task_data_new(id, NULL, 0), info_thread,
		 qcow2_get_info_async, cancellable, callback, user_data);
}

static void
qcow2_list_async(SbxVolumeBackend *backend, GCancellable *cancellable, GAsyncReadyCallback callback,
		 gpointer user_data)
{
	run_task(SBX_QCOW2_BACKEND(backend), task_data_new(NULL, NULL, 0), list_thread,
		 qcow2_list_async, cancellable, callback, user_data);
}

static void
qcow2_set_attributes_async(SbxVolumeBackend *backend, const gchar *id, GHashTable *attributes,
			   GCancellable *cancellable, GAsyncReadyCallback callback,
			   gpointer user_data)
{
	TaskData *data = task_data_new(id, NULL, 0);
	GHashTableIter iter;
	gpointer key, value;

	/* a copy: the caller's table may change while the thread runs */
	data->attributes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (attributes != NULL) {
		g_hash_table_iter_init(&iter, attributes);
		while (g_hash_table_iter_next(&iter, &key, &value))
			g_hash_table_insert(data->attributes, g_strdup(key), g_strdup(value));
	}
	run_task(SBX_QCOW2_BACKEND(backend), data, set_attributes_thread,
		 qcow2_set_attributes_async, cancellable, callback, user_data);
}

/* local files only: an open, a stat and a non-blocking flock */
static SbxDiskSource *
qcow2_get_disk_source(SbxVolumeBackend *backend, const gchar *id, gboolean read_only,
		      GError **error)
{
	SbxQcow2Backend *self = SBX_QCOW2_BACKEND(backend);
	g_autofree gchar *json = NULL;
	g_autoptr(SbxVolumeInfo) info = NULL;
	SbxQcow2HeldLock lock = {-1, -1, NULL};
	SbxQcow2Held *held;
	SbxDiskSource *source;
	gint fd;

	if (!check_id(id, error))
		return NULL;
	json = sbx_qcow2_store_path(self->dir, id, ".json");
	if (!g_file_test(json, G_FILE_TEST_IS_REGULAR)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no volume '%s'", id);
		return NULL;
	}
	fd = sbx_qcow2_store_lock(self->dir, id, read_only ? LOCK_SH : LOCK_EX, FALSE, error);
	if (fd < 0)
		return NULL;
	lock.fd = fd;
	lock.snap_fd = -1;
	info = sbx_qcow2_store_meta_load(self->dir, id, error);
	if (info == NULL) {
		close(fd);
		return NULL;
	}
	if (info->kind != SBX_VOLUME_KIND_VOLUME) {
		close(fd);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "'%s' is a snapshot; make a volume from it to attach it", id);
		return NULL;
	}
	if (info->parent != NULL) {
		g_autoptr(GError) error_snap = NULL;
		lock.snap_fd =
		    sbx_qcow2_store_lock(self->dir, info->parent, LOCK_SH, FALSE, &error_snap);
		if (lock.snap_fd < 0)
			g_warning("qcow2: volume '%s': snapshot '%s': %s", id, info->parent,
				  error_snap->message);
		else
			lock.snap_id = g_strdup(info->parent);
	}
	held = g_hash_table_lookup(self->held, id);
	if (held == NULL) {
		held = g_new0(SbxQcow2Held, 1);
		held->rw = g_array_new(FALSE, FALSE, sizeof(SbxQcow2HeldLock));
		held->ro = g_array_new(FALSE, FALSE, sizeof(SbxQcow2HeldLock));
		g_array_set_clear_func(held->rw, (GDestroyNotify)held_lock_clear);
		g_array_set_clear_func(held->ro, (GDestroyNotify)held_lock_clear);
		g_hash_table_insert(self->held, g_strdup(id), held);
	}
	g_array_append_val(read_only ? held->ro : held->rw, lock);

	source = sbx_disk_source_new(SBX_DISK_SOURCE_FILE);
	source->path = sbx_qcow2_store_path(self->dir, id, ".qcow2");
	source->format = g_strdup("qcow2");
	source->read_only = read_only;
	return source;
}

/* libvirt's DAC driver hands a backing file to QEMU's user for an
 * attachment but (unlike the top image) never hands it back: once no
 * attached clone uses the snapshot, make it ours and read-only again */
static void
reclaim_snapshot(SbxQcow2Backend *self, const gchar *snap_id)
{
	g_autofree gchar *image = sbx_qcow2_store_path(self->dir, snap_id, ".qcow2");
	g_autoptr(GError) error = NULL;
	gint fd = sbx_qcow2_store_lock(self->dir, snap_id, LOCK_EX, FALSE, &error);
	struct stat st;

	/* busy: another clone of it is still attached */
	if (fd < 0)
		return;
	if (stat(image, &st) == 0 && (st.st_uid != getuid() || st.st_gid != getgid()) &&
	    chown(image, getuid(), getgid()) != 0)
		g_warning("qcow2: cannot take back %s: %s", image, g_strerror(errno));
	if (g_chmod(image, 0400) != 0)
		g_warning("qcow2: cannot chmod %s: %s", image, g_strerror(errno));
	close(fd);
}

static void
qcow2_release_disk_source(SbxVolumeBackend *backend, const gchar *id, gboolean read_only)
{
	SbxQcow2Backend *self = SBX_QCOW2_BACKEND(backend);
	SbxQcow2Held *held = id != NULL ? g_hash_table_lookup(self->held, id) : NULL;
	g_autofree gchar *snap_id = NULL;
	GArray *locks;

	if (held == NULL) {
		g_warning("qcow2: release of volume '%s', which holds no lock", id);
		return;
	}
	locks = read_only ? held->ro : held->rw;
	if (locks->len == 0) {
		g_warning("qcow2: release of a %s lock volume '%s' does not hold",
			  read_only ? "read-only" : "read-write", id);
		return;
	}
	snap_id = g_strdup(g_array_index(locks, SbxQcow2HeldLock, locks->len - 1).snap_id);
	g_array_set_size(locks, locks->len - 1);
	if (held->rw->len == 0 && held->ro->len == 0)
		g_hash_table_remove(self->held, id);
	if (snap_id != NULL)
		reclaim_snapshot(self, snap_id);
}

static gboolean
qcow2_configure(SbxVolumeBackend *backend, GKeyFile *config, const gchar *group, GError **error)
{
	SbxQcow2Backend *self = SBX_QCOW2_BACKEND(backend);
	g_autofree gchar *dir = g_key_file_get_string(config, group, "Directory", NULL);
	g_autofree gchar *qemu_img = g_key_file_get_string(config, group, "QemuImg", NULL);

	g_free(self->dir);
	self->dir = dir != NULL ? g_steal_pointer(&dir) : g_strdup(DEFAULT_DIRECTORY);
	g_free(self->qemu_img);
	self->qemu_img = qemu_img != NULL ? g_steal_pointer(&qemu_img) : g_strdup(DEFAULT_QEMU_IMG);
	return TRUE;
}

static void
sbx_qcow2_backend_finalize(GObject *object)
{
	SbxQcow2Backend *self = SBX_QCOW2_BACKEND(object);

	g_hash_table_unref(self->held);
	g_mutex_clear(&self->meta_lock);
	g_free(self->dir);
	g_free(self->qemu_img);
	G_OBJECT_CLASS(sbx_qcow2_backend_parent_class)->finalize(object);
}

static void
sbx_qcow2_backend_class_init(SbxQcow2BackendClass *klass)
{
	SbxVolumeBackendClass *backend_class = SBX_VOLUME_BACKEND_CLASS(klass);

	G_OBJECT_CLASS(klass)->finalize = sbx_qcow2_backend_finalize;
	backend_class->config_keys = qcow2_config_keys;
	backend_class->configure = qcow2_configure;
	backend_class->create_volume_async = qcow2_create_async;
	backend_class->delete_volume_async = qcow2_delete_async;
	backend_class->resize_volume_async = qcow2_resize_async;
	backend_class->snapshot_volume_async = qcow2_snapshot_async;
	backend_class->get_disk_source = qcow2_get_disk_source;
	backend_class->create_volume_from_snapshot_async = qcow2_clone_async;
	backend_class->delete_snapshot_async = qcow2_delete_snapshot_async;
	backend_class->get_info_async = qcow2_get_info_async;
	backend_class->list_volumes_async = qcow2_list_async;
	backend_class->set_attributes_async = qcow2_set_attributes_async;
	backend_class->release_disk_source = qcow2_release_disk_source;
}

static void
sbx_qcow2_backend_init(SbxQcow2Backend *self)
{
	g_mutex_init(&self->meta_lock);
	self->held =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)held_free);
	self->dir = g_strdup(DEFAULT_DIRECTORY);
	self->qemu_img = g_strdup(DEFAULT_QEMU_IMG);
}

SBX_PLUGIN_DEFINE(SBX_PLUGIN_KIND_VOLUME, "qcow2", sbx_qcow2_backend_get_type)
