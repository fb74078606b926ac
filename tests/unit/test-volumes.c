/* volumes over D-Bus: the real sandboxd with the test hypervisor backend and the
 * qcow2 volume plugin on a private bus (no VM): bounds, names, attachments,
 * locks, restart
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "sbx-test-env.h"

#define WAIT_US (60 * G_USEC_PER_SEC)
#define MIB (G_GUINT64_CONSTANT(1) << 20)

typedef struct {
	SbxTestEnv *env;
	GDBusConnection *conn; /* env's */
	gchar *vol_dir;	       /* the qcow2 plugin's Directory */
} Fixture;

static gboolean
name_has_owner(Fixture *f)
{
	gboolean has = FALSE;
	return sbx_test_name_has_owner(f->conn, &has, NULL) && has;
}

static void
stop_daemon(Fixture *f)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_US;
	sbx_test_env_stop_daemon(f->env, WAIT_US / 1000);
	/* the name is released with the process */
	while (name_has_owner(f)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(20 * 1000);
	}
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *conf = NULL;
	g_autofree gchar *l1 = NULL;
	g_autofree gchar *l2 = NULL;

	f->env = sbx_test_env_new("volumes");
	f->conn = f->env->conn;
	f->env->plugin_dir = g_build_filename(f->env->tmpdir, "plugins", NULL);
	f->vol_dir = g_build_filename(f->env->tmpdir, "volumes", NULL);
	g_assert_cmpint(g_mkdir(f->env->plugin_dir, 0755), ==, 0);
	/* one plugin folder with both plugins */
	l1 = g_build_filename(f->env->plugin_dir, "libsbx-test.so", NULL);
	l2 = g_build_filename(f->env->plugin_dir, "libsbx-qcow2.so", NULL);
	g_assert_cmpint(symlink(TEST_PLUGIN, l1), ==, 0);
	g_assert_cmpint(symlink(QCOW2_PLUGIN, l2), ==, 0);
	conf = g_strdup_printf("[daemon]\nBackend=test\nMaxLifetimeSec=600\nStateDir=%s\n"
			       "[volumes]\nMinCapacityMiB=300\nMaxCapacityMiB=2048\n"
			       "[qcow2]\nDirectory=%s\n[test]\nStateDir=%s/vms\n",
			       f->env->state_dir, f->vol_dir, f->env->tmpdir);
	g_assert_true(sbx_test_env_write_config(f->env, conf, &error));
	sbx_test_env_run_daemon(f->env);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	g_clear_pointer(&f->env, sbx_test_env_free);
	g_free(f->vol_dir);
}

static GVariant *
call(Fixture *f, const gchar *path, const gchar *iface, const gchar *method, GVariant *params,
     const gchar *reply_type, GError **error)
{
	return sbx_test_call(f->conn, path, iface, method, params, reply_type, error);
}

static gchar *
create_volume(Fixture *f, const gchar *name, const gchar *options, GError **error)
{
	g_autoptr(GVariant) reply =
	    call(f, "/org/sandboxd/Manager1", "org.sandboxd.Manager1", "CreateVolume",
		 g_variant_new("(s@a{sv})", name, g_variant_new_parsed(options)), "(o)", error);
	gchar *path = NULL;
	if (reply != NULL)
		g_variant_get(reply, "(o)", &path);
	return path;
}

static gchar *
create_sandbox(Fixture *f, const gchar *options, GError **error)
{
	return sbx_test_create_sandbox(f->conn, options, error);
}

static GVariant *
get_prop(Fixture *f, const gchar *path, const gchar *name)
{
	return sbx_test_get_prop(f->conn, path, "org.sandboxd.Volume1", name);
}

