/* a sandbox while sockets use it; its lifetime belongs to sandboxd.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "sbx-gw-conn.h"
#include "sbx-gw-id.h"
#include "sbx-gw-sandbox.h"

G_DEFINE_TYPE(SbxGwSandbox, sbx_gw_sandbox, G_TYPE_OBJECT)

static void
sbx_gw_sandbox_dispose(GObject *object)
{
	SbxGwSandbox *self = SBX_GW_SANDBOX(object);
	g_clear_pointer(&self->processes, g_hash_table_unref);
	g_clear_object(&self->proxy);
	G_OBJECT_CLASS(sbx_gw_sandbox_parent_class)->dispose(object);
}

static void
sbx_gw_sandbox_finalize(GObject *object)
{
	SbxGwSandbox *self = SBX_GW_SANDBOX(object);
	g_ptr_array_unref(self->conns);
	g_free(self->sbx_id);
	g_free(self->sdk_id);
	G_OBJECT_CLASS(sbx_gw_sandbox_parent_class)->finalize(object);
}

static void
sbx_gw_sandbox_class_init(SbxGwSandboxClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = sbx_gw_sandbox_dispose;
	G_OBJECT_CLASS(klass)->finalize = sbx_gw_sandbox_finalize;
}

static void
sbx_gw_sandbox_init(SbxGwSandbox *self)
{
	self->conns = g_ptr_array_new();
	self->processes = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
						(GDestroyNotify)sbx_gw_process_free);
}

SbxGwSandbox *
sbx_gw_sandbox_get(SbxGwServer *server, SbxDBusSandbox1 *proxy)
{
	const gchar *id = sbx_dbus_sandbox1_get_id(proxy);
	SbxGwSandbox *self;

	self = g_hash_table_lookup(server->sandboxes, id != NULL ? id : "");
	if (self != NULL)
		return g_object_ref(self);
	self = g_object_new(SBX_GW_TYPE_SANDBOX, NULL);
	self->server = server;
	self->sbx_id = g_strdup(id);
	self->sdk_id = sbx_gw_id_to_sdk(id, server->config->region);
	self->proxy = g_object_ref(proxy);
	self->session = sbx_dbus_sandbox1_get_expires_at(proxy) == 0;
	g_hash_table_insert(server->sandboxes, g_strdup(id), g_object_ref(self));
	return self;
}

void
sbx_gw_sandbox_add_conn(SbxGwSandbox *self, SbxGwConn *conn)
{
	g_ptr_array_add(self->conns, conn);
}

static void
on_killed(GObject *source, GAsyncResult *res, gpointer data)
{
	g_autoptr(SbxGwSandbox) self = data;
	g_autoptr(GError) error = NULL;
	if (!sbx_dbus_sandbox1_call_kill_finish(SBX_DBUS_SANDBOX1(source), res, &error))
		g_message("sandbox %s: ending the session failed: %s", self->sdk_id,
			  error->message);
}

void
sbx_gw_sandbox_remove_conn(SbxGwSandbox *self, SbxGwConn *conn)
{
	gboolean was_creator = self->creator == conn;

	g_ptr_array_remove(self->conns, conn);
	if (was_creator)
		self->creator = NULL;
	/* "session": the sandbox ends with the socket that created it */
	if (was_creator && self->session && !self->gone) {
		g_message("sandbox %s: its creating socket closed, ending it", self->sdk_id);
		self->gone = TRUE;
		sbx_dbus_sandbox1_call_kill(self->proxy, NULL, on_killed, g_object_ref(self));
		sbx_gw_sandbox_gone(self, "the sandbox's session ended");
	}
	if (self->conns->len == 0)
		g_hash_table_remove(self->server->sandboxes, self->sbx_id);
}

void
sbx_gw_sandbox_gone(SbxGwSandbox *self, const gchar *reason)
{
	g_autoptr(GPtrArray) conns = g_ptr_array_new_with_free_func(g_object_unref);

	self->gone = TRUE;
	for (guint i = 0; i < self->conns->len; i++)
		g_ptr_array_add(conns, g_object_ref(g_ptr_array_index(self->conns, i)));
	for (guint i = 0; i < conns->len; i++)
		sbx_gw_conn_close(g_ptr_array_index(conns, i), SOUP_WEBSOCKET_CLOSE_NORMAL, reason);
}
