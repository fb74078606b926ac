/* sandboxd guest agent: TCP connections made from inside the guest
 * (TCP_CONNECT, message type 112).
 *
 * A connection is a stream channel that looks like a process channel to
 * the rest of the agent (pid 0): once connected, the socket is both the
 * "stdin" fd (host bytes are written to it by the ordinary stdin pump) and,
 * dup'ed, the "stdout" fd (read within the host's credit by the ordinary
 * stdout pump). The connect itself never blocks the loop: the socket is
 * non-blocking and the loop polls it for POLLOUT until it is connected or
 * its deadline passes. Only numeric addresses are accepted: a name lookup
 * in a static PID 1 would block (and needs NSS); the host resolves names.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sbx-agent.h"

struct SbxTcp {
	int fd; /* while connecting; then owned by the channel's fds */
	bool connecting;
	uint64_t deadline_ms;
	uint32_t window;
	char label[SBX_TCP_MAX_HOST + 16]; /* "host:port", for messages */
};

static void
send_failed(SbxConn *c, uint32_t id, int err, const char *label)
{
	sbx_channel_send_failed(c, id, err, "connect", label);
}

void
sbx_tcp_free(SbxTcp *tcp)
{
	if (tcp == NULL)
		return;
	if (tcp->fd >= 0)
		close(tcp->fd);
	free(tcp);
}

static unsigned
count_tcp(SbxConn *c)
{
	unsigned n = 0;
	for (SbxChannel *ch = c->channels; ch != NULL; ch = ch->next) {
		if (ch->tcp != NULL)
			n++;
	}
	return n;
}

/* a numeric address in @host (no NUL inside, checked by the caller) */
static bool
parse_address(const char *host, uint32_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return true;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return true;
	}
	return false;
}

/* connected: the channel's pumps take over */
static void
tcp_started(SbxConn *c, SbxChannel *ch)
{
	SbxTcp *tcp = ch->tcp;
	int out = fcntl(tcp->fd, F_DUPFD_CLOEXEC, 3);
	if (out < 0) {
		send_failed(c, ch->id, errno, tcp->label);
		sbx_channel_drop(c, ch);
		return;
	}
	tcp->connecting = false;
	ch->stdin_fd = tcp->fd;
	tcp->fd = -1;
	ch->stdin_piped = true;
	ch->stdin_credit = SBX_AGENT_STDIN_WINDOW;
	ch->out_fd[SBX_STREAM_STDOUT] = out;
	ch->out_piped[SBX_STREAM_STDOUT] = true;
	ch->out_credit[SBX_STREAM_STDOUT] = tcp->window;
	uint8_t p[8];
	sbx_proto_put_u32(p, 0);
	sbx_proto_put_u32(p + 4, SBX_AGENT_STDIN_WINDOW);
	sbx_conn_send(c, SBX_MSG_EXEC_STARTED, 0, ch->id, p, sizeof(p));
	sbx_debug("channel %u: connected to %s", ch->id, tcp->label);
}

static void
tcp_fail(SbxConn *c, SbxChannel *ch, int err)
{
	send_failed(c, ch->id, err, ch->tcp->label);
	sbx_channel_drop(c, ch);
}

