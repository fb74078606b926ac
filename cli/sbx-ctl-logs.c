/* sandboxctl logs: a sandbox's console or event log through Sandbox1.ReadLog.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib-unix.h>
#include <unistd.h>

#include "sbx-ctl.h"

/* copies @fd to stdout until EOF */
static gboolean
copy_to_stdout(gint fd, GError **error)
{
	gchar buf[65536];
	for (;;) {
		gssize n = read(fd, buf, sizeof(buf));
		gssize off = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
				    _("cannot read the log: %s"), g_strerror(errno));
			return FALSE;
		}
		if (n == 0)
			return TRUE;
		while (off < n) {
			gssize w = write(STDOUT_FILENO, buf + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
					    _("cannot write to standard output: %s"),
					    g_strerror(errno));
				return FALSE;
			}
			off += w;
		}
	}
}

gint
sbx_ctl_logs_main(SbxCtl *ctl, gint argc, gchar **argv)
{
	gint rc = SBX_CTL_EXIT_FAILURE;
	gboolean events = FALSE;
	gboolean follow = FALSE;
	const GOptionEntry entries[] = {
	    {"events", 'e', 0, G_OPTION_ARG_NONE, &events,
	     N_("Show the daemon's events for the sandbox instead of its console"), NULL},
	    {"follow", 'f', 0, G_OPTION_ARG_NONE, &follow,
	     N_("Keep printing new output until the sandbox is destroyed (or Ctrl-C)"), NULL},
	    {NULL}};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
	g_auto(GStrv) args = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *what = NULL;
	gint p[2];
	gboolean ok;

	context = sbx_ctl_option_context_new(
	    ctl, _("ID"),
	    _("Print a sandbox's console log (the guest's serial console), or with --events the "
	      "daemon's events for it (created, running, exec started and ended, expiring, "
	      "crashed, destroyed). A crashed sandbox's logs stay readable for 5 minutes."),
	    entries);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, NULL, &error))
		return sbx_ctl_report_local_error(error);
	if (args[0] == NULL)
		return sbx_ctl_usage_error(_("missing the sandbox id"));
	if (args[1] != NULL)
		return sbx_ctl_usage_error(_("unexpected argument '%s'"), args[1]);
	path = sbx_ctl_find_sandbox(ctl, args[0], &rc);
	if (path == NULL)
		return rc;
	if (!g_unix_open_pipe(p, FD_CLOEXEC, &error))
		return sbx_ctl_report_local_error(error);
	g_unix_fd_list_append(fds, p[1], NULL);
	close(p[1]);
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, path, SBX_CTL_SANDBOX_IFACE, "ReadLog",
	    g_variant_new("(sh@a{sv})", events ? "events" : "console", 0,
			  g_variant_new_parsed("{'follow': <%b>}", follow)),
	    G_VARIANT_TYPE_UNIT, G_DBUS_CALL_FLAGS_NONE, SBX_CTL_QUERY_TIMEOUT_MS, fds, NULL, NULL,
	    &error);
	/* only the daemon holds the write end now: EOF when it is done */
	g_clear_object(&fds);
	if (reply == NULL) {
		close(p[0]);
		/* TRANSLATORS: %s is a sandbox id */
		what = g_strdup_printf(_("cannot read the log of sandbox '%s'"), args[0]);
		return sbx_ctl_report_dbus_error(ctl, what, error);
	}
	ok = copy_to_stdout(p[0], &error);
	close(p[0]);
	if (!ok)
		return sbx_ctl_report_local_error(g_steal_pointer(&error));
	return SBX_CTL_EXIT_OK;
}
