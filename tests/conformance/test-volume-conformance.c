/* one conformance suite for every volume backend plugin
 *
 *   test-volume-conformance --plugin PATH.so --config FILE [--backend-check CMD]
 *
 * loads the plugin like the daemon does (the SDK comes from this binary),
 * configures it from the [<name>] section of FILE and checks the behaviour
 * sbx-volume-backend.h promises. Data goes through QEMU's own block layer
 * (qemu-io) using exactly the disk source the plugin returns, so what a
 * guest would see is what is checked.
 *
 * Environment, for rbd (set by run-rbd-conformance.sh):
 *   SBX_CONFORMANCE_CEPH_DOWN  a command that stops the cluster; enables the
 *                              last test (cluster stopped -> clear error)
 *   SBX_CONFORMANCE_LEAK_CHECK a command printing what the backend stores
 *                              (one name a line); must print nothing at the end
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "sbx-plugin.h"
#include "sbx-volume-backend.h"

#define MIB (G_GUINT64_CONSTANT(1024) * 1024)

static const SbxPluginInfo *plugin_info;
static gchar *opt_plugin;
static gchar *opt_config;
static GKeyFile *config;
static guint serial;

typedef struct {
	SbxVolumeBackend *backend;
	GMainLoop *loop;
	GAsyncResult *res;
	GPtrArray *cleanup_volumes;   /* deleted at teardown, ignoring errors */
	GPtrArray *cleanup_snapshots; /* deleted after the volumes */
} Fixture;

static void
load_plugin(void)
{
	GModule *module = g_module_open(opt_plugin, G_MODULE_BIND_LOCAL);
	SbxPluginQueryFunc query = NULL;

	if (module == NULL)
		g_error("%s", g_module_error());
	g_assert_true(g_module_symbol(module, SBX_PLUGIN_QUERY_SYMBOL, (gpointer *)&query));
	plugin_info = query();
	g_assert_cmpuint(plugin_info->abi_version, ==, SBX_PLUGIN_ABI_VERSION);
	g_assert_cmpuint(plugin_info->struct_size, ==, sizeof(SbxPluginInfo));
	g_assert_cmpint(plugin_info->kind, ==, SBX_PLUGIN_KIND_VOLUME);
	g_module_make_resident(module);
}

/* a fresh instance, as a restarted daemon would make */
static SbxVolumeBackend *
new_backend(GKeyFile *keyfile)
{
	g_autoptr(GError) error = NULL;
	SbxVolumeBackend *backend = g_object_new(plugin_info->get_type(), NULL);

	g_assert_true(SBX_IS_VOLUME_BACKEND(backend));
	g_assert_true(sbx_volume_backend_configure(backend, keyfile, plugin_info->name, &error));
	g_assert_no_error(error);
	return backend;
}

static gchar *
new_id(const gchar *what)
{
	/* unique per run: a pool may be shared with an earlier, failed run */
	return g_strdup_printf("conf-%s-%d-%u", what, (gint)getpid(), ++serial);
}

static void
async_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Fixture *f = user_data;
	f->res = g_object_ref(res);
	g_main_loop_quit(f->loop);
}

static GAsyncResult *
wait_result(Fixture *f)
{
	g_main_loop_run(f->loop);
	return g_steal_pointer(&f->res);
}

static gboolean
do_create(Fixture *f, const gchar *id, guint64 capacity, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;
	sbx_volume_backend_create_volume_async(f->backend, id, capacity, NULL, async_cb, f);
	res = wait_result(f);
	return sbx_volume_backend_create_volume_finish(f->backend, res, error);
}

static gboolean
do_clone(Fixture *f, const gchar *id, const gchar *snapshot_id, guint64 capacity, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;
	sbx_volume_backend_create_volume_from_snapshot_async(f->backend, id, snapshot_id, capacity,
							     NULL, async_cb, f);
	res = wait_result(f);
	return sbx_volume_backend_create_volume_from_snapshot_finish(f->backend, res, error);
}

static gboolean
do_delete(Fixture *f, const gchar *id, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;
	sbx_volume_backend_delete_volume_async(f->backend, id, NULL, async_cb, f);
	res = wait_result(f);
	return sbx_volume_backend_delete_volume_finish(f->backend, res, error);
}

static gboolean
do_delete_snapshot(Fixture *f, const gchar *id, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;
	sbx_volume_backend_delete_snapshot_async(f->backend, id, NULL, async_cb, f);
	res = wait_result(f);
	return sbx_volume_backend_delete_snapshot_finish(f->backend, res, error);
}

