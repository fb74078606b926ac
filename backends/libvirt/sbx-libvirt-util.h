/* libvirt backend: small helpers shared by the backend and its tests.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "sbx-vm-spec.h"

G_BEGIN_DECLS

gchar *sbx_libvirt_util_metadata_get(const gchar *metadata, const gchar *element);
gchar *sbx_libvirt_util_metadata_get_console_log(const gchar *metadata);
void sbx_libvirt_util_remove_logs(const gchar *console_log);
gchar *sbx_libvirt_util_domain_log_path(const gchar *uri, const gchar *id);

G_END_DECLS
