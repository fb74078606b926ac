/* sandboxd-bench: the floors, measured without sandboxd in the same run: a bare
 * QEMU restores the very snapshot the daemon restores (same files, same
 * arguments as the qemu backend, RAM from a sealed memfd, no jail), then the
 * agent is spoken to directly on its virtio-serial port: time to the first
 * echo, echo round trips, and the channel's throughput for stdout bytes.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "sbx-bench.h"
#include "sbx-protocol.h"
#include "sbx-qemu-argv.h"
#include "sbx-qemu-qmp.h"
#include "sbx-qemu-snapshot.h"

/* nothing here may hang the bench */
#define FLOOR_IO_TIMEOUT_MS 60000
#define FLOOR_PINGS 20
#define FLOOR_CHANNEL 7

static gboolean
set_errno(GError **error, const gchar *what)
{
	int errsv = errno;
	g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errsv), "%s: %s", what,
		    g_strerror(errsv));
	return FALSE;
}

static gint
listen_at(const gchar *path, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 1) != 0) {
		set_errno(error, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static gint
connect_to(const gchar *path, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		set_errno(error, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static gboolean
io_full(gint fd, guint8 *buf, gsize len, gboolean writing, GError **error)
{
	while (len > 0) {
		struct pollfd pfd = {fd, writing ? POLLOUT : POLLIN, 0};
		gssize n;

		if (poll(&pfd, 1, FLOOR_IO_TIMEOUT_MS) == 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "agent: no answer");
			return FALSE;
		}
		n = writing ? write(fd, buf, len) : read(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return set_errno(error, "agent channel");
		}
		buf += n;
		len -= (gsize)n;
	}
	return TRUE;
}

static gboolean
send_frame(gint fd, guint16 type, guint16 flags, guint32 channel, const guint8 *payload,
	   guint32 len, GError **error)
{
	g_autofree guint8 *frame = g_malloc(SBX_PROTO_HEADER_SIZE + len);
	SbxFrameHeader h = {type, flags, channel, len};

	sbx_proto_header_encode(frame, &h);
	if (len > 0)
		memcpy(frame + SBX_PROTO_HEADER_SIZE, payload, len);
	return io_full(fd, frame, SBX_PROTO_HEADER_SIZE + len, TRUE, error);
}

/* one frame into @h and @payload (SBX_PROTO_MAX_PAYLOAD bytes) */
static gboolean
recv_frame(gint fd, SbxFrameHeader *h, guint8 *payload, GError **error)
{
	guint8 head[SBX_PROTO_HEADER_SIZE];

	if (!io_full(fd, head, sizeof(head), FALSE, error))
		return FALSE;
	sbx_proto_header_decode(head, h);
	if (h->length > SBX_PROTO_MAX_PAYLOAD) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "agent: frame of %u bytes",
			    h->length);
		return FALSE;
	}
	return io_full(fd, payload, h->length, FALSE, error);
}

/* the next frame of @type on @channel; others (late PONGs, stderr) are skipped */
static gboolean
recv_type(gint fd, guint16 type, guint32 channel, SbxFrameHeader *h, guint8 *payload,
	  GError **error)
{
	for (;;) {
		if (!recv_frame(fd, h, payload, error))
			return FALSE;
		if (h->type == type && h->channel == channel)
			return TRUE;
		if (h->type == SBX_MSG_ERROR || h->type == SBX_MSG_EXEC_FAILED) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "agent: error frame %u on channel %u", h->type, h->channel);
			return FALSE;
		}
	}
}

static gboolean
ping(gint fd, guint8 *buf, GError **error)
{
	const guint8 token[8] = "sbxfloor";
	SbxFrameHeader h;

	return send_frame(fd, SBX_MSG_PING, 0, 0, token, sizeof(token), error) &&
	       recv_type(fd, SBX_MSG_PONG, 0, &h, buf, error);
}

static void
put_string(GByteArray *b, const gchar *s)
{
	guint8 len[4];
	sbx_proto_put_u32(len, (guint32)strlen(s));
	g_byte_array_append(b, len, 4);
	g_byte_array_append(b, (const guint8 *)s, (guint)strlen(s));
}

