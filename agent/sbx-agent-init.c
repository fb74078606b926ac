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
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/fs.h>

#include "sbx-agent.h"
#include "sbx-cmdline-keys.h"

#define SBX_MODULES_LIST "/etc/sbx-modules"
/* how long to wait for the port to show up after the driver loaded */
#define SBX_PORT_WAIT_MS 20000
/* how long to wait for the root disk's device node */
#define SBX_ROOT_WAIT_MS 20000
#define SBX_SYSROOT "/sysroot"
/* ext4's online resize ioctl (linux/ext4.h is not a uapi header everywhere) */
#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif

/* from the kernel command line */
static char cmdline_root[128];
static char cmdline_rootfstype[32];

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

/* KEY=... is a word of the command line (whatever its value's length) */
static bool
cmdline_has(const char *cmdline, const char *key)
{
	size_t klen = strlen(key);
	for (const char *p = strstr(cmdline, key); p != NULL; p = strstr(p + 1, key)) {
		if ((p == cmdline || p[-1] == ' ') && p[klen] == '=')
			return true;
	}
	return false;
}

/* a module this boot has no device for: each load costs ~50-100 ms under
 * TCG (signature check, relocation, ftrace patching), and no device is
 * hot-plugged later (volumes are on the command line) */
static bool
module_unneeded(const char *path, const char *cmdline)
{
	unsigned port;
	if (strstr(path, "/vmw_vsock/") != NULL)
		return sbx_vsock_parse_transport(cmdline, &port) != 1;
	if (strstr(path, "/virtio_blk.ko") != NULL)
		return !cmdline_has(cmdline, SBX_CMDLINE_ROOT) &&
		       !cmdline_has(cmdline, SBX_CMDLINE_VOL);
	return false;
}

static void
load_modules(void)
{
	FILE *f = fopen(SBX_MODULES_LIST, "re");
	if (f == NULL)
		return;
	const char *cmdline = sbx_init_cmdline();
	char line[512];
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		if (module_unneeded(p, cmdline)) {
			sbx_debug("not loading %s: no device for it", p);
			continue;
		}
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

/* the value of KEY=... in a kernel command line, bounded; false if absent */
bool
sbx_cmdline_get(const char *cmdline, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		const char *word = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if ((size_t)(p - word) > klen && strncmp(word, key, klen) == 0 &&
		    word[klen] == '=') {
			size_t vlen = (size_t)(p - word) - klen - 1;
			if (vlen >= size)
				return false;
			memcpy(out, word + klen + 1, vlen);
			out[vlen] = '\0';
			return true;
		}
	}
	return false;
}

/* the kernel command line, or "" */
const char *
sbx_init_cmdline(void)
{
	static char buf[4096];
	static bool read_once;

	if (read_once)
		return buf;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "";
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	read_once = true;
	return buf;
}

static void
check_cmdline(void)
{
	const char *cmdline = sbx_init_cmdline();

	/* "sbx.debug" alone or with any value */
	for (const char *p = strstr(cmdline, SBX_CMDLINE_DEBUG); p != NULL;
	     p = strstr(p + 1, SBX_CMDLINE_DEBUG)) {
		if ((p == cmdline || p[-1] == ' ') &&
		    strchr(" \t\n=", p[strlen(SBX_CMDLINE_DEBUG)]) != NULL)
			sbx_agent_verbose = true;
	}
	if (!sbx_cmdline_get(cmdline, SBX_CMDLINE_ROOT, cmdline_root, sizeof(cmdline_root)))
		cmdline_root[0] = '\0';
	if (!sbx_cmdline_get(cmdline, SBX_CMDLINE_ROOTFSTYPE, cmdline_rootfstype,
			     sizeof(cmdline_rootfstype)))
		snprintf(cmdline_rootfstype, sizeof(cmdline_rootfstype), "ext4");
}

/* grows an ext4 root to its disk when the disk is larger (a bigger disk
 * than the image's); failures only cost the extra space */