static void
test_names_and_bounds(Fixture *f, gconstpointer data)
{
	const gchar *bad_names[] = {"/", "a/b", "..", ".hidden", "", "a b", "caf\xc3\xa9"};
	g_autofree gchar *long_name = g_strnfill(300, 'a');
	g_autofree gchar *path = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) cap = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(bad_names); i++) {
		g_autoptr(GError) e = NULL;
		g_autofree gchar *p = create_volume(f, bad_names[i], "@a{sv} {}", &e);
		g_assert_null(p);
		sbx_test_assert_remote_error(e, "org.sandboxd.Error.InvalidArgument", NULL);
	}
	{
		g_autoptr(GError) e = NULL;
		g_autofree gchar *p = create_volume(f, long_name, "@a{sv} {}", &e);
		g_assert_null(p);
		sbx_test_assert_remote_error(e, "org.sandboxd.Error.InvalidArgument", NULL);
	}
	{
		/* NUL cannot travel in a D-Bus string: the bus refuses it before us */
		g_autoptr(GError) e = NULL;
		g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
		    f->conn, "org.sandboxd", "/org/sandboxd/Manager1", "org.sandboxd.Manager1",
		    "GetVolume", g_variant_new("(s)", "a"), NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL,
		    &e);
		sbx_test_assert_remote_error(e, "org.sandboxd.Error.NotFound", NULL);
	}
	/* capacity outside [volumes] bounds, both ways, as t and as a string */
	{
		const gchar *bad[] = {"{'capacity': <uint64 1048576>}", "{'capacity': <'3GiB'>}",
				      "{'capacity': <'12 parsecs'>}", "{'backend': <'nope'>}",
				      "{'bogus': <1>}"};
		for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
			g_autoptr(GError) e = NULL;
			g_autofree gchar *p = create_volume(f, "ok", bad[i], &e);
			g_assert_null(p);
			sbx_test_assert_remote_error(e, "org.sandboxd.Error.InvalidArgument", NULL);
		}
	}
	path = create_volume(f, "ok", "{'capacity': <'512MiB'>, 'labels': <{'k': 'v'}>}", &error);
	g_assert_no_error(error);
	g_assert_true(g_str_has_prefix(path, "/org/sandboxd/Volume1/vol"));
	cap = get_prop(f, path, "Capacity");
	g_assert_cmpuint(g_variant_get_uint64(cap), ==, 512 * MIB);
	{
		/* duplicates refused */
		g_autoptr(GError) e = NULL;
		g_autofree gchar *p = create_volume(f, "ok", "@a{sv} {}", &e);
		g_assert_null(p);
		sbx_test_assert_remote_error(e, "org.sandboxd.Error.AlreadyExists", NULL);
	}
	{
		/* shrink refused, grow beyond the maximum refused, grow works */
		g_autoptr(GError) e1 = NULL;
		g_autoptr(GError) e2 = NULL;
		g_autoptr(GError) e3 = NULL;
		g_autoptr(GVariant) r1 = call(f, path, "org.sandboxd.Volume1", "Resize",
					      g_variant_new("(t)", 400 * MIB), NULL, &e1);
		g_autoptr(GVariant) r2 = call(f, path, "org.sandboxd.Volume1", "Resize",
					      g_variant_new("(t)", 4096 * MIB), NULL, &e2);
		g_autoptr(GVariant) r3 = call(f, path, "org.sandboxd.Volume1", "Resize",
					      g_variant_new("(t)", 1024 * MIB), NULL, &e3);
		g_autoptr(GVariant) c = NULL;
		sbx_test_assert_remote_error(e1, "org.sandboxd.Error.InvalidArgument", NULL);
		sbx_test_assert_remote_error(e2, "org.sandboxd.Error.InvalidArgument", NULL);
		g_assert_no_error(e3);
		c = get_prop(f, path, "Capacity");
		g_assert_cmpuint(g_variant_get_uint64(c), ==, 1024 * MIB);
	}
}

