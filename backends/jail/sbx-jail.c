/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sbx-jail-cgroups.h"
#include "sbx-jail.h"

/* the device nodes a VMM may need; the rest of the host's /dev is not there */
static const gchar *const dev_nodes[] = {"null",    "zero", "full",    "random",
					 "urandom", "kvm",  "net/tun", "vhost-net"};

/* one node of the private /dev, looked up before fork */
typedef struct {
	char path[32];
	mode_t mode;
	dev_t rdev;
	uid_t uid;
	gid_t gid;
} DevNode;

struct _SbxJail {
	uid_t uid;
	gid_t gid;
	SbxJailCgroups *cgroups; /* or NULL: no limits */
	gboolean private_tmp;
	gboolean private_dev;
};

/* what the child needs, prepared before fork: after it only syscalls */
typedef struct {
	uid_t uid;
	gid_t gid;
	int cgroup_fds[SBX_JAIL_CGROUP_MAX_FDS];
	gboolean private_tmp;
	gboolean private_dev;
	DevNode nodes[G_N_ELEMENTS(dev_nodes)];
	guint n_nodes;
} ChildSetup;

SbxJail *
sbx_jail_new(const gchar *user, const gchar *cgroup_root, gboolean private_tmp, GError **error)
{
	g_autoptr(SbxJail) jail = g_atomic_rc_box_new0(SbxJail);

	jail->private_tmp = private_tmp;
	if (user != NULL && user[0] != '\0' && g_strcmp0(user, "root") != 0) {
		struct passwd *pw = getpwnam(user);
		if (pw == NULL) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "user '%s' does not exist", user);
			return NULL;
		}
		jail->uid = pw->pw_uid;
		jail->gid = pw->pw_gid;
	}
	/* no writable hierarchy (a container): no limits, said once */
	if (cgroup_root != NULL) {
		jail->cgroups = sbx_jail_cgroups_new(cgroup_root);
		if (jail->cgroups != NULL)
			g_info("jail: VMMs run in %s", sbx_jail_cgroups_describe(jail->cgroups));
		else
			g_info("jail: no writable cgroup hierarchy for %s: VMMs run without "
			       "memory and CPU limits",
			       cgroup_root);
	}
	/* only root can mount one; sbx_jail_set_private_dev() overrides */
	jail->private_dev = geteuid() == 0;
	return g_steal_pointer(&jail);
}

static void
jail_clear(SbxJail *jail)
{
	sbx_jail_cgroups_free(jail->cgroups);
}

/* helpers that outlive a backend's request (a storage daemon's exit watch)
 * keep the jail they were spawned in */
SbxJail *
sbx_jail_ref(SbxJail *jail)
{
	return g_atomic_rc_box_acquire(jail);
}

/* drops a reference: the last one frees the jail */
void
sbx_jail_free(SbxJail *jail)
{
	if (jail == NULL)
		return;
	g_atomic_rc_box_release_full(jail, (GDestroyNotify)jail_clear);
}

uid_t
sbx_jail_get_uid(SbxJail *jail)
{
	return jail->uid;
}

gid_t
sbx_jail_get_gid(SbxJail *jail)
{
	return jail->gid;
}

gboolean
sbx_jail_has_cgroups(SbxJail *jail)
{
	return jail->cgroups != NULL;
}

/* the folders a jailed process named @name runs in, one per hierarchy */
GStrv
sbx_jail_cgroup_dirs(SbxJail *jail, const gchar *name)
{
	if (jail->cgroups == NULL)
		return g_new0(gchar *, 1);
	return sbx_jail_cgroups_dirs(jail->cgroups, name);
}

void
sbx_jail_set_private_dev(SbxJail *jail, gboolean private_dev)
{
	jail->private_dev = private_dev;
}

/* gives a file the backend made to the jailed user */
gboolean
sbx_jail_chown(SbxJail *jail, const gchar *path, GError **error)
{
	if (jail->uid == 0)
		return TRUE;
	if (lchown(path, jail->uid, jail->gid) != 0) {
		int errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "chown %s: %s", path,
			    g_strerror(errsv));
		return FALSE;
	}
	return TRUE;
}

