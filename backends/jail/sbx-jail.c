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

#include "sbx-jail.h"

struct _SbxJail {
	uid_t uid;
	gid_t gid;
	gchar *cgroup_root; /* our folder in a writable cgroup2 tree, or NULL */
	gboolean private_tmp;
};

/* what the child needs, prepared before fork: after it only syscalls */
typedef struct {
	uid_t uid;
	gid_t gid;
	int cgroup_procs_fd;
	gboolean private_tmp;
} ChildSetup;

static gboolean
cgroup2_usable(const gchar *root)
{
	g_autofree gchar *controllers = g_build_filename(root, "cgroup.controllers", NULL);
	return g_file_test(controllers, G_FILE_TEST_EXISTS) && access(root, W_OK) == 0;
}

SbxJail *
sbx_jail_new(const gchar *user, const gchar *cgroup_root, gboolean private_tmp, GError **error)
{
	g_autoptr(SbxJail) jail = g_new0(SbxJail, 1);

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
	/* cgroup v1 (or a read-only hierarchy): no limits, said once */
	if (cgroup_root != NULL) {
		g_autofree gchar *parent = g_path_get_dirname(cgroup_root);
		if (cgroup2_usable(parent) &&
		    (g_mkdir(cgroup_root, 0755) == 0 || errno == EEXIST)) {
			g_autofree gchar *ctl =
			    g_build_filename(parent, "cgroup.subtree_control", NULL);
			g_autofree gchar *mine =
			    g_build_filename(cgroup_root, "cgroup.subtree_control", NULL);
			/* best effort: a controller the parent lacks is just not used */
			g_file_set_contents(ctl, "+memory +cpu", -1, NULL);
			g_file_set_contents(mine, "+memory +cpu", -1, NULL);
			jail->cgroup_root = g_strdup(cgroup_root);
		} else {
			g_info("jail: no writable cgroup2 hierarchy at %s: VMMs run without "
			       "memory.max and cpu.max",
			       parent);
		}
	}
	return g_steal_pointer(&jail);
}

void
sbx_jail_free(SbxJail *jail)
{
	if (jail == NULL)
		return;
	g_free(jail->cgroup_root);
	g_free(jail);
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
	return jail->cgroup_root != NULL;
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

static void
child_setup(gpointer user_data)
{
	ChildSetup *cs = user_data;

	/* its own session: a signal to the daemon's group never reaches it, and
	 * it outlives a daemon restart to be adopted */
	setsid();
	if (cs->cgroup_procs_fd >= 0 && write(cs->cgroup_procs_fd, "0", 1) != 1)
		_exit(126);
	/* a private /tmp: nothing shared with the host or other VMMs */
	if (cs->private_tmp &&
	    (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	     mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		   "mode=1777,size=16m") != 0))
		_exit(126);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		_exit(126);
	if (cs->uid != 0) {
		if (setgroups(1, &cs->gid) != 0 || setgid(cs->gid) != 0 || setuid(cs->uid) != 0)
			_exit(126);
	}
}

static int
open_cgroup(SbxJail *jail, const gchar *name, guint64 memory_max, guint vcpus, GError **error)
{
	g_autofree gchar *dir = g_build_filename(jail->cgroup_root, name, NULL);
	g_autofree gchar *procs = g_build_filename(dir, "cgroup.procs", NULL);
	g_autofree gchar *mem = g_build_filename(dir, "memory.max", NULL);
	g_autofree gchar *cpu = g_build_filename(dir, "cpu.max", NULL);
	g_autofree gchar *mem_str = g_strdup_printf("%" G_GUINT64_FORMAT, memory_max);
	g_autofree gchar *cpu_str = g_strdup_printf("%u 100000", MAX(vcpus, 1) * 100000);
	int fd;

	if (g_mkdir(dir, 0755) != 0 && errno != EEXIST) {
		int errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "mkdir %s: %s", dir,
			    g_strerror(errsv));
		return -1;
	}
	/* limits are best effort: the parent may not delegate a controller */
	if (memory_max > 0)
		g_file_set_contents(mem, mem_str, -1, NULL);
	g_file_set_contents(cpu, cpu_str, -1, NULL);
	fd = g_open(procs, O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		int errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "open %s: %s", procs,
			    g_strerror(errsv));
		g_rmdir(dir);
	}
	return fd;
}

gboolean
sbx_jail_spawn(SbxJail *jail, const gchar *name, const gchar *const *argv, const gint *fds,
	       guint n_fds, guint64 memory_max, guint vcpus, GPid *pid, GError **error)
{
	ChildSetup cs = {jail->uid, jail->gid, -1, jail->private_tmp};
	gboolean ok;

	if (jail->cgroup_root != NULL) {
		cs.cgroup_procs_fd = open_cgroup(jail, name, memory_max, vcpus, error);
		if (cs.cgroup_procs_fd < 0)
			return FALSE;
	}
	/* every fd but 0-2 (/dev/null) and @fds is closed in the child */
	ok = g_spawn_async_with_pipes_and_fds(
	    NULL, argv, NULL,
	    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL | G_SPAWN_STDOUT_TO_DEV_NULL,
	    child_setup, &cs, -1, -1, -1, fds, fds, n_fds, pid, NULL, NULL, NULL, error);
	if (cs.cgroup_procs_fd >= 0)
		close(cs.cgroup_procs_fd);
	if (!ok && jail->cgroup_root != NULL)
		sbx_jail_remove_cgroup(jail, name);
	return ok;
}

void
sbx_jail_remove_cgroup(SbxJail *jail, const gchar *name)
{
	g_autofree gchar *dir = NULL;

	if (jail->cgroup_root == NULL)
		return;
	dir = g_build_filename(jail->cgroup_root, name, NULL);
	if (g_rmdir(dir) != 0 && errno != ENOENT)
		g_warning("jail: cannot remove cgroup %s: %s", dir, g_strerror(errno));
}
