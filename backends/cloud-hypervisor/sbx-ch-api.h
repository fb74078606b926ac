/* cloud-hypervisor backend: the VMM's REST API over its unix socket (libsoup3).
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "sbx-ch-version.h"

G_BEGIN_DECLS

/**
 * SbxChApiError:
 * @SBX_CH_API_ERROR_BAD_REQUEST: 400: bad JSON, wrong method, invalid config (post-v53)
 * @SBX_CH_API_ERROR_NOT_FOUND: 404: no VM created (v53+), unknown device (post-v53)
 * @SBX_CH_API_ERROR_CONFLICT: 409: duplicate device id or path (post-v53)
 * @SBX_CH_API_ERROR_BUSY: 429: a vCPU removal is pending
 * @SBX_CH_API_ERROR_FAILED: 500 or any other status: the VMM refused
 * @SBX_CH_API_ERROR_PROTOCOL: the answer is not what the API document says
 * @SBX_CH_API_ERROR_TOO_OLD: the VMM is older than the configured minimum
 *
 * Errors the VMM reports carry its own message: the error chain of v47+
 * (a JSON array of strings) joined with ": ", or the plain text of older
 * versions. Callers must not rely on 404 versus 500: versions differ.
 */
typedef enum {
	SBX_CH_API_ERROR_BAD_REQUEST,
	SBX_CH_API_ERROR_NOT_FOUND,
	SBX_CH_API_ERROR_CONFLICT,
	SBX_CH_API_ERROR_BUSY,
	SBX_CH_API_ERROR_FAILED,
	SBX_CH_API_ERROR_PROTOCOL,
	SBX_CH_API_ERROR_TOO_OLD,
} SbxChApiError;

#define SBX_CH_API_ERROR (sbx_ch_api_error_quark())
GQuark sbx_ch_api_error_quark(void);

/* the most an answer may hold: the VMM runs next to a hostile guest */
#define SBX_CH_API_REPLY_MAX (1024 * 1024)

#define SBX_TYPE_CH_API (sbx_ch_api_get_type())
G_DECLARE_FINAL_TYPE(SbxChApi, sbx_ch_api, SBX, CH_API, GObject)

SbxChApi *sbx_ch_api_new(const gchar *socket_path, guint timeout_sec);

/* PUT or GET /api/v1/@endpoint with @body (may be %NULL: no body);
 * finishes with the parsed JSON answer, or %NULL for an empty one */
void sbx_ch_api_call_async(SbxChApi *self, const gchar *method, const gchar *endpoint,
			   JsonNode *body, GCancellable *cancellable, GAsyncReadyCallback callback,
			   gpointer user_data);
gboolean sbx_ch_api_call_finish(SbxChApi *self, GAsyncResult *res, JsonNode **reply,
				GError **error);
#define sbx_ch_api_put_async(self, endpoint, body, cancellable, callback, user_data)               \
	sbx_ch_api_call_async(self, "PUT", endpoint, body, cancellable, callback, user_data)

/* GET vmm.ping: the version, refused with %SBX_CH_API_ERROR_TOO_OLD below @minimum */
void sbx_ch_api_ping_async(SbxChApi *self, const SbxChVersion *minimum, GCancellable *cancellable,
			   GAsyncReadyCallback callback, gpointer user_data);
gboolean sbx_ch_api_ping_finish(SbxChApi *self, GAsyncResult *res, SbxChVersion *version,
				GError **error);

/* turns a non-2xx answer into an error (exported for the tests) */
GError *sbx_ch_api_error_from_reply(const gchar *endpoint, guint status, const gchar *body,
				    gsize length);

G_END_DECLS
