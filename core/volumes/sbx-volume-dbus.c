/* the D-Bus side of volumes: Manager1's volume methods and Volume1's methods,
 * each run as the caller's uid
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include "sbx-authority.h"
#include "sbx-error.h"
#include "sbx-volume-dbus.h"
#include "sbx-volume-manager-private.h"

typedef enum {
	CALL_CREATE,
	CALL_LIST,
	CALL_GET,
	CALL_DELETE,
	CALL_RESIZE,
	CALL_SNAPSHOT,
} CallKind;

typedef struct {
	SbxVolumeManager *manager;
	GDBusMethodInvocation *invocation; /* the handler's one ref */
	CallKind kind;
	SbxVolume *volume; /* Volume1 methods */
	gchar *name;
	GVariant *options;
	guint64 capacity;
	guint uid;
} VolumeCall;

static void
volume_call_free(VolumeCall *call)
{
	g_clear_object(&call->manager);
	g_clear_object(&call->invocation);
	g_clear_object(&call->volume);
	g_free(call->name);
	g_clear_pointer(&call->options, g_variant_unref);
	g_free(call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VolumeCall, volume_call_free)

static void
return_error(VolumeCall *call, GError *error)
{
	g_dbus_method_invocation_return_gerror(g_steal_pointer(&call->invocation), error);
}

static void
on_created(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(VolumeCall) call = user_data;
	g_autoptr(GError) error = NULL;
	g_autoptr(SbxVolume) volume = NULL;

	if (call->kind == CALL_SNAPSHOT)
		volume = sbx_volume_ops_snapshot_finish(call->manager, res, &error);
	else
		volume = sbx_volume_ops_create_finish(call->manager, res, &error);
	if (volume == NULL) {
		return_error(call, error);
		return;
	}
	g_dbus_method_invocation_return_value(
	    g_steal_pointer(&call->invocation),
	    g_variant_new("(o)", sbx_volume_get_object_path(volume)));
}

static void
on_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	g_autoptr(VolumeCall) call = user_data;
	g_autoptr(GError) error = NULL;
	gboolean ok;

	if (call->kind == CALL_DELETE)
		ok = sbx_volume_ops_delete_finish(call->manager, res, &error);
	else
		ok = sbx_volume_ops_resize_finish(call->manager, res, &error);
	if (!ok) {
		return_error(call, error);
		return;
	}
	g_dbus_method_invocation_return_value(g_steal_pointer(&call->invocation), NULL);
}

static void
run_call(VolumeCall *call_in)
{
	g_autoptr(VolumeCall) call = call_in;
	g_autoptr(GError) error = NULL;
	SbxVolumeManager *self = call->manager;

	/* a Volume1 method: only its owner, and only while it still exists */
	if (call->volume != NULL) {
		/* root manages every volume, like every sandbox */
		if (sbx_volume_get_owner(call->volume) != call->uid && call->uid != 0) {
			g_set_error(&error, SBX_ERROR, SBX_ERROR_ACCESS_DENIED,
				    "volume %s belongs to another user",
				    sbx_volume_get_id(call->volume));
			return_error(call, error);
			return;
		}
		if (g_hash_table_lookup(self->volumes, sbx_volume_get_id(call->volume)) !=
		    call->volume) {
			g_set_error(&error, SBX_ERROR, SBX_ERROR_NOT_FOUND, "volume %s is gone",
				    sbx_volume_get_id(call->volume));
			return_error(call, error);
			return;
		}
	}
	switch (call->kind) {
	case CALL_CREATE: {
		VolumeCall *c = g_steal_pointer(&call);
		sbx_volume_ops_create_async(self, c->uid, c->name, c->options, on_created, c);
		return;
	}
	case CALL_SNAPSHOT: {
		VolumeCall *c = g_steal_pointer(&call);
		sbx_volume_ops_snapshot_async(self, c->volume, c->name, c->options, on_created, c);
		return;
	}
	case CALL_DELETE: {
		VolumeCall *c = g_steal_pointer(&call);
		sbx_volume_ops_delete_async(self, c->volume, on_done, c);
		return;
	}
	case CALL_RESIZE: {
		VolumeCall *c = g_steal_pointer(&call);
		sbx_volume_ops_resize_async(self, c->volume, c->capacity, on_done, c);
		return;
	}
	case CALL_LIST: {
		g_auto(GStrv) paths =
		    sbx_volume_manager_list(self, call->uid, call->options, &error);
		if (paths == NULL) {
			return_error(call, error);
			return;
		}
		g_dbus_method_invocation_return_value(
		    g_steal_pointer(&call->invocation),
		    g_variant_new("(^ao)", (const gchar *const *)paths));
		return;
	}
	case CALL_GET: {
		SbxVolume *volume = sbx_volume_manager_lookup(self, call->uid, call->name, &error);
		if (volume == NULL) {
			return_error(call, error);
			return;
		}
		g_dbus_method_invocation_return_value(
		    g_steal_pointer(&call->invocation),
		    g_variant_new("(o)", sbx_volume_get_object_path(volume)));
		return;
	}
	default:
		break;
	}
}

