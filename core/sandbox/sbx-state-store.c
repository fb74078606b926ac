/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "sandboxd"

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "sbx-log.h"
#include "sbx-options.h"
#include "sbx-sandbox-id.h"
#include "sbx-netpol-policy.h"
#include "sbx-state-store.h"
#include "sbx-volume-manager.h"

struct _SbxStateStore {
	GObject parent_instance;
	gchar *dir;
	GThreadPool *pool; /* one thread: jobs run in the order they were queued */
	GMutex lock;
	GCond cond;
	guint pending;
};

G_DEFINE_TYPE(SbxStateStore, sbx_state_store, G_TYPE_OBJECT)

typedef struct {
	gchar *id;
	gchar *json; /* NULL: remove */
} StoreJob;

/* --- records ------------------------------------------------------------ */

SbxStateRecord *
sbx_state_store_record_new(void)
{
	SbxStateRecord *rec = g_new0(SbxStateRecord, 1);
	rec->env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	rec->labels = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	rec->volumes =
	    g_ptr_array_new_with_free_func((GDestroyNotify)sbx_volume_manager_request_free);
	return rec;
}

void
sbx_state_store_record_free(SbxStateRecord *rec)
{
	if (rec == NULL)
		return;
	g_free(rec->id);
	g_free(rec->image);
	g_clear_pointer(&rec->env, g_hash_table_unref);
	g_clear_pointer(&rec->labels, g_hash_table_unref);
	g_free(rec->region);
	g_free(rec->backend);
	g_free(rec->run_dir);
	g_clear_pointer(&rec->volumes, g_ptr_array_unref);
	g_strfreev(rec->allow_net);
	g_free(rec);
}

static void
add_table(JsonBuilder *b, const gchar *name, GHashTable *table)
{
	g_autoptr(GList) keys = g_hash_table_get_keys(table);
	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
	keys = g_list_sort(keys, (GCompareFunc)g_strcmp0);
	for (GList *l = keys; l != NULL; l = l->next) {
		json_builder_set_member_name(b, l->data);
		json_builder_add_string_value(b, g_hash_table_lookup(table, l->data));
	}
	json_builder_end_object(b);
}

gchar *
sbx_state_store_record_to_json(const SbxStateRecord *rec)
{
	g_autoptr(JsonBuilder) b = json_builder_new();
	g_autoptr(JsonGenerator) gen = json_generator_new();
	g_autoptr(JsonNode) root = NULL;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "version");
	json_builder_add_int_value(b, SBX_STATE_FORMAT_VERSION);
	json_builder_set_member_name(b, "id");
	json_builder_add_string_value(b, rec->id);
	json_builder_set_member_name(b, "owner_uid");
	json_builder_add_int_value(b, rec->owner_uid);
	json_builder_set_member_name(b, "image");
	json_builder_add_string_value(b, rec->image);
	json_builder_set_member_name(b, "memory_mib");
	json_builder_add_int_value(b, rec->memory_mib);
	json_builder_set_member_name(b, "vcpus");
	json_builder_add_int_value(b, rec->vcpus);
	add_table(b, "env", rec->env);
	add_table(b, "labels", rec->labels);
	if (rec->region != NULL) {
		json_builder_set_member_name(b, "region");
		json_builder_add_string_value(b, rec->region);
	}
	json_builder_set_member_name(b, "backend");
	json_builder_add_string_value(b, rec->backend);
	json_builder_set_member_name(b, "created_at");
	json_builder_add_int_value(b, rec->created_at);
	json_builder_set_member_name(b, "timeout");
	json_builder_add_string_value(b, rec->timeout_sec == 0 ? "session" : "duration");
	json_builder_set_member_name(b, "timeout_sec");
	json_builder_add_int_value(b, rec->timeout_sec);
	json_builder_set_member_name(b, "expires_at");
	json_builder_add_int_value(b, rec->expires_at);
	json_builder_set_member_name(b, "run_dir");
	json_builder_add_string_value(b, rec->run_dir);
	if (rec->volumes->len > 0) {
		json_builder_set_member_name(b, "volumes");
		json_builder_begin_array(b);
		for (guint i = 0; i < rec->volumes->len; i++) {
			SbxVolumeRequest *req = g_ptr_array_index(rec->volumes, i);
			json_builder_begin_object(b);
			json_builder_set_member_name(b, "mount_path");
			json_builder_add_string_value(b, req->mount_path);
			json_builder_set_member_name(b, "volume");
			json_builder_add_string_value(b, req->ref);
			json_builder_set_member_name(b, "read_only");
			json_builder_add_boolean_value(b, req->read_only);
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
	}
	if (rec->allow_net != NULL) {
		json_builder_set_member_name(b, "allow_net");
		json_builder_begin_array(b);
		for (guint i = 0; rec->allow_net[i] != NULL; i++)
			json_builder_add_string_value(b, rec->allow_net[i]);
		json_builder_end_array(b);
	}
	json_builder_end_object(b);

	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	return json_generator_to_data(gen, NULL);
}

