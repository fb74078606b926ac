/* the qemu-storage-daemon helper: argv, and the real daemon exporting a raw
 * file as vhost-user-blk, stopped and reaped
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <signal.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "sbx-ch-qsd.h"

static void
test_argv_rbd(void)
{
	g_autoptr(SbxDiskSource) src = sbx_disk_source_new(SBX_DISK_SOURCE_RBD);
	g_auto(GStrv) argv = NULL;
	g_autofree gchar *joined = NULL;
	const gchar *monitors[] = {"10.0.0.1", "10.0.0.2:3300", "[fd00::1]:6789", NULL};

	src->pool = g_strdup("sandboxd");
	src->image = g_strdup("vol-1");
	src->auth_user = g_strdup("sbx");
	src->auth_key = g_strdup("QVFCZXhhbXBsZWtleQ==");
	src->monitors = g_strdupv((gchar **)monitors);
	argv = sbx_ch_qsd_argv("/usr/bin/qemu-storage-daemon", src, FALSE, "/run/x/disk1.sock",
			       "/run/x/disk1.sock.key");
	joined = g_strjoinv(" ", argv);
	g_assert_cmpstr(
	    joined, ==,
	    "/usr/bin/qemu-storage-daemon --object "
	    "secret,id=sec0,file=/run/x/disk1.sock.key,format=base64 --blockdev "
	    "{\"node-name\":\"vol\",\"read-only\":false,\"driver\":\"rbd\",\"pool\":\"sandboxd\","
	    "\"image\":\"vol-1\",\"user\":\"sbx\",\"key-secret\":\"sec0\",\"server\":[{\"host\":"
	    "\"10.0.0.1\",\"port\":\"6789\"},{\"host\":\"10.0.0.2\",\"port\":\"3300\"},{\"host\":"
	    "\"fd00::1\",\"port\":\"6789\"}]} --export "
	    "type=vhost-user-blk,id=exp0,node-name=vol,addr.type=unix,addr.path=/run/x/"
	    "disk1.sock,writable=on --pidfile /run/x/disk1.sock.pid");
	/* the key never on the command line (it is in /proc for everyone) */
	g_assert_null(strstr(joined, src->auth_key));
}

typedef struct {
	GAsyncResult *res;
} Wait;

static void
on_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Wait *w = user_data;
	w->res = g_object_ref(res);
}

static SbxChQsd *
start(SbxJail *jail, const SbxDiskSource *src, const gchar *socket, GError **error)
{
	Wait w = {0};
	g_autoptr(GAsyncResult) res = NULL;
	g_autofree gchar *binary = g_find_program_in_path("qemu-storage-daemon");

	/* scripts/common.sh installs it (qemu-system-common) */
	g_assert_nonnull(binary);
	sbx_ch_qsd_start_async(jail, "qsdtest", binary, src, FALSE, socket, NULL, on_done, &w);
	while (w.res == NULL)
		g_main_context_iteration(NULL, TRUE);
	res = w.res;
	return sbx_ch_qsd_start_finish(res, error);
}

static gboolean
pid_gone(GPid pid)
{
	/* reaped by the helper's child watch: no zombie either */
	for (guint i = 0; i < 1000; i++) {
		if (kill(pid, 0) != 0)
			return TRUE;
		g_main_context_iteration(NULL, FALSE);
		g_usleep(5000);
	}
	return FALSE;
}

static void
test_export_file(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_dir_make_tmp("sbx-ch-qsd-XXXXXX", &error);
	g_autofree gchar *image = g_build_filename(dir, "vol.raw", NULL);
	g_autofree gchar *socket = g_build_filename(dir, "disk1.sock", NULL);
	g_autofree gchar *cg = g_build_filename(dir, "cg", NULL);
	g_autofree gchar *cmdline_path = NULL;
	g_autofree gchar *cmdline = NULL;
	g_autoptr(SbxDiskSource) src = sbx_disk_source_new(SBX_DISK_SOURCE_FILE);
	g_autoptr(SbxJail) jail = NULL;
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) addr = NULL;
	g_autoptr(GSocketConnection) conn = NULL;
	SbxChQsd *qsd;
	GPid pid;

	g_assert_no_error(error);
	jail = sbx_jail_new(g_get_user_name(), cg, FALSE, &error);
	g_assert_no_error(error);
	g_assert_true(g_file_set_contents(image, "", 0, &error));
	g_assert_cmpint(truncate(image, 16 << 20), ==, 0);
	src->path = g_strdup(image);
	src->format = g_strdup("raw");

	qsd = start(jail, src, socket, &error);
	g_assert_no_error(error);
	g_assert_nonnull(qsd);
	pid = sbx_ch_qsd_get_pid(qsd);
	g_assert_cmpint(pid, >, 0);
	cmdline_path = g_strdup_printf("/proc/%d/cmdline", (gint)pid);
	g_assert_true(g_file_get_contents(cmdline_path, &cmdline, NULL, NULL));
	g_assert_true(g_str_has_suffix(cmdline, "qemu-storage-daemon"));
	/* the export listens: a vhost-user front end can connect */
	addr = g_unix_socket_address_new(socket);
	conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, &error);
	g_assert_no_error(error);
	g_clear_object(&conn);

	sbx_ch_qsd_stop(qsd);
	g_assert_true(pid_gone(pid));
	g_assert_false(g_file_test(socket, G_FILE_TEST_EXISTS));

	/* a volume that cannot be opened: an error, no process, no socket */
	g_free(src->path);
	src->path = g_build_filename(dir, "missing.raw", NULL);
	qsd = start(jail, src, socket, &error);
	g_assert_null(qsd);
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_FAILED);
	g_assert_false(g_file_test(socket, G_FILE_TEST_EXISTS));

	g_unlink(image);
	g_rmdir(cg);
	g_rmdir(dir);
}

