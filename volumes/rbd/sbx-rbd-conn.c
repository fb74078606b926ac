/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "sbx-rbd-conn.h"

/* a keyring or ceph.conf value is small; anything bigger is not one */
#define KEYRING_MAX_SIZE (64 * 1024)
#define CONF_VALUE_MAX 4096
#define MONITORS_MAX 32

gboolean
sbx_rbd_conn_error_is_connection(gint r)
{
	return r == -ETIMEDOUT || r == -ENOTCONN || r == -ESHUTDOWN || r == -ECONNREFUSED;
}

void
sbx_rbd_conn_set_error(GError **error, gint r, const gchar *format, ...)
{
	g_autofree gchar *what = NULL;
	va_list ap;
	gint code = g_io_error_from_errno(-r);

	va_start(ap, format);
	what = g_strdup_vprintf(format, ap);
	va_end(ap);
	/* ceph's EBLOCKLISTED is ESHUTDOWN */
	if (r == -ESHUTDOWN || r == -ENOTCONN)
		code = G_IO_ERROR_NOT_CONNECTED;
	else if (r == -EDQUOT)
		code = G_IO_ERROR_NO_SPACE;
	g_set_error(error, G_IO_ERROR, code, "%s: %s", what, g_strerror(-r));
}

/* "a:1,b:2", "[v2:h:3300,v1:h:6789] [v2:...]", "h1 h2" -> {"h:6789", ...};
 * v1 addresses win over v2 ones of the same host: QEMU and libvirt take
 * a plain host:port, which librados reads as msgr v1 (unless 3300) */
gchar **
sbx_rbd_conn_parse_mon_host(const gchar *mon_host)
{
	g_autoptr(GPtrArray) result = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) v2_only = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) groups = NULL;

	if (mon_host == NULL)
		return NULL;
	/* each group is one monitor, maybe with several addresses */
	{
		g_autofree gchar *copy = g_strdup(mon_host);
		g_autoptr(GString) norm = g_string_new(NULL);
		gboolean in_brackets = FALSE;

		for (gchar *p = copy; *p != '\0'; p++) {
			if (*p == '[')
				in_brackets = TRUE;
			else if (*p == ']')
				in_brackets = FALSE;
			if (!in_brackets && (*p == ',' || *p == ';' || *p == ' ' || *p == '\t'))
				g_string_append_c(norm, '\n');
			else
				g_string_append_c(norm, *p);
		}
		groups = g_strsplit(norm->str, "\n", -1);
	}
	for (guint i = 0; groups[i] != NULL && result->len < MONITORS_MAX; i++) {
		g_autofree gchar *group = g_strstrip(g_strdup(groups[i]));
		g_auto(GStrv) addrs = NULL;
		g_autofree gchar *v1 = NULL;
		g_autofree gchar *v2 = NULL;

		if (group[0] == '\0')
			continue;
		if (group[0] == '[') {
			gsize len = strlen(group);
			if (group[len - 1] == ']')
				group[len - 1] = '\0';
			memmove(group, group + 1, strlen(group));
		}
		addrs = g_strsplit(group, ",", -1);
		for (guint j = 0; addrs[j] != NULL; j++) {
			gchar *addr = g_strstrip(addrs[j]);
			gboolean is_v2 = FALSE;
			const gchar *colon;

			if (g_str_has_prefix(addr, "v1:"))
				addr += 3;
			else if (g_str_has_prefix(addr, "v2:")) {
				addr += 3;
				is_v2 = TRUE;
			} else if (g_str_has_prefix(addr, "any:"))
				addr += 4;
			/* drop a "/nonce" */
			if (strchr(addr, '/') != NULL)
				*strchr(addr, '/') = '\0';
			if (addr[0] == '\0')
				continue;
			colon = strrchr(addr, ':');
			/* no port (IPv6 literals come as [addr]:port, left as they are) */
			if (colon == NULL) {
				g_free(v1);
				v1 = g_strdup_printf("%s:6789", addr);
				continue;
			}
			if (is_v2 || g_str_has_suffix(addr, ":3300")) {
				if (v2 == NULL)
					v2 = g_strdup(addr);
			} else if (v1 == NULL) {
				v1 = g_strdup(addr);
			}
		}
		if (v1 != NULL)
			g_ptr_array_add(result, g_steal_pointer(&v1));
		else if (v2 != NULL)
			g_ptr_array_add(result, g_steal_pointer(&v2));
	}
	if (result->len == 0)
		return NULL;
	g_ptr_array_add(result, NULL);
	return (gchar **)g_ptr_array_free(g_steal_pointer(&result), FALSE);
}

