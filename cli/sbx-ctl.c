/* sandboxctl: bus connection, error reporting and argument helpers.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "sbx-ctl.h"

static void
sbx_ctl_vprint_error(const gchar *format, va_list args)
{
	g_autofree gchar *msg = g_strdup_vprintf(format, args);

	/* one line only: a remote message may carry newlines */
	g_strdelimit(msg, "\r\n", ' ');
	g_printerr("sandboxctl: %s\n", msg);
}

void
sbx_ctl_print_error(const gchar *format, ...)
{
	va_list args;

	va_start(args, format);
	sbx_ctl_vprint_error(format, args);
	va_end(args);
}

gint
sbx_ctl_usage_error(const gchar *format, ...)
{
	va_list args;

	va_start(args, format);
	sbx_ctl_vprint_error(format, args);
	va_end(args);
	return SBX_CTL_EXIT_USAGE;
}

/* a GError produced in this process: G_OPTION_ERROR means the user typed something wrong */
gint
sbx_ctl_report_local_error(GError *error)
{
	sbx_ctl_print_error("%s", error->message);
	if (error->domain == G_OPTION_ERROR)
		return SBX_CTL_EXIT_USAGE;
	return SBX_CTL_EXIT_FAILURE;
}

const gchar *
sbx_ctl_bus_description(SbxCtl *ctl)
{
	switch (ctl->bus_kind) {
	case SBX_CTL_BUS_SESSION:
		return _("the session bus");
	case SBX_CTL_BUS_ADDRESS:
		/* TRANSLATORS: used as "cannot reach sandboxd on the given bus address: ..." */
		return _("the given bus address");
	case SBX_CTL_BUS_DEFAULT:
	case SBX_CTL_BUS_SYSTEM:
	default:
		return _("the system bus");
	}
}

gint
sbx_ctl_report_dbus_error(SbxCtl *ctl, const gchar *what, GError *error)
{
	gboolean unreachable =
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_FAILED) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_EXEC_FAILED) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_CHILD_EXITED) ||
	    g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND);

	g_autofree gchar *remote = g_dbus_error_get_remote_error(error);

	if (g_dbus_error_is_remote_error(error))
		g_dbus_error_strip_remote_error(error);
	/* Exec with a "timeout": the daemon killed the command */
	if (g_strcmp0(remote, "org.sandboxd.Error.TimedOut") == 0) {
		sbx_ctl_print_error(_("the command timed out and was killed"));
		return SBX_CTL_EXIT_TIMED_OUT;
	}
	if (unreachable) {
		/* TRANSLATORS: the first %s is a bus, e.g. "the system bus" */
		sbx_ctl_print_error(_("cannot reach sandboxd on %s: %s"),
				    sbx_ctl_bus_description(ctl), error->message);
	} else if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CLOSED)) {
		sbx_ctl_print_error(_("lost the connection to %s: %s"),
				    sbx_ctl_bus_description(ctl), error->message);
	} else if (what != NULL) {
		/* TRANSLATORS: "<what failed>: <reason>", e.g. "cannot create sandbox: ..." */
		sbx_ctl_print_error(_("%s: %s"), what, error->message);
	} else {
		sbx_ctl_print_error("%s", error->message);
	}
	return SBX_CTL_EXIT_FAILURE;
}

gboolean
sbx_ctl_connect(SbxCtl *ctl, GError **error)
{
	g_autoptr(GError) error_local = NULL;
	const gchar *env_address = g_getenv("SANDBOXCTL_BUS_ADDRESS");

	if (ctl->connection != NULL)
		return TRUE;

	/* explicit flags win over the environment, which wins over the system bus */
	if (ctl->bus_kind == SBX_CTL_BUS_DEFAULT && env_address != NULL && env_address[0] != '\0') {
		ctl->bus_kind = SBX_CTL_BUS_ADDRESS;
		ctl->address = g_strdup(env_address);
	}

	switch (ctl->bus_kind) {
	case SBX_CTL_BUS_ADDRESS:
		if (!g_dbus_is_address(ctl->address)) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    _("invalid D-Bus address '%s'"), ctl->address);
			return FALSE;
		}
		ctl->connection = g_dbus_connection_new_for_address_sync(
		    ctl->address,
		    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		    NULL, NULL, &error_local);
		break;
	case SBX_CTL_BUS_SESSION:
		ctl->connection = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &error_local);
		break;
	case SBX_CTL_BUS_DEFAULT:
	case SBX_CTL_BUS_SYSTEM:
	default:
		ctl->connection = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error_local);
		break;
	}
	if (ctl->connection == NULL) {
		/* TRANSLATORS: the first %s is a bus, e.g. "the system bus" */
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
			    _("cannot reach sandboxd on %s: %s"), sbx_ctl_bus_description(ctl),
			    error_local->message);
		return FALSE;
	}
	/* we handle the bus going away ourselves, as an error of the pending call */
	g_dbus_connection_set_exit_on_close(ctl->connection, FALSE);
	return TRUE;
}

