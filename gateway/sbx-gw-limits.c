/* per-token request rate and sandbox count.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "sbx-gw-limits.h"

/* a flood of made-up tokens must not grow the table without bound: past this,
 * idle entries are swept and, if none is idle, new tokens wait */
#define SBX_GW_LIMITS_MAX_TRACKED 65536

typedef struct {
	gdouble tokens; /* requests left in the bucket */
	gint64 last_us; /* when tokens was last brought up to date */
	guint reserved; /* creates under way */
	guint alive;	/* sandboxes bound to this token */
} Entry;

struct _SbxGwLimits {
	guint rate;
	guint burst;
	guint max_sandboxes;
	GHashTable *entries;   /* SHA-256 of the token -> Entry */
	GHashTable *sandboxes; /* sandboxd id -> SHA-256 of its token */
	/* the last sandboxes that ended: one may end before its create answered */
	GQueue recently_gone;
	GHashTable *gone;
};

#define SBX_GW_LIMITS_REMEMBER_GONE 256

SbxGwLimits *
sbx_gw_limits_new(guint rate, guint burst, guint max_sandboxes)
{
	SbxGwLimits *self = g_new0(SbxGwLimits, 1);

	self->rate = rate;
	self->burst = MAX(burst, 1);
	self->max_sandboxes = max_sandboxes;
	self->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->sandboxes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->gone = g_hash_table_new(g_str_hash, g_str_equal);
	g_queue_init(&self->recently_gone);
	return self;
}

void
sbx_gw_limits_free(SbxGwLimits *self)
{
	g_hash_table_unref(self->entries);
	g_hash_table_unref(self->sandboxes);
	g_hash_table_unref(self->gone);
	g_queue_clear_full(&self->recently_gone, g_free);
	g_free(self);
}

static gchar *
key_of(const gchar *token)
{
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, token, -1);
}

static void
refill(SbxGwLimits *self, Entry *e, gint64 now_us)
{
	if (now_us > e->last_us) {
		e->tokens = MIN((gdouble)self->burst, e->tokens + (gdouble)(now_us - e->last_us) *
								      self->rate / G_USEC_PER_SEC);
		e->last_us = now_us;
	}
}

/* an entry that holds nothing back: forgetting it changes no answer */
static gboolean
is_idle(SbxGwLimits *self, Entry *e, gint64 now_us)
{
	refill(self, e, now_us);
	return e->reserved == 0 && e->alive == 0 && e->tokens >= (gdouble)self->burst;
}

static Entry *
lookup(SbxGwLimits *self, const gchar *key, gint64 now_us)
{
	Entry *e = g_hash_table_lookup(self->entries, key);
	GHashTableIter iter;
	gpointer value;

	if (e != NULL)
		return e;
	if (g_hash_table_size(self->entries) >= SBX_GW_LIMITS_MAX_TRACKED) {
		g_hash_table_iter_init(&iter, self->entries);
		while (g_hash_table_iter_next(&iter, NULL, &value)) {
			if (is_idle(self, value, now_us))
				g_hash_table_iter_remove(&iter);
		}
		if (g_hash_table_size(self->entries) >= SBX_GW_LIMITS_MAX_TRACKED)
			return NULL;
	}
	e = g_new0(Entry, 1);
	e->tokens = self->burst;
	e->last_us = now_us;
	g_hash_table_insert(self->entries, g_strdup(key), e);
	return e;
}

static void
forget_if_idle(SbxGwLimits *self, const gchar *key)
{
	Entry *e = g_hash_table_lookup(self->entries, key);
	if (e != NULL && is_idle(self, e, g_get_monotonic_time()))
		g_hash_table_remove(self->entries, key);
}

gboolean
sbx_gw_limits_admit(SbxGwLimits *self, const gchar *token, gint64 now_us, guint *retry_after)
{
	g_autofree gchar *key = NULL;
	Entry *e;

	if (self->rate == 0)
		return TRUE;
	key = key_of(token);
	e = lookup(self, key, now_us);
	if (e == NULL) {
		*retry_after = 1;
		return FALSE;
	}
	refill(self, e, now_us);
	if (e->tokens < 1.0) {
		*retry_after = (guint)((1.0 - e->tokens) / self->rate) + 1;
		return FALSE;
	}
	e->tokens -= 1.0;
	return TRUE;
}

gboolean
sbx_gw_limits_reserve(SbxGwLimits *self, const gchar *token, GError **error)
{
	g_autofree gchar *key = key_of(token);
	Entry *e = lookup(self, key, g_get_monotonic_time());

	if (e == NULL) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES,
				    "the gateway tracks too many tokens; try again later");
		return FALSE;
	}
	if (self->max_sandboxes > 0 && e->alive + e->reserved >= self->max_sandboxes) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES,
			    "this token has %u sandboxes, the most the gateway allows "
			    "([gateway] MaxSandboxesPerToken)",
			    e->alive + e->reserved);
		return FALSE;
	}
	e->reserved++;
	return TRUE;
}

void
sbx_gw_limits_bind(SbxGwLimits *self, const gchar *token, const gchar *sandbox_id)
{
	g_autofree gchar *key = key_of(token);
	Entry *e = g_hash_table_lookup(self->entries, key);

	g_return_if_fail(e != NULL && e->reserved > 0);
	e->reserved--;
	/* a sandbox that ended before its create answered is not counted */
	if (g_hash_table_contains(self->gone, sandbox_id) ||
	    g_hash_table_contains(self->sandboxes, sandbox_id)) {
		forget_if_idle(self, key);
		return;
	}
	e->alive++;
	g_hash_table_insert(self->sandboxes, g_strdup(sandbox_id), g_steal_pointer(&key));
}

void
sbx_gw_limits_release(SbxGwLimits *self, const gchar *token)
{
	g_autofree gchar *key = key_of(token);
	Entry *e = g_hash_table_lookup(self->entries, key);

	g_return_if_fail(e != NULL && e->reserved > 0);
	e->reserved--;
	forget_if_idle(self, key);
}

void
sbx_gw_limits_sandbox_gone(SbxGwLimits *self, const gchar *sandbox_id)
{
	gpointer id = NULL;
	gpointer key = NULL;
	Entry *e;

	if (!g_hash_table_contains(self->gone, sandbox_id)) {
		gchar *copy = g_strdup(sandbox_id);
		g_queue_push_tail(&self->recently_gone, copy);
		g_hash_table_add(self->gone, copy);
		if (self->recently_gone.length > SBX_GW_LIMITS_REMEMBER_GONE) {
			gchar *oldest = g_queue_pop_head(&self->recently_gone);
			g_hash_table_remove(self->gone, oldest);
			g_free(oldest);
		}
	}
	if (!g_hash_table_steal_extended(self->sandboxes, sandbox_id, &id, &key))
		return;
	e = g_hash_table_lookup(self->entries, key);
	if (e != NULL && e->alive > 0)
		e->alive--;
	forget_if_idle(self, key);
	g_free(id);
	g_free(key);
}

guint
sbx_gw_limits_get_n_tracked(SbxGwLimits *self)
{
	return g_hash_table_size(self->entries);
}