/* the "key = ..." of section [@entity] of a keyring file */
gchar *
sbx_rbd_conn_keyring_find_key(const gchar *contents, const gchar *entity)
{
	g_auto(GStrv) lines = g_strsplit(contents, "\n", -1);
	g_autofree gchar *header = g_strdup_printf("[%s]", entity);
	gboolean in_section = FALSE;

	for (guint i = 0; lines[i] != NULL; i++) {
		gchar *line = g_strstrip(lines[i]);
		gchar *eq;
		g_autofree gchar *name = NULL;

		if (line[0] == '[') {
			in_section = g_strcmp0(line, header) == 0;
			continue;
		}
		if (!in_section || line[0] == '#' || line[0] == ';')
			continue;
		eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		name = g_strstrip(g_strndup(line, eq - line));
		if (g_strcmp0(name, "key") == 0) {
			gchar *value = g_strstrip(g_strdup(eq + 1));
			/* base64 only */
			for (gchar *p = value; *p != '\0'; p++) {
				if (!g_ascii_isalnum(*p) && *p != '+' && *p != '/' && *p != '=') {
					g_free(value);
					return NULL;
				}
			}
			if (value[0] == '\0') {
				g_free(value);
				return NULL;
			}
			return value;
		}
	}
	return NULL;
}

static gchar *
conf_get(rados_t cluster, const gchar *option)
{
	gchar buf[CONF_VALUE_MAX];

	if (rados_conf_get(cluster, option, buf, sizeof(buf)) < 0)
		return NULL;
	buf[sizeof(buf) - 1] = '\0';
	if (buf[0] == '\0')
		return NULL;
	return g_strdup(buf);
}

static gchar *
key_from_file(const gchar *path, const gchar *entity)
{
	g_autofree gchar *contents = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &contents, &len, NULL) || len > KEYRING_MAX_SIZE)
		return NULL;
	return sbx_rbd_conn_keyring_find_key(contents, entity);
}

/* what libvirt must hand QEMU: librados does not tell the key it
 * authenticated with, so look where librados looked */
static gchar *
find_key(rados_t cluster, const SbxRbdSettings *settings, GError **error)
{
	g_autofree gchar *entity = g_strdup_printf("client.%s", settings->client_id);
	g_autofree gchar *key = conf_get(cluster, "key");
	g_autofree gchar *keyfile = NULL;
	g_autofree gchar *keyring = NULL;
	g_auto(GStrv) paths = NULL;

	if (key != NULL)
		return g_steal_pointer(&key);
	keyfile = conf_get(cluster, "keyfile");
	if (keyfile != NULL) {
		g_autofree gchar *contents = NULL;
		gsize len = 0;
		if (g_file_get_contents(keyfile, &contents, &len, NULL) && len < KEYRING_MAX_SIZE)
			return g_strstrip(g_steal_pointer(&contents));
	}
	keyring = conf_get(cluster, "keyring");
	if (keyring != NULL)
		paths = g_strsplit_set(keyring, ",;", -1);
	for (guint i = 0; paths != NULL && paths[i] != NULL; i++) {
		gchar *path = g_strstrip(paths[i]);
		if (path[0] == '\0')
			continue;
		key = key_from_file(path, entity);
		if (key != NULL)
			return g_steal_pointer(&key);
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
		    "no cephx key for %s in the keyring (%s)", entity,
		    keyring != NULL ? keyring : "none configured");
	return NULL;
}