static const gchar *
get_string(JsonObject *obj, const gchar *name, gboolean optional, GError **error)
{
	JsonNode *node = json_object_get_member(obj, name);
	if (node == NULL && optional)
		return NULL;
	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_STRING) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: missing or not a string", name);
		return NULL;
	}
	return json_node_get_string(node);
}

static gboolean
get_int(JsonObject *obj, const gchar *name, gint64 min, gint64 max, gint64 *out, GError **error)
{
	JsonNode *node = json_object_get_member(obj, name);
	gint64 v;
	if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
	    json_node_get_value_type(node) != G_TYPE_INT64) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "%s: missing or not an integer", name);
		return FALSE;
	}
	v = json_node_get_int(node);
	if (v < min || v > max) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: out of range", name);
		return FALSE;
	}
	*out = v;
	return TRUE;
}

/* optional; the entries are checked again when the policy is parsed */
static gboolean
get_allow_net(JsonObject *obj, SbxStateRecord *rec, GError **error)
{
	JsonNode *node = json_object_get_member(obj, "allow_net");
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	JsonArray *array;

	if (node == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(node) ||
	    json_array_get_length(json_node_get_array(node)) > SBX_NETPOL_POLICY_MAX_ENTRIES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "allow_net: not an array of at most %d strings",
			    SBX_NETPOL_POLICY_MAX_ENTRIES);
		return FALSE;
	}
	array = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *item = json_array_get_element(array, i);
		if (!JSON_NODE_HOLDS_VALUE(item) ||
		    json_node_get_value_type(item) != G_TYPE_STRING) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "allow_net: not an array of strings");
			return FALSE;
		}
		g_strv_builder_add(builder, json_node_get_string(item));
	}
	rec->allow_net = g_strv_builder_end(builder);
	return TRUE;
}

static gboolean
get_table(JsonObject *obj, const gchar *name, guint max, GHashTable *table, GError **error)
{
	JsonNode *node = json_object_get_member(obj, name);
	JsonObject *tobj;
	g_autoptr(GList) members = NULL;

	if (node == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: not an object", name);
		return FALSE;
	}
	tobj = json_node_get_object(node);
	members = json_object_get_members(tobj);
	if (g_list_length(members) > max) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: too many entries",
			    name);
		return FALSE;
	}
	for (GList *l = members; l != NULL; l = l->next) {
		const gchar *value = get_string(tobj, l->data, FALSE, error);
		if (value == NULL) {
			g_prefix_error(error, "%s: ", name);
			return FALSE;
		}
		g_hash_table_insert(table, g_strdup(l->data), g_strdup(value));
	}
	return TRUE;
}

/* "volumes": [{mount_path, volume, read_only}], checked as CreateSandbox's option */
static gboolean
get_volumes(JsonObject *obj, GPtrArray *volumes, GError **error)
{
	JsonNode *node = json_object_get_member(obj, "volumes");
	g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT(G_VARIANT_TYPE_VARDICT);
	g_autoptr(GVariant) value = NULL;
	g_autoptr(GPtrArray) reqs = NULL;
	g_autoptr(GError) error_local = NULL;
	JsonArray *array;

	if (node == NULL)
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(node) ||
	    json_array_get_length(json_node_get_array(node)) > SBX_VOLUME_ATTACH_MAX) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
			    "volumes: not an array or too many entries");
		return FALSE;
	}
	array = json_node_get_array(node);
	for (guint i = 0; i < json_array_get_length(array); i++) {
		JsonNode *item = json_array_get_element(array, i);
		JsonNode *ro;
		const gchar *path, *id;
		if (!JSON_NODE_HOLDS_OBJECT(item)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "volumes: not an object");
			return FALSE;
		}
		if ((path = get_string(json_node_get_object(item), "mount_path", FALSE, error)) ==
			NULL ||
		    (id = get_string(json_node_get_object(item), "volume", FALSE, error)) == NULL) {
			g_prefix_error(error, "volumes: ");
			return FALSE;
		}
		ro = json_object_get_member(json_node_get_object(item), "read_only");
		if (ro == NULL || !JSON_NODE_HOLDS_VALUE(ro) ||
		    json_node_get_value_type(ro) != G_TYPE_BOOLEAN) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "volumes: read_only: missing or not a boolean");
			return FALSE;
		}
		g_variant_builder_add(&builder, "{sv}", path,
				      g_variant_new_take_string(g_strconcat(
					  id, json_node_get_boolean(ro) ? ":ro" : ":rw", NULL)));
	}
	value = g_variant_ref_sink(g_variant_builder_end(&builder));
	reqs = sbx_volume_manager_parse_requests(value, &error_local);
	if (reqs == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s", error_local->message);
		return FALSE;
	}
	g_ptr_array_extend_and_steal(volumes, g_steal_pointer(&reqs));
	return TRUE;
}

