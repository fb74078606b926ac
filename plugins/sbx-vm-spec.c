/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sbx-vm-spec.h"

/**
 * sbx_vm_spec_new:
 *
 * Returns: (transfer full): a new, empty #SbxVmSpec
 *
 * Since: 1
 */
SbxVmSpec *
sbx_vm_spec_new(void)
{
	return g_new0(SbxVmSpec, 1);
}

/**
 * sbx_vm_spec_copy:
 * @spec: a #SbxVmSpec
 *
 * Returns: (transfer full): a deep copy of @spec
 *
 * Since: 1
 */
SbxVmSpec *
sbx_vm_spec_copy(const SbxVmSpec *spec)
{
	SbxVmSpec *copy = sbx_vm_spec_new();

	copy->id = g_strdup(spec->id);
	copy->memory_mib = spec->memory_mib;
	copy->vcpus = spec->vcpus;
	copy->kernel = g_strdup(spec->kernel);
	copy->initrd = g_strdup(spec->initrd);
	copy->cmdline = g_strdup(spec->cmdline);
	copy->run_dir = g_strdup(spec->run_dir);
	copy->agent_socket = g_strdup(spec->agent_socket);
	copy->console_log = g_strdup(spec->console_log);
	copy->root_disk = g_strdup(spec->root_disk);
	copy->root_format = g_strdup(spec->root_format);
	copy->disk_size = spec->disk_size;
	copy->network = spec->network;
	copy->snapshot_dir = g_strdup(spec->snapshot_dir);
	if (spec->disks != NULL) {
		copy->disks = g_ptr_array_new_with_free_func((GDestroyNotify)sbx_vm_disk_free);
		for (guint i = 0; i < spec->disks->len; i++)
			g_ptr_array_add(copy->disks,
					sbx_vm_disk_copy(g_ptr_array_index(spec->disks, i)));
	}
	return copy;
}

/**
 * sbx_vm_spec_free:
 * @spec: (nullable): a #SbxVmSpec
 *
 * Frees @spec and everything it owns.
 *
 * Since: 1
 */
void
sbx_vm_spec_free(SbxVmSpec *spec)
{
	if (spec == NULL)
		return;
	g_free(spec->id);
	g_free(spec->kernel);
	g_free(spec->initrd);
	g_free(spec->cmdline);
	g_free(spec->run_dir);
	g_free(spec->agent_socket);
	g_free(spec->console_log);
	g_free(spec->root_disk);
	g_free(spec->root_format);
	g_free(spec->snapshot_dir);
	g_clear_pointer(&spec->disks, g_ptr_array_unref);
	g_free(spec);
}
