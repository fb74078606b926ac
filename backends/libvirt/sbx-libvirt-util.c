/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "sbx-libvirt-util.h"

typedef struct {
	const gchar *element;
	gboolean inside;
	GString *value;
} MetadataParse;

static void
metadata_start(GMarkupParseContext *ctx, const gchar *name, const gchar **attr_names,
	       const gchar **attr_values, gpointer user_data, GError **error)
{
	MetadataParse *parse = user_data;
	const gchar *local = strchr(name, ':');

	local = local != NULL ? local + 1 : name;
	parse->inside = g_strcmp0(local, parse->element) == 0;
	if (parse->inside)
		g_string_truncate(parse->value, 0);
}

static void
metadata_end(GMarkupParseContext *ctx, const gchar *name, gpointer user_data, GError **error)
{
	MetadataParse *parse = user_data;
	parse->inside = FALSE;
}

static void
metadata_text(GMarkupParseContext *ctx, const gchar *text, gsize len, gpointer user_data,
	      GError **error)
{
	MetadataParse *parse = user_data;
	if (parse->inside)
		g_string_append_len(parse->value, text, len);
}

/* the text of our metadata's <sbx:ELEMENT>, or NULL */
gchar *
sbx_libvirt_util_metadata_get(const gchar *metadata, const gchar *element)
{
	GMarkupParser parser = {metadata_start, metadata_end, metadata_text, NULL, NULL};
	g_autoptr(GString) value = g_string_new(NULL);
	MetadataParse parse = {element, FALSE, value};
	g_autoptr(GMarkupParseContext) ctx = NULL;

	if (metadata == NULL)
		return NULL;
	ctx = g_markup_parse_context_new(&parser, 0, &parse, NULL);
	if (!g_markup_parse_context_parse(ctx, metadata, -1, NULL) ||
	    !g_markup_parse_context_end_parse(ctx, NULL))
		return NULL;
	if (value->len == 0)
		return NULL;
	return g_strdup(value->str);
}

/* the console log path we stored in the domain's metadata, or NULL */
gchar *
sbx_libvirt_util_metadata_get_console_log(const gchar *metadata)
{
	g_autofree gchar *value = sbx_libvirt_util_metadata_get(metadata, "console-log");

	if (value == NULL || !g_path_is_absolute(value))
		return NULL;
	return g_steal_pointer(&value);
}

static gboolean
is_rotated_name(const gchar *name, const gchar *base)
{
	gsize len = strlen(base);

	if (strncmp(name, base, len) != 0 || name[len] != '.' || name[len + 1] == '\0')
		return FALSE;
	for (const gchar *p = name + len + 1; *p != '\0'; p++) {
		if (!g_ascii_isdigit(*p))
			return FALSE;
	}
	return TRUE;
}

/* removes a log virtlogd wrote and its rotations <name>.0, <name>.1, ... */
void
sbx_libvirt_util_remove_logs(const gchar *console_log)
{
	g_autofree gchar *dirname = NULL;
	g_autofree gchar *base = NULL;
	g_autoptr(GDir) dir = NULL;
	const gchar *name;

	if (console_log == NULL)
		return;
	if (g_unlink(console_log) != 0 && errno != ENOENT)
		g_debug("cannot remove %s: %s", console_log, g_strerror(errno));
	dirname = g_path_get_dirname(console_log);
	base = g_path_get_basename(console_log);
	dir = g_dir_open(dirname, 0, NULL);
	if (dir == NULL)
		return;
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = NULL;
		if (!is_rotated_name(name, base))
			continue;
		path = g_build_filename(dirname, name, NULL);
		g_unlink(path);
	}
}

/* libvirtd's per-domain QEMU log (virtlogd writes it), one per sandbox id:
 * only known for the system instance, where the folder is fixed */
gchar *
sbx_libvirt_util_domain_log_path(const gchar *uri, const gchar *id)
{
	gsize len = strlen(id);

	if (g_strcmp0(uri, "qemu:///system") != 0)
		return NULL;
	/* never build a path from an id that could leave the folder */
	if (len == 0 || len > 63 || strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789-") != len)
		return NULL;
	return g_strdup_printf("/var/log/libvirt/qemu/%s.log", id);
}
