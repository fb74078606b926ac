/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sbx-egress-resolver.h"
#include "sbx-egress-sniff.h"

struct _SbxEgressResolver {
	GResolver parent_instance;
	GHashTable *names; /* name -> GInetAddress */
};

G_DEFINE_TYPE(SbxEgressResolver, sbx_egress_resolver, G_TYPE_RESOLVER)

static GList *
lookup(SbxEgressResolver *self, const gchar *hostname, GError **error)
{
	g_autofree gchar *name = sbx_egress_sniff_normalize_host(hostname, strlen(hostname));
	GInetAddress *addr = name != NULL ? g_hash_table_lookup(self->names, name) : NULL;

	if (addr == NULL) {
		g_set_error(error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
			    "%s: not in the test table", hostname);
		return NULL;
	}
	return g_list_prepend(NULL, g_object_ref(addr));
}

static GList *
resolver_lookup_by_name(GResolver *resolver, const gchar *hostname, GCancellable *cancellable,
			GError **error)
{
	return lookup(SBX_EGRESS_RESOLVER(resolver), hostname, error);
}

static void
resolver_lookup_by_name_async(GResolver *resolver, const gchar *hostname, GCancellable *cancellable,
			      GAsyncReadyCallback callback, gpointer user_data)
{
	g_autoptr(GTask) task = g_task_new(resolver, cancellable, callback, user_data);
	GError *error = NULL;
	GList *addresses = lookup(SBX_EGRESS_RESOLVER(resolver), hostname, &error);

	if (addresses == NULL)
		g_task_return_error(task, error);
	else
		g_task_return_pointer(task, addresses, (GDestroyNotify)g_resolver_free_addresses);
}

static GList *
resolver_lookup_by_name_finish(GResolver *resolver, GAsyncResult *result, GError **error)
{
	return g_task_propagate_pointer(G_TASK(result), error);
}

static void
resolver_lookup_by_name_with_flags_async(GResolver *resolver, const gchar *hostname,
					 GResolverNameLookupFlags flags, GCancellable *cancellable,
					 GAsyncReadyCallback callback, gpointer user_data)
{
	resolver_lookup_by_name_async(resolver, hostname, cancellable, callback, user_data);
}

static void
sbx_egress_resolver_finalize(GObject *object)
{
	SbxEgressResolver *self = SBX_EGRESS_RESOLVER(object);

	g_hash_table_unref(self->names);
	G_OBJECT_CLASS(sbx_egress_resolver_parent_class)->finalize(object);
}

static void
sbx_egress_resolver_class_init(SbxEgressResolverClass *klass)
{
	GResolverClass *resolver_class = G_RESOLVER_CLASS(klass);

	G_OBJECT_CLASS(klass)->finalize = sbx_egress_resolver_finalize;
	resolver_class->lookup_by_name = resolver_lookup_by_name;
	resolver_class->lookup_by_name_async = resolver_lookup_by_name_async;
	resolver_class->lookup_by_name_finish = resolver_lookup_by_name_finish;
	resolver_class->lookup_by_name_with_flags_async = resolver_lookup_by_name_with_flags_async;
	resolver_class->lookup_by_name_with_flags_finish = resolver_lookup_by_name_finish;
}

static void
sbx_egress_resolver_init(SbxEgressResolver *self)
{
	self->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
}

SbxEgressResolver *
sbx_egress_resolver_new(void)
{
	return g_object_new(SBX_TYPE_EGRESS_RESOLVER, NULL);
}

gboolean
sbx_egress_resolver_add(SbxEgressResolver *self, const gchar *entry, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(entry, "=", 2);
	g_autofree gchar *name = NULL;
	GInetAddress *addr = NULL;

	if (g_strv_length(parts) == 2) {
		name = sbx_egress_sniff_normalize_host(parts[0], strlen(parts[0]));
		addr = g_inet_address_new_from_string(parts[1]);
	}
	if (name == NULL || addr == NULL) {
		g_clear_object(&addr);
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "--resolve %s: expected NAME=ADDRESS", entry);
		return FALSE;
	}
	g_hash_table_replace(self->names, g_steal_pointer(&name), addr);
	return TRUE;
}
