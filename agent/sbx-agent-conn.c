/* sandboxd guest agent: byte queues, framing and connection I/O.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbx-agent.h"

bool sbx_agent_verbose = false;

static void
sbx_vlog(const char *fmt, va_list ap)
{
	char line[512];
	/* uptime-like stamp, comparable with the kernel's printk times */
	uint64_t ms = sbx_now_ms();
	int n = snprintf(line, sizeof(line), "sandboxd-agent: [%llu.%03llu] ",
			 (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000));
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	size_t len = strlen(line);
	line[len++] = '\n';
	/* best effort: the console may be gone */
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}

void
sbx_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sbx_vlog(fmt, ap);
	va_end(ap);
}

void
sbx_debug(const char *fmt, ...)
{
	va_list ap;
	if (!sbx_agent_verbose)
		return;
	va_start(ap, fmt);
	sbx_vlog(fmt, ap);
	va_end(ap);
}

uint64_t
sbx_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* byte queues */

void
sbx_buf_init(SbxBuf *b)
{
	memset(b, 0, sizeof(*b));
}

void
sbx_buf_clear(SbxBuf *b)
{
	b->start = 0;
	b->len = 0;
}

void
sbx_buf_free(SbxBuf *b)
{
	free(b->data);
	sbx_buf_init(b);
}

uint8_t *
sbx_buf_reserve(SbxBuf *b, size_t n)
{
	if (b->start + b->len + n <= b->cap)
		return b->data + b->start + b->len;
	/* compact first, grow only if that is not enough */
	if (b->start > 0) {
		memmove(b->data, b->data + b->start, b->len);
		b->start = 0;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (d == NULL) {
			/* nothing sane to do without memory in a 1-process guest */
			sbx_log("out of memory");
			abort();
		}
		b->data = d;
		b->cap = cap;
	}
	return b->data + b->len;
}

void
sbx_buf_commit(SbxBuf *b, size_t n)
{
	b->len += n;
}

void
sbx_buf_append(SbxBuf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(sbx_buf_reserve(b, n), p, n);
	sbx_buf_commit(b, n);
}

void
sbx_buf_consume(SbxBuf *b, size_t n)
{
	if (n >= b->len) {
		b->start = 0;
		b->len = 0;
		return;
	}
	b->start += n;
	b->len -= n;
}

/* connection */

void
sbx_conn_init(SbxConn *c, int fd, bool virtio)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->virtio = virtio;
	sbx_buf_init(&c->in);
	sbx_buf_init(&c->out);
}

void
sbx_conn_reset(SbxConn *c)
{
	while (c->channels != NULL)
		sbx_channel_drop(c, c->channels);
	sbx_file_close_all(c);
	sbx_buf_clear(&c->in);
	sbx_buf_clear(&c->out);
	c->hello_done = false;
	c->resync = false;
	c->closed_count = 0;
	c->closed_pos = 0;
}

void
sbx_conn_send(SbxConn *c, uint16_t type, uint16_t flags, uint32_t channel, const void *payload,
	      uint32_t len)
{
	SbxFrameHeader h = {.type = type, .flags = flags, .channel = channel, .length = len};
	uint8_t *p = sbx_buf_reserve(&c->out, SBX_PROTO_HEADER_SIZE + len);
	sbx_proto_header_encode(p, &h);
	if (len > 0)
		memcpy(p + SBX_PROTO_HEADER_SIZE, payload, len);
	sbx_buf_commit(&c->out, SBX_PROTO_HEADER_SIZE + len);
}

void
sbx_conn_send_error(SbxConn *c, uint32_t channel, uint32_t code, const char *msg)
{
	uint8_t p[4 + 256];
	size_t mlen = strnlen(msg, 256);
	sbx_proto_put_u32(p, code);
	memcpy(p + 4, msg, mlen);
	sbx_debug("error on channel %u: %s", channel, msg);
	sbx_conn_send(c, SBX_MSG_ERROR, 0, channel, p, (uint32_t)(4 + mlen));
}

void
sbx_conn_remember_closed(SbxConn *c, uint32_t id)
{
	c->closed_ring[c->closed_pos] = id;
	c->closed_pos = (c->closed_pos + 1) % SBX_AGENT_CLOSED_RING;
	if (c->closed_count < SBX_AGENT_CLOSED_RING)
		c->closed_count++;
}

bool
sbx_conn_read(SbxConn *c)
{
	/* bounded: never more than one maximal frame plus one read chunk */
	const size_t chunk = 64 * 1024;
	for (int i = 0; i < 4; i++) {
		if (c->in.len >= SBX_PROTO_HEADER_SIZE + SBX_PROTO_MAX_PAYLOAD)
			return true;
		uint8_t *p = sbx_buf_reserve(&c->in, chunk);
		ssize_t n = read(c->fd, p, chunk);
		if (n > 0) {
			sbx_buf_commit(&c->in, (size_t)n);
			if ((size_t)n < chunk)
				return true;
			continue;
		}
		if (n == 0)
			return false;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return true;
		sbx_debug("read: %s", strerror(errno));
		return false;
	}
	return true;
}

bool
sbx_conn_flush(SbxConn *c)
{
	while (c->out.len > 0) {
		ssize_t n = write(c->fd, sbx_buf_head(&c->out), c->out.len);
		if (n > 0) {
			sbx_buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		sbx_debug("write: %s", n < 0 ? strerror(errno) : "short");
		return false;
	}
	return true;
}
