/* sandboxd guest agent: process channels (spawn, stdio pumps, reaping).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sbx-agent.h"

enum { STAGE_SETUP = 1, STAGE_CWD, STAGE_USER, STAGE_EXEC, STAGE_NOUSER, STAGE_PTY };

SbxChannel *
sbx_channel_find(SbxConn *c, uint32_t id)
{
	for (SbxChannel *ch = c->channels; ch != NULL; ch = ch->next) {
		if (ch->id == id)
			return ch;
	}
	return NULL;
}

static void
channel_unlink_free(SbxConn *c, SbxChannel *ch)
{
	for (SbxChannel **pp = &c->channels; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == ch) {
			*pp = ch->next;
			break;
		}
	}
	if (ch->stdin_fd >= 0)
		close(ch->stdin_fd);
	for (int s = 1; s <= 2; s++) {
		if (ch->out_fd[s] >= 0)
			close(ch->out_fd[s]);
	}
	sbx_buf_free(&ch->stdin_buf);
	sbx_fs_stream_free(ch->fs);
	sbx_tcp_free(ch->tcp);
	sbx_conn_remember_closed(c, ch->id);
	c->n_channels--;
	free(ch);
}

void
sbx_channel_drop(SbxConn *c, SbxChannel *ch)
{
	/* the group outlives a reaped leader while its members hold the pipes */
	if (ch->pid > 0)
		kill(-ch->pid, SIGKILL);
	if (ch->pid > 0 && !ch->reaped)
		kill(ch->pid, SIGKILL);
	channel_unlink_free(c, ch);
}

/* PATH lookup with the child's own PATH (execvpe would use the agent's) */
static void
exec_path(char **argv, char **envp)
{
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	int saved = ENOENT;

	if (strchr(argv[0], '/') != NULL) {
		execve(argv[0], argv, envp);
		return;
	}
	for (char **e = envp; *e != NULL; e++) {
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	}
	size_t alen = strlen(argv[0]);
	while (*path != '\0') {
		const char *end = strchrnul(path, ':');
		size_t dlen = (size_t)(end - path);
		char buf[4096];
		if (dlen + alen + 2 <= sizeof(buf)) {
			memcpy(buf, path, dlen);
			if (dlen == 0)
				buf[dlen++] = '.';
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, argv[0], alen + 1);
			execve(buf, argv, envp);
			if (errno == EACCES || errno == ENOEXEC || errno == ETXTBSY ||
			    errno == E2BIG)
				saved = errno;
		}
		path = *end == ':' ? end + 1 : end;
	}
	errno = saved;
}

static void __attribute__((noreturn)) child_fail(int errfd, int stage)
{
	int msg[2] = {stage, errno};
	if (write(errfd, msg, sizeof(msg)) < 0)
		_exit(127);
	_exit(127);
}

static bool
env_has(char **envp, const char *key)
{
	size_t klen = strlen(key);
	for (char **e = envp; *e != NULL; e++) {
		if (strncmp(*e, key, klen) == 0 && (*e)[klen] == '=')
			return true;
	}
	return false;
}

/* in the child: HOME/USER/LOGNAME of a named user unless the caller set
 * them (HOME=/root is only the agent's default), TERM for a terminal */
static char **
child_env(char **envp, const SbxUser *user, bool pty)
{
	size_t n = 0;
	while (envp[n] != NULL)
		n++;
	char **out = calloc(n + 5, sizeof(char *));
	if (out == NULL)
		return envp;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (user != NULL && strcmp(envp[i], "HOME=/root") == 0)
			continue;
		out[m++] = envp[i];
	}
	if (user != NULL) {
		static char home[300], uname[80], logname[80];
		if (!env_has(out, "HOME")) {
			snprintf(home, sizeof(home), "HOME=%s", user->home);
			out[m++] = home;
		}
		if (user->name[0] != '\0' && !env_has(out, "USER")) {
			snprintf(uname, sizeof(uname), "USER=%s", user->name);
			out[m++] = uname;
		}
		if (user->name[0] != '\0' && !env_has(out, "LOGNAME")) {
			snprintf(logname, sizeof(logname), "LOGNAME=%s", user->name);
			out[m++] = logname;
		}
	}
	if (pty && !env_has(out, "TERM"))
		out[m++] = "TERM=xterm-256color";
	out[m] = NULL;
	return out;
}

