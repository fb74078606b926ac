/* sandboxd guest agent: static network set-up from the kernel command line.
 *
 * The host's backend picks the address (it knows which ones are taken) and
 * passes `sbx.ip=ADDR/PREFIX sbx.gw=ADDR sbx.dns=ADDR sbx.mtu=N`: no DHCP
 * round trips at boot, and the host always knows each sandbox's address
 * (what an egress policy will key on).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-agent.h"
#include "sbx-cmdline-keys.h"

/* the NIC shows up while virtio_net probes; it is normally there already */
#define SBX_NET_WAIT_MS 5000

static bool
parse_addr(const char *s, struct in_addr *out)
{
	return inet_pton(AF_INET, s, out) == 1;
}

static void
set_sin(struct sockaddr *sa, struct in_addr addr)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr = addr;
	memcpy(sa, &sin, sizeof(sin));
}

/* the first interface that is not loopback, waiting for it a little */
static bool
find_nic(char *name, size_t size)
{
	uint64_t deadline = sbx_now_ms() + SBX_NET_WAIT_MS;

	for (;;) {
		DIR *d = opendir("/sys/class/net");
		bool found = false;
		if (d != NULL) {
			struct dirent *de;
			while ((de = readdir(d)) != NULL) {
				if (de->d_name[0] == '.' || strcmp(de->d_name, "lo") == 0)
					continue;
				if (strlen(de->d_name) >= size || strlen(de->d_name) >= IFNAMSIZ)
					continue;
				/* the kernel's eth0 sorts first; readdir order is not sorted */
				if (!found || strcmp(de->d_name, name) < 0)
					strcpy(name, de->d_name);
				found = true;
			}
			closedir(d);
		}
		if (found)
			return true;
		if (sbx_now_ms() >= deadline)
			return false;
		usleep(2000);
	}
}

static void
write_resolv_conf(const char *dns)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "nameserver %s\n", dns);
	/* a symlink (systemd-resolved style) would point nowhere here */
	unlink("/etc/resolv.conf.sbx");
	int fd = open("/etc/resolv.conf.sbx", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		sbx_log("writing /etc/resolv.conf: %s", strerror(errno));
		return;
	}
	if (write(fd, buf, (size_t)n) != n || close(fd) < 0 ||
	    rename("/etc/resolv.conf.sbx", "/etc/resolv.conf") < 0) {
		sbx_log("writing /etc/resolv.conf: %s", strerror(errno));
		unlink("/etc/resolv.conf.sbx");
	}
}

void
sbx_net_setup(const char *cmdline)
{
	char ip[64], gw[32], dns[32], mtu_s[16], nic[IFNAMSIZ];
	struct in_addr addr, mask, gateway;
	unsigned long prefix = 24;
	struct ifreq ifr;

	if (!sbx_cmdline_get(cmdline, SBX_CMDLINE_IP, ip, sizeof(ip)))
		return;
	char *slash = strchr(ip, '/');
	if (slash != NULL) {
		char *end = NULL;
		*slash = '\0';
		prefix = strtoul(slash + 1, &end, 10);
		if (end == slash + 1 || *end != '\0' || prefix < 1 || prefix > 32) {
			sbx_log("sbx.ip: bad prefix");
			return;
		}
	}
	if (!parse_addr(ip, &addr)) {
		sbx_log("sbx.ip: bad address %s", ip);
		return;
	}
	mask.s_addr = htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix));
	if (!find_nic(nic, sizeof(nic))) {
		sbx_log("network: no interface appeared");
		return;
	}

	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, nic, strlen(nic) + 1);
	set_sin(&ifr.ifr_addr, addr);
	/* a restored clone gets its own MAC before its address (IDENTITY) */
	char mac_s[32];
	unsigned int m[6];
	if (sbx_cmdline_get(cmdline, "sbx.mac", mac_s, sizeof(mac_s)) &&
	    sscanf(mac_s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6) {
		struct ifreq hw;
		memset(&hw, 0, sizeof(hw));
		memcpy(hw.ifr_name, nic, strlen(nic) + 1);
		hw.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		for (int i = 0; i < 6; i++)
			hw.ifr_hwaddr.sa_data[i] = (char)m[i];
		if (ioctl(s, SIOCSIFHWADDR, &hw) < 0)
			sbx_log("network: %s mac: %s", nic, strerror(errno));
	}
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		sbx_log("network: %s address: %s", nic, strerror(errno));
	set_sin(&ifr.ifr_netmask, mask);
	if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
		sbx_log("network: %s netmask: %s", nic, strerror(errno));
	if (sbx_cmdline_get(cmdline, SBX_CMDLINE_MTU, mtu_s, sizeof(mtu_s))) {
		int mtu = atoi(mtu_s);
		if (mtu >= 576 && mtu <= 65535) {
			ifr.ifr_mtu = mtu;
			if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
				sbx_log("network: %s mtu: %s", nic, strerror(errno));
		}
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			sbx_log("network: %s up: %s", nic, strerror(errno));
	}
	if (sbx_cmdline_get(cmdline, SBX_CMDLINE_GW, gw, sizeof(gw)) && parse_addr(gw, &gateway)) {
		struct rtentry rt;
		struct in_addr any = {0};
		memset(&rt, 0, sizeof(rt));
		set_sin(&rt.rt_dst, any);
		set_sin(&rt.rt_genmask, any);
		set_sin(&rt.rt_gateway, gateway);
		rt.rt_flags = RTF_UP | RTF_GATEWAY;
		rt.rt_dev = nic;
		if (ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
			sbx_log("network: default route via %s: %s", gw, strerror(errno));
	}
	close(s);
	if (sbx_cmdline_get(cmdline, SBX_CMDLINE_DNS, dns, sizeof(dns)) &&
	    parse_addr(dns, &gateway))
		write_resolv_conf(dns);
	sbx_debug("network: %s %s/%lu", nic, ip, prefix);
}
