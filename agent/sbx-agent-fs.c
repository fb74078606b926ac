/* sandboxd guest agent: filesystem requests (message types 64-95).
 *
 * FS_READ and FS_WRITE open stream channels that look like process
 * channels to the rest of the agent (pid 0, already "reaped"): the file is
 * read into stdout DATA within the host's credit by the ordinary pump, and
 * stdin DATA is written to the file as it arrives. The other requests are
 * answered at once with one reply frame. Paths come from the host: they
 * must be absolute, at most SBX_FS_MAX_PATH bytes, and are otherwise given
 * to the kernel as they are (".." resolves as it would for any process).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-agent.h"

struct SbxFsStream {
	bool write;
	int fd; /* the file being written; -1 when closed */
	char *path;
	char *tmp; /* temp file renamed over @path at EOF, or NULL (in place) */
	uint32_t mode;
	int err;      /* first errno of the write, reported in EXIT */
	bool as_user; /* the rename at EOF acts as @user too */
	SbxUser user;
};

typedef SbxFsReader FsReader;

static bool
rd_u32(FsReader *r, uint32_t *v)
{
	if (r->len - r->pos < 4)
		return false;
	*v = sbx_proto_get_u32(r->p + r->pos);
	r->pos += 4;
	return true;
}

/* a path string; *err is the errno to report when it is unusable, 0 when
 * the payload itself is malformed */
static char *
rd_path(FsReader *r, int *err)
{
	uint32_t n;
	*err = 0;
	if (!rd_u32(r, &n) || n > SBX_PROTO_MAX_STRING || r->len - r->pos < n)
		return NULL;
	const uint8_t *s = r->p + r->pos;
	r->pos += n;
	if (memchr(s, '\0', n) != NULL || n == 0 || s[0] != '/') {
		*err = EINVAL;
		return NULL;
	}
	if (n > SBX_FS_MAX_PATH) {
		*err = ENAMETOOLONG;
		return NULL;
	}
	char *path = malloc((size_t)n + 1);
	if (path == NULL) {
		*err = ENOMEM;
		return NULL;
	}
	memcpy(path, s, n);
	path[n] = '\0';
	return path;
}

static void
send_fs_error(SbxConn *c, uint32_t id, int err, const char *path)
{
	uint8_t p[4 + SBX_FS_MAX_PATH];
	size_t n = path != NULL ? strnlen(path, SBX_FS_MAX_PATH) : 0;
	sbx_proto_put_u32(p, (uint32_t)err);
	if (n > 0)
		memcpy(p + 4, path, n);
	sbx_debug("fs request on channel %u failed: %s: %s", id, path ? path : "", strerror(err));
	sbx_conn_send(c, SBX_MSG_FS_ERROR, 0, id, p, (uint32_t)(4 + n));
	sbx_conn_remember_closed(c, id);
}

static void
send_fs_ok(SbxConn *c, uint32_t id)
{
	sbx_conn_send(c, SBX_MSG_FS_OK, 0, id, NULL, 0);
	sbx_conn_remember_closed(c, id);
}

/* EXEC_FAILED for a stream request that could not start; no message (the
 * host knows the one path, and EXEC_FAILED text must be UTF-8) */
static void
send_stream_failed(SbxConn *c, uint32_t id, int err, const char *path)
{
	uint8_t p[4];
	sbx_proto_put_u32(p, (uint32_t)err);
	sbx_debug("fs stream on channel %u failed: %s: %s", id, path ? path : "", strerror(err));
	sbx_conn_send(c, SBX_MSG_EXEC_FAILED, 0, id, p, sizeof(p));
	sbx_conn_remember_closed(c, id);
}

static uint32_t
fs_type(mode_t m)
{
	if (S_ISREG(m))
		return SBX_FS_TYPE_FILE;
	if (S_ISDIR(m))
		return SBX_FS_TYPE_DIRECTORY;
	if (S_ISLNK(m))
		return SBX_FS_TYPE_SYMLINK;
	return SBX_FS_TYPE_OTHER;
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	sbx_proto_put_u32(p, (uint32_t)(v & 0xffffffffu));
	sbx_proto_put_u32(p + 4, (uint32_t)(v >> 32));
}