static void
put_u32(GByteArray *b, guint32 v)
{
	guint8 p[4];
	sbx_proto_put_u32(p, v);
	g_byte_array_append(b, p, 4);
}

/* EXEC @argv with stdout piped (credit handed back as it arrives, as the
 * daemon does); the time to the first stdout byte and the stdout bytes */
static gboolean
exec_stdout(gint fd, const gchar *const *argv, guint8 *buf, gint64 *first_byte, guint64 *bytes,
	    GError **error)
{
	g_autoptr(GByteArray) req = g_byte_array_new();
	gboolean eof = FALSE, exited = FALSE;
	guint32 ungranted = 0;

	put_u32(req, SBX_EXEC_STDOUT_PIPE);
	put_u32(req, SBX_PROTO_DEFAULT_WINDOW);
	put_u32(req, 0);
	put_u32(req, 0);
	put_u32(req, 0);
	put_u32(req, 0);
	put_u32(req, g_strv_length((GStrv)argv));
	for (guint i = 0; argv[i] != NULL; i++)
		put_string(req, argv[i]);
	put_u32(req, 0);
	put_string(req, "");
	*bytes = 0;
	*first_byte = 0;
	if (!send_frame(fd, SBX_MSG_EXEC, 0, FLOOR_CHANNEL, req->data, req->len, error))
		return FALSE;
	while (!eof || !exited) {
		SbxFrameHeader h;
		if (!recv_frame(fd, &h, buf, error))
			return FALSE;
		if (h.channel != FLOOR_CHANNEL)
			continue;
		switch (h.type) {
		case SBX_MSG_DATA:
			if (*first_byte == 0)
				*first_byte = g_get_monotonic_time();
			*bytes += h.length;
			ungranted += h.length;
			/* half the window back at a time, as the relay does */
			if (ungranted >= SBX_PROTO_DEFAULT_WINDOW / 2) {
				guint8 grant[4];
				sbx_proto_put_u32(grant, ungranted);
				if (!send_frame(fd, SBX_MSG_CREDIT, SBX_STREAM_STDOUT,
						FLOOR_CHANNEL, grant, 4, error))
					return FALSE;
				ungranted = 0;
			}
			break;
		case SBX_MSG_EOF:
			eof = TRUE;
			break;
		case SBX_MSG_EXIT:
			exited = TRUE;
			break;
		case SBX_MSG_EXEC_FAILED:
		case SBX_MSG_ERROR:
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "agent: EXEC %s failed (frame %u)", argv[0], h.type);
			return FALSE;
		default:
			break;
		}
	}
	return TRUE;
}

/* what the daemon sends a restored clone before it runs anything */
static gboolean
identity(gint fd, guint8 *buf, GError **error)
{
	g_autoptr(GByteArray) req = g_byte_array_new();
	guint64 now = (guint64)g_get_real_time();
	guint8 entropy[64];
	SbxFrameHeader h;

	for (guint i = 0; i < sizeof(entropy); i++)
		entropy[i] = (guint8)g_random_int();
	put_u32(req, (guint32)now);
	put_u32(req, (guint32)(now >> 32));
	put_u32(req, sizeof(entropy));
	g_byte_array_append(req, entropy, sizeof(entropy));
	put_string(req, "sbxfloor");
	put_string(req, "0123456789abcdef0123456789abcdef");
	put_string(req, "");
	put_u32(req, 0);
	if (!send_frame(fd, SBX_MSG_IDENTITY, 0, 0, req->data, req->len, error) ||
	    !recv_type(fd, SBX_MSG_IDENTITY_REPLY, 0, &h, buf, error))
		return FALSE;
	if (h.length < 4 || sbx_proto_get_u32(buf) != 0) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "agent: IDENTITY not applied");
		return FALSE;
	}
	return TRUE;
}

typedef struct {
	gchar *dir;
	GPid pid;
	gint agent; /* our connection */
} Bare;

static void
bare_stop(Bare *b)
{
	if (b->agent >= 0)
		close(b->agent);
	b->agent = -1;
	if (b->pid > 0) {
		kill(b->pid, SIGKILL);
		waitpid(b->pid, NULL, 0);
		b->pid = 0;
	}
	if (b->dir != NULL) {
		g_autoptr(GDir) d = g_dir_open(b->dir, 0, NULL);
		const gchar *name;
		while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
			g_autofree gchar *p = g_build_filename(b->dir, name, NULL);
			g_unlink(p);
		}
		g_rmdir(b->dir);
		g_clear_pointer(&b->dir, g_free);
	}
}

