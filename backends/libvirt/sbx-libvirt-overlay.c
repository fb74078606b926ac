/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sbx-libvirt-overlay.h"

gboolean
sbx_libvirt_overlay_virtual_size(const gchar *path, const gchar *format, guint64 *size,
				 GError **error)
{
	struct stat st;
	guint8 hdr[32];
	int fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
	gssize n;

	if (fd < 0 || fstat(fd, &st) < 0) {
		int errsv = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "cannot open %s: %s",
			    path, g_strerror(errsv));
		return FALSE;
	}
	if (g_strcmp0(format, "raw") == 0) {
		close(fd);
		*size = (guint64)st.st_size;
		return TRUE;
	}
	n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	/* qcow2: "QFI\xfb", then the virtual size big-endian at offset 24 */
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

gboolean
sbx_libvirt_overlay_create(const gchar *base, const gchar *format, const gchar *overlay,
			   guint64 size, GCancellable *cancellable, GError **error)
{
	g_autoptr(GSubprocess) proc = NULL;
	g_autofree gchar *size_str = g_strdup_printf("%" G_GUINT64_FORMAT, size);
	g_autofree gchar *err_out = NULL;

	proc = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
				error, "qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F",
				format, overlay, size_str, NULL);
	if (proc == NULL) {
		g_prefix_error(error, "qemu-img: ");
		return FALSE;
	}
	if (!g_subprocess_communicate_utf8(proc, NULL, cancellable, NULL, &err_out, error)) {
		g_subprocess_force_exit(proc);
		return FALSE;
	}
	if (!g_subprocess_get_if_exited(proc) || g_subprocess_get_exit_status(proc) != 0) {
		g_unlink(overlay);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "qemu-img create %s failed: %s",
			    overlay, err_out != NULL ? g_strstrip(err_out) : "");
		return FALSE;
	}
	/* QEMU's user gets it through libvirt's relabelling; nobody else */
	if (g_chmod(overlay, 0600) != 0) {
		int errsv = errno;
		g_unlink(overlay);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "chmod %s: %s",
			    overlay, g_strerror(errsv));
		return FALSE;
	}
	return TRUE;
}
