/* a guest image: what a sandbox boots.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* longest image name, and the longest kernel command line we pass on */
#define SBX_IMAGE_NAME_MAX 64
#define SBX_IMAGE_CMDLINE_MAX 4096

typedef struct {
	gchar *name;
	gchar *kernel;	     /* absolute path */
	gchar *initrd;	     /* absolute path or NULL */
	gchar *cmdline;	     /* from the config, or NULL to read cmdline_file */
	gchar *cmdline_file; /* absolute path or NULL */
} SbxImage;

SbxImage *sbx_image_new(const gchar *name);
void sbx_image_free(SbxImage *image);
SbxImage *sbx_image_copy(const SbxImage *image);
gboolean sbx_image_name_is_valid(const gchar *name);

/* the built-in image: SBX_IMAGEDIR/<name>/{vmlinuz,initrd.img,cmdline} */
SbxImage *sbx_image_new_default(const gchar *name);

/* the command line to boot with: Cmdline=, else the cmdline file, else a default */
gchar *sbx_image_resolve_cmdline(const SbxImage *image, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxImage, sbx_image_free)

G_END_DECLS