static gchar *
run(const gchar *command)
{
	g_autoptr(GError) error = NULL;
	gchar *out = NULL;
	gint status = -1;

	g_assert_true(g_spawn_command_line_sync(command, &out, NULL, &status, &error));
	g_assert_no_error(error);
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("%s failed", command);
	return out;
}

/* the value of "KEY = VALUE" in a ceph config or keyring */
static gchar *
conf_value(const gchar *path, const gchar *key)
{
	g_autofree gchar *text = NULL;
	g_auto(GStrv) lines = NULL;

	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		gchar *line = g_strstrip(lines[i]);
		if (g_str_has_prefix(line, key) && strchr(line, '=') != NULL)
			return g_strdup(g_strstrip(strchr(line, '=') + 1));
	}
	g_error("%s: no %s", path, key);
	return NULL;
}

/* a real rbd image of a throwaway cluster (scripts/ceph-dev.sh, as the rbd
 * conformance test), exported with the cephx key from a file */
static void
test_export_rbd(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *dir = g_dir_make_tmp("sbx-ch-qsd-rbd-XXXXXX", &error);
	g_autofree gchar *cluster = g_build_filename(dir, "ceph", NULL);
	g_autofree gchar *conf = g_build_filename(cluster, "ceph.conf", NULL);
	g_autofree gchar *keyring = g_build_filename(cluster, "keyring", NULL);
	g_autofree gchar *socket = g_build_filename(dir, "disk1.sock", NULL);
	g_autofree gchar *key_file = g_strconcat(socket, ".key", NULL);
	g_autofree gchar *cg = g_build_filename(dir, "cg", NULL);
	g_autofree gchar *up = g_strdup_printf("%s up %s", CEPH_DEV_SH, cluster);
	g_autofree gchar *down = g_strdup_printf("%s down %s", CEPH_DEV_SH, cluster);
	g_autofree gchar *create = NULL;
	g_autofree gchar *mon = NULL;
	g_autofree gchar *cmdline_path = NULL;
	g_autofree gchar *cmdline = NULL;
	g_autofree gchar *out = NULL;
	g_autoptr(SbxDiskSource) src = sbx_disk_source_new(SBX_DISK_SOURCE_RBD);
	g_autoptr(SbxJail) jail = NULL;
	g_autoptr(GSocketClient) client = g_socket_client_new();
	g_autoptr(GSocketAddress) addr = NULL;
	g_autoptr(GSocketConnection) conn = NULL;
	gchar *monitors[2] = {NULL, NULL};
	gsize len = 0;
	SbxChQsd *qsd;
	GPid pid;

	g_assert_no_error(error);
	g_free(run(up));
	create = g_strdup_printf("rbd -c %s create rbd/chvol --size 16M", conf);
	g_free(run(create));
	mon = conf_value(conf, "mon host");
	/* "v1:127.0.0.1:PORT" */
	monitors[0] = g_str_has_prefix(mon, "v1:") ? mon + 3 : mon;
	src->pool = g_strdup("rbd");
	src->image = g_strdup("chvol");
	src->auth_user = g_strdup("admin");
	src->auth_key = conf_value(keyring, "key");
	src->monitors = g_strdupv(monitors);
	jail = sbx_jail_new(g_get_user_name(), cg, FALSE, &error);
	g_assert_no_error(error);

	qsd = start(jail, src, socket, &error);
	g_assert_no_error(error);
	pid = sbx_ch_qsd_get_pid(qsd);
	cmdline_path = g_strdup_printf("/proc/%d/cmdline", (gint)pid);
	g_assert_true(g_file_get_contents(cmdline_path, &cmdline, &len, NULL));
	for (gsize i = 0; i + 1 < len; i++)
		if (cmdline[i] == '\0')
			cmdline[i] = ' ';
	g_assert_nonnull(strstr(cmdline, "\"driver\":\"rbd\""));
	g_assert_null(strstr(cmdline, src->auth_key));
	/* read at start, then removed */
	g_assert_false(g_file_test(key_file, G_FILE_TEST_EXISTS));
	addr = g_unix_socket_address_new(socket);
	conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, &error);
	g_assert_no_error(error);
	g_clear_object(&conn);

	sbx_ch_qsd_stop(qsd);
	g_assert_true(pid_gone(pid));
	g_assert_false(g_file_test(socket, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(key_file, G_FILE_TEST_EXISTS));

	/* the image is still there after its export stopped */
	{
		g_autofree gchar *ls = g_strdup_printf("rbd -c %s ls rbd", conf);
		out = run(ls);
		g_assert_nonnull(strstr(out, "chvol"));
	}
	g_free(run(down));
	g_rmdir(cg);
	g_rmdir(dir);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ch-qsd/argv-rbd", test_argv_rbd);
	g_test_add_func("/ch-qsd/export-file", test_export_file);
	g_test_add_func("/ch-qsd/export-rbd", test_export_rbd);
	return g_test_run();
}
