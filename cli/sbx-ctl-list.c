/* sandboxctl list and kill.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "sbx-ctl.h"
#include "sbx-text.h"

#define SBX_CTL_LIST_COLUMNS 6

static gint
sbx_ctl_list_compare_cb(gconstpointer a, gconstpointer b)
{
	return g_strcmp0(*(const gchar *const *)a, *(const gchar *const *)b);
}

/* one sandbox per line, whatever the daemon sent */
static void
sbx_ctl_list_sanitize_row(gchar **row)
{
	for (guint i = 0; i < SBX_CTL_LIST_COLUMNS; i++)
		sbx_text_sanitize(row[i]);
}

/* the columns of one sandbox, or NULL if it vanished meanwhile */
static gchar **
sbx_ctl_list_row(SbxCtl *ctl, const gchar *path, GError **error)
{
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) props = NULL;
	g_autoptr(GVariant) labels = NULL;
	g_autoptr(GDateTime) created = NULL;
	g_autoptr(GString) labels_str = g_string_new(NULL);
	g_autoptr(GError) error_local = NULL;
	const gchar *id = NULL;
	const gchar *state = NULL;
	guint32 memory = 0;
	guint32 vcpus = 0;
	guint64 created_at = 0;
	gchar **row = g_new0(gchar *, SBX_CTL_LIST_COLUMNS + 1);

	reply = g_dbus_connection_call_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
	    g_variant_new("(s)", SBX_CTL_SANDBOX_IFACE), G_VARIANT_TYPE("(a{sv})"),
	    G_DBUS_CALL_FLAGS_NONE, SBX_CTL_QUERY_TIMEOUT_MS, NULL, &error_local);
	if (reply == NULL) {
		g_strfreev(row);
		if (g_error_matches(error_local, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT) ||
		    g_error_matches(error_local, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD) ||
		    g_error_matches(error_local, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_INTERFACE))
			return NULL;
		g_propagate_error(error, g_steal_pointer(&error_local));
		return NULL;
	}
	props = g_variant_get_child_value(reply, 0);
	g_variant_lookup(props, "Id", "&s", &id);
	g_variant_lookup(props, "State", "&s", &state);
	g_variant_lookup(props, "MemoryMiB", "u", &memory);
	g_variant_lookup(props, "VCpus", "u", &vcpus);
	g_variant_lookup(props, "CreatedAt", "t", &created_at);
	labels = g_variant_lookup_value(props, "Labels", G_VARIANT_TYPE("a{ss}"));

	if (labels != NULL) {
		g_autoptr(GVariantIter) iter = g_variant_iter_new(labels);
		const gchar *key;
		const gchar *value;

		g_autoptr(GPtrArray) pairs = g_ptr_array_new_with_free_func(g_free);

		/* a dictionary has no order: sort for stable output */
		while (g_variant_iter_next(iter, "{&s&s}", &key, &value))
			g_ptr_array_add(pairs, g_strdup_printf("%s=%s", key, value));
		g_ptr_array_sort(pairs, sbx_ctl_list_compare_cb);
		for (guint i = 0; i < pairs->len; i++) {
			if (i > 0)
				g_string_append_c(labels_str, ',');
			g_string_append(labels_str, g_ptr_array_index(pairs, i));
		}
	}
	if (created_at > 0)
		created = g_date_time_new_from_unix_local((gint64)(created_at / G_USEC_PER_SEC));

	row[0] = g_strdup(id != NULL ? id : path);
	row[1] = g_strdup(state != NULL ? state : "-");
	row[2] = g_strdup_printf("%u", memory);
	row[3] = g_strdup_printf("%u", vcpus);
	row[4] = created != NULL ? g_date_time_format(created, "%Y-%m-%d %H:%M:%S") : NULL;
	if (row[4] == NULL)
		row[4] = g_strdup("-");
	row[5] = labels_str->len > 0 ? g_strdup(labels_str->str) : g_strdup("-");
	sbx_ctl_list_sanitize_row(row);
	return row;
}

static void
sbx_ctl_list_print_row(gchar **row, const gsize *widths)
{
	g_autoptr(GString) line = g_string_new(NULL);

	for (guint i = 0; i < SBX_CTL_LIST_COLUMNS; i++) {
		g_string_append(line, row[i]);
		if (i + 1 == SBX_CTL_LIST_COLUMNS)
			break;
		for (gsize w = g_utf8_strlen(row[i], -1); w < widths[i] + 2; w++)
			g_string_append_c(line, ' ');
	}
	g_print("%s\n", line->str);
}

