/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sbx-blockdev-chain.h"

#define QCOW2_MAGIC "QFI\xfb"
#define QCOW2_V2_HEADER 72
#define QCOW2_EXT_BACKING_FORMAT 0xE2792ACAu
#define QCOW2_INCOMPAT_DATA_FILE (1u << 2)
/* QEMU's own bound for a backing file name */
#define BACKING_NAME_MAX 1023
/* the header and its extensions live in the first cluster; read no more */
#define HEADER_READ_MAX 65536

void
sbx_blockdev_chain_free(SbxBlockdevChain *chain)
{
	if (chain == NULL)
		return;
	for (guint i = 0; i < chain->n_layers; i++) {
		if (chain->fds[i] >= 0)
			close(chain->fds[i]);
		g_free(chain->formats[i]);
		g_free(chain->paths[i]);
	}
	g_free(chain);
}

static guint64
be(const guint8 *p, guint n)
{
	guint64 v = 0;
	for (guint i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* the backing file's name and format from a qcow2 header, or none */
static gboolean
read_backing(gint fd, const gchar *path, gchar **name, gchar **format, GError **error)
{
	g_autofree guint8 *buf = g_malloc(HEADER_READ_MAX);
	gssize n = pread(fd, buf, HEADER_READ_MAX, 0);
	guint64 offset, ext;
	guint32 size, version;

	*name = *format = NULL;
	if (n < QCOW2_V2_HEADER || memcmp(buf, QCOW2_MAGIC, 4) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s is not a qcow2 image",
			    path);
		return FALSE;
	}
	version = (guint32)be(buf + 4, 4);
	offset = be(buf + 8, 8);
	size = (guint32)be(buf + 16, 4);
	ext = QCOW2_V2_HEADER;
	if (version >= 3) {
		if (n < 104) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: short qcow2 header", path);
			return FALSE;
		}
		/* an external data file would be opened by path: not ours to allow */
		if (be(buf + 72, 8) & QCOW2_INCOMPAT_DATA_FILE) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "%s: qcow2 with an external data file", path);
			return FALSE;
		}
		ext = be(buf + 100, 4);
	}
	if (offset == 0 || size == 0)
		return TRUE;
	if (size > BACKING_NAME_MAX || offset + size > (guint64)n) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: bad backing file name in the qcow2 header", path);
		return FALSE;
	}
	*name = g_strndup((const gchar *)buf + offset, size);
	if (strlen(*name) != size) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: bad backing file name in the qcow2 header", path);
		return FALSE;
	}
	/* the extensions: type, length, data padded to 8 bytes; type 0 ends */
	while (ext + 8 <= (guint64)n) {
		guint32 type = (guint32)be(buf + ext, 4);
		guint32 len = (guint32)be(buf + ext + 4, 4);
		if (type == 0 || ext + 8 + len > (guint64)n)
			break;
		if (type == QCOW2_EXT_BACKING_FORMAT)
			*format = g_strndup((const gchar *)buf + ext + 8, len);
		ext += 8 + ((len + 7) & ~7u);
	}
	if (g_strcmp0(*format, "qcow2") != 0 && g_strcmp0(*format, "raw") != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
			    "%s: the backing file's format is not recorded as qcow2 or raw "
			    "(qemu-img rebase -F)",
			    path);
		return FALSE;
	}
	return TRUE;
}

/* a backing file name, checked: in @dir, nowhere else */
static gchar *
backing_path(const gchar *dir, const gchar *name, const gchar *path, GError **error)
{
	g_autofree gchar *base = g_path_get_basename(name);
	g_autofree gchar *name_dir = g_path_get_dirname(name);

	if (strchr(name, '/') != NULL &&
	    (!g_path_is_absolute(name) || g_strcmp0(name_dir, dir) != 0)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "%s: backing file '%s' is not in the volume's folder", path, name);
		return NULL;
	}
	if (g_strcmp0(base, ".") == 0 || g_strcmp0(base, "..") == 0 || base[0] == '\0') {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "%s: bad backing file name '%s'", path, name);
		return NULL;
	}
	return g_build_filename(dir, base, NULL);
}

static gint
open_layer(const gchar *path, gboolean read_only, GError **error)
{
	gint fd =
	    g_open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) != 0) {
		int errsv = errno;
		if (fd >= 0)
			close(fd);
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "cannot open %s: %s",
			    path, g_strerror(errsv));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
			    "%s is not a regular file", path);
		return -1;
	}
	return fd;
}

SbxBlockdevChain *
sbx_blockdev_chain_open(const gchar *path, const gchar *format, gboolean read_only, GError **error)
{
	g_autoptr(SbxBlockdevChain) chain = g_new0(SbxBlockdevChain, 1);
	g_autofree gchar *dir = g_path_get_dirname(path);
	g_autofree gchar *next = g_strdup(path);
	g_autofree gchar *next_format = g_strdup(format);

	while (next != NULL) {
		guint i = chain->n_layers;
		g_autofree gchar *name = NULL;
		g_autofree gchar *backing_format = NULL;

		if (i == SBX_BLOCKDEV_CHAIN_MAX) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "%s: more than %d backing files", path,
				    SBX_BLOCKDEV_CHAIN_MAX - 1);
			return NULL;
		}
		chain->fds[i] = open_layer(next, read_only || i > 0, error);
		if (chain->fds[i] < 0)
			return NULL;
		chain->paths[i] = g_steal_pointer(&next);
		chain->formats[i] = g_steal_pointer(&next_format);
		chain->n_layers++;
		if (g_strcmp0(chain->formats[i], "qcow2") != 0)
			break;
		if (!read_backing(chain->fds[i], chain->paths[i], &name, &backing_format, error))
			return NULL;
		if (name == NULL)
			break;
		next = backing_path(dir, name, chain->paths[i], error);
		if (next == NULL)
			return NULL;
		next_format = g_steal_pointer(&backing_format);
	}
	return g_steal_pointer(&chain);
}