static void
test_attachments(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *vol = create_volume(f, "data", "@a{sv} {}", &error);
	g_autofree gchar *sb1 = NULL;
	g_autofree gchar *sb2 = NULL;
	g_autofree gchar *sb3 = NULL;
	g_autoptr(GVariant) attached = NULL;

	g_assert_no_error(error);
	/* bad mount paths never reach the lock */
	{
		const gchar *bad[] = {
		    "{'volumes': <{'/': <'data'>}>}",	    "{'volumes': <{'data': <'data'>}>}",
		    "{'volumes': <{'/a/../b': <'data'>}>}", "{'volumes': <{'/proc/x': <'data'>}>}",
		    "{'volumes': <{'/d': <'data:rx'>}>}",   "{'volumes': <{'/d': <'nosuch'>}>}"};
		for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
			g_autoptr(GError) e = NULL;
			g_autofree gchar *p = create_sandbox(f, bad[i], &e);
			g_assert_null(p);
			sbx_test_assert_remote_error(e,
						     i == G_N_ELEMENTS(bad) - 1
							 ? "org.sandboxd.Error.NotFound"
							 : "org.sandboxd.Error.InvalidArgument",
						     NULL);
		}
	}
	sb1 = create_sandbox(f, "{'timeout': <'5m'>, 'volumes': <{'/data': <'data'>}>}", &error);
	g_assert_no_error(error);
	attached = get_prop(f, vol, "AttachedTo");
	g_assert_cmpuint(g_variant_n_children(attached), ==, 1);
	g_assert_true(g_str_has_suffix(
	    sb1, g_variant_get_string(g_variant_get_child_value(attached, 0), NULL)));
	{
		/* a second read-write attachment, and a reader of a written volume, are refused */
		g_autoptr(GError) e1 = NULL;
		g_autoptr(GError) e2 = NULL;
		g_autofree gchar *p1 = create_sandbox(f, "{'volumes': <{'/data': <'data'>}>}", &e1);
		g_autofree gchar *p2 =
		    create_sandbox(f, "{'volumes': <{'/data': <'data:ro'>}>}", &e2);
		sbx_test_assert_remote_error(e1, "org.sandboxd.Error.VolumeAttached", NULL);
		sbx_test_assert_remote_error(e2, "org.sandboxd.Error.VolumeAttached", NULL);
	}
	{
		/* delete and resize refused while attached */
		g_autoptr(GError) e1 = NULL;
		g_autoptr(GError) e2 = NULL;
		g_autoptr(GVariant) r1 =
		    call(f, vol, "org.sandboxd.Volume1", "Delete", NULL, NULL, &e1);
		g_autoptr(GVariant) r2 = call(f, vol, "org.sandboxd.Volume1", "Resize",
					      g_variant_new("(t)", 1024 * MIB), NULL, &e2);
		sbx_test_assert_remote_error(e1, "org.sandboxd.Error.VolumeAttached", NULL);
		sbx_test_assert_remote_error(e2, "org.sandboxd.Error.VolumeAttached", NULL);
	}
	/* destroying the sandbox releases the lock */
	{
		g_autoptr(GVariant) r =
		    call(f, sb1, "org.sandboxd.Sandbox1", "Kill", NULL, NULL, &error);
		g_assert_no_error(error);
	}
	{
		gint64 deadline = g_get_monotonic_time() + WAIT_US;
		for (;;) {
			g_autoptr(GVariant) a = get_prop(f, vol, "AttachedTo");
			if (g_variant_n_children(a) == 0)
				break;
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_usleep(20 * 1000);
		}
	}
	/* read-only attachments share */
	sb2 = create_sandbox(f, "{'timeout': <'5m'>, 'volumes': <{'/data': <'data:ro'>}>}", &error);
	g_assert_no_error(error);
	sb3 = create_sandbox(f, "{'timeout': <'5m'>, 'volumes': <{'/d': <'data:ro'>}>}", &error);
	g_assert_no_error(error);
	{
		g_autoptr(GVariant) a = get_prop(f, vol, "AttachedTo");
		g_autoptr(GError) e = NULL;
		g_autofree gchar *p = create_sandbox(f, "{'volumes': <{'/data': <'data'>}>}", &e);
		g_assert_cmpuint(g_variant_n_children(a), ==, 2);
		sbx_test_assert_remote_error(e, "org.sandboxd.Error.VolumeAttached", NULL);
	}
}

