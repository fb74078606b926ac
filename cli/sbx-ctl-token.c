/* sandboxctl token create|list|revoke: the access tokens the gateway's
 * clients (the @deno/sandbox SDK's DENO_DEPLOY_TOKEN) act for you with.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "sbx-ctl.h"

static GVariant *
call_manager(SbxCtl *ctl, const gchar *method, GVariant *params, const gchar *reply_type,
	     GError **error)
{
	return g_dbus_connection_call_sync(ctl->connection, SBX_CTL_BUS_NAME, SBX_CTL_MANAGER_PATH,
					   SBX_CTL_MANAGER_IFACE, method, params,
					   G_VARIANT_TYPE(reply_type), G_DBUS_CALL_FLAGS_NONE,
					   SBX_CTL_QUERY_TIMEOUT_MS, NULL, error);
}

static gint
token_list(SbxCtl *ctl, GError **error)
{
	g_autoptr(GVariant) reply = call_manager(ctl, "ListTokens", NULL, "(a(st))", error);
	g_autoptr(GVariantIter) iter = NULL;
	const gchar *name;
	guint64 created;

	if (reply == NULL)
		return sbx_ctl_report_dbus_error(ctl, _("cannot list tokens"), *error);
	g_variant_get(reply, "(a(st))", &iter);
	/* TRANSLATORS: column headings of "sandboxctl token list" */
	g_print("%-32s %s\n", _("NAME"), _("CREATED"));
	while (g_variant_iter_next(iter, "(&st)", &name, &created)) {
		g_autoptr(GDateTime) when = g_date_time_new_from_unix_local((gint64)created);
		g_autofree gchar *printed =
		    when != NULL ? g_date_time_format(when, "%Y-%m-%d %H:%M:%S") : NULL;
		g_print("%-32s %s\n", name, printed != NULL ? printed : "?");
	}
	return SBX_CTL_EXIT_OK;
}

gint
sbx_ctl_token_main(SbxCtl *ctl, gint argc, gchar **argv)
{
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_auto(GStrv) args = NULL;
	const gchar *verb;

	context = sbx_ctl_option_context_new(
	    ctl, _("create NAME | list | revoke NAME"),
	    _("Manage your access tokens for sandboxd-gateway (the @deno/sandbox SDK's\n"
	      "DENO_DEPLOY_TOKEN). A token acts for you: sandboxes made with it are yours.\n"
	      "create prints the new token once; sandboxd keeps only its SHA-256."),
	    NULL);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, NULL, &error))
		return sbx_ctl_report_local_error(error);
	verb = args[0];
	if (verb == NULL)
		return sbx_ctl_usage_error(_("missing create, list or revoke"));
	if (g_str_equal(verb, "list") ? args[1] != NULL : args[1] == NULL || args[2] != NULL)
		return sbx_ctl_usage_error(_("usage: token create NAME | list | revoke NAME"));
	if (!g_str_equal(verb, "create") && !g_str_equal(verb, "list") &&
	    !g_str_equal(verb, "revoke"))
		/* TRANSLATORS: %s is what the user typed */
		return sbx_ctl_usage_error(_("unknown token command '%s'"), verb);
	if (!sbx_ctl_connect(ctl, &error))
		return sbx_ctl_report_local_error(error);
	if (g_str_equal(verb, "list"))
		return token_list(ctl, &error);
	if (g_str_equal(verb, "create")) {
		const gchar *token = NULL;
		reply =
		    call_manager(ctl, "CreateToken", g_variant_new("(s)", args[1]), "(s)", &error);
		if (reply == NULL)
			return sbx_ctl_report_dbus_error(ctl, _("cannot create the token"), error);
		g_variant_get(reply, "(&s)", &token);
		g_print("%s\n", token);
		return SBX_CTL_EXIT_OK;
	}
	reply = call_manager(ctl, "RevokeToken", g_variant_new("(s)", args[1]), "()", &error);
	if (reply == NULL)
		return sbx_ctl_report_dbus_error(ctl, _("cannot revoke the token"), error);
	return SBX_CTL_EXIT_OK;
}
