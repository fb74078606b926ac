/* sandboxd's errors as the SDK's ErrorObject (class name, message, errno-style code).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* @code may be NULL */
JsonNode *sbx_gw_error_object_new(const gchar *constructor_name, const gchar *message,
				  const gchar *code);
/* a GError from a D-Bus call (org.sandboxd.Error.*) or from the gateway itself */
JsonNode *sbx_gw_error_to_json(const GError *error);
/* the HTTP status a REST answer uses for @error */
guint sbx_gw_error_http_status(const GError *error, const gchar **code);

G_END_DECLS
