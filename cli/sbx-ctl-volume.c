/* sandboxctl volume: create, list, info, delete, resize and snapshot durable volumes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <unistd.h>

#include "sbx-ctl.h"
#include "sbx-size.h"
#include "sbx-text.h"

#define SBX_CTL_VOLUME_IFACE "org.sandboxd.Volume1"
/* creating, resizing and snapshotting copy data: no short timeout */
#define SBX_CTL_VOLUME_TIMEOUT_MS G_MAXINT

static gboolean
parse_size(const gchar *text, guint64 *out, GError **error)
{
	if (sbx_size_parse(text, out))
		return TRUE;
	/* TRANSLATORS: %s is what the user typed as a size */
	g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		    _("invalid size '%s' (bytes, or a number with K, M, G, T, KiB, MiB, GiB, TiB)"),
		    text != NULL ? text : "");
	return FALSE;
}

/* a "creating..." spinner on a tty while a long call runs */
typedef struct {
	GMainLoop *loop;
	GVariant *reply;
	GError *error;
	const gchar *what;
	guint frame;
} LongCall;

static gboolean
on_spinner(gpointer user_data)
{
	static const gchar frames[] = "|/-\\";
	LongCall *call = user_data;
	fprintf(stderr, "\r%c %s", frames[call->frame++ % 4], call->what);
	fflush(stderr);
	return G_SOURCE_CONTINUE;
}

static void
on_long_call_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	LongCall *call = user_data;
	call->reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), res, &call->error);
	g_main_loop_quit(call->loop);
}

static GVariant *
long_call(SbxCtl *ctl, const gchar *path, const gchar *iface, const gchar *method, GVariant *params,
	  const GVariantType *reply_type, const gchar *what, GError **error)
{
	LongCall call = {0};
	guint spinner = 0;
	gboolean tty = isatty(STDERR_FILENO);

	call.loop = g_main_loop_new(NULL, FALSE);
	call.what = what;
	g_dbus_connection_call(ctl->connection, SBX_CTL_BUS_NAME, path, iface, method, params,
			       reply_type, G_DBUS_CALL_FLAGS_NONE, SBX_CTL_VOLUME_TIMEOUT_MS, NULL,
			       on_long_call_done, &call);
	if (tty) {
		on_spinner(&call);
		spinner = g_timeout_add(150, on_spinner, &call);
	}
	g_main_loop_run(call.loop);
	if (spinner != 0) {
		g_source_remove(spinner);
		/* clear the spinner line */
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
	g_main_loop_unref(call.loop);
	if (call.reply == NULL)
		g_propagate_error(error, call.error);
	return call.reply;
}

static gchar *
get_volume_path(SbxCtl *ctl, const gchar *name, GError **error)
{
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, SBX_CTL_MANAGER_PATH, SBX_CTL_MANAGER_IFACE,
	    "GetVolume", g_variant_new("(s)", name), G_VARIANT_TYPE("(o)"), G_DBUS_CALL_FLAGS_NONE,
	    SBX_CTL_QUERY_TIMEOUT_MS, NULL, error);
	gchar *path = NULL;
	if (reply == NULL)
		return NULL;
	g_variant_get(reply, "(o)", &path);
	return path;
}

static GVariant *
get_props(SbxCtl *ctl, const gchar *path, GError **error)
{
	g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
	    g_variant_new("(s)", SBX_CTL_VOLUME_IFACE), G_VARIANT_TYPE("(a{sv})"),
	    G_DBUS_CALL_FLAGS_NONE, SBX_CTL_QUERY_TIMEOUT_MS, NULL, error);
	if (reply == NULL)
		return NULL;
	return g_variant_get_child_value(reply, 0);
}

/* daemon strings are printed one per line, whatever they hold */
static gchar *
clean(const gchar *s)
{
	gchar *copy = g_strdup(s != NULL ? s : "");
	sbx_text_sanitize(copy);
	return copy;
}

static gchar *
props_string(GVariant *props, const gchar *key)
{
	const gchar *s = NULL;
	g_variant_lookup(props, key, "&s", &s);
	return clean(s);
}