static void __attribute__((noreturn)) child_main(const SbxExecSpec *spec, int fds[3], int errfd)
{
	sigset_t all;
	SbxUser user;
	bool named = (spec->flags & SBX_EXEC_USER_NAME) != 0;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);

	if (setsid() < 0)
		child_fail(errfd, STAGE_SETUP);
	/* fds[] are >= 3 (the agent keeps 0-2 open), so dup2 never clobbers
	 * a source it still needs */
	for (int i = 0; i < 3; i++) {
		if (dup2(fds[i], i) < 0)
			child_fail(errfd, STAGE_SETUP);
	}
	if ((spec->flags & SBX_EXEC_PTY) && !sbx_pty_make_controlling())
		child_fail(errfd, STAGE_PTY);
	sbx_limits_child();
	if (named && !sbx_user_lookup(spec->user, &user))
		child_fail(errfd, STAGE_NOUSER);
	const char *cwd = spec->cwd[0] != '\0' ? spec->cwd : named ? user.home : "/";
	if (chdir(cwd) < 0) {
		if (spec->cwd[0] != '\0' || chdir("/") < 0)
			child_fail(errfd, STAGE_CWD);
	}
	if (named) {
		gid_t groups[33];
		size_t n = 0;
		groups[n++] = (gid_t)user.gid;
		for (size_t i = 0; i < user.n_groups; i++)
			groups[n++] = (gid_t)user.groups[i];
		if (setgroups(n, groups) < 0 || setgid((gid_t)user.gid) < 0 ||
		    setuid((uid_t)user.uid) < 0)
			child_fail(errfd, STAGE_USER);
	} else if (spec->flags & SBX_EXEC_SET_USER) {
		gid_t gid = (gid_t)spec->gid;
		if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid((uid_t)spec->uid) < 0)
			child_fail(errfd, STAGE_USER);
	}
	char **envp =
	    child_env(spec->envp, named ? &user : NULL, (spec->flags & SBX_EXEC_PTY) != 0);
	exec_path(spec->argv, envp);
	child_fail(errfd, STAGE_EXEC);
}

void
sbx_channel_send_failed(SbxConn *c, uint32_t id, int err, const char *what, const char *arg)
{
	char msg[512];
	uint8_t p[4 + sizeof(msg)];
	int n = snprintf(msg, sizeof(msg), "%s%s%s: %s", what, arg ? " " : "", arg ? arg : "",
			 strerror(err));
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	sbx_proto_put_u32(p, (uint32_t)err);
	memcpy(p + 4, msg, (size_t)n);
	sbx_debug("exec on channel %u failed: %s", id, msg);
	sbx_conn_send(c, SBX_MSG_EXEC_FAILED, 0, id, p, (uint32_t)(4 + n));
	/* the id may be reused at once, but a late frame for it is no error */
	sbx_conn_remember_closed(c, id);
}

static void
close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