/* mkdir -p of @path itself; EEXIST for a non-directory in the way */
static int
mkdir_parents(const char *path, mode_t mode)
{
	char buf[SBX_FS_MAX_PATH + 1];
	size_t n = strlen(path);
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i - 1] == '/')
			continue;
		char saved = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0) {
			struct stat st;
			int e = errno;
			if (e != EEXIST)
				return e;
			if (stat(buf, &st) < 0)
				return errno;
			if (!S_ISDIR(st.st_mode))
				return saved == '\0' ? EEXIST : ENOTDIR;
		}
		buf[i] = saved;
	}
	return 0;
}

/* the directory part of @path, for mkdir -p and the temp file */
static void
dir_of(const char *path, char *out)
{
	const char *slash = strrchr(path, '/');
	size_t n = (size_t)(slash - path);
	if (n == 0)
		n = 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

static SbxChannel *
stream_channel_new(SbxConn *c, uint32_t id, SbxFsStream *fs)
{
	SbxChannel *ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return NULL;
	ch->id = id;
	ch->pid = 0;
	ch->reaped = true; /* no process: finished once the streams are */
	ch->status = 0;
	ch->stdin_fd = -1;
	sbx_buf_init(&ch->stdin_buf);
	ch->out_fd[0] = -1;
	ch->out_fd[1] = -1;
	ch->out_fd[2] = -1;
	ch->fs = fs;
	ch->next = c->channels;
	c->channels = ch;
	c->n_channels++;
	return ch;
}

void
sbx_fs_stream_free(SbxFsStream *fs)
{
	if (fs == NULL)
		return;
	if (fs->fd >= 0)
		close(fs->fd);
	if (fs->tmp != NULL)
		unlink(fs->tmp);
	free(fs->tmp);
	free(fs->path);
	free(fs);
}

static void
fs_read(SbxConn *c, uint32_t id, FsReader *r)
{
	uint32_t flags, window;
	int err;
	if (!rd_u32(r, &flags) || !rd_u32(r, &window)) {
		sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "truncated FS_READ");
		return;
	}
	char *path = rd_path(r, &err);
	if (path == NULL || flags != 0 || r->pos != r->len) {
		if (path == NULL && err != 0)
			send_stream_failed(c, id, err, NULL);
		else
			sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "bad FS_READ");
		free(path);
		return;
	}
	/* O_NONBLOCK: opening a fifo must not hang the agent */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) < 0) {
		close(fd);
		fd = -1;
	} else if (fd >= 0 && !S_ISREG(st.st_mode)) {
		close(fd);
		fd = -1;
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	}
	SbxFsStream *fs = fd >= 0 ? calloc(1, sizeof(*fs)) : NULL;
	if (fs == NULL) {
		int e = fd >= 0 ? ENOMEM : errno;
		if (fd >= 0)
			close(fd);
		send_stream_failed(c, id, e, path);
		free(path);
		return;
	}
	fs->fd = -1;
	fs->path = path;
	SbxChannel *ch = stream_channel_new(c, id, fs);
	if (ch == NULL) {
		close(fd);
		sbx_fs_stream_free(fs);
		send_stream_failed(c, id, ENOMEM, NULL);
		return;
	}
	/* the ordinary stdout pump reads it within the credit */
	ch->out_fd[SBX_STREAM_STDOUT] = fd;
	ch->out_piped[SBX_STREAM_STDOUT] = true;
	ch->out_credit[SBX_STREAM_STDOUT] = window;
	uint8_t p[8] = {0};
	sbx_conn_send(c, SBX_MSG_EXEC_STARTED, 0, id, p, sizeof(p));
}

/* opens the file a write goes to: a temp file beside it, or the file
 * itself when appending or writing through a symlink */