static void
test_snapshot_and_restart(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *vol = create_volume(f, "src", "{'region': <'here'>}", &error);
	g_autoptr(GVariant) snap_reply = NULL;
	g_autoptr(GVariant) list = NULL;
	g_autoptr(GVariant) ro = NULL;
	g_autoptr(GVariant) clone_parent = NULL;
	g_autoptr(GVariant) region = NULL;
	g_autoptr(GVariant) name = NULL;
	g_autofree gchar *clone = NULL;
	const gchar *snap = NULL;

	g_assert_no_error(error);
	snap_reply = call(f, vol, "org.sandboxd.Volume1", "Snapshot",
			  g_variant_new_parsed("('snap', @a{sv} {})"), "(o)", &error);
	g_assert_no_error(error);
	g_variant_get(snap_reply, "(&o)", &snap);
	ro = get_prop(f, snap, "ReadOnly");
	g_assert_true(g_variant_get_boolean(ro));
	clone = create_volume(f, "clone", "{'from_snapshot': <'snap'>}", &error);
	g_assert_no_error(error);
	{
		/* bad names, options and filters are refused before anything happens */
		g_autoptr(GError) e1 = NULL;
		g_autoptr(GError) e2 = NULL;
		g_autoptr(GError) e3 = NULL;
		g_autoptr(GVariant) r1 =
		    call(f, vol, "org.sandboxd.Volume1", "Snapshot",
			 g_variant_new_parsed("('../x', @a{sv} {})"), "(o)", &e1);
		g_autoptr(GVariant) r2 =
		    call(f, vol, "org.sandboxd.Volume1", "Snapshot",
			 g_variant_new_parsed("('s2', {'bogus': <1>})"), "(o)", &e2);
		g_autoptr(GVariant) r3 =
		    call(f, "/org/sandboxd/Manager1", "org.sandboxd.Manager1", "ListVolumes",
			 g_variant_new_parsed("({'bogus': <1>},)"), "(ao)", &e3);
		sbx_test_assert_remote_error(e1, "org.sandboxd.Error.InvalidArgument", NULL);
		sbx_test_assert_remote_error(e2, "org.sandboxd.Error.InvalidArgument", NULL);
		sbx_test_assert_remote_error(e3, "org.sandboxd.Error.InvalidArgument", NULL);
	}
	{
		/* a snapshot cannot be attached, or deleted while it has clones */
		g_autoptr(GError) e1 = NULL;
		g_autoptr(GError) e2 = NULL;
		g_autofree gchar *p = create_sandbox(f, "{'volumes': <{'/s': <'snap'>}>}", &e1);
		g_autoptr(GVariant) r =
		    call(f, snap, "org.sandboxd.Volume1", "Delete", NULL, NULL, &e2);
		sbx_test_assert_remote_error(e1, "org.sandboxd.Error.InvalidArgument", NULL);
		sbx_test_assert_remote_error(e2, "org.sandboxd.Error.VolumeInUse", NULL);
	}

	/* a new daemon finds all three, with their names, regions and parents */
	stop_daemon(f);
	sbx_test_env_run_daemon(f->env);
	list = call(f, "/org/sandboxd/Manager1", "org.sandboxd.Manager1", "ListVolumes",
		    g_variant_new_parsed("(@a{sv} {},)"), "(ao)", &error);
	g_assert_no_error(error);
	{
		g_autoptr(GVariant) paths = g_variant_get_child_value(list, 0);
		g_assert_cmpuint(g_variant_n_children(paths), ==, 3);
	}
	name = get_prop(f, clone, "Name");
	g_assert_cmpstr(g_variant_get_string(name, NULL), ==, "clone");
	clone_parent = get_prop(f, clone, "Parent");
	g_assert_true(g_str_has_suffix(snap, g_variant_get_string(clone_parent, NULL)));
	region = get_prop(f, vol, "Region");
	g_assert_cmpstr(g_variant_get_string(region, NULL), ==, "here");
	{
		/* the names are still taken */
		g_autoptr(GError) e = NULL;
		g_autofree gchar *p = create_volume(f, "snap", "@a{sv} {}", &e);
		sbx_test_assert_remote_error(e, "org.sandboxd.Error.AlreadyExists", NULL);
	}
	/* delete everything: nothing is left in the folder */
	{
		const gchar *order[] = {clone, snap, vol};
		for (guint i = 0; i < G_N_ELEMENTS(order); i++) {
			g_autoptr(GVariant) r =
			    call(f, order[i], "org.sandboxd.Volume1", "Delete", NULL, NULL, &error);
			g_assert_no_error(error);
		}
	}
	{
		g_autoptr(GDir) dir = g_dir_open(f->vol_dir, 0, NULL);
		const gchar *entry;
		while (dir != NULL && (entry = g_dir_read_name(dir)) != NULL)
			g_assert_false(g_str_has_suffix(entry, ".qcow2") ||
				       g_str_has_suffix(entry, ".json"));
	}
}

static gchar *
read_record(Fixture *f, const gchar *sandbox_path)
{
	g_autofree gchar *name = g_strconcat(strrchr(sandbox_path, '/') + 1, ".json", NULL);
	g_autofree gchar *path = g_build_filename(f->env->state_dir, name, NULL);
	gint64 deadline = g_get_monotonic_time() + WAIT_US;
	gchar *data = NULL;

	/* written by a worker thread once the sandbox runs */
	while (!g_file_get_contents(path, &data, NULL, NULL) ||
	       strstr(data, "\"mount_path\"") == NULL) {
		g_clear_pointer(&data, g_free);
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(20 * 1000);
	}
	return data;
}

static void
assert_attached_to(Fixture *f, const gchar *vol, const gchar *sandbox_path)
{
	g_autoptr(GVariant) a = get_prop(f, vol, "AttachedTo");
	g_autoptr(GVariant) child = NULL;
	g_assert_cmpuint(g_variant_n_children(a), ==, (sandbox_path != NULL ? 1 : 0));
	if (sandbox_path == NULL)
		return;
	child = g_variant_get_child_value(a, 0);
	g_assert_true(g_str_has_suffix(sandbox_path, g_variant_get_string(child, NULL)));
}