void
sbx_channel_exec(SbxConn *c, uint32_t id, SbxExecSpec *spec)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, ep[2] = {-1, -1};
	int devnull = -1;
	int pty_slave = -1;
	bool ok = true;
	bool pty = (spec->flags & SBX_EXEC_PTY) != 0;

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	ok = devnull >= 0 && pipe2(ep, O_CLOEXEC) == 0;
	if (ok && pty) {
		/* the master is both ends: out[0] reads it, in[1] writes a dup */
		ok = sbx_pty_open(&out[0], &pty_slave, spec->rows, spec->cols);
		if (ok) {
			in[1] = fcntl(out[0], F_DUPFD_CLOEXEC, 3);
			ok = in[1] >= 0;
		}
	}
	if (ok && !pty && (spec->flags & SBX_EXEC_STDIN_PIPE))
		ok = pipe2(in, O_CLOEXEC) == 0;
	if (ok && !pty && (spec->flags & SBX_EXEC_STDOUT_PIPE))
		ok = pipe2(out, O_CLOEXEC) == 0;
	bool merge = (spec->flags & SBX_EXEC_STDERR_MERGE) != 0 || pty;
	if (ok && !merge && (spec->flags & SBX_EXEC_STDERR_PIPE))
		ok = pipe2(err, O_CLOEXEC) == 0;
	/* a pipe as deep as the host's window: the process writes ahead while the
	 * agent waits on the port (best effort, the default 64 KiB works too) */
	if (ok && out[0] >= 0 && !pty)
		(void)fcntl(out[0], F_SETPIPE_SZ, (int)SBX_PROTO_DEFAULT_WINDOW);
	if (ok && err[0] >= 0)
		(void)fcntl(err[0], F_SETPIPE_SZ, (int)SBX_PROTO_DEFAULT_WINDOW);
	if (!ok) {
		int e = errno;
		close_pair(in);
		close_pair(out);
		close_pair(err);
		close_pair(ep);
		if (devnull >= 0)
			close(devnull);
		if (pty_slave >= 0)
			close(pty_slave);
		sbx_channel_send_failed(
		    c, id, e, pty ? "cannot open a pseudo-terminal" : "cannot create pipes", NULL);
		return;
	}

	int child_fds[3];
	child_fds[0] = in[0] >= 0 ? in[0] : devnull;
	child_fds[1] = out[1] >= 0 ? out[1] : devnull;
	if (pty)
		child_fds[0] = child_fds[1] = child_fds[2] = pty_slave;
	else if (merge)
		child_fds[2] = child_fds[1];
	else
		child_fds[2] = err[1] >= 0 ? err[1] : devnull;

	pid_t pid = fork();
	if (pid == 0)
		child_main(spec, child_fds, ep[1]);
	int fork_errno = errno;
	close(devnull);
	/* the master reads EIO once every holder of the slave is gone */
	if (pty_slave >= 0)
		close(pty_slave);
	close(ep[1]);
	if (in[0] >= 0)
		close(in[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (err[1] >= 0)
		close(err[1]);
	if (pid < 0) {
		close(ep[0]);
		if (in[1] >= 0)
			close(in[1]);
		if (out[0] >= 0)
			close(out[0]);
		if (err[0] >= 0)
			close(err[0]);
		sbx_channel_send_failed(c, id, fork_errno, "fork", NULL);
		return;
	}

	/* the child reports a failure before exec, or closes the pipe on exec */
	int msg[2] = {0, 0};
	ssize_t n;
	do {
		n = read(ep[0], msg, sizeof(msg));
	} while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof(msg)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (in[1] >= 0)
			close(in[1]);
		if (out[0] >= 0)
			close(out[0]);
		if (err[0] >= 0)
			close(err[0]);
		if (msg[0] == STAGE_CWD)
			sbx_channel_send_failed(c, id, msg[1], "cannot change directory to",
						spec->cwd);
		else if (msg[0] == STAGE_USER)
			sbx_channel_send_failed(c, id, msg[1], "cannot switch user", NULL);
		else if (msg[0] == STAGE_EXEC)
			sbx_channel_send_failed(c, id, msg[1], "cannot execute", spec->argv[0]);
		else if (msg[0] == STAGE_NOUSER)
			sbx_channel_send_failed(c, id, ENOENT, "no such user", spec->user);
		else if (msg[0] == STAGE_PTY)
			sbx_channel_send_failed(c, id, msg[1], "cannot attach the pseudo-terminal",
						NULL);
		else
			sbx_channel_send_failed(c, id, msg[1], "cannot set up the process", NULL);
		return;
	}

	SbxChannel *ch = calloc(1, sizeof(*ch));
	if (ch == NULL) {
		kill(-pid, SIGKILL);
		sbx_channel_send_failed(c, id, ENOMEM, "out of memory", NULL);
		return;
	}
	ch->id = id;
	ch->pid = pid;
	ch->stdin_fd = in[1];
	ch->stdin_piped = in[1] >= 0;
	ch->stdin_credit = ch->stdin_piped ? SBX_AGENT_STDIN_WINDOW : 0;
	sbx_buf_init(&ch->stdin_buf);
	ch->out_fd[0] = -1;
	ch->pty_fd = pty ? out[0] : -1;
	ch->out_fd[SBX_STREAM_STDOUT] = out[0];
	ch->out_fd[SBX_STREAM_STDERR] = err[0];
	ch->out_piped[SBX_STREAM_STDOUT] = out[0] >= 0;
	ch->out_piped[SBX_STREAM_STDERR] = err[0] >= 0;
	ch->out_credit[SBX_STREAM_STDOUT] = spec->stdout_window;
	ch->out_credit[SBX_STREAM_STDERR] = spec->stderr_window;
	for (int s = 1; s <= 2; s++) {
		if (ch->out_fd[s] >= 0)
			fcntl(ch->out_fd[s], F_SETFL, O_NONBLOCK);
	}
	if (ch->stdin_fd >= 0)
		fcntl(ch->stdin_fd, F_SETFL, O_NONBLOCK);
	if (spec->flags & SBX_EXEC_TIMEOUT) {
		ch->has_deadline = true;
		ch->deadline_ms = sbx_now_ms() + spec->timeout_ms;
	}
	ch->next = c->channels;
	c->channels = ch;
	c->n_channels++;

	uint8_t p[8];
	sbx_proto_put_u32(p, (uint32_t)pid);
	sbx_proto_put_u32(p + 4, (uint32_t)ch->stdin_credit);
	sbx_conn_send(c, SBX_MSG_EXEC_STARTED, 0, id, p, sizeof(p));
	sbx_debug("channel %u: started %s as pid %d", id, spec->argv[0], (int)pid);
}