static void
grow_root(const char *dev)
{
	uint8_t sb[1024];
	uint64_t bytes = 0;
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	/* the superblock's block count: statfs() leaves out the metadata */
	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0 || pread(fd, sb, sizeof(sb), 1024) != sizeof(sb))
		bytes = 0;
	close(fd);
	/* ext4 superblock: magic 0xef53 at 56, log2(block size) - 10 at 24, blocks at 4
	 * (low 32 bits) and 0x150 (high, with the 64bit feature, incompat 0x80 at 96) */
	if (bytes == 0 || sb[56] != 0x53 || sb[57] != 0xef || sb[24] > 6)
		return;
	uint64_t bsize = 1024ull << sb[24];
	uint64_t cur =
	    (uint64_t)sb[4] | (uint64_t)sb[5] << 8 | (uint64_t)sb[6] << 16 | (uint64_t)sb[7] << 24;
	if (sb[96] & 0x80)
		cur |= ((uint64_t)sb[0x150] | (uint64_t)sb[0x151] << 8 | (uint64_t)sb[0x152] << 16 |
			(uint64_t)sb[0x153] << 24)
		       << 32;
	uint64_t blocks = bytes / bsize;
	/* the same size (the default): nothing to do, not even an ioctl */
	if (blocks <= cur + 1024)
		return;
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (ioctl(fd, EXT4_IOC_RESIZE_FS, &blocks) < 0)
		sbx_log("growing the root file system: %s", strerror(errno));
	else
		sbx_debug("root grown from %llu to %llu blocks", (unsigned long long)cur,
			  (unsigned long long)blocks);
	close(fd);
}

/* mounts sbx.root= and makes it the root, keeping /dev and /proc (what
 * switch_root does, minus freeing the initramfs: a few MiB) */
static int
switch_root(void)
{
	uint64_t deadline = sbx_now_ms() + SBX_ROOT_WAIT_MS;

	/* the disk node shows up once virtio_blk has probed it */
	while (access(cmdline_root, F_OK) < 0) {
		if (sbx_now_ms() >= deadline) {
			sbx_log("root device %s did not appear", cmdline_root);
			return -1;
		}
		usleep(2000);
	}
	mkdir(SBX_SYSROOT, 0755);
	bool rw = true;
	if (mount(cmdline_root, SBX_SYSROOT, cmdline_rootfstype, 0, NULL) < 0) {
		int e = errno;
		if (mount(cmdline_root, SBX_SYSROOT, cmdline_rootfstype, MS_RDONLY, NULL) < 0) {
			sbx_log("mount %s (%s) on " SBX_SYSROOT ": %s", cmdline_root,
				cmdline_rootfstype, strerror(e));
			return -1;
		}
		rw = false;
		sbx_log("root %s mounted read-only", cmdline_root);
	}
	static const char *const moves[] = {"/dev", "/proc"};
	for (size_t i = 0; i < 2; i++) {
		char dst[64];
		snprintf(dst, sizeof(dst), SBX_SYSROOT "%s", moves[i]);
		mkdir(dst, 0755);
		if (mount(moves[i], dst, NULL, MS_MOVE, NULL) < 0)
			sbx_log("moving %s: %s", moves[i], strerror(errno));
	}
	if (chdir(SBX_SYSROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0) {
		sbx_log("switching to the root file system: %s", strerror(errno));
		return -1;
	}
	if (rw && strcmp(cmdline_rootfstype, "ext4") == 0)
		grow_root(cmdline_root);
	sbx_debug("switched to root %s", cmdline_root);
	return 0;
}

/* sbx.hostname= (the sandbox id on a cold boot), else "sandbox" */
static void
set_hostname(void)
{
	char name[64];
	bool ok = sbx_cmdline_get(sbx_init_cmdline(), SBX_CMDLINE_HOSTNAME, name, sizeof(name)) &&
		  name[0] != '\0' && name[0] != '-';
	for (const char *c = name; ok && *c != '\0'; c++)
		ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		     (*c >= '0' && *c <= '9') || *c == '-' || *c == '.';
	if (!ok)
		snprintf(name, sizeof(name), "sandbox");
	if (sethostname(name, strlen(name)) < 0)
		sbx_log("sethostname: %s", strerror(errno));
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
	if (cmdline_root[0] != '\0' && switch_root() < 0)
		return -1;
	do_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	do_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666");
	do_mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	do_mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	do_mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	symlink("/proc/self/fd", "/dev/fd");
	symlink("/proc/self/fd/0", "/dev/stdin");
	symlink("/proc/self/fd/1", "/dev/stdout");
	symlink("/proc/self/fd/2", "/dev/stderr");
	set_hostname();
	loopback_up();
	/* after the root switch: it writes the root's /etc/resolv.conf */
	sbx_net_setup(sbx_init_cmdline());
	/* volumes are mounted before the host hears from us: "ready" means mounted */
	if (sbx_vol_setup(sbx_init_cmdline()) < 0)
		return -1;
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