static int
fs_write_open(SbxFsStream *fs, uint32_t flags)
{
	char dir[SBX_FS_MAX_PATH + 1];
	struct stat st;
	bool exists = lstat(fs->path, &st) == 0;

	dir_of(fs->path, dir);
	if (!exists && errno == ENOENT && (flags & SBX_FS_PARENTS)) {
		int e = mkdir_parents(dir, 0755);
		if (e != 0)
			return e;
	}
	if (exists && (flags & SBX_FS_EXCLUSIVE))
		return EEXIST;
	if (exists && S_ISDIR(st.st_mode))
		return EISDIR;
	if ((flags & SBX_FS_APPEND) || (exists && S_ISLNK(st.st_mode))) {
		int oflags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
		oflags |= (flags & SBX_FS_APPEND) ? O_APPEND : O_TRUNC;
		fs->fd = open(fs->path, oflags, (flags & SBX_FS_MODE) ? fs->mode : 0644);
		if (fs->fd < 0)
			return errno;
		struct stat fst;
		if (fstat(fs->fd, &fst) == 0 && !S_ISREG(fst.st_mode))
			return EINVAL;
		if ((flags & SBX_FS_MODE) && fchmod(fs->fd, fs->mode) < 0)
			return errno;
		return 0;
	}
	if (exists && !S_ISREG(st.st_mode))
		return EINVAL;
	if (strlen(fs->path) + 16 > SBX_FS_MAX_PATH)
		return ENAMETOOLONG;
	const char *base = strrchr(fs->path, '/') + 1;
	size_t need = strlen(dir) + strlen(base) + 20;
	fs->tmp = malloc(need);
	if (fs->tmp == NULL)
		return ENOMEM;
	snprintf(fs->tmp, need, "%s/.%s.sbx-XXXXXX", strcmp(dir, "/") == 0 ? "" : dir, base);
	fs->fd = mkostemp(fs->tmp, O_CLOEXEC);
	if (fs->fd < 0) {
		int e = errno;
		free(fs->tmp);
		fs->tmp = NULL;
		return e;
	}
	/* a replaced file keeps its owner and mode unless told otherwise */
	mode_t mode = (flags & SBX_FS_MODE) ? fs->mode : exists ? (st.st_mode & 07777) : 0644;
	if (exists && fchown(fs->fd, st.st_uid, st.st_gid) < 0)
		sbx_debug("cannot keep the owner of %s: %s", fs->path, strerror(errno));
	if (fchmod(fs->fd, mode) < 0)
		return errno;
	return 0;
}

static void
fs_write(SbxConn *c, uint32_t id, FsReader *r)
{
	uint32_t flags, mode;
	int err;
	if (!rd_u32(r, &flags) || !rd_u32(r, &mode)) {
		sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "truncated FS_WRITE");
		return;
	}
	char *path = rd_path(r, &err);
	if (path == NULL ||
	    (flags &
	     ~(uint32_t)(SBX_FS_PARENTS | SBX_FS_APPEND | SBX_FS_MODE | SBX_FS_EXCLUSIVE)) != 0 ||
	    mode > 07777 || r->pos != r->len) {
		if (path == NULL && err != 0)
			send_stream_failed(c, id, err, NULL);
		else
			sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "bad FS_WRITE");
		free(path);
		return;
	}
	SbxFsStream *fs = calloc(1, sizeof(*fs));
	if (fs == NULL) {
		send_stream_failed(c, id, ENOMEM, path);
		free(path);
		return;
	}
	fs->write = true;
	fs->fd = -1;
	fs->path = path;
	fs->mode = mode;
	if (c->fs_user != NULL) {
		fs->as_user = true;
		fs->user = *c->fs_user;
	}
	err = fs_write_open(fs, flags);
	if (err != 0) {
		send_stream_failed(c, id, err, path);
		sbx_fs_stream_free(fs);
		return;
	}
	SbxChannel *ch = stream_channel_new(c, id, fs);
	if (ch == NULL) {
		send_stream_failed(c, id, ENOMEM, fs->path);
		sbx_fs_stream_free(fs);
		return;
	}
	ch->reaped = false; /* done at EOF */
	ch->stdin_piped = true;
	ch->stdin_credit = SBX_AGENT_STDIN_WINDOW;
	uint8_t p[8];
	sbx_proto_put_u32(p, 0);
	sbx_proto_put_u32(p + 4, SBX_AGENT_STDIN_WINDOW);
	sbx_conn_send(c, SBX_MSG_EXEC_STARTED, 0, id, p, sizeof(p));
}

static void
stream_finish(SbxChannel *ch, int status)
{
	ch->reaped = true;
	ch->status = status;
}

void
sbx_fs_stream_data(SbxConn *c, SbxChannel *ch, const uint8_t *p, uint32_t len)
{
	SbxFsStream *fs = ch->fs;
	uint32_t done = 0;
	ch->stdin_credit -= len;
	while (fs->err == 0 && fs->fd >= 0 && done < len) {
		ssize_t n = write(fs->fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fs->err = n < 0 ? errno : EIO;
			break;
		}
		done += (uint32_t)n;
	}
	/* written (or failed and swallowed): the host may send more at once */
	uint8_t g[4];
	sbx_proto_put_u32(g, len);
	sbx_conn_send(c, SBX_MSG_CREDIT, SBX_STREAM_STDIN, ch->id, g, sizeof(g));
	ch->stdin_credit += len;
}

