/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sbx-jail-cgroups.h"

/* one hierarchy the jailed processes join */
typedef struct {
	gchar *controller; /* v1: memory, cpu or pids; v2: NULL (all of them) */
	gchar *dir;	   /* the root's folder in it */
} Hierarchy;

struct _SbxJailCgroups {
	GPtrArray *hierarchies; /* Hierarchy, at most SBX_JAIL_CGROUP_MAX_FDS - 1 */
	gchar *description;
};

static const gchar *const v1_controllers[] = {"memory", "cpu", "pids"};

static void
hierarchy_free(Hierarchy *h)
{
	g_free(h->controller);
	g_free(h->dir);
	g_free(h);
}

static gboolean
make_dir(const gchar *dir)
{
	return g_mkdir(dir, 0755) == 0 || errno == EEXIST;
}

/* cgroup files take one write(2) in place: no temporary file, no rename
 * (g_file_set_contents() cannot write them) */
static gboolean
write_value(const gchar *path, const gchar *value, GError **error)
{
	gsize len = strlen(value);
	int fd = g_open(path, O_WRONLY | O_CLOEXEC, 0);
	gboolean ok = fd >= 0 && write(fd, value, len) == (gssize)len;
	int errsv = errno;

	if (fd >= 0)
		close(fd);
	if (!ok)
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "write %s to %s: %s",
			    value, path, g_strerror(errsv));
	return ok;
}

static gboolean
cgroup2_usable(const gchar *root)
{
	g_autofree gchar *controllers = g_build_filename(root, "cgroup.controllers", NULL);
	return g_file_test(controllers, G_FILE_TEST_EXISTS) && access(root, W_OK) == 0;
}

/* one controller per write: a controller the parent lacks fails alone */
static void
enable_controllers(const gchar *dir)
{
	g_autofree gchar *ctl = g_build_filename(dir, "cgroup.subtree_control", NULL);
	const gchar *const wanted[] = {"+memory", "+cpu", "+pids"};

	for (guint i = 0; i < G_N_ELEMENTS(wanted); i++)
		write_value(ctl, wanted[i], NULL);
}

static void
add_hierarchy(SbxJailCgroups *self, const gchar *controller, const gchar *dir)
{
	Hierarchy *h = g_new0(Hierarchy, 1);
	h->controller = g_strdup(controller);
	h->dir = g_strdup(dir);
	g_ptr_array_add(self->hierarchies, h);
}

SbxJailCgroups *
sbx_jail_cgroups_new(const gchar *root)
{
	g_autoptr(SbxJailCgroups) self = g_new0(SbxJailCgroups, 1);
	g_autofree gchar *parent = g_path_get_dirname(root);
	g_autofree gchar *name = g_path_get_basename(root);
	g_autoptr(GString) v1 = g_string_new(NULL);

	self->hierarchies = g_ptr_array_new_with_free_func((GDestroyNotify)hierarchy_free);
	if (cgroup2_usable(parent) && make_dir(root)) {
		enable_controllers(parent);
		enable_controllers(root);
		add_hierarchy(self, NULL, root);
		self->description = g_strdup_printf("cgroup2 %s", root);
		return g_steal_pointer(&self);
	}
	/* a v1 (or hybrid) host: each controller has its own tree beside it */
	for (guint i = 0; i < G_N_ELEMENTS(v1_controllers); i++) {
		g_autofree gchar *base = g_build_filename(parent, v1_controllers[i], NULL);
		g_autofree gchar *procs = g_build_filename(base, "cgroup.procs", NULL);
		g_autofree gchar *dir = g_build_filename(base, name, NULL);

		if (!g_file_test(procs, G_FILE_TEST_EXISTS) || access(base, W_OK) != 0 ||
		    !make_dir(dir))
			continue;
		add_hierarchy(self, v1_controllers[i], dir);
		g_string_append_printf(v1, "%s%s", v1->len > 0 ? ", " : "", dir);
	}
	if (self->hierarchies->len == 0)
		return NULL;
	self->description = g_strdup_printf("cgroup v1 %s", v1->str);
	return g_steal_pointer(&self);
}

void
sbx_jail_cgroups_free(SbxJailCgroups *self)
{
	if (self == NULL)
		return;
	g_ptr_array_unref(self->hierarchies);
	g_free(self->description);
	g_free(self);
}

