/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sbx-tap.h"

/* interface names have 15 bytes: "st" and the id's random part */
gchar *
sbx_tap_name(const gchar *id)
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

/* sends one rtnetlink request and reads its ack */
static gboolean
netlink_request(struct nlmsghdr *req, const gchar *what, const gchar *name, GError **error)
{
	struct {
		struct nlmsghdr n;
		struct nlmsgerr e;
	} ack = {0};
	int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	ssize_t got;

	if (sock < 0)
		return set_error_errno(error, "netlink socket", name);
	if (send(sock, req, req->nlmsg_len, 0) < 0) {
		set_error_errno(error, "netlink send", name);
		close(sock);
		return FALSE;
	}
	got = recv(sock, &ack, sizeof(ack), 0);
	close(sock);
	if (got < (ssize_t)sizeof(ack) || ack.n.nlmsg_type != NLMSG_ERROR) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "tap %s: no netlink answer",
			    name);
		return FALSE;
	}
	if (ack.e.error != 0) {
		errno = -ack.e.error;
		return set_error_errno(error, what, name);
	}
	return TRUE;
}

/* the bridge port of @ifidx talks to the bridge's uplink only, never to
 * another isolated port (the guests): what libvirt's <port isolated='yes'/>
 * does, through netlink */
static gboolean
set_port_isolated(int ifidx, const gchar *name, GError **error)
{
	struct {
		struct nlmsghdr n;
		struct ifinfomsg i;
		char attrs[32];
	} req = {0};
	struct rtattr *nest, *flag;

	req.n.nlmsg_type = RTM_SETLINK;
	req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	req.i.ifi_family = PF_BRIDGE;
	req.i.ifi_index = ifidx;
	nest = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.n.nlmsg_len));
	nest->rta_type = IFLA_PROTINFO | NLA_F_NESTED;
	flag = (struct rtattr *)((char *)nest + RTA_LENGTH(0));
	flag->rta_type = IFLA_BRPORT_ISOLATED;
	flag->rta_len = RTA_LENGTH(1);
	*(guint8 *)RTA_DATA(flag) = 1;
	nest->rta_len = RTA_LENGTH(0) + RTA_ALIGN(flag->rta_len);
	req.n.nlmsg_len = NLMSG_ALIGN(req.n.nlmsg_len) + RTA_ALIGN(nest->rta_len);
	return netlink_request(&req.n, "isolate the bridge port", name, error);
}

/* a persistent tap is deleted by its last fd only once it is no longer
 * persistent */
static void
tap_close(int fd, gboolean persistent)
{
	if (persistent)
		ioctl(fd, TUNSETPERSIST, 0);
	close(fd);
}

static int
tap_setup(const gchar *name, const gchar *bridge, gboolean persistent, uid_t owner, GError **error)
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
	/* a persistent tap of that name may exist already: never take it over */
	if (persistent && ifindex(sock, name) != 0) {
		errno = EEXIST;
		set_error_errno(error, "create", name);
		close(sock);
		close(fd);
		return -1;
	}
	if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
		set_error_errno(error, "TUNSETIFF", name);
		close(sock);
		close(fd);
		return -1;
	}
	/* its owner (the VMM's user) may attach without CAP_NET_ADMIN */
	if (persistent && (ioctl(fd, TUNSETOWNER, (unsigned long)owner) != 0 ||
			   ioctl(fd, TUNSETPERSIST, 1) != 0)) {
		set_error_errno(error, "make persistent", name);
		close(sock);
		tap_close(fd, TRUE);
		return -1;
	}
	if (!copy_mtu_and_up(sock, name, bridge, error)) {
		close(sock);
		tap_close(fd, persistent);
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	g_strlcpy(ifr.ifr_name, bridge, IFNAMSIZ);
	ifr.ifr_ifindex = ifindex(sock, name);
	if (ioctl(sock, SIOCBRADDIF, &ifr) != 0) {
		set_error_errno(error, "add to bridge", name);
		close(sock);
		tap_close(fd, persistent);
		return -1;
	}
	/* nothing sends on it yet: the VMM gets it after this */
	if (!set_port_isolated(ifr.ifr_ifindex, name, error)) {
		close(sock);
		tap_close(fd, persistent);
		return -1;
	}
	close(sock);
	return fd;
}

