/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "sbx-plugin.h"
#include "sbx-rbd-backend.h"
#include "sbx-rbd-conn.h"
#include "sbx-rbd-image.h"

#define DEFAULT_POOL "rbd"
#define DEFAULT_CLIENT_ID "admin"
#define DEFAULT_TIMEOUT_SEC 30

typedef struct {
	guint rw;
	guint ro;
} SbxRbdHeld;

struct _SbxRbdBackend {
	SbxVolumeBackend parent_instance;

	/* set by configure, read-only afterwards */
	SbxRbdSettings settings;

	/* serialises connecting (threads only; may wait for the timeout) and
	 * guards the last failure */
	GMutex connect_lock;
	GError *connect_error;
	gint64 connect_failed_at;
	/* guards conn, known and snap_hint; never held across a blocking call */
	GMutex state_lock;
	SbxRbdConn *conn;
	/* from the last connection, kept when it is dropped: attaching needs
	 * no live connection of ours, QEMU makes its own */
	gchar **monitors;
	gchar *key;
	GHashTable *known;     /* volume ids seen to exist, for get_disk_source */
	GHashTable *snap_hint; /* snapshot id -> image it is on */
	/* guards held: id -> SbxRbdHeld (attachments in this process) */
	GMutex held_lock;
	GHashTable *held;
};

G_DEFINE_FINAL_TYPE(SbxRbdBackend, sbx_rbd_backend, SBX_TYPE_VOLUME_BACKEND)

static const SbxConfigKey rbd_config_keys[] = {
    {"CephConf", SBX_CONFIG_PATH},
    {"Pool", SBX_CONFIG_STRING},
    {"ClientId", SBX_CONFIG_STRING},
    {"Keyring", SBX_CONFIG_PATH},
    {"MountTimeoutSec", SBX_CONFIG_UINT, 1, 3600},
    {NULL},
};

typedef enum {
	OP_CREATE,
	OP_CLONE,
	OP_SNAPSHOT,
	OP_DELETE,
	OP_DELETE_SNAPSHOT,
	OP_RESIZE,
	OP_INFO,
	OP_LIST,
	OP_SET_ATTRIBUTES,
} Op;

typedef struct {
	Op op;
	gchar *id;
	gchar *other_id;
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

static gboolean
check_capacity(guint64 capacity, GError **error)
{
	if (capacity == 0 || capacity > G_MAXINT64 / 2) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "invalid capacity %" G_GUINT64_FORMAT, capacity);
		return FALSE;
	}
	return TRUE;
}

/* the same sizes as qcow2: whole 512-byte sectors */
static guint64
round_capacity(guint64 capacity)
{
	return (capacity + 511) & ~(guint64)511;
}

/* a connected cluster, connecting first if needed (waits up to the timeout) */
static SbxRbdConn *
get_conn(SbxRbdBackend *self, GError **error)
{
	SbxRbdConn *conn = NULL;
	gint64 asked = g_get_monotonic_time();

	g_mutex_lock(&self->connect_lock);
	g_mutex_lock(&self->state_lock);
	if (self->conn != NULL)
		conn = sbx_rbd_conn_ref(self->conn);
	g_mutex_unlock(&self->state_lock);
	/* an attempt that failed while we waited for it is our answer too:
	 * queued calls to a dead cluster fail together, not one timeout each */
	if (conn == NULL && self->connect_error != NULL && self->connect_failed_at >= asked) {
		g_propagate_error(error, g_error_copy(self->connect_error));
	} else if (conn == NULL) {
		g_autoptr(GError) error_local = NULL;

		conn = sbx_rbd_conn_connect(&self->settings, &error_local);
		g_clear_error(&self->connect_error);
		if (conn != NULL) {
			g_mutex_lock(&self->state_lock);
			self->conn = sbx_rbd_conn_ref(conn);
			g_strfreev(self->monitors);
			self->monitors = g_strdupv(conn->monitors);
			g_free(self->key);
			self->key = g_strdup(conn->key);
			g_mutex_unlock(&self->state_lock);
		} else {
			self->connect_error = g_error_copy(error_local);
			self->connect_failed_at = g_get_monotonic_time();
			g_propagate_error(error, g_steal_pointer(&error_local));
		}
	}
	g_mutex_unlock(&self->connect_lock);
	return conn;
}

