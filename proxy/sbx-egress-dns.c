/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "sbx-egress-dns.h"
#include "sbx-egress-sniff.h"

/* answers being resolved at once, over all sandboxes: the rest is dropped */
#define MAX_PENDING 256

struct _SbxEgressDns {
	GSocket *socket;
	GSource *source;
	SbxEgressPolicy *policy;
	GResolver *resolver;
	GCancellable *cancellable;
	SbxEgressDnsDenied denied;
	gpointer user_data;
	guint pending;
};

void
sbx_egress_dns_query_free(SbxEgressDnsQuery *query)
{
	if (query == NULL)
		return;
	g_free(query->name);
	g_clear_pointer(&query->question, g_bytes_unref);
	g_free(query);
}

static guint16
get16(const guint8 *p)
{
	return (guint16)((p[0] << 8) | p[1]);
}

SbxEgressDnsQuery *
sbx_egress_dns_parse_query(const guint8 *data, gsize len)
{
	g_autoptr(SbxEgressDnsQuery) query = g_new0(SbxEgressDnsQuery, 1);
	g_autoptr(GString) name = g_string_new(NULL);
	gsize pos = 12;

	if (len < 12 || len > SBX_EGRESS_DNS_MAX)
		return NULL;
	/* QR=0, opcode QUERY, one question, no answers or authorities */
	if ((data[2] & 0x80) != 0 || ((data[2] >> 3) & 0x0f) != 0 || get16(data + 4) != 1 ||
	    get16(data + 6) != 0 || get16(data + 8) != 0 || get16(data + 10) > 1)
		return NULL;
	query->id = get16(data);
	query->recursion_desired = (data[2] & 0x01) != 0;
	/* labels only: a compression pointer has nothing to point at here */
	for (;;) {
		guint n;
		if (pos >= len)
			return NULL;
		n = data[pos++];
		if (n == 0)
			break;
		if (n > 63 || pos + n > len || name->len + n + 1 > 254)
			return NULL;
		if (name->len > 0)
			g_string_append_c(name, '.');
		g_string_append_len(name, (const gchar *)data + pos, n);
		pos += n;
	}
	if (pos + 4 > len || get16(data + pos + 2) != 1 /* IN */)
		return NULL;
	query->qtype = get16(data + pos);
	pos += 4;
	query->name = sbx_egress_sniff_normalize_host(name->str, name->len);
	if (query->name == NULL || strlen(query->name) != name->len)
		return NULL;
	query->question = g_bytes_new(data + 12, pos - 12);
	return g_steal_pointer(&query);
}

GBytes *
sbx_egress_dns_build_answer(const SbxEgressDnsQuery *query, guint rcode, GList *addresses)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	guint16 answers = 0;
	guint8 header[12] = {0};
	gsize qlen = 0;
	const guint8 *question = g_bytes_get_data(query->question, &qlen);

	g_byte_array_append(out, header, sizeof(header));
	g_byte_array_append(out, question, qlen);
	for (GList *l = addresses; rcode == 0 && query->qtype == SBX_EGRESS_DNS_TYPE_A && l != NULL;
	     l = l->next) {
		GInetAddress *addr = l->data;
		/* the name by pointer to the question, type A, class IN, ttl 30 s */
		const guint8 rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4};

		if (g_inet_address_get_family(addr) != G_SOCKET_FAMILY_IPV4)
			continue;
		if (out->len + sizeof(rr) + 4 > SBX_EGRESS_DNS_MAX)
			break;
		g_byte_array_append(out, rr, sizeof(rr));
		g_byte_array_append(out, g_inet_address_to_bytes(addr), 4);
		answers++;
	}
	out->data[0] = query->id >> 8;
	out->data[1] = query->id & 0xff;
	out->data[2] = 0x80 | (query->recursion_desired ? 0x01 : 0);
	out->data[3] = 0x80 | (rcode & 0x0f);
	out->data[5] = 1;
	out->data[6] = answers >> 8;
	out->data[7] = answers & 0xff;
	return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

typedef struct {
	SbxEgressDns *dns;
	SbxEgressDnsQuery *query;
	GSocketAddress *peer;
} Pending;

static void
send_answer(SbxEgressDns *self, GSocketAddress *peer, const SbxEgressDnsQuery *query, guint rcode,
	    GList *addresses)
{
	g_autoptr(GBytes) answer = sbx_egress_dns_build_answer(query, rcode, addresses);
	gsize len = 0;
	const guint8 *data = g_bytes_get_data(answer, &len);

	/* UDP: a full socket buffer loses the answer, the guest asks again */
	g_socket_send_to(self->socket, peer, (const gchar *)data, len, NULL, NULL);
}