const gchar *
sbx_jail_cgroups_describe(SbxJailCgroups *self)
{
	return self->description;
}

static void
set_limit(const gchar *dir, const gchar *file, const gchar *value)
{
	g_autofree gchar *path = g_build_filename(dir, file, NULL);
	g_autoptr(GError) error = NULL;

	/* best effort: the parent may not delegate a controller */
	if (!write_value(path, value, &error))
		g_debug("jail: %s", error->message);
}

static void
set_limits(const Hierarchy *h, const gchar *dir, guint64 memory_max, guint vcpus)
{
	g_autofree gchar *mem = g_strdup_printf("%" G_GUINT64_FORMAT, memory_max);
	g_autofree gchar *quota = g_strdup_printf("%u", MAX(vcpus, 1) * 100000);
	g_autofree gchar *cpu_max = g_strdup_printf("%s 100000", quota);
	g_autofree gchar *pids = g_strdup_printf("%u", SBX_JAIL_PIDS_MAX);

	if (h->controller == NULL) {
		if (memory_max > 0)
			set_limit(dir, "memory.max", mem);
		set_limit(dir, "cpu.max", cpu_max);
		set_limit(dir, "pids.max", pids);
	} else if (g_str_equal(h->controller, "memory")) {
		if (memory_max > 0)
			set_limit(dir, "memory.limit_in_bytes", mem);
	} else if (g_str_equal(h->controller, "cpu")) {
		set_limit(dir, "cpu.cfs_period_us", "100000");
		set_limit(dir, "cpu.cfs_quota_us", quota);
	} else if (g_str_equal(h->controller, "pids")) {
		set_limit(dir, "pids.max", pids);
	}
}

gboolean
sbx_jail_cgroups_create(SbxJailCgroups *self, const gchar *name, guint64 memory_max, guint vcpus,
			int fds[SBX_JAIL_CGROUP_MAX_FDS], GError **error)
{
	guint i;

	for (i = 0; i < SBX_JAIL_CGROUP_MAX_FDS; i++)
		fds[i] = -1;
	for (i = 0; i < self->hierarchies->len; i++) {
		const Hierarchy *h = g_ptr_array_index(self->hierarchies, i);
		g_autofree gchar *dir = g_build_filename(h->dir, name, NULL);
		g_autofree gchar *procs = g_build_filename(dir, "cgroup.procs", NULL);

		if (!make_dir(dir)) {
			int errsv = errno;
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "mkdir %s: %s",
				    dir, g_strerror(errsv));
			break;
		}
		set_limits(h, dir, memory_max, vcpus);
		fds[i] = g_open(procs, O_WRONLY | O_CLOEXEC, 0);
		if (fds[i] < 0) {
			int errsv = errno;
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "open %s: %s",
				    procs, g_strerror(errsv));
			break;
		}
	}
	if (i == self->hierarchies->len)
		return TRUE;
	for (i = 0; i < SBX_JAIL_CGROUP_MAX_FDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	sbx_jail_cgroups_remove(self, name);
	for (i = 0; i < SBX_JAIL_CGROUP_MAX_FDS; i++)
		fds[i] = -1;
	return FALSE;
}

GStrv
sbx_jail_cgroups_dirs(SbxJailCgroups *self, const gchar *name)
{
	g_autoptr(GStrvBuilder) dirs = g_strv_builder_new();

	for (guint i = 0; i < self->hierarchies->len; i++) {
		const Hierarchy *h = g_ptr_array_index(self->hierarchies, i);
		g_autofree gchar *dir = g_build_filename(h->dir, name, NULL);
		g_strv_builder_add(dirs, dir);
	}
	return g_strv_builder_end(dirs);
}

void
sbx_jail_cgroups_remove(SbxJailCgroups *self, const gchar *name)
{
	g_auto(GStrv) dirs = sbx_jail_cgroups_dirs(self, name);

	for (guint i = 0; dirs[i] != NULL; i++)
		if (g_rmdir(dirs[i]) != 0 && errno != ENOENT)
			g_warning("jail: cannot remove cgroup %s: %s", dirs[i], g_strerror(errno));
}