static gboolean
sbx_ctl_option_bus_system_cb(const gchar *option_name, const gchar *value, gpointer data,
			     GError **error)
{
	SbxCtl *ctl = data;

	ctl->bus_kind = SBX_CTL_BUS_SYSTEM;
	return TRUE;
}

static gboolean
sbx_ctl_option_bus_session_cb(const gchar *option_name, const gchar *value, gpointer data,
			      GError **error)
{
	SbxCtl *ctl = data;

	ctl->bus_kind = SBX_CTL_BUS_SESSION;
	return TRUE;
}

static gboolean
sbx_ctl_option_bus_address_cb(const gchar *option_name, const gchar *value, gpointer data,
			      GError **error)
{
	SbxCtl *ctl = data;

	g_free(ctl->address);
	ctl->address = g_strdup(value);
	ctl->bus_kind = SBX_CTL_BUS_ADDRESS;
	return TRUE;
}

/* every context's main group holds the bus options, so they are accepted before the
 * command and after it, and shown in every --help */
GOptionContext *
sbx_ctl_option_context_new(SbxCtl *ctl, const gchar *parameter_string, const gchar *summary,
			   const GOptionEntry *entries)
{
	const GOptionEntry bus_entries[] = {
	    {"system", '\0', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,
	     sbx_ctl_option_bus_system_cb, N_("Talk to sandboxd on the system bus (the default)"),
	     NULL},
	    {"session", '\0', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,
	     sbx_ctl_option_bus_session_cb, N_("Talk to sandboxd on the session bus"), NULL},
	    {"address", '\0', 0, G_OPTION_ARG_CALLBACK, sbx_ctl_option_bus_address_cb,
	     /* TRANSLATORS: --address; SANDBOXCTL_BUS_ADDRESS is an environment variable */
	     N_("Talk to sandboxd on the bus at ADDRESS (also $SANDBOXCTL_BUS_ADDRESS)"),
	     /* TRANSLATORS: placeholder of --address */
	     N_("ADDRESS")},
	    {NULL},
	};
	GOptionContext *context = g_option_context_new(parameter_string);
	GOptionGroup *group = g_option_group_new(NULL, NULL, NULL, ctl, NULL);

	g_option_context_set_main_group(context, group);
	g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
	if (summary != NULL)
		g_option_context_set_summary(context, summary);
	if (entries != NULL)
		g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	g_option_context_add_main_entries(context, bus_entries, GETTEXT_PACKAGE);
	return context;
}

/* Parse the options of one command. argv[0] is "sandboxctl COMMAND". The words before the
 * first "--" are options and positional arguments (returned in @args_out, without argv[0]);
 * with @want_command the words after it are the command to run in the sandbox. */
gboolean
sbx_ctl_parse_command_line(GOptionContext *context, gint argc, gchar **argv, gboolean want_command,
			   gchar ***args_out, gchar ***command_out, GError **error)
{
	g_autoptr(GPtrArray) opts = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) opts_strv = NULL;
	g_auto(GStrv) command = NULL;
	gint separator = -1;

	if (want_command) {
		for (gint i = 1; i < argc; i++) {
			if (g_strcmp0(argv[i], "--") == 0) {
				separator = i;
				break;
			}
		}
	}
	for (gint i = 0; i < (separator >= 0 ? separator : argc); i++)
		g_ptr_array_add(opts, g_strdup(argv[i]));
	g_ptr_array_add(opts, NULL);
	opts_strv = (gchar **)g_ptr_array_steal(opts, NULL);

	/* g_option_context_parse_strv() frees the words it consumes */
	if (!g_option_context_parse_strv(context, &opts_strv, error))
		return FALSE;

	if (want_command) {
		if (separator < 0) {
			g_set_error_literal(
			    error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
			    /* TRANSLATORS: "--" must be typed literally */
			    _("missing '--' before the command to run in the sandbox"));
			return FALSE;
		}
		if (separator + 1 >= argc) {
			g_set_error_literal(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
					    _("missing the command to run after '--'"));
			return FALSE;
		}
		command = g_strdupv(argv + separator + 1);
		if (!sbx_ctl_check_utf8((const gchar *const *)command, error))
			return FALSE;
	}
	if (!sbx_ctl_check_utf8((const gchar *const *)opts_strv, error))
		return FALSE;

	if (args_out != NULL)
		*args_out = g_strdupv(opts_strv[0] != NULL ? opts_strv + 1 : opts_strv);
	if (command_out != NULL)
		*command_out = g_steal_pointer(&command);
	return TRUE;
}

