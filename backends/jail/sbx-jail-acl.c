/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <acl/libacl.h>

#include "sbx-jail-acl.h"

G_DEFINE_AUTO_CLEANUP_FREE_FUNC(acl_t, acl_free, NULL)

static gboolean
fail_errno(GError **error, const gchar *path, const gchar *what, gint saved)
{
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved), "%s: %s: %s", path, what,
		    g_strerror(saved));
	return FALSE;
}

/* the first entry of @tag; for ACL_USER with @uid, the one naming *@uid */
static acl_entry_t
find_entry(acl_t acl, acl_tag_t tag, const uid_t *uid)
{
	acl_entry_t entry;

	for (gint r = acl_get_entry(acl, ACL_FIRST_ENTRY, &entry); r == 1;
	     r = acl_get_entry(acl, ACL_NEXT_ENTRY, &entry)) {
		acl_tag_t t;
		uid_t *id;
		gboolean match;

		if (acl_get_tag_type(entry, &t) != 0 || t != tag)
			continue;
		if (uid == NULL)
			return entry;
		id = acl_get_qualifier(entry);
		match = id != NULL && *id == *uid;
		acl_free(id);
		if (match)
			return entry;
	}
	return NULL;
}

/* @uid's entry, added if missing, set to r-- or rw-; 0 or -1 and errno */
static gint
set_user(acl_t *acl, uid_t uid, gboolean writable)
{
	acl_entry_t entry = find_entry(*acl, ACL_USER, &uid);
	acl_permset_t perms;

	if (entry == NULL &&
	    (acl_create_entry(acl, &entry) != 0 || acl_set_tag_type(entry, ACL_USER) != 0 ||
	     acl_set_qualifier(entry, &uid) != 0))
		return -1;
	if (acl_get_permset(entry, &perms) != 0 || acl_clear_perms(perms) != 0 ||
	    acl_add_perm(perms, ACL_READ) != 0 || (writable && acl_add_perm(perms, ACL_WRITE) != 0))
		return -1;
	return acl_calc_mask(acl);
}

/* with no named entry left the mask goes too: the kernel then takes the ACL
 * for the mode it stands for, drops the xattr and gives the group bits back
 * to the owning group; otherwise the mask is the group class's union */
static gint
drop_user(acl_t *acl, acl_entry_t entry)
{
	acl_entry_t mask;

	if (acl_delete_entry(*acl, entry) != 0)
		return -1;
	if (find_entry(*acl, ACL_USER, NULL) != NULL || find_entry(*acl, ACL_GROUP, NULL) != NULL)
		return acl_calc_mask(acl);
	mask = find_entry(*acl, ACL_MASK, NULL);
	return mask != NULL ? acl_delete_entry(*acl, mask) : 0;
}

static gboolean
write_acl(gint fd, const gchar *path, acl_t acl, GError **error)
{
	if (acl_valid(acl) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: an ACL of no known form", path);
		return FALSE;
	}
	if (acl_set_fd(fd, acl) != 0)
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

/* the file's access ACL: the three entries its mode stands for when it has none */
static acl_t
read_acl(gint fd, const gchar *path, GError **error)
{
	acl_t acl = acl_get_fd(fd);
	if (acl == NULL)
		fail_errno(error, path, "reading its ACL", errno);
	return acl;
}

static gboolean
grant_fd(gint fd, const gchar *path, uid_t uid, gboolean writable, GError **error)
{
	g_auto(acl_t) acl = NULL;
	struct stat st;

	if (fstat(fd, &st) != 0 || st.st_uid == uid)
		return TRUE;
	acl = read_acl(fd, path, error);
	if (acl == NULL)
		return FALSE;
	if (set_user(&acl, uid, writable) != 0)
		return fail_errno(error, path, "editing its ACL", errno);
	return write_acl(fd, path, acl, error);
}

static gboolean
revoke_fd(gint fd, const gchar *path, uid_t uid, GError **error)
{
	g_auto(acl_t) acl = read_acl(fd, path, error);
	acl_entry_t entry;

	if (acl == NULL)
		return FALSE;
	entry = find_entry(acl, ACL_USER, &uid);
	/* never granted: nothing of ours to remove */
	if (entry == NULL)
		return TRUE;
	if (drop_user(&acl, entry) != 0)
		return fail_errno(error, path, "editing its ACL", errno);
	return write_acl(fd, path, acl, error);
}

gboolean
sbx_jail_acl_grant(const gchar *path, uid_t uid, gboolean writable, GError **error)
{
	gboolean ok;
	gint fd;

	if (uid == 0)
		return TRUE;
	fd = open_file(path, error);
	if (fd < 0)
		return FALSE;
	ok = grant_fd(fd, path, uid, writable, error);
	close(fd);
	return ok;
}

gboolean
sbx_jail_acl_revoke(const gchar *path, uid_t uid, GError **error)
{
	gboolean ok;
	gint fd;

	if (uid == 0)
		return TRUE;
	fd = open_file(path, error);
	if (fd < 0)
		return FALSE;
	ok = revoke_fd(fd, path, uid, error);
	close(fd);
	return ok;
}
