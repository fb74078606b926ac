/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include "sbx-blockdev.h"
#include "sbx-ch-qsd.h"

#define SOCKET_POLL_MS 20
#define SOCKET_WAIT_MS 20000
#define KILL_AFTER_MS 3000
#define QSD_MEMORY_MAX (256ull << 20)

struct _SbxChQsd {
	SbxJail *jail; /* a reference: its exit watch may outlive the backend */
	gchar *name;
	gchar *socket;
	gchar *secret_file;
	GPid pid;
	gboolean exited;
	gboolean files_removed; /* once: a new daemon may reuse the paths */
	guint child_watch;
	guint timer_id;
	gint waited_ms;
	GTask *start_task;
};

static SbxChQsd *
qsd_ref(SbxChQsd *qsd)
{
	return g_rc_box_acquire(qsd);
}

static void
qsd_clear(SbxChQsd *qsd)
{
	g_clear_handle_id(&qsd->timer_id, g_source_remove);
	sbx_jail_free(qsd->jail);
	g_free(qsd->name);
	g_free(qsd->socket);
	g_free(qsd->secret_file);
	g_clear_object(&qsd->start_task);
}

static void
qsd_unref(SbxChQsd *qsd)
{
	g_rc_box_release_full(qsd, (GDestroyNotify)qsd_clear);
}

GPid
sbx_ch_qsd_get_pid(SbxChQsd *qsd)
{
	return qsd->pid;
}

GStrv
sbx_ch_qsd_argv(const gchar *binary, const SbxDiskSource *source, gboolean read_only,
		const gchar *socket, const gchar *secret_file)
{
	g_autoptr(GStrvBuilder) argv = g_strv_builder_new();
	SbxBlockdevOptions opts = {
	    .node_name = "vol",
	    .read_only = read_only,
	    .secret_id = secret_file != NULL ? "sec0" : NULL,
	};
	g_autofree gchar *blockdev = sbx_blockdev_json(source, &opts);
	g_autofree gchar *export = g_strdup_printf(
	    "type=vhost-user-blk,id=exp0,node-name=vol,addr.type=unix,addr.path=%s,writable=%s",
	    socket, read_only ? "off" : "on");

	g_strv_builder_add(argv, binary);
	if (secret_file != NULL) {
		g_autofree gchar *secret =
		    g_strdup_printf("secret,id=sec0,file=%s,format=base64", secret_file);
		g_strv_builder_add_many(argv, "--object", secret, NULL);
	}
	g_strv_builder_add_many(argv, "--blockdev", blockdev, "--export", export, NULL);
	/* a restarted sandboxd finds it there (sbx-ch-record.c) */
	{
		g_autofree gchar *pidfile = g_strconcat(socket, ".pid", NULL);
		g_strv_builder_add_many(argv, "--pidfile", pidfile, NULL);
	}
	return g_strv_builder_end(argv);
}

static void
remove_files(SbxChQsd *qsd)
{
	g_autofree gchar *pidfile = g_strconcat(qsd->socket, ".pid", NULL);

	if (qsd->files_removed)
		return;
	qsd->files_removed = TRUE;
	g_unlink(pidfile);
	g_unlink(qsd->socket);
	if (qsd->secret_file != NULL)
		g_unlink(qsd->secret_file);
}

static void
start_done(SbxChQsd *qsd, GError *error)
{
	g_autoptr(GTask) task = g_steal_pointer(&qsd->start_task);

	g_clear_handle_id(&qsd->timer_id, g_source_remove);
	if (task == NULL) {
		g_clear_error(&error);
		return;
	}
	if (error != NULL) {
		g_task_return_error(task, error);
		sbx_ch_qsd_stop(qsd_ref(qsd));
		return;
	}
	/* read at start: the key is not left on disk */
	if (qsd->secret_file != NULL)
		g_unlink(qsd->secret_file);
	g_task_return_pointer(task, qsd_ref(qsd), (GDestroyNotify)qsd_unref);
}

static void
on_exited(GPid pid, gint status, gpointer user_data)
{
	SbxChQsd *qsd = user_data;

	qsd->child_watch = 0;
	qsd->exited = TRUE;
	g_clear_handle_id(&qsd->timer_id, g_source_remove);
	sbx_jail_remove_cgroup(qsd->jail, qsd->name);
	remove_files(qsd);
	if (qsd->start_task != NULL) {
		GError *error = NULL;
		if (g_spawn_check_wait_status(status, &error))
			error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_FAILED, "exited");
		/* its own message went to the daemon's stderr (the journal) */
		start_done(qsd, g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED,
					    "qemu-storage-daemon stopped before its export was "
					    "up: %s",
					    error->message));
		g_error_free(error);
	}
}

