/* sandboxd guest agent: WALK and GLOB (message types 99, 100).
 *
 * Both run in a forked child of the agent that writes entry records to a
 * pipe and exits with 0 or the errno that ended it; the pipe is the
 * channel's stdout, so the ordinary pump sends it within the host's credit
 * and the agent's loop never waits on a slow disk or a huge tree. The
 * child is depth- and count-bounded, cuts symlink loops (a directory
 * already on the current path is not entered again) and is killed with
 * the channel. The semantics follow Deno's std/fs walk() and
 * expandGlob(), which the SDK documents.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx-agent.h"

typedef struct {
	uint32_t flags;
	uint32_t window;
	uint32_t max_depth;
	uint32_t max_entries;
	char *root; /* WALK: the root; GLOB: the glob */
	regex_t match[SBX_FS_WALK_MAX_PATTERNS];
	unsigned n_match;
	regex_t skip[SBX_FS_WALK_MAX_PATTERNS];
	unsigned n_skip;
	char *exts[SBX_FS_WALK_MAX_PATTERNS];
	unsigned n_exts;
	char *exclude[SBX_FS_WALK_MAX_PATTERNS]; /* GLOB */
	unsigned n_exclude;
} WalkSpec;

typedef struct {
	char *path;
	uint32_t type;
} WalkEntry;

/* the child's state: where entries go and how many went */
typedef struct {
	const WalkSpec *spec;
	bool glob;
	const char *segment; /* GLOB: the one-level match, NULL = none */
	int fnm;	     /* GLOB: fnmatch flags */
	int fd;		     /* the pipe, or -1 while collecting */
	uint8_t buf[8192];
	size_t len;
	WalkEntry *list; /* collecting */
	size_t n_list;
	size_t cap_list;
	uint64_t emitted;
	struct {
		dev_t dev;
		ino_t ino;
	} stack[SBX_FS_WALK_MAX_DEPTH + 1];
	unsigned depth;
} Walker;

static void
spec_clear(WalkSpec *s)
{
	for (unsigned i = 0; i < s->n_match; i++)
		regfree(&s->match[i]);
	for (unsigned i = 0; i < s->n_skip; i++)
		regfree(&s->skip[i]);
	for (unsigned i = 0; i < s->n_exts; i++)
		free(s->exts[i]);
	for (unsigned i = 0; i < s->n_exclude; i++)
		free(s->exclude[i]);
	free(s->root);
	memset(s, 0, sizeof(*s));
}

/* a u32-length string of 1..SBX_PROTO_MAX_STRING bytes without NUL */
static char *
rd_string(SbxFsReader *r)
{
	uint32_t n;
	if (!sbx_fs_reader_u32(r, &n) || n == 0 || n > SBX_PROTO_MAX_STRING ||
	    r->len - r->pos < n || memchr(r->p + r->pos, '\0', n) != NULL)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, r->p + r->pos, n);
	s[n] = '\0';
	r->pos += n;
	return s;
}

/* -1: malformed; else 0 or the errno to answer (a bad pattern: EINVAL) */
static int
rd_regexes(SbxFsReader *r, regex_t *out, unsigned *n_out)
{
	uint32_t n;
	if (!sbx_fs_reader_u32(r, &n) || n > SBX_FS_WALK_MAX_PATTERNS)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t pflags;
		char *src;
		if (!sbx_fs_reader_u32(r, &pflags) || (pflags & ~SBX_FS_PATTERN_ICASE) != 0)
			return -1;
		src = rd_string(r);
		if (src == NULL)
			return -1;
		int rc = regcomp(&out[*n_out], src,
				 REG_EXTENDED | REG_NOSUB |
				     ((pflags & SBX_FS_PATTERN_ICASE) ? REG_ICASE : 0));
		free(src);
		if (rc != 0)
			return EINVAL;
		(*n_out)++;
	}
	return 0;
}

static int
rd_strings(SbxFsReader *r, char **out, unsigned *n_out, bool paths)
{
	uint32_t n;
	if (!sbx_fs_reader_u32(r, &n) || n > SBX_FS_WALK_MAX_PATTERNS)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		out[*n_out] = rd_string(r);
		if (out[*n_out] == NULL)
			return -1;
		(*n_out)++;
		if (paths && out[*n_out - 1][0] != '/')
			return EINVAL;
	}
	return 0;
}