static gchar *
labels_string(GVariant *props)
{
	g_autoptr(GVariant) labels =
	    g_variant_lookup_value(props, "Labels", G_VARIANT_TYPE("a{ss}"));
	g_autoptr(GString) str = g_string_new(NULL);
	GVariantIter iter;
	const gchar *k;
	const gchar *v;

	if (labels == NULL)
		return g_strdup("");
	g_variant_iter_init(&iter, labels);
	while (g_variant_iter_next(&iter, "{&s&s}", &k, &v)) {
		g_autofree gchar *ck = clean(k);
		g_autofree gchar *cv = clean(v);
		g_string_append_printf(str, "%s%s=%s", str->len > 0 ? "," : "", ck, cv);
	}
	return g_string_free(g_steal_pointer(&str), FALSE);
}

static gint
cmd_create(SbxCtl *ctl, gint argc, gchar **argv)
{
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_auto(GStrv) args = NULL;
	g_autofree gchar *capacity = NULL;
	g_autofree gchar *backend = NULL;
	g_autofree gchar *region = NULL;
	g_autofree gchar *from = NULL;
	g_auto(GStrv) labels = NULL;
	g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autofree gchar *what = NULL;
	const gchar *path = NULL;
	const GOptionEntry entries[] = {
	    {"capacity", 's', 0, G_OPTION_ARG_STRING, &capacity,
	     N_("Size, e.g. 10GiB or 512M (default: the daemon's minimum, usually 300 MiB)"),
	     /* TRANSLATORS: placeholder of --capacity */
	     N_("SIZE")},
	    {"backend", 'b', 0, G_OPTION_ARG_STRING, &backend,
	     N_("Volume backend: qcow2 or rbd (default: the daemon's)"), N_("NAME")},
	    {"region", 'r', 0, G_OPTION_ARG_STRING, &region, N_("Region to record"), N_("NAME")},
	    {"label", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &labels,
	     N_("Attach a label (repeatable, at most 5)"), N_("KEY=VALUE")},
	    {"from-snapshot", 'f', 0, G_OPTION_ARG_STRING, &from,
	     N_("Start with the data of this snapshot"), N_("SNAPSHOT")},
	    {NULL},
	};

	context =
	    sbx_ctl_option_context_new(ctl, _("NAME"), _("Create a durable volume."), entries);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, NULL, &error))
		return sbx_ctl_report_local_error(error);
	if (args[0] == NULL)
		return sbx_ctl_usage_error(_("missing the volume name"));
	if (args[1] != NULL)
		return sbx_ctl_usage_error(_("unexpected argument '%s'"), args[1]);
	{
		const gchar *strings[] = {args[0], backend, region, from, NULL};
		if (!sbx_ctl_check_utf8(strings, &error))
			return sbx_ctl_report_local_error(error);
	}
	if (capacity != NULL) {
		guint64 bytes = 0;
		if (!parse_size(capacity, &bytes, &error))
			return sbx_ctl_report_local_error(error);
		g_variant_builder_add(&builder, "{sv}", "capacity", g_variant_new_uint64(bytes));
	}
	if (backend != NULL)
		g_variant_builder_add(&builder, "{sv}", "backend", g_variant_new_string(backend));
	if (region != NULL)
		g_variant_builder_add(&builder, "{sv}", "region", g_variant_new_string(region));
	if (from != NULL)
		g_variant_builder_add(&builder, "{sv}", "from_snapshot",
				      g_variant_new_string(from));
	if (labels != NULL) {
		GVariant *v = sbx_ctl_parse_pairs((const gchar *const *)labels, "--label", &error);
		if (v == NULL)
			return sbx_ctl_report_local_error(error);
		g_variant_builder_add(&builder, "{sv}", "labels", v);
	}
	if (!sbx_ctl_connect(ctl, &error))
		return sbx_ctl_report_local_error(error);
	reply = long_call(ctl, SBX_CTL_MANAGER_PATH, SBX_CTL_MANAGER_IFACE, "CreateVolume",
			  g_variant_new("(sa{sv})", args[0], &builder), G_VARIANT_TYPE("(o)"),
			  _("creating the volume..."), &error);
	if (reply == NULL) {
		/* TRANSLATORS: %s is a volume name */
		what = g_strdup_printf(_("cannot create volume '%s'"), args[0]);
		return sbx_ctl_report_dbus_error(ctl, what, error);
	}
	g_variant_get(reply, "(&o)", &path);
	g_print("%s\n", strrchr(path, '/') + 1);
	return SBX_CTL_EXIT_OK;
}