/* after an error that says the cluster went away: reconnect next time */
static void
check_conn_error(SbxRbdBackend *self, SbxRbdConn *conn, const GError *error)
{
	SbxRbdConn *old = NULL;

	if (error == NULL || (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) &&
			      !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED)))
		return;
	g_mutex_lock(&self->state_lock);
	if (self->conn == conn)
		old = g_steal_pointer(&self->conn);
	g_mutex_unlock(&self->state_lock);
	if (old != NULL)
		sbx_rbd_conn_unref(old);
}

static void
remember(SbxRbdBackend *self, const gchar *id, gboolean exists)
{
	g_mutex_lock(&self->state_lock);
	if (exists)
		g_hash_table_add(self->known, g_strdup(id));
	else
		g_hash_table_remove(self->known, id);
	g_mutex_unlock(&self->state_lock);
}

static void
remember_snapshot(SbxRbdBackend *self, const gchar *snapshot_id, const gchar *image)
{
	g_mutex_lock(&self->state_lock);
	if (image != NULL)
		g_hash_table_insert(self->snap_hint, g_strdup(snapshot_id), g_strdup(image));
	else
		g_hash_table_remove(self->snap_hint, snapshot_id);
	g_mutex_unlock(&self->state_lock);
}

static gchar *
snapshot_hint(SbxRbdBackend *self, const gchar *snapshot_id)
{
	gchar *hint;
	g_mutex_lock(&self->state_lock);
	hint = g_strdup(g_hash_table_lookup(self->snap_hint, snapshot_id));
	g_mutex_unlock(&self->state_lock);
	return hint;
}

/* G_IO_ERROR_BUSY if this process attached @id (read-write only, or at all) */
static gboolean
check_not_attached(SbxRbdBackend *self, const gchar *id, gboolean writers_only, GError **error)
{
	SbxRbdHeld *held;
	gboolean busy;

	g_mutex_lock(&self->held_lock);
	held = g_hash_table_lookup(self->held, id);
	busy = held != NULL && (held->rw > 0 || (!writers_only && held->ro > 0));
	g_mutex_unlock(&self->held_lock);
	if (busy)
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "volume '%s' is in use%s", id,
			    writers_only ? " read-write" : "");
	return !busy;
}

/* reads volume @id, which must exist and not be deleted */
static SbxRbdImage *
read_volume(SbxRbdConn *conn, const gchar *id, GError **error)
{
	g_autoptr(SbxRbdImage) image = sbx_rbd_image_read(conn, id, error);

	if (image == NULL)
		return NULL;
	if (image->volume == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no volume '%s'", id);
		return NULL;
	}
	return g_steal_pointer(&image);
}

static gboolean
mark_new_volume(rbd_image_t image, const gchar *parent, GError **error)
{
	g_autofree gchar *created = g_strdup_printf("%" G_GINT64_FORMAT, g_get_real_time());

	if (parent != NULL && !sbx_rbd_image_meta_set(image, SBX_RBD_META_PARENT, parent, error))
		return FALSE;
	/* the marker last: an image without it is never listed as ours */
	return sbx_rbd_image_meta_set(image, SBX_RBD_META_CREATED, created, error) &&
	       sbx_rbd_image_meta_set(image, SBX_RBD_META_KIND, "volume", error);
}

static void
remove_image(SbxRbdConn *conn, const gchar *id)
{
	gint r = rbd_remove(conn->ioctx, id);
	if (r < 0 && r != -ENOENT)
		g_warning("rbd: cannot remove image '%s' after a failure: %s", id, g_strerror(-r));
}

static gboolean
do_create(SbxRbdBackend *self, SbxRbdConn *conn, TaskData *data, GError **error)
{
	rbd_image_options_t opts = NULL;
	rbd_image_t image = NULL;
	gint r;

	/* librbd 16.2 crashes on a NULL options handle */
	rbd_image_options_create(&opts);
	r = rbd_create4(conn->ioctx, data->id, round_capacity(data->capacity), opts);
	rbd_image_options_destroy(opts);
	if (r == -EEXIST) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "volume '%s' already exists",
			    data->id);
		return FALSE;
	}
	if (r < 0) {
		sbx_rbd_conn_set_error(error, r, "cannot create volume '%s'", data->id);
		return FALSE;
	}
	if (!sbx_rbd_image_open(conn, data->id, FALSE, &image, error)) {
		remove_image(conn, data->id);
		return FALSE;
	}
	if (!mark_new_volume(image, NULL, error)) {
		rbd_close(image);
		remove_image(conn, data->id);
		return FALSE;
	}
	rbd_close(image);
	return TRUE;
}

