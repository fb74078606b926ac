/* durable volumes: sbx.vol=KEY:PATH:rw|ro[,...] on the kernel command line.
 * Each disk is found by its virtio serial (or, for @N, as the Nth
 * vhost-user-blk disk in PCI order: sbx-cmdline-keys.h), formatted ext4 when
 * blank (rw only), grown to its disk and mounted at PATH before the agent
 * answers the host.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include "sbx-agent.h"
#include "sbx-cmdline-keys.h"

#define SBX_VOL_WAIT_MS 20000
#define SBX_VOL_MAX 8
#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* the first line of @root/sys/block/@name/@file, or false */
static bool
read_block_attr(const char *root, const char *name, const char *file, char *buf, size_t size)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/sys/block/%.16s/%s", root, name, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

/* the PCI address of a virtio disk: /sys/block/vdX/device is the virtio
 * device, its parent folder the PCI function (DDDD:BB:SS.F) */
static bool
disk_pci_address(const char *root, const char *name, char *bdf, size_t size)
{
	char path[512];
	char real[PATH_MAX];
	snprintf(path, sizeof(path), "%s/sys/block/%.16s/device/..", root, name);
	if (realpath(path, real) == NULL)
		return false;
	const char *base = strrchr(real, '/');
	base = base != NULL ? base + 1 : real;
	/* "%04x:%02x:%02x.%x": fixed width, so sorting the text sorts addresses */
	if (strlen(base) != 12 || base[4] != ':' || base[7] != ':' || base[10] != '.')
		return false;
	snprintf(bdf, size, "%s", base);
	return true;
}

typedef struct {
	char name[17];
	char bdf[13];
} VhostDisk;

static int
cmp_bdf(const void *a, const void *b)
{
	return strcmp(((const VhostDisk *)a)->bdf, ((const VhostDisk *)b)->bdf);
}

/* one look at @root/sys/block: the disk of serial @key, or with @key "@N"
 * the Nth disk of serial SBX_VOL_VHOST_SERIAL by PCI address, once all
 * @n_vhost of them are there (before, the order could still change) */
static bool
scan_disks(const char *root, const char *key, unsigned n_vhost, char *name, size_t size)
{
	char dir_path[512];
	VhostDisk vhost[SBX_VOL_MAX];
	unsigned n_found = 0;
	bool by_order = key[0] == '@';
	bool found = false;

	snprintf(dir_path, sizeof(dir_path), "%s/sys/block", root);
	DIR *d = opendir(dir_path);
	struct dirent *e;
	while (d != NULL && !found && (e = readdir(d)) != NULL) {
		char serial[64];
		if (strncmp(e->d_name, "vd", 2) != 0 || strlen(e->d_name) > 16 ||
		    !read_block_attr(root, e->d_name, "serial", serial, sizeof(serial)))
			continue;
		if (!by_order) {
			if (strcmp(serial, key) == 0) {
				snprintf(name, size, "%s", e->d_name);
				found = true;
			}
			continue;
		}
		if (strcmp(serial, SBX_VOL_VHOST_SERIAL) != 0)
			continue;
		/* more than announced: the count is wrong, so is any order */
		if (n_found == SBX_VOL_MAX) {
			n_found++;
			break;
		}
		snprintf(vhost[n_found].name, sizeof(vhost[n_found].name), "%s", e->d_name);
		if (!disk_pci_address(root, e->d_name, vhost[n_found].bdf,
				      sizeof(vhost[n_found].bdf)))
			continue; /* not a PCI device (yet): not counted */
		n_found++;
	}
	if (d != NULL)
		closedir(d);
	if (!by_order || found)
		return found;
	char *end = NULL;
	unsigned long index = strtoul(key + 1, &end, 10);
	if (end == key + 1 || *end != '\0' || index >= n_vhost || n_found != n_vhost)
		return false;
	qsort(vhost, n_found, sizeof(vhost[0]), cmp_bdf);
	snprintf(name, size, "%s", vhost[index].name);
	return true;
}

bool
sbx_vol_find_disk(const char *root, const char *key, unsigned n_vhost, long wait_ms, char *name,
		  size_t size)
{
	for (long waited = 0;; waited += 50) {
		if (scan_disks(root, key, n_vhost, name, size))
			return true;
		if (waited >= wait_ms)
			return false;
		sleep_ms(50);
	}
}

/* /dev/vdX for volume @key; waits for virtio_blk */
static bool
find_disk(const char *key, unsigned n_vhost, char *dev, size_t size)
{
	char name[17];

	if (!sbx_vol_find_disk("", key, n_vhost, SBX_VOL_WAIT_MS, name, sizeof(name)))
		return false;
	snprintf(dev, size, "/dev/%s", name);
	/* the node follows the sysfs entry */
	for (long w = 0; access(dev, F_OK) < 0 && w < 2000; w += 20)
		sleep_ms(20);
	return access(dev, F_OK) == 0;
}

/* the ext2/3/4 magic in the superblock; false for a blank disk */
static bool
has_ext_fs(const char *dev, uint8_t sb[1024])
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	bool ok = false;
	if (fd < 0)
		return false;
	if (pread(fd, sb, 1024, 1024) == 1024)
		ok = sb[56] == 0x53 && sb[57] == 0xef;
	close(fd);
	return ok;
}

