/* sandboxd guest agent: keeping the agent responsive whatever its children
 * do. The agent is never chosen by the OOM killer (oom_score_adj -1000)
 * and runs at a higher priority than its children; the children share a
 * cgroup with a pids.max (fork bombs) and a memory.max below the guest's
 * memory (memory hogs are OOM-killed inside it, the agent keeps a reserve).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-agent.h"
#include "sbx-cmdline-keys.h"

#define SBX_CGROUP_ROOT "/sys/fs/cgroup"
#define SBX_CGROUP_PROCS SBX_CGROUP_ROOT "/sandbox"
#define SBX_DEFAULT_PIDS_MAX 2048
#define SBX_DEFAULT_MEM_RESERVE_MIB 48
#define SBX_AGENT_NICE (-10)

static bool cgroup_ready;
static int child_nice;
static bool limits_set_up;

static bool
write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	size_t len = strlen(value);
	bool ok = write(fd, value, len) == (ssize_t)len;
	int e = errno;
	close(fd);
	errno = e;
	return ok;
}

static long
cmdline_long(const char *cmdline, const char *key, long def, long min, long max)
{
	char buf[32];
	if (cmdline == NULL || !sbx_cmdline_get(cmdline, key, buf, sizeof(buf)))
		return def;
	char *end = NULL;
	long v = strtol(buf, &end, 10);
	if (end == buf || *end != '\0' || v < min || v > max) {
		sbx_log("ignoring %s=%s (expected %ld..%ld)", key, buf, min, max);
		return def;
	}
	return v;
}

static uint64_t
mem_total_bytes(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	unsigned long long kib = 0;
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "MemTotal: %llu kB", &kib) == 1)
			break;
	}
	fclose(f);
	return (uint64_t)kib * 1024u;
}

static void
cgroup_setup(const char *cmdline)
{
	char buf[64];
	mkdir(SBX_CGROUP_ROOT, 0755);
	if (mount("cgroup2", SBX_CGROUP_ROOT, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) <
		0 &&
	    errno != EBUSY) {
		sbx_log("mount cgroup2: %s (no limits for sandbox processes)", strerror(errno));
		return;
	}
	/* each controller on its own: a kernel without one still gets the other */
	if (!write_file(SBX_CGROUP_ROOT "/cgroup.subtree_control", "+pids"))
		sbx_log("cgroup pids controller: %s", strerror(errno));
	if (!write_file(SBX_CGROUP_ROOT "/cgroup.subtree_control", "+memory"))
		sbx_log("cgroup memory controller: %s", strerror(errno));
	if (mkdir(SBX_CGROUP_PROCS, 0755) < 0 && errno != EEXIST) {
		sbx_log("mkdir " SBX_CGROUP_PROCS ": %s", strerror(errno));
		return;
	}
	long pids = cmdline_long(cmdline, SBX_CMDLINE_PIDS_MAX, SBX_DEFAULT_PIDS_MAX, 16, 4194304);
	snprintf(buf, sizeof(buf), "%ld", pids);
	if (!write_file(SBX_CGROUP_PROCS "/pids.max", buf))
		sbx_log("pids.max: %s", strerror(errno));
	long reserve = cmdline_long(cmdline, SBX_CMDLINE_MEM_RESERVE_MIB,
				    SBX_DEFAULT_MEM_RESERVE_MIB, 0, 1 << 20);
	uint64_t total = mem_total_bytes();
	uint64_t keep = (uint64_t)reserve * 1024u * 1024u;
	if (total > 2 * keep && keep > 0) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(total - keep));
		if (!write_file(SBX_CGROUP_PROCS "/memory.max", buf))
			sbx_log("memory.max: %s", strerror(errno));
	}
	cgroup_ready = true;
	sbx_debug("sandbox cgroup: pids.max %ld, memory reserve %ld MiB", pids, reserve);
}

void
sbx_limits_setup(const char *cmdline)
{
	limits_set_up = true;
	if (!write_file("/proc/self/oom_score_adj", "-1000"))
		sbx_log("oom_score_adj: %s", strerror(errno));
	child_nice = (int)cmdline_long(cmdline, SBX_CMDLINE_CHILD_NICE, 0, -20, 19);
	if (setpriority(PRIO_PROCESS, 0, SBX_AGENT_NICE) < 0)
		sbx_log("setpriority: %s", strerror(errno));
	cgroup_setup(cmdline);
}

void
sbx_limits_child(void)
{
	if (!limits_set_up)
		return;
	/* raising oom_score_adj needs no privilege, lowering would */
	write_file("/proc/self/oom_score_adj", "0");
	setpriority(PRIO_PROCESS, 0, child_nice);
	if (cgroup_ready) {
		char pid[24];
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		write_file(SBX_CGROUP_PROCS "/cgroup.procs", pid);
	}
}
