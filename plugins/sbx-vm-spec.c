/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sbx-vm-spec.h"

SbxVmSpec *
sbx_vm_spec_new(void)
{
	return g_new0(SbxVmSpec, 1);
}

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
	g_free(spec);
}