static int
spec_parse(WalkSpec *s, SbxFsReader *r, bool glob)
{
	int err;
	if (!sbx_fs_reader_u32(r, &s->flags) || !sbx_fs_reader_u32(r, &s->window) ||
	    !sbx_fs_reader_u32(r, &s->max_depth) || !sbx_fs_reader_u32(r, &s->max_entries))
		return -1;
	if ((s->flags & ~SBX_FS_WALK_FLAGS_ALL) != 0 || s->max_depth > SBX_FS_WALK_MAX_DEPTH ||
	    s->max_entries == 0 || s->max_entries > SBX_FS_WALK_MAX_ENTRIES)
		return -1;
	s->root = sbx_fs_reader_path(r, &err);
	if (s->root == NULL)
		return err != 0 ? err : -1;
	if (glob) {
		err = rd_strings(r, s->exclude, &s->n_exclude, true);
	} else {
		err = rd_regexes(r, s->match, &s->n_match);
		if (err == 0)
			err = rd_regexes(r, s->skip, &s->n_skip);
		if (err == 0)
			err = rd_strings(r, s->exts, &s->n_exts, false);
	}
	if (err == 0 && r->pos != r->len)
		return -1;
	return err;
}

/* child side */

static int
flush(Walker *w)
{
	size_t done = 0;
	while (done < w->len) {
		ssize_t n = write(w->fd, w->buf + done, w->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		done += (size_t)n;
	}
	w->len = 0;
	return 0;
}

static int
emit(Walker *w, const char *path, uint32_t type)
{
	size_t n = strlen(path);
	if (++w->emitted > w->spec->max_entries)
		return E2BIG;
	if (w->fd < 0) {
		if (w->n_list == w->cap_list) {
			size_t cap = w->cap_list ? w->cap_list * 2 : 256;
			WalkEntry *l = realloc(w->list, cap * sizeof(*l));
			if (l == NULL)
				return ENOMEM;
			w->list = l;
			w->cap_list = cap;
		}
		w->list[w->n_list].path = strdup(path);
		if (w->list[w->n_list].path == NULL)
			return ENOMEM;
		w->list[w->n_list++].type = type;
		return 0;
	}
	if (w->len + SBX_FS_WALK_ENTRY_FIXED + n > sizeof(w->buf)) {
		int err = flush(w);
		if (err != 0)
			return err;
	}
	sbx_proto_put_u32(w->buf + w->len, type);
	sbx_proto_put_u32(w->buf + w->len + 4, (uint32_t)n);
	memcpy(w->buf + w->len + SBX_FS_WALK_ENTRY_FIXED, path, n);
	w->len += SBX_FS_WALK_ENTRY_FIXED + n;
	return 0;
}

/* fnmatch() with Deno's "{a,b}" alternatives in one segment (nested too):
 * the first group is expanded and each alternative tried; at most
 * SBX_WALK_MAX_ALTERNATIVES tries per match, past that nothing matches */
#define SBX_WALK_MAX_ALTERNATIVES 256

static bool
seg_match_n(const char *pat, const char *name, int fnm, unsigned *budget)
{
	const char *open = strchr(pat, '{');
	const char *close = NULL;
	int depth = 0;

	if (open != NULL) {
		for (const char *c = open; *c != '\0' && close == NULL; c++) {
			if (*c == '{')
				depth++;
			else if (*c == '}' && --depth == 0)
				close = c;
		}
	}
	if (open == NULL || close == NULL)
		return fnmatch(pat, name, fnm) == 0;
	size_t n = strlen(pat);
	char *buf = malloc(n + 1);
	bool ok = false;
	if (buf == NULL)
		return false;
	/* each top-level alternative between the braces */
	for (const char *alt = open + 1; !ok && alt <= close;) {
		const char *end = alt;
		for (depth = 0; end < close && (depth > 0 || *end != ','); end++)
			depth += *end == '{' ? 1 : *end == '}' ? -1 : 0;
		if ((*budget)-- == 0)
			break;
		size_t pre = (size_t)(open - pat), len = (size_t)(end - alt);
		memcpy(buf, pat, pre);
		memcpy(buf + pre, alt, len);
		strcpy(buf + pre + len, close + 1);
		ok = seg_match_n(buf, name, fnm, budget);
		alt = end + 1;
	}
	free(buf);
	return ok;
}

static bool
seg_match(const char *pat, const char *name, int fnm)
{
	unsigned budget = SBX_WALK_MAX_ALTERNATIVES;
	return seg_match_n(pat, name, fnm, &budget);
}

/* a whole absolute path against an absolute glob: fnmatch per segment,
 * "**" any number of segments; dynamic programming, no backtracking */
static bool
glob_match(const char *pattern, const char *path, int fnm, bool globstar)
{
	char pbuf[SBX_FS_MAX_PATH + 1], sbuf[SBX_FS_MAX_PATH + 1];
	char *pat[SBX_FS_MAX_PATH / 2 + 1], *seg[SBX_FS_MAX_PATH / 2 + 1];
	size_t np = 0, ns = 0;
	char *save = NULL;

	if (strlen(pattern) > SBX_FS_MAX_PATH || strlen(path) > SBX_FS_MAX_PATH)
		return false;
	strcpy(pbuf, pattern);
	strcpy(sbuf, path);
	for (char *t = strtok_r(pbuf, "/", &save); t != NULL; t = strtok_r(NULL, "/", &save))
		pat[np++] = t;
	for (char *t = strtok_r(sbuf, "/", &save); t != NULL; t = strtok_r(NULL, "/", &save))
		seg[ns++] = t;
	/* row[j]: pat[i..] matches seg[j..]; computed from the last pattern up */
	bool *row = calloc(ns + 1, sizeof(bool));
	bool *next = calloc(ns + 1, sizeof(bool));
	if (row == NULL || next == NULL) {
		free(row);
		free(next);
		return false;
	}
	next[ns] = true; /* the empty pattern matches only the empty rest */
	for (size_t i = np; i-- > 0;) {
		bool star = globstar && strcmp(pat[i], "**") == 0;
		row[ns] = star && next[ns];
		for (size_t j = ns; j-- > 0;) {
			if (star)
				row[j] = next[j] || row[j + 1];
			else
				row[j] = next[j + 1] && seg_match(pat[i], seg[j], fnm);
		}
		bool *t = next;
		next = row;
		row = t;
	}
	bool ok = next[0];
	free(row);
	free(next);
	return ok;
}

static bool
excluded(Walker *w, const char *path)
{
	for (unsigned i = 0; i < w->spec->n_exclude; i++) {
		if (glob_match(w->spec->exclude[i], path, w->fnm,
			       (w->spec->flags & SBX_FS_WALK_GLOBSTAR) != 0))
			return true;
	}
	return false;
}

static bool
skipped(Walker *w, const char *path)
{
	if (w->glob)
		return excluded(w, path);
	for (unsigned i = 0; i < w->spec->n_skip; i++) {
		if (regexec(&w->spec->skip[i], path, 0, NULL, 0) == 0)
			return true;
	}
	return false;
}

/* std/fs walk's include(): exts, match, skip */
static bool
included(Walker *w, const char *path)
{
	const WalkSpec *s = w->spec;
	if (s->n_exts > 0) {
		bool any = false;
		size_t n = strlen(path);
		for (unsigned i = 0; i < s->n_exts && !any; i++) {
			size_t e = strlen(s->exts[i]);
			any = e <= n && strcmp(path + n - e, s->exts[i]) == 0;
		}
		if (!any)
			return false;
	}
	if (w->glob && w->segment != NULL) {
		const char *base = strrchr(path, '/');
		if (!seg_match(w->segment, base != NULL ? base + 1 : path, w->fnm))
			return false;
	}
	if (!w->glob && s->n_match > 0) {
		bool any = false;
		for (unsigned i = 0; i < s->n_match && !any; i++)
			any = regexec(&s->match[i], path, 0, NULL, 0) == 0;
		if (!any)
			return false;
	}
	return !skipped(w, path);
}

static bool
join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, SBX_FS_MAX_PATH + 1, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name);
	return n > 0 && n <= (int)SBX_FS_MAX_PATH;
}

