/* sandboxd guest agent: a restored clone's own identity (IDENTITY).
 *
 * A clone starts as an exact copy of its snapshot: same RNG state, hostname,
 * machine id, MAC, address and a clock stopped at snapshot time. The host
 * sends this before anything else runs in the clone.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "sbx-agent.h"

char **sbx_identity_env = NULL;
size_t sbx_identity_envc = 0;

typedef struct {
	const uint8_t *p;
	uint32_t len;
	uint32_t pos;
} Reader;

/* u32 length, then bytes; @out points into the payload */
static bool
read_field(Reader *r, uint32_t max, const uint8_t **out, uint32_t *n)
{
	if (r->len - r->pos < 4)
		return false;
	*n = sbx_proto_get_u32(r->p + r->pos);
	r->pos += 4;
	if (*n > max || r->len - r->pos < *n)
		return false;
	*out = r->p + r->pos;
	r->pos += *n;
	return true;
}

static char *
dup_text(const uint8_t *p, uint32_t n)
{
	if (memchr(p, '\0', n) != NULL)
		return NULL;
	char *s = malloc(n + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static int
add_entropy(const uint8_t *p, uint32_t n)
{
	struct {
		int entropy_count;
		int buf_size;
		uint8_t buf[SBX_IDENTITY_ENTROPY_MAX];
	} info;
	int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return errno;
	info.entropy_count = (int)n * 8;
	info.buf_size = (int)n;
	memcpy(info.buf, p, n);
	/* credited, then a reseed: no byte read after this came from the snapshot's state */
	if (ioctl(fd, RNDADDENTROPY, &info) != 0 || ioctl(fd, RNDRESEEDCRNG) != 0)
		err = errno;
	close(fd);
	explicit_bzero(&info, sizeof(info));
	return err;
}

static int
write_machine_id(const char *id)
{
	char line[40];
	int fd;

	mkdir("/etc", 0755);
	fd = open("/etc/machine-id.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444);
	if (fd < 0)
		return errno;
	snprintf(line, sizeof(line), "%s\n", id);
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		int err = errno;
		close(fd);
		return err;
	}
	close(fd);
	return rename("/etc/machine-id.tmp", "/etc/machine-id") == 0 ? 0 : errno;
}

static bool
is_machine_id(const uint8_t *p, uint32_t n)
{
	if (n != 32)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	}
	return true;
}

static void
set_env(Reader *r)
{
	uint32_t envc;

	for (size_t i = 0; i < sbx_identity_envc; i++)
		free(sbx_identity_env[i]);
	free(sbx_identity_env);
	sbx_identity_env = NULL;
	sbx_identity_envc = 0;
	if (r->len - r->pos < 4)
		return;
	envc = sbx_proto_get_u32(r->p + r->pos);
	r->pos += 4;
	if (envc > SBX_IDENTITY_ENV_MAX)
		return;
	sbx_identity_env = calloc(envc + 1, sizeof(char *));
	for (uint32_t i = 0; sbx_identity_env != NULL && i < envc; i++) {
		const uint8_t *p;
		uint32_t n;
		char *e;
		if (!read_field(r, SBX_PROTO_MAX_STRING, &p, &n) || (e = dup_text(p, n)) == NULL)
			return;
		if (strchr(e, '=') == NULL || e[0] == '=') {
			free(e);
			return;
		}
		sbx_identity_env[sbx_identity_envc++] = e;
	}
}

void
sbx_identity_apply(SbxConn *c, const uint8_t *payload, uint32_t len)
{
	Reader r = {payload, len, 0};
	const uint8_t *entropy, *host, *mid, *net;
	uint32_t n_entropy, n_host, n_mid, n_net;
	uint8_t reply[4];
	const char *what = "";
	int err = 0;

	r.pos = 8;
	if (len < 8 || !read_field(&r, SBX_IDENTITY_ENTROPY_MAX, &entropy, &n_entropy) ||
	    n_entropy < SBX_IDENTITY_ENTROPY_MIN ||
	    !read_field(&r, SBX_IDENTITY_HOSTNAME_MAX, &host, &n_host) || n_host == 0 ||
	    memchr(host, '\0', n_host) != NULL || !read_field(&r, 32, &mid, &n_mid) ||
	    !is_machine_id(mid, n_mid) || !read_field(&r, SBX_IDENTITY_NET_MAX, &net, &n_net) ||
	    memchr(net, '\0', n_net) != NULL) {
		sbx_conn_send_error(c, 0, SBX_PROTO_ERR_MALFORMED, "malformed IDENTITY");
		return;
	}
	/* entropy first: nothing below may draw on the snapshot's RNG state */
	err = add_entropy(entropy, n_entropy);
	if (err != 0)
		what = "entropy";
	uint64_t us = sbx_proto_get_u32(payload) | (uint64_t)sbx_proto_get_u32(payload + 4) << 32;
	struct timeval tv = {(time_t)(us / 1000000u), (suseconds_t)(us % 1000000u)};
	if (settimeofday(&tv, NULL) != 0 && err == 0) {
		err = errno;
		what = "clock";
	}
	if (sethostname((const char *)host, n_host) != 0 && err == 0) {
		err = errno;
		what = "hostname";
	}
	char *id = dup_text(mid, n_mid);
	int e = id != NULL ? write_machine_id(id) : ENOMEM;
	free(id);
	if (e != 0 && err == 0) {
		err = e;
		what = "machine-id";
	}
	if (n_net > 0) {
		char *words = dup_text(net, n_net);
		if (words != NULL)
			sbx_net_setup(words);
		free(words);
	}
	set_env(&r);
	sbx_debug("identity applied (%s)", err != 0 ? what : "all");
	sbx_proto_put_u32(reply, (uint32_t)err);
	size_t wl = strlen(what);
	uint8_t buf[4 + 32];
	memcpy(buf, reply, 4);
	memcpy(buf + 4, what, wl);
	sbx_conn_send(c, SBX_MSG_IDENTITY_REPLY, 0, 0, buf, (uint32_t)(4 + wl));
}
