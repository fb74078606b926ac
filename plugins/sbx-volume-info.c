/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sbx-volume-backend.h"

/**
 * sbx_volume_info_new:
 * @id: the volume or snapshot id
 * @kind: what it is
 *
 * Returns: (transfer full): a #SbxVolumeInfo with no attributes and an
 *   unknown used size
 *
 * Since: 1
 */
SbxVolumeInfo *
sbx_volume_info_new(const gchar *id, SbxVolumeKind kind)
{
	SbxVolumeInfo *info = g_new0(SbxVolumeInfo, 1);
	info->id = g_strdup(id);
	info->kind = kind;
	info->used = SBX_VOLUME_USED_UNKNOWN;
	info->attributes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return info;
}

/**
 * sbx_volume_info_free:
 * @info: (nullable): a #SbxVolumeInfo
 *
 * Frees @info and everything it owns.
 *
 * Since: 1
 */
void
sbx_volume_info_free(SbxVolumeInfo *info)
{
	if (info == NULL)
		return;
	g_free(info->id);
	g_free(info->parent);
	g_hash_table_unref(info->attributes);
	g_free(info);
}
