/* libvirt backend: the per-sandbox root disk, a qcow2 overlay on the image.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* the virtual size of a qcow2 (header) or raw (file size) image */
gboolean sbx_libvirt_overlay_virtual_size(const gchar *path, const gchar *format, guint64 *size,
					  GError **error);
/* qemu-img create -f qcow2 -b BASE -F FORMAT OVERLAY SIZE (mode 0600); blocks */
gboolean sbx_libvirt_overlay_create(const gchar *base, const gchar *format, const gchar *overlay,
				    guint64 size, GCancellable *cancellable, GError **error);

G_END_DECLS
