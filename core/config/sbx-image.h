/* a guest image: what a sandbox boots.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* longest image name, and the longest kernel command line we pass on */
#define SBX_IMAGE_NAME_MAX 64
#define SBX_IMAGE_CMDLINE_MAX 4096
/* the built-in image names */
#define SBX_IMAGE_MINIMAL "minimal"
#define SBX_IMAGE_DEBIAN "debian"

typedef struct {
	gchar *name;
	gchar *kernel;	     /* absolute path */
	gchar *initrd;	     /* absolute path or NULL */
	gchar *cmdline;	     /* from the config, or NULL to read cmdline_file */
	gchar *cmdline_file; /* absolute path or NULL */
	gchar *root_disk;    /* read-only base disk (absolute path) or NULL: initramfs only */
	gchar *root_format;  /* "qcow2" or "raw" */
	guint disk_size_gib; /* the sandbox's disk; 0: [limits] DiskSizeGiB */
	gboolean network;    /* outbound network (default: when it has a root disk) */
} SbxImage;

SbxImage *sbx_image_new(const gchar *name);
void sbx_image_free(SbxImage *image);
SbxImage *sbx_image_copy(const SbxImage *image);
gboolean sbx_image_name_is_valid(const gchar *name);

/* the built-in images: SBX_IMAGEDIR/<name>/{vmlinuz,initrd.img,cmdline}, and
 * for "debian" also SBX_IMAGEDIR/debian/debian.qcow2 (image/build-debian.sh) */
SbxImage *sbx_image_new_default(const gchar *name);

/* the command line to boot with: Cmdline=, else the cmdline file, else a default */
gchar *sbx_image_resolve_cmdline(const SbxImage *image, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxImage, sbx_image_free)

G_END_DECLS
