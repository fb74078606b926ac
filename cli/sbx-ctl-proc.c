/* sandboxctl: processes through Spawn + Process1.Wait (exec --tty/--timeout,
 * shell) with a local terminal in raw mode, and "ps".
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "sbx-ctl.h"

#define SBX_CTL_PROCESS_IFACE "org.sandboxd.Process1"
/* the exit code for a command the timeout killed, as timeout(1) */

/* --user USER|UID[:GID] into the options */
gboolean
sbx_ctl_proc_add_user_option(GVariantDict *dict, const gchar *user, GError **error)
{
	g_auto(GStrv) parts = NULL;
	guint64 uid = 0, gid = 0;

	if (user == NULL)
		return TRUE;
	parts = g_strsplit(user, ":", 2);
	if (g_ascii_string_to_unsigned(parts[0], 10, 0, G_MAXINT32 - 1, &uid, NULL)) {
		gid = uid;
		if (parts[1] != NULL &&
		    !g_ascii_string_to_unsigned(parts[1], 10, 0, G_MAXINT32 - 1, &gid, NULL)) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    _("--user: '%s' is not a group id"), parts[1]);
			return FALSE;
		}
		g_variant_dict_insert(dict, "uid", "u", (guint32)uid);
		g_variant_dict_insert(dict, "gid", "u", (guint32)gid);
		return TRUE;
	}
	if (parts[1] != NULL || !g_utf8_validate(user, -1, NULL) || user[0] == '\0') {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    _("--user: expected USER or UID[:GID], got '%s'"), user);
		return FALSE;
	}
	g_variant_dict_insert(dict, "user", "s", user);
	return TRUE;
}

/* the local terminal, while a remote one runs */
typedef struct {
	SbxCtl *ctl;
	gchar *process;
	GMainLoop *loop;
	gboolean raw;
	struct termios saved;
	GVariant *result;
	GError *error;
	gint interrupted; /* a signal that ends sandboxctl */
} SbxCtlRun;

static void
sbx_ctl_tty_restore(SbxCtlRun *run)
{
	if (!run->raw)
		return;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &run->saved);
	run->raw = FALSE;
}

static gboolean
sbx_ctl_tty_raw(SbxCtlRun *run)
{
	struct termios raw;
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &run->saved) < 0)
		return FALSE;
	raw = run->saved;
	/* everything, Ctrl-C included, goes to the guest as bytes */
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0)
		return FALSE;
	run->raw = TRUE;
	return TRUE;
}

static gboolean
sbx_ctl_window_size(guint32 *rows, guint32 *cols)
{
	struct winsize ws = {0};
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
		return FALSE;
	if (ws.ws_row == 0 || ws.ws_col == 0)
		return FALSE;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return TRUE;
}

static gboolean
sbx_ctl_on_winch(gpointer user_data)
{
	SbxCtlRun *run = user_data;
	guint32 rows, cols;
	if (sbx_ctl_window_size(&rows, &cols))
		g_dbus_connection_call(
		    run->ctl->connection, SBX_CTL_BUS_NAME, run->process, SBX_CTL_PROCESS_IFACE,
		    "ResizePty", g_variant_new("(uu)", rows, cols), NULL, G_DBUS_CALL_FLAGS_NONE,
		    SBX_CTL_QUERY_TIMEOUT_MS, NULL, NULL, NULL);
	return G_SOURCE_CONTINUE;
}

static gboolean
sbx_ctl_on_term(gpointer user_data)
{
	SbxCtlRun *run = user_data;
	/* leaving the bus kills the process group (not detached) */
	run->interrupted = SIGTERM;
	g_main_loop_quit(run->loop);
	return G_SOURCE_REMOVE;
}

static void
sbx_ctl_on_wait(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxCtlRun *run = user_data;
	run->result = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &run->error);
	g_main_loop_quit(run->loop);
}

/* Spawn with our stdio, then Wait; with @tty a remote terminal in raw mode.
 * Returns sandboxctl's exit code. */
