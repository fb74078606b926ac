/* libFuzzer target: everything a network client's bytes reach before D-Bus: the
 * JSON-RPC frame decoder, the sandbox config header and SDK sandbox ids.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>

#include "sbx-gw-id.h"
#include "sbx-gw-rpc.h"
#include "sbx-gw-sandbox-config.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
	g_auto(SbxGwRpcMessage) msg = {0};
	g_autofree gchar *text = g_strndup((const gchar *)data, size);
	gint code = 0;
	gint64 id = 0;

	if (sbx_gw_rpc_parse((const gchar *)data, size, &msg, &code, &id, NULL) &&
	    msg.params != NULL) {
		const gchar *s = NULL;
		gint64 n = 0;
		gboolean b = FALSE;
		g_autoptr(GVariant) map = NULL;
		g_autoptr(GPtrArray) array = NULL;
		sbx_gw_rpc_get_string(msg.params, "path", FALSE, &s, NULL);
		sbx_gw_rpc_get_int(msg.params, "streamId", FALSE, &n, NULL);
		sbx_gw_rpc_get_bool(msg.params, "recursive", &b, NULL);
		sbx_gw_rpc_get_string_map(msg.params, "env", &map, NULL);
		sbx_gw_rpc_get_string_array(msg.params, "args", &array, NULL);
	}
	{
		g_autoptr(GVariant) opts = sbx_gw_sandbox_config_parse(text, NULL, 0, NULL);
		g_autofree gchar *sbx_id = sbx_gw_id_from_sdk(text, NULL);
		g_autofree gchar *back = sbx_id != NULL ? sbx_gw_id_to_sdk(sbx_id, "loc") : NULL;
		if (back != NULL && g_strcmp0(back + 8, text + 8) != 0)
			g_error("id mapping is not reversible for %s", text);
	}
	return 0;
}
