/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sbx-vm-spec.h"
#include "sbx-volume-backend.h"

/**
 * sbx_disk_source_new:
 *
 * Returns: (transfer full): a new, empty #SbxDiskSource
 *
 * Since: 1
 */
SbxDiskSource *
sbx_disk_source_new(SbxDiskSourceKind kind)
{
	SbxDiskSource *source = g_new0(SbxDiskSource, 1);
	source->kind = kind;
	return source;
}

/**
 * sbx_disk_source_free:
 * @source: (nullable): a #SbxDiskSource
 *
 * Frees @source and everything it owns.
 *
 * Since: 1
 */
void
sbx_disk_source_free(SbxDiskSource *source)
{
	if (source == NULL)
		return;
	g_free(source->path);
	g_free(source->format);
	g_free(source->pool);
	g_free(source->image);
	g_strfreev(source->monitors);
	g_free(source->auth_user);
	g_free(source->auth_key);
	g_free(source);
}

/**
 * sbx_disk_source_copy:
 * @source: a #SbxDiskSource
 *
 * Returns: (transfer full): a deep copy of @source
 *
 * Since: 1
 */
SbxDiskSource *
sbx_disk_source_copy(const SbxDiskSource *source)
{
	SbxDiskSource *copy = sbx_disk_source_new(source->kind);

	copy->path = g_strdup(source->path);
	copy->format = g_strdup(source->format);
	copy->pool = g_strdup(source->pool);
	copy->image = g_strdup(source->image);
	copy->monitors = g_strdupv(source->monitors);
	copy->auth_user = g_strdup(source->auth_user);
	copy->auth_key = g_strdup(source->auth_key);
	copy->read_only = source->read_only;
	return copy;
}