void
sbx_fs_stream_eof(SbxConn *c, SbxChannel *ch)
{
	SbxFsStream *fs = ch->fs;
	(void)c;
	ch->stdin_eof = true;
	if (fs->fd >= 0 && close(fs->fd) < 0 && fs->err == 0)
		fs->err = errno;
	fs->fd = -1;
	if (fs->err == 0 && fs->tmp != NULL) {
		/* as the user: root's rename would ignore a sticky directory */
		SbxUserScope scope;
		int e = fs->as_user ? sbx_user_act_as(&fs->user, &scope) : 0;
		if (e != 0)
			fs->err = e;
		else if (rename(fs->tmp, fs->path) < 0)
			fs->err = errno;
		else {
			free(fs->tmp);
			fs->tmp = NULL;
		}
		if (fs->as_user && e == 0)
			sbx_user_act_restore(&scope);
	}
	if (fs->err != 0)
		sbx_debug("writing %s failed: %s", fs->path, strerror(fs->err));
	/* exit code = errno (< 256), see sbx-protocol.h */
	stream_finish(ch, (fs->err & 0xff) << 8);
}

void
sbx_fs_stream_signal(SbxConn *c, SbxChannel *ch, int sig)
{
	SbxFsStream *fs = ch->fs;
	(void)c;
	/* the host gave up: stop reading, forget the partial write */
	if (ch->out_fd[SBX_STREAM_STDOUT] >= 0) {
		close(ch->out_fd[SBX_STREAM_STDOUT]);
		ch->out_fd[SBX_STREAM_STDOUT] = -1;
	}
	if (fs->fd >= 0) {
		close(fs->fd);
		fs->fd = -1;
	}
	if (fs->tmp != NULL) {
		unlink(fs->tmp);
		free(fs->tmp);
		fs->tmp = NULL;
	}
	ch->stdin_eof = true;
	if (!ch->reaped || ch->status == 0)
		stream_finish(ch, sig & 0x7f);
}

void
sbx_fs_stat_encode(const struct stat *st, uint8_t *p)
{
	sbx_proto_put_u32(p, fs_type(st->st_mode));
	sbx_proto_put_u32(p + 4, (uint32_t)(st->st_mode & 07777));
	sbx_proto_put_u32(p + 8, (uint32_t)st->st_uid);
	sbx_proto_put_u32(p + 12, (uint32_t)st->st_gid);
	sbx_proto_put_u32(p + 16, (uint32_t)st->st_nlink);
	put_u64(p + 20, (uint64_t)st->st_size);
	put_u64(p + 28, (uint64_t)st->st_mtim.tv_sec);
	sbx_proto_put_u32(p + 36, (uint32_t)st->st_mtim.tv_nsec);
	put_u64(p + 40, (uint64_t)st->st_atim.tv_sec);
	sbx_proto_put_u32(p + 48, (uint32_t)st->st_atim.tv_nsec);
	put_u64(p + 52, (uint64_t)st->st_ctim.tv_sec);
	sbx_proto_put_u32(p + 60, (uint32_t)st->st_ctim.tv_nsec);
}

static void
fs_stat(SbxConn *c, uint32_t id, FsReader *r)
{
	uint32_t flags;
	int err;
	if (!rd_u32(r, &flags)) {
		sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "truncated FS_STAT");
		return;
	}
	char *path = rd_path(r, &err);
	if (path == NULL || (flags & ~(uint32_t)SBX_FS_NOFOLLOW) != 0 || r->pos != r->len) {
		if (path == NULL && err != 0)
			send_fs_error(c, id, err, NULL);
		else
			sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "bad FS_STAT");
		free(path);
		return;
	}
	struct stat st;
	int rc = (flags & SBX_FS_NOFOLLOW) ? lstat(path, &st) : stat(path, &st);
	if (rc < 0) {
		send_fs_error(c, id, errno, path);
		free(path);
		return;
	}
	uint8_t p[SBX_FS_STAT_FIXED + SBX_FS_MAX_PATH];
	size_t n = SBX_FS_STAT_FIXED;
	sbx_fs_stat_encode(&st, p);
	if (S_ISLNK(st.st_mode)) {
		ssize_t l = readlink(path, (char *)p + n, SBX_FS_MAX_PATH);
		if (l > 0)
			n += (size_t)l;
	}
	free(path);
	sbx_conn_send(c, SBX_MSG_FS_STAT_REPLY, 0, id, p, (uint32_t)n);
	sbx_conn_remember_closed(c, id);
}

