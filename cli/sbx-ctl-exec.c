/* sandboxctl exec: run a command in an existing sandbox with our own stdio.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "sbx-ctl.h"

/* the a{sv} of Sandbox1.Exec */
GVariant *
sbx_ctl_exec_options_to_variant(const gchar *const *env, const gchar *cwd, GError **error)
{
	g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);

	if (env != NULL) {
		GVariant *value = sbx_ctl_parse_pairs(env, "--env", error);
		if (value == NULL)
			return NULL;
		g_variant_builder_add(&builder, "{sv}", "env", value);
	}
	if (cwd != NULL) {
		if (!g_utf8_validate(cwd, -1, NULL)) {
			g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
					    _("--cwd: value is not valid UTF-8"));
			return NULL;
		}
		g_variant_builder_add(&builder, "{sv}", "cwd", g_variant_new_string(cwd));
	}
	return g_variant_ref_sink(g_variant_builder_end(&builder));
}

/* our fds 0, 1 and 2 (duplicated), so the daemon reads and writes them directly;
 * a closed one is replaced by /dev/null */
GUnixFDList *
sbx_ctl_exec_stdio_fd_list(GError **error)
{
	g_autoptr(GUnixFDList) fd_list = g_unix_fd_list_new();

	for (gint fd = 0; fd <= 2; fd++) {
		g_autoptr(GError) error_local = NULL;

		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
			gint null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
			gint rc;

			if (null_fd < 0) {
				g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno),
					    _("cannot open /dev/null: %s"), g_strerror(errno));
				return NULL;
			}
			rc = g_unix_fd_list_append(fd_list, null_fd, error);
			g_close(null_fd, NULL);
			if (rc < 0)
				return NULL;
			continue;
		}
		if (g_unix_fd_list_append(fd_list, fd, error) < 0)
			return NULL;
	}
	return g_steal_pointer(&fd_list);
}

/* the parameters of Sandbox1.Exec: the handles index the list from sbx_ctl_exec_stdio_fd_list() */
GVariant *
sbx_ctl_exec_parameters_new(gchar **command, GVariant *options)
{
	return g_variant_new("(^as@a{sv}hhh)", command, options, 0, 1, 2);
}

gint
sbx_ctl_exec_main(SbxCtl *ctl, gint argc, gchar **argv)
{
	g_auto(GStrv) env = NULL;
	g_autofree gchar *cwd = NULL;
	g_autofree gchar *timeout = NULL;
	g_autofree gchar *user = NULL;
	gboolean tty = FALSE;
	const GOptionEntry entries[] = {
	    {"env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &env,
	     N_("Set an environment variable for this command (repeatable)"),
	     /* TRANSLATORS: placeholder of --env; keep KEY=VALUE recognisable */
	     N_("KEY=VALUE")},
	    {"cwd", 'w', 0, G_OPTION_ARG_STRING, &cwd,
	     N_("Run the command in this absolute directory of the guest"),
	     /* TRANSLATORS: placeholder of --cwd */
	     N_("DIR")},
	    {"timeout", 't', 0, G_OPTION_ARG_STRING, &timeout,
	     N_("Kill the command's process group after this long (e.g. 500ms, 30s, 5m); exit "
		"status 124"),
	     /* TRANSLATORS: placeholder of --timeout */
	     N_("DURATION")},
	    {"user", 'u', 0, G_OPTION_ARG_STRING, &user,
	     N_("Run as this guest user: a name from the guest's /etc/passwd, or UID[:GID]"),
	     /* TRANSLATORS: placeholder of --user */
	     N_("USER")},
	    {"tty", 'T', 0, G_OPTION_ARG_NONE, &tty,
	     N_("Run on a pseudo-terminal, with the local terminal in raw mode"), NULL},
	    {NULL},
	};
	g_autoptr(GVariantDict) dict = NULL;
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) options = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GUnixFDList) fd_list = NULL;
	g_auto(GStrv) args = NULL;
	g_auto(GStrv) command = NULL;
	g_autofree gchar *path = NULL;
	gint rc = SBX_CTL_EXIT_FAILURE;
	gint32 exit_status = 0;
	gint32 signal_number = 0;

	context = sbx_ctl_option_context_new(
	    ctl,
	    /* TRANSLATORS: the command line of "sandboxctl exec"; "--" is literal */
	    _("ID -- COMMAND [ARGUMENT…]"),
	    _("Run a command in a running sandbox. Its standard input, output and error are "
	      "those of sandboxctl; sandboxctl exits with the command's exit code, or 128+N "
	      "when a signal N killed it."),
	    entries);
	if (!sbx_ctl_parse_command_line(context, argc, argv, TRUE, &args, &command, &error))
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
	if (timeout != NULL) {
		if (!g_utf8_validate(timeout, -1, NULL)) {
			g_set_error_literal(&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
					    _("--timeout: value is not valid UTF-8"));
			return sbx_ctl_report_local_error(error);
		}
		/* the daemon checks it: "500ms", "30s", "5m", "1h" or seconds */
		g_variant_dict_insert(dict, "timeout", "s", timeout);
	}
	fd_list = sbx_ctl_exec_stdio_fd_list(&error);
	if (fd_list == NULL)
		return sbx_ctl_report_local_error(error);
	path = sbx_ctl_find_sandbox(ctl, args[0], &rc);
	if (path == NULL)
		return rc;
	/* a terminal and a timeout need the Process1 object */
	if (tty || timeout != NULL)
		return sbx_ctl_proc_run(ctl, path, command, dict, tty);
	/* keep the caller's order of keys unless --user added some */
	if (user != NULL) {
		g_clear_pointer(&options, g_variant_unref);
		options = g_variant_ref_sink(g_variant_dict_end(dict));
	}
	/* no timeout: the command may run for as long as the sandbox lives */
	reply = g_dbus_connection_call_with_unix_fd_list_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, path, SBX_CTL_SANDBOX_IFACE, "Exec",
	    sbx_ctl_exec_parameters_new(command, options), G_VARIANT_TYPE("(ii)"),
	    G_DBUS_CALL_FLAGS_NONE, G_MAXINT, fd_list, NULL, NULL, &error);
	if (reply == NULL)
		return sbx_ctl_report_dbus_error(ctl, _("cannot run the command"), error);
	g_variant_get(reply, "(ii)", &exit_status, &signal_number);
	return sbx_ctl_exit_code(exit_status, signal_number);
}
