/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <time.h>

#include <gio/gio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "sbx-netpol-ca.h"

struct _SbxNetpolCa {
	gnutls_x509_crt_t crt;
	gnutls_x509_privkey_t key;
	gchar *cert_pem;
	gchar *key_pem;
};

static gboolean
check(gint ret, const gchar *what, GError **error)
{
	if (ret >= 0)
		return TRUE;
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, gnutls_strerror(ret));
	return FALSE;
}

void
sbx_netpol_ca_wipe_free(gchar *secret)
{
	if (secret == NULL)
		return;
	gnutls_memset(secret, 0, strlen(secret));
	g_free(secret);
}

void
sbx_netpol_ca_free(SbxNetpolCa *self)
{
	if (self == NULL)
		return;
	if (self->crt != NULL)
		gnutls_x509_crt_deinit(self->crt);
	if (self->key != NULL)
		gnutls_x509_privkey_deinit(self->key);
	g_free(self->cert_pem);
	sbx_netpol_ca_wipe_free(self->key_pem);
	g_free(self);
}

static gchar *
datum_to_string(gnutls_datum_t *d, gboolean secret)
{
	gchar *s = g_strndup((const gchar *)d->data, d->size);

	if (secret)
		gnutls_memset(d->data, 0, d->size);
	gnutls_free(d->data);
	d->data = NULL;
	return s;
}

static gboolean
export_key(gnutls_x509_privkey_t key, gchar **pem, GError **error)
{
	gnutls_datum_t d = {NULL, 0};

	if (!check(gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
						     GNUTLS_PKCS_PLAIN, &d),
		   "exporting a key", error))
		return FALSE;
	*pem = datum_to_string(&d, TRUE);
	return TRUE;
}

static gboolean
export_crt(gnutls_x509_crt_t crt, gchar **pem, GError **error)
{
	gnutls_datum_t d = {NULL, 0};

	if (!check(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d), "exporting a certificate",
		   error))
		return FALSE;
	*pem = datum_to_string(&d, FALSE);
	return TRUE;
}

static gboolean
new_key(gnutls_x509_privkey_t *key, GError **error)
{
	if (!check(gnutls_x509_privkey_init(key), "key", error))
		return FALSE;
	return check(gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
						  GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
						  0),
		     "generating a key", error);
}

/* version, a random positive serial, validity from an hour ago (clock skew),
 * the key and its identifier */
static gboolean
set_common(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, guint days, GError **error)
{
	guint8 serial[16];
	guint8 key_id[64];
	gsize key_id_len = sizeof(key_id);
	time_t now = time(NULL);

	if (!check(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)), "random", error))
		return FALSE;
	serial[0] &= 0x7f;
	serial[0] |= 0x01;
	return check(gnutls_x509_crt_set_version(crt, 3), "version", error) &&
	       check(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)), "serial", error) &&
	       check(gnutls_x509_crt_set_activation_time(crt, now - 3600), "validity", error) &&
	       check(gnutls_x509_crt_set_expiration_time(crt, now + (time_t)days * 86400),
		     "validity", error) &&
	       check(gnutls_x509_crt_set_key(crt, key), "key", error) &&
	       check(gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, key_id, &key_id_len),
		     "key id", error) &&
	       check(gnutls_x509_crt_set_subject_key_id(crt, key_id, key_id_len), "key id", error);
}

/* "*.example.com" permits example.com and below; a plain name itself and below */
static gboolean
set_constraints(gnutls_x509_crt_t crt, const gchar *const *hosts, GError **error)
{
	gnutls_x509_name_constraints_t nc = NULL;
	gboolean ok;

	if (hosts == NULL || hosts[0] == NULL)
		return TRUE;
	if (!check(gnutls_x509_name_constraints_init(&nc), "name constraints", error))
		return FALSE;
	ok = TRUE;
	for (guint i = 0; ok && hosts[i] != NULL; i++) {
		const gchar *name = g_str_has_prefix(hosts[i], "*.") ? hosts[i] + 2 : hosts[i];
		gnutls_datum_t d = {(guchar *)name, strlen(name)};
		ok = check(gnutls_x509_name_constraints_add_permitted(nc, GNUTLS_SAN_DNSNAME, &d),
			   "name constraints", error);
	}
	ok = ok &&
	     check(gnutls_x509_crt_set_name_constraints(crt, nc, 1), "name constraints", error);
	gnutls_x509_name_constraints_deinit(nc);
	return ok;
}

