/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sbx-qemu-snapshot.h"

/* the snapshot's guest RAM in a sealed memfd: clones map it private
 * (copy-on-write, one page cache for all), and no QEMU can write to it
 * although QEMU 7.2 opens its RAM file read-write */
gint
sbx_qemu_snapshot_memfd_new(const gchar *snapshot_dir, guint64 size, GError **error)
{
	g_autofree gchar *path = g_build_filename(snapshot_dir, SBX_QEMU_SNAPSHOT_MEMORY, NULL);
	int src = g_open(path, O_RDONLY | O_CLOEXEC, 0);
	int fd;
	off_t offset = 0;
	struct stat st;

	if (src < 0 || fstat(src, &st) != 0 || (guint64)st.st_size < size) {
		int errsv = src < 0 ? errno : EINVAL;
		if (src >= 0)
			close(src);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "snapshot memory %s: %s", path, g_strerror(errsv));
		return -1;
	}
	fd = memfd_create("sbx-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
		int errsv = errno;
		close(src);
		if (fd >= 0)
			close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "memfd: %s",
			    g_strerror(errsv));
		return -1;
	}
	/* the page cache to shmem, in the kernel; holes read as zeroes either way */
	while ((guint64)offset < size) {
		gssize n = sendfile(fd, src, &offset, MIN(size - (guint64)offset, 1 << 30));
		if (n <= 0) {
			int errsv = n < 0 ? errno : EIO;
			close(src);
			close(fd);
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
				    "copying %s: %s", path, g_strerror(errsv));
			return -1;
		}
	}
	close(src);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0) {
		int errsv = errno;
		close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "sealing memfd: %s",
			    g_strerror(errsv));
		return -1;
	}
	return fd;
}

/* the bzImage boot protocol: "HdrS" at 0x202, setup sectors at 0x1f1 */
#define BZIMAGE_MAGIC_OFF 0x202
#define BZIMAGE_SETUP_SECTS_OFF 0x1f1
#define BZIMAGE_HEADER_LEN 0x400
/* a page of the kernel after the setup: QEMU reads something there */
#define STUB_KERNEL_TAIL 4096

gchar *
sbx_qemu_snapshot_kernel_for_restore(const gchar *snapshot_dir, const gchar *kernel, GError **error)
{
	g_autofree gchar *stub =
	    g_build_filename(snapshot_dir, SBX_QEMU_SNAPSHOT_KERNEL_STUB, NULL);
	g_autofree gchar *tmp = NULL;
	g_autofree guint8 *buf = NULL;
	guint8 header[BZIMAGE_HEADER_LEN];
	gsize setup_len, len;
	gssize n;
	gint fd;

	if (g_file_test(stub, G_FILE_TEST_IS_REGULAR))
		return g_steal_pointer(&stub);
	fd = g_open(kernel, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		int errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "%s: %s", kernel,
			    g_strerror(errsv));
		return NULL;
	}
	n = pread(fd, header, sizeof(header), 0);
	if (n != (gssize)sizeof(header) || memcmp(header + BZIMAGE_MAGIC_OFF, "HdrS", 4) != 0) {
		close(fd);
		return g_strdup(kernel);
	}
	/* 0 means 4, plus the boot sector */
	setup_len =
	    ((header[BZIMAGE_SETUP_SECTS_OFF] != 0 ? header[BZIMAGE_SETUP_SECTS_OFF] : 4) + 1) *
	    512;
	len = setup_len + STUB_KERNEL_TAIL;
	buf = g_malloc(len);
	n = pread(fd, buf, len, 0);
	close(fd);
	if (n != (gssize)len) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: short bzImage",
			    kernel);
		return NULL;
	}
	/* made aside and renamed: restores running at once never see half of it;
	 * root's and read-only like the rest of the snapshot */
	tmp = g_strdup_printf("%s.%p.tmp", stub, (void *)g_thread_self());
	if (!g_file_set_contents_full(tmp, (const gchar *)buf, (gssize)len,
				      G_FILE_SET_CONTENTS_NONE, 0444, error))
		return NULL;
	if (g_rename(tmp, stub) != 0) {
		int errsv = errno;
		g_unlink(tmp);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "%s: %s", stub,
			    g_strerror(errsv));
		return NULL;
	}
	return g_steal_pointer(&stub);
}