static gboolean
do_clone(SbxRbdBackend *self, SbxRbdConn *conn, TaskData *data, GError **error)
{
	g_autofree gchar *hint = snapshot_hint(self, data->other_id);
	g_autoptr(SbxRbdImage) parent = NULL;
	rbd_image_options_t opts = NULL;
	rbd_image_t image = NULL;
	guint64 snap_size = 0;
	gint r;

	parent = sbx_rbd_image_find_snapshot(conn, data->other_id, hint, error);
	if (parent == NULL)
		return FALSE;
	for (guint i = 0; i < parent->snapshots->len; i++) {
		SbxVolumeInfo *snap = g_ptr_array_index(parent->snapshots, i);
		if (g_strcmp0(snap->id, data->other_id) == 0)
			snap_size = snap->capacity;
	}
	if (data->capacity != 0 && data->capacity < snap_size) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "volume '%s': capacity %" G_GUINT64_FORMAT
			    " is smaller than snapshot '%s' (%" G_GUINT64_FORMAT ")",
			    data->id, data->capacity, data->other_id, snap_size);
		return FALSE;
	}
	if (data->capacity != 0 && !check_capacity(data->capacity, error))
		return FALSE;
	rbd_image_options_create(&opts);
	r = rbd_clone3(conn->ioctx, parent->name, data->other_id, conn->ioctx, data->id, opts);
	rbd_image_options_destroy(opts);
	if (r == -EEXIST) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "volume '%s' already exists",
			    data->id);
		return FALSE;
	}
	if (r < 0) {
		sbx_rbd_conn_set_error(error, r, "cannot clone snapshot '%s' into volume '%s'",
				       data->other_id, data->id);
		return FALSE;
	}
	if (!sbx_rbd_image_open(conn, data->id, FALSE, &image, error)) {
		remove_image(conn, data->id);
		return FALSE;
	}
	if (data->capacity != 0 && round_capacity(data->capacity) > snap_size) {
		r = rbd_resize2(image, round_capacity(data->capacity), false, NULL, NULL);
		if (r < 0) {
			sbx_rbd_conn_set_error(error, r, "cannot grow volume '%s'", data->id);
			rbd_close(image);
			remove_image(conn, data->id);
			return FALSE;
		}
	}
	if (!mark_new_volume(image, data->other_id, error)) {
		rbd_close(image);
		remove_image(conn, data->id);
		return FALSE;
	}
	rbd_close(image);
	remember_snapshot(self, data->other_id, parent->name);
	return TRUE;
}

static gboolean
do_snapshot(SbxRbdBackend *self, SbxRbdConn *conn, TaskData *data, GError **error)
{
	g_autoptr(SbxRbdImage) vol = NULL;
	g_autoptr(SbxRbdImage) other = NULL;
	g_autoptr(GError) error_local = NULL;
	g_autofree gchar *created_key = NULL;
	g_autofree gchar *created = NULL;
	rbd_image_t image = NULL;
	gint r;

	if (!check_id(data->other_id, error) || !check_not_attached(self, data->id, TRUE, error))
		return FALSE;
	vol = read_volume(conn, data->id, error);
	if (vol == NULL)
		return FALSE;
	/* one namespace for volumes and snapshots, as with files */
	other = sbx_rbd_image_read(conn, data->other_id, &error_local);
	if (other == NULL && g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)) {
		g_clear_error(&error_local);
		other = sbx_rbd_image_find_snapshot(conn, data->other_id, NULL, &error_local);
	}
	if (other != NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, "'%s' already exists",
			    data->other_id);
		return FALSE;
	}
	if (!g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}

	if (!sbx_rbd_image_open(conn, data->id, FALSE, &image, error))
		return FALSE;
	r = rbd_snap_create(image, data->other_id);
	if (r == 0)
		r = rbd_snap_protect(image, data->other_id);
	if (r < 0) {
		sbx_rbd_conn_set_error(error, r, "cannot snapshot volume '%s'", data->id);
		rbd_snap_remove(image, data->other_id);
		rbd_close(image);
		return FALSE;
	}
	created_key = g_strdup_printf("sandboxd.snap.%s.created", data->other_id);
	created = g_strdup_printf("%" G_GINT64_FORMAT, g_get_real_time());
	if (!sbx_rbd_image_meta_set(image, created_key, created, error)) {
		rbd_snap_unprotect(image, data->other_id);
		rbd_snap_remove(image, data->other_id);
		rbd_close(image);
		return FALSE;
	}
	rbd_close(image);
	remember_snapshot(self, data->other_id, data->id);
	return TRUE;
}