SbxStateRecord *
sbx_state_store_record_from_json(const gchar *data, gssize len, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(SbxStateRecord) rec = sbx_state_store_record_new();
	JsonNode *root;
	JsonObject *obj;
	const gchar *s;
	gint64 v;

	if (len > SBX_STATE_FILE_MAX || (len < 0 && strlen(data) > SBX_STATE_FILE_MAX)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "too large");
		return NULL;
	}
	if (!json_parser_load_from_data(parser, data, len, error))
		return NULL;
	root = json_parser_get_root(parser);
	if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "not a JSON object");
		return NULL;
	}
	obj = json_node_get_object(root);
	if (!get_int(obj, "version", SBX_STATE_FORMAT_VERSION, SBX_STATE_FORMAT_VERSION, &v, error))
		return NULL;
	if ((s = get_string(obj, "id", FALSE, error)) == NULL)
		return NULL;
	if (!sbx_sandbox_id_is_valid(s)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "id: not a sandbox id");
		return NULL;
	}
	rec->id = g_strdup(s);
	if (!get_int(obj, "owner_uid", 0, G_MAXUINT32, &v, error))
		return NULL;
	rec->owner_uid = (guint)v;
	if ((s = get_string(obj, "image", FALSE, error)) == NULL)
		return NULL;
	rec->image = g_strdup(s);
	if (!get_int(obj, "memory_mib", 1, 1024 * 1024, &v, error))
		return NULL;
	rec->memory_mib = (guint)v;
	if (!get_int(obj, "vcpus", 1, 1024, &v, error))
		return NULL;
	rec->vcpus = (guint)v;
	if (!get_table(obj, "env", SBX_ENV_MAX, rec->env, error) ||
	    !get_table(obj, "labels", SBX_LABELS_MAX, rec->labels, error))
		return NULL;
	s = get_string(obj, "region", TRUE, error);
	if (s == NULL && error != NULL && *error != NULL)
		return NULL;
	rec->region = g_strdup(s);
	if ((s = get_string(obj, "backend", FALSE, error)) == NULL)
		return NULL;
	rec->backend = g_strdup(s);
	if (!get_int(obj, "created_at", 0, G_MAXINT64, &rec->created_at, error))
		return NULL;
	if (!get_int(obj, "timeout_sec", 0, G_MAXUINT32, &v, error))
		return NULL;
	rec->timeout_sec = (guint)v;
	if (!get_int(obj, "expires_at", 0, G_MAXINT64, &rec->expires_at, error))
		return NULL;
	if ((s = get_string(obj, "run_dir", FALSE, error)) == NULL)
		return NULL;
	if (!g_path_is_absolute(s)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "run_dir: not absolute");
		return NULL;
	}
	rec->run_dir = g_strdup(s);
	if (!get_volumes(obj, rec->volumes, error) || !get_allow_net(obj, rec, error))
		return NULL;
	return g_steal_pointer(&rec);
}

/* --- the store ---------------------------------------------------------- */

static void
store_job_free(StoreJob *job)
{
	g_free(job->id);
	g_free(job->json);
	g_free(job);
}

static gchar *
record_path(SbxStateStore *self, const gchar *id)
{
	g_autofree gchar *name = g_strconcat(id, ".json", NULL);
	return g_build_filename(self->dir, name, NULL);
}

static void
store_worker(gpointer data, gpointer user_data)
{
	StoreJob *job = data;
	SbxStateStore *self = SBX_STATE_STORE(user_data);
	g_autofree gchar *path = record_path(self, job->id);
	g_autoptr(GError) error = NULL;

	if (job->json != NULL) {
		/* atomic: a crash leaves the old or the new file, never a torn one */
		if (!g_file_set_contents_full(path, job->json, -1, G_FILE_SET_CONTENTS_CONSISTENT,
					      0600, &error))
			g_warning("state: cannot write %s: %s", path, error->message);
	} else if (g_unlink(path) != 0 && errno != ENOENT) {
		g_warning("state: cannot remove %s: %s", path, g_strerror(errno));
	}
	store_job_free(job);
	g_mutex_lock(&self->lock);
	self->pending--;
	g_cond_broadcast(&self->cond);
	g_mutex_unlock(&self->lock);
}

