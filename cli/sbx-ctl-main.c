/* sandboxctl: command-line client of sandboxd.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "sbx-ctl.h"

typedef struct {
	const gchar *name;
	SbxCtlCommandFunc func;
	const gchar *summary;
} SbxCtlCommand;

static const SbxCtlCommand sbx_ctl_commands[] = {
    /* TRANSLATORS: the summaries are shown by "sandboxctl --help" next to the command */
    {"create", sbx_ctl_create_main, N_("Boot a sandbox that outlives sandboxctl; print its id")},
    {"exec", sbx_ctl_exec_main, N_("Run a command in a running sandbox")},
    {"shell", sbx_ctl_proc_shell_main, N_("Open an interactive shell in a running sandbox")},
    {"ps", sbx_ctl_proc_ps_main, N_("List the processes spawned in a sandbox")},
    {"run", sbx_ctl_run_main, N_("Boot a sandbox, run one command in it, destroy it")},
    {"list", sbx_ctl_list_main, N_("List sandboxes")},
    {"kill", sbx_ctl_list_kill_main, N_("Destroy a sandbox")},
    {"extend", sbx_ctl_extend_main, N_("Let a sandbox with a timeout live longer")},
    {"logs", sbx_ctl_logs_main, N_("Print a sandbox's console or event log")},
    {"status", sbx_ctl_status_main, N_("Summarize the daemon's sandboxes and resources")},
    {"cp", sbx_ctl_cp_main, N_("Copy files and directories into or out of a sandbox")},
    {"volume", sbx_ctl_volume_main,
     N_("Create, list, inspect, resize, snapshot and delete durable volumes")},
    {"token", sbx_ctl_token_main, N_("Create, list and revoke access tokens for the gateway")},
    {"image", sbx_ctl_image_main, N_("Take an image's snapshot ahead (image warm)")},
};

static gchar *
sbx_ctl_commands_description(void)
{
	GString *str = g_string_new(_("Commands:"));

	g_string_append_c(str, '\n');
	for (guint i = 0; i < G_N_ELEMENTS(sbx_ctl_commands); i++)
		g_string_append_printf(str, "  %-10s%s\n", sbx_ctl_commands[i].name,
				       _(sbx_ctl_commands[i].summary));
	g_string_append_c(str, '\n');
	g_string_append(str, _("Run 'sandboxctl COMMAND --help' for the options of a command."));
	g_string_append_c(str, '\n');
	/* TRANSLATORS: keep the numbers; they are the documented exit codes */
	g_string_append(str,
			_("Exit status: 0 on success, 1 on failure, 2 on a usage error; "
			  "exec and run exit with the command's status (128+N for signal N)."));
	return g_string_free(str, FALSE);
}

static const SbxCtlCommand *
sbx_ctl_find_command(const gchar *name)
{
	for (guint i = 0; i < G_N_ELEMENTS(sbx_ctl_commands); i++) {
		if (g_strcmp0(sbx_ctl_commands[i].name, name) == 0)
			return &sbx_ctl_commands[i];
	}
	return NULL;
}

static void
sbx_ctl_clear(SbxCtl *ctl)
{
	g_clear_object(&ctl->connection);
	g_clear_pointer(&ctl->address, g_free);
}

int
main(int argc, char **argv)
{
	SbxCtl ctl = {0};
	gboolean version = FALSE;
	const GOptionEntry entries[] = {
	    {"version", '\0', 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"),
	     NULL},
	    {NULL},
	};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree gchar *description = NULL;
	g_autofree gchar *prgname = NULL;
	const SbxCtlCommand *command;
	gint rc;

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	g_set_prgname("sandboxctl");

	context = sbx_ctl_option_context_new(
	    &ctl,
	    /* TRANSLATORS: the command line of sandboxctl */
	    _("COMMAND [OPTION…]"), _("Create, use and destroy sandboxd microVMs."), entries);
	/* stop at the command name: what follows belongs to the command */
	g_option_context_set_strict_posix(context, TRUE);
	description = sbx_ctl_commands_description();
	g_option_context_set_description(context, description);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		rc = sbx_ctl_report_local_error(error);
		sbx_ctl_clear(&ctl);
		return rc;
	}
	if (version) {
		g_print("sandboxctl %s\n", PACKAGE_VERSION);
		sbx_ctl_clear(&ctl);
		return SBX_CTL_EXIT_OK;
	}
	if (argc < 2) {
		sbx_ctl_clear(&ctl);
		return sbx_ctl_usage_error(
		    _("missing command (create, exec, shell, ps, run, list or kill); see --help"));
	}
	command = sbx_ctl_find_command(argv[1]);
	if (command == NULL) {
		g_autofree gchar *shown = g_utf8_make_valid(argv[1], -1);
		sbx_ctl_clear(&ctl);
		return sbx_ctl_usage_error(_("unknown command '%s'; see --help"), shown);
	}

	/* "Usage: sandboxctl exec ..." in the command's --help */
	prgname = g_strdup_printf("sandboxctl %s", command->name);
	g_set_prgname(prgname);
	rc = command->func(&ctl, argc - 1, argv + 1);
	sbx_ctl_clear(&ctl);
	return rc;
}