static gboolean
do_delete(SbxRbdBackend *self, SbxRbdConn *conn, TaskData *data, GError **error)
{
	g_autoptr(SbxRbdImage) vol = NULL;
	rbd_image_t image = NULL;
	gint r;

	if (!check_not_attached(self, data->id, FALSE, error))
		return FALSE;
	vol = read_volume(conn, data->id, error);
	if (vol == NULL)
		return FALSE;
	if (vol->rbd_snapshots == 0) {
		r = rbd_remove(conn->ioctx, data->id);
		if (r == -EBUSY) {
			/* watchers: a client elsewhere has it open */
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY,
				    "volume '%s' is open by another Ceph client", data->id);
			return FALSE;
		}
		if (r < 0 && r != -ENOENT) {
			sbx_rbd_conn_set_error(error, r, "cannot delete volume '%s'", data->id);
			return FALSE;
		}
		remember(self, data->id, FALSE);
		return TRUE;
	}
	/* its snapshots outlive it: hide the image until the last one goes */
	if (!sbx_rbd_image_open(conn, data->id, FALSE, &image, error))
		return FALSE;
	if (!sbx_rbd_image_meta_set(image, SBX_RBD_META_DELETED, "1", error)) {
		rbd_close(image);
		return FALSE;
	}
	rbd_close(image);
	remember(self, data->id, FALSE);
	return TRUE;
}

static gboolean
do_delete_snapshot(SbxRbdBackend *self, SbxRbdConn *conn, TaskData *data, GError **error)
{
	g_autofree gchar *hint = snapshot_hint(self, data->id);
	g_autofree gchar *prefix = g_strdup_printf("sandboxd.snap.%s.", data->id);
	g_autoptr(SbxRbdImage) owner = NULL;
	rbd_image_t image = NULL;
	gint r;

	if (!check_id(data->id, error))
		return FALSE;
	owner = sbx_rbd_image_find_snapshot(conn, data->id, hint, error);
	if (owner == NULL)
		return FALSE;
	if (!sbx_rbd_image_open(conn, owner->name, FALSE, &image, error))
		return FALSE;
	r = rbd_snap_unprotect(image, data->id);
	if (r == -EBUSY) {
		rbd_close(image);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY,
			    "snapshot '%s' has dependent volumes; delete them first", data->id);
		return FALSE;
	}
	if (r < 0 && r != -EINVAL) {
		/* EINVAL: not protected (any more) */
		rbd_close(image);
		sbx_rbd_conn_set_error(error, r, "cannot delete snapshot '%s'", data->id);
		return FALSE;
	}
	r = rbd_snap_remove(image, data->id);
	if (r < 0 && r != -ENOENT) {
		rbd_snap_protect(image, data->id);
		rbd_close(image);
		sbx_rbd_conn_set_error(error, r, "cannot delete snapshot '%s'", data->id);
		return FALSE;
	}
	if (!sbx_rbd_image_meta_remove_prefix(image, owner->meta, prefix, error)) {
		rbd_close(image);
		return FALSE;
	}
	rbd_close(image);
	remember_snapshot(self, data->id, NULL);
	/* the last snapshot of a deleted volume takes the image with it */
	if (owner->volume == NULL && owner->rbd_snapshots == 1) {
		r = rbd_remove(conn->ioctx, owner->name);
		if (r < 0 && r != -ENOENT)
			g_warning("rbd: cannot remove deleted volume '%s': %s", owner->name,
				  g_strerror(-r));
	}
	return TRUE;
}

static gboolean
do_resize(SbxRbdBackend *self, SbxRbdConn *conn, TaskData *data, GError **error)
{
	g_autoptr(SbxRbdImage) vol = NULL;
	guint64 capacity = round_capacity(data->capacity);
	rbd_image_t image = NULL;
	gint r;

	if (!check_capacity(data->capacity, error))
		return FALSE;
	vol = read_volume(conn, data->id, error);
	if (vol == NULL)
		return FALSE;
	if (capacity < vol->volume->capacity) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "volume '%s': cannot shrink from %" G_GUINT64_FORMAT
			    " to %" G_GUINT64_FORMAT " bytes",
			    data->id, vol->volume->capacity, data->capacity);
		return FALSE;
	}
	if (capacity == vol->volume->capacity)
		return TRUE;
	if (!check_not_attached(self, data->id, FALSE, error))
		return FALSE;
	if (!sbx_rbd_image_open(conn, data->id, FALSE, &image, error))
		return FALSE;
	r = rbd_resize2(image, capacity, false, NULL, NULL);
	rbd_close(image);
	if (r < 0) {
		sbx_rbd_conn_set_error(error, r, "cannot resize volume '%s'", data->id);
		return FALSE;
	}
	return TRUE;
}

