/* sandboxctl status: Manager1.GetStatus as a short summary.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "sbx-ctl.h"

static const gchar *
lookup_s(GVariant *status, const gchar *key)
{
	const gchar *s = NULL;
	if (!g_variant_lookup(status, key, "&s", &s))
		s = "?";
	return s;
}

static guint64
lookup_t(GVariant *status, const gchar *key)
{
	guint64 v = 0;
	g_variant_lookup(status, key, "t", &v);
	return v;
}

static guint32
lookup_u(GVariant *status, const gchar *key)
{
	guint32 v = 0;
	g_variant_lookup(status, key, "u", &v);
	return v;
}

/* "a 1, b 2" from an a{su}, skipping the "" key */
static gchar *
counts_to_string(GVariant *counts, gboolean skip_empty_key)
{
	GString *s = g_string_new(NULL);
	GVariantIter iter;
	const gchar *key;
	guint32 n;

	g_variant_iter_init(&iter, counts);
	while (g_variant_iter_next(&iter, "{&su}", &key, &n)) {
		if (skip_empty_key && key[0] == '\0')
			continue;
		if (s->len > 0)
			g_string_append(s, ", ");
		g_string_append_printf(s, "%s %u", key, n);
	}
	return g_string_free(s, FALSE);
}

gint
sbx_ctl_status_main(SbxCtl *ctl, gint argc, gchar **argv)
{
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) status = NULL;
	g_autoptr(GVariant) states = NULL;
	g_autoptr(GVariant) regions = NULL;
	g_autofree gchar *states_str = NULL;
	g_autofree gchar *regions_str = NULL;
	g_auto(GStrv) args = NULL;

	context = sbx_ctl_option_context_new(
	    ctl, NULL,
	    _("Summarize the daemon: sandboxes by state and region, memory and vCPUs committed, "
	      "host memory."),
	    NULL);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, NULL, &error))
		return sbx_ctl_report_local_error(error);
	if (args[0] != NULL)
		return sbx_ctl_usage_error(_("unexpected argument '%s'"), args[0]);
	if (!sbx_ctl_connect(ctl, &error))
		return sbx_ctl_report_local_error(error);
	reply = g_dbus_connection_call_sync(ctl->connection, SBX_CTL_BUS_NAME, SBX_CTL_MANAGER_PATH,
					    SBX_CTL_MANAGER_IFACE, "GetStatus", NULL,
					    G_VARIANT_TYPE("(a{sv})"), G_DBUS_CALL_FLAGS_NONE,
					    SBX_CTL_QUERY_TIMEOUT_MS, NULL, &error);
	if (reply == NULL)
		return sbx_ctl_report_dbus_error(ctl, _("cannot get the daemon's status"), error);
	status = g_variant_get_child_value(reply, 0);
	states = g_variant_lookup_value(status, "states", G_VARIANT_TYPE("a{su}"));
	regions = g_variant_lookup_value(status, "regions", G_VARIANT_TYPE("a{su}"));
	states_str = states != NULL ? counts_to_string(states, FALSE) : g_strdup("");
	regions_str = regions != NULL ? counts_to_string(regions, TRUE) : g_strdup("");

	/* TRANSLATORS: version, backend name, domain type ("kvm", "qemu") */
	g_print(_("sandboxd %s, backend %s (%s)\n"), lookup_s(status, "version"),
		lookup_s(status, "backend"), lookup_s(status, "domain_type"));
	/* TRANSLATORS: a count, then "running 2, crashed 1, ..." */
	g_print(_("Sandboxes: %u (%s)\n"), lookup_u(status, "sandboxes"), states_str);
	if (regions_str[0] != '\0')
		g_print(_("Regions: %s\n"), regions_str);
	g_print(_("Memory committed: %" G_GUINT64_FORMAT " MiB; host: %" G_GUINT64_FORMAT
		  " MiB available of %" G_GUINT64_FORMAT " MiB\n"),
		lookup_t(status, "memory_committed_mib"),
		lookup_t(status, "host_memory_available_mib"),
		lookup_t(status, "host_memory_total_mib"));
	g_print(_("vCPUs committed: %u\n"), lookup_u(status, "vcpus_committed"));
	g_print(_("Re-adopted at start: %u\n"), lookup_u(status, "adopted"));
	/* restored VMs kept ahead ([daemon] PoolSize): no sandboxes, shown apart */
	if (g_variant_lookup(status, "pool_ready", "u", NULL) &&
	    (lookup_u(status, "pool_ready") > 0 || lookup_u(status, "pool_restoring") > 0 ||
	     lookup_t(status, "pool_served") > 0))
		/* TRANSLATORS: pooled VMs ready, being restored, their memory, creates served */
		g_print(_("Pool: %u ready, %u restoring, %" G_GUINT64_FORMAT
			  " MiB; %" G_GUINT64_FORMAT " creates served\n"),
			lookup_u(status, "pool_ready"), lookup_u(status, "pool_restoring"),
			lookup_t(status, "pool_memory_mib"), lookup_t(status, "pool_served"));
	return SBX_CTL_EXIT_OK;
}