static gint
cmd_list(SbxCtl *ctl, gint argc, gchar **argv)
{
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_auto(GStrv) args = NULL;
	g_autofree const gchar **paths = NULL;

	context =
	    sbx_ctl_option_context_new(ctl, NULL, _("List your volumes and snapshots."), NULL);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, NULL, &error))
		return sbx_ctl_report_local_error(error);
	if (args[0] != NULL)
		return sbx_ctl_usage_error(_("unexpected argument '%s'"), args[0]);
	if (!sbx_ctl_connect(ctl, &error))
		return sbx_ctl_report_local_error(error);
	reply = g_dbus_connection_call_sync(
	    ctl->connection, SBX_CTL_BUS_NAME, SBX_CTL_MANAGER_PATH, SBX_CTL_MANAGER_IFACE,
	    "ListVolumes", g_variant_new("(a{sv})", NULL), G_VARIANT_TYPE("(ao)"),
	    G_DBUS_CALL_FLAGS_NONE, SBX_CTL_QUERY_TIMEOUT_MS, NULL, &error);
	if (reply == NULL)
		return sbx_ctl_report_dbus_error(ctl, _("cannot list volumes"), error);
	g_variant_get(reply, "(^a&o)", &paths);
	/* TRANSLATORS: column headers of "sandboxctl volume list" */
	g_print("%-17s %-20s %-7s %-8s %10s %-9s %s\n", _("ID"), _("NAME"), _("BACKEND"), _("KIND"),
		_("CAPACITY"), _("ATTACHED"), _("LABELS"));
	for (guint i = 0; paths[i] != NULL; i++) {
		g_autoptr(GVariant) props = get_props(ctl, paths[i], NULL);
		g_autofree gchar *id = NULL;
		g_autofree gchar *name = NULL;
		g_autofree gchar *backend = NULL;
		g_autofree gchar *labels = NULL;
		g_autofree gchar *size = NULL;
		g_autofree const gchar **attached = NULL;
		guint64 capacity = 0;
		gboolean ro = FALSE;

		if (props == NULL)
			continue; /* deleted meanwhile */
		id = props_string(props, "Id");
		name = props_string(props, "Name");
		backend = props_string(props, "Backend");
		labels = labels_string(props);
		g_variant_lookup(props, "Capacity", "t", &capacity);
		g_variant_lookup(props, "ReadOnly", "b", &ro);
		g_variant_lookup(props, "AttachedTo", "^a&s", &attached);
		size = g_format_size_full(capacity, G_FORMAT_SIZE_IEC_UNITS);
		g_print("%-17s %-20s %-7s %-8s %10s %-9u %s\n", id, name, backend,
			ro ? _("snapshot") : _("volume"), size,
			attached != NULL ? g_strv_length((gchar **)attached) : 0, labels);
	}
	return SBX_CTL_EXIT_OK;
}

