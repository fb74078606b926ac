/* Manager1.GetStatus: counts by state and region, committed resources.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <stdio.h>

#include "sbx-manager.h"
#include "sbx-pool.h"

/* MemTotal and MemAvailable in MiB; procfs reads never block */
static void
read_meminfo(guint64 *total_mib, guint64 *available_mib)
{
	g_autofree gchar *text = NULL;
	g_auto(GStrv) lines = NULL;

	*total_mib = *available_mib = 0;
	if (!g_file_get_contents("/proc/meminfo", &text, NULL, NULL))
		return;
	lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i] != NULL; i++) {
		guint64 kib = 0;
		if (sscanf(lines[i], "MemTotal: %" G_GUINT64_FORMAT " kB", &kib) == 1)
			*total_mib = kib / 1024;
		else if (sscanf(lines[i], "MemAvailable: %" G_GUINT64_FORMAT " kB", &kib) == 1)
			*available_mib = kib / 1024;
	}
}

static void
count(GHashTable *table, const gchar *key)
{
	g_hash_table_insert(
	    table, (gpointer)key,
	    GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(table, key)) + 1));
}

static GVariant *
counts_to_variant(GHashTable *table)
{
	GVariantBuilder b;
	g_autoptr(GList) keys = g_list_sort(g_hash_table_get_keys(table), (GCompareFunc)g_strcmp0);
	g_variant_builder_init(&b, G_VARIANT_TYPE("a{su}"));
	for (GList *l = keys; l != NULL; l = l->next)
		g_variant_builder_add(&b, "{su}", (const gchar *)l->data,
				      GPOINTER_TO_UINT(g_hash_table_lookup(table, l->data)));
	return g_variant_builder_end(&b);
}

GVariant *
sbx_manager_status_build(SbxManager *self)
{
	g_autoptr(GPtrArray) all = sbx_manager_list_all(self);
	g_autoptr(GHashTable) states = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) regions = g_hash_table_new(g_str_hash, g_str_equal);
	SbxHypervisorBackend *backend = sbx_manager_get_backend(self);
	const gchar *backend_name = sbx_manager_get_backend_name(self);
	guint64 memory = 0, host_total = 0, host_available = 0;
	guint vcpus = 0, live = 0;
	GVariantBuilder b;

	/* every state appears, even at 0, so readers need no defaults */
	for (SbxSandboxState s = SBX_SANDBOX_STATE_STARTING; s <= SBX_SANDBOX_STATE_CRASHED; s++)
		g_hash_table_insert(states, (gpointer)sbx_sandbox_state_to_string(s),
				    GUINT_TO_POINTER(0));
	for (guint i = 0; i < all->len; i++) {
		SbxSandbox *sandbox = g_ptr_array_index(all, i);
		SbxSandboxState state = sbx_sandbox_get_state(sandbox);
		const gchar *region = sbx_sandbox_state_get_region(sandbox);

		count(states, sbx_sandbox_state_to_string(state));
		if (state >= SBX_SANDBOX_STATE_STOPPED)
			continue;
		live++;
		count(regions, region != NULL ? region : "");
		memory += sbx_sandbox_state_get_memory_mib(sandbox);
		vcpus += sbx_sandbox_state_get_vcpus(sandbox);
	}
	read_meminfo(&host_total, &host_available);

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "version", g_variant_new_string(PACKAGE_VERSION));
	g_variant_builder_add(&b, "{sv}", "backend",
			      g_variant_new_string(backend_name != NULL ? backend_name : ""));
	g_variant_builder_add(
	    &b, "{sv}", "domain_type",
	    g_variant_new_string(sbx_hypervisor_backend_get_domain_type(backend)));
	g_variant_builder_add(&b, "{sv}", "sandboxes", g_variant_new_uint32(live));
	g_variant_builder_add(&b, "{sv}", "states", counts_to_variant(states));
	g_variant_builder_add(&b, "{sv}", "regions", counts_to_variant(regions));
	g_variant_builder_add(&b, "{sv}", "memory_committed_mib", g_variant_new_uint64(memory));
	g_variant_builder_add(&b, "{sv}", "vcpus_committed", g_variant_new_uint32(vcpus));
	g_variant_builder_add(&b, "{sv}", "host_memory_total_mib",
			      g_variant_new_uint64(host_total));
	g_variant_builder_add(&b, "{sv}", "host_memory_available_mib",
			      g_variant_new_uint64(host_available));
	{
		/* pooled VMs are no sandboxes: counted here only */
		SbxPool *pool = sbx_manager_get_pool(self);
		g_variant_builder_add(&b, "{sv}", "pool_size",
				      g_variant_new_uint32(sbx_pool_get_size(pool)));
		g_variant_builder_add(&b, "{sv}", "pool_ready",
				      g_variant_new_uint32(sbx_pool_get_n_ready(pool)));
		g_variant_builder_add(&b, "{sv}", "pool_restoring",
				      g_variant_new_uint32(sbx_pool_get_n_filling(pool)));
		g_variant_builder_add(&b, "{sv}", "pool_memory_mib",
				      g_variant_new_uint64(sbx_pool_get_memory_mib(pool)));
		g_variant_builder_add(&b, "{sv}", "pool_served",
				      g_variant_new_uint64(sbx_pool_get_n_served(pool)));
	}
	g_variant_builder_add(&b, "{sv}", "adopted",
			      g_variant_new_uint32(sbx_manager_get_n_adopted(self)));
	g_variant_builder_add(&b, "{sv}", "started_at",
			      g_variant_new_uint64((guint64)sbx_manager_get_started_at(self)));
	return g_variant_builder_end(&b);
}