static bool
is_blank(const char *dev)
{
	uint8_t buf[65536];
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	if (fd < 0)
		return false;
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n != (ssize_t)sizeof(buf))
		return false;
	for (size_t i = 0; i < sizeof(buf); i++) {
		if (buf[i] != 0)
			return false;
	}
	return true;
}

static bool
run_tool(const char *const argv[])
{
	pid_t pid = fork();
	int status = 0;
	if (pid < 0)
		return false;
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* e2fsprogs makes ext4; busybox's mke2fs (the minimal image) only knows plain
 * options and makes ext2, which the kernel's ext4 driver mounts as well */
static bool
run_mkfs(const char *dev)
{
	static const char *const tools[] = {"/sbin/mkfs.ext4", "/usr/sbin/mkfs.ext4",
					    "/sbin/mke2fs",    "/usr/sbin/mke2fs",
					    "/bin/mke2fs",     "/usr/bin/mke2fs"};
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		if (access(tools[i], X_OK) < 0)
			continue;
		const char *const ext4[] = {
		    tools[i], "-q",   "-F",
		    "-t",     "ext4", "-m",
		    "0",      "-E",   "lazy_itable_init=1,lazy_journal_init=1",
		    dev,      NULL};
		const char *const plain[] = {tools[i], "-F", "-m", "0", dev, NULL};
		if (run_tool(ext4) || run_tool(plain))
			return true;
		sbx_log("volume %s: %s failed", dev, tools[i]);
	}
	sbx_log("volume %s: no working mkfs.ext4 or mke2fs in the guest image", dev);
	return false;
}

static void
mkdir_p(const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
	mkdir(buf, 0755);
}

/* a volume resized on the host: grow its ext4 online to the disk */
static void
grow(const char *dev, const char *path)
{
	uint8_t sb[1024];
	uint64_t bytes = 0;
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
		bytes = 0;
	close(fd);
	if (bytes == 0 || !has_ext_fs(dev, sb) || sb[24] > 6)
		return;
	uint64_t bsize = 1024ull << sb[24];
	uint64_t cur =
	    (uint64_t)sb[4] | (uint64_t)sb[5] << 8 | (uint64_t)sb[6] << 16 | (uint64_t)sb[7] << 24;
	if (sb[96] & 0x80)
		cur |= ((uint64_t)sb[0x150] | (uint64_t)sb[0x151] << 8 | (uint64_t)sb[0x152] << 16 |
			(uint64_t)sb[0x153] << 24)
		       << 32;
	uint64_t blocks = bytes / bsize;
	if (blocks <= cur)
		return;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (ioctl(fd, EXT4_IOC_RESIZE_FS, &blocks) < 0)
		sbx_log("volume %s: growing to %llu blocks: %s", dev, (unsigned long long)blocks,
			strerror(errno));
	close(fd);
}

static int
setup_one(const char *serial, unsigned n_vhost, const char *path, bool rw)
{
	char dev[64];
	uint8_t sb[1024];

	if (path[0] != '/' || strstr(path, "..") != NULL) {
		sbx_log("volume %s: bad mount path %s", serial, path);
		return -1;
	}
	if (!find_disk(serial, n_vhost, dev, sizeof(dev))) {
		sbx_log("volume %s: no disk with this %s appeared", serial,
			serial[0] == '@' ? "place in PCI order" : "serial");
		return -1;
	}
	if (!has_ext_fs(dev, sb)) {
		/* only a never-used (all-zero start) disk is formatted */
		if (!rw || !is_blank(dev)) {
			sbx_log("volume %s (%s): no ext4 file system%s", serial, dev,
				rw ? " and not blank: not formatting it" : " (read-only)");
			return -1;
		}
		if (!run_mkfs(dev))
			return -1;
		sbx_debug("volume %s: formatted %s", serial, dev);
	}
	mkdir_p(path);
	if (mount(dev, path, "ext4", rw ? 0 : MS_RDONLY, rw ? NULL : "noload") < 0) {
		sbx_log("volume %s: mount %s on %s: %s", serial, dev, path, strerror(errno));
		return -1;
	}
	if (rw)
		grow(dev, path);
	sbx_debug("volume %s: %s mounted on %s (%s)", serial, dev, path, rw ? "rw" : "ro");
	return 0;
}

int
sbx_vol_setup(const char *cmdline)
{
	char value[2048];
	char *save = NULL;
	int n = 0;

	if (cmdline == NULL || !sbx_cmdline_get(cmdline, SBX_CMDLINE_VOL, value, sizeof(value)))
		return 0;
	/* how many disks the @N entries share out: all of them must be seen */
	unsigned n_vhost = value[0] == '@';
	for (const char *p = value; (p = strchr(p, ',')) != NULL; p++)
		n_vhost += p[1] == '@';
	for (char *item = strtok_r(value, ",", &save); item != NULL && n < SBX_VOL_MAX;
	     item = strtok_r(NULL, ",", &save), n++) {
		char *path = strchr(item, ':');
		char *mode = path != NULL ? strrchr(path + 1, ':') : NULL;
		if (path == NULL || mode == NULL) {
			sbx_log("sbx.vol: bad entry %s", item);
			return -1;
		}
		*path++ = '\0';
		*mode++ = '\0';
		if (setup_one(item, n_vhost, path, strcmp(mode, "rw") == 0) < 0)
			return -1;
	}
	return 0;
}