static gint
cmd_info(SbxCtl *ctl, gint argc, gchar **argv)
{
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) args = NULL;
	g_autofree gchar *path = NULL;
	g_autoptr(GVariant) props = NULL;
	g_autofree const gchar **attached = NULL;
	g_autofree gchar *attached_str = NULL;
	g_autoptr(GDateTime) created = NULL;
	g_autofree gchar *created_str = NULL;
	guint64 capacity = 0;
	guint64 used = 0;
	guint64 created_at = 0;
	gboolean ro = FALSE;
	const gchar *keys[] = {"Id", "Name", "Backend", "Region", "Parent"};

	context =
	    sbx_ctl_option_context_new(ctl, _("NAME"), _("Show a volume's properties."), NULL);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, NULL, &error))
		return sbx_ctl_report_local_error(error);
	if (args[0] == NULL)
		return sbx_ctl_usage_error(_("missing the volume name"));
	if (!sbx_ctl_connect(ctl, &error))
		return sbx_ctl_report_local_error(error);
	path = get_volume_path(ctl, args[0], &error);
	if (path != NULL)
		props = get_props(ctl, path, &error);
	if (props == NULL)
		return sbx_ctl_report_dbus_error(ctl, NULL, error);
	for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
		g_autofree gchar *v = props_string(props, keys[i]);
		g_print("%-11s %s\n", keys[i], v);
	}
	g_variant_lookup(props, "Capacity", "t", &capacity);
	g_variant_lookup(props, "Used", "t", &used);
	g_variant_lookup(props, "CreatedAt", "t", &created_at);
	g_variant_lookup(props, "ReadOnly", "b", &ro);
	g_variant_lookup(props, "AttachedTo", "^a&s", &attached);
	g_print("%-11s %" G_GUINT64_FORMAT "\n", "Capacity", capacity);
	g_print("%-11s %" G_GUINT64_FORMAT "\n", "Used", used);
	g_print("%-11s %s\n", "ReadOnly", ro ? "yes" : "no");
	attached_str = attached != NULL ? g_strjoinv(",", (gchar **)attached) : g_strdup("");
	{
		g_autofree gchar *c = clean(attached_str);
		g_print("%-11s %s\n", "AttachedTo", c);
	}
	created = g_date_time_new_from_unix_utc(created_at / G_USEC_PER_SEC);
	created_str = created != NULL ? g_date_time_format_iso8601(created) : g_strdup("");
	g_print("%-11s %s\n", "CreatedAt", created_str);
	{
		g_autofree gchar *l = labels_string(props);
		g_print("%-11s %s\n", "Labels", l);
	}
	return SBX_CTL_EXIT_OK;
}

/* delete, resize, snapshot: one volume, one method */
static gint
cmd_method(SbxCtl *ctl, gint argc, gchar **argv, const gchar *method)
{
	g_autoptr(GOptionContext) context = NULL;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) args = NULL;
	g_autofree gchar *path = NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autofree gchar *what = NULL;
	GVariant *params = NULL;
	const GVariantType *reply_type = G_VARIANT_TYPE_UNIT;
	const gchar *progress = _("working...");
	gboolean is_delete = g_strcmp0(method, "Delete") == 0;
	gboolean is_resize = g_strcmp0(method, "Resize") == 0;

	context = sbx_ctl_option_context_new(
	    ctl,
	    is_delete	? _("NAME")
	    : is_resize ? _("NAME SIZE")
			: _("NAME SNAPSHOT-NAME"),
	    is_delete	? _("Delete a volume or snapshot and its data.")
	    : is_resize ? _("Grow a volume (never shrinks); the guest sees it at the next mount.")
			: _("Take a read-only snapshot of a volume."),
	    NULL);
	if (!sbx_ctl_parse_command_line(context, argc, argv, FALSE, &args, NULL, &error))
		return sbx_ctl_report_local_error(error);
	if (args[0] == NULL)
		return sbx_ctl_usage_error(_("missing the volume name"));
	if (!is_delete && args[1] == NULL)
		return sbx_ctl_usage_error(is_resize ? _("missing the new size")
						     : _("missing the snapshot name"));
	if (args[is_delete ? 1 : 2] != NULL)
		return sbx_ctl_usage_error(_("unexpected argument '%s'"), args[is_delete ? 1 : 2]);
	if (!sbx_ctl_check_utf8((const gchar *const *)args, &error))
		return sbx_ctl_report_local_error(error);
	if (is_resize) {
		guint64 bytes = 0;
		if (!parse_size(args[1], &bytes, &error))
			return sbx_ctl_report_local_error(error);
		params = g_variant_new("(t)", bytes);
		progress = _("resizing the volume...");
	} else if (!is_delete) {
		params = g_variant_new("(sa{sv})", args[1], NULL);
		reply_type = G_VARIANT_TYPE("(o)");
		progress = _("taking the snapshot...");
	}
	if (!sbx_ctl_connect(ctl, &error))
		return sbx_ctl_report_local_error(error);
	path = get_volume_path(ctl, args[0], &error);
	if (path == NULL) {
		if (params != NULL)
			g_variant_unref(g_variant_ref_sink(params));
		return sbx_ctl_report_dbus_error(ctl, NULL, error);
	}
	reply = long_call(ctl, path, SBX_CTL_VOLUME_IFACE, method, params, reply_type, progress,
			  &error);
	if (reply == NULL) {
		/* TRANSLATORS: %s is a volume name */
		what = g_strdup_printf(is_delete   ? _("cannot delete volume '%s'")
				       : is_resize ? _("cannot resize volume '%s'")
						   : _("cannot snapshot volume '%s'"),
				       args[0]);
		return sbx_ctl_report_dbus_error(ctl, what, error);
	}
	if (!is_delete && !is_resize) {
		const gchar *snap = NULL;
		g_variant_get(reply, "(&o)", &snap);
		g_print("%s\n", strrchr(snap, '/') + 1);
	}
	return SBX_CTL_EXIT_OK;
}

