/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#ifdef HAVE_POLKIT
#include <polkit/polkit.h>
#endif

#include "sbx-authority.h"
#include "sbx-dbus-generated.h"
#include "sbx-error.h"

struct _SbxAuthority {
	GObject parent_instance;
	gboolean use_polkit;
	GMutex lock;
#ifdef HAVE_POLKIT
	PolkitAuthority *polkit; /* NULL until first needed */
	gboolean polkit_failed;
#endif
};

G_DEFINE_TYPE(SbxAuthority, sbx_authority, G_TYPE_OBJECT)

#define CALLER_UID_KEY "sbx-caller-uid"
#define CALLER_ADMIN_KEY "sbx-caller-admin"

static void
sbx_authority_finalize(GObject *object)
{
	SbxAuthority *self = SBX_AUTHORITY(object);
#ifdef HAVE_POLKIT
	g_clear_object(&self->polkit);
#endif
	g_mutex_clear(&self->lock);
	G_OBJECT_CLASS(sbx_authority_parent_class)->finalize(object);
}

static void
sbx_authority_class_init(SbxAuthorityClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = sbx_authority_finalize;
}

static void
sbx_authority_init(SbxAuthority *self)
{
	g_mutex_init(&self->lock);
}

SbxAuthority *
sbx_authority_new(gboolean use_polkit)
{
	SbxAuthority *self = g_object_new(SBX_TYPE_AUTHORITY, NULL);
#ifdef HAVE_POLKIT
	self->use_polkit = use_polkit;
#else
	if (use_polkit)
		g_debug("built without polkit: only root manages every sandbox");
#endif
	return self;
}

gboolean
sbx_authority_get_use_polkit(SbxAuthority *self)
{
	return self->use_polkit;
}

void
sbx_authority_set_use_polkit(SbxAuthority *self, gboolean use_polkit)
{
	g_return_if_fail(SBX_IS_AUTHORITY(self));
#ifdef HAVE_POLKIT
	self->use_polkit = use_polkit;
#endif
}

SbxAuthority *
sbx_authority_get_default(void)
{
	static gsize once = 0;
	static SbxAuthority *authority = NULL;
	if (g_once_init_enter(&once)) {
		authority = sbx_authority_new(FALSE);
		g_once_init_leave(&once, 1);
	}
	return authority;
}

gboolean
sbx_authority_may_access(guint caller_uid, gboolean caller_is_admin, guint owner_uid)
{
	if (caller_is_admin || caller_uid == 0)
		return TRUE;
	/* a peer-to-peer connection has no uid to compare: whoever made it owns all */
	if (owner_uid == SBX_UID_UNKNOWN)
		return TRUE;
	return caller_uid == owner_uid;
}