/* a non-persistent tap on @bridge: it goes away with the last fd, so a
 * crashed daemon or a killed QEMU leaves no interface behind */
gint
sbx_tap_open(const gchar *name, const gchar *bridge, GError **error)
{
	return tap_setup(name, bridge, FALSE, 0, error);
}

gboolean
sbx_tap_create(const gchar *name, const gchar *bridge, uid_t owner, GError **error)
{
	int fd = tap_setup(name, bridge, TRUE, owner, error);

	if (fd < 0)
		return FALSE;
	close(fd);
	return TRUE;
}

gboolean
sbx_tap_delete(const gchar *name, GError **error)
{
	struct {
		struct nlmsghdr n;
		struct ifinfomsg i;
	} req = {0};
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int idx;

	if (sock < 0)
		return set_error_errno(error, "socket", name);
	idx = ifindex(sock, name);
	close(sock);
	if (idx == 0)
		return TRUE; /* gone already */
	req.n.nlmsg_type = RTM_DELLINK;
	req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.n.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	req.i.ifi_family = AF_UNSPEC;
	req.i.ifi_index = idx;
	return netlink_request(&req.n, "delete", name, error);
}

static gchar *
guard_table(const gchar *name)
{
	return g_strdup_printf("sbxq_%s", name);
}

static gboolean
run_nft(const gchar *script, GError **error)
{
	g_autoptr(GSubprocess) nft =
	    g_subprocess_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
				 G_SUBPROCESS_FLAGS_STDERR_PIPE,
			     error, "nft", "-f", "-", NULL);
	g_autofree gchar *err = NULL;

	if (nft == NULL || !g_subprocess_communicate_utf8(nft, script, NULL, NULL, &err, error))
		return FALSE;
	if (!g_subprocess_get_if_exited(nft) || g_subprocess_get_exit_status(nft) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "nft: %s",
			    err != NULL ? g_strstrip(err) : "failed");
		return FALSE;
	}
	return TRUE;
}

/* anti-spoofing, like libvirt's clean-traffic filter: from the tap only the
 * guest's own MAC, its own IPv4 address and ARP for it; nothing else */
gboolean
sbx_tap_guard(const gchar *name, const gchar *mac, const gchar *ip, GError **error)
{
	g_autofree gchar *table = guard_table(name);
	g_autofree gchar *script =
	    g_strdup_printf("table bridge %s {\n"
			    "  chain from_guest {\n"
			    "    type filter hook prerouting priority -300; policy accept;\n"
			    "    iifname != \"%s\" accept\n"
			    "    ether saddr != %s drop\n"
			    "    ether type arp arp saddr ether == %s arp saddr ip == %s accept\n"
			    "    ether type ip ip saddr == %s accept\n"
			    "    drop\n"
			    "  }\n"
			    "}\n",
			    table, name, mac, mac, ip, ip);

	if (!run_nft(script, error)) {
		g_prefix_error(error, "tap %s: anti-spoofing rules: ", name);
		return FALSE;
	}
	return TRUE;
}

void
sbx_tap_unguard(const gchar *name)
{
	g_autofree gchar *table = guard_table(name);
	g_autofree gchar *script = g_strdup_printf("delete table bridge %s\n", table);

	/* fails quietly when it is gone already */
	run_nft(script, NULL);
}

static void
unguard_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	sbx_tap_unguard(task_data);
	g_task_return_boolean(task, TRUE);
}

void
sbx_tap_release(const gchar *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GTask) task = g_task_new(NULL, NULL, NULL, NULL);

	if (!sbx_tap_delete(name, &error))
		g_warning("%s", error->message);
	g_task_set_task_data(task, g_strdup(name), g_free);
	g_task_run_in_thread(task, unguard_thread);
}