static void
grant_stdin(SbxConn *c, SbxChannel *ch)
{
	if (ch->stdin_ungranted == 0 || ch->stdin_eof)
		return;
	uint8_t p[4];
	sbx_proto_put_u32(p, ch->stdin_ungranted);
	sbx_conn_send(c, SBX_MSG_CREDIT, SBX_STREAM_STDIN, ch->id, p, sizeof(p));
	ch->stdin_credit += ch->stdin_ungranted;
	ch->stdin_ungranted = 0;
}

void
sbx_channel_pump_in(SbxConn *c, SbxChannel *ch)
{
	while (ch->stdin_fd >= 0 && ch->stdin_buf.len > 0) {
		ssize_t n = write(ch->stdin_fd, sbx_buf_head(&ch->stdin_buf), ch->stdin_buf.len);
		if (n > 0) {
			sbx_buf_consume(&ch->stdin_buf, (size_t)n);
			ch->stdin_ungranted += (uint32_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* EPIPE: nobody reads stdin any more; swallow the rest */
		ch->stdin_broken = true;
		ch->stdin_ungranted += (uint32_t)ch->stdin_buf.len;
		sbx_buf_clear(&ch->stdin_buf);
		close(ch->stdin_fd);
		ch->stdin_fd = -1;
	}
	if (ch->stdin_eof && ch->stdin_buf.len == 0 && ch->stdin_fd >= 0) {
		/* a connection's other dup stays open for reading: send the FIN */
		if (ch->tcp != NULL)
			shutdown(ch->stdin_fd, SHUT_WR);
		close(ch->stdin_fd);
		ch->stdin_fd = -1;
	}
	grant_stdin(c, ch);
}

void
sbx_channel_stdin_data(SbxConn *c, SbxChannel *ch, const uint8_t *p, uint32_t len)
{
	ch->stdin_credit -= len;
	if (ch->stdin_broken || ch->stdin_fd < 0) {
		ch->stdin_ungranted += len;
		grant_stdin(c, ch);
		return;
	}
	sbx_buf_append(&ch->stdin_buf, p, len);
	sbx_channel_pump_in(c, ch);
}

void
sbx_channel_stdin_eof(SbxConn *c, SbxChannel *ch)
{
	ch->stdin_eof = true;
	sbx_channel_pump_in(c, ch);
}

bool
sbx_channel_pump_out(SbxConn *c, SbxChannel *ch, int s)
{
	if (ch->out_fd[s] < 0 || ch->out_credit[s] == 0 || c->out.len >= SBX_AGENT_OUT_HIGH_WATER)
		return false;
	uint32_t want = SBX_PROTO_MAX_PAYLOAD;
	if (ch->out_credit[s] < want)
		want = (uint32_t)ch->out_credit[s];
	uint8_t *p = sbx_buf_reserve(&c->out, SBX_PROTO_HEADER_SIZE + want);
	ssize_t n = read(ch->out_fd[s], p + SBX_PROTO_HEADER_SIZE, want);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return false;
	if (n > 0) {
		SbxFrameHeader h = {.type = SBX_MSG_DATA,
				    .flags = (uint16_t)s,
				    .channel = ch->id,
				    .length = (uint32_t)n};
		sbx_proto_header_encode(p, &h);
		sbx_buf_commit(&c->out, SBX_PROTO_HEADER_SIZE + (size_t)n);
		ch->out_credit[s] -= (uint64_t)n;
		return true;
	}
	/* a file being read (ReadFile) must not end as if the file ended: the
	 * errno becomes EXIT's exit code and the host fails the call */
	if (n < 0 && (ch->fs != NULL || ch->tcp != NULL) && ch->status == 0) {
		sbx_debug("reading a file failed: %s", strerror(errno));
		ch->status = (errno & 0xff) << 8;
	}
	/* EOF (or a process's read error, treated alike: a terminal's master
	 * reads EIO) */
	if (ch->pty_fd == ch->out_fd[s])
		ch->pty_fd = -1;
	close(ch->out_fd[s]);
	ch->out_fd[s] = -1;
	sbx_conn_send(c, SBX_MSG_EOF, (uint16_t)s, ch->id, NULL, 0);
	return false;
}

void
sbx_channel_signal(SbxChannel *ch, int sig, uint32_t flags)
{
	/* kill(0) or kill(-0) would hit the agent's own group */
	if (ch->pid <= 0)
		return;
	if (flags & SBX_SIGNAL_GROUP)
		kill(-ch->pid, sig);
	else if (!ch->reaped)
		kill(ch->pid, sig);
}

void
sbx_proc_reap(SbxConn *c)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		for (SbxChannel *ch = c->channels; ch != NULL; ch = ch->next) {
			if (ch->pid == pid && !ch->reaped) {
				ch->reaped = true;
				ch->status = status;
				sbx_debug("channel %u: pid %d exited (status 0x%x)", ch->id,
					  (int)pid, status);
				break;
			}
		}
	}
}

