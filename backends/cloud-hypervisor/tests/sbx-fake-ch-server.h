/* a Cloud Hypervisor REST API server for tests, written from
 * /work/shared/docs/cloud-hypervisor-api.md (micro_http's wire format, the
 * endpoints' status codes, error bodies per version, the VM state machine)
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "sbx-ch-version.h"

G_BEGIN_DECLS

typedef enum {
	FAKE_CH_VM_NONE,    /* no config */
	FAKE_CH_VM_CREATED, /* config stored, not booted (also after vm.shutdown) */
	FAKE_CH_VM_RUNNING,
	FAKE_CH_VM_PAUSED,
} FakeChVmState;

typedef struct _FakeChServer FakeChServer;

/* hooks the fake binary fills in: the "guest" */
typedef struct {
	/* vm.boot after validation; return FALSE with @error to fail it */
	gboolean (*boot)(FakeChServer *server, JsonObject *config, gpointer user_data,
			 GError **error);
	/* the VM's devices go away (vm.shutdown, vm.delete, vmm.shutdown, poweroff) */
	void (*halt)(FakeChServer *server, gpointer user_data);
	/* vmm.shutdown answered: the process exits */
	void (*exit)(FakeChServer *server, gpointer user_data);
} FakeChHooks;

/* serves the API on @listener (an already listening unix socket); events go
 * to @event_fd (or nowhere when -1) */
FakeChServer *fake_ch_server_new(GSocket *listener, const SbxChVersion *version, gint event_fd);
void fake_ch_server_set_hooks(FakeChServer *self, const FakeChHooks *hooks, gpointer user_data);
void fake_ch_server_free(FakeChServer *self);
FakeChVmState fake_ch_server_get_state(FakeChServer *self);
JsonObject *fake_ch_server_get_config(FakeChServer *self);
guint fake_ch_server_get_connections(FakeChServer *self);
guint fake_ch_server_get_max_open(FakeChServer *self); /* most open at once */
/* "PUT /api/v1/vm.create" lines of every request so far */
GPtrArray *fake_ch_server_get_requests(FakeChServer *self);
/* the raw request text (headers and body) of the last request */
const gchar *fake_ch_server_get_last_raw(FakeChServer *self);
/* event monitor output: pretty JSON and a blank line, as CH writes it */
void fake_ch_server_emit(FakeChServer *self, const gchar *source, const gchar *event,
			 const gchar *prop_key, const gchar *prop_value);
/* the guest powers off: vm/shutdown, vm/deleted, vmm/shutdown, then exit */
void fake_ch_server_guest_poweroff(FakeChServer *self);
/* the next request to @endpoint fails with a 500 and @message */
/* the disks get PCI slots in reverse disks[] order at boot (CH never does) */
void fake_ch_server_set_disks_reversed(FakeChServer *self, gboolean reversed);
void fake_ch_server_inject_failure(FakeChServer *self, const gchar *endpoint, const gchar *message);

G_END_DECLS
