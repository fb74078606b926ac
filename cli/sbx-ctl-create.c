/* sandboxctl create: boot a sandbox that outlives this process and print its id.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "sbx-ctl.h"

void
sbx_ctl_create_options_add_entries(SbxCtlCreateOptions *opts, GOptionContext *context,
				   gboolean for_run)
{
	const GOptionEntry entries[] = {
	    {"memory", 'm', 0, G_OPTION_ARG_STRING, &opts->memory,
	     N_("Guest memory in MiB (the daemon's default and range apply, usually 1024 and "
		"768-4096)"),
	     /* TRANSLATORS: placeholder of --memory, a number of mebibytes */
	     N_("MIB")},
	    {"vcpus", 'c', 0, G_OPTION_ARG_STRING, &opts->vcpus,
	     N_("Number of guest vCPUs (usually 1-2, default 2)"),
	     /* TRANSLATORS: placeholder of --vcpus, a number */
	     N_("N")},
	    {"env", 'e', 0, G_OPTION_ARG_STRING_ARRAY, &opts->env,
	     N_("Set an environment variable for every process of the sandbox (repeatable)"),
	     /* TRANSLATORS: placeholder of --env; keep KEY=VALUE recognisable */
	     N_("KEY=VALUE")},
	    {"label", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &opts->labels,
	     N_("Attach a label to the sandbox, shown by list (repeatable, at most 5)"),
	     N_("KEY=VALUE")},
	    {"image", 'i', 0, G_OPTION_ARG_STRING, &opts->image,
	     N_("Boot the named guest image instead of the configured default"),
	     /* TRANSLATORS: placeholder of --image */
	     N_("NAME")},
	    {"region", 'r', 0, G_OPTION_ARG_STRING, &opts->region,
	     N_("Run the sandbox in the named region instead of the daemon's default"),
	     /* TRANSLATORS: placeholder of --region */
	     N_("NAME")},
	    {"volume", 'V', 0, G_OPTION_ARG_STRING_ARRAY, &opts->volumes,
	     N_("Attach a durable volume at a guest path, read-only with :ro (repeatable, at "
		"most 8)"),
	     /* TRANSLATORS: placeholder of --volume; keep NAME:/PATH[:ro] recognisable */
	     N_("NAME:/PATH[:ro]")},
	    {"allow-net", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts->allow_net,
	     N_("Let the sandbox reach only these destinations: host names, *.domain, IP "
		"addresses or CIDR ranges, each with an optional :port (repeatable; default: "
		"the internet, without private addresses)"),
	     /* TRANSLATORS: placeholder of --allow-net */
	     N_("HOST[,HOST...]")},
	    {"secret", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opts->secrets,
	     N_("Give the sandbox a placeholder in $NAME that becomes the value of sandboxctl's "
		"own $NAME in HTTPS request headers to these hosts (which --allow-net, if given, "
		"must "
		"list); "
		"the value never enters the sandbox (repeatable)"),
	     /* TRANSLATORS: placeholder of --secret */
	     N_("NAME@HOST[,HOST...]")},
	    {"no-network", 0, 0, G_OPTION_ARG_NONE, &opts->no_network,
	     N_("Give the sandbox no network at all"), NULL},
	    {"timeout", 't', 0, G_OPTION_ARG_STRING, &opts->timeout,
	     for_run ? N_("Destroy the sandbox after DURATION even if sandboxctl is still "
			  "running, e.g. 90, 30s, 5m, 1h (default: when sandboxctl exits)")
		     : N_("Destroy the sandbox after DURATION, e.g. 90, 30s, 5m, 1h, at most the "
			  "daemon's maximum lifetime (default 10m)"),
	     /* TRANSLATORS: placeholder of --timeout */
	     N_("DURATION")},
	    {NULL},
	};

	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
}

void
sbx_ctl_create_options_clear(SbxCtlCreateOptions *opts)
{
	g_clear_pointer(&opts->memory, g_free);
	g_clear_pointer(&opts->region, g_free);
	g_clear_pointer(&opts->vcpus, g_free);
	g_clear_pointer(&opts->env, g_strfreev);
	g_clear_pointer(&opts->labels, g_strfreev);
	g_clear_pointer(&opts->image, g_free);
	g_clear_pointer(&opts->timeout, g_free);
	g_clear_pointer(&opts->volumes, g_strfreev);
	g_clear_pointer(&opts->allow_net, g_strfreev);
	g_clear_pointer(&opts->secrets, g_strfreev);
	opts->no_network = FALSE;
}

