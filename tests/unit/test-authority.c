/* the caller's uid: learnt from the bus before a handler runs, and a caller
 * that cannot be named is refused (AccessDenied), never treated as anyone.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <unistd.h>

#include "sbx-authority.h"
#include "sbx-dbus-generated.h"
#include "sbx-error.h"

typedef struct {
	GTestDBus *bus;
	GDBusConnection *server;
	SbxDBusManager1 *iface;
	SbxAuthority *authority;
	/* the gate: the first authorize handler waits here (worker thread) */
	GMutex lock;
	GCond cond;
	gboolean hold;
	gboolean released;
	gint identified; /* -1: not yet, else sbx_authority_identify_call()'s answer */
	guint handled;
	guint handled_uid;
} Fixture;

static gboolean
on_gate(GDBusInterfaceSkeleton *iface, GDBusMethodInvocation *invocation, gpointer user_data)
{
	Fixture *f = user_data;
	gboolean ok;

	g_mutex_lock(&f->lock);
	while (f->hold && !f->released)
		g_cond_wait(&f->cond, &f->lock);
	g_mutex_unlock(&f->lock);
	ok = sbx_authority_identify_call(f->authority, invocation);
	g_mutex_lock(&f->lock);
	f->identified = ok;
	g_cond_broadcast(&f->cond);
	g_mutex_unlock(&f->lock);
	return ok;
}