static void
fs_readdir(SbxConn *c, uint32_t id, FsReader *r)
{
	uint32_t flags, lo, hi;
	int err;
	if (!rd_u32(r, &flags) || !rd_u32(r, &lo) || !rd_u32(r, &hi)) {
		sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "truncated FS_READDIR");
		return;
	}
	char *path = rd_path(r, &err);
	if (path == NULL || flags != 0 || r->pos != r->len) {
		if (path == NULL && err != 0)
			send_fs_error(c, id, err, NULL);
		else
			sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "bad FS_READDIR");
		free(path);
		return;
	}
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (d == NULL) {
		int e = errno;
		if (dfd >= 0)
			close(dfd);
		send_fs_error(c, id, e, path);
		free(path);
		return;
	}
	uint64_t cookie = ((uint64_t)hi << 32) | lo;
	if (cookie != 0)
		seekdir(d, (long)cookie);

	uint8_t *p = malloc(SBX_PROTO_MAX_PAYLOAD);
	if (p == NULL) {
		closedir(d);
		send_fs_error(c, id, ENOMEM, path);
		free(path);
		return;
	}
	size_t n = 16;
	uint32_t count = 0;
	uint32_t more = 0;
	uint64_t next = 0;
	for (;;) {
		long pos = telldir(d);
		errno = 0;
		struct dirent *e = readdir(d);
		if (e == NULL) {
			if (errno != 0) {
				int en = errno;
				closedir(d);
				free(p);
				send_fs_error(c, id, en, path);
				free(path);
				return;
			}
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		size_t nlen = strnlen(e->d_name, SBX_FS_MAX_NAME + 1);
		if (nlen > SBX_FS_MAX_NAME)
			continue;
		if (n + SBX_FS_DIRENT_FIXED + nlen > SBX_PROTO_MAX_PAYLOAD) {
			more = SBX_FS_MORE;
			next = (uint64_t)pos;
			break;
		}
		struct stat st;
		uint32_t type = SBX_FS_TYPE_UNKNOWN;
		memset(&st, 0, sizeof(st));
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			type = fs_type(st.st_mode);
		else if (e->d_type == DT_DIR)
			type = SBX_FS_TYPE_DIRECTORY;
		else if (e->d_type == DT_REG)
			type = SBX_FS_TYPE_FILE;
		else if (e->d_type == DT_LNK)
			type = SBX_FS_TYPE_SYMLINK;
		sbx_proto_put_u32(p + n, type);
		sbx_proto_put_u32(p + n + 4, (uint32_t)(st.st_mode & 07777));
		put_u64(p + n + 8, (uint64_t)st.st_size);
		put_u64(p + n + 16, (uint64_t)st.st_mtim.tv_sec);
		sbx_proto_put_u32(p + n + 24, (uint32_t)nlen);
		memcpy(p + n + SBX_FS_DIRENT_FIXED, e->d_name, nlen);
		n += SBX_FS_DIRENT_FIXED + nlen;
		count++;
	}
	closedir(d);
	sbx_proto_put_u32(p, more);
	put_u64(p + 4, next);
	sbx_proto_put_u32(p + 12, count);
	sbx_conn_send(c, SBX_MSG_FS_DIRENTS, 0, id, p, (uint32_t)n);
	sbx_conn_remember_closed(c, id);
	free(p);
	free(path);
}

/* removes @path and everything below it, without following symlinks;
 * returns 0 or an errno with the failing path in @failed */
static int
remove_tree(int dfd, const char *name, char *failed, const char *full, int depth)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(failed, SBX_FS_MAX_PATH + 1, "%s", full);
		return errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) < 0) {
			snprintf(failed, SBX_FS_MAX_PATH + 1, "%s", full);
			return errno;
		}
		return 0;
	}
	if (depth > 256) {
		snprintf(failed, SBX_FS_MAX_PATH + 1, "%s", full);
		return ELOOP;
	}
	int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = sub >= 0 ? fdopendir(sub) : NULL;
	if (d == NULL) {
		if (sub >= 0)
			close(sub);
		snprintf(failed, SBX_FS_MAX_PATH + 1, "%s", full);
		return errno;
	}
	int err = 0;
	struct dirent *e;
	while (err == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char child[SBX_FS_MAX_PATH + 1];
		int cn = snprintf(child, sizeof(child), "%s/%s", full, e->d_name);
		if (cn < 0 || (size_t)cn >= sizeof(child))
			snprintf(child, sizeof(child), "%s", full);
		err = remove_tree(dirfd(d), e->d_name, failed, child, depth + 1);
	}
	closedir(d);
	if (err != 0)
		return err;
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0) {
		snprintf(failed, SBX_FS_MAX_PATH + 1, "%s", full);
		return errno;
	}
	return 0;
}