static void
kill9_daemon(Fixture *f)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_US;
	g_subprocess_send_signal(f->env->daemon, SIGKILL);
	g_subprocess_wait(f->env->daemon, NULL, NULL);
	g_clear_object(&f->env->daemon);
	while (name_has_owner(f)) {
		g_assert_cmpint(g_get_monotonic_time(), <, deadline);
		g_usleep(20 * 1000);
	}
}

/* kill -9 and restart: the re-adopted sandbox holds its volume's lock again;
 * one whose volume is gone is destroyed rather than adopted unlocked */
static void
test_adopted_attachments(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *vol = create_volume(f, "data", "@a{sv} {}", &error);
	g_autofree gchar *sb = NULL;
	g_autofree gchar *record = NULL;
	g_autofree gchar *record_path = NULL;
	g_autofree gchar *edited = NULL;
	g_autofree gchar *sb2 = NULL;
	g_autoptr(GRegex) regex = NULL;

	g_assert_no_error(error);
	sb = create_sandbox(f, "{'timeout': <'5m'>, 'volumes': <{'/data': <'data'>}>}", &error);
	g_assert_no_error(error);
	record = read_record(f, sb);
	g_assert_nonnull(strstr(record, "/data"));

	kill9_daemon(f);
	sbx_test_env_run_daemon(f->env);
	assert_attached_to(f, vol, sb);
	{
		g_autoptr(GError) e = NULL;
		g_autofree gchar *p = create_sandbox(f, "{'volumes': <{'/data': <'data'>}>}", &e);
		g_assert_null(p);
		sbx_test_assert_remote_error(e, "org.sandboxd.Error.VolumeAttached", NULL);
	}
	{
		/* still the same sandbox, still recorded with its volume */
		g_autoptr(GVariant) r =
		    call(f, sb, "org.freedesktop.DBus.Properties", "Get",
			 g_variant_new("(ss)", "org.sandboxd.Sandbox1", "Id"), "(v)", &error);
		g_assert_no_error(error);
		g_clear_pointer(&record, g_free);
		record = read_record(f, sb);
	}

	/* its record now names a volume that does not exist */
	kill9_daemon(f);
	record_path = g_strconcat(f->env->state_dir, "/", strrchr(sb, '/') + 1, ".json", NULL);
	regex = g_regex_new("\"volume\"\\s*:\\s*\"[^\"]*\"", 0, 0, &error);
	g_assert_no_error(error);
	edited = g_regex_replace_literal(regex, record, -1, 0, "\"volume\" : \"nosuchvolume\"", 0,
					 &error);
	g_assert_no_error(error);
	g_assert_nonnull(strstr(edited, "nosuchvolume"));
	g_assert_true(g_file_set_contents(record_path, edited, -1, NULL));
	sbx_test_env_run_daemon(f->env);
	{
		g_autoptr(GError) e = NULL;
		g_autoptr(GVariant) r =
		    call(f, sb, "org.freedesktop.DBus.Properties", "Get",
			 g_variant_new("(ss)", "org.sandboxd.Sandbox1", "Id"), "(v)", &e);
		g_assert_null(r);
		g_assert_nonnull(e);
	}
	{
		/* its record goes too (a worker thread removes it) */
		gint64 deadline = g_get_monotonic_time() + WAIT_US;
		while (g_file_test(record_path, G_FILE_TEST_EXISTS)) {
			g_assert_cmpint(g_get_monotonic_time(), <, deadline);
			g_usleep(20 * 1000);
		}
	}
	assert_attached_to(f, vol, NULL);
	sb2 = create_sandbox(f, "{'timeout': <'5m'>, 'volumes': <{'/data': <'data'>}>}", &error);
	g_assert_no_error(error);
	assert_attached_to(f, vol, sb2);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add("/volumes/names-and-bounds", Fixture, NULL, fixture_setup, test_names_and_bounds,
		   fixture_teardown);
	g_test_add("/volumes/attachments", Fixture, NULL, fixture_setup, test_attachments,
		   fixture_teardown);
	g_test_add("/volumes/snapshot-and-restart", Fixture, NULL, fixture_setup,
		   test_snapshot_and_restart, fixture_teardown);
	g_test_add("/volumes/adopted-attachments", Fixture, NULL, fixture_setup,
		   test_adopted_attachments, fixture_teardown);
	return g_test_run();
}
