/* a parent process that cleans up after the integration tests, even when they crash.
 * plain libc only: it forks before GLib is initialised.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sbx-test-supervisor.h"

/* below the meson timeout (900 s), leaving time to clean up */
#define SBX_SUPERVISOR_DEADLINE_SEC 780

static pid_t child_pid;

static void
append_line(const char *tmpdir, const char *file, const char *line)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
	f = fopen(path, "ae");
	if (f == NULL)
		return;
	fprintf(f, "%s\n", line);
	fclose(f);
}

void
sbx_supervisor_record_pid(const char *tmpdir, pid_t pid)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	append_line(tmpdir, "supervisor-pids", buf);
}

void
sbx_supervisor_record_domain(const char *tmpdir, const char *name)
{
	append_line(tmpdir, "supervisor-domains", name);
}

void
sbx_supervisor_record_nft_table(const char *tmpdir, const char *name)
{
	append_line(tmpdir, "supervisor-nft-tables", name);
}

void
sbx_supervisor_child_setup(void *user_data)
{
	/* the bus and the daemon must not outlive a crashed test */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static void
forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/* meson kills the whole group with SIGKILL at its timeout: end the tests first */
static void
deadline_reached(int sig)
{
	static const char msg[] = "supervisor: the tests ran past their deadline, stopping them\n";
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do */
	}
	if (child_pid > 0)
		kill(child_pid, SIGTERM);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* reaps whatever died; true when no child (direct or adopted orphan) is left */
static int
reap_all(void)
{
	for (;;) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid > 0)
			continue;
		if (pid < 0 && errno == ECHILD)
			return 1;
		return 0;
	}
}

static void
kill_recorded(const char *tmpdir, int sig)
{
	char path[4096];
	char line[64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/supervisor-pids", tmpdir);
	f = fopen(path, "re");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		pid_t pid = (pid_t)atoi(line);
		/* only our own (adopted) children: a recycled pid is someone else's */
		if (pid > 1 && getpgid(pid) >= 0) {
			char ppath[64];
			char stat[512];
			FILE *sf;
			snprintf(ppath, sizeof(ppath), "/proc/%d/stat", (int)pid);
			sf = fopen(ppath, "re");
			if (sf == NULL)
				continue;
			if (fgets(stat, sizeof(stat), sf) != NULL) {
				char *p = strrchr(stat, ')');
				int ppid = 0;
				if (p != NULL && sscanf(p + 2, "%*c %d", &ppid) == 1 &&
				    ppid == (int)getpid())
					kill(pid, sig);
			}
			fclose(sf);
		}
	}
	fclose(f);
}

/* runs a cleanup command quietly; 1 when it succeeded */
static int
run_quiet(char *const argv[])
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* every non-empty line of TMPDIR/FILE, as the argument @index of @argv */
static void
run_for_each_line(const char *tmpdir, const char *file, char *argv[], int index, const char *done)
{
	char path[4096];
	char line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
	f = fopen(path, "re");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		argv[index] = line;
		if (run_quiet(argv))
			fprintf(stderr, "supervisor: %s %s\n", done, line);
	}
	fclose(f);
}

static void
destroy_domains(const char *tmpdir)
{
	char *argv[] = {"virsh", "-q", "-c", "qemu:///system", "destroy", NULL, NULL};
	run_for_each_line(tmpdir, "supervisor-domains", argv, 5, "destroyed leftover domain");
}

/* a killed daemon cannot remove its firewall table */
static void
delete_nft_tables(const char *tmpdir)
{
	char *argv[] = {"nft", "delete", "table", "inet", NULL, NULL};
	run_for_each_line(tmpdir, "supervisor-nft-tables", argv, 4, "deleted leftover nft table");
}

/* the qemu backend's VMs run in their own session: those whose command line
 * names a file below @tmpdir (their run folder) are ours */