gint
sbx_ctl_list_main(SbxCtl *ctl, gint argc, gchar **argv)
{
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariantIter) iter = NULL;
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	g_auto(GStrv) args = NULL;
	gsize widths[SBX_CTL_LIST_COLUMNS] = {0};
	gchar *header[SBX_CTL_LIST_COLUMNS + 1] = {
	    /* TRANSLATORS: column headers of "sandboxctl list" */
	    _("ID"), _("STATE"), _("MEMORY"), _("VCPUS"), _("CREATED"), _("LABELS"), NULL,
	};
	const gchar *path;
	g_auto(GStrv) labels = NULL;
	g_autofree gchar *state = NULL;
	GVariantBuilder filter;
	const GOptionEntry entries[] = {
	    {"label", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &labels,
	     N_("Only sandboxes with this label (repeatable: all must match)"), N_("K=V")},
	    {"state", 's', 0, G_OPTION_ARG_STRING, &state,
	     N_("Only sandboxes in this state: starting, running (the default), stopping, "
		"crashed"),
	     N_("STATE")},
	    {NULL},
	};

	context = sbx_ctl_option_context_new(
	    ctl, NULL,
	    _("List the sandboxes you may see: id, state, memory in MiB, vCPUs, creation time "
	      "(local time) and labels."),
	    NULL);
	g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, NULL, &error))
		return sbx_ctl_report_local_error(error);
	if (args[0] != NULL)
		return sbx_ctl_usage_error(_("unexpected argument '%s'"), args[0]);
	g_variant_builder_init(&filter, G_VARIANT_TYPE_VARDICT);
	if (labels != NULL) {
		GVariant *pairs =
		    sbx_ctl_parse_pairs((const gchar *const *)labels, "--label", &error);
		if (pairs == NULL) {
			g_variant_builder_clear(&filter);
			return sbx_ctl_usage_error("%s", error->message);
		}
		g_variant_builder_add(&filter, "{sv}", "labels", pairs);
	}
	if (state != NULL)
		g_variant_builder_add(&filter, "{sv}", "state", g_variant_new_string(state));
	if (!sbx_ctl_connect(ctl, &error)) {
		g_variant_builder_clear(&filter);
		return sbx_ctl_report_local_error(error);
	}

	reply = g_dbus_connection_call_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, SBX_CTL_MANAGER_PATH, SBX_CTL_MANAGER_IFACE,
	    "ListSandboxes", g_variant_new("(a{sv})", &filter), G_VARIANT_TYPE("(ao)"),
	    G_DBUS_CALL_FLAGS_NONE, SBX_CTL_QUERY_TIMEOUT_MS, NULL, &error);
	if (reply == NULL)
		return sbx_ctl_report_dbus_error(ctl, _("cannot list sandboxes"), error);
	g_variant_get(reply, "(ao)", &iter);
	while (g_variant_iter_next(iter, "&o", &path)) {
		gchar **row = sbx_ctl_list_row(ctl, path, &error);
		if (row == NULL && error != NULL)
			return sbx_ctl_report_dbus_error(ctl, _("cannot list sandboxes"), error);
		if (row != NULL)
			g_ptr_array_add(rows, row);
	}

	for (guint i = 0; i < SBX_CTL_LIST_COLUMNS; i++)
		widths[i] = g_utf8_strlen(header[i], -1);
	for (guint r = 0; r < rows->len; r++) {
		gchar **row = g_ptr_array_index(rows, r);
		for (guint i = 0; i < SBX_CTL_LIST_COLUMNS; i++)
			widths[i] = MAX(widths[i], (gsize)g_utf8_strlen(row[i], -1));
	}
	sbx_ctl_list_print_row(header, widths);
	for (guint r = 0; r < rows->len; r++)
		sbx_ctl_list_print_row(g_ptr_array_index(rows, r), widths);
	return SBX_CTL_EXIT_OK;
}

gint
sbx_ctl_list_kill_main(SbxCtl *ctl, gint argc, gchar **argv)
{
	gint rc = SBX_CTL_EXIT_FAILURE;
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_auto(GStrv) args = NULL;
	g_autofree gchar *path = NULL;
	g_autofree gchar *what = NULL;

	context = sbx_ctl_option_context_new(
	    ctl, _("ID"), _("Destroy a sandbox now: its VM is stopped and its files are removed."),
	    NULL);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, NULL, &error))
		return sbx_ctl_report_local_error(error);
	if (args[0] == NULL)
		return sbx_ctl_usage_error(_("missing the sandbox id"));
	if (args[1] != NULL)
		return sbx_ctl_usage_error(_("unexpected argument '%s'"), args[1]);
	path = sbx_ctl_find_sandbox(ctl, args[0], &rc);
	if (path == NULL)
		return rc;
	reply = g_dbus_connection_call_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, path, SBX_CTL_SANDBOX_IFACE, "Kill", NULL,
	    G_VARIANT_TYPE_UNIT, G_DBUS_CALL_FLAGS_NONE, SBX_CTL_KILL_TIMEOUT_MS, NULL, &error);
	if (reply == NULL) {
		/* TRANSLATORS: %s is a sandbox id */
		what = g_strdup_printf(_("cannot kill sandbox '%s'"), args[0]);
		return sbx_ctl_report_dbus_error(ctl, what, error);
	}
	return SBX_CTL_EXIT_OK;
}