static void
fs_remove(SbxConn *c, uint32_t id, FsReader *r)
{
	uint32_t flags;
	int err;
	if (!rd_u32(r, &flags)) {
		sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "truncated FS_REMOVE");
		return;
	}
	char *path = rd_path(r, &err);
	if (path == NULL || (flags & ~(uint32_t)SBX_FS_RECURSIVE) != 0 || r->pos != r->len) {
		if (path == NULL && err != 0)
			send_fs_error(c, id, err, NULL);
		else
			sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "bad FS_REMOVE");
		free(path);
		return;
	}
	struct stat st;
	if (lstat(path, &st) < 0) {
		send_fs_error(c, id, errno, path);
	} else if (S_ISDIR(st.st_mode) && (flags & SBX_FS_RECURSIVE)) {
		char failed[SBX_FS_MAX_PATH + 1];
		err = remove_tree(AT_FDCWD, path, failed, path, 0);
		if (err != 0)
			send_fs_error(c, id, err, failed);
		else
			send_fs_ok(c, id);
	} else if ((S_ISDIR(st.st_mode) ? rmdir(path) : unlink(path)) < 0) {
		send_fs_error(c, id, errno, path);
	} else {
		send_fs_ok(c, id);
	}
	free(path);
}

static void
fs_mkdir(SbxConn *c, uint32_t id, FsReader *r)
{
	uint32_t flags, mode;
	int err;
	if (!rd_u32(r, &flags) || !rd_u32(r, &mode)) {
		sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "truncated FS_MKDIR");
		return;
	}
	char *path = rd_path(r, &err);
	if (path == NULL || (flags & ~(uint32_t)SBX_FS_PARENTS) != 0 || mode > 07777 ||
	    r->pos != r->len) {
		if (path == NULL && err != 0)
			send_fs_error(c, id, err, NULL);
		else
			sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "bad FS_MKDIR");
		free(path);
		return;
	}
	if (flags & SBX_FS_PARENTS)
		err = mkdir_parents(path, (mode_t)mode);
	else
		err = mkdir(path, (mode_t)mode) < 0 ? errno : 0;
	if (err != 0)
		send_fs_error(c, id, err, path);
	else
		send_fs_ok(c, id);
	free(path);
}

static void
fs_rename(SbxConn *c, uint32_t id, FsReader *r)
{
	uint32_t flags;
	int err, err2 = 0;
	if (!rd_u32(r, &flags)) {
		sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "truncated FS_RENAME");
		return;
	}
	char *from = rd_path(r, &err);
	char *to = from != NULL ? rd_path(r, &err2) : NULL;
	if (from == NULL || to == NULL || flags != 0 || r->pos != r->len) {
		if ((from == NULL && err != 0) || (to == NULL && err2 != 0))
			send_fs_error(c, id, err != 0 ? err : err2, NULL);
		else
			sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "bad FS_RENAME");
	} else if (rename(from, to) < 0) {
		/* name the side that is missing when we can tell */
		int e = errno;
		struct stat st;
		send_fs_error(c, id, e, (e == ENOENT && lstat(from, &st) == 0) ? to : from);
	} else {
		send_fs_ok(c, id);
	}
	free(from);
	free(to);
}

static void
fs_chmod(SbxConn *c, uint32_t id, FsReader *r)
{
	uint32_t flags, mode;
	int err;
	if (!rd_u32(r, &flags) || !rd_u32(r, &mode)) {
		sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "truncated FS_CHMOD");
		return;
	}
	char *path = rd_path(r, &err);
	if (path == NULL || flags != 0 || mode > 07777 || r->pos != r->len) {
		if (path == NULL && err != 0)
			send_fs_error(c, id, err, NULL);
		else
			sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "bad FS_CHMOD");
		free(path);
		return;
	}
	if (chmod(path, (mode_t)mode) < 0)
		send_fs_error(c, id, errno, path);
	else
		send_fs_ok(c, id);
	free(path);
}