static gboolean
on_poll(gpointer user_data)
{
	SbxChQsd *qsd = user_data;
	GError *error = NULL;

	if (g_cancellable_set_error_if_cancelled(g_task_get_cancellable(qsd->start_task), &error)) {
		qsd->timer_id = 0;
		start_done(qsd, error);
		return G_SOURCE_REMOVE;
	}
	if (g_file_test(qsd->socket, G_FILE_TEST_EXISTS)) {
		qsd->timer_id = 0;
		start_done(qsd, NULL);
		return G_SOURCE_REMOVE;
	}
	qsd->waited_ms += SOCKET_POLL_MS;
	if (qsd->waited_ms >= SOCKET_WAIT_MS) {
		qsd->timer_id = 0;
		start_done(qsd, g_error_new(G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
					    "qemu-storage-daemon: no socket %s after %d s",
					    qsd->socket, SOCKET_WAIT_MS / 1000));
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* the key for the daemon's user only, 0600 */
static gboolean
write_secret(SbxJail *jail, const gchar *path, const gchar *key, GError **error)
{
	int fd = g_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	gsize len = strlen(key);

	if (fd < 0 || write(fd, key, len) != (gssize)len) {
		int errsv = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "%s: %s", path,
			    g_strerror(errsv));
		return FALSE;
	}
	close(fd);
	return sbx_jail_chown(jail, path, error);
}

void
sbx_ch_qsd_start_async(SbxJail *jail, const gchar *name, const gchar *binary,
		       const SbxDiskSource *source, gboolean read_only, const gchar *socket,
		       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
	SbxChQsd *qsd = g_rc_box_new0(SbxChQsd);
	g_auto(GStrv) argv = NULL;
	GError *error = NULL;

	qsd->jail = sbx_jail_ref(jail);
	qsd->name = g_strdup(name);
	qsd->socket = g_strdup(socket);
	qsd->start_task = g_task_new(NULL, cancellable, callback, user_data);
	g_task_set_source_tag(qsd->start_task, sbx_ch_qsd_start_async);
	if (source->kind == SBX_DISK_SOURCE_RBD && source->auth_key != NULL) {
		qsd->secret_file = g_strconcat(socket, ".key", NULL);
		if (!write_secret(jail, qsd->secret_file, source->auth_key, &error)) {
			start_done(qsd, error);
			qsd_unref(qsd);
			return;
		}
	}
	g_unlink(socket);
	argv = sbx_ch_qsd_argv(binary, source, read_only, socket, qsd->secret_file);
	if (!sbx_jail_spawn(jail, name, (const gchar *const *)argv, NULL, 0, QSD_MEMORY_MAX, 1,
			    &qsd->pid, &error)) {
		g_prefix_error(&error, "cannot start %s: ", binary);
		start_done(qsd, error);
		qsd_unref(qsd);
		return;
	}
	qsd->child_watch = g_child_watch_add_full(G_PRIORITY_DEFAULT, qsd->pid, on_exited,
						  qsd_ref(qsd), (GDestroyNotify)qsd_unref);
	qsd->timer_id = g_timeout_add_full(G_PRIORITY_DEFAULT, SOCKET_POLL_MS, on_poll,
					   qsd_ref(qsd), (GDestroyNotify)qsd_unref);
	qsd_unref(qsd);
}

SbxChQsd *
sbx_ch_qsd_start_finish(GAsyncResult *res, GError **error)
{
	return g_task_propagate_pointer(G_TASK(res), error);
}

static gboolean
on_kill_timeout(gpointer user_data)
{
	SbxChQsd *qsd = user_data;
	qsd->timer_id = 0;
	if (!qsd->exited)
		kill(qsd->pid, SIGKILL);
	return G_SOURCE_REMOVE;
}

void
sbx_ch_qsd_stop(SbxChQsd *qsd)
{
	g_clear_handle_id(&qsd->timer_id, g_source_remove);
	remove_files(qsd);
	if (qsd->pid > 0 && !qsd->exited) {
		/* the child watch reaps it: the pid is not reused before */
		kill(qsd->pid, SIGTERM);
		qsd->timer_id =
		    g_timeout_add_full(G_PRIORITY_DEFAULT, KILL_AFTER_MS, on_kill_timeout,
				       qsd_ref(qsd), (GDestroyNotify)qsd_unref);
	}
	qsd_unref(qsd);
}
