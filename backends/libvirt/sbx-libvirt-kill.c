/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sbx-libvirt-kill.h"

#define DEFAULT_PID_DIR "/run/libvirt/qemu"
/* a pid file holds a number and a newline */
#define PID_FILE_MAX 32
/* /proc/PID/cmdline of a libvirt QEMU is a few KiB */
#define CMDLINE_MAX (256 * 1024)

gboolean
sbx_libvirt_kill_cmdline_names(const gchar *cmdline, gsize len, const gchar *id)
{
	g_autofree gchar *want = g_strdup_printf("guest=%s", id);
	gsize want_len = strlen(want);
	gboolean after_name = FALSE;

	if (cmdline == NULL || len == 0 || id == NULL || id[0] == '\0')
		return FALSE;
	for (gsize off = 0; off < len;) {
		const gchar *arg = cmdline + off;
		gsize arg_len = strnlen(arg, len - off);

		/* `-name guest=ID,debug-threads=on`: the whole name, not a prefix */
		if (after_name && arg_len >= want_len && strncmp(arg, want, want_len) == 0 &&
		    (arg[want_len] == ',' || arg_len == want_len))
			return TRUE;
		after_name = arg_len == 5 && strncmp(arg, "-name", 5) == 0;
		off += arg_len + 1;
	}
	return FALSE;
}

gint
sbx_libvirt_kill_open_qemu(const gchar *uri, const gchar *pid_dir, const gchar *id)
{
	g_autofree gchar *pid_file = NULL;
	g_autofree gchar *text = NULL;
	g_autofree gchar *cmdline_path = NULL;
	g_autofree gchar *cmdline = NULL;
	gsize len = 0;
	gint64 pid;
	gchar *end = NULL;
	gint pidfd;
	gsize id_len = id != NULL ? strlen(id) : 0;

	/* libvirtd's pid files are only ours to read on this host */
	if (g_strcmp0(uri, "qemu:///system") != 0)
		return -1;
	/* never build a path from an id that could leave the folder */
	if (id_len == 0 || id_len > 63 ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") != id_len)
		return -1;
	pid_file = g_strdup_printf("%s/%s.pid", pid_dir != NULL ? pid_dir : DEFAULT_PID_DIR, id);
	if (!g_file_get_contents(pid_file, &text, &len, NULL) || len == 0 || len > PID_FILE_MAX)
		return -1;
	pid = g_ascii_strtoll(text, &end, 10);
	if (end == text || pid <= 1 || pid > G_MAXINT || (*end != '\0' && *end != '\n'))
		return -1;
	pidfd = (gint)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0)
		return -1;
	/* checked after the pidfd is open: a pid reused meanwhile is not signalled */
	cmdline_path = g_strdup_printf("/proc/%" G_GINT64_FORMAT "/cmdline", pid);
	if (!g_file_get_contents(cmdline_path, &cmdline, &len, NULL) || len > CMDLINE_MAX ||
	    !sbx_libvirt_kill_cmdline_names(cmdline, len, id)) {
		close(pidfd);
		return -1;
	}
	return pidfd;
}

/* TRUE once the process behind @pidfd has exited, FALSE after @ms */
static gboolean
wait_exit(gint pidfd, guint ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)ms * 1000;

	for (;;) {
		struct pollfd pfd = {pidfd, POLLIN, 0};
		gint64 left = (deadline - g_get_monotonic_time()) / 1000;
		gint n = poll(&pfd, 1, (gint)CLAMP(left, 0, G_MAXINT));

		if (n > 0)
			return TRUE;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || left <= 0)
			return FALSE;
	}
}

static gboolean
send_signal(gint pidfd, gint sig)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0)
		return TRUE;
	/* ESRCH: it has exited already */
	return errno == ESRCH;
}

gboolean
sbx_libvirt_kill_qemu(gint pidfd, guint term_ms, guint kill_ms)
{
	if (pidfd < 0)
		return FALSE;
	if (term_ms > 0 && send_signal(pidfd, SIGTERM) && wait_exit(pidfd, term_ms))
		return TRUE;
	return send_signal(pidfd, SIGKILL) && wait_exit(pidfd, kill_ms);
}
