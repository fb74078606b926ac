/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "sbx-ch-record.h"
#include "sbx-jail-acl.h"
#include "sbx-tap.h"

/* what a VMM makes in its run folder (sbx-ch-vm.c) */
static const gchar *const vmm_files[] = {"ch-api.sock", "vsock.sock", "cloud-hypervisor.log",
					 "root.qcow2", NULL};

gboolean
sbx_ch_record_write(const gchar *dir, const gchar *id, GPid pid, const gchar *run_dir,
		    GError **error)
{
	g_autofree gchar *path = g_build_filename(dir, id, NULL);
	g_autofree gchar *text = g_strdup_printf("%d\n%s\n", (gint)pid, run_dir);

	return g_file_set_contents(path, text, -1, error);
}

void
sbx_ch_record_remove(const gchar *dir, const gchar *id, GPid pid)
{
	g_autofree gchar *path = g_build_filename(dir, id, NULL);
	g_autofree gchar *text = NULL;

	/* a VM of the same id may run by now (a killed VMM is reaped late):
	 * only the record of @pid is this VM's */
	if (g_file_get_contents(path, &text, NULL, NULL) &&
	    g_ascii_strtoll(text, NULL, 10) == (gint64)pid)
		g_unlink(path);
}

/* is @pid still the VMM of @run_dir (not a recycled pid)? */
static gboolean
pid_is_vmm(GPid pid, const gchar *run_dir)
{
	g_autofree gchar *path = g_strdup_printf("/proc/%d/cmdline", (gint)pid);
	g_autofree gchar *log = g_build_filename(run_dir, "cloud-hypervisor.log", NULL);
	g_autofree gchar *cmdline = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &cmdline, &len, NULL))
		return FALSE;
	for (gsize i = 0; i < len; i += strlen(cmdline + i) + 1) {
		if (g_strcmp0(cmdline + i, log) == 0)
			return TRUE;
	}
	return FALSE;
}

static gboolean
kill_vmm(GPid pid, const gchar *run_dir)
{
	/* through a pidfd: the check and the kill are about the same process */
	gint pidfd = (gint)syscall(SYS_pidfd_open, pid, 0);
	gboolean killed = FALSE;

	if (pidfd < 0)
		return FALSE;
	if (pid_is_vmm(pid, run_dir))
		killed = syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0;
	close(pidfd);
	return killed;
}

/* the qemu-storage-daemons of @run_dir's rbd volumes (their pid files,
 * sbx-ch-qsd.c), killed when they still serve that folder */
void
sbx_ch_record_revoke_grants(const gchar *run_dir)
{
	g_autofree gchar *path = g_build_filename(run_dir, SBX_CH_RECORD_GRANTS, NULL);
	g_autofree gchar *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return;
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_autoptr(GError) error = NULL;
		gchar *tab = strchr(lines[i], '\t');
		guint64 uid = 0;

		if (tab == NULL)
			continue;
		*tab = '\0';
		if (!g_ascii_string_to_unsigned(lines[i], 10, 1, G_MAXUINT32 - 1, &uid, NULL) ||
		    !g_path_is_absolute(tab + 1))
			continue;
		/* a volume deleted meanwhile has nothing left to revoke */
		if (!sbx_jail_acl_revoke(tab + 1, (uid_t)uid, &error) &&
		    !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
			g_warning("%s", error->message);
	}
	g_unlink(path);
}

static void
kill_exports(const gchar *run_dir)
{
	g_autoptr(GDir) d = g_dir_open(run_dir, 0, NULL);
	const gchar *name;

	while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
		g_autofree gchar *path = NULL;
		g_autofree gchar *text = NULL;
		g_autofree gchar *socket = NULL;
		g_autofree gchar *key = NULL;
		g_autofree gchar *proc = NULL;
		g_autofree gchar *cmdline = NULL;
		gsize len = 0;
		GPid pid;
		gint pidfd;

		if (!g_str_has_suffix(name, ".vhost.sock.pid"))
			continue;
		path = g_build_filename(run_dir, name, NULL);
		socket = g_strndup(path, strlen(path) - strlen(".pid"));
		key = g_strconcat(socket, ".key", NULL);
		if (g_file_get_contents(path, &text, NULL, NULL) &&
		    (pid = (GPid)g_ascii_strtoll(text, NULL, 10)) > 0 &&
		    (pidfd = (gint)syscall(SYS_pidfd_open, pid, 0)) >= 0) {
			proc = g_strdup_printf("/proc/%d/cmdline", (gint)pid);
			/* still that daemon: its argv names the socket */
			if (g_file_get_contents(proc, &cmdline, &len, NULL) &&
			    memmem(cmdline, len, socket, strlen(socket)) != NULL &&
			    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0)
				g_info("stopped the qemu-storage-daemon (pid %d) of %s a previous "
				       "sandboxd left running",
				       (gint)pid, socket);
			close(pidfd);
		}
		g_unlink(path);
		g_unlink(socket);
		g_unlink(key);
	}
}

guint
sbx_ch_record_reap(const gchar *dir, GHashTable *live)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const gchar *name;
	guint killed = 0;

	while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
		g_autofree gchar *path = g_build_filename(dir, name, NULL);
		g_autofree gchar *text = NULL;
		g_auto(GStrv) lines = NULL;
		GPid pid;

		if (g_hash_table_contains(live, name))
			continue;
		if (g_file_get_contents(path, &text, NULL, NULL) &&
		    g_strv_length(lines = g_strsplit(text, "\n", 3)) >= 2 &&
		    g_path_is_absolute(lines[1])) {
			kill_exports(lines[1]);
			sbx_ch_record_revoke_grants(lines[1]);
			pid = (GPid)g_ascii_strtoll(lines[0], NULL, 10);
			if (pid > 0 && kill_vmm(pid, lines[1])) {
				g_info("vm %s: stopped the cloud-hypervisor (pid %d) a previous "
				       "sandboxd left running",
				       name, (gint)pid);
				killed++;
			}
			for (guint i = 0; vmm_files[i] != NULL; i++) {
				g_autofree gchar *f =
				    g_build_filename(lines[1], vmm_files[i], NULL);
				g_unlink(f);
			}
		}
		/* its tap is persistent: it outlives a crashed daemon */
		{
			g_autofree gchar *tap = sbx_tap_name(name);
			sbx_tap_release(tap);
		}
		g_unlink(path);
	}
	return killed;
}
