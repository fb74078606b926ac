/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <string.h>

#include "sbx-error.h"
#include "sbx-image.h"

SbxImage *
sbx_image_new(const gchar *name)
{
	SbxImage *image = g_new0(SbxImage, 1);
	image->name = g_strdup(name);
	return image;
}

void
sbx_image_free(SbxImage *image)
{
	if (image == NULL)
		return;
	g_free(image->name);
	g_free(image->kernel);
	g_free(image->initrd);
	g_free(image->cmdline);
	g_free(image->cmdline_file);
	g_free(image->root_disk);
	g_free(image->root_format);
	g_free(image);
}

SbxImage *
sbx_image_copy(const SbxImage *image)
{
	SbxImage *copy = sbx_image_new(image->name);
	copy->kernel = g_strdup(image->kernel);
	copy->initrd = g_strdup(image->initrd);
	copy->cmdline = g_strdup(image->cmdline);
	copy->cmdline_file = g_strdup(image->cmdline_file);
	copy->root_disk = g_strdup(image->root_disk);
	copy->root_format = g_strdup(image->root_format);
	copy->disk_size_gib = image->disk_size_gib;
	copy->network = image->network;
	return copy;
}

gboolean
sbx_image_name_is_valid(const gchar *name)
{
	gsize len = strlen(name);
	if (len == 0 || len > SBX_IMAGE_NAME_MAX)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(name[i]) && name[i] != '-' && name[i] != '_' && name[i] != '.')
			return FALSE;
	}
	return name[0] != '.';
}

SbxImage *
sbx_image_new_default(const gchar *name)
{
	SbxImage *image = sbx_image_new(name);
	/* the uncompressed PVH kernel when the builder could extract it: no
	 * decompression, no real-mode setup (~0.3-0.5 s of CPU under TCG) */
	image->kernel = g_build_filename(SBX_IMAGEDIR, name, "vmlinux", NULL);
	if (!g_file_test(image->kernel, G_FILE_TEST_IS_REGULAR)) {
		g_free(image->kernel);
		image->kernel = g_build_filename(SBX_IMAGEDIR, name, "vmlinuz", NULL);
	}
	image->initrd = g_build_filename(SBX_IMAGEDIR, name, "initrd.img", NULL);
	image->cmdline_file = g_build_filename(SBX_IMAGEDIR, name, "cmdline", NULL);
	if (g_strcmp0(name, SBX_IMAGE_DEBIAN) == 0) {
		image->root_disk = g_build_filename(SBX_IMAGEDIR, name, "debian.qcow2", NULL);
		image->root_format = g_strdup("qcow2");
		image->network = TRUE;
	}
	return image;
}

static gboolean
cmdline_is_valid(const gchar *cmdline)
{
	for (const gchar *p = cmdline; *p != '\0'; p++) {
		if ((guchar)*p < 0x20 && *p != '\t')
			return FALSE;
	}
	return TRUE;
}

/* one small read; cheap enough for the main loop */
gchar *
sbx_image_resolve_cmdline(const SbxImage *image, GError **error)
{
	g_autofree gchar *contents = NULL;
	gsize len = 0;

	/* the backend checks the kernel and initrd: a test backend boots neither */
	if (image->cmdline != NULL)
		return g_strdup(image->cmdline);
	if (image->cmdline_file == NULL ||
	    !g_file_test(image->cmdline_file, G_FILE_TEST_IS_REGULAR))
		return g_strdup("console=ttyS0");
	if (!g_file_get_contents(image->cmdline_file, &contents, &len, error)) {
		g_prefix_error(error, "image '%s': ", image->name);
		return NULL;
	}
	if (memchr(contents, '\0', len) != NULL) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG, "image '%s': %s is not text",
			    image->name, image->cmdline_file);
		return NULL;
	}
	g_strstrip(contents);
	if (strlen(contents) > SBX_IMAGE_CMDLINE_MAX || !cmdline_is_valid(contents)) {
		g_set_error(error, SBX_ERROR, SBX_ERROR_CONFIG,
			    "image '%s': %s is not a valid kernel command line", image->name,
			    image->cmdline_file);
		return NULL;
	}
	return g_steal_pointer(&contents);
}