gint
sbx_ctl_proc_run(SbxCtl *ctl, const gchar *sandbox_path, gchar **command, GVariantDict *dict,
		 gboolean tty)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GUnixFDList) fd_list = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) options = NULL;
	SbxCtlRun run = {.ctl = ctl};
	guint sources[4] = {0};
	gint32 exit_status = 0, signal_number = 0;
	gboolean timed_out = FALSE;
	guint32 rows, cols;

	if (tty) {
		const gchar *term = g_getenv("TERM");
		g_variant_dict_insert(dict, "pty", "b", TRUE);
		if (sbx_ctl_window_size(&rows, &cols)) {
			g_variant_dict_insert(dict, "rows", "u", rows);
			g_variant_dict_insert(dict, "cols", "u", cols);
		}
		if (term != NULL && g_utf8_validate(term, -1, NULL)) {
			g_autoptr(GVariant) env =
			    g_variant_dict_lookup_value(dict, "env", G_VARIANT_TYPE("a{ss}"));
			g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{ss}"));
			gboolean has_term = FALSE;
			if (env != NULL) {
				GVariantIter iter;
				const gchar *k, *v;
				g_variant_iter_init(&iter, env);
				while (g_variant_iter_next(&iter, "{&s&s}", &k, &v)) {
					has_term |= g_strcmp0(k, "TERM") == 0;
					g_variant_builder_add(&b, "{ss}", k, v);
				}
			}
			if (!has_term)
				g_variant_builder_add(&b, "{ss}", "TERM", term);
			g_variant_dict_insert_value(dict, "env", g_variant_builder_end(&b));
		}
	}
	options = g_variant_ref_sink(g_variant_dict_end(dict));
	fd_list = sbx_ctl_exec_stdio_fd_list(&error);
	if (fd_list == NULL)
		return sbx_ctl_report_local_error(error);
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, sandbox_path, SBX_CTL_SANDBOX_IFACE, "Spawn",
	    sbx_ctl_exec_parameters_new(command, options), G_VARIANT_TYPE("(o)"),
	    G_DBUS_CALL_FLAGS_NONE, G_MAXINT, fd_list, NULL, NULL, &error);
	if (reply == NULL)
		return sbx_ctl_report_dbus_error(ctl, _("cannot run the command"), error);
	g_variant_get(reply, "(o)", &run.process);

	run.loop = g_main_loop_new(NULL, FALSE);
	if (tty) {
		sbx_ctl_tty_raw(&run);
		sources[0] = g_unix_signal_add(SIGWINCH, sbx_ctl_on_winch, &run);
	}
	sources[1] = g_unix_signal_add(SIGTERM, sbx_ctl_on_term, &run);
	sources[2] = g_unix_signal_add(SIGHUP, sbx_ctl_on_term, &run);
	/* without a raw terminal Ctrl-C is a signal to us: the process dies with us */
	sources[3] = g_unix_signal_add(SIGINT, sbx_ctl_on_term, &run);
	g_dbus_connection_call(ctl->connection, SBX_CTL_BUS_NAME, run.process,
			       SBX_CTL_PROCESS_IFACE, "Wait", NULL, G_VARIANT_TYPE("(iib)"),
			       G_DBUS_CALL_FLAGS_NONE, G_MAXINT, NULL, sbx_ctl_on_wait, &run);
	g_main_loop_run(run.loop);
	sbx_ctl_tty_restore(&run);
	for (guint i = 0; i < G_N_ELEMENTS(sources); i++) {
		if (sources[i] != 0)
			g_source_remove(sources[i]);
	}
	g_main_loop_unref(run.loop);
	g_free(run.process);
	if (run.interrupted != 0)
		return 128 + run.interrupted;
	if (run.result == NULL) {
		g_autoptr(GError) lost = run.error;
		return sbx_ctl_report_dbus_error(ctl, _("lost the command"), lost);
	}
	g_variant_get(run.result, "(iib)", &exit_status, &signal_number, &timed_out);
	g_variant_unref(run.result);
	if (timed_out) {
		sbx_ctl_print_error(_("the command timed out and was killed"));
		return SBX_CTL_EXIT_TIMED_OUT;
	}
	return sbx_ctl_exit_code(exit_status, signal_number);
}

gint
sbx_ctl_proc_shell_main(SbxCtl *ctl, gint argc, gchar **argv)
{
	g_auto(GStrv) env = NULL;
	g_autofree gchar *cwd = NULL;
	g_autofree gchar *user = NULL;
	const GOptionEntry entries[] = {
	    {"env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &env,
	     N_("Set an environment variable for the shell (repeatable)"), N_("KEY=VALUE")},
	    {"cwd", 'w', 0, G_OPTION_ARG_STRING, &cwd,
	     N_("Start in this absolute directory of the guest"), N_("DIR")},
	    {"user", 'u', 0, G_OPTION_ARG_STRING, &user,
	     N_("Run as this guest user (a name, or UID[:GID])"), N_("USER")},
	    {NULL},
	};
	/* a login shell: bash when the guest has it */
	gchar *command[] = {"/bin/sh", "-c",
			    "if [ -x /bin/bash ]; then exec /bin/bash -l; else exec /bin/sh -l; fi",
			    NULL};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) options = NULL;
	g_autoptr(GVariantDict) dict = NULL;
	g_auto(GStrv) args = NULL;
	g_auto(GStrv) rest = NULL;
	g_autofree gchar *path = NULL;
	gint rc = SBX_CTL_EXIT_FAILURE;

	context = sbx_ctl_option_context_new(
	    ctl, _("ID"),
	    _("Open an interactive login shell in a running sandbox on a pseudo-terminal. The "
	      "local terminal is in raw mode meanwhile: Ctrl-C and every other key reach the "
	      "guest."),
	    entries);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, &rest, &error))
		return sbx_ctl_report_local_error(error);
	if (args[0] == NULL)
		return sbx_ctl_usage_error(_("missing the sandbox id"));
	if (args[1] != NULL)
		return sbx_ctl_usage_error(_("unexpected argument '%s'"), args[1]);
	options = sbx_ctl_exec_options_to_variant((const gchar *const *)env, cwd, &error);
	if (options == NULL)
		return sbx_ctl_report_local_error(error);
	dict = g_variant_dict_new(options);
	if (!sbx_ctl_proc_add_user_option(dict, user, &error))
		return sbx_ctl_report_local_error(error);
	path = sbx_ctl_find_sandbox(ctl, args[0], &rc);
	if (path == NULL)
		return rc;
	return sbx_ctl_proc_run(ctl, path, command, dict, TRUE);
}