/* the host's nodes that exist, with their owners and modes */
static void
look_up_dev_nodes(ChildSetup *cs)
{
	for (guint i = 0; i < G_N_ELEMENTS(dev_nodes); i++) {
		DevNode *node = &cs->nodes[cs->n_nodes];
		struct stat st;

		g_snprintf(node->path, sizeof(node->path), "/dev/%s", dev_nodes[i]);
		if (stat(node->path, &st) != 0 || !S_ISCHR(st.st_mode))
			continue;
		node->mode = st.st_mode;
		node->rdev = st.st_rdev;
		node->uid = st.st_uid;
		node->gid = st.st_gid;
		cs->n_nodes++;
	}
}

/* in the child: a fresh tmpfs on /dev with only the nodes looked up */
static gboolean
make_private_dev(const ChildSetup *cs)
{
	umask(0);
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0 ||
	    mkdir("/dev/net", 0755) != 0 || mkdir("/dev/shm", 01777) != 0 ||
	    symlink("/proc/self/fd", "/dev/fd") != 0)
		return FALSE;
	for (guint i = 0; i < cs->n_nodes; i++) {
		const DevNode *node = &cs->nodes[i];
		if (mknod(node->path, node->mode, node->rdev) != 0 ||
		    chown(node->path, node->uid, node->gid) != 0)
			return FALSE;
	}
	return TRUE;
}

static void
child_setup(gpointer user_data)
{
	ChildSetup *cs = user_data;

	/* its own session: a signal to the daemon's group never reaches it, and
	 * it outlives a daemon restart to be adopted */
	setsid();
	for (guint i = 0; i < SBX_JAIL_CGROUP_MAX_FDS && cs->cgroup_fds[i] >= 0; i++)
		if (write(cs->cgroup_fds[i], "0", 1) != 1)
			_exit(126);
	if ((cs->private_tmp || cs->private_dev) &&
	    (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0))
		_exit(126);
	/* a private /tmp: nothing shared with the host or other VMMs */
	if (cs->private_tmp && mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
				     "mode=1777,size=16m") != 0)
		_exit(126);
	if (cs->private_dev && !make_private_dev(cs))
		_exit(126);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		_exit(126);
	if (cs->uid != 0) {
		if (setgroups(1, &cs->gid) != 0 || setgid(cs->gid) != 0 || setuid(cs->uid) != 0)
			_exit(126);
	}
}

gboolean
sbx_jail_spawn(SbxJail *jail, const gchar *name, const gchar *const *argv, const gint *fds,
	       guint n_fds, guint64 memory_max, guint vcpus, GPid *pid, GError **error)
{
	ChildSetup cs = {0};
	gboolean ok;

	cs.uid = jail->uid;
	cs.gid = jail->gid;
	cs.private_tmp = jail->private_tmp;
	cs.private_dev = jail->private_dev;
	for (guint i = 0; i < SBX_JAIL_CGROUP_MAX_FDS; i++)
		cs.cgroup_fds[i] = -1;
	if (cs.private_dev)
		look_up_dev_nodes(&cs);
	if (jail->cgroups != NULL &&
	    !sbx_jail_cgroups_create(jail->cgroups, name, memory_max, vcpus, cs.cgroup_fds, error))
		return FALSE;
	/* every fd but 0-2 (/dev/null) and @fds is closed in the child */
	ok = g_spawn_async_with_pipes_and_fds(
	    NULL, argv, NULL,
	    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL | G_SPAWN_STDOUT_TO_DEV_NULL,
	    child_setup, &cs, -1, -1, -1, fds, fds, n_fds, pid, NULL, NULL, NULL, error);
	for (guint i = 0; i < SBX_JAIL_CGROUP_MAX_FDS; i++)
		if (cs.cgroup_fds[i] >= 0)
			close(cs.cgroup_fds[i]);
	if (!ok)
		sbx_jail_remove_cgroup(jail, name);
	return ok;
}

void
sbx_jail_remove_cgroup(SbxJail *jail, const gchar *name)
{
	if (jail->cgroups != NULL)
		sbx_jail_cgroups_remove(jail->cgroups, name);
}

/* the empty cgroups a crashed daemon left (older than @min_age_sec) */
guint
sbx_jail_sweep_cgroups(SbxJail *jail, guint min_age_sec)
{
	return jail->cgroups != NULL ? sbx_jail_cgroups_sweep(jail->cgroups, min_age_sec) : 0;
}
