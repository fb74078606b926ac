/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sbx-vm-spec.h"
#include "sbx-volume-backend.h"

/**
 * sbx_vm_disk_new:
 *
 * Returns: (transfer full): a new, empty #SbxVmDisk
 *
 * Since: 1
 */
SbxVmDisk *
sbx_vm_disk_new(void)
{
	return g_new0(SbxVmDisk, 1);
}

/**
 * sbx_vm_disk_copy:
 * @disk: a #SbxVmDisk
 *
 * Returns: (transfer full): a deep copy of @disk
 *
 * Since: 1
 */
SbxVmDisk *
sbx_vm_disk_copy(const SbxVmDisk *disk)
{
	SbxVmDisk *copy = sbx_vm_disk_new();

	copy->source = disk->source != NULL ? sbx_disk_source_copy(disk->source) : NULL;
	copy->serial = g_strdup(disk->serial);
	copy->target = g_strdup(disk->target);
	copy->mount_path = g_strdup(disk->mount_path);
	copy->read_only = disk->read_only;
	return copy;
}

/**
 * sbx_vm_disk_free:
 * @disk: (nullable): a #SbxVmDisk
 *
 * Frees @disk and everything it owns.
 *
 * Since: 1
 */
void
sbx_vm_disk_free(SbxVmDisk *disk)
{
	if (disk == NULL)
		return;
	g_clear_pointer(&disk->source, sbx_disk_source_free);
	g_free(disk->serial);
	g_free(disk->target);
	g_free(disk->mount_path);
	g_free(disk);
}
