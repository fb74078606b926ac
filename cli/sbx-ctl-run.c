/* sandboxctl run: create a sandbox, run one command in it, destroy it.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>

#include "sbx-ctl.h"

typedef enum {
	SBX_CTL_RUN_CREATING,
	SBX_CTL_RUN_EXECUTING,
	SBX_CTL_RUN_KILLING,
} SbxCtlRunPhase;

typedef struct {
	SbxCtl *ctl;
	GMainLoop *loop;
	gchar **command;
	GVariant *exec_options;
	GUnixFDList *fd_list;
	gboolean session_bound;
	gchar *path;
	SbxCtlRunPhase phase;
	gint exit_code;
	gint caught_signal;
} SbxCtlRun;

static void
sbx_ctl_run_quit(SbxCtlRun *self, gint exit_code)
{
	self->exit_code = exit_code;
	g_main_loop_quit(self->loop);
}

/* the sandbox is gone already: nothing left to destroy */
static gboolean
sbx_ctl_run_error_is_gone(const GError *error)
{
	g_autofree gchar *name = g_dbus_error_get_remote_error(error);

	if (g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD))
		return TRUE;
	return g_strcmp0(name, "org.sandboxd.Error.NotFound") == 0 ||
	       g_strcmp0(name, "org.sandboxd.Error.SandboxGone") == 0;
}

static void
sbx_ctl_run_kill_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxCtlRun *self = user_data;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;

	reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);
	if (reply == NULL && !sbx_ctl_run_error_is_gone(error)) {
		/* the daemon still destroys it when we disconnect, if it is session-bound */
		sbx_ctl_report_dbus_error(self->ctl, _("cannot destroy the sandbox"), error);
	}
	g_main_loop_quit(self->loop);
}

static void
sbx_ctl_run_kill(SbxCtlRun *self)
{
	self->phase = SBX_CTL_RUN_KILLING;
	g_dbus_connection_call(self->ctl->connection, SBX_CTL_BUS_NAME, self->path,
			       SBX_CTL_SANDBOX_IFACE, "Kill", NULL, G_VARIANT_TYPE_UNIT,
			       G_DBUS_CALL_FLAGS_NONE, SBX_CTL_KILL_TIMEOUT_MS, NULL,
			       sbx_ctl_run_kill_cb, self);
}

static void
sbx_ctl_run_exec_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxCtlRun *self = user_data;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;
	gint32 exit_status = 0;
	gint32 signal_number = 0;

	reply = g_dbus_connection_call_with_unix_fd_list_finish(G_DBUS_CONNECTION(source), NULL,
								res, &error);
	/* interrupted: the Kill we sent already decides when to exit */
	if (self->phase != SBX_CTL_RUN_EXECUTING)
		return;
	if (reply == NULL) {
		self->exit_code =
		    sbx_ctl_report_dbus_error(self->ctl, _("cannot run the command"), error);
		sbx_ctl_run_kill(self);
		return;
	}
	g_variant_get(reply, "(ii)", &exit_status, &signal_number);
	self->exit_code = sbx_ctl_exit_code(exit_status, signal_number);
	sbx_ctl_run_kill(self);
}

static void
sbx_ctl_run_create_cb(GObject *source, GAsyncResult *res, gpointer user_data)
{
	SbxCtlRun *self = user_data;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GError) error = NULL;

	reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &error);
	if (reply == NULL) {
		if (self->caught_signal != 0) {
			sbx_ctl_run_quit(self, 128 + self->caught_signal);
			return;
		}
		sbx_ctl_run_quit(
		    self, sbx_ctl_report_dbus_error(self->ctl, _("cannot create sandbox"), error));
		return;
	}
	g_variant_get(reply, "(o)", &self->path);

	/* interrupted while it booted and it does not die with us: destroy it now */
	if (self->caught_signal != 0) {
		self->exit_code = 128 + self->caught_signal;
		sbx_ctl_run_kill(self);
		return;
	}

	self->phase = SBX_CTL_RUN_EXECUTING;
	g_dbus_connection_call_with_unix_fd_list(
	    self->ctl->connection, SBX_CTL_BUS_NAME, self->path, SBX_CTL_SANDBOX_IFACE, "Exec",
	    sbx_ctl_exec_parameters_new(self->command, self->exec_options), G_VARIANT_TYPE("(ii)"),
	    G_DBUS_CALL_FLAGS_NONE, G_MAXINT, self->fd_list, NULL, sbx_ctl_run_exec_cb, self);
}

