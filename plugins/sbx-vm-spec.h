/* sandboxd plugin SDK: what the core asks a hypervisor backend to boot.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * SbxVmSpec:
 * @id: the sandbox id: [a-z0-9-], at most 63 bytes; unique on the host
 * @memory_mib: guest memory in MiB
 * @vcpus: guest vCPUs
 * @kernel: absolute path of the kernel image
 * @initrd: absolute path of the initramfs, or %NULL
 * @cmdline: kernel command line
 * @run_dir: a directory the core created for this sandbox (mode 0750) and
 *   removes after destroy; the backend may put its own files here
 * @agent_socket: where the agent channel's listening unix socket must be
 *   (inside @run_dir): the core connects to it once start has finished
 * @console_log: file the guest's serial console is written to (inside @run_dir)
 *
 * Plain data, owned by the core; a backend copies what it keeps.
 */
typedef struct {
	gchar *id;
	guint memory_mib;
	guint vcpus;
	gchar *kernel;
	gchar *initrd;
	gchar *cmdline;
	gchar *run_dir;
	gchar *agent_socket;
	gchar *console_log;
} SbxVmSpec;

SbxVmSpec *sbx_vm_spec_new(void);
void sbx_vm_spec_free(SbxVmSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxVmSpec, sbx_vm_spec_free)

G_END_DECLS