/* a finished snapshot is root's and read-only: clones only read it */
gboolean
sbx_qemu_snapshot_seal(const gchar *snapshot_dir, GError **error)
{
	const gchar *names[] = {SBX_QEMU_SNAPSHOT_MEMORY, SBX_QEMU_SNAPSHOT_STATE,
				SBX_QEMU_SNAPSHOT_DISK, SBX_QEMU_SNAPSHOT_SPEC};

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree gchar *path = g_build_filename(snapshot_dir, names[i], NULL);
		if (!g_file_test(path, G_FILE_TEST_EXISTS))
			continue;
		if (lchown(path, 0, 0) != 0 || g_chmod(path, 0444) != 0) {
			int errsv = errno;
			g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "%s: %s", path,
				    g_strerror(errsv));
			return FALSE;
		}
	}
	return TRUE;
}

#define SPEC_GROUP "qemu"

gboolean
sbx_qemu_snapshot_save_args(const gchar *snapshot_dir, const SbxQemuArgs *args, GError **error)
{
	g_autofree gchar *path = g_build_filename(snapshot_dir, SBX_QEMU_SNAPSHOT_SPEC, NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	const SbxVmSpec *spec = args->spec;

	g_key_file_set_string(kf, SPEC_GROUP, "Binary", args->binary);
	g_key_file_set_string(kf, SPEC_GROUP, "Accel", args->accel);
	g_key_file_set_string(kf, SPEC_GROUP, "Machine", args->machine);
	g_key_file_set_uint64(kf, SPEC_GROUP, "TbSizeMiB", args->tb_size_mib);
	g_key_file_set_uint64(kf, SPEC_GROUP, "MemoryMiB", spec->memory_mib);
	g_key_file_set_uint64(kf, SPEC_GROUP, "VCPUs", spec->vcpus);
	g_key_file_set_string(kf, SPEC_GROUP, "Kernel", spec->kernel);
	if (spec->initrd != NULL)
		g_key_file_set_string(kf, SPEC_GROUP, "Initrd", spec->initrd);
	g_key_file_set_string(kf, SPEC_GROUP, "Cmdline",
			      args->cmdline != NULL ? args->cmdline : "");
	g_key_file_set_boolean(kf, SPEC_GROUP, "Nic", args->nic);
	g_key_file_set_boolean(kf, SPEC_GROUP, "Disk", args->disk != NULL);
	return g_key_file_save_to_file(kf, path, error);
}

void
sbx_qemu_snapshot_args_free(SbxQemuSnapshotArgs *args)
{
	if (args == NULL)
		return;
	g_free(args->binary);
	g_free(args->accel);
	g_free(args->machine);
	g_free(args->cmdline);
	sbx_vm_spec_free(args->spec);
	g_free(args);
}

SbxQemuSnapshotArgs *
sbx_qemu_snapshot_load_args(const gchar *snapshot_dir, GError **error)
{
	g_autofree gchar *path = g_build_filename(snapshot_dir, SBX_QEMU_SNAPSHOT_SPEC, NULL);
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(SbxQemuSnapshotArgs) args = g_new0(SbxQemuSnapshotArgs, 1);
	SbxVmSpec *spec;

	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, error))
		return NULL;
	args->binary = g_key_file_get_string(kf, SPEC_GROUP, "Binary", error);
	if (args->binary == NULL)
		return NULL;
	args->accel = g_key_file_get_string(kf, SPEC_GROUP, "Accel", error);
	if (args->accel == NULL)
		return NULL;
	args->machine = g_key_file_get_string(kf, SPEC_GROUP, "Machine", error);
	if (args->machine == NULL)
		return NULL;
	args->cmdline = g_key_file_get_string(kf, SPEC_GROUP, "Cmdline", error);
	if (args->cmdline == NULL)
		return NULL;
	/* absent (older snapshots): QEMU's default */
	args->tb_size_mib = (guint)g_key_file_get_uint64(kf, SPEC_GROUP, "TbSizeMiB", NULL);
	spec = args->spec = sbx_vm_spec_new();
	spec->memory_mib = (guint)g_key_file_get_uint64(kf, SPEC_GROUP, "MemoryMiB", NULL);
	spec->vcpus = (guint)g_key_file_get_uint64(kf, SPEC_GROUP, "VCPUs", NULL);
	spec->kernel = g_key_file_get_string(kf, SPEC_GROUP, "Kernel", NULL);
	if (spec->memory_mib == 0 || spec->vcpus == 0 || spec->kernel == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: no memory, vCPUs or kernel", path);
		return NULL;
	}
	spec->id = g_strdup("sbxfloor");
	spec->initrd = g_key_file_get_string(kf, SPEC_GROUP, "Initrd", NULL);
	if (g_key_file_get_boolean(kf, SPEC_GROUP, "Disk", NULL))
		spec->root_disk = g_build_filename(snapshot_dir, SBX_QEMU_SNAPSHOT_DISK, NULL);
	spec->network = g_key_file_get_boolean(kf, SPEC_GROUP, "Nic", NULL);
	return g_steal_pointer(&args);
}