static void
lookup_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
	Pending *pending = user_data;
	g_autoptr(GError) error = NULL;
	GList *addresses = g_resolver_lookup_by_name_finish(G_RESOLVER(source), res, &error);

	if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		guint rcode = 0;
		if (addresses == NULL)
			rcode = g_error_matches(error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND)
				    ? SBX_EGRESS_DNS_RCODE_NXDOMAIN
				    : SBX_EGRESS_DNS_RCODE_SERVFAIL;
		send_answer(pending->dns, pending->peer, pending->query, rcode, addresses);
		pending->dns->pending--;
	}
	g_resolver_free_addresses(addresses);
	sbx_egress_dns_query_free(pending->query);
	g_object_unref(pending->peer);
	g_free(pending);
}

static gboolean
on_readable(GSocket *socket, GIOCondition condition, gpointer user_data)
{
	SbxEgressDns *self = user_data;
	guint8 buf[SBX_EGRESS_DNS_MAX + 1];
	g_autoptr(GSocketAddress) peer = NULL;
	g_autoptr(SbxEgressDnsQuery) query = NULL;
	g_autofree gchar *ip = NULL;
	gssize n;

	n = g_socket_receive_from(socket, &peer, (gchar *)buf, sizeof(buf), NULL, NULL);
	if (n <= 0 || !G_IS_INET_SOCKET_ADDRESS(peer))
		return G_SOURCE_CONTINUE;
	query = sbx_egress_dns_parse_query(buf, n);
	if (query == NULL)
		return G_SOURCE_CONTINUE;
	ip = g_inet_address_to_string(
	    g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(peer)));
	/* not a sandbox's: no answer at all (we are nobody's resolver) */
	if (sbx_egress_policy_lookup(self->policy, ip) == NULL)
		return G_SOURCE_CONTINUE;
	if (!sbx_egress_policy_allows(self->policy, ip, query->name, 0)) {
		if (self->denied != NULL)
			self->denied(ip, query->name, self->user_data);
		send_answer(self, peer, query, SBX_EGRESS_DNS_RCODE_REFUSED, NULL);
		return G_SOURCE_CONTINUE;
	}
	/* guests have no IPv6: an AAAA (or any other type) gets an empty answer */
	if (query->qtype != SBX_EGRESS_DNS_TYPE_A) {
		send_answer(self, peer, query, 0, NULL);
		return G_SOURCE_CONTINUE;
	}
	if (self->pending >= MAX_PENDING)
		return G_SOURCE_CONTINUE;
	{
		Pending *pending = g_new0(Pending, 1);
		pending->dns = self;
		pending->query = g_steal_pointer(&query);
		pending->peer = g_steal_pointer(&peer);
		self->pending++;
		g_resolver_lookup_by_name_with_flags_async(self->resolver, pending->query->name,
							   G_RESOLVER_NAME_LOOKUP_FLAGS_IPV4_ONLY,
							   self->cancellable, lookup_done, pending);
	}
	return G_SOURCE_CONTINUE;
}

SbxEgressDns *
sbx_egress_dns_new(GSocket *socket, SbxEgressPolicy *policy, GResolver *resolver,
		   SbxEgressDnsDenied denied, gpointer user_data)
{
	SbxEgressDns *self = g_new0(SbxEgressDns, 1);

	self->socket = g_object_ref(socket);
	self->policy = policy;
	self->resolver = g_object_ref(resolver);
	self->cancellable = g_cancellable_new();
	self->denied = denied;
	self->user_data = user_data;
	g_socket_set_blocking(socket, FALSE);
	self->source = g_socket_create_source(socket, G_IO_IN, NULL);
	g_source_set_callback(self->source, G_SOURCE_FUNC(on_readable), self, NULL);
	g_source_attach(self->source, NULL);
	return self;
}

void
sbx_egress_dns_free(SbxEgressDns *self)
{
	if (self == NULL)
		return;
	g_cancellable_cancel(self->cancellable);
	g_source_destroy(self->source);
	g_source_unref(self->source);
	g_object_unref(self->cancellable);
	g_object_unref(self->resolver);
	g_object_unref(self->socket);
	g_free(self);
}