gint
sbx_ctl_volume_main(SbxCtl *ctl, gint argc, gchar **argv)
{
	const gchar *sub = argc > 1 ? argv[1] : NULL;

	if (sub == NULL || g_strcmp0(sub, "--help") == 0 || g_strcmp0(sub, "-h") == 0) {
		g_print("%s\n", _("Usage: sandboxctl volume COMMAND [OPTION...]"));
		g_print("\n%s\n", _("Commands:"));
		g_print("  create NAME [--capacity SIZE] [--backend B] [--label K=V]... "
			"[--from-snapshot S]\n");
		g_print("  list\n  info NAME\n  delete NAME\n  resize NAME SIZE\n"
			"  snapshot NAME SNAPSHOT-NAME\n");
		return sub == NULL ? SBX_CTL_EXIT_USAGE : SBX_CTL_EXIT_OK;
	}
	/* the subcommand's own argv: "volume create" is its argv[0] */
	argc--;
	argv++;
	if (g_strcmp0(sub, "create") == 0)
		return cmd_create(ctl, argc, argv);
	if (g_strcmp0(sub, "list") == 0)
		return cmd_list(ctl, argc, argv);
	if (g_strcmp0(sub, "info") == 0)
		return cmd_info(ctl, argc, argv);
	if (g_strcmp0(sub, "delete") == 0)
		return cmd_method(ctl, argc, argv, "Delete");
	if (g_strcmp0(sub, "resize") == 0)
		return cmd_method(ctl, argc, argv, "Resize");
	if (g_strcmp0(sub, "snapshot") == 0)
		return cmd_method(ctl, argc, argv, "Snapshot");
	/* TRANSLATORS: %s is what the user typed after "sandboxctl volume" */
	return sbx_ctl_usage_error(_("unknown volume command '%s'"), sub);
}

GVariant *
sbx_ctl_volume_parse_list(const gchar *const *specs, GError **error)
{
	g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);

	if (!sbx_ctl_check_utf8(specs, error))
		return NULL;
	for (guint i = 0; specs[i] != NULL; i++) {
		g_auto(GStrv) parts = g_strsplit(specs[i], ":", 3);
		g_autofree gchar *ref = NULL;
		guint n = g_strv_length(parts);

		if (n < 2 || parts[0][0] == '\0' || parts[1][0] != '/' ||
		    (n == 3 && g_strcmp0(parts[2], "ro") != 0 && g_strcmp0(parts[2], "rw") != 0)) {
			/* TRANSLATORS: %s is what the user passed to --volume */
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    _("--volume: '%s' is not NAME:/PATH or NAME:/PATH:ro"),
				    specs[i]);
			return NULL;
		}
		ref = n == 3 ? g_strdup_printf("%s:%s", parts[0], parts[2]) : g_strdup(parts[0]);
		g_variant_builder_add(&builder, "{sv}", parts[1], g_variant_new_string(ref));
	}
	return g_variant_builder_end(&builder);
}
