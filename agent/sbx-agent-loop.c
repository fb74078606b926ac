/* sandboxd guest agent: the single poll() event loop.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sbx-agent.h"

/* how often a virtio-serial port with no host end is probed again */
#define SBX_AGENT_RECONNECT_MS 20

typedef struct {
	SbxChannel *ch;
	int stream; /* 0 = stdin (write end), 1/2 = stdout/stderr, 3 = connecting */
} PollSlot;

void
sbx_loop_handle_signals(SbxLoop *loop, SbxConn *c)
{
	struct signalfd_siginfo si;
	while (read(loop->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			/* as PID 1 there is nobody to hand over to: ignore */
			if (!loop->pid1)
				loop->stop = true;
		}
	}
	if (c != NULL) {
		sbx_proc_reap(c);
		return;
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* a virtio-serial port reports POLLHUP while no host end is connected. Data
 * waiting then is a new host's first frame that overtook the port-open event
 * (both queues are separate): keep it */
static bool
virtio_host_connected(SbxConn *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	if (poll(&p, 1, 0) < 0)
		return false;
	return (p.revents & POLLHUP) == 0;
}

static void
disconnect(SbxConn *c)
{
	if (c->connected) {
		sbx_log("host disconnected");
		/* what the host that just left still had in flight is not for the next one */
		if (c->virtio) {
			uint8_t buf[4096];
			while (read(c->fd, buf, sizeof(buf)) > 0)
				;
		}
	}
	sbx_conn_reset(c);
	c->connected = false;
}

void
sbx_loop_serve(SbxLoop *loop, SbxConn *c)
{
	size_t cap = 2 + 3 * SBX_PROTO_MAX_CHANNELS;
	struct pollfd *pfd = calloc(cap, sizeof(*pfd));
	PollSlot *slot = calloc(cap, sizeof(*slot));
	if (pfd == NULL || slot == NULL) {
		sbx_log("out of memory");
		abort();
	}

	c->connected = !c->virtio;
	/* a host connecting raises SIGIO (a signalfd wake-up), so a restored
	 * clone answers at once instead of at the next probe */
	if (c->virtio && fcntl(c->fd, F_SETOWN, getpid()) == 0)
		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_ASYNC);
	while (!loop->stop) {
		if (c->virtio && !c->connected && virtio_host_connected(c)) {
			sbx_log("host connected");
			c->connected = true;
		}

		size_t n = 0;
		pfd[n++] = (struct pollfd){.fd = loop->sigfd, .events = POLLIN};
		size_t conn_slot = n;
		pfd[n] = (struct pollfd){.fd = -1};
		if (c->connected) {
			pfd[n].fd = c->fd;
			if (c->out.len < SBX_AGENT_OUT_HARD_LIMIT)
				pfd[n].events |= POLLIN;
			if (c->out.len > 0)
				pfd[n].events |= POLLOUT;
		}
		n++;
		for (SbxChannel *ch = c->channels; ch != NULL && n + 3 <= cap; ch = ch->next) {
			if (sbx_tcp_connecting_fd(ch) >= 0) {
				slot[n] = (PollSlot){ch, 3};
				pfd[n++] = (struct pollfd){.fd = sbx_tcp_connecting_fd(ch),
							   .events = POLLOUT};
				continue;
			}
			if (ch->stdin_fd >= 0 && ch->stdin_buf.len > 0) {
				slot[n] = (PollSlot){ch, 0};
				pfd[n++] = (struct pollfd){.fd = ch->stdin_fd, .events = POLLOUT};
			}
			for (int s = 1; s <= 2; s++) {
				/* out of credit or host backlog: leave the pipe alone
				 * (not even POLLHUP, or poll would spin) */
				if (ch->out_fd[s] < 0 || ch->out_credit[s] == 0 ||
				    c->out.len >= SBX_AGENT_OUT_HIGH_WATER)
					continue;
				slot[n] = (PollSlot){ch, s};
				pfd[n++] = (struct pollfd){.fd = ch->out_fd[s], .events = POLLIN};
			}
		}

		int timeout = sbx_proc_timeouts(c);
		int tcp_timeout = sbx_tcp_timeouts(c);
		if (tcp_timeout >= 0 && (timeout < 0 || tcp_timeout < timeout))
			timeout = tcp_timeout;
		if (c->virtio && !c->connected && (timeout < 0 || timeout > SBX_AGENT_RECONNECT_MS))
			timeout = SBX_AGENT_RECONNECT_MS;

		int r = poll(pfd, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR) {
			sbx_log("poll: %s", strerror(errno));
			break;
		}
		if (r > 0) {
			if (pfd[0].revents)
				sbx_loop_handle_signals(loop, c);

			/* child pipes first, with slots captured before any
			 * channel could be freed by dispatching host frames */
			for (size_t i = conn_slot + 1; i < n; i++) {
				if (pfd[i].revents == 0)
					continue;
				if (slot[i].stream == 3)
					sbx_tcp_connect_ready(c, slot[i].ch);
				else if (slot[i].stream == 0)
					sbx_channel_pump_in(c, slot[i].ch);
				else
					sbx_channel_pump_out(c, slot[i].ch, slot[i].stream);
			}

			short cre = pfd[conn_slot].revents;
			if (c->connected && (cre & (POLLIN | POLLHUP | POLLERR))) {
				bool alive = sbx_conn_read(c);
				if (alive && c->virtio && (cre & POLLHUP))
					alive = false;
				sbx_dispatch_frames(c);
				if (!alive) {
					disconnect(c);
					if (!c->virtio)
						break;
				}
			}
		}
		/* frames may wait in the input buffer while output was backed up */
		if (c->connected)
			sbx_dispatch_frames(c);

		sbx_proc_reap(c);
		sbx_tcp_finish(c);
		sbx_proc_finish(c);
		if (c->connected && c->out.len > 0 && !sbx_conn_flush(c)) {
			disconnect(c);
			if (!c->virtio)
				break;
		}
	}
	disconnect(c);
	free(pfd);
	free(slot);
}