/* a regular file's contents and mode, to a new or truncated file */
static int
copy_file(const char *from, const char *to, const char **failed)
{
	struct stat st;
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out, err = 0;

	*failed = from;
	if (in < 0)
		return errno;
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? EISDIR : (errno != 0 ? errno : EINVAL);
		close(in);
		return err;
	}
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
	if (out < 0) {
		err = errno;
		close(in);
		*failed = to;
		return err;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				err = errno;
				*failed = to;
				break;
			}
			done += w;
		}
		if (err != 0)
			break;
	}
	if (err == 0 && fchmod(out, st.st_mode & 07777) < 0) {
		err = errno;
		*failed = to;
	}
	close(in);
	if (close(out) < 0 && err == 0) {
		err = errno;
		*failed = to;
	}
	return err;
}

/* SYMLINK, LINK, COPY (two paths) and TRUNCATE, CHOWN, UTIME (numbers, one
 * path): flags 0, then @n_nums u32, then the path(s) */
static void
fs_simple(SbxConn *c, uint32_t id, FsReader *r, uint32_t type)
{
	uint32_t flags, nums[4] = {0};
	unsigned n_nums = type == SBX_MSG_FS_UTIME				    ? 4
			  : type == SBX_MSG_FS_TRUNCATE || type == SBX_MSG_FS_CHOWN ? 2
										    : 0;
	bool two = n_nums == 0;
	int err = 0, err2 = 0;
	const char *failed;
	char *path, *path2 = NULL;

	if (!rd_u32(r, &flags)) {
		sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "truncated fs request");
		return;
	}
	for (unsigned i = 0; i < n_nums; i++) {
		if (!rd_u32(r, &nums[i])) {
			sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "truncated fs request");
			return;
		}
	}
	/* a symlink's target too must be an absolute path (the SDK sends one) */
	path = rd_path(r, &err);
	if (path != NULL && two)
		path2 = rd_path(r, &err2);
	if (path == NULL || (two && path2 == NULL) || flags != 0 || r->pos != r->len) {
		if ((path == NULL && err != 0) || (two && path2 == NULL && err2 != 0))
			send_fs_error(c, id, err != 0 ? err : err2, NULL);
		else
			sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "bad fs request");
		free(path);
		free(path2);
		return;
	}
	failed = two ? path2 : path;
	switch (type) {
	case SBX_MSG_FS_SYMLINK:
		err = symlink(path, path2) < 0 ? errno : 0;
		break;
	case SBX_MSG_FS_LINK:
		err = link(path, path2) < 0 ? errno : 0;
		if (err == ENOENT)
			failed = path;
		break;
	case SBX_MSG_FS_COPY:
		err = copy_file(path, path2, &failed);
		break;
	case SBX_MSG_FS_TRUNCATE: {
		uint64_t len = (uint64_t)nums[0] | ((uint64_t)nums[1] << 32);
		err = len > (uint64_t)INT64_MAX ? EINVAL
						: (truncate(path, (off_t)len) < 0 ? errno : 0);
		break;
	}
	case SBX_MSG_FS_CHOWN:
		err = lchown(path, (uid_t)nums[0], (gid_t)nums[1]) < 0 ? errno : 0;
		break;
	default: {
		struct timespec ts[2] = {
		    {.tv_sec = (time_t)((uint64_t)nums[0] | ((uint64_t)nums[1] << 32))},
		    {.tv_sec = (time_t)((uint64_t)nums[2] | ((uint64_t)nums[3] << 32))},
		};
		err = utimensat(AT_FDCWD, path, ts, 0) < 0 ? errno : 0;
		break;
	}
	}
	if (err != 0)
		send_fs_error(c, id, err, failed);
	else
		send_fs_ok(c, id);
	free(path);
	free(path2);
}

static void
send_fs_path(SbxConn *c, uint32_t id, const char *path)
{
	size_t n = strlen(path);
	if (n > SBX_FS_MAX_PATH) {
		send_fs_error(c, id, ENAMETOOLONG, NULL);
		return;
	}
	sbx_conn_send(c, SBX_MSG_FS_PATH_REPLY, 0, id, (const uint8_t *)path, (uint32_t)n);
	sbx_conn_remember_closed(c, id);
}

