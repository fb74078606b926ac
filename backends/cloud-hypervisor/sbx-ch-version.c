/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gio/gio.h>

#include "sbx-ch-version.h"

/* "53.0.0", "v53.0", "53.0", "54.0.0-dirty": at most three numbers, an
 * optional leading v, anything after the numbers ignored */
gboolean
sbx_ch_version_parse(const gchar *text, SbxChVersion *version, GError **error)
{
	guint parts[3] = {0, 0, 0};
	const gchar *p = text;
	guint n = 0;

	if (p != NULL && *p == 'v')
		p++;
	while (p != NULL && n < 3 && g_ascii_isdigit(*p)) {
		gchar *end = NULL;
		guint64 value = g_ascii_strtoull(p, &end, 10);
		if (value > 100000)
			break;
		parts[n++] = (guint)value;
		p = end;
		if (*p != '.')
			break;
		p++;
	}
	if (n < 2) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "'%s' is not a cloud-hypervisor version (X.Y or X.Y.Z)",
			    text != NULL ? text : "(none)");
		return FALSE;
	}
	version->major = parts[0];
	version->minor = parts[1];
	version->micro = parts[2];
	return TRUE;
}

gint
sbx_ch_version_compare(const SbxChVersion *a, const SbxChVersion *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->micro != b->micro)
		return a->micro < b->micro ? -1 : 1;
	return 0;
}

gboolean
sbx_ch_version_at_least(const SbxChVersion *version, guint major, guint minor)
{
	SbxChVersion want = {major, minor, 0};
	return sbx_ch_version_compare(version, &want) >= 0;
}

gchar *
sbx_ch_version_to_string(const SbxChVersion *version)
{
	return g_strdup_printf("%u.%u.%u", version->major, version->minor, version->micro);
}

gboolean
sbx_ch_version_needs_backing_files(const SbxChVersion *version)
{
	return sbx_ch_version_at_least(version, 51, 0);
}

gboolean
sbx_ch_version_has_restore_mode(const SbxChVersion *version)
{
	return sbx_ch_version_at_least(version, 52, 0);
}