/* QEMU waits with -incoming defer: the state file, then `cont` once it is paused */
static gboolean
bare_incoming(const gchar *qmp_path, gint state_fd, gint64 *running, GError **error)
{
	g_autoptr(SbxQemuQmp) qmp = sbx_qemu_qmp_connect(qmp_path, 10000, NULL, error);
	g_autofree gchar *uri_json = g_strdup_printf("{\"uri\": \"fd:%d\"}", state_fd);
	g_autoptr(JsonNode) uri = json_from_string(uri_json, NULL);
	g_autoptr(JsonNode) ret = NULL;
	gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;

	if (qmp == NULL || !sbx_qemu_qmp_set_ignore_shared(qmp, error))
		return FALSE;
	ret = sbx_qemu_qmp_execute(qmp, "migrate-incoming", uri, error);
	if (ret == NULL)
		return FALSE;
	while (g_get_monotonic_time() < deadline) {
		g_autofree gchar *status = sbx_qemu_qmp_query_status(qmp, error);
		if (status == NULL)
			return FALSE;
		if (g_strcmp0(status, "running") == 0) {
			*running = g_get_monotonic_time();
			return TRUE;
		}
		if (g_strcmp0(status, "paused") == 0 && !sbx_qemu_qmp_simple(qmp, "cont", error))
			return FALSE;
		g_usleep(1000);
	}
	g_set_error(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "bare restore did not finish");
	return FALSE;
}

/* a bare QEMU restores @sargs' snapshot; on return the agent answered
 * HELLO and one PING; the times from the spawn */
static gboolean
bare_restore(const gchar *snapshot_dir, SbxQemuSnapshotArgs *sargs, gint memfd, Bare *b,
	     guint8 *buf, gdouble *to_running, gdouble *to_echo, GError **error)
{
	g_autofree gchar *agent_path = NULL;
	g_autofree gchar *qmp_path = NULL;
	g_autofree gchar *overlay = NULL;
	g_autofree gchar *mem_path = g_strdup_printf("/proc/self/fd/%d", memfd);
	g_autofree gchar *state = g_build_filename(snapshot_dir, SBX_QEMU_SNAPSHOT_STATE, NULL);
	g_auto(GStrv) argv = NULL;
	SbxQemuArgs args = {0};
	SbxVmSpec spec = *sargs->spec;
	gint fds[4];
	gint state_fd = -1, err_fd;
	gint64 t0, t_running = 0;
	gboolean ok;
	guint8 hello[12];
	SbxFrameHeader h;

	b->dir = g_dir_make_tmp("sbx-floor-XXXXXX", error);
	if (b->dir == NULL)
		return FALSE;
	agent_path = g_build_filename(b->dir, "agent.sock", NULL);
	qmp_path = g_build_filename(b->dir, "qmp.sock", NULL);
	spec.console_log = g_build_filename(b->dir, "console.log", NULL);
	if (spec.root_disk != NULL) {
		/* the clone's overlay, made before the clock starts (the daemon's is timed) */
		g_autofree gchar *out = NULL;
		gint status = 0;
		const gchar *img[] = {"qemu-img", "create", "-q",	    "-f", "qcow2", "-F",
				      "qcow2",	  "-b",	    spec.root_disk, NULL, NULL};
		overlay = g_build_filename(b->dir, "root.qcow2", NULL);
		img[9] = overlay;
		if (!g_spawn_sync(NULL, (gchar **)img, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
				  NULL, &status, error) ||
		    !g_spawn_check_wait_status(status, error)) {
			g_free(spec.console_log);
			return FALSE;
		}
	}
	args.binary = sargs->binary;
	args.accel = sargs->accel;
	args.machine = sargs->machine;
	args.tb_size_mib = sargs->tb_size_mib;
	args.spec = &spec;
	args.cmdline = sargs->cmdline;
	args.disk = overlay;
	args.mem_path = mem_path;
	args.mem_share = FALSE;
	args.nic = spec.network;
	args.tap_fd = -1;
	args.incoming = TRUE;
	args.agent_fd = listen_at(agent_path, error);
	args.qmp_fd = args.agent_fd >= 0 ? listen_at(qmp_path, error) : -1;
	state_fd = args.qmp_fd >= 0 ? g_open(state, O_RDONLY | O_CLOEXEC, 0) : -1;
	if (state_fd < 0) {
		if (args.qmp_fd >= 0)
			set_errno(error, state);
		if (args.agent_fd >= 0)
			close(args.agent_fd);
		if (args.qmp_fd >= 0)
			close(args.qmp_fd);
		g_free(spec.console_log);
		return FALSE;
	}
	argv = sbx_qemu_argv_new(&args);
	g_free(spec.console_log);
	fds[0] = args.agent_fd;
	fds[1] = args.qmp_fd;
	fds[2] = state_fd;
	fds[3] = memfd;
	err_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	t0 = g_get_monotonic_time();
	ok = g_spawn_async_with_pipes_and_fds(
	    NULL, (const gchar *const *)argv, NULL,
	    G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL | G_SPAWN_STDOUT_TO_DEV_NULL,
	    NULL, NULL, -1, -1, err_fd, fds, fds, G_N_ELEMENTS(fds), &b->pid, NULL, NULL, NULL,
	    error);
	close(err_fd);
	close(args.agent_fd);
	close(args.qmp_fd);
	if (!ok) {
		close(state_fd);
		return FALSE;
	}
	ok = bare_incoming(qmp_path, state_fd, &t_running, error);
	close(state_fd);
	if (!ok)
		return FALSE;
	b->agent = connect_to(agent_path, error);
	if (b->agent < 0)
		return FALSE;
	sbx_proto_put_u32(hello, SBX_PROTO_MAGIC);
	sbx_proto_put_u32(hello + 4, SBX_PROTO_VERSION);
	sbx_proto_put_u32(hello + 8, SBX_PROTO_VERSION);
	if (!send_frame(b->agent, SBX_MSG_HELLO, 0, 0, hello, sizeof(hello), error) ||
	    !recv_type(b->agent, SBX_MSG_HELLO_REPLY, 0, &h, buf, error) ||
	    !ping(b->agent, buf, error))
		return FALSE;
	*to_running = (t_running - t0) / 1000.0;
	*to_echo = (g_get_monotonic_time() - t0) / 1000.0;
	return TRUE;
}

