/* cloud-hypervisor backend: the guest's copy-on-write root disk.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* `qemu-img create -f qcow2 -b @base -F @format @overlay SIZE` without
 * blocking, SIZE = max(@size, the base's virtual size); mode 0600 */
void sbx_ch_overlay_create_async(const gchar *base, const gchar *format, const gchar *overlay,
				 guint64 size, GCancellable *cancellable,
				 GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_ch_overlay_create_finish(GAsyncResult *res, GError **error);
/* the backing file a qcow2 image names in its header, as an absolute path
 * (a relative name is relative to the image's folder), or NULL: none, or
 * not a qcow2 image */
gchar *sbx_ch_overlay_backing_path(const gchar *image);

G_END_DECLS