int
sbx_proc_timeouts(SbxConn *c)
{
	uint64_t now = sbx_now_ms();
	int next = -1;
	for (SbxChannel *ch = c->channels; ch != NULL; ch = ch->next) {
		if (!ch->has_deadline)
			continue;
		if (now >= ch->deadline_ms) {
			ch->has_deadline = false;
			if (!ch->reaped)
				ch->timed_out = true;
			sbx_debug("channel %u: timed out", ch->id);
			kill(-ch->pid, SIGKILL);
			continue;
		}
		uint64_t left = ch->deadline_ms - now;
		if (left > 60000)
			left = 60000;
		if (next < 0 || (int)left < next)
			next = (int)left;
	}
	return next;
}

void
sbx_proc_finish(SbxConn *c)
{
	SbxChannel *ch = c->channels;
	while (ch != NULL) {
		SbxChannel *next = ch->next;
		if (ch->reaped && ch->out_fd[1] < 0 && ch->out_fd[2] < 0) {
			uint8_t p[12];
			int32_t code = -1, sig = 0;
			if (WIFEXITED(ch->status))
				code = WEXITSTATUS(ch->status);
			else if (WIFSIGNALED(ch->status))
				sig = WTERMSIG(ch->status);
			sbx_proto_put_u32(p, (uint32_t)code);
			sbx_proto_put_u32(p + 4, (uint32_t)sig);
			sbx_proto_put_u32(p + 8, ch->timed_out ? SBX_EXIT_TIMED_OUT : 0);
			sbx_conn_send(c, SBX_MSG_EXIT, 0, ch->id, p, sizeof(p));
			/* nothing left to kill: do not touch the group again */
			ch->pid = 0;
			channel_unlink_free(c, ch);
		}
		ch = next;
	}
}
