/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "sbx-jail-acl.h"

/* the kernel's POSIX ACL xattr (linux/posix_acl_xattr.h), little endian:
 * a version, then (tag, perm, id) entries sorted by tag, then id */
#define ACL_XATTR "system.posix_acl_access"
#define ACL_VERSION 2
#define TAG_USER_OBJ 0x01
#define TAG_USER 0x02
#define TAG_GROUP_OBJ 0x04
#define TAG_GROUP 0x08
#define TAG_MASK 0x10
#define TAG_OTHER 0x20
#define NO_ID 0xffffffffu
#define MAX_ENTRIES 64

typedef struct {
	guint16 tag;
	guint16 perm;
	guint32 id;
} Entry;

static gboolean
fail_errno(GError **error, const gchar *path, const gchar *what, gint saved)
{
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "%s: %s: %s", path, what,
		    g_strerror(saved));
	return FALSE;
}

/* the file's ACL, or the three entries its mode stands for */
static gboolean
acl_read(gint fd, const gchar *path, Entry *e, guint *n, GError **error)
{
	guint8 buf[4 + MAX_ENTRIES * 8];
	ssize_t len = fgetxattr(fd, ACL_XATTR, buf, sizeof(buf));
	struct stat st;

	if (len < 0 && errno != ENODATA)
		return fail_errno(error, path, "reading its ACL", errno);
	if (len < 0) {
		if (fstat(fd, &st) != 0)
			return fail_errno(error, path, "stat", errno);
		e[0] = (Entry){TAG_USER_OBJ, (st.st_mode >> 6) & 7, NO_ID};
		e[1] = (Entry){TAG_GROUP_OBJ, (st.st_mode >> 3) & 7, NO_ID};
		e[2] = (Entry){TAG_OTHER, st.st_mode & 7, NO_ID};
		*n = 3;
		return TRUE;
	}
	if (len < 4 || (len - 4) % 8 != 0 || GUINT32_FROM_LE(*(guint32 *)buf) != ACL_VERSION) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: an ACL of no known form", path);
		return FALSE;
	}
	*n = (guint)(len - 4) / 8;
	for (guint i = 0; i < *n; i++) {
		const guint8 *p = buf + 4 + i * 8;
		e[i].tag = GUINT16_FROM_LE(*(const guint16 *)p);
		e[i].perm = GUINT16_FROM_LE(*(const guint16 *)(p + 2));
		e[i].id = GUINT32_FROM_LE(*(const guint32 *)(p + 4));
	}
	return TRUE;
}

static gint
cmp_entry(gconstpointer a, gconstpointer b)
{
	const Entry *x = a, *y = b;
	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* the mask recomputed (the union of the group class), written back; with no
 * named entry left, the ACL goes and the mode keeps the owning group's bits */
static gboolean
acl_write(gint fd, const gchar *path, Entry *e, guint n, GError **error)
{
	guint8 buf[4 + MAX_ENTRIES * 8];
	guint16 mask = 0, group_obj = 0;
	gboolean named = FALSE;
	guint m = 0;
	struct stat st;

	for (guint i = 0; i < n; i++) {
		if (e[i].tag == TAG_USER || e[i].tag == TAG_GROUP)
			named = TRUE;
		if (e[i].tag == TAG_GROUP_OBJ)
			group_obj = e[i].perm;
		if (e[i].tag == TAG_USER || e[i].tag == TAG_GROUP || e[i].tag == TAG_GROUP_OBJ)
			mask |= e[i].perm;
	}
	if (!named) {
		if (fremovexattr(fd, ACL_XATTR) != 0 && errno != ENODATA)
			return fail_errno(error, path, "removing its ACL", errno);
		if (fstat(fd, &st) != 0 ||
		    fchmod(fd, (st.st_mode & 07707) | (mode_t)(group_obj << 3)) != 0)
			return fail_errno(error, path, "chmod", errno);
		return TRUE;
	}
	/* the old mask goes: it is recomputed */
	for (guint i = 0; i < n; i++) {
		if (e[i].tag != TAG_MASK)
			e[m++] = e[i];
	}
	e[m++] = (Entry){TAG_MASK, mask, NO_ID};
	qsort(e, m, sizeof(Entry), (GCompareFunc)cmp_entry);
	*(guint32 *)buf = GUINT32_TO_LE(ACL_VERSION);
	for (guint i = 0; i < m; i++) {
		guint8 *p = buf + 4 + i * 8;
		*(guint16 *)p = GUINT16_TO_LE(e[i].tag);
		*(guint16 *)(p + 2) = GUINT16_TO_LE(e[i].perm);
		*(guint32 *)(p + 4) = GUINT32_TO_LE(e[i].id);
	}
	if (fsetxattr(fd, ACL_XATTR, buf, 4 + m * 8, 0) != 0)
		return fail_errno(error, path, "setting its ACL", errno);
	return TRUE;
}

/* the file itself, never what a symlink in its place points to */
static gint
open_file(const gchar *path, GError **error)
{
	gint fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		fail_errno(error, path, "open", errno);
	return fd;
}

gboolean
sbx_jail_acl_grant(const gchar *path, uid_t uid, gboolean writable, GError **error)
{
	Entry e[MAX_ENTRIES + 1];
	guint n = 0;
	gboolean ok;
	struct stat st;
	gint fd;

	if (uid == 0)
		return TRUE;
	fd = open_file(path, error);
	if (fd < 0)
		return FALSE;
	if (fstat(fd, &st) != 0 || st.st_uid == uid) {
		close(fd);
		return TRUE;
	}
	ok = acl_read(fd, path, e, &n, error);
	if (ok) {
		guint i;
		for (i = 0; i < n && !(e[i].tag == TAG_USER && e[i].id == uid); i++)
			;
		if (i == n && n >= MAX_ENTRIES) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "%s: its ACL is full",
				    path);
			ok = FALSE;
		} else {
			if (i == n)
				e[n++] = (Entry){TAG_USER, 0, uid};
			e[i].perm = writable ? 6 : 4;
			ok = acl_write(fd, path, e, n, error);
		}
	}
	close(fd);
	return ok;
}

gboolean
sbx_jail_acl_revoke(const gchar *path, uid_t uid, GError **error)
{
	Entry e[MAX_ENTRIES + 1];
	guint n = 0, m = 0;
	gboolean ok;
	gint fd;

	if (uid == 0)
		return TRUE;
	fd = open_file(path, error);
	if (fd < 0)
		return FALSE;
	ok = acl_read(fd, path, e, &n, error);
	if (ok) {
		for (guint i = 0; i < n; i++) {
			if (!(e[i].tag == TAG_USER && e[i].id == uid))
				e[m++] = e[i];
		}
		/* never granted: nothing of ours to remove */
		if (m != n)
			ok = acl_write(fd, path, e, m, error);
	}
	close(fd);
	return ok;
}