/* blocking: worker threads only */
static gboolean
lookup_caller_uid(GDBusMethodInvocation *invocation, guint *uid, GError **error)
{
	const gchar *sender = g_dbus_method_invocation_get_sender(invocation);
	g_autoptr(GVariant) reply = NULL;

	if (sender == NULL) {
		*uid = SBX_UID_UNKNOWN;
		return TRUE;
	}
	reply = g_dbus_connection_call_sync(g_dbus_method_invocation_get_connection(invocation),
					    "org.freedesktop.DBus", "/org/freedesktop/DBus",
					    "org.freedesktop.DBus", "GetConnectionUnixUser",
					    g_variant_new("(s)", sender), G_VARIANT_TYPE("(u)"),
					    G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
	if (reply == NULL)
		return FALSE;
	g_variant_get(reply, "(u)", uid);
	return TRUE;
}

/* blocking: worker threads only */
static gboolean
check_admin(SbxAuthority *self, GDBusMethodInvocation *invocation, guint uid)
{
#ifdef HAVE_POLKIT
	g_autoptr(GError) error = NULL;
	g_autoptr(PolkitSubject) subject = NULL;
	g_autoptr(PolkitAuthorizationResult) result = NULL;
	g_autoptr(PolkitAuthority) polkit = NULL;
	PolkitCheckAuthorizationFlags flags = POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE;
	GDBusMessage *message = g_dbus_method_invocation_get_message(invocation);
	const gchar *sender = g_dbus_method_invocation_get_sender(invocation);
#endif

	if (uid == 0)
		return TRUE;
#ifdef HAVE_POLKIT
	if (!self->use_polkit || sender == NULL)
		return FALSE;
	g_mutex_lock(&self->lock);
	if (self->polkit == NULL && !self->polkit_failed) {
		self->polkit = polkit_authority_get_sync(NULL, &error);
		if (self->polkit == NULL) {
			g_warning("polkit is not available, only root manages every sandbox: %s",
				  error->message);
			self->polkit_failed = TRUE;
			g_clear_error(&error);
		}
	}
	if (self->polkit != NULL)
		polkit = g_object_ref(self->polkit);
	g_mutex_unlock(&self->lock);
	if (polkit == NULL)
		return FALSE;

	/* only a caller that asked for it may be prompted */
	if (g_dbus_message_get_flags(message) &
	    G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION)
		flags |= POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION;
	subject = polkit_system_bus_name_new(sender);
	result = polkit_authority_check_authorization_sync(
	    polkit, subject, SBX_POLKIT_ACTION_MANAGE_ALL, NULL, flags, NULL, &error);
	if (result == NULL) {
		g_debug("polkit check for uid %u failed: %s", uid, error->message);
		return FALSE;
	}
	return polkit_authorization_result_get_is_authorized(result);
#else
	return FALSE;
#endif
}

/* --- sandbox objects ------------------------------------------------------ */

typedef struct {
	SbxAuthority *authority;
	guint owner_uid;
	gboolean from_property; /* Sandbox1.OwnerUid */
} Guard;

/* any thread: skeleton properties are locked */
static guint
guard_owner(Guard *guard, GDBusObjectSkeleton *object)
{
	g_autoptr(GDBusInterface) iface = NULL;
	if (!guard->from_property)
		return guard->owner_uid;
	iface = g_dbus_object_get_interface(G_DBUS_OBJECT(object), "org.sandboxd.Sandbox1");
	if (iface == NULL)
		return 0;
	return sbx_dbus_sandbox1_get_owner_uid(SBX_DBUS_SANDBOX1(iface));
}

static void
guard_free(gpointer data, GClosure *closure)
{
	Guard *guard = data;
	g_object_unref(guard->authority);
	g_free(guard);
}

/* runs in a worker thread; a FALSE return must answer the call */
static gboolean
on_authorize_object_method(GDBusObjectSkeleton *object, GDBusInterfaceSkeleton *iface,
			   GDBusMethodInvocation *invocation, gpointer user_data)
{
	Guard *guard = user_data;
	g_autoptr(GError) error = NULL;
	guint uid = SBX_UID_UNKNOWN;
	guint owner = guard_owner(guard, object);

	if (!lookup_caller_uid(invocation, &uid, &error)) {
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_ACCESS_DENIED,
		    "cannot identify the caller: %s", error->message);
		return FALSE;
	}
	if (sbx_authority_may_access(uid, FALSE, owner))
		return TRUE;
	if (check_admin(guard->authority, invocation, uid))
		return TRUE;
	g_debug("uid %u denied %s.%s on %s (owner uid %u)", uid,
		g_dbus_method_invocation_get_interface_name(invocation),
		g_dbus_method_invocation_get_method_name(invocation),
		g_dbus_method_invocation_get_object_path(invocation), owner);
	g_dbus_method_invocation_return_error(invocation, SBX_ERROR, SBX_ERROR_ACCESS_DENIED,
					      "%s belongs to another user (needs root or the "
					      "polkit action " SBX_POLKIT_ACTION_MANAGE_ALL ")",
					      g_dbus_method_invocation_get_object_path(invocation));
	return FALSE;
}