static gboolean
on_list_regions(SbxDBusManager1 *iface, GDBusMethodInvocation *invocation, gpointer user_data)
{
	Fixture *f = user_data;
	f->handled++;
	f->handled_uid = sbx_authority_get_caller_uid(invocation);
	sbx_dbus_manager1_complete_list_regions(
	    iface, invocation, g_variant_new_array(G_VARIANT_TYPE("(ss)"), NULL, 0));
	return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static GDBusConnection *
connect_client(Fixture *f)
{
	g_autoptr(GError) error = NULL;
	GDBusConnection *c = g_dbus_connection_new_for_address_sync(
	    g_test_dbus_get_bus_address(f->bus),
	    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
		G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
	    NULL, NULL, &error);
	g_assert_no_error(error);
	return c;
}

static void
fixture_setup(Fixture *f, gconstpointer data)
{
	g_autoptr(GError) error = NULL;

	g_mutex_init(&f->lock);
	g_cond_init(&f->cond);
	f->identified = -1;
	f->bus = g_test_dbus_new(G_TEST_DBUS_NONE);
	g_test_dbus_up(f->bus);
	f->server = connect_client(f);
	f->authority = sbx_authority_new(FALSE);
	f->iface = sbx_dbus_manager1_skeleton_new();
	/* the gate runs sbx_authority_identify_call() itself, exactly as
	 * sbx_authority_identify_calls() would, but at a moment the test picks */
	g_signal_connect(f->iface, "g-authorize-method", G_CALLBACK(on_gate), f);
	g_signal_connect(f->iface, "handle-list-regions", G_CALLBACK(on_list_regions), f);
	g_dbus_interface_skeleton_export(G_DBUS_INTERFACE_SKELETON(f->iface), f->server,
					 "/org/sandboxd/Manager1", &error);
	g_assert_no_error(error);
}

static void
fixture_teardown(Fixture *f, gconstpointer data)
{
	g_dbus_interface_skeleton_unexport(G_DBUS_INTERFACE_SKELETON(f->iface));
	g_clear_object(&f->iface);
	g_clear_object(&f->authority);
	g_dbus_connection_close_sync(f->server, NULL, NULL);
	g_clear_object(&f->server);
	/* stop, not down: down unsetenv()s the bus address, not thread-safe here */
	g_test_dbus_stop(f->bus);
	g_clear_object(&f->bus);
	g_cond_clear(&f->cond);
	g_mutex_clear(&f->lock);
}

static void
on_reply(GObject *source, GAsyncResult *res, gpointer user_data)
{
	*(GAsyncResult **)user_data = g_object_ref(res);
}

/* the handler sees the caller's real uid */
static void
test_identified(Fixture *f, gconstpointer data)
{
	g_autoptr(GDBusConnection) client = connect_client(f);
	g_autoptr(GError) error = NULL;
	g_autoptr(GAsyncResult) res = NULL;
	g_autoptr(GVariant) reply = NULL;

	/* async: the handler runs in this thread's main context */
	g_dbus_connection_call(client, g_dbus_connection_get_unique_name(f->server),
			       "/org/sandboxd/Manager1", "org.sandboxd.Manager1", "ListRegions",
			       NULL, G_VARIANT_TYPE("(a(ss))"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL,
			       on_reply, &res);
	while (res == NULL)
		g_main_context_iteration(NULL, TRUE);
	reply = g_dbus_connection_call_finish(client, res, &error);
	g_assert_no_error(error);
	g_assert_nonnull(reply);
	g_assert_cmpint(f->identified, ==, TRUE);
	g_assert_cmpuint(f->handled, ==, 1);
	g_assert_cmpuint(f->handled_uid, ==, getuid());
}

static void
on_vanished(GDBusConnection *connection, const gchar *name, gpointer user_data)
{
	*(gboolean *)user_data = TRUE;
}

/* the caller is gone before its uid is looked up: the lookup fails, the call
 * is refused and the handler never runs (it used to get an "unknown" uid that
 * the ownership rule treats as anyone) */
static void
test_unidentifiable_refused(Fixture *f, gconstpointer data)
{
	g_autoptr(GDBusConnection) client = connect_client(f);
	g_autoptr(GDBusConnection) watcher = connect_client(f);
	g_autoptr(GDBusMessage) msg = g_dbus_message_new_method_call(
	    g_dbus_connection_get_unique_name(f->server), "/org/sandboxd/Manager1",
	    "org.sandboxd.Manager1", "ListRegions");
	g_autoptr(GError) error = NULL;
	gboolean vanished = FALSE;
	guint watch;

	f->hold = TRUE;
	watch = g_bus_watch_name_on_connection(watcher, g_dbus_connection_get_unique_name(client),
					       G_BUS_NAME_WATCHER_FLAGS_NONE, NULL, on_vanished,
					       &vanished, NULL);
	g_dbus_message_set_flags(msg, G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED);
	g_assert_true(g_dbus_connection_send_message(client, msg, G_DBUS_SEND_MESSAGE_FLAGS_NONE,
						     NULL, &error));
	g_assert_no_error(error);
	g_dbus_connection_flush_sync(client, NULL, &error);
	g_assert_no_error(error);
	/* the call reached the server (its worker waits at the gate) before the
	 * caller left: wait for the bus to say it is gone */
	g_dbus_connection_close_sync(client, NULL, NULL);
	while (!vanished)
		g_main_context_iteration(NULL, TRUE);
	g_bus_unwatch_name(watch);

	g_mutex_lock(&f->lock);
	f->released = TRUE;
	g_cond_broadcast(&f->cond);
	while (f->identified == -1)
		g_cond_wait(&f->cond, &f->lock);
	g_mutex_unlock(&f->lock);

	g_assert_cmpint(f->identified, ==, FALSE);
	/* let anything queued run: the handler must still not */
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_cmpuint(f->handled, ==, 0);
}

/* the rule itself: an unidentified bus caller owns nothing */
static void
test_rule(void)
{
	g_assert_true(sbx_authority_may_access(1000, FALSE, 1000));
	g_assert_false(sbx_authority_may_access(1001, FALSE, 1000));
	g_assert_true(sbx_authority_may_access(0, FALSE, 1000));
	g_assert_true(sbx_authority_may_access(1001, TRUE, 1000));
	g_assert_false(sbx_authority_may_access(SBX_UID_NOBODY, FALSE, 1000));
	g_assert_false(sbx_authority_may_access(SBX_UID_NOBODY, FALSE, 0));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/authority/rule", test_rule);
	g_test_add("/authority/identified", Fixture, NULL, fixture_setup, test_identified,
		   fixture_teardown);
	g_test_add("/authority/unidentifiable-refused", Fixture, NULL, fixture_setup,
		   test_unidentifiable_refused, fixture_teardown);
	return g_test_run();
}