static gchar *
sbx_ctl_exit_column(GVariant *props)
{
	const gchar *state = "";
	gint32 status = -1, sig = 0;
	gboolean timed_out = FALSE;

	g_variant_lookup(props, "State", "&s", &state);
	g_variant_lookup(props, "ExitStatus", "i", &status);
	g_variant_lookup(props, "Signal", "i", &sig);
	g_variant_lookup(props, "TimedOut", "b", &timed_out);
	if (g_strcmp0(state, "exited") != 0)
		return g_strdup("-");
	if (timed_out)
		return g_strdup(_("timeout"));
	if (sig != 0)
		/* TRANSLATORS: the EXIT column of "ps" for a process a signal ended */
		return g_strdup_printf(_("signal %d"), sig);
	return g_strdup_printf("%d", status);
}

gint
sbx_ctl_proc_ps_main(SbxCtl *ctl, gint argc, gchar **argv)
{
	const GOptionEntry entries[] = {{NULL}};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_auto(GStrv) args = NULL;
	g_auto(GStrv) rest = NULL;
	g_autofree gchar *path = NULL;
	gint rc = SBX_CTL_EXIT_FAILURE;
	g_autofree const gchar **processes = NULL;

	context = sbx_ctl_option_context_new(
	    ctl, _("ID"),
	    _("List the processes started in a sandbox with Spawn (sandboxctl exec --tty, "
	      "shell, SDK clients): running ones and the last exited ones."),
	    entries);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, &rest, &error))
		return sbx_ctl_report_local_error(error);
	if (args[0] == NULL)
		return sbx_ctl_usage_error(_("missing the sandbox id"));
	if (args[1] != NULL)
		return sbx_ctl_usage_error(_("unexpected argument '%s'"), args[1]);
	path = sbx_ctl_find_sandbox(ctl, args[0], &rc);
	if (path == NULL)
		return rc;
	reply = g_dbus_connection_call_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, path, SBX_CTL_SANDBOX_IFACE, "ListProcesses", NULL,
	    G_VARIANT_TYPE("(ao)"), G_DBUS_CALL_FLAGS_NONE, SBX_CTL_QUERY_TIMEOUT_MS, NULL, &error);
	if (reply == NULL)
		return sbx_ctl_report_dbus_error(ctl, _("cannot list the processes"), error);
	g_variant_get(reply, "(^a&o)", &processes);
	/* TRANSLATORS: column headers of "sandboxctl ps" */
	g_print("%-8s %-8s %-10s %s\n", _("PID"), _("STATE"), _("EXIT"), _("COMMAND"));
	for (guint i = 0; processes[i] != NULL; i++) {
		g_autoptr(GVariant) all = NULL;
		g_autoptr(GVariant) props = NULL;
		g_autoptr(GError) local = NULL;
		g_autofree const gchar **cmd = NULL;
		g_autofree gchar *cmdline = NULL;
		g_autofree gchar *exit_col = NULL;
		const gchar *state = "?";
		guint32 pid = 0;

		all = g_dbus_connection_call_sync(ctl->connection, SBX_CTL_BUS_NAME, processes[i],
						  "org.freedesktop.DBus.Properties", "GetAll",
						  g_variant_new("(s)", SBX_CTL_PROCESS_IFACE),
						  G_VARIANT_TYPE("(a{sv})"), G_DBUS_CALL_FLAGS_NONE,
						  SBX_CTL_QUERY_TIMEOUT_MS, NULL, &local);
		/* it may have been pruned meanwhile */
		if (all == NULL)
			continue;
		props = g_variant_get_child_value(all, 0);
		g_variant_lookup(props, "Pid", "u", &pid);
		g_variant_lookup(props, "State", "&s", &state);
		if (!g_variant_lookup(props, "Argv", "^a&s", &cmd))
			cmd = NULL;
		cmdline = cmd != NULL ? g_strjoinv(" ", (gchar **)cmd) : g_strdup("");
		exit_col = sbx_ctl_exit_column(props);
		g_print("%-8u %-8s %-10s %s\n", pid, state, exit_col, cmdline);
	}
	return SBX_CTL_EXIT_OK;
}