/* --allow-net A,B --allow-net C -> [A, B, C]; --no-network -> [] */
static GVariant *
allow_net_to_variant(SbxCtlCreateOptions *opts, GError **error)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) hosts = NULL;

	if (opts->no_network && opts->allow_net != NULL) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    _("--no-network and --allow-net cannot be used together"));
		return NULL;
	}
	if (!sbx_ctl_check_utf8((const gchar *const *)opts->allow_net, error))
		return NULL;
	for (guint i = 0; opts->allow_net != NULL && opts->allow_net[i] != NULL; i++) {
		g_auto(GStrv) items = g_strsplit(opts->allow_net[i], ",", -1);
		for (guint j = 0; items[j] != NULL; j++) {
			g_strstrip(items[j]);
			if (items[j][0] != '\0')
				g_strv_builder_add(builder, items[j]);
		}
	}
	hosts = g_strv_builder_end(builder);
	if (!opts->no_network && g_strv_length(hosts) == 0) {
		g_set_error(
		    error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		    _("--allow-net needs at least one destination (--no-network for none)"));
		return NULL;
	}
	return g_variant_new_strv((const gchar *const *)hosts, -1);
}

/* --secret NAME@HOST,HOST -> {NAME: ([HOST, HOST], $NAME)}: the value comes
 * from our environment, never the command line (other users can read that) */
static GVariant *
secrets_to_variant(SbxCtlCreateOptions *opts, GError **error)
{
	g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE("a{s(ass)}"));

	if (!sbx_ctl_check_utf8((const gchar *const *)opts->secrets, error))
		return NULL;
	for (guint i = 0; opts->secrets[i] != NULL; i++) {
		const gchar *at = strchr(opts->secrets[i], '@');
		g_autofree gchar *name = NULL;
		g_autoptr(GStrvBuilder) hosts = g_strv_builder_new();
		g_auto(GStrv) items = NULL;
		g_auto(GStrv) list = NULL;
		const gchar *value;

		if (at == NULL || at == opts->secrets[i] || at[1] == '\0') {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    _("--secret %s: expected NAME@HOST[,HOST...]"),
				    opts->secrets[i]);
			return NULL;
		}
		name = g_strndup(opts->secrets[i], at - opts->secrets[i]);
		value = g_getenv(name);
		if (value == NULL || value[0] == '\0' || !g_utf8_validate(value, -1, NULL)) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    _("--secret %s: the environment variable %s is not set (the "
				      "value comes from there, never from the command line)"),
				    opts->secrets[i], name);
			return NULL;
		}
		items = g_strsplit(at + 1, ",", -1);
		for (guint j = 0; items[j] != NULL; j++) {
			g_strstrip(items[j]);
			if (items[j][0] != '\0')
				g_strv_builder_add(hosts, items[j]);
		}
		list = g_strv_builder_end(hosts);
		g_variant_builder_add(&builder, "{s(^ass)}", name, list, value);
	}
	return g_variant_builder_end(&builder);
}