void
sbx_tcp_request(SbxConn *c, const SbxFrameHeader *h, const uint8_t *p)
{
	uint32_t len = h->length;
	if (len < 20) {
		sbx_conn_send_error(c, h->channel, SBX_PROTO_ERR_MALFORMED,
				    "truncated TCP_CONNECT");
		return;
	}
	uint32_t flags = sbx_proto_get_u32(p);
	uint32_t window = sbx_proto_get_u32(p + 4);
	uint32_t timeout_ms = sbx_proto_get_u32(p + 8);
	uint32_t port = sbx_proto_get_u32(p + 12);
	uint32_t hlen = sbx_proto_get_u32(p + 16);
	if (flags != 0 || port == 0 || port > 65535 || timeout_ms > SBX_TCP_MAX_TIMEOUT_MS ||
	    hlen == 0 || hlen > SBX_TCP_MAX_HOST || hlen != len - 20 ||
	    memchr(p + 20, '\0', hlen) != NULL) {
		sbx_conn_send_error(c, h->channel, SBX_PROTO_ERR_MALFORMED, "bad TCP_CONNECT");
		return;
	}
	if (c->n_channels >= SBX_PROTO_MAX_CHANNELS) {
		sbx_conn_send_error(c, h->channel, SBX_PROTO_ERR_TOO_MANY_CHANNELS,
				    "too many open channels");
		return;
	}
	char host[SBX_TCP_MAX_HOST + 1];
	memcpy(host, p + 20, hlen);
	host[hlen] = '\0';

	SbxTcp *tcp = calloc(1, sizeof(*tcp));
	if (tcp == NULL) {
		send_failed(c, h->channel, ENOMEM, host);
		return;
	}
	tcp->fd = -1;
	tcp->window = window;
	snprintf(tcp->label, sizeof(tcp->label), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
		 port);

	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	int err = 0;
	if (count_tcp(c) >= SBX_TCP_MAX_CONNECTIONS)
		err = EMFILE;
	else if (!parse_address(host, port, &ss, &sslen))
		err = EINVAL; /* not a numeric address */
	if (err == 0) {
		tcp->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (tcp->fd < 0)
			err = errno;
	}
	if (err == 0 && connect(tcp->fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS)
		err = errno;
	if (err != 0) {
		send_failed(c, h->channel, err, tcp->label);
		sbx_tcp_free(tcp);
		return;
	}

	SbxChannel *ch = calloc(1, sizeof(*ch));
	if (ch == NULL) {
		send_failed(c, h->channel, ENOMEM, tcp->label);
		sbx_tcp_free(tcp);
		return;
	}
	ch->id = h->channel;
	ch->pid = 0;
	ch->reaped = false; /* finished once both directions are closed */
	ch->stdin_fd = -1;
	sbx_buf_init(&ch->stdin_buf);
	ch->pty_fd = -1;
	ch->out_fd[0] = ch->out_fd[1] = ch->out_fd[2] = -1;
	ch->tcp = tcp;
	ch->next = c->channels;
	c->channels = ch;
	c->n_channels++;
	tcp->connecting = true;
	tcp->deadline_ms =
	    sbx_now_ms() + (timeout_ms != 0 ? timeout_ms : SBX_TCP_DEFAULT_TIMEOUT_MS);
}

int
sbx_tcp_connecting_fd(SbxChannel *ch)
{
	return ch->tcp != NULL && ch->tcp->connecting ? ch->tcp->fd : -1;
}

void
sbx_tcp_connect_ready(SbxConn *c, SbxChannel *ch)
{
	int err = 0;
	socklen_t elen = sizeof(err);
	if (ch->tcp == NULL || !ch->tcp->connecting)
		return;
	if (getsockopt(ch->tcp->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return;
	if (err != 0) {
		tcp_fail(c, ch, err);
		return;
	}
	tcp_started(c, ch);
}

int
sbx_tcp_timeouts(SbxConn *c)
{
	uint64_t now = sbx_now_ms();
	int next = -1;
	SbxChannel *ch = c->channels;
	while (ch != NULL) {
		SbxChannel *following = ch->next;
		if (ch->tcp != NULL && ch->tcp->connecting) {
			if (now >= ch->tcp->deadline_ms) {
				tcp_fail(c, ch, ETIMEDOUT);
			} else {
				uint64_t left = ch->tcp->deadline_ms - now;
				if (next < 0 || (int)left < next)
					next = (int)left;
			}
		}
		ch = following;
	}
	return next;
}

void
sbx_tcp_finish(SbxConn *c)
{
	for (SbxChannel *ch = c->channels; ch != NULL; ch = ch->next) {
		if (ch->tcp == NULL || ch->tcp->connecting || ch->reaped)
			continue;
		/* a reset (read error): nothing can be sent either */
		if (ch->out_fd[SBX_STREAM_STDOUT] < 0 && ch->status != 0 && ch->stdin_fd >= 0) {
			close(ch->stdin_fd);
			ch->stdin_fd = -1;
			ch->stdin_broken = true;
			sbx_buf_clear(&ch->stdin_buf);
		}
		/* both ways closed: the peer's FIN was relayed, and the host's
		 * EOF was written (or the peer stopped reading) */
		if (ch->stdin_fd < 0 && ch->out_fd[SBX_STREAM_STDOUT] < 0)
			ch->reaped = true;
	}
}

void
sbx_tcp_abort(SbxConn *c, SbxChannel *ch, int sig)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	if (ch->tcp == NULL || ch->tcp->connecting || ch->reaped)
		return;
	/* a reset, not a FIN: the peer must not take it for a complete reply */
	if (ch->stdin_fd >= 0)
		setsockopt(ch->stdin_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	else if (ch->out_fd[SBX_STREAM_STDOUT] >= 0)
		setsockopt(ch->out_fd[SBX_STREAM_STDOUT], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (ch->stdin_fd >= 0) {
		close(ch->stdin_fd);
		ch->stdin_fd = -1;
	}
	sbx_buf_clear(&ch->stdin_buf);
	if (ch->out_fd[SBX_STREAM_STDOUT] >= 0) {
		close(ch->out_fd[SBX_STREAM_STDOUT]);
		ch->out_fd[SBX_STREAM_STDOUT] = -1;
		sbx_conn_send(c, SBX_MSG_EOF, SBX_STREAM_STDOUT, ch->id, NULL, 0);
	}
	ch->status = sig & 0x7f; /* reported as killed by @sig */
	ch->reaped = true;
}