static gboolean
set_option(rados_t cluster, const gchar *option, const gchar *value, GError **error)
{
	gint r = rados_conf_set(cluster, option, value);
	if (r < 0) {
		sbx_rbd_conn_set_error(error, r, "ceph option %s=%s", option, value);
		return FALSE;
	}
	return TRUE;
}

SbxRbdConn *
sbx_rbd_conn_connect(const SbxRbdSettings *settings, GError **error)
{
	g_autofree gchar *timeout = g_strdup_printf("%u", settings->timeout_sec);
	g_autofree gchar *mon_host = NULL;
	g_autofree gchar *key = NULL;
	g_auto(GStrv) monitors = NULL;
	rados_t cluster = NULL;
	rados_ioctx_t ioctx = NULL;
	SbxRbdConn *conn;
	gint r;

	r = rados_create(&cluster, settings->client_id);
	if (r < 0) {
		sbx_rbd_conn_set_error(error, r, "cannot create a ceph client");
		return NULL;
	}
	r = rados_conf_read_file(cluster, settings->ceph_conf);
	if (r < 0) {
		sbx_rbd_conn_set_error(error, r, "cannot read ceph config %s",
				       settings->ceph_conf != NULL ? settings->ceph_conf
								   : "(default search path)");
		rados_shutdown(cluster);
		return NULL;
	}
	/* bounded: a dead cluster is an error after the timeout, not a hang */
	if ((settings->keyring != NULL &&
	     !set_option(cluster, "keyring", settings->keyring, error)) ||
	    !set_option(cluster, "client_mount_timeout", timeout, error) ||
	    !set_option(cluster, "rados_mon_op_timeout", timeout, error) ||
	    !set_option(cluster, "rados_osd_op_timeout", timeout, error) ||
	    !set_option(cluster, "log_to_stderr", "false", error) ||
	    !set_option(cluster, "err_to_stderr", "false", error)) {
		rados_shutdown(cluster);
		return NULL;
	}
	mon_host = conf_get(cluster, "mon_host");
	monitors = sbx_rbd_conn_parse_mon_host(mon_host);
	if (monitors == NULL) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "no monitor addresses (mon host) in ceph config %s",
			    settings->ceph_conf != NULL ? settings->ceph_conf : "(default)");
		rados_shutdown(cluster);
		return NULL;
	}
	key = find_key(cluster, settings, error);
	if (key == NULL) {
		rados_shutdown(cluster);
		return NULL;
	}
	r = rados_connect(cluster);
	if (r < 0) {
		if (r == -ETIMEDOUT)
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
				    "the Ceph cluster (monitors %s) did not answer within %u s",
				    mon_host, settings->timeout_sec);
		else
			sbx_rbd_conn_set_error(
			    error, r, "cannot connect to the Ceph cluster (%s) as client.%s",
			    mon_host, settings->client_id);
		rados_shutdown(cluster);
		return NULL;
	}
	r = rados_ioctx_create(cluster, settings->pool, &ioctx);
	if (r < 0) {
		if (r == -ENOENT)
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
				    "Ceph pool '%s' does not exist", settings->pool);
		else
			sbx_rbd_conn_set_error(error, r, "cannot open Ceph pool '%s'",
					       settings->pool);
		rados_shutdown(cluster);
		return NULL;
	}

	conn = g_new0(SbxRbdConn, 1);
	g_atomic_ref_count_init(&conn->ref);
	conn->cluster = cluster;
	conn->ioctx = ioctx;
	conn->monitors = g_steal_pointer(&monitors);
	conn->key = g_steal_pointer(&key);
	return conn;
}

SbxRbdConn *
sbx_rbd_conn_ref(SbxRbdConn *conn)
{
	g_atomic_ref_count_inc(&conn->ref);
	return conn;
}

void
sbx_rbd_conn_unref(SbxRbdConn *conn)
{
	if (conn == NULL || !g_atomic_ref_count_dec(&conn->ref))
		return;
	rados_ioctx_destroy(conn->ioctx);
	rados_shutdown(conn->cluster);
	g_strfreev(conn->monitors);
	g_free(conn->key);
	g_free(conn);
}
