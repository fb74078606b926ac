/* sandboxd guest agent: open files and the umask (message types 88-98).
 *
 * The host opens a file with FILE_OPEN and names it by the handle it got
 * back in every later request. Handles live in a table of at most
 * SBX_FS_MAX_FILES per connection; a new HELLO or a dropped connection
 * closes them all. Every file is opened O_NONBLOCK, so a fifo never stalls
 * the loop, and FILE_LOCK takes an OFD lock with F_OFD_SETLK, which never
 * waits: a lock held elsewhere is answered EAGAIN and the host asks again
 * later (no thread, no timer per handle in the agent).
 *
 * The umask is the agent's own: the files and directories it creates for
 * the host and every process it spawns (which inherit it) obey it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-agent.h"

typedef struct {
	uint32_t handle; /* 0 = free slot */
	int fd;
} SbxFileSlot;

struct SbxFileTable {
	SbxFileSlot slots[SBX_FS_MAX_FILES];
	uint32_t next_handle;
	unsigned count;
};

void
sbx_file_close_all(SbxConn *c)
{
	if (c->files == NULL)
		return;
	for (unsigned i = 0; i < SBX_FS_MAX_FILES; i++) {
		if (c->files->slots[i].handle != 0)
			close(c->files->slots[i].fd);
	}
	free(c->files);
	c->files = NULL;
}

static SbxFileSlot *
file_lookup(SbxConn *c, uint32_t handle)
{
	if (c->files == NULL || handle == 0)
		return NULL;
	for (unsigned i = 0; i < SBX_FS_MAX_FILES; i++) {
		if (c->files->slots[i].handle == handle)
			return &c->files->slots[i];
	}
	return NULL;
}

static void
send_value(SbxConn *c, uint32_t id, uint64_t v)
{
	uint8_t p[8];
	sbx_proto_put_u32(p, (uint32_t)(v & 0xffffffffu));
	sbx_proto_put_u32(p + 4, (uint32_t)(v >> 32));
	sbx_conn_send(c, SBX_MSG_FS_VALUE_REPLY, 0, id, p, sizeof(p));
	sbx_conn_remember_closed(c, id);
}

static int
open_flags(uint32_t flags, int *oflags)
{
	bool rd = (flags & SBX_FS_OPEN_READ) != 0;
	bool wr = (flags & (SBX_FS_OPEN_WRITE | SBX_FS_OPEN_APPEND)) != 0;

	if ((flags & ~SBX_FS_OPEN_ALL) != 0)
		return -1;
	/* Deno's rules: nothing to do without read or write; create and
	 * truncate need write access */
	if (!rd && !wr)
		return EINVAL;
	if (!wr && (flags & (SBX_FS_OPEN_TRUNCATE | SBX_FS_OPEN_CREATE | SBX_FS_OPEN_CREATE_NEW)))
		return EINVAL;
	*oflags = (rd && wr ? O_RDWR
		   : wr	    ? O_WRONLY
			    : O_RDONLY) |
		  O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	if (flags & SBX_FS_OPEN_APPEND)
		*oflags |= O_APPEND;
	if (flags & SBX_FS_OPEN_TRUNCATE)
		*oflags |= O_TRUNC;
	if (flags & SBX_FS_OPEN_CREATE_NEW)
		*oflags |= O_CREAT | O_EXCL;
	else if (flags & SBX_FS_OPEN_CREATE)
		*oflags |= O_CREAT;
	return 0;
}

static void
file_open(SbxConn *c, uint32_t id, SbxFsReader *r)
{
	uint32_t flags, mode;
	int err, oflags = 0;
	char *path;

	if (!sbx_fs_reader_u32(r, &flags) || !sbx_fs_reader_u32(r, &mode)) {
		sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "truncated FILE_OPEN");
		return;
	}
	path = sbx_fs_reader_path(r, &err);
	if (path == NULL || mode > 07777 || r->pos != r->len ||
	    (err = open_flags(flags, &oflags)) < 0) {
		if (path == NULL && err > 0)
			sbx_fs_send_error(c, id, err, NULL);
		else
			sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "bad FILE_OPEN");
		free(path);
		return;
	}
	if (err != 0) {
		sbx_fs_send_error(c, id, err, path);
		free(path);
		return;
	}
	if (c->files == NULL)
		c->files = calloc(1, sizeof(*c->files));
	if (c->files == NULL || c->files->count >= SBX_FS_MAX_FILES) {
		sbx_fs_send_error(c, id, c->files == NULL ? ENOMEM : EMFILE, path);
		free(path);
		return;
	}
	int fd = open(path, oflags, (mode_t)mode);
	if (fd < 0) {
		sbx_fs_send_error(c, id, errno, path);
		free(path);
		return;
	}
	free(path);
	SbxFileSlot *slot = NULL;
	for (unsigned i = 0; slot == NULL && i < SBX_FS_MAX_FILES; i++) {
		if (c->files->slots[i].handle == 0)
			slot = &c->files->slots[i];
	}
	/* never 0, never one in use: ids are not reused soon, so a stale
	 * handle from the host finds nothing rather than another file */
	do {
		c->files->next_handle++;
	} while (c->files->next_handle == 0 || file_lookup(c, c->files->next_handle) != NULL);
	slot->handle = c->files->next_handle;
	slot->fd = fd;
	c->files->count++;
	send_value(c, id, slot->handle);
}

