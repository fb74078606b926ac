/* sandboxd guest agent: the AF_VSOCK transport (cloud-hypervisor guests).
 *
 * `sbx.transport=vsock:PORT` on the kernel command line (or --vsock PORT)
 * makes the agent listen on vsock PORT instead of opening the virtio-serial
 * port; the host reaches it through the VMM's hybrid-vsock socket.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "sbx-agent.h"
#include "sbx-cmdline-keys.h"

int
sbx_vsock_parse_transport(const char *cmdline, unsigned *port)
{
	char value[32];
	char *end = NULL;
	unsigned long v;

	if (!sbx_cmdline_get(cmdline, SBX_CMDLINE_TRANSPORT, value, sizeof(value)))
		return 0;
	if (strcmp(value, "virtio-serial") == 0)
		return 0;
	if (strncmp(value, "vsock:", 6) != 0 || value[6] < '0' || value[6] > '9')
		return -1;
	errno = 0;
	v = strtoul(value + 6, &end, 10);
	/* VMADDR_PORT_ANY is not a port one can be reached on */
	if (errno != 0 || *end != '\0' || v == 0 || v >= VMADDR_PORT_ANY)
		return -1;
	*port = (unsigned)v;
	return 1;
}

int
sbx_vsock_listen(unsigned port)
{
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK,
	    .svm_cid = VMADDR_CID_ANY,
	    .svm_port = port,
	};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
