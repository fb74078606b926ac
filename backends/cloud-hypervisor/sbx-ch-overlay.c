/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sbx-ch-overlay.h"

/* raw: the file size; qcow2: the big-endian virtual size at offset 24 */
static gboolean
base_size(const gchar *path, const gchar *format, guint64 *size, GError **error)
{
	guint8 hdr[32];
	struct stat st;
	gint fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
	gssize n = -1;

	if (fd >= 0 && fstat(fd, &st) == 0)
		n = pread(fd, hdr, sizeof(hdr), 0);
	if (n < 0) {
		gint errsv = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "cannot read %s: %s",
			    path, g_strerror(errsv));
		return FALSE;
	}
	close(fd);
	if (g_strcmp0(format, "raw") == 0) {
		*size = (guint64)st.st_size;
		return TRUE;
	}
	if (n != (gssize)sizeof(hdr) || memcmp(hdr, "QFI\xfb", 4) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s is not a qcow2 image",
			    path);
		return FALSE;
	}
	*size = 0;
	for (guint i = 24; i < 32; i++)
		*size = *size << 8 | hdr[i];
	return TRUE;
}

static void
on_communicated(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(GTask) task = user_data;
	GSubprocess *proc = G_SUBPROCESS(source);
	const gchar *overlay = g_task_get_task_data(task);
	g_autofree gchar *err_out = NULL;
	GError *error = NULL;

	if (!g_subprocess_communicate_utf8_finish(proc, res, NULL, &err_out, &error)) {
		g_subprocess_force_exit(proc);
		g_unlink(overlay);
		g_task_return_error(task, error);
		return;
	}
	if (!g_subprocess_get_if_exited(proc) || g_subprocess_get_exit_status(proc) != 0) {
		g_unlink(overlay);
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED,
					"qemu-img create %s failed: %s", overlay,
					err_out != NULL ? g_strstrip(err_out) : "");
		return;
	}
	if (g_chmod(overlay, 0600) != 0) {
		gint errsv = errno;
		g_unlink(overlay);
		g_task_return_new_error(task, G_IO_ERROR, g_io_error_from_errno(errsv),
					"chmod %s: %s", overlay, g_strerror(errsv));
		return;
	}
	g_task_return_boolean(task, TRUE);
}

void
sbx_ch_overlay_create_async(const gchar *base, const gchar *format, const gchar *overlay,
			    guint64 size, GCancellable *cancellable, GAsyncReadyCallback callback,
			    gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(NULL, cancellable, callback, user_data);
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree gchar *size_arg = NULL;
	GError *error = NULL;
	guint64 have = 0;

	g_task_set_source_tag(task, sbx_ch_overlay_create_async);
	g_task_set_task_data(task, g_strdup(overlay), g_free);
	if (format == NULL)
		format = "qcow2";
	if (!base_size(base, format, &have, &error)) {
		g_task_return_error(task, error);
		return;
	}
	size_arg = g_strdup_printf("%" G_GUINT64_FORMAT, MAX(size, have));
	proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
				&error, "qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F",
				format, overlay, size_arg, NULL);
	if (proc == NULL) {
		g_prefix_error(&error, "qemu-img: ");
		g_task_return_error(task, error);
		return;
	}
	g_subprocess_communicate_utf8_async(proc, NULL, cancellable, on_communicated,
					    g_steal_pointer(&task));
}

gboolean
sbx_ch_overlay_create_finish(GAsyncResult *res, GError **error)
{
	return g_task_propagate_boolean(G_TASK(res), error);
}

gchar *
sbx_ch_overlay_backing_path(const gchar *image)
{
	guint8 hdr[20];
	gchar name[1024];
	guint64 offset = 0;
	guint32 size = 0;
	gint fd = g_open(image, O_RDONLY | O_CLOEXEC, 0);
	gboolean ok = fd >= 0 && pread(fd, hdr, sizeof(hdr), 0) == (gssize)sizeof(hdr) &&
		      memcmp(hdr, "QFI\xfb", 4) == 0;

	/* big endian: backing_file_offset at 8, backing_file_size at 16 */
	for (guint i = 8; ok && i < 16; i++)
		offset = offset << 8 | hdr[i];
	for (guint i = 16; ok && i < 20; i++)
		size = size << 8 | hdr[i];
	/* the qcow2 spec caps the name at 1023 bytes */
	ok = ok && offset != 0 && size > 0 && size < sizeof(name) &&
	     pread(fd, name, size, (off_t)offset) == (gssize)size && memchr(name, 0, size) == NULL;
	if (fd >= 0)
		close(fd);
	if (!ok)
		return NULL;
	name[size] = '\0';
	if (g_path_is_absolute(name))
		return g_strdup(name);
	{
		g_autofree gchar *dir = g_path_get_dirname(image);
		return g_build_filename(dir, name, NULL);
	}
}