static void
file_read(SbxConn *c, uint32_t id, int fd, uint32_t length)
{
	uint8_t *buf;
	ssize_t n;

	if (length == 0 || length > SBX_PROTO_MAX_PAYLOAD) {
		sbx_fs_send_error(c, id, EINVAL, NULL);
		return;
	}
	buf = malloc(length);
	if (buf == NULL) {
		sbx_fs_send_error(c, id, ENOMEM, NULL);
		return;
	}
	do {
		n = read(fd, buf, length);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		sbx_fs_send_error(c, id, errno, NULL);
	else {
		sbx_conn_send(c, SBX_MSG_FS_DATA_REPLY, 0, id, buf, (uint32_t)n);
		sbx_conn_remember_closed(c, id);
	}
	free(buf);
}

static void
file_write(SbxConn *c, uint32_t id, int fd, const uint8_t *p, uint32_t len)
{
	ssize_t n = 0;
	if (len > 0) {
		do {
			n = write(fd, p, len);
		} while (n < 0 && errno == EINTR);
	}
	if (n < 0)
		sbx_fs_send_error(c, id, errno, NULL);
	else
		send_value(c, id, (uint64_t)n);
}

static void
file_seek(SbxConn *c, uint32_t id, int fd, uint32_t whence, int64_t offset)
{
	off_t pos;
	if (whence > 2) {
		sbx_fs_send_error(c, id, EINVAL, NULL);
		return;
	}
	pos = lseek(fd, (off_t)offset, whence == 0 ? SEEK_SET : whence == 1 ? SEEK_CUR : SEEK_END);
	if (pos < 0)
		sbx_fs_send_error(c, id, errno, NULL);
	else
		send_value(c, id, (uint64_t)pos);
}

static void
file_stat(SbxConn *c, uint32_t id, int fd)
{
	struct stat st;
	uint8_t p[SBX_FS_STAT_FIXED];
	if (fstat(fd, &st) < 0) {
		sbx_fs_send_error(c, id, errno, NULL);
		return;
	}
	sbx_fs_stat_encode(&st, p);
	sbx_conn_send(c, SBX_MSG_FS_STAT_REPLY, 0, id, p, sizeof(p));
	sbx_conn_remember_closed(c, id);
}

static int
file_lock(int fd, uint32_t op)
{
	struct flock fl;
	if (op > SBX_FS_LOCK_EXCLUSIVE)
		return EINVAL;
	memset(&fl, 0, sizeof(fl));
	fl.l_whence = SEEK_SET; /* the whole file, like flock(2) */
	fl.l_type = op == SBX_FS_LOCK_UNLOCK   ? F_UNLCK
		    : op == SBX_FS_LOCK_SHARED ? F_RDLCK
					       : F_WRLCK;
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		return errno == EACCES ? EAGAIN : errno;
	return 0;
}

static void
file_close(SbxConn *c, uint32_t id, SbxFileSlot *slot)
{
	int rc = close(slot->fd);
	int err = rc < 0 && errno != EINTR ? errno : 0;
	slot->handle = 0;
	slot->fd = -1;
	c->files->count--;
	if (err != 0)
		sbx_fs_send_error(c, id, err, NULL);
	else
		sbx_fs_send_ok(c, id);
}

static void
umask_request(SbxConn *c, uint32_t id, SbxFsReader *r)
{
	uint32_t flags, mask;
	mode_t old;
	if (!sbx_fs_reader_u32(r, &flags) || !sbx_fs_reader_u32(r, &mask) || r->pos != r->len ||
	    (flags & ~SBX_FS_UMASK_SET) != 0 || mask > 0777) {
		sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "bad UMASK");
		return;
	}
	old = umask((flags & SBX_FS_UMASK_SET) ? (mode_t)mask : 0);
	if (!(flags & SBX_FS_UMASK_SET))
		umask(old);
	send_value(c, id, (uint64_t)old);
}

static uint64_t
get_u64(SbxFsReader *r, bool *ok)
{
	uint32_t lo = 0, hi = 0;
	*ok = *ok && sbx_fs_reader_u32(r, &lo) && sbx_fs_reader_u32(r, &hi);
	return (uint64_t)lo | ((uint64_t)hi << 32);
}

