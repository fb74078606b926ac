/* sandboxctl image warm IMAGE [--memory N] [--vcpus N]: Manager1.WarmImage
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "sbx-ctl.h"

/* a cold boot and a template's boot and save: minutes under emulation */
#define WARM_TIMEOUT_MS (15 * 60 * 1000)

static gint
cmd_warm(SbxCtl *ctl, gint argc, gchar **argv)
{
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_auto(GStrv) args = NULL;
	g_autofree gchar *memory = NULL;
	g_autofree gchar *vcpus = NULL;
	g_autofree gchar *what = NULL;
	g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	const GOptionEntry entries[] = {
	    {"memory", 'm', 0, G_OPTION_ARG_STRING, &memory, N_("Guest memory in MiB"),
	     /* TRANSLATORS: placeholder of --memory, a number of mebibytes */
	     N_("MIB")},
	    {"vcpus", 'c', 0, G_OPTION_ARG_STRING, &vcpus, N_("Guest vCPUs"),
	     /* TRANSLATORS: placeholder of --vcpus, a number */
	     N_("N")},
	    {NULL},
	};

	context = sbx_ctl_option_context_new(
	    ctl, _("IMAGE"),
	    _("Take the snapshot that sandboxes of IMAGE (and of this memory and vCPUs)\n"
	      "are restored from now, instead of on first use: one sandbox boots, the\n"
	      "snapshot is taken, the sandbox goes. Returns at once when it exists."),
	    entries);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, NULL, &error))
		return sbx_ctl_report_local_error(error);
	if (args[0] == NULL)
		return sbx_ctl_usage_error(_("missing the image name"));
	if (args[1] != NULL)
		return sbx_ctl_usage_error(_("unexpected argument '%s'"), args[1]);
	if (!g_utf8_validate(args[0], -1, NULL))
		return sbx_ctl_usage_error(_("the image name is not UTF-8"));
	if (memory != NULL) {
		guint32 n = 0;
		if (!sbx_ctl_parse_uint(memory, "--memory", &n, &error))
			return sbx_ctl_report_local_error(error);
		g_variant_builder_add(&options, "{sv}", "memory", g_variant_new_uint32(n));
	}
	if (vcpus != NULL) {
		guint32 n = 0;
		if (!sbx_ctl_parse_uint(vcpus, "--vcpus", &n, &error))
			return sbx_ctl_report_local_error(error);
		g_variant_builder_add(&options, "{sv}", "vcpus", g_variant_new_uint32(n));
	}
	if (!sbx_ctl_connect(ctl, &error))
		return sbx_ctl_report_local_error(error);
	reply = g_dbus_connection_call_sync(ctl->connection, SBX_CTL_BUS_NAME, SBX_CTL_MANAGER_PATH,
					    SBX_CTL_MANAGER_IFACE, "WarmImage",
					    g_variant_new("(sa{sv})", args[0], &options), NULL,
					    G_DBUS_CALL_FLAGS_NONE, WARM_TIMEOUT_MS, NULL, &error);
	if (reply == NULL) {
		/* TRANSLATORS: %s is an image name */
		what = g_strdup_printf(_("cannot warm image '%s'"), args[0]);
		return sbx_ctl_report_dbus_error(ctl, what, error);
	}
	/* TRANSLATORS: %s is an image name */
	g_print(_("image %s: snapshot ready\n"), args[0]);
	return SBX_CTL_EXIT_OK;
}

gint
sbx_ctl_image_main(SbxCtl *ctl, gint argc, gchar **argv)
{
	const gchar *sub = argc > 1 ? argv[1] : NULL;

	if (sub == NULL || g_strcmp0(sub, "--help") == 0 || g_strcmp0(sub, "-h") == 0) {
		g_print("%s\n", _("Usage: sandboxctl image COMMAND [OPTION...]"));
		g_print("\n%s\n", _("Commands:"));
		g_print("  warm IMAGE [--memory MIB] [--vcpus N]\n");
		return sub == NULL ? SBX_CTL_EXIT_USAGE : SBX_CTL_EXIT_OK;
	}
	argc--;
	argv++;
	if (g_strcmp0(sub, "warm") == 0)
		return cmd_warm(ctl, argc, argv);
	/* TRANSLATORS: %s is what the user typed after "sandboxctl image" */
	return sbx_ctl_usage_error(_("unknown image command '%s'"), sub);
}