static void
sbx_state_store_finalize(GObject *object)
{
	SbxStateStore *self = SBX_STATE_STORE(object);
	/* runs what is queued, then returns */
	g_thread_pool_free(self->pool, FALSE, TRUE);
	g_mutex_clear(&self->lock);
	g_cond_clear(&self->cond);
	g_free(self->dir);
	G_OBJECT_CLASS(sbx_state_store_parent_class)->finalize(object);
}

static void
sbx_state_store_class_init(SbxStateStoreClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = sbx_state_store_finalize;
}

static void
sbx_state_store_init(SbxStateStore *self)
{
	g_mutex_init(&self->lock);
	g_cond_init(&self->cond);
	self->pool = g_thread_pool_new(store_worker, self, 1, FALSE, NULL);
}

SbxStateStore *
sbx_state_store_new(const gchar *dir, GError **error)
{
	g_autoptr(SbxStateStore) self = NULL;

	if (g_mkdir_with_parents(dir, 0700) != 0 || g_chmod(dir, 0700) != 0) {
		gint errsv = errno;
		g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv),
			    "cannot create the state folder %s: %s", dir, g_strerror(errsv));
		return NULL;
	}
	self = g_object_new(SBX_TYPE_STATE_STORE, NULL);
	self->dir = g_strdup(dir);
	return g_steal_pointer(&self);
}

const gchar *
sbx_state_store_get_dir(SbxStateStore *self)
{
	return self->dir;
}

static void
queue_job(SbxStateStore *self, StoreJob *job)
{
	g_mutex_lock(&self->lock);
	self->pending++;
	g_mutex_unlock(&self->lock);
	g_thread_pool_push(self->pool, job, NULL);
}

void
sbx_state_store_save(SbxStateStore *self, const SbxStateRecord *rec)
{
	StoreJob *job = g_new0(StoreJob, 1);
	g_return_if_fail(SBX_IS_STATE_STORE(self));
	job->id = g_strdup(rec->id);
	job->json = sbx_state_store_record_to_json(rec);
	queue_job(self, job);
}

void
sbx_state_store_remove(SbxStateStore *self, const gchar *id)
{
	StoreJob *job = g_new0(StoreJob, 1);
	g_return_if_fail(SBX_IS_STATE_STORE(self));
	job->id = g_strdup(id);
	queue_job(self, job);
}

void
sbx_state_store_flush(SbxStateStore *self)
{
	g_mutex_lock(&self->lock);
	while (self->pending > 0)
		g_cond_wait(&self->cond, &self->lock);
	g_mutex_unlock(&self->lock);
}

GPtrArray *
sbx_state_store_load_all(SbxStateStore *self, GPtrArray *bad_ids)
{
	g_autoptr(GPtrArray) records =
	    g_ptr_array_new_with_free_func((GDestroyNotify)sbx_state_store_record_free);
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) dir = g_dir_open(self->dir, 0, &error);
	const gchar *name;

	if (dir == NULL) {
		g_warning("state: %s", error->message);
		return g_steal_pointer(&records);
	}
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree gchar *path = g_build_filename(self->dir, name, NULL);
		g_autofree gchar *id = NULL;
		g_autofree gchar *data = NULL;
		gsize len = 0;
		SbxStateRecord *rec;

		if (!g_str_has_suffix(name, ".json")) {
			/* a temporary file of an interrupted write */
			if (g_str_has_suffix(name, ".json") == FALSE &&
			    strstr(name, ".json.") != NULL)
				g_unlink(path);
			continue;
		}
		id = g_strndup(name, strlen(name) - strlen(".json"));
		if (!sbx_sandbox_id_is_valid(id)) {
			g_warning("state: ignoring %s: not a sandbox id", path);
			continue;
		}
		if (!g_file_get_contents(path, &data, &len, &error) ||
		    (rec = sbx_state_store_record_from_json(data, (gssize)len, &error)) == NULL) {
			sbx_sandbox_warning(id, "state: %s is unusable: %s", path, error->message);
			g_clear_error(&error);
			if (bad_ids != NULL)
				g_ptr_array_add(bad_ids, g_steal_pointer(&id));
			continue;
		}
		if (g_strcmp0(rec->id, id) != 0) {
			sbx_sandbox_warning(id, "state: %s names another sandbox (%s)", path,
					    rec->id);
			sbx_state_store_record_free(rec);
			if (bad_ids != NULL)
				g_ptr_array_add(bad_ids, g_steal_pointer(&id));
			continue;
		}
		g_ptr_array_add(records, rec);
	}
	return g_steal_pointer(&records);
}