/* every request that names a handle: u32 handle first */
static void
handle_request(SbxConn *c, const SbxFrameHeader *h, SbxFsReader *r)
{
	uint32_t handle = 0, a = 0, an = 0, mn = 0;
	uint64_t v = 0, v2 = 0;
	bool ok = sbx_fs_reader_u32(r, &handle);
	uint32_t id = h->channel;
	SbxFileSlot *slot;
	int err = 0;

	switch (h->type) {
	case SBX_MSG_FS_FILE_READ:
	case SBX_MSG_FS_FILE_SYNC:
	case SBX_MSG_FS_FILE_LOCK:
		ok = ok && sbx_fs_reader_u32(r, &a);
		break;
	case SBX_MSG_FS_FILE_WRITE:
		r->pos = ok ? r->len : r->pos; /* the rest is data */
		break;
	case SBX_MSG_FS_FILE_SEEK:
		ok = ok && sbx_fs_reader_u32(r, &a);
		v = get_u64(r, &ok);
		break;
	case SBX_MSG_FS_FILE_TRUNCATE:
		v = get_u64(r, &ok);
		break;
	case SBX_MSG_FS_FILE_UTIME:
		v = get_u64(r, &ok);
		ok = ok && sbx_fs_reader_u32(r, &an);
		v2 = get_u64(r, &ok);
		ok = ok && sbx_fs_reader_u32(r, &mn);
		break;
	default:
		break;
	}
	if (!ok || r->pos != r->len) {
		sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "bad file request");
		return;
	}
	slot = file_lookup(c, handle);
	if (slot == NULL) {
		/* not a protocol violation: the host may race a close */
		sbx_fs_send_error(c, id, ESTALE, NULL);
		return;
	}
	switch (h->type) {
	case SBX_MSG_FS_FILE_READ:
		file_read(c, id, slot->fd, a);
		return;
	case SBX_MSG_FS_FILE_WRITE:
		file_write(c, id, slot->fd, r->p + 4, r->len - 4);
		return;
	case SBX_MSG_FS_FILE_SEEK:
		file_seek(c, id, slot->fd, a, (int64_t)v);
		return;
	case SBX_MSG_FS_FILE_STAT:
		file_stat(c, id, slot->fd);
		return;
	case SBX_MSG_FS_FILE_CLOSE:
		file_close(c, id, slot);
		return;
	case SBX_MSG_FS_FILE_SYNC:
		if ((a & ~SBX_FS_SYNC_DATA) != 0)
			err = EINVAL;
		else
			err = ((a & SBX_FS_SYNC_DATA) ? fdatasync(slot->fd) : fsync(slot->fd)) < 0
				  ? errno
				  : 0;
		break;
	case SBX_MSG_FS_FILE_TRUNCATE:
		err = v > (uint64_t)INT64_MAX ? EINVAL
					      : (ftruncate(slot->fd, (off_t)v) < 0 ? errno : 0);
		break;
	case SBX_MSG_FS_FILE_LOCK:
		err = file_lock(slot->fd, a);
		break;
	default: { /* UTIME */
		struct timespec ts[2] = {{.tv_sec = (time_t)v, .tv_nsec = an},
					 {.tv_sec = (time_t)v2, .tv_nsec = mn}};
		if (an >= 1000000000u || mn >= 1000000000u)
			err = EINVAL;
		else
			err = futimens(slot->fd, ts) < 0 ? errno : 0;
		break;
	}
	}
	if (err != 0)
		sbx_fs_send_error(c, id, err, NULL);
	else
		sbx_fs_send_ok(c, id);
}

void
sbx_file_request(SbxConn *c, const SbxFrameHeader *h, const uint8_t *p)
{
	SbxFsReader r = {.p = p, .len = h->length, .pos = 0};
	switch (h->type) {
	case SBX_MSG_FS_FILE_OPEN:
		file_open(c, h->channel, &r);
		return;
	case SBX_MSG_FS_FILE_READ:
	case SBX_MSG_FS_FILE_WRITE:
	case SBX_MSG_FS_FILE_SEEK:
	case SBX_MSG_FS_FILE_STAT:
	case SBX_MSG_FS_FILE_SYNC:
	case SBX_MSG_FS_FILE_TRUNCATE:
	case SBX_MSG_FS_FILE_LOCK:
	case SBX_MSG_FS_FILE_UTIME:
	case SBX_MSG_FS_FILE_CLOSE:
		handle_request(c, h, &r);
		return;
	case SBX_MSG_FS_UMASK:
		umask_request(c, h->channel, &r);
		return;
	case SBX_MSG_FS_WALK:
	case SBX_MSG_FS_GLOB:
		if (c->n_channels >= SBX_PROTO_MAX_CHANNELS) {
			sbx_conn_send_error(c, h->channel, SBX_PROTO_ERR_TOO_MANY_CHANNELS,
					    "too many open channels");
			return;
		}
		sbx_walk_request(c, h, &r);
		return;
	default:
		sbx_conn_send_error(c, h->channel, SBX_PROTO_ERR_UNEXPECTED,
				    "unknown file request");
		return;
	}
}