SbxBenchFloor *
sbx_bench_floor_new(void)
{
	SbxBenchFloor *f = g_new0(SbxBenchFloor, 1);
	f->to_running = g_array_new(FALSE, FALSE, sizeof(gdouble));
	f->to_echo = g_array_new(FALSE, FALSE, sizeof(gdouble));
	f->to_first_byte = g_array_new(FALSE, FALSE, sizeof(gdouble));
	f->echo_rtt = g_array_new(FALSE, FALSE, sizeof(gdouble));
	f->identity = g_array_new(FALSE, FALSE, sizeof(gdouble));
	f->pooled_first_byte = g_array_new(FALSE, FALSE, sizeof(gdouble));
	f->channel_mibs = g_array_new(FALSE, FALSE, sizeof(gdouble));
	return f;
}

void
sbx_bench_floor_free(SbxBenchFloor *f)
{
	if (f == NULL)
		return;
	g_array_unref(f->to_running);
	g_array_unref(f->to_echo);
	g_array_unref(f->to_first_byte);
	g_array_unref(f->echo_rtt);
	g_array_unref(f->identity);
	g_array_unref(f->pooled_first_byte);
	g_array_unref(f->channel_mibs);
	g_free(f->label);
	g_free(f);
}

gboolean
sbx_bench_floor_run(const gchar *snapshot_dir, guint runs, guint stream_mib, SbxBenchFloor *f,
		    GError **error)
{
	g_autoptr(SbxQemuSnapshotArgs) sargs = sbx_qemu_snapshot_load_args(snapshot_dir, error);
	g_autofree guint8 *buf = g_malloc(SBX_PROTO_MAX_PAYLOAD);
	g_autofree gchar *count = g_strdup_printf("count=%u", stream_mib * 16);
	const gchar *echo_argv[] = {"/bin/echo", "x", NULL};
	const gchar *dd_argv[] = {"/bin/dd", "if=/dev/zero", "bs=65536", NULL, NULL};
	gint memfd;

	if (sargs == NULL)
		return FALSE;
	dd_argv[3] = count;
	g_free(f->label);
	f->label = g_strdup_printf("%u MiB, %u vCPUs, %s", sargs->spec->memory_mib,
				   sargs->spec->vcpus, sargs->spec->kernel);
	/* copied once, as the backend does for its first clone */
	memfd = sbx_qemu_snapshot_memfd_new(snapshot_dir, (guint64)sargs->spec->memory_mib << 20,
					    error);
	if (memfd < 0)
		return FALSE;
	for (guint i = 0; i < runs; i++) {
		Bare b = {NULL, 0, -1};
		gdouble running = 0, echo = 0, ident = 0, v;
		gint64 t0, first = 0;
		guint64 bytes = 0;
		gboolean ok =
		    bare_restore(snapshot_dir, sargs, memfd, &b, buf, &running, &echo, error);

		if (ok) {
			g_array_append_val(f->to_running, running);
			g_array_append_val(f->to_echo, echo);
			/* the identity, as the daemon gives it (the clock jumps forward) */
			t0 = g_get_monotonic_time();
			ok = identity(b.agent, buf, error);
			ident = (g_get_monotonic_time() - t0) / 1000.0;
			if (ok)
				g_array_append_val(f->identity, ident);
		}
		if (ok) {
			/* the first process in the restored guest, as (a) runs `echo x` */
			t0 = g_get_monotonic_time();
			ok = exec_stdout(b.agent, echo_argv, buf, &first, &bytes, error);
			v = echo + ident + (first - t0) / 1000.0;
			if (ok)
				g_array_append_val(f->to_first_byte, v);
		}
		for (guint k = 0; ok && k < FLOOR_PINGS; k++) {
			t0 = g_get_monotonic_time();
			ok = ping(b.agent, buf, error);
			v = (g_get_monotonic_time() - t0) / 1000.0;
			if (ok)
				g_array_append_val(f->echo_rtt, v);
		}
		if (ok && i < 3) {
			t0 = g_get_monotonic_time();
			ok = exec_stdout(b.agent, dd_argv, buf, &first, &bytes, error);
			v = (gdouble)bytes / (1024.0 * 1024.0) /
			    ((g_get_monotonic_time() - t0) / (gdouble)G_USEC_PER_SEC);
			if (ok && bytes != (guint64)stream_mib << 20) {
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
					    "channel floor: %" G_GUINT64_FORMAT " bytes", bytes);
				ok = FALSE;
			}
			if (ok)
				g_array_append_val(f->channel_mibs, v);
		}
		bare_stop(&b);
		if (!ok) {
			g_prefix_error(error, "bare QEMU restore of %s: ", snapshot_dir);
			close(memfd);
			return FALSE;
		}
		g_printerr("f");
	}
	/* the pool's floor: a VM restored ahead that answered HELLO and ran the
	 * daemon's warm-up command, as a pooled one; then what a create from the
	 * pool waits for: IDENTITY, then the first byte of `echo x` */
	for (guint i = 0; i < MIN(runs, 5); i++) {
		const gchar *warm_argv[] = {"sh", "-c", "echo x >/dev/null && true", NULL};
		Bare b = {NULL, 0, -1};
		gdouble running = 0, echo = 0, v;
		gint64 t0, first = 0;
		guint64 bytes = 0;
		gboolean ok =
		    bare_restore(snapshot_dir, sargs, memfd, &b, buf, &running, &echo, error) &&
		    exec_stdout(b.agent, warm_argv, buf, &first, &bytes, error);

		if (ok) {
			t0 = g_get_monotonic_time();
			ok = identity(b.agent, buf, error) &&
			     exec_stdout(b.agent, echo_argv, buf, &first, &bytes, error);
			v = (first - t0) / 1000.0;
			if (ok)
				g_array_append_val(f->pooled_first_byte, v);
		}
		bare_stop(&b);
		if (!ok) {
			g_prefix_error(error, "bare QEMU restore of %s (pooled): ", snapshot_dir);
			close(memfd);
			return FALSE;
		}
		g_printerr("f");
	}
	close(memfd);
	return TRUE;
}