void
sbx_authority_guard_object(SbxAuthority *self, GDBusObjectSkeleton *object, guint owner_uid)
{
	Guard *guard = g_new0(Guard, 1);

	g_return_if_fail(SBX_IS_AUTHORITY(self));
	guard->authority = g_object_ref(self);
	guard->owner_uid = owner_uid;
	g_signal_connect_data(object, "authorize-method", G_CALLBACK(on_authorize_object_method),
			      guard, guard_free, 0);
}

void
sbx_authority_guard_sandbox_object(SbxAuthority *self, GDBusObjectSkeleton *object)
{
	Guard *guard = g_new0(Guard, 1);

	g_return_if_fail(SBX_IS_AUTHORITY(self));
	guard->authority = g_object_ref(self);
	guard->from_property = TRUE;
	g_signal_connect_data(object, "authorize-method", G_CALLBACK(on_authorize_object_method),
			      guard, guard_free, 0);
}

/* --- the manager ---------------------------------------------------------- */

gboolean
sbx_authority_identify_call(SbxAuthority *self, GDBusMethodInvocation *invocation)
{
	const gchar *method = g_dbus_method_invocation_get_method_name(invocation);
	g_autoptr(GError) error = NULL;
	guint uid = SBX_UID_NOBODY;
	gboolean admin = FALSE;

	g_return_val_if_fail(SBX_IS_AUTHORITY(self), FALSE);
	/* fail closed: a caller we cannot name gets nothing, not an "unknown" uid */
	if (!lookup_caller_uid(invocation, &uid, &error)) {
		g_debug("cannot identify the caller of %s: %s", method, error->message);
		g_dbus_method_invocation_return_error(
		    invocation, SBX_ERROR, SBX_ERROR_ACCESS_DENIED,
		    "cannot identify the caller: %s", error->message);
		return FALSE;
	}
	if (g_strcmp0(method, "CreateSandbox") != 0 && g_strcmp0(method, "ListRegions") != 0)
		admin = uid != SBX_UID_UNKNOWN && check_admin(self, invocation, uid);
	/* the handler runs later in the main thread and reads these */
	g_object_set_data_full(G_OBJECT(invocation), CALLER_UID_KEY, g_memdup2(&uid, sizeof(uid)),
			       g_free);
	g_object_set_data(G_OBJECT(invocation), CALLER_ADMIN_KEY, GINT_TO_POINTER(admin));
	return TRUE;
}

static gboolean
on_identify_method(GDBusInterfaceSkeleton *iface, GDBusMethodInvocation *invocation,
		   gpointer user_data)
{
	return sbx_authority_identify_call(SBX_AUTHORITY(user_data), invocation);
}

void
sbx_authority_identify_calls(SbxAuthority *self, GDBusInterfaceSkeleton *iface)
{
	g_return_if_fail(SBX_IS_AUTHORITY(self));
	g_signal_connect_object(iface, "g-authorize-method", G_CALLBACK(on_identify_method), self,
				0);
}

guint
sbx_authority_get_caller_uid(GDBusMethodInvocation *invocation)
{
	const guint *uid = g_object_get_data(G_OBJECT(invocation), CALLER_UID_KEY);
	if (uid != NULL)
		return *uid;
	/* never identified over a bus: nobody (a peer-to-peer call has no uid) */
	return g_dbus_method_invocation_get_sender(invocation) != NULL ? SBX_UID_NOBODY
								       : SBX_UID_UNKNOWN;
}

gboolean
sbx_authority_get_caller_is_admin(GDBusMethodInvocation *invocation)
{
	return GPOINTER_TO_INT(g_object_get_data(G_OBJECT(invocation), CALLER_ADMIN_KEY)) ||
	       sbx_authority_get_caller_uid(invocation) == 0;
}