SbxNetpolCa *
sbx_netpol_ca_new(const gchar *label, const gchar *const *hosts, GError **error)
{
	g_autoptr(SbxNetpolCa) self = g_new0(SbxNetpolCa, 1);
	g_autofree gchar *cn = g_strdup_printf("sandboxd secrets %s", label);

	if (!new_key(&self->key, error) ||
	    !check(gnutls_x509_crt_init(&self->crt), "certificate", error) ||
	    !set_common(self->crt, self->key, SBX_NETPOL_CA_DAYS, error) ||
	    !check(gnutls_x509_crt_set_dn_by_oid(self->crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
						 strlen(cn)),
		   "name", error) ||
	    !check(gnutls_x509_crt_set_basic_constraints(self->crt, 1, 0), "constraints", error) ||
	    !check(gnutls_x509_crt_set_key_usage(self->crt,
						 GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN),
		   "key usage", error) ||
	    !set_constraints(self->crt, hosts, error) ||
	    !check(gnutls_x509_crt_sign2(self->crt, self->crt, self->key, GNUTLS_DIG_SHA256, 0),
		   "signing", error))
		return NULL;
	if (!export_crt(self->crt, &self->cert_pem, error) ||
	    !export_key(self->key, &self->key_pem, error))
		return NULL;
	return g_steal_pointer(&self);
}

SbxNetpolCa *
sbx_netpol_ca_new_from_pem(const gchar *cert_pem, const gchar *key_pem, GError **error)
{
	g_autoptr(SbxNetpolCa) self = g_new0(SbxNetpolCa, 1);
	gnutls_datum_t c = {(guchar *)cert_pem, strlen(cert_pem)};
	gnutls_datum_t k = {(guchar *)key_pem, strlen(key_pem)};
	guint ca = 0;

	if (!check(gnutls_x509_crt_init(&self->crt), "certificate", error) ||
	    !check(gnutls_x509_crt_import(self->crt, &c, GNUTLS_X509_FMT_PEM), "CA certificate",
		   error) ||
	    !check(gnutls_x509_privkey_init(&self->key), "key", error) ||
	    !check(gnutls_x509_privkey_import(self->key, &k, GNUTLS_X509_FMT_PEM), "CA key", error))
		return NULL;
	if (gnutls_x509_crt_get_basic_constraints(self->crt, NULL, &ca, NULL) < 0 || !ca) {
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "CA certificate: not a CA");
		return NULL;
	}
	/* the key must be the certificate's */
	{
		guint8 a[64], b[64];
		gsize alen = sizeof(a), blen = sizeof(b);
		if (gnutls_x509_crt_get_key_id(self->crt, 0, a, &alen) < 0 ||
		    gnutls_x509_privkey_get_key_id(self->key, 0, b, &blen) < 0 || alen != blen ||
		    memcmp(a, b, alen) != 0) {
			g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					    "CA key does not match its certificate");
			return NULL;
		}
	}
	self->cert_pem = g_strdup(cert_pem);
	self->key_pem = g_strdup(key_pem);
	return g_steal_pointer(&self);
}

const gchar *
sbx_netpol_ca_get_cert_pem(SbxNetpolCa *self)
{
	return self->cert_pem;
}

const gchar *
sbx_netpol_ca_get_key_pem(SbxNetpolCa *self)
{
	return self->key_pem;
}

static gboolean
set_issuer_id(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer, GError **error)
{
	guint8 id[64];
	gsize len = sizeof(id);
	guint critical = 0;

	return check(gnutls_x509_crt_get_subject_key_id(issuer, id, &len, &critical), "issuer",
		     error) &&
	       check(gnutls_x509_crt_set_authority_key_id(crt, id, len), "issuer", error);
}

gchar *
sbx_netpol_ca_issue(SbxNetpolCa *self, const gchar *host, GError **error)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	g_autofree gchar *cert_pem = NULL;
	gchar *key_pem = NULL;
	gchar *out = NULL;
	gboolean ok;

	ok = new_key(&key, error) && check(gnutls_x509_crt_init(&crt), "certificate", error) &&
	     set_common(crt, key, SBX_NETPOL_CA_LEAF_DAYS, error) &&
	     check(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, host,
						 strlen(host)),
		   "name", error) &&
	     check(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, host, strlen(host),
							GNUTLS_FSAN_SET),
		   "alt name", error) &&
	     check(gnutls_x509_crt_set_basic_constraints(crt, 0, -1), "constraints", error) &&
	     check(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE), "key usage",
		   error) &&
	     check(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0),
		   "key purpose", error) &&
	     set_issuer_id(crt, self->crt, error) &&
	     check(gnutls_x509_crt_sign2(crt, self->crt, self->key, GNUTLS_DIG_SHA256, 0),
		   "signing", error) &&
	     export_crt(crt, &cert_pem, error) && export_key(key, &key_pem, error);
	if (ok)
		out = g_strconcat(cert_pem, key_pem, NULL);
	sbx_netpol_ca_wipe_free(key_pem);
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (key != NULL)
		gnutls_x509_privkey_deinit(key);
	return out;
}
