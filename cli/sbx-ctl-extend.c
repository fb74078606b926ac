/* sandboxctl extend ID DURATION: ExtendTimeout
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "sbx-ctl.h"
#include "sbx-duration.h"

/* "90", "30s", "5m", "1h" -> seconds (1 .. G_MAXUINT32) */
static gboolean
parse_duration(const gchar *text, guint32 *seconds)
{
	guint64 n = 0;

	if (!sbx_duration_parse(text, &n) || n == 0 || n > G_MAXUINT32)
		return FALSE;
	*seconds = (guint32)n;
	return TRUE;
}

gint
sbx_ctl_extend_main(SbxCtl *ctl, gint argc, gchar **argv)
{
	gint rc = SBX_CTL_EXIT_FAILURE;
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_auto(GStrv) args = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *what = NULL;
	g_autoptr(GDateTime) when = NULL;
	g_autofree gchar *printed = NULL;
	guint32 seconds = 0;
	guint64 expires_at = 0;

	context = sbx_ctl_option_context_new(
	    ctl, _("ID DURATION"),
	    _("Let a sandbox created with a timeout live DURATION longer (90, 30s, 5m, 1h).\n"
	      "The daemon adds at most its [daemon] ExtendStepSec per call and never goes\n"
	      "beyond MaxLifetimeSec from now; the new expiry is printed."),
	    NULL);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, NULL, &error))
		return sbx_ctl_report_local_error(error);
	if (args[0] == NULL)
		return sbx_ctl_usage_error(_("missing the sandbox id"));
	if (args[1] == NULL)
		return sbx_ctl_usage_error(_("missing the duration"));
	if (args[2] != NULL)
		return sbx_ctl_usage_error(_("unexpected argument '%s'"), args[2]);
	if (!parse_duration(args[1], &seconds))
		/* TRANSLATORS: %s is what the user typed */
		return sbx_ctl_usage_error(_("'%s' is not a duration such as 90, 30s, 5m or 1h"),
					   args[1]);
	path = sbx_ctl_find_sandbox(ctl, args[0], &rc);
	if (path == NULL)
		return rc;
	reply = g_dbus_connection_call_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, path, SBX_CTL_SANDBOX_IFACE, "ExtendTimeout",
	    g_variant_new("(u)", seconds), G_VARIANT_TYPE("(t)"), G_DBUS_CALL_FLAGS_NONE,
	    SBX_CTL_QUERY_TIMEOUT_MS, NULL, &error);
	if (reply == NULL) {
		/* TRANSLATORS: %s is a sandbox id */
		what = g_strdup_printf(_("cannot extend sandbox '%s'"), args[0]);
		return sbx_ctl_report_dbus_error(ctl, what, error);
	}
	g_variant_get(reply, "(t)", &expires_at);
	when = g_date_time_new_from_unix_local((gint64)(expires_at / G_USEC_PER_SEC));
	printed = when != NULL ? g_date_time_format(when, "%Y-%m-%d %H:%M:%S %Z") : NULL;
	/* TRANSLATORS: %s is a date and time */
	g_print(_("expires at %s\n"), printed != NULL ? printed : "?");
	return SBX_CTL_EXIT_OK;
}