static void
kill_qemus(const char *tmpdir)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;

	while (proc != NULL && (e = readdir(proc)) != NULL) {
		char path[300];
		char cmd[8192];
		ssize_t n;
		int fd;
		int ours = 0;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (n <= 0)
			continue;
		cmd[n] = '\0';
		if (strstr(cmd, "qemu-system") == NULL)
			continue;
		for (ssize_t off = 0; off < n; off += (ssize_t)strlen(cmd + off) + 1) {
			if (strstr(cmd + off, tmpdir) != NULL)
				ours = 1;
		}
		if (ours && kill(atoi(e->d_name), SIGKILL) == 0)
			fprintf(stderr, "supervisor: killed leftover QEMU %s\n", e->d_name);
	}
	if (proc != NULL)
		closedir(proc);
}

/* the qemu backend's per-tap anti-spoofing tables (bridge sbxq_st + id tail) */
static void
delete_tap_tables(const char *tmpdir)
{
	char path[4096];
	char line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/supervisor-domains", tmpdir);
	f = fopen(path, "re");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char table[64];
		size_t len;
		char *argv[] = {"nft", "delete", "table", "bridge", table, NULL};

		line[strcspn(line, "\n")] = '\0';
		len = strlen(line);
		if (len == 0)
			continue;
		snprintf(table, sizeof(table), "sbxq_st%s", len > 13 ? line + len - 13 : line);
		if (run_quiet(argv))
			fprintf(stderr, "supervisor: deleted leftover nft table bridge %s\n",
				table);
	}
	fclose(f);
}

/* a killed daemon leaves the qemu backend's cgroups (its default CgroupRoot,
 * one per sandbox id); rmdir only removes an empty one */
static void
remove_qemu_cgroups(const char *tmpdir)
{
	char path[4096];
	char line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/supervisor-domains", tmpdir);
	f = fopen(path, "re");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char dir[1024];

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0' || strchr(line, '/') != NULL || line[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/sandboxd-qemu/%s", line);
		if (rmdir(dir) == 0)
			fprintf(stderr, "supervisor: removed leftover cgroup %s\n", dir);
	}
	fclose(f);
}

/* the daemon's log says why, most of the time */
static void
print_log_tail(const char *tmpdir)
{
	char path[4096];
	char buf[16384];
	FILE *f;
	long size;
	size_t n;

	snprintf(path, sizeof(path), "%s/sandboxd.log", tmpdir);
	f = fopen(path, "re");
	if (f == NULL)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > (long)sizeof(buf) ? size - (long)sizeof(buf) : 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	fprintf(stderr, "---- last %zu bytes of sandboxd's log ----\n", n);
	fwrite(buf, 1, n, stderr);
	fprintf(stderr, "---- end of sandboxd's log ----\n");
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

void
sbx_supervisor_fork(const char *tmpdir)
{
	struct sigaction sa = {0};
	int status = 0;
	int rc;

	/* orphans of the test process (its daemon, its bus) come to us */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	child_pid = fork();
	if (child_pid < 0) {
		perror("fork");
		exit(1);
	}
	if (child_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		return;
	}

	/* meson's timeout sends SIGTERM: let the tests shut down first */
	sa.sa_handler = forward_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = deadline_reached;
	sigaction(SIGALRM, &sa, NULL);
	alarm(SBX_SUPERVISOR_DEADLINE_SEC);
	while (waitpid(child_pid, &status, 0) < 0 && errno == EINTR)
		;
	child_pid = 0;

	/* sandboxd destroys its sandboxes on SIGTERM: give it time, then force */
	kill_recorded(tmpdir, SIGTERM);
	for (int i = 0; i < 600 && !reap_all(); i++)
		sleep_ms(100);
	kill_recorded(tmpdir, SIGKILL);
	for (int i = 0; i < 50 && !reap_all(); i++)
		sleep_ms(100);
	kill_qemus(tmpdir);
	/* orphaned QEMUs are ours to reap: a zombie keeps its cgroup busy */
	for (int i = 0; i < 50 && !reap_all(); i++)
		sleep_ms(100);
	destroy_domains(tmpdir);
	delete_nft_tables(tmpdir);
	delete_tap_tables(tmpdir);
	remove_qemu_cgroups(tmpdir);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		print_log_tail(tmpdir);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

	if (WIFEXITED(status)) {
		rc = WEXITSTATUS(status);
	} else {
		fprintf(stderr, "supervisor: the test process died of signal %d\n",
			WTERMSIG(status));
		rc = 1;
	}
	exit(rc);
}