static int walk_dir(Walker *w, const char *root, int max_depth);

/* one directory entry below @dir */
static int
walk_entry(Walker *w, const char *dir, const char *name, int max_depth)
{
	const uint32_t f = w->spec->flags;
	char path[SBX_FS_MAX_PATH + 1];
	struct stat st;

	if (!join(path, dir, name) || lstat(path, &st) < 0)
		return 0; /* too long, or gone since readdir */
	if (S_ISLNK(st.st_mode)) {
		char *real;
		if (!(f & SBX_FS_WALK_FOLLOW)) {
			if ((f & SBX_FS_WALK_SYMLINKS) && included(w, path))
				return emit(w, path, SBX_FS_TYPE_SYMLINK);
			return 0;
		}
		real = realpath(path, NULL);
		if (real == NULL || stat(real, &st) < 0) {
			free(real);
			return 0; /* a dangling link leads nowhere */
		}
		if ((f & SBX_FS_WALK_CANONICALIZE) && strlen(real) <= SBX_FS_MAX_PATH)
			strcpy(path, real);
		free(real);
	}
	if (S_ISDIR(st.st_mode))
		return walk_dir(w, path, max_depth - 1);
	if ((f & SBX_FS_WALK_FILES) && included(w, path))
		return emit(w, path, sbx_fs_type_of(st.st_mode));
	return 0;
}