/* the a{sv} of Manager1.CreateSandbox; unset options are left to the daemon's defaults */
GVariant *
sbx_ctl_create_options_to_variant(SbxCtlCreateOptions *opts, const gchar *default_timeout,
				  GError **error)
{
	g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	const gchar *timeout = opts->timeout != NULL ? opts->timeout : default_timeout;
	const gchar *strings[] = {opts->image, timeout, NULL};
	const gchar *region[] = {opts->region, NULL};

	/* --image, --timeout and --region are not checked by the option parser */
	if (!sbx_ctl_check_utf8(strings, error) || !sbx_ctl_check_utf8(region, error))
		return NULL;
	if (opts->memory != NULL) {
		guint32 memory = 0;
		if (!sbx_ctl_parse_uint(opts->memory, "--memory", &memory, error))
			return NULL;
		g_variant_builder_add(&builder, "{sv}", "memory", g_variant_new_uint32(memory));
	}
	if (opts->vcpus != NULL) {
		guint32 vcpus = 0;
		if (!sbx_ctl_parse_uint(opts->vcpus, "--vcpus", &vcpus, error))
			return NULL;
		g_variant_builder_add(&builder, "{sv}", "vcpus", g_variant_new_uint32(vcpus));
	}
	if (opts->env != NULL) {
		GVariant *env =
		    sbx_ctl_parse_pairs((const gchar *const *)opts->env, "--env", error);
		if (env == NULL)
			return NULL;
		g_variant_builder_add(&builder, "{sv}", "env", env);
	}
	if (opts->labels != NULL) {
		GVariant *labels =
		    sbx_ctl_parse_pairs((const gchar *const *)opts->labels, "--label", error);
		if (labels == NULL)
			return NULL;
		g_variant_builder_add(&builder, "{sv}", "labels", labels);
	}
	if (opts->volumes != NULL) {
		GVariant *volumes =
		    sbx_ctl_volume_parse_list((const gchar *const *)opts->volumes, error);
		if (volumes == NULL)
			return NULL;
		g_variant_builder_add(&builder, "{sv}", "volumes", volumes);
	}
	if (opts->image != NULL)
		g_variant_builder_add(&builder, "{sv}", "image", g_variant_new_string(opts->image));
	if (opts->region != NULL)
		g_variant_builder_add(&builder, "{sv}", "region",
				      g_variant_new_string(opts->region));
	if (timeout != NULL)
		g_variant_builder_add(&builder, "{sv}", "timeout", g_variant_new_string(timeout));
	if (opts->allow_net != NULL || opts->no_network) {
		GVariant *allow_net = allow_net_to_variant(opts, error);
		if (allow_net == NULL)
			return NULL;
		g_variant_builder_add(&builder, "{sv}", "allow_net", allow_net);
	}
	if (opts->secrets != NULL) {
		GVariant *secrets = secrets_to_variant(opts, error);
		if (secrets == NULL)
			return NULL;
		g_variant_builder_add(&builder, "{sv}", "secrets", secrets);
	}
	return g_variant_ref_sink(g_variant_builder_end(&builder));
}

static gchar *
sbx_ctl_get_sandbox_id(SbxCtl *ctl, const gchar *path, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) value = NULL;

	reply = g_dbus_connection_call_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, path, "org.freedesktop.DBus.Properties", "Get",
	    g_variant_new("(ss)", SBX_CTL_SANDBOX_IFACE, "Id"), G_VARIANT_TYPE("(v)"),
	    G_DBUS_CALL_FLAGS_NONE, SBX_CTL_QUERY_TIMEOUT_MS, NULL, error);
	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(v)", &value);
	if (!g_variant_is_of_type(value, G_VARIANT_TYPE_STRING)) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    _("the daemon returned a malformed sandbox id"));
		return NULL;
	}
	return g_variant_dup_string(value, NULL);
}

gint
sbx_ctl_create_main(SbxCtl *ctl, gint argc, gchar **argv)
{
	SbxCtlCreateOptions opts = {0};
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) options = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_auto(GStrv) args = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *id = NULL;
	gint rc;

	context = sbx_ctl_option_context_new(
	    ctl, NULL,
	    _("Boot a new sandbox and print its id. The sandbox keeps running after sandboxctl "
	      "exits, until it is killed or its --timeout (default 10m) expires."),
	    NULL);
	sbx_ctl_create_options_add_entries(&opts, context, FALSE);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, NULL, &error)) {
		rc = sbx_ctl_report_local_error(error);
		sbx_ctl_create_options_clear(&opts);
		return rc;
	}
	if (args[0] != NULL) {
		sbx_ctl_create_options_clear(&opts);
		return sbx_ctl_usage_error(_("unexpected argument '%s'"), args[0]);
	}
	/* not "session": this process exits right away and the sandbox must outlive it */
	options = sbx_ctl_create_options_to_variant(&opts, SBX_CTL_DEFAULT_TIMEOUT, &error);
	sbx_ctl_create_options_clear(&opts);
	if (options == NULL)
		return sbx_ctl_report_local_error(error);
	if (!sbx_ctl_connect(ctl, &error))
		return sbx_ctl_report_local_error(error);

	reply = g_dbus_connection_call_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, SBX_CTL_MANAGER_PATH, SBX_CTL_MANAGER_IFACE,
	    "CreateSandbox", g_variant_new("(@a{sv})", options), G_VARIANT_TYPE("(o)"),
	    G_DBUS_CALL_FLAGS_NONE, G_MAXINT, NULL, &error);
	if (reply == NULL)
		return sbx_ctl_report_dbus_error(ctl, _("cannot create sandbox"), error);
	g_variant_get(reply, "(o)", &path);
	id = sbx_ctl_get_sandbox_id(ctl, path, &error);
	if (id == NULL)
		return sbx_ctl_report_dbus_error(ctl, _("cannot read the new sandbox's id"), error);
	g_print("%s\n", id);
	return SBX_CTL_EXIT_OK;
}