/* takes @call; the caller was identified before the handler ran
 * (sbx_authority_identify_calls() on Manager1 and Volume1), and one it could
 * not name never gets here. A peer-to-peer caller is SBX_UID_UNKNOWN. */
static void
dispatch(VolumeCall *call)
{
	call->uid = sbx_authority_get_caller_uid(call->invocation);
	if (call->uid == SBX_UID_NOBODY) {
		g_autoptr(VolumeCall) owned = call;
		g_autoptr(GError) error =
		    g_error_new(SBX_ERROR, SBX_ERROR_ACCESS_DENIED, "cannot identify the caller");
		return_error(call, error);
		return;
	}
	run_call(call);
}

static VolumeCall *
call_new(SbxVolumeManager *self, GDBusMethodInvocation *invocation, CallKind kind)
{
	VolumeCall *call = g_new0(VolumeCall, 1);
	call->manager = g_object_ref(self);
	call->invocation = invocation;
	call->kind = kind;
	return call;
}

static gboolean
handle_create_volume(SbxDBusManager1 *iface, GDBusMethodInvocation *invocation, const gchar *name,
		     GVariant *options, gpointer user_data)
{
	VolumeCall *call = call_new(user_data, invocation, CALL_CREATE);
	call->name = g_strdup(name);
	call->options = g_variant_ref(options);
	dispatch(call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_list_volumes(SbxDBusManager1 *iface, GDBusMethodInvocation *invocation, GVariant *filter,
		    gpointer user_data)
{
	VolumeCall *call = call_new(user_data, invocation, CALL_LIST);
	call->options = g_variant_ref(filter);
	dispatch(call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_volume(SbxDBusManager1 *iface, GDBusMethodInvocation *invocation,
		  const gchar *id_or_name, gpointer user_data)
{
	VolumeCall *call = call_new(user_data, invocation, CALL_GET);
	call->name = g_strdup(id_or_name);
	dispatch(call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
sbx_volume_dbus_connect_manager(SbxVolumeManager *self, SbxDBusManager1 *iface)
{
	g_signal_connect(iface, "handle-create-volume", G_CALLBACK(handle_create_volume), self);
	g_signal_connect(iface, "handle-list-volumes", G_CALLBACK(handle_list_volumes), self);
	g_signal_connect(iface, "handle-get-volume", G_CALLBACK(handle_get_volume), self);
}

/* Volume1: the handlers hold the volume through the call, not the manager */

static SbxVolumeManager *
manager_of(SbxVolume *volume)
{
	return g_object_get_data(G_OBJECT(volume), "sbx-volume-manager");
}

static gboolean
handle_delete(SbxDBusVolume1 *iface, GDBusMethodInvocation *invocation, gpointer user_data)
{
	SbxVolume *volume = user_data;
	VolumeCall *call = call_new(manager_of(volume), invocation, CALL_DELETE);
	call->volume = g_object_ref(volume);
	dispatch(call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_resize(SbxDBusVolume1 *iface, GDBusMethodInvocation *invocation, guint64 capacity,
	      gpointer user_data)
{
	SbxVolume *volume = user_data;
	VolumeCall *call = call_new(manager_of(volume), invocation, CALL_RESIZE);
	call->volume = g_object_ref(volume);
	call->capacity = capacity;
	dispatch(call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_snapshot(SbxDBusVolume1 *iface, GDBusMethodInvocation *invocation, const gchar *name,
		GVariant *options, gpointer user_data)
{
	SbxVolume *volume = user_data;
	VolumeCall *call = call_new(manager_of(volume), invocation, CALL_SNAPSHOT);
	call->volume = g_object_ref(volume);
	call->name = g_strdup(name);
	call->options = g_variant_ref(options);
	dispatch(call);
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
sbx_volume_dbus_export(SbxVolumeManager *self, SbxVolume *volume)
{
	SbxDBusVolume1 *iface = sbx_volume_get_iface(volume);

	if (g_object_get_data(G_OBJECT(volume), "sbx-volume-manager") == NULL) {
		/* the manager outlives its volumes */
		g_object_set_data(G_OBJECT(volume), "sbx-volume-manager", self);
		sbx_authority_identify_calls(sbx_authority_get_default(),
					     G_DBUS_INTERFACE_SKELETON(iface));
		g_signal_connect(iface, "handle-delete", G_CALLBACK(handle_delete), volume);
		g_signal_connect(iface, "handle-resize", G_CALLBACK(handle_resize), volume);
		g_signal_connect(iface, "handle-snapshot", G_CALLBACK(handle_snapshot), volume);
	}
	if (self->object_manager != NULL)
		g_dbus_object_manager_server_export(
		    self->object_manager, G_DBUS_OBJECT_SKELETON(sbx_volume_get_object(volume)));
}