static gboolean
sbx_ctl_run_signal_cb(gpointer user_data, gint signal_number)
{
	SbxCtlRun *self = user_data;

	/* a second signal: stop waiting for the daemon */
	if (self->caught_signal != 0) {
		sbx_ctl_run_quit(self, 128 + self->caught_signal);
		return G_SOURCE_CONTINUE;
	}
	self->caught_signal = signal_number;
	self->exit_code = 128 + signal_number;
	switch (self->phase) {
	case SBX_CTL_RUN_CREATING:
		/* a session-bound sandbox is destroyed by the daemon when we disconnect */
		if (self->session_bound)
			sbx_ctl_run_quit(self, 128 + signal_number);
		break;
	case SBX_CTL_RUN_EXECUTING:
		sbx_ctl_run_kill(self);
		break;
	case SBX_CTL_RUN_KILLING:
	default:
		break;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
sbx_ctl_run_sigint_cb(gpointer user_data)
{
	return sbx_ctl_run_signal_cb(user_data, SIGINT);
}

static gboolean
sbx_ctl_run_sigterm_cb(gpointer user_data)
{
	return sbx_ctl_run_signal_cb(user_data, SIGTERM);
}

static gboolean
sbx_ctl_run_sighup_cb(gpointer user_data)
{
	return sbx_ctl_run_signal_cb(user_data, SIGHUP);
}

gint
sbx_ctl_run_main(SbxCtl *ctl, gint argc, gchar **argv)
{
	SbxCtlCreateOptions opts = {0};
	g_autofree gchar *cwd = NULL;
	const GOptionEntry entries[] = {
	    {"cwd", 'w', 0, G_OPTION_ARG_STRING, &cwd,
	     N_("Run the command in this absolute directory of the guest"),
	     /* TRANSLATORS: placeholder of --cwd */
	     N_("DIR")},
	    {NULL},
	};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) create_options = NULL;
	g_autoptr(GVariant) exec_options = NULL;
	g_autoptr(GUnixFDList) fd_list = NULL;
	g_autoptr(GMainLoop) loop = NULL;
	g_auto(GStrv) args = NULL;
	g_auto(GStrv) command = NULL;
	SbxCtlRun self = {0};
	guint signal_ids[3] = {0};
	gint rc;

	context = sbx_ctl_option_context_new(
	    ctl,
	    /* TRANSLATORS: the command line of "sandboxctl run"; "--" is literal */
	    _("-- COMMAND [ARGUMENT…]"),
	    _("Boot a new sandbox, run one command in it with the standard input, output and "
	      "error of sandboxctl, then destroy the sandbox. The sandbox is also destroyed when "
	      "sandboxctl is interrupted or exits. Exits with the command's exit code, or 128+N "
	      "when a signal N killed it."),
	    entries);
	sbx_ctl_create_options_add_entries(&opts, context, TRUE);
	if (!sbx_ctl_parse_command_line(context, argc, argv, TRUE, &args, &command, &error)) {
		rc = sbx_ctl_report_local_error(error);
		sbx_ctl_create_options_clear(&opts);
		return rc;
	}
	if (args[0] != NULL) {
		sbx_ctl_create_options_clear(&opts);
		return sbx_ctl_usage_error(_("unexpected argument '%s'"), args[0]);
	}
	/* "session": the daemon destroys the sandbox if we go away without Kill */
	self.session_bound = opts.timeout == NULL;
	create_options = sbx_ctl_create_options_to_variant(&opts, "session", &error);
	sbx_ctl_create_options_clear(&opts);
	if (create_options == NULL)
		return sbx_ctl_report_local_error(error);
	exec_options = sbx_ctl_exec_options_to_variant(NULL, cwd, &error);
	if (exec_options == NULL)
		return sbx_ctl_report_local_error(error);
	fd_list = sbx_ctl_exec_stdio_fd_list(&error);
	if (fd_list == NULL)
		return sbx_ctl_report_local_error(error);
	if (!sbx_ctl_connect(ctl, &error))
		return sbx_ctl_report_local_error(error);

	loop = g_main_loop_new(NULL, FALSE);
	self.ctl = ctl;
	self.loop = loop;
	self.command = command;
	self.exec_options = exec_options;
	self.fd_list = fd_list;
	self.phase = SBX_CTL_RUN_CREATING;
	self.exit_code = SBX_CTL_EXIT_FAILURE;
	signal_ids[0] = g_unix_signal_add(SIGINT, sbx_ctl_run_sigint_cb, &self);
	signal_ids[1] = g_unix_signal_add(SIGTERM, sbx_ctl_run_sigterm_cb, &self);
	signal_ids[2] = g_unix_signal_add(SIGHUP, sbx_ctl_run_sighup_cb, &self);

	g_dbus_connection_call(
	    ctl->connection, SBX_CTL_BUS_NAME, SBX_CTL_MANAGER_PATH, SBX_CTL_MANAGER_IFACE,
	    "CreateSandbox", g_variant_new("(@a{sv})", create_options), G_VARIANT_TYPE("(o)"),
	    G_DBUS_CALL_FLAGS_NONE, G_MAXINT, NULL, sbx_ctl_run_create_cb, &self);
	g_main_loop_run(loop);

	for (guint i = 0; i < G_N_ELEMENTS(signal_ids); i++)
		g_source_remove(signal_ids[i]);
	g_free(self.path);
	return self.exit_code;
}
