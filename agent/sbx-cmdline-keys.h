/* the sbx.* keys of the guest kernel command line: the host writes them
 * (core/, backends/; image/build-debian.sh also writes sbx.root), the agent
 * reads them. Shared by both sides; plain C, no GLib.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

/* the root filesystem to switch to (else the initramfs stays root) */
#define SBX_CMDLINE_ROOT "sbx.root"
#define SBX_CMDLINE_ROOTFSTYPE "sbx.rootfstype" /* default ext4 */
#define SBX_CMDLINE_DEBUG "sbx.debug"		/* alone or with any value */
/* the network: sbx.ip=ADDR/PREFIX sbx.gw=ADDR sbx.dns=ADDR [sbx.mtu=N] */
#define SBX_CMDLINE_IP "sbx.ip"
#define SBX_CMDLINE_GW "sbx.gw"
#define SBX_CMDLINE_DNS "sbx.dns"
#define SBX_CMDLINE_MTU "sbx.mtu"
/* volumes: sbx.vol=KEY:PATH:rw|ro[,...]; KEY is the disk's virtio serial,
 * or @N: the Nth (from 0) disk of serial SBX_VOL_VHOST_SERIAL in PCI address
 * order (vhost-user-blk exports of qemu-storage-daemon all report that serial;
 * backends/cloud-hypervisor/README.md "Serial numbers") */
#define SBX_CMDLINE_VOL "sbx.vol"
#define SBX_VOL_VHOST_SERIAL "vhost_user_blk"
/* the guest's hostname on a cold boot (the sandbox id; a restored clone
 * gets it from IDENTITY); absent: "sandbox" */
#define SBX_CMDLINE_HOSTNAME "sbx.hostname"
/* guest limits */
#define SBX_CMDLINE_PIDS_MAX "sbx.pids_max"
#define SBX_CMDLINE_MEM_RESERVE_MIB "sbx.mem_reserve_mib"
#define SBX_CMDLINE_CHILD_NICE "sbx.child_nice"
/* how the agent is reached: "vsock:PORT" (cloud-hypervisor's hybrid vsock);
 * absent or "virtio-serial": the virtio-serial port */
#define SBX_CMDLINE_TRANSPORT "sbx.transport"
