/* sandboxd guest agent: validation and dispatch of frames from the host.
 *
 * Everything here comes from the host and is checked before use. A
 * violation on a process channel ends that channel with an ERROR frame; a
 * violation on the control channel drops every channel and makes the agent
 * discard input until the next HELLO frame (the stream may be out of step).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "sbx-agent.h"

/* a HELLO frame's first 16 bytes, used to find the start of a new session */
static const uint8_t hello_pattern[16] = {
    SBX_MSG_HELLO,
    0,
    0,
    0, /* type, flags */
    0,
    0,
    0,
    0, /* channel 0 */
    12,
    0,
    0,
    0, /* length */
    0x53,
    0x42,
    0x58,
    0x50, /* magic "SBXP" */
};

static void
conn_fail(SbxConn *c, uint32_t code, const char *msg)
{
	sbx_log("protocol error: %s; waiting for a new HELLO", msg);
	sbx_conn_send_error(c, 0, code, msg);
	while (c->channels != NULL)
		sbx_channel_drop(c, c->channels);
	c->hello_done = false;
	c->resync = true;
}

static void
chan_fail(SbxConn *c, SbxChannel *ch, uint32_t code, const char *msg)
{
	sbx_conn_send_error(c, ch->id, code, msg);
	sbx_channel_drop(c, ch);
}

static bool
was_closed(SbxConn *c, uint32_t id)
{
	for (unsigned i = 0; i < c->closed_count; i++) {
		if (c->closed_ring[i] == id)
			return true;
	}
	return false;
}

static void
handle_hello(SbxConn *c, const uint8_t *p, uint32_t len)
{
	if (len < 12 || sbx_proto_get_u32(p) != SBX_PROTO_MAGIC) {
		conn_fail(c, SBX_PROTO_ERR_MALFORMED, "bad HELLO");
		return;
	}
	uint32_t min = sbx_proto_get_u32(p + 4);
	uint32_t max = sbx_proto_get_u32(p + 8);
	if (min > SBX_PROTO_VERSION || max < SBX_PROTO_VERSION) {
		conn_fail(c, SBX_PROTO_ERR_VERSION, "no common protocol version (agent speaks 1)");
		return;
	}
	/* a HELLO on a live session starts a new one */
	while (c->channels != NULL)
		sbx_channel_drop(c, c->channels);
	sbx_file_close_all(c);
	c->closed_count = 0;
	c->closed_pos = 0;

	const char *ver = SBX_AGENT_VERSION;
	uint8_t reply[12 + 32];
	size_t vlen = strlen(ver);
	sbx_proto_put_u32(reply, SBX_PROTO_MAGIC);
	sbx_proto_put_u32(reply + 4, SBX_PROTO_VERSION);
	sbx_proto_put_u32(reply + 8, SBX_FEATURE_IDENTITY | SBX_FEATURE_FS_USER); /* features */
	memcpy(reply + 12, ver, vlen);
	sbx_conn_send(c, SBX_MSG_HELLO_REPLY, 0, 0, reply, (uint32_t)(12 + vlen));
	c->hello_done = true;
	sbx_debug("handshake done");
}

static void
handle_control(SbxConn *c, const SbxFrameHeader *h, const uint8_t *p)
{
	if (h->type == SBX_MSG_HELLO) {
		handle_hello(c, p, h->length);
		return;
	}
	if (!c->hello_done) {
		conn_fail(c, SBX_PROTO_ERR_UNEXPECTED, "expected HELLO");
		return;
	}
	switch (h->type) {
	case SBX_MSG_PING:
		if (h->length > 64) {
			conn_fail(c, SBX_PROTO_ERR_MALFORMED, "PING payload larger than 64 bytes");
			return;
		}
		sbx_conn_send(c, SBX_MSG_PONG, 0, 0, p, h->length);
		return;
	case SBX_MSG_PONG:
		return;
	case SBX_MSG_IDENTITY:
		sbx_identity_apply(c, p, h->length);
		return;
	case SBX_MSG_ERROR:
		/* the host dropped the session; it must start a new one */
		sbx_log("host reported a protocol error; waiting for a new HELLO");
		while (c->channels != NULL)
			sbx_channel_drop(c, c->channels);
		c->hello_done = false;
		c->resync = true;
		return;
	default:
		conn_fail(c, SBX_PROTO_ERR_UNEXPECTED, "unexpected message on channel 0");
		return;
	}
}

static void
handle_exec(SbxConn *c, const SbxFrameHeader *h, const uint8_t *p)
{
	SbxChannel *ch = sbx_channel_find(c, h->channel);
	if (ch != NULL) {
		chan_fail(c, ch, SBX_PROTO_ERR_UNEXPECTED, "EXEC on a channel already open");
		return;
	}
	if (c->n_channels >= SBX_PROTO_MAX_CHANNELS) {
		sbx_conn_send_error(c, h->channel, SBX_PROTO_ERR_TOO_MANY_CHANNELS,
				    "too many open channels");
		return;
	}
	SbxExecSpec spec;
	const char *why = NULL;
	if (!sbx_exec_spec_parse(p, h->length, &spec, &why)) {
		sbx_conn_send_error(c, h->channel, SBX_PROTO_ERR_MALFORMED, why);
		return;
	}
	sbx_channel_exec(c, h->channel, &spec);
	sbx_exec_spec_free(&spec);
}