static SbxVolumeInfo *
do_info(SbxRbdBackend *self, SbxRbdConn *conn, TaskData *data, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(SbxRbdImage) image = sbx_rbd_image_read(conn, data->id, &error_local);
	g_autofree gchar *hint = NULL;

	if (image != NULL && image->volume != NULL) {
		remember(self, data->id, TRUE);
		return g_steal_pointer(&image->volume);
	}
	if (image == NULL && !g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	g_clear_pointer(&image, sbx_rbd_image_free);
	hint = snapshot_hint(self, data->id);
	image = sbx_rbd_image_find_snapshot(conn, data->id, hint, error);
	if (image == NULL)
		return NULL;
	remember_snapshot(self, data->id, image->name);
	for (guint i = 0; i < image->snapshots->len; i++) {
		SbxVolumeInfo *snap = g_ptr_array_index(image->snapshots, i);
		if (g_strcmp0(snap->id, data->id) == 0)
			return g_ptr_array_steal_index(image->snapshots, i);
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no snapshot '%s'", data->id);
	return NULL;
}

static GPtrArray *
do_list(SbxRbdBackend *self, SbxRbdConn *conn, GError **error)
{
	g_autoptr(GPtrArray) infos =
	    g_ptr_array_new_with_free_func((GDestroyNotify)sbx_volume_info_free);
	g_auto(GStrv) names = sbx_rbd_image_list(conn, error);

	if (names == NULL)
		return NULL;
	for (guint i = 0; names[i] != NULL; i++) {
		g_autoptr(GError) error_local = NULL;
		g_autoptr(SbxRbdImage) image = sbx_rbd_image_read(conn, names[i], &error_local);

		if (image == NULL) {
			if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
				continue;
			g_propagate_error(error, g_steal_pointer(&error_local));
			return NULL;
		}
		if (image->volume != NULL) {
			remember(self, names[i], TRUE);
			g_ptr_array_add(infos, g_steal_pointer(&image->volume));
		}
		while (image->snapshots->len > 0) {
			SbxVolumeInfo *snap = g_ptr_array_steal_index(image->snapshots, 0);
			remember_snapshot(self, snap->id, names[i]);
			g_ptr_array_add(infos, snap);
		}
	}
	return g_steal_pointer(&infos);
}

static gboolean
do_set_attributes(SbxRbdBackend *self, SbxRbdConn *conn, TaskData *data, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	g_autoptr(SbxRbdImage) owner = NULL;
	g_autofree gchar *prefix = NULL;
	rbd_image_t image = NULL;
	gboolean ok;

	if (!check_id(data->id, error) || !sbx_volume_attributes_check(data->attributes, error))
		return FALSE;
	owner = read_volume(conn, data->id, &error_local);
	if (owner != NULL) {
		prefix = g_strdup(SBX_RBD_META_ATTR);
	} else if (g_error_matches(error_local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)) {
		g_autofree gchar *hint = snapshot_hint(self, data->id);
		owner = sbx_rbd_image_find_snapshot(conn, data->id, hint, error);
		if (owner == NULL)
			return FALSE;
		prefix = g_strdup_printf("sandboxd.snap.%s.attr.", data->id);
	} else {
		g_propagate_error(error, g_steal_pointer(&error_local));
		return FALSE;
	}
	if (!sbx_rbd_image_open(conn, owner->name, FALSE, &image, error))
		return FALSE;
	ok = sbx_rbd_image_meta_replace_attributes(image, owner->meta, prefix, data->attributes,
						   error);
	rbd_close(image);
	return ok;
}

static void
op_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	SbxRbdBackend *self = source;
	TaskData *data = task_data;
	Op op = data->op;
	g_autoptr(SbxRbdConn) conn = NULL;
	g_autoptr(GError) error = NULL;
	gpointer result = NULL;
	gboolean ok = FALSE;

	/* checks that need no cluster come first */
	if (op != OP_LIST && !check_id(data->id, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	if ((op == OP_CREATE || op == OP_RESIZE) && !check_capacity(data->capacity, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	if (op == OP_CLONE && !check_id(data->other_id, &error)) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	conn = get_conn(self, &error);
	if (conn == NULL) {
		g_task_return_error(task, g_steal_pointer(&error));
		return;
	}
	switch (op) {
	case OP_CREATE:
		ok = do_create(self, conn, data, &error);
		if (ok)
			remember(self, data->id, TRUE);
		break;
	case OP_CLONE:
		ok = do_clone(self, conn, data, &error);
		if (ok)
			remember(self, data->id, TRUE);
		break;
	case OP_SNAPSHOT:
		ok = do_snapshot(self, conn, data, &error);
		break;
	case OP_DELETE:
		ok = do_delete(self, conn, data, &error);
		break;
	case OP_DELETE_SNAPSHOT:
		ok = do_delete_snapshot(self, conn, data, &error);
		break;
	case OP_RESIZE:
		ok = do_resize(self, conn, data, &error);
		break;
	case OP_INFO:
		result = do_info(self, conn, data, &error);
		break;
	case OP_LIST:
		result = do_list(self, conn, &error);
		break;
	case OP_SET_ATTRIBUTES:
		ok = do_set_attributes(self, conn, data, &error);
		break;
	default:
		g_assert_not_reached();
	}
	if (error != NULL) {
		check_conn_error(self, conn, error);
		/* librbd only says "Connection timed out" */
		if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
			g_prefix_error(&error, "the Ceph cluster did not answer within %u s: ",
				       self->settings.timeout_sec);
		g_task_return_error(task, g_steal_pointer(&error));
	} else if (op == OP_INFO) {
		g_task_return_pointer(task, result, (GDestroyNotify)sbx_volume_info_free);
	} else if (op == OP_LIST) {
		g_task_return_pointer(task, result, (GDestroyNotify)g_ptr_array_unref);
	} else {
		g_task_return_boolean(task, ok);
	}
}

static void
run_op(SbxRbdBackend *self, Op op, const gchar *id, const gchar *other_id, guint64 capacity,
       GHashTable *attributes, gpointer tag, GCancellable *cancellable,
       GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(self, cancellable, callback, user_data);
	TaskData *data = g_new0(TaskData, 1);

	data->op = op;
	data->id = g_strdup(id);
	data->other_id = g_strdup(other_id);
	data->capacity = capacity;
	if (attributes != NULL) {
		GHashTableIter iter;
		gpointer key, value;

		/* a copy: the caller's table may change while the thread runs */
		data->attributes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		g_hash_table_iter_init(&iter, attributes);
		while (g_hash_table_iter_next(&iter, &key, &value))
			g_hash_table_insert(data->attributes, g_strdup(key), g_strdup(value));
	}
	g_task_set_source_tag(task, tag);
	g_task_set_task_data(task, data, (GDestroyNotify)task_data_free);
	g_task_run_in_thread(task, op_thread);
}

static void
rbd_create_async(SbxVolumeBackend *backend, const gchar *id, guint64 capacity,
		 GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	run_op(SBX_RBD_BACKEND(backend), OP_CREATE, id, NULL, capacity, NULL, rbd_create_async,
	       cancellable, callback, user_data);
}

static void
rbd_clone_async(SbxVolumeBackend *backend, const gchar *id, const gchar *snapshot_id,
		guint64 capacity, GCancellable *cancellable, GAsyncReadyCallback callback,
		gpointer user_data)
{
	run_op(SBX_RBD_BACKEND(backend), OP_CLONE, id, snapshot_id, capacity, NULL, rbd_clone_async,
	       cancellable, callback, user_data);
}

static void
rbd_snapshot_async(SbxVolumeBackend *backend, const gchar *id, const gchar *snapshot_id,
		   GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	run_op(SBX_RBD_BACKEND(backend), OP_SNAPSHOT, id, snapshot_id, 0, NULL, rbd_snapshot_async,
	       cancellable, callback, user_data);
}

static void
rbd_delete_async(SbxVolumeBackend *backend, const gchar *id, GCancellable *cancellable,
		 GAsyncReadyCallback callback, gpointer user_data)
{
	run_op(SBX_RBD_BACKEND(backend), OP_DELETE, id, NULL, 0, NULL, rbd_delete_async,
	       cancellable, callback, user_data);
}

static void
rbd_delete_snapshot_async(SbxVolumeBackend *backend, const gchar *snapshot_id,
			  GCancellable *cancellable, GAsyncReadyCallback callback,
			  gpointer user_data)
{
	run_op(SBX_RBD_BACKEND(backend), OP_DELETE_SNAPSHOT, snapshot_id, NULL, 0, NULL,
	       rbd_delete_snapshot_async, cancellable, callback, user_data);
}

static void
rbd_resize_async(SbxVolumeBackend *backend, const gchar *id, guint64 capacity,
		 GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	run_op(SBX_RBD_BACKEND(backend), OP_RESIZE, id, NULL, capacity, NULL, rbd_resize_async,
	       cancellable, callback, user_data);
}

static void
rbd_get_info_async(SbxVolumeBackend *backend, const gchar *id, GCancellable *cancellable,
		   GAsyncReadyCallback callback, gpointer user_data)
{
	run_op(SBX_RBD_BACKEND(backend), OP_INFO, id, NULL, 0, NULL, rbd_get_info_async,
	       cancellable, callback, user_data);
}

static void
rbd_list_async(SbxVolumeBackend *backend, GCancellable *cancellable, GAsyncReadyCallback callback,
	       gpointer user_data)
{
	run_op(SBX_RBD_BACKEND(backend), OP_LIST, NULL, NULL, 0, NULL, rbd_list_async, cancellable,
	       callback, user_data);
}

static void
rbd_set_attributes_async(SbxVolumeBackend *backend, const gchar *id, GHashTable *attributes,
			 GCancellable *cancellable, GAsyncReadyCallback callback,
			 gpointer user_data)
{
	g_autoptr(GHashTable) empty = NULL;

	if (attributes == NULL)
		attributes = empty = g_hash_table_new(g_str_hash, g_str_equal);
	run_op(SBX_RBD_BACKEND(backend), OP_SET_ATTRIBUTES, id, NULL, 0, attributes,
	       rbd_set_attributes_async, cancellable, callback, user_data);
}

/* memory only: the volumes and the connection the threads found */
static SbxDiskSource *
rbd_get_disk_source(SbxVolumeBackend *backend, const gchar *id, gboolean read_only, GError **error)
{
	SbxRbdBackend *self = SBX_RBD_BACKEND(backend);
	SbxDiskSource *source;
	SbxRbdHeld *held;
	gboolean known;

	if (!check_id(id, error))
		return NULL;
	source = sbx_disk_source_new(SBX_DISK_SOURCE_RBD);
	g_mutex_lock(&self->state_lock);
	known = g_hash_table_contains(self->known, id);
	if (known && self->monitors != NULL) {
		source->monitors = g_strdupv(self->monitors);
		source->auth_key = g_strdup(self->key);
	}
	g_mutex_unlock(&self->state_lock);
	if (!known) {
		sbx_disk_source_free(source);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no volume '%s' (not created, listed or looked up by this daemon)", id);
		return NULL;
	}
	if (source->monitors == NULL) {
		sbx_disk_source_free(source);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
			    "volume '%s': not connected to the Ceph cluster; look it up again", id);
		return NULL;
	}

	g_mutex_lock(&self->held_lock);
	held = g_hash_table_lookup(self->held, id);
	if (held != NULL && (held->rw > 0 || (!read_only && held->ro > 0))) {
		g_mutex_unlock(&self->held_lock);
		sbx_disk_source_free(source);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "volume '%s' is in use%s", id,
			    read_only ? " read-write" : "");
		return NULL;
	}
	if (held == NULL) {
		held = g_new0(SbxRbdHeld, 1);
		g_hash_table_insert(self->held, g_strdup(id), held);
	}
	if (read_only)
		held->ro++;
	else
		held->rw++;
	g_mutex_unlock(&self->held_lock);

	source->pool = g_strdup(self->settings.pool);
	source->image = g_strdup(id);
	source->auth_user = g_strdup(self->settings.client_id);
	source->read_only = read_only;
	return source;
}

static void
rbd_release_disk_source(SbxVolumeBackend *backend, const gchar *id, gboolean read_only)
{
	SbxRbdBackend *self = SBX_RBD_BACKEND(backend);
	SbxRbdHeld *held;

	g_mutex_lock(&self->held_lock);
	held = id != NULL ? g_hash_table_lookup(self->held, id) : NULL;
	if (held != NULL && read_only && held->ro > 0)
		held->ro--;
	else if (held != NULL && !read_only && held->rw > 0)
		held->rw--;
	else
		g_warning("rbd: release of a %s lock volume '%s' does not hold",
			  read_only ? "read-only" : "read-write", id);
	if (held != NULL && held->ro == 0 && held->rw == 0)
		g_hash_table_remove(self->held, id);
	g_mutex_unlock(&self->held_lock);
}

static gboolean
rbd_configure(SbxVolumeBackend *backend, GKeyFile *config, const gchar *group, GError **error)
{
	SbxRbdBackend *self = SBX_RBD_BACKEND(backend);
	SbxRbdSettings *s = &self->settings;
	g_autofree gchar *pool = g_key_file_get_string(config, group, "Pool", NULL);
	g_autofree gchar *client_id = g_key_file_get_string(config, group, "ClientId", NULL);
	g_autoptr(GError) error_local = NULL;
	guint64 timeout;

	g_free(s->ceph_conf);
	s->ceph_conf = g_key_file_get_string(config, group, "CephConf", NULL);
	g_free(s->keyring);
	s->keyring = g_key_file_get_string(config, group, "Keyring", NULL);
	g_free(s->pool);
	s->pool = pool != NULL ? g_steal_pointer(&pool) : g_strdup(DEFAULT_POOL);
	g_free(s->client_id);
	s->client_id =
	    client_id != NULL ? g_steal_pointer(&client_id) : g_strdup(DEFAULT_CLIENT_ID);
	if (g_str_has_prefix(s->client_id, "client.")) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "[%s] ClientId is the id without \"client.\" (e.g. admin)", group);
		return FALSE;
	}
	timeout = g_key_file_get_uint64(config, group, "MountTimeoutSec", &error_local);
	s->timeout_sec =
	    error_local == NULL && timeout > 0 ? (guint)MIN(timeout, 3600) : DEFAULT_TIMEOUT_SEC;
	return TRUE;
}

static void
sbx_rbd_backend_finalize(GObject *object)
{
	SbxRbdBackend *self = SBX_RBD_BACKEND(object);

	sbx_rbd_conn_unref(self->conn);
	g_clear_error(&self->connect_error);
	g_strfreev(self->monitors);
	g_free(self->key);
	g_hash_table_unref(self->known);
	g_hash_table_unref(self->snap_hint);
	g_hash_table_unref(self->held);
	g_mutex_clear(&self->connect_lock);
	g_mutex_clear(&self->state_lock);
	g_mutex_clear(&self->held_lock);
	g_free(self->settings.ceph_conf);
	g_free(self->settings.pool);
	g_free(self->settings.client_id);
	g_free(self->settings.keyring);
	G_OBJECT_CLASS(sbx_rbd_backend_parent_class)->finalize(object);
}

static void
sbx_rbd_backend_class_init(SbxRbdBackendClass *klass)
{
	SbxVolumeBackendClass *backend_class = SBX_VOLUME_BACKEND_CLASS(klass);

	G_OBJECT_CLASS(klass)->finalize = sbx_rbd_backend_finalize;
	backend_class->config_keys = rbd_config_keys;
	backend_class->configure = rbd_configure;
	backend_class->create_volume_async = rbd_create_async;
	backend_class->delete_volume_async = rbd_delete_async;
	backend_class->resize_volume_async = rbd_resize_async;
	backend_class->snapshot_volume_async = rbd_snapshot_async;
	backend_class->get_disk_source = rbd_get_disk_source;
	backend_class->create_volume_from_snapshot_async = rbd_clone_async;
	backend_class->delete_snapshot_async = rbd_delete_snapshot_async;
	backend_class->get_info_async = rbd_get_info_async;
	backend_class->list_volumes_async = rbd_list_async;
	backend_class->set_attributes_async = rbd_set_attributes_async;
	backend_class->release_disk_source = rbd_release_disk_source;
}

static void
sbx_rbd_backend_init(SbxRbdBackend *self)
{
	g_mutex_init(&self->connect_lock);
	g_mutex_init(&self->state_lock);
	g_mutex_init(&self->held_lock);
	self->known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	self->snap_hint = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->held = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->settings.pool = g_strdup(DEFAULT_POOL);
	self->settings.client_id = g_strdup(DEFAULT_CLIENT_ID);
	self->settings.timeout_sec = DEFAULT_TIMEOUT_SEC;
}

SBX_PLUGIN_DEFINE(SBX_PLUGIN_KIND_VOLUME, "rbd", sbx_rbd_backend_get_type)
