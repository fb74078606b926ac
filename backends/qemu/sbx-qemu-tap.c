/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sbx-qemu-tap.h"

/* interface names have 15 bytes: "st" and the id's random part */
gchar *
sbx_qemu_tap_name(const gchar *id)
{
	gsize len = strlen(id);
	return g_strdup_printf("st%s", len > 13 ? id + len - 13 : id);
}

static gboolean
set_error_errno(GError **error, const gchar *what, const gchar *name)
{
	int errsv = errno;
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "tap %s: %s: %s", name, what,
		    g_strerror(errsv));
	return FALSE;
}

static int
ifindex(int sock, const gchar *name)
{
	struct ifreq ifr = {0};
	g_strlcpy(ifr.ifr_name, name, IFNAMSIZ);
	if (ioctl(sock, SIOCGIFINDEX, &ifr) != 0)
		return 0;
	return ifr.ifr_ifindex;
}

/* the bridge's MTU, so the guest's NIC matches it */
static gboolean
copy_mtu_and_up(int sock, const gchar *name, const gchar *bridge, GError **error)
{
	struct ifreq ifr = {0};

	g_strlcpy(ifr.ifr_name, bridge, IFNAMSIZ);
	if (ioctl(sock, SIOCGIFMTU, &ifr) == 0) {
		g_strlcpy(ifr.ifr_name, name, IFNAMSIZ);
		if (ioctl(sock, SIOCSIFMTU, &ifr) != 0)
			return set_error_errno(error, "set mtu", name);
	}
	memset(&ifr, 0, sizeof(ifr));
	g_strlcpy(ifr.ifr_name, name, IFNAMSIZ);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) != 0)
		return set_error_errno(error, "get flags", name);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) != 0)
		return set_error_errno(error, "up", name);
	return TRUE;
}

/* a non-persistent tap on @bridge: it goes away with the last fd, so a
 * crashed daemon or a killed QEMU leaves no interface behind */
gint
sbx_qemu_tap_open(const gchar *name, const gchar *bridge, GError **error)
{
	struct ifreq ifr = {0};
	int fd, sock;

	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		set_error_errno(error, "socket", name);
		return -1;
	}
	if (ifindex(sock, bridge) == 0) {
		close(sock);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "bridge %s does not exist (the libvirt network 'sandboxd' makes it)",
			    bridge);
		return -1;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		set_error_errno(error, "open /dev/net/tun", name);
		close(sock);
		return -1;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	g_strlcpy(ifr.ifr_name, name, IFNAMSIZ);
	if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
		set_error_errno(error, "TUNSETIFF", name);
		close(sock);
		close(fd);
		return -1;
	}
	if (!copy_mtu_and_up(sock, name, bridge, error)) {
		close(sock);
		close(fd);
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	g_strlcpy(ifr.ifr_name, bridge, IFNAMSIZ);
	ifr.ifr_ifindex = ifindex(sock, name);
	if (ioctl(sock, SIOCBRADDIF, &ifr) != 0) {
		set_error_errno(error, "add to bridge", name);
		close(sock);
		close(fd);
		return -1;
	}
	close(sock);
	return fd;
}