static void
fs_dispatch(SbxConn *c, const SbxFrameHeader *h, const uint8_t *p)
{
	if (h->type <= SBX_MSG_FS_MKTEMP)
		sbx_fs_request(c, h, p);
	else
		sbx_file_request(c, h, p);
}

/* a filesystem request, as root or (SBX_FS_AS_USER) as a guest user */
static void
handle_fs(SbxConn *c, const SbxFrameHeader *h, const uint8_t *p)
{
	bool stream = h->type == SBX_MSG_FS_READ || h->type == SBX_MSG_FS_WRITE ||
		      h->type == SBX_MSG_FS_WALK || h->type == SBX_MSG_FS_GLOB;
	char name[SBX_FS_USER_MAX + 1];
	SbxUserScope scope;
	SbxUser user;
	uint32_t n;
	int err;

	if ((h->flags & ~SBX_FS_AS_USER) != 0) {
		sbx_conn_send_error(c, h->channel, SBX_PROTO_ERR_MALFORMED,
				    "unknown request header flags");
		return;
	}
	if (h->flags == 0) {
		fs_dispatch(c, h, p);
		return;
	}
	n = h->length >= 4 ? sbx_proto_get_u32(p) : 0;
	if (n == 0 || n > SBX_FS_USER_MAX || n > h->length - 4 || memchr(p + 4, '\0', n) != NULL ||
	    memchr(p + 4, ':', n) != NULL) {
		sbx_conn_send_error(c, h->channel, SBX_PROTO_ERR_MALFORMED, "bad user name");
		return;
	}
	memcpy(name, p + 4, n);
	name[n] = '\0';
	errno = 0;
	err = sbx_user_lookup(name, &user) ? sbx_user_act_as(&user, &scope)
					   : (errno != 0 ? errno : ENOENT);
	if (err != 0) {
		if (stream)
			sbx_fs_send_stream_failed(c, h->channel, err, name);
		else
			sbx_fs_send_error(c, h->channel, err, name);
		return;
	}
	SbxFrameHeader inner = *h;
	inner.flags = 0;
	inner.length = h->length - 4 - n;
	c->fs_user = &user;
	fs_dispatch(c, &inner, p + 4 + n);
	c->fs_user = NULL;
	sbx_user_act_restore(&scope);
}