/* std/fs walk(): the root itself, then its entries, depth-first */
static int
walk_dir(Walker *w, const char *root, int max_depth)
{
	struct stat st;
	int err = 0;
	DIR *d;
	struct dirent *e;

	if (max_depth < 0)
		return 0;
	if (stat(root, &st) < 0)
		return w->depth == 0 ? errno : 0;
	if ((w->spec->flags & SBX_FS_WALK_DIRS) &&
	    (!w->glob || w->segment == NULL || w->depth > 0) && included(w, root)) {
		err = emit(w, root, sbx_fs_type_of(st.st_mode));
		if (err != 0)
			return err;
	}
	if (max_depth < 1 || !S_ISDIR(st.st_mode) || skipped(w, root))
		return 0;
	/* a directory already on the path is a loop through a symlink */
	for (unsigned i = 0; i < w->depth; i++) {
		if (w->stack[i].dev == st.st_dev && w->stack[i].ino == st.st_ino)
			return 0;
	}
	if (w->depth > SBX_FS_WALK_MAX_DEPTH)
		return 0;
	d = opendir(root);
	if (d == NULL)
		return w->depth == 0 ? errno : 0;
	w->stack[w->depth].dev = st.st_dev;
	w->stack[w->depth].ino = st.st_ino;
	w->depth++;
	while (err == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		err = walk_entry(w, root, e->d_name, max_depth);
	}
	w->depth--;
	closedir(d);
	return err;
}

static int
walk_root(Walker *w, const char *root, int max_depth)
{
	w->depth = 0;
	return walk_dir(w, root, max_depth);
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const WalkEntry *)a)->path, ((const WalkEntry *)b)->path);
}

static bool
is_glob(const char *seg, bool extended)
{
	return strpbrk(seg, "*?[{") != NULL || (extended && strpbrk(seg, "(") != NULL);
}

static void
list_free(WalkEntry *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i].path);
	free(l);
}

/* std/fs expandGlob(): a fixed root, then each glob segment advances the
 * set of matches one level (or, for "**", any number); sorted, unique */
