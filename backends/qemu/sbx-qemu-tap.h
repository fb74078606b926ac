/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gchar *sbx_qemu_tap_name(const gchar *id);
gint sbx_qemu_tap_open(const gchar *name, const gchar *bridge, GError **error);

G_END_DECLS
