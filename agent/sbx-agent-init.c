/* sandboxd guest agent: PID 1 duties in the guest and finding the
 * virtio-serial port.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sbx-agent.h"

#define SBX_MODULES_LIST "/etc/sbx-modules"
/* how long to wait for the port to show up after the driver loaded */
#define SBX_PORT_WAIT_MS 20000

static void
do_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data) < 0 && errno != EBUSY)
		sbx_log("mount %s on %s: %s", type, dst, strerror(errno));
}

static void
ensure_stdio(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int n = open("/dev/console", O_RDWR | O_NOCTTY);
		if (n < 0)
			n = open("/dev/null", O_RDWR);
		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
}

static void
load_modules(void)
{
	FILE *f = fopen(SBX_MODULES_LIST, "re");
	if (f == NULL)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			sbx_log("module %s: %s", p, strerror(errno));
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
			sbx_log("loading module %s: %s", p, strerror(errno));
		else
			sbx_debug("loaded %s", p);
		close(fd);
	}
	fclose(f);
}

static void
loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

static void
check_cmdline(void)
{
	char buf[4096];
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (strstr(buf, "sbx.debug") != NULL)
		sbx_agent_verbose = true;
}

int
sbx_init_pid1(void)
{
	umask(022);
	do_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	if (access("/dev/console", F_OK) < 0)
		mknod("/dev/console", S_IFCHR | 0600, makedev(5, 1));
	if (access("/dev/null", F_OK) < 0)
		mknod("/dev/null", S_IFCHR | 0666, makedev(1, 3));
	ensure_stdio();
	do_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	check_cmdline();
	/* drivers first: the port shows up asynchronously after virtio_console
	 * loads, so the rest of the set-up overlaps with that */
	load_modules();
	do_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	do_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666");
	do_mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	do_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	do_mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	symlink("/proc/self/fd", "/dev/fd");
	symlink("/proc/self/fd/0", "/dev/stdin");
	symlink("/proc/self/fd/1", "/dev/stdout");
	symlink("/proc/self/fd/2", "/dev/stderr");
	if (sethostname("sandbox", 7) < 0)
		sbx_log("sethostname: %s", strerror(errno));
	loopback_up();
	sbx_debug("init done");
	return 0;
}

/* reads a short sysfs attribute, without the trailing newline */
static bool
read_attr(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

static int
open_port_once(void)
{
	int fd = open("/dev/virtio-ports/" SBX_AGENT_PORT_NAME,
		      O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0)
		return fd;
	DIR *d = opendir("/sys/class/virtio-ports");
	if (d == NULL)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char path[512], val[128];
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
		if (!read_attr(path, val, sizeof(val)) || strcmp(val, SBX_AGENT_PORT_NAME) != 0)
			continue;
		char dev[300];
		snprintf(dev, sizeof(dev), "/dev/%s", de->d_name);
		fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0 && errno == ENOENT) {
			/* no devtmpfs node (yet): make one from sysfs */
			unsigned maj, min;
			snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/dev", de->d_name);
			if (read_attr(path, val, sizeof(val)) &&
			    sscanf(val, "%u:%u", &maj, &min) == 2) {
				mknod(dev, S_IFCHR | 0600, makedev(maj, min));
				fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
			}
		}
		if (fd < 0)
			sbx_log("open %s: %s", dev, strerror(errno));
		break;
	}
	closedir(d);
	return fd;
}

int
sbx_init_open_port(void)
{
	uint64_t deadline = sbx_now_ms() + SBX_PORT_WAIT_MS;
	for (;;) {
		int fd = open_port_once();
		if (fd >= 0)
			return fd;
		if (sbx_now_ms() >= deadline)
			return -1;
		usleep(2000);
	}
}