/* REALPATH: the canonical path; MKTEMP: a new unique file or directory */
static void
fs_path_request(SbxConn *c, uint32_t id, FsReader *r, uint32_t type)
{
	uint32_t flags, suffix_len = 0;
	int err = 0;
	char *path;

	if (!rd_u32(r, &flags) || (type == SBX_MSG_FS_MKTEMP && !rd_u32(r, &suffix_len))) {
		sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "truncated fs request");
		return;
	}
	path = rd_path(r, &err);
	if (path == NULL || r->pos != r->len || (type == SBX_MSG_FS_REALPATH && flags != 0) ||
	    (type == SBX_MSG_FS_MKTEMP && (flags & ~(uint32_t)SBX_FS_MKTEMP_DIR) != 0)) {
		if (path == NULL && err != 0)
			send_fs_error(c, id, err, NULL);
		else
			sbx_conn_send_error(c, id, SBX_PROTO_ERR_MALFORMED, "bad fs request");
		free(path);
		return;
	}
	if (type == SBX_MSG_FS_REALPATH) {
		char *real = realpath(path, NULL);
		if (real == NULL)
			send_fs_error(c, id, errno, path);
		else
			send_fs_path(c, id, real);
		free(real);
		free(path);
		return;
	}
	/* the template's XXXXXX sit right before the suffix */
	size_t n = strlen(path);
	if (suffix_len > n || n - suffix_len < 6 ||
	    memcmp(path + n - suffix_len - 6, "XXXXXX", 6) != 0 ||
	    memchr(path + n - suffix_len, '/', suffix_len) != NULL ||
	    ((flags & SBX_FS_MKTEMP_DIR) && suffix_len != 0)) {
		send_fs_error(c, id, EINVAL, path);
		free(path);
		return;
	}
	if (flags & SBX_FS_MKTEMP_DIR) {
		if (mkdtemp(path) == NULL)
			err = errno;
	} else {
		int fd = mkostemps(path, (int)suffix_len, O_CLOEXEC);
		if (fd < 0)
			err = errno;
		else
			close(fd);
	}
	if (err != 0)
		send_fs_error(c, id, err, path);
	else
		send_fs_path(c, id, path);
	free(path);
}

void
sbx_fs_request(SbxConn *c, const SbxFrameHeader *h, const uint8_t *p)
{
	FsReader r = {.p = p, .len = h->length, .pos = 0};
	if ((h->type == SBX_MSG_FS_READ || h->type == SBX_MSG_FS_WRITE) &&
	    c->n_channels >= SBX_PROTO_MAX_CHANNELS) {
		sbx_conn_send_error(c, h->channel, SBX_PROTO_ERR_TOO_MANY_CHANNELS,
				    "too many open channels");
		return;
	}
	switch (h->type) {
	case SBX_MSG_FS_READ:
		fs_read(c, h->channel, &r);
		return;
	case SBX_MSG_FS_WRITE:
		fs_write(c, h->channel, &r);
		return;
	case SBX_MSG_FS_STAT:
		fs_stat(c, h->channel, &r);
		return;
	case SBX_MSG_FS_READDIR:
		fs_readdir(c, h->channel, &r);
		return;
	case SBX_MSG_FS_MKDIR:
		fs_mkdir(c, h->channel, &r);
		return;
	case SBX_MSG_FS_REMOVE:
		fs_remove(c, h->channel, &r);
		return;
	case SBX_MSG_FS_RENAME:
		fs_rename(c, h->channel, &r);
		return;
	case SBX_MSG_FS_CHMOD:
		fs_chmod(c, h->channel, &r);
		return;
	case SBX_MSG_FS_SYMLINK:
	case SBX_MSG_FS_LINK:
	case SBX_MSG_FS_COPY:
	case SBX_MSG_FS_TRUNCATE:
	case SBX_MSG_FS_CHOWN:
	case SBX_MSG_FS_UTIME:
		fs_simple(c, h->channel, &r, h->type);
		return;
	case SBX_MSG_FS_REALPATH:
	case SBX_MSG_FS_MKTEMP:
		fs_path_request(c, h->channel, &r, h->type);
		return;
	default:
		sbx_conn_send_error(c, h->channel, SBX_PROTO_ERR_UNEXPECTED,
				    "unknown filesystem request");
		return;
	}
}

/* for sbx-agent-file.c: the same payload reading and replies */
bool
sbx_fs_reader_u32(SbxFsReader *r, uint32_t *v)
{
	return rd_u32(r, v);
}

char *
sbx_fs_reader_path(SbxFsReader *r, int *err)
{
	return rd_path(r, err);
}

void
sbx_fs_send_error(SbxConn *c, uint32_t id, int err, const char *path)
{
	send_fs_error(c, id, err, path);
}

void
sbx_fs_send_ok(SbxConn *c, uint32_t id)
{
	send_fs_ok(c, id);
}

void
sbx_fs_send_stream_failed(SbxConn *c, uint32_t id, int err, const char *path)
{
	send_stream_failed(c, id, err, path);
}

uint32_t
sbx_fs_type_of(mode_t mode)
{
	return fs_type(mode);
}