static void
handle_process(SbxConn *c, const SbxFrameHeader *h, const uint8_t *p)
{
	if (h->type == SBX_MSG_EXEC) {
		handle_exec(c, h, p);
		return;
	}
	/* requests that open their channel */
	if ((h->type >= SBX_MSG_FS_READ && h->type <= SBX_MSG_FS_MKTEMP) ||
	    (h->type >= SBX_MSG_FS_FILE_OPEN && h->type <= SBX_MSG_FS_GLOB) ||
	    h->type == SBX_MSG_TCP_CONNECT) {
		SbxChannel *open_ch = sbx_channel_find(c, h->channel);
		if (open_ch != NULL) {
			chan_fail(c, open_ch, SBX_PROTO_ERR_UNEXPECTED,
				  "request on a channel already open");
			return;
		}
		if (h->type == SBX_MSG_TCP_CONNECT)
			sbx_tcp_request(c, h, p);
		else
			handle_fs(c, h, p);
		return;
	}
	SbxChannel *ch = sbx_channel_find(c, h->channel);
	if (ch == NULL) {
		/* never answer an ERROR with an ERROR; late frames for a channel
		 * that just closed are a normal race, not a violation */
		if (h->type == SBX_MSG_ERROR || was_closed(c, h->channel))
			return;
		sbx_conn_send_error(c, h->channel, SBX_PROTO_ERR_UNKNOWN_CHANNEL,
				    "no such channel");
		return;
	}
	switch (h->type) {
	case SBX_MSG_DATA:
		if (h->flags != SBX_STREAM_STDIN || h->length == 0) {
			chan_fail(c, ch, SBX_PROTO_ERR_MALFORMED, "DATA must be stdin, >= 1 byte");
			return;
		}
		if (!ch->stdin_piped || ch->stdin_eof) {
			chan_fail(c, ch, SBX_PROTO_ERR_UNEXPECTED, "stdin is not open");
			return;
		}
		if (h->length > ch->stdin_credit) {
			chan_fail(c, ch, SBX_PROTO_ERR_CREDIT,
				  "stdin DATA exceeds the granted credit");
			return;
		}
		if (ch->fs != NULL)
			sbx_fs_stream_data(c, ch, p, h->length);
		else
			sbx_channel_stdin_data(c, ch, p, h->length);
		return;
	case SBX_MSG_EOF:
		if (h->flags != SBX_STREAM_STDIN || h->length != 0) {
			chan_fail(c, ch, SBX_PROTO_ERR_MALFORMED, "EOF must be stdin, no payload");
			return;
		}
		if (!ch->stdin_piped || ch->stdin_eof) {
			chan_fail(c, ch, SBX_PROTO_ERR_UNEXPECTED, "stdin is not open");
			return;
		}
		if (ch->fs != NULL)
			sbx_fs_stream_eof(c, ch);
		else
			sbx_channel_stdin_eof(c, ch);
		return;
	case SBX_MSG_CREDIT: {
		if ((h->flags != SBX_STREAM_STDOUT && h->flags != SBX_STREAM_STDERR) ||
		    h->length != 4) {
			chan_fail(c, ch, SBX_PROTO_ERR_MALFORMED,
				  "CREDIT must be stdout/stderr, u32");
			return;
		}
		/* saturate: a u64 cannot overflow from u32 grants in practice,
		 * but keep it bounded anyway */
		uint64_t v = ch->out_credit[h->flags] + sbx_proto_get_u32(p);
		ch->out_credit[h->flags] = v > (1ull << 48) ? (1ull << 48) : v;
		return;
	}
	case SBX_MSG_SIGNAL: {
		if (h->length != 8) {
			chan_fail(c, ch, SBX_PROTO_ERR_MALFORMED, "SIGNAL payload must be 8 bytes");
			return;
		}
		int32_t sig = (int32_t)sbx_proto_get_u32(p);
		uint32_t flags = sbx_proto_get_u32(p + 4);
		if (sig <= 0 || sig >= NSIG || (flags & ~(uint32_t)SBX_SIGNAL_GROUP) != 0) {
			chan_fail(c, ch, SBX_PROTO_ERR_MALFORMED, "bad signal number or flags");
			return;
		}
		if (ch->fs != NULL)
			sbx_fs_stream_signal(c, ch, sig);
		else if (ch->tcp != NULL)
			sbx_tcp_abort(c, ch, sig);
		else
			sbx_channel_signal(ch, sig, flags);
		return;
	}
	case SBX_MSG_RESIZE:
		if (h->length != 8) {
			chan_fail(c, ch, SBX_PROTO_ERR_MALFORMED, "RESIZE payload must be 8 bytes");
			return;
		}
		if (ch->pty_fd >= 0)
			sbx_pty_resize(ch->pty_fd, sbx_proto_get_u32(p), sbx_proto_get_u32(p + 4));
		return;
	case SBX_MSG_ERROR:
		/* the host gave up on this channel */
		sbx_channel_drop(c, ch);
		return;
	default:
		chan_fail(c, ch, SBX_PROTO_ERR_UNEXPECTED, "unexpected message type");
		return;
	}
}

static void
resync(SbxConn *c)
{
	uint8_t *d = sbx_buf_head(&c->in);
	size_t n = c->in.len;
	for (size_t i = 0; i + sizeof(hello_pattern) <= n; i++) {
		if (d[i] == hello_pattern[0] &&
		    memcmp(d + i, hello_pattern, sizeof(hello_pattern)) == 0) {
			sbx_buf_consume(&c->in, i);
			c->resync = false;
			return;
		}
	}
	/* keep a tail that may be the start of a HELLO */
	if (n >= sizeof(hello_pattern))
		sbx_buf_consume(&c->in, n - (sizeof(hello_pattern) - 1));
}

void
sbx_dispatch_frames(SbxConn *c)
{
	while (c->out.len < SBX_AGENT_OUT_HARD_LIMIT) {
		if (c->resync) {
			resync(c);
			if (c->resync)
				return;
		}
		if (c->in.len < SBX_PROTO_HEADER_SIZE)
			return;
		SbxFrameHeader h;
		sbx_proto_header_decode(sbx_buf_head(&c->in), &h);
		if (h.length > SBX_PROTO_MAX_PAYLOAD) {
			conn_fail(c, SBX_PROTO_ERR_MALFORMED, "frame larger than the maximum");
			sbx_buf_consume(&c->in, SBX_PROTO_HEADER_SIZE);
			continue;
		}
		if (c->in.len < SBX_PROTO_HEADER_SIZE + h.length)
			return;
		const uint8_t *payload = sbx_buf_head(&c->in) + SBX_PROTO_HEADER_SIZE;
		if (h.channel == 0)
			handle_control(c, &h, payload);
		else if (!c->hello_done)
			conn_fail(c, SBX_PROTO_ERR_UNEXPECTED, "expected HELLO");
		else
			handle_process(c, &h, payload);
		/* consumed even when it started a resync, so a rejected HELLO is
		 * not found again by the scan */
		sbx_buf_consume(&c->in, SBX_PROTO_HEADER_SIZE + h.length);
	}
}