static gboolean
do_resize(Fixture *f, const gchar *id, guint64 capacity, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;
	sbx_volume_backend_resize_volume_async(f->backend, id, capacity, NULL, async_cb, f);
	res = wait_result(f);
	return sbx_volume_backend_resize_volume_finish(f->backend, res, error);
}

static gboolean
do_snapshot(Fixture *f, const gchar *id, const gchar *snapshot_id, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;
	sbx_volume_backend_snapshot_volume_async(f->backend, id, snapshot_id, NULL, async_cb, f);
	res = wait_result(f);
	return sbx_volume_backend_snapshot_volume_finish(f->backend, res, error);
}

static SbxVolumeInfo *
do_info(Fixture *f, const gchar *id, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;
	sbx_volume_backend_get_info_async(f->backend, id, NULL, async_cb, f);
	res = wait_result(f);
	return sbx_volume_backend_get_info_finish(f->backend, res, error);
}

static GPtrArray *
do_list(Fixture *f, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;
	sbx_volume_backend_list_volumes_async(f->backend, NULL, async_cb, f);
	res = wait_result(f);
	return sbx_volume_backend_list_volumes_finish(f->backend, res, error);
}

static gboolean
do_set_attributes(Fixture *f, const gchar *id, GHashTable *attrs, GError **error)
{
	g_autoptr(GAsyncResult) res = NULL;
	sbx_volume_backend_set_attributes_async(f->backend, id, attrs, NULL, async_cb, f);
	res = wait_result(f);
	return sbx_volume_backend_set_attributes_finish(f->backend, res, error);
}

static void
create_ok(Fixture *f, const gchar *id, guint64 capacity)
{
	g_autoptr(GError) error = NULL;
	g_ptr_array_add(f->cleanup_volumes, g_strdup(id));
	g_assert_true(do_create(f, id, capacity, &error));
	g_assert_no_error(error);
}

static void
snapshot_ok(Fixture *f, const gchar *id, const gchar *snapshot_id)
{
	g_autoptr(GError) error = NULL;
	g_ptr_array_add(f->cleanup_snapshots, g_strdup(snapshot_id));
	g_assert_true(do_snapshot(f, id, snapshot_id, &error));
	g_assert_no_error(error);
}

static void
clone_ok(Fixture *f, const gchar *id, const gchar *snapshot_id, guint64 capacity)
{
	g_autoptr(GError) error = NULL;
	g_ptr_array_add(f->cleanup_volumes, g_strdup(id));
	g_assert_true(do_clone(f, id, snapshot_id, capacity, &error));
	g_assert_no_error(error);
}

static void
delete_ok(Fixture *f, const gchar *id)
{
	g_autoptr(GError) error = NULL;
	g_assert_true(do_delete(f, id, &error));
	g_assert_no_error(error);
}

static SbxVolumeInfo *
info_ok(Fixture *f, const gchar *id)
{
	g_autoptr(GError) error = NULL;
	SbxVolumeInfo *info = do_info(f, id, &error);
	g_assert_no_error(error);
	g_assert_nonnull(info);
	g_assert_cmpstr(info->id, ==, id);
	g_assert_nonnull(info->attributes);
	return info;
}

static SbxDiskSource *
source_ok(Fixture *f, const gchar *id, gboolean read_only)
{
	g_autoptr(GError) error = NULL;
	SbxDiskSource *source =
	    sbx_volume_backend_get_disk_source(f->backend, id, read_only, &error);
	g_assert_no_error(error);
	g_assert_nonnull(source);
	g_assert_cmpint(source->read_only, ==, read_only);
	if (source->kind == SBX_DISK_SOURCE_FILE) {
		g_assert_true(g_path_is_absolute(source->path));
		g_assert_true(g_file_test(source->path, G_FILE_TEST_IS_REGULAR));
		g_assert_true(g_strcmp0(source->format, "qcow2") == 0 ||
			      g_strcmp0(source->format, "raw") == 0);
	} else {
		g_assert_cmpint(source->kind, ==, SBX_DISK_SOURCE_RBD);
		g_assert_nonnull(source->pool);
		g_assert_cmpstr(source->image, ==, id);
		g_assert_nonnull(source->monitors);
		g_assert_nonnull(source->monitors[0]);
		g_assert_nonnull(strchr(source->monitors[0], ':'));
		g_assert_nonnull(source->auth_user);
		g_assert_false(g_str_has_prefix(source->auth_user, "client."));
		g_assert_nonnull(source->auth_key);
		g_assert_cmpuint(strlen(source->auth_key), >, 16);
	}
	return source;
}