static int
glob_run(Walker *w)
{
	const WalkSpec *s = w->spec;
	const uint32_t f = s->flags;
	char fixed[SBX_FS_MAX_PATH + 1] = "/";
	char pbuf[SBX_FS_MAX_PATH + 1];
	char *segs[SBX_FS_MAX_PATH / 2 + 1];
	size_t nseg = 0, first = 0;
	char *save = NULL;
	bool trailing = s->root[strlen(s->root) - 1] == '/';
	WalkEntry *cur;
	size_t n_cur = 0;
	struct stat st;
	int err = 0;

	w->fnm = ((f & SBX_FS_WALK_CASEFOLD) ? FNM_CASEFOLD : 0) |
		 ((f & SBX_FS_WALK_EXTENDED) ? FNM_EXTMATCH : 0);
	strcpy(pbuf, s->root);
	for (char *t = strtok_r(pbuf, "/", &save); t != NULL; t = strtok_r(NULL, "/", &save))
		segs[nseg++] = t;
	while (first < nseg && !is_glob(segs[first], f & SBX_FS_WALK_EXTENDED) &&
	       strcmp(segs[first], "..") != 0) {
		char dir[SBX_FS_MAX_PATH + 1];
		strcpy(dir, fixed);
		if (!join(fixed, dir, segs[first]))
			return ENAMETOOLONG;
		first++;
	}
	if (stat(fixed, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : errno;
	cur = calloc(1, sizeof(*cur));
	if (cur == NULL || (cur[0].path = strdup(fixed)) == NULL) {
		free(cur);
		return ENOMEM;
	}
	cur[0].type = sbx_fs_type_of(st.st_mode);
	n_cur = 1;
	for (size_t i = first; i < nseg && err == 0; i++) {
		bool star = strcmp(segs[i], "**") == 0 && (f & SBX_FS_WALK_GLOBSTAR);
		w->list = NULL;
		w->n_list = w->cap_list = 0;
		for (size_t j = 0; j < n_cur && err == 0; j++) {
			if (cur[j].type != SBX_FS_TYPE_DIRECTORY)
				continue;
			if (strcmp(segs[i], "..") == 0) {
				char parent[SBX_FS_MAX_PATH + 1];
				char *slash;
				strcpy(parent, cur[j].path);
				slash = strrchr(parent, '/');
				if (slash == parent)
					parent[1] = '\0';
				else if (slash != NULL)
					*slash = '\0';
				err = emit(w, parent, SBX_FS_TYPE_DIRECTORY);
				continue;
			}
			w->segment = star ? NULL : segs[i];
			err = walk_root(w, cur[j].path, star ? (int)s->max_depth : 1);
		}
		list_free(cur, n_cur);
		cur = w->list;
		n_cur = w->n_list;
		w->list = NULL;
		if (n_cur > 1)
			qsort(cur, n_cur, sizeof(*cur), entry_cmp);
		/* unique */
		size_t k = 0;
		for (size_t j = 0; j < n_cur; j++) {
			if (k > 0 && strcmp(cur[k - 1].path, cur[j].path) == 0) {
				free(cur[j].path);
				continue;
			}
			cur[k++] = cur[j];
		}
		n_cur = k;
		w->emitted = n_cur;
	}
	w->fd = w->fd < 0 ? -w->fd - 2 : w->fd;
	w->emitted = 0;
	for (size_t j = 0; j < n_cur && err == 0; j++) {
		bool dir = cur[j].type == SBX_FS_TYPE_DIRECTORY;
		if ((trailing && !dir) || (!(f & SBX_FS_WALK_DIRS) && dir))
			continue;
		err = emit(w, cur[j].path, cur[j].type);
	}
	list_free(cur, n_cur);
	return err;
}

static void __attribute__((noreturn)) child_main(const WalkSpec *spec, bool glob, int fd)
{
	static Walker w;
	sigset_t all;
	int err;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	/* its own group, so dropping the channel kills it (kill(-pid)) */
	setsid();
	sbx_limits_child();
	/* only the pipe: a copy of an open file would keep its OFD lock */
	if (fd != 3) {
		if (dup2(fd, 3) < 0)
			_exit(errno & 0xff);
		fd = 3;
	}
	close_range(4, ~0u, 0);
	w.spec = spec;
	w.glob = glob;
	if (glob) {
		/* collect first (sorted, unique), then write: -fd - 2 parks it */
		w.fd = -fd - 2;
		err = glob_run(&w);
	} else {
		w.fd = fd;
		err = walk_root(&w, spec->root, (int)spec->max_depth);
	}
	if (err == 0 && w.fd >= 0)
		err = flush(&w);
	_exit(err & 0xff);
}

void
sbx_walk_request(SbxConn *c, const SbxFrameHeader *h, SbxFsReader *r)
{
	bool glob = h->type == SBX_MSG_FS_GLOB;
	WalkSpec spec;
	uint32_t window;
	int pfd[2];
	int err;

	memset(&spec, 0, sizeof(spec));
	err = spec_parse(&spec, r, glob);
	window = spec.window;
	if (err < 0) {
		sbx_conn_send_error(c, h->channel, SBX_PROTO_ERR_MALFORMED,
				    glob ? "bad FS_GLOB" : "bad FS_WALK");
		spec_clear(&spec);
		return;
	}
	if (err > 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		sbx_fs_send_stream_failed(c, h->channel, err > 0 ? err : errno, spec.root);
		spec_clear(&spec);
		return;
	}
	SbxChannel *ch = calloc(1, sizeof(*ch));
	pid_t pid = ch != NULL ? fork() : -1;
	if (pid == 0) {
		close(pfd[0]);
		child_main(&spec, glob, pfd[1]);
	}
	err = errno;
	close(pfd[1]);
	spec_clear(&spec);
	if (pid < 0) {
		close(pfd[0]);
		free(ch);
		sbx_fs_send_stream_failed(c, h->channel, ch == NULL ? ENOMEM : err, NULL);
		return;
	}
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	ch->id = h->channel;
	ch->pid = pid;
	ch->stdin_fd = -1;
	ch->pty_fd = -1;
	sbx_buf_init(&ch->stdin_buf);
	ch->out_fd[0] = -1;
	ch->out_fd[SBX_STREAM_STDOUT] = pfd[0];
	ch->out_fd[SBX_STREAM_STDERR] = -1;
	ch->out_piped[SBX_STREAM_STDOUT] = true;
	ch->out_credit[SBX_STREAM_STDOUT] = window;
	ch->next = c->channels;
	c->channels = ch;
	c->n_channels++;
	uint8_t p[8] = {0};
	sbx_conn_send(c, SBX_MSG_EXEC_STARTED, 0, h->channel, p, sizeof(p));
}