/* D-Bus strings must be UTF-8; refuse here rather than trip a GVariant critical */
gboolean
sbx_ctl_check_utf8(const gchar *const *strv, GError **error)
{
	for (guint i = 0; strv != NULL && strv[i] != NULL; i++) {
		if (!g_utf8_validate(strv[i], -1, NULL)) {
			g_autofree gchar *shown = g_utf8_make_valid(strv[i], -1);
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    _("argument '%s' is not valid UTF-8"), shown);
			return FALSE;
		}
	}
	return TRUE;
}

/* K=V words into an a{ss}; a later word with the same key wins */
GVariant *
sbx_ctl_parse_pairs(const gchar *const *pairs, const gchar *option_name, GError **error)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GList) keys = NULL;
	GVariantBuilder builder;

	for (guint i = 0; pairs != NULL && pairs[i] != NULL; i++) {
		const gchar *eq = strchr(pairs[i], '=');

		if (!g_utf8_validate(pairs[i], -1, NULL)) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    /* TRANSLATORS: %s is an option name such as --env */
				    _("%s: value is not valid UTF-8"), option_name);
			return NULL;
		}
		if (eq == NULL || eq == pairs[i]) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    /* TRANSLATORS: the first %s is an option such as --env, the
				     * second what the user typed; KEY=VALUE is the expected form */
				    _("%s: expected KEY=VALUE, got '%s'"), option_name, pairs[i]);
			return NULL;
		}
		g_hash_table_replace(seen, g_strndup(pairs[i], eq - pairs[i]), g_strdup(eq + 1));
	}

	g_variant_builder_init(&builder, G_VARIANT_TYPE("a{ss}"));
	keys = g_list_sort(g_hash_table_get_keys(seen), (GCompareFunc)g_strcmp0);
	for (GList *l = keys; l != NULL; l = l->next) {
		const gchar *key = l->data;
		g_variant_builder_add(&builder, "{ss}", key,
				      (const gchar *)g_hash_table_lookup(seen, key));
	}
	return g_variant_builder_end(&builder);
}

gboolean
sbx_ctl_parse_uint(const gchar *str, const gchar *option_name, guint32 *value, GError **error)
{
	guint64 tmp = 0;

	if (!g_ascii_string_to_unsigned(str, 10, 1, G_MAXUINT32, &tmp, NULL)) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    /* TRANSLATORS: the first %s is an option such as --memory */
			    _("%s: expected a positive whole number, got '%s'"), option_name, str);
		return FALSE;
	}
	*value = (guint32)tmp;
	return TRUE;
}

/* the object path of sandbox @id */
gchar *
sbx_ctl_get_sandbox(SbxCtl *ctl, const gchar *id, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	gchar *path = NULL;

	reply = g_dbus_connection_call_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, SBX_CTL_MANAGER_PATH, SBX_CTL_MANAGER_IFACE,
	    "GetSandbox", g_variant_new("(s)", id), G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE,
	    SBX_CTL_QUERY_TIMEOUT_MS, NULL, error);
	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(o)", &path);
	return path;
}

/* connects and looks up @id; on failure says why and sets *exit_code */
gchar *
sbx_ctl_find_sandbox(SbxCtl *ctl, const gchar *id, gint *exit_code)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *what = NULL;
	gchar *path;

	if (!sbx_ctl_connect(ctl, &error)) {
		*exit_code = sbx_ctl_report_local_error(error);
		return NULL;
	}
	path = sbx_ctl_get_sandbox(ctl, id, &error);
	if (path == NULL) {
		/* TRANSLATORS: %s is a sandbox id */
		what = g_strdup_printf(_("cannot find sandbox '%s'"), id);
		*exit_code = sbx_ctl_report_dbus_error(ctl, what, error);
	}
	return path;
}

/* the shell's convention: 128+N for a process killed by signal N */
gint
sbx_ctl_exit_code(gint32 exit_status, gint32 signal_number)
{
	if (signal_number > 0 && signal_number < 128)
		return 128 + signal_number;
	if (exit_status < 0 || exit_status > 255)
		return SBX_CTL_EXIT_FAILURE;
	return exit_status;
}