/* runs qemu-io on @id through its disk source (taken and released here) */
static gboolean
qemu_io(Fixture *f, const gchar *id, const gchar *command, gchar **output)
{
	g_autoptr(SbxDiskSource) source = source_ok(f, id, FALSE);
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	g_autofree gchar *out = NULL;
	gint status = -1;

	g_ptr_array_add(argv, g_strdup("qemu-io"));
	if (source->kind == SBX_DISK_SOURCE_FILE) {
		g_ptr_array_add(argv, g_strdup("-f"));
		g_ptr_array_add(argv, g_strdup(source->format));
		g_ptr_array_add(argv, g_strdup(source->path));
	} else {
		/* what libvirt does with -blockdev: monitors, user and the key as
		 * a secret object; no ceph.conf, no keyring */
		g_autoptr(GString) opts = g_string_new("driver=raw,file.driver=rbd");
		g_string_append_printf(opts, ",file.pool=%s,file.image=%s", source->pool,
				       source->image);
		for (guint i = 0; source->monitors[i] != NULL; i++) {
			g_auto(GStrv) hp = g_strsplit(source->monitors[i], ":", 2);
			g_string_append_printf(opts, ",file.server.%u.host=%s", i, hp[0]);
			g_string_append_printf(opts, ",file.server.%u.port=%s", i, hp[1]);
		}
		g_string_append_printf(opts, ",file.user=%s,file.key-secret=sec0",
				       source->auth_user);
		g_string_append(opts, ",file.conf=/dev/null");
		g_ptr_array_add(argv, g_strdup("--object"));
		g_ptr_array_add(argv, g_strdup_printf("secret,id=sec0,format=base64,data=%s",
						      source->auth_key));
		g_ptr_array_add(argv, g_strdup("--image-opts"));
		g_ptr_array_add(argv, g_string_free(g_steal_pointer(&opts), FALSE));
	}
	g_ptr_array_add(argv, g_strdup("-c"));
	g_ptr_array_add(argv, g_strdup(command));
	g_ptr_array_add(argv, NULL);
	g_assert_true(g_spawn_sync(NULL, (gchar **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL,
				   NULL, &out, NULL, &status, &error));
	g_assert_no_error(error);
	sbx_volume_backend_release_disk_source(f->backend, id, FALSE);
	g_test_message("qemu-io %s: %s", command, out);
	if (output != NULL)
		*output = g_strdup(out);
	/* qemu-io exits 0 even when a pattern check fails: look at its output */
	return g_spawn_check_wait_status(status, NULL) &&
	       strstr(out, "Pattern verification failed") == NULL &&
	       strstr(out, "failed") == NULL && strstr(out, "error") == NULL;
}

static void
write_pattern(Fixture *f, const gchar *id, guint pattern, guint64 offset)
{
	g_autofree gchar *cmd =
	    g_strdup_printf("write -P 0x%02x %" G_GUINT64_FORMAT " 64k", pattern, offset);
	g_autofree gchar *out = NULL;
	g_assert_true(qemu_io(f, id, cmd, &out));
	g_assert_nonnull(strstr(out, "wrote 65536/65536 bytes"));
}

static gboolean
has_pattern(Fixture *f, const gchar *id, guint pattern, guint64 offset)
{
	g_autofree gchar *cmd =
	    g_strdup_printf("read -P 0x%02x %" G_GUINT64_FORMAT " 64k", pattern, offset);
	g_autofree gchar *out = NULL;
	return qemu_io(f, id, cmd, &out) && strstr(out, "read 65536/65536 bytes") != NULL;
}

static void
setup(Fixture *f, gconstpointer data)
{
	f->loop = g_main_loop_new(NULL, FALSE);
	f->backend = new_backend(config);
	f->cleanup_volumes = g_ptr_array_new_with_free_func(g_free);
	f->cleanup_snapshots = g_ptr_array_new_with_free_func(g_free);
}

static void
teardown(Fixture *f, gconstpointer data)
{
	/* best effort, newest first: clones before the volumes they came from */
	for (guint i = f->cleanup_volumes->len; i > 0; i--)
		do_delete(f, g_ptr_array_index(f->cleanup_volumes, i - 1), NULL);
	for (guint i = f->cleanup_snapshots->len; i > 0; i--)
		do_delete_snapshot(f, g_ptr_array_index(f->cleanup_snapshots, i - 1), NULL);
	g_ptr_array_unref(f->cleanup_volumes);
	g_ptr_array_unref(f->cleanup_snapshots);
	g_object_unref(f->backend);
	g_main_loop_unref(f->loop);
}

static void
test_create(Fixture *f, gconstpointer data)
{
	g_autofree gchar *id = new_id("create");
	g_autofree gchar *missing = new_id("missing");
	g_autoptr(SbxVolumeInfo) info = NULL;
	g_autoptr(GError) error = NULL;
	gint64 before = g_get_real_time();
	const gchar *bad_ids[] = {"", "a/b", "..", "../etc", "-rf", "a b", "a\nb", "ä", NULL};
	g_autofree gchar *long_id = g_strnfill(SBX_VOLUME_ID_MAX + 1, 'a');

	create_ok(f, id, 64 * MIB);
	info = info_ok(f, id);
	g_assert_cmpint(info->kind, ==, SBX_VOLUME_KIND_VOLUME);
	g_assert_cmpuint(info->capacity, ==, 64 * MIB);
	g_assert_null(info->parent);
	/* one second of slack: some backends store seconds */
	g_assert_cmpint(info->created, >=, before - G_USEC_PER_SEC);
	g_assert_cmpint(info->created, <=, g_get_real_time() + G_USEC_PER_SEC);
	g_assert_cmpuint(g_hash_table_size(info->attributes), ==, 0);
	/* thin: a new volume stores (almost) nothing */
	if (info->used != SBX_VOLUME_USED_UNKNOWN)
		g_assert_cmpuint(info->used, <, 64 * MIB);

	g_assert_false(do_create(f, id, 64 * MIB, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_test_message("duplicate: %s", error->message);
	g_clear_error(&error);

	for (guint i = 0; bad_ids[i] != NULL; i++) {
		g_assert_false(do_create(f, bad_ids[i], 64 * MIB, &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
		g_clear_error(&error);
	}
	g_assert_false(do_create(f, long_id, 64 * MIB, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_assert_false(do_create(f, missing, 0, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);

	g_assert_null(do_info(f, missing, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_false(do_delete(f, missing, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_false(do_resize(f, missing, 128 * MIB, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_null(sbx_volume_backend_get_disk_source(f->backend, missing, FALSE, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);

	delete_ok(f, id);
	g_assert_null(do_info(f, id, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);
	/* the id is free again */
	create_ok(f, id, 32 * MIB);
	delete_ok(f, id);
}

static void
test_data_resize(Fixture *f, gconstpointer data)
{
	g_autofree gchar *id = new_id("data");
	g_autoptr(SbxVolumeInfo) info = NULL;
	g_autoptr(GError) error = NULL;

	create_ok(f, id, 32 * MIB);
	g_assert_true(has_pattern(f, id, 0x00, 0));
	write_pattern(f, id, 0xab, 0);
	write_pattern(f, id, 0x5a, 32 * MIB - 64 * 1024);
	g_assert_true(has_pattern(f, id, 0xab, 0));
	g_assert_false(has_pattern(f, id, 0xcd, 0));
	/* nothing beyond the end */
	g_assert_false(has_pattern(f, id, 0x00, 48 * MIB));

	g_assert_true(do_resize(f, id, 64 * MIB, &error));
	g_assert_no_error(error);
	info = info_ok(f, id);
	g_assert_cmpuint(info->capacity, ==, 64 * MIB);
	g_assert_true(has_pattern(f, id, 0xab, 0));
	g_assert_true(has_pattern(f, id, 0x5a, 32 * MIB - 64 * 1024));
	g_assert_true(has_pattern(f, id, 0x00, 48 * MIB));
	write_pattern(f, id, 0x77, 64 * MIB - 64 * 1024);

	/* the same size is no change; smaller is refused and changes nothing */
	g_assert_true(do_resize(f, id, 64 * MIB, &error));
	g_assert_no_error(error);
	g_assert_false(do_resize(f, id, 16 * MIB, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_test_message("shrink: %s", error->message);
	g_clear_error(&error);
	g_clear_pointer(&info, sbx_volume_info_free);
	info = info_ok(f, id);
	g_assert_cmpuint(info->capacity, ==, 64 * MIB);
	g_assert_true(has_pattern(f, id, 0x77, 64 * MIB - 64 * 1024));
	if (info->used != SBX_VOLUME_USED_UNKNOWN)
		g_assert_cmpuint(info->used, >=, 3 * 64 * 1024);
	delete_ok(f, id);
}

static void
test_snapshot_clone(Fixture *f, gconstpointer data)
{
	g_autofree gchar *vol = new_id("origin");
	g_autofree gchar *snap = new_id("snap");
	g_autofree gchar *clone = new_id("clone");
	g_autofree gchar *big = new_id("bigclone");
	g_autofree gchar *small = new_id("smallclone");
	g_autoptr(SbxVolumeInfo) snap_info = NULL;
	g_autoptr(SbxVolumeInfo) clone_info = NULL;
	g_autoptr(SbxVolumeInfo) big_info = NULL;
	g_autoptr(GError) error = NULL;

	create_ok(f, vol, 32 * MIB);
	write_pattern(f, vol, 0xab, 0);
	snapshot_ok(f, vol, snap);
	snap_info = info_ok(f, snap);
	g_assert_cmpint(snap_info->kind, ==, SBX_VOLUME_KIND_SNAPSHOT);
	g_assert_cmpuint(snap_info->capacity, ==, 32 * MIB);
	g_assert_cmpstr(snap_info->parent, ==, vol);

	/* the original keeps changing after the snapshot */
	write_pattern(f, vol, 0xcd, 0);
	clone_ok(f, clone, snap, 0);
	clone_info = info_ok(f, clone);
	g_assert_cmpint(clone_info->kind, ==, SBX_VOLUME_KIND_VOLUME);
	g_assert_cmpuint(clone_info->capacity, ==, 32 * MIB);
	g_assert_cmpstr(clone_info->parent, ==, snap);
	g_assert_true(has_pattern(f, clone, 0xab, 0));
	g_assert_true(has_pattern(f, vol, 0xcd, 0));
	write_pattern(f, clone, 0xef, 0);
	g_assert_true(has_pattern(f, vol, 0xcd, 0));
	g_assert_true(has_pattern(f, clone, 0xef, 0));

	/* a snapshot is not a volume and the other way round */
	g_assert_null(sbx_volume_backend_get_disk_source(f->backend, snap, TRUE, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_false(do_delete(f, snap, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_false(do_delete_snapshot(f, vol, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_false(do_clone(f, small, vol, 0, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);
	g_assert_false(do_snapshot(f, vol, snap, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_clear_error(&error);
	g_assert_false(do_snapshot(f, vol, clone, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
	g_clear_error(&error);

	/* sizes: bigger grows, smaller is refused */
	g_assert_false(do_clone(f, small, snap, 16 * MIB, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	clone_ok(f, big, snap, 64 * MIB);
	big_info = info_ok(f, big);
	g_assert_cmpuint(big_info->capacity, ==, 64 * MIB);
	g_assert_true(has_pattern(f, big, 0xab, 0));
	g_assert_true(has_pattern(f, big, 0x00, 48 * MIB));

	/* the snapshot outlives the volume it was taken of */
	delete_ok(f, vol);
	g_clear_pointer(&snap_info, sbx_volume_info_free);
	snap_info = info_ok(f, snap);
	g_assert_cmpstr(snap_info->parent, ==, vol);
	g_assert_true(has_pattern(f, clone, 0xef, 0));
	g_assert_true(has_pattern(f, big, 0xab, 0));

	/* a snapshot with dependent volumes stays */
	g_assert_false(do_delete_snapshot(f, snap, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_BUSY);
	g_test_message("snapshot with clones: %s", error->message);
	g_clear_error(&error);
	delete_ok(f, clone);
	g_assert_false(do_delete_snapshot(f, snap, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_BUSY);
	g_clear_error(&error);
	delete_ok(f, big);
	g_assert_true(do_delete_snapshot(f, snap, &error));
	g_assert_no_error(error);
	g_assert_null(do_info(f, snap, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&error);
}

/* a snapshot of a clone: chains work and stay independent */
static void
test_snapshot_chain(Fixture *f, gconstpointer data)
{
	g_autofree gchar *vol = new_id("chain0");
	g_autofree gchar *snap1 = new_id("chainsnap1");
	g_autofree gchar *clone1 = new_id("chain1");
	g_autofree gchar *snap2 = new_id("chainsnap2");
	g_autofree gchar *clone2 = new_id("chain2");
	g_autoptr(GError) error = NULL;

	create_ok(f, vol, 32 * MIB);
	write_pattern(f, vol, 0x11, 0);
	snapshot_ok(f, vol, snap1);
	clone_ok(f, clone1, snap1, 0);
	write_pattern(f, clone1, 0x22, 1 * MIB);
	snapshot_ok(f, clone1, snap2);
	clone_ok(f, clone2, snap2, 0);
	g_assert_true(has_pattern(f, clone2, 0x11, 0));
	g_assert_true(has_pattern(f, clone2, 0x22, 1 * MIB));
	write_pattern(f, clone1, 0x33, 1 * MIB);
	g_assert_true(has_pattern(f, clone2, 0x22, 1 * MIB));

	/* tear down in an order each backend must accept */
	delete_ok(f, clone2);
	g_assert_true(do_delete_snapshot(f, snap2, &error));
	g_assert_no_error(error);
	delete_ok(f, clone1);
	delete_ok(f, vol);
	g_assert_true(do_delete_snapshot(f, snap1, &error));
	g_assert_no_error(error);
}

static void
test_locks(Fixture *f, gconstpointer data)
{
	g_autofree gchar *id = new_id("lock");
	g_autofree gchar *snap = new_id("locksnap");
	g_autoptr(SbxDiskSource) rw = NULL;
	g_autoptr(SbxDiskSource) ro1 = NULL;
	g_autoptr(SbxDiskSource) ro2 = NULL;
	g_autoptr(SbxDiskSource) again = NULL;
	g_autoptr(GError) error = NULL;

	create_ok(f, id, 32 * MIB);
	rw = source_ok(f, id, FALSE);

	/* one writer: no second writer, no reader, no changes underneath */
	g_assert_null(sbx_volume_backend_get_disk_source(f->backend, id, FALSE, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_BUSY);
	g_test_message("second writer: %s", error->message);
	g_clear_error(&error);
	g_assert_null(sbx_volume_backend_get_disk_source(f->backend, id, TRUE, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_BUSY);
	g_clear_error(&error);
	g_assert_false(do_delete(f, id, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_BUSY);
	g_test_message("delete while attached: %s", error->message);
	g_clear_error(&error);
	g_assert_false(do_resize(f, id, 64 * MIB, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_BUSY);
	g_clear_error(&error);
	g_assert_false(do_snapshot(f, id, snap, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_BUSY);
	g_clear_error(&error);
	sbx_volume_backend_release_disk_source(f->backend, id, FALSE);

	/* readers share, and keep writers out */
	ro1 = source_ok(f, id, TRUE);
	ro2 = source_ok(f, id, TRUE);
	g_assert_null(sbx_volume_backend_get_disk_source(f->backend, id, FALSE, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_BUSY);
	g_clear_error(&error);
	g_assert_false(do_delete(f, id, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_BUSY);
	g_clear_error(&error);
	/* reading does not stop a snapshot */
	snapshot_ok(f, id, snap);
	sbx_volume_backend_release_disk_source(f->backend, id, TRUE);
	g_assert_null(sbx_volume_backend_get_disk_source(f->backend, id, FALSE, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_BUSY);
	g_clear_error(&error);
	sbx_volume_backend_release_disk_source(f->backend, id, TRUE);

	/* all released: a writer again, then nothing held */
	again = source_ok(f, id, FALSE);
	sbx_volume_backend_release_disk_source(f->backend, id, FALSE);
	g_assert_true(do_resize(f, id, 64 * MIB, &error));
	g_assert_no_error(error);
	delete_ok(f, id);
	g_assert_true(do_delete_snapshot(f, snap, &error));
	g_assert_no_error(error);
}

static SbxVolumeInfo *
find_info(GPtrArray *infos, const gchar *id)
{
	for (guint i = 0; i < infos->len; i++) {
		SbxVolumeInfo *info = g_ptr_array_index(infos, i);
		if (g_strcmp0(info->id, id) == 0)
			return info;
	}
	g_error("%s is not listed", id);
}

static void
test_restart(Fixture *f, gconstpointer data)
{
	g_autofree gchar *vol = new_id("restart");
	g_autofree gchar *snap = new_id("restartsnap");
	g_autofree gchar *clone = new_id("restartclone");
	g_autoptr(GHashTable) attrs = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) bad = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) infos = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *long_value = g_strnfill(SBX_VOLUME_ATTRIBUTE_VALUE_MAX + 1, 'x');
	SbxVolumeInfo *info;

	create_ok(f, vol, 32 * MIB);
	write_pattern(f, vol, 0x42, 0);
	g_hash_table_insert(attrs, "name", "my data/with ünïcode, spaces = and: colons");
	g_hash_table_insert(attrs, "owner.uid", "1000");
	g_hash_table_insert(attrs, "label.team", "");
	g_assert_true(do_set_attributes(f, vol, attrs, &error));
	g_assert_no_error(error);
	snapshot_ok(f, vol, snap);
	clone_ok(f, clone, snap, 0);

	g_hash_table_insert(bad, "Bad Key", "x");
	g_assert_false(do_set_attributes(f, vol, bad, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);
	g_hash_table_remove_all(bad);
	g_hash_table_insert(bad, "big", long_value);
	g_assert_false(do_set_attributes(f, vol, bad, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);

	/* a new instance, as after a daemon restart */
	g_clear_object(&f->backend);
	f->backend = new_backend(config);
	infos = do_list(f, &error);
	g_assert_no_error(error);
	g_assert_nonnull(infos);
	info = find_info(infos, vol);
	g_assert_cmpint(info->kind, ==, SBX_VOLUME_KIND_VOLUME);
	g_assert_cmpuint(info->capacity, ==, 32 * MIB);
	g_assert_cmpuint(g_hash_table_size(info->attributes), ==, 3);
	g_assert_cmpstr(g_hash_table_lookup(info->attributes, "name"), ==,
			"my data/with ünïcode, spaces = and: colons");
	g_assert_cmpstr(g_hash_table_lookup(info->attributes, "owner.uid"), ==, "1000");
	g_assert_cmpstr(g_hash_table_lookup(info->attributes, "label.team"), ==, "");
	info = find_info(infos, snap);
	g_assert_cmpint(info->kind, ==, SBX_VOLUME_KIND_SNAPSHOT);
	g_assert_cmpstr(info->parent, ==, vol);
	info = find_info(infos, clone);
	g_assert_cmpint(info->kind, ==, SBX_VOLUME_KIND_VOLUME);
	g_assert_cmpstr(info->parent, ==, snap);
	g_assert_true(has_pattern(f, vol, 0x42, 0));
	g_assert_true(has_pattern(f, clone, 0x42, 0));

	/* replacing drops what is not given again */
	g_hash_table_remove_all(attrs);
	g_hash_table_insert(attrs, "name", "renamed");
	g_assert_true(do_set_attributes(f, vol, attrs, &error));
	g_assert_no_error(error);
	info = info_ok(f, vol);
	g_assert_cmpuint(g_hash_table_size(info->attributes), ==, 1);
	g_assert_cmpstr(g_hash_table_lookup(info->attributes, "name"), ==, "renamed");
	sbx_volume_info_free(info);

	delete_ok(f, clone);
	delete_ok(f, vol);
	g_assert_true(do_delete_snapshot(f, snap, &error));
	g_assert_no_error(error);
}

/* nothing left: neither in the list nor in the storage itself */
static void
test_no_leaks(Fixture *f, gconstpointer data)
{
	g_autoptr(GPtrArray) infos = do_list(f, NULL);
	const gchar *check = g_getenv("SBX_CONFORMANCE_LEAK_CHECK");

	g_assert_nonnull(infos);
	for (guint i = 0; i < infos->len; i++) {
		SbxVolumeInfo *info = g_ptr_array_index(infos, i);
		g_test_message("left over: %s", info->id);
		g_assert_false(g_str_has_prefix(info->id, "conf-"));
	}
	if (check != NULL) {
		g_autofree gchar *out = NULL;
		g_autoptr(GError) error = NULL;
		gint status = -1;

		g_assert_true(g_spawn_command_line_sync(check, &out, NULL, &status, &error));
		g_assert_no_error(error);
		g_assert_true(g_spawn_check_wait_status(status, NULL));
		g_test_message("%s: '%s'", check, out);
		g_assert_cmpstr(g_strstrip(out), ==, "");
	}
}

static guint many_done;

static void
many_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	*(GAsyncResult **)user_data = g_object_ref(res);
	many_done++;
}

static void
expect_timeout(Fixture *f, const gchar *what, gboolean ok, GError **error, gint64 begin)
{
	g_assert_false(ok);
	g_assert_error(*error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
	g_test_message("%s with the cluster down failed after %.1f s: %s", what,
		       (g_get_monotonic_time() - begin) / 1e6, (*error)->message);
	g_clear_error(error);
}

/* the storage gone: a clear error after the timeout, not a hang, both for an
 * instance that was connected and for a new one */
static void
test_storage_down(Fixture *f, gconstpointer data)
{
	const gchar *down = g_getenv("SBX_CONFORMANCE_CEPH_DOWN");
	g_autoptr(GKeyFile) keyfile = g_key_file_new();
	g_autofree gchar *before = new_id("before");
	g_autofree gchar *out = NULL;
	g_autoptr(SbxDiskSource) source = NULL;
	GAsyncResult *many[4] = {NULL};
	g_autofree gchar *id = new_id("down");
	g_autoptr(GPtrArray) infos = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *data_str = NULL;
	gint status = -1;
	gint64 begin;

	/* a short timeout, as the docs tell operators who want one */
	data_str = g_key_file_to_data(config, NULL, NULL);
	g_assert_true(g_key_file_load_from_data(keyfile, data_str, -1, 0, NULL));
	g_key_file_set_string(keyfile, plugin_info->name, "MountTimeoutSec", "5");
	g_clear_object(&f->backend);
	f->backend = new_backend(keyfile);
	/* connected, and a volume it knows */
	g_assert_true(do_create(f, before, 32 * MIB, &error));
	g_assert_no_error(error);
	infos = do_list(f, &error);
	g_assert_no_error(error);
	g_assert_nonnull(infos);

	/* stdout captured: it is not TAP */
	g_assert_true(g_spawn_command_line_sync(down, &out, NULL, &status, &error));
	g_assert_no_error(error);
	g_assert_true(g_spawn_check_wait_status(status, NULL));

	begin = g_get_monotonic_time();
	expect_timeout(f, "create (connected before)", do_create(f, id, 32 * MIB, &error), &error,
		       begin);
	begin = g_get_monotonic_time();
	expect_timeout(f, "info", do_info(f, before, &error) != NULL, &error, begin);
	begin = g_get_monotonic_time();
	expect_timeout(f, "delete", do_delete(f, before, &error), &error, begin);
	/* attaching needs no cluster round trip: memory only, never blocks */
	source = source_ok(f, before, FALSE);
	sbx_volume_backend_release_disk_source(f->backend, before, FALSE);

	/* a new instance, as a daemon started while the cluster is down */
	g_clear_object(&f->backend);
	f->backend = new_backend(keyfile);
	begin = g_get_monotonic_time();
	expect_timeout(f, "create (new instance)", do_create(f, id, 32 * MIB, &error), &error,
		       begin);
	begin = g_get_monotonic_time();
	expect_timeout(f, "list", do_list(f, &error) != NULL, &error, begin);

	/* calls queued behind one connection attempt all get an answer */
	begin = g_get_monotonic_time();
	for (guint i = 0; i < G_N_ELEMENTS(many); i++) {
		g_autofree gchar *many_id = new_id("many");
		sbx_volume_backend_create_volume_async(f->backend, many_id, 32 * MIB, NULL, many_cb,
						       &many[i]);
	}
	while (many_done < G_N_ELEMENTS(many))
		g_main_context_iteration(NULL, TRUE);
	for (guint i = 0; i < G_N_ELEMENTS(many); i++) {
		g_assert_false(
		    sbx_volume_backend_create_volume_finish(f->backend, many[i], &error));
		g_assert_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
		g_clear_error(&error);
		g_object_unref(many[i]);
	}
	g_test_message("%u concurrent creates with the cluster down all failed after %.1f s",
		       (guint)G_N_ELEMENTS(many), (g_get_monotonic_time() - begin) / 1e6);
}

int
main(int argc, char **argv)
{
	g_autoptr(GOptionContext) context = g_option_context_new("- volume backend conformance");
	g_autoptr(GError) error = NULL;
	const GOptionEntry entries[] = {
	    {"plugin", 0, 0, G_OPTION_ARG_FILENAME, &opt_plugin, "The plugin to test", "PATH"},
	    {"config", 0, 0, G_OPTION_ARG_FILENAME, &opt_config, "Its config file", "FILE"},
	    {NULL},
	};

	g_test_init(&argc, &argv, NULL);
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error))
		g_error("%s", error->message);
	if (opt_plugin == NULL || opt_config == NULL)
		g_error("--plugin and --config are required");
	load_plugin();
	config = g_key_file_new();
	if (!g_key_file_load_from_file(config, opt_config, G_KEY_FILE_NONE, &error))
		g_error("%s: %s", opt_config, error->message);

#define ADD(path, func) g_test_add(path, Fixture, NULL, setup, func, teardown)
	ADD("/volume/create", test_create);
	ADD("/volume/data-resize", test_data_resize);
	ADD("/volume/snapshot-clone", test_snapshot_clone);
	ADD("/volume/snapshot-chain", test_snapshot_chain);
	ADD("/volume/locks", test_locks);
	ADD("/volume/restart", test_restart);
	ADD("/volume/no-leaks", test_no_leaks);
	if (g_getenv("SBX_CONFORMANCE_CEPH_DOWN") != NULL)
		ADD("/volume/storage-down", test_storage_down);
#undef ADD
	return g_test_run();
}
