/* egress proxy: the filtering resolver guests of a sandbox with host names
 * in allow_net talk to. It answers A queries for allowed names with what the
 * proxy itself resolves and refuses every other name.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "sbx-egress-policy.h"

G_BEGIN_DECLS

#define SBX_EGRESS_DNS_MAX 512

#define SBX_EGRESS_DNS_TYPE_A 1
#define SBX_EGRESS_DNS_RCODE_SERVFAIL 2
#define SBX_EGRESS_DNS_RCODE_NXDOMAIN 3
#define SBX_EGRESS_DNS_RCODE_REFUSED 5

typedef struct {
	guint16 id;
	gboolean recursion_desired;
	gchar *name; /* lower-case, validated */
	guint16 qtype;
	GBytes *question; /* the question section as sent, for the answer */
} SbxEgressDnsQuery;

void sbx_egress_dns_query_free(SbxEgressDnsQuery *query);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxEgressDnsQuery, sbx_egress_dns_query_free)

/* one standard query with one IN question (an EDNS OPT record is ignored);
 * NULL for anything else */
SbxEgressDnsQuery *sbx_egress_dns_parse_query(const guint8 *data, gsize len);
/* the answer: @rcode, and for NOERROR one A record per IPv4 address in
 * @addresses (GInetAddress) when the query asked for A */
GBytes *sbx_egress_dns_build_answer(const SbxEgressDnsQuery *query, guint rcode, GList *addresses);

typedef struct _SbxEgressDns SbxEgressDns;
typedef void (*SbxEgressDnsDenied)(const gchar *ip, const gchar *name, gpointer user_data);

/* answers on @socket (bound UDP) for the sandboxes in @policy (borrowed) */
SbxEgressDns *sbx_egress_dns_new(GSocket *socket, SbxEgressPolicy *policy, GResolver *resolver,
				 SbxEgressDnsDenied denied, gpointer user_data);
void sbx_egress_dns_free(SbxEgressDns *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SbxEgressDns, sbx_egress_dns_free)

G_END_DECLS
