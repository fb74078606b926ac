/* SbxAgentClient against the real sandboxd-agent in its host test mode
 * (`sandboxd-agent --listen PATH`): the fast end-to-end check of both sides.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "sbx-agent-client.h"
#include "sbx-error.h"
#include "sbx-test-agent.h"

typedef SbxTestAgent Fixture;

static void
fixture_setup(Fixture *fx, gconstpointer data)
{
	sbx_test_agent_start(fx);
}

static void
fixture_teardown(Fixture *fx, gconstpointer data)
{
	sbx_test_agent_stop(fx);
}

typedef struct {
	gboolean ok;
	GError *error;
	SbxExecResult result;
	gchar *out;
	gchar *err;
} Run;

static void
run_clear(Run *r)
{
	g_clear_error(&r->error);
	g_free(r->out);
	g_free(r->err);
}

/* runs argv with @input on stdin (NULL: no stdin) and collects the output */
static void
run(Fixture *fx, const gchar *const *argv, const gchar *input, Run *r)
{
	SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};
	SbxTestDrain out = {0}, err = {0};
	SbxTestFeed feed = {0};
	SbxTestWait w = {0};
	gint in_fd = -1;
	gint out_fd = sbx_test_drain_start(&out, TRUE);
	gint err_fd = sbx_test_drain_start(&err, TRUE);

	if (input != NULL) {
		g_autoptr(GBytes) b = g_bytes_new(input, strlen(input));
		in_fd = sbx_test_feed_start(&feed, b);
	}
	sbx_agent_client_exec_async(fx->client, &params, in_fd, out_fd, err_fd, NULL,
				    sbx_test_wait_cb, &w);
	/* borrowed: the client has its own copies now */
	close(out_fd);
	close(err_fd);
	if (in_fd >= 0)
		close(in_fd);
	sbx_test_wait_done(&w);
	r->ok = sbx_agent_client_exec_finish(fx->client, w.res, &r->result, &r->error);
	g_object_unref(w.res);
	sbx_test_drain_finish(&out);
	sbx_test_drain_finish(&err);
	r->out = g_string_free(g_steal_pointer(&out.text), FALSE);
	r->err = g_string_free(g_steal_pointer(&err.text), FALSE);
	sbx_test_drain_clear(&out);
	sbx_test_drain_clear(&err);
	if (feed.data != NULL)
		g_bytes_unref(feed.data);
}

static void
test_echo(Fixture *fx, gconstpointer data)
{
	const gchar *argv[] = {"echo", "hello", "world", NULL};
	Run r = {0};
	run(fx, argv, NULL, &r);
	g_assert_no_error(r.error);
	g_assert_true(r.ok);
	g_assert_cmpint(r.result.exit_code, ==, 0);
	g_assert_cmpint(r.result.signal, ==, 0);
	g_assert_cmpstr(r.out, ==, "hello world\n");
	g_assert_cmpstr(r.err, ==, "");
	run_clear(&r);
}

static void
test_cat_stdin(Fixture *fx, gconstpointer data)
{
	const gchar *argv[] = {"cat", NULL};
	Run r = {0};
	run(fx, argv, "line one\nline two\n", &r);
	g_assert_no_error(r.error);
	g_assert_cmpint(r.result.exit_code, ==, 0);
	g_assert_cmpstr(r.out, ==, "line one\nline two\n");
	run_clear(&r);

	/* an empty stdin is an immediate EOF */
	run(fx, argv, "", &r);
	g_assert_no_error(r.error);
	g_assert_cmpstr(r.out, ==, "");
	run_clear(&r);
}

static void
test_exit_codes(Fixture *fx, gconstpointer data)
{
	const gint codes[] = {0, 1, 42};
	for (guint i = 0; i < G_N_ELEMENTS(codes); i++) {
		g_autofree gchar *script = g_strdup_printf("exit %d", codes[i]);
		const gchar *argv[] = {"sh", "-c", script, NULL};
		Run r = {0};
		run(fx, argv, NULL, &r);
		g_assert_no_error(r.error);
		g_assert_cmpint(r.result.exit_code, ==, codes[i]);
		g_assert_cmpint(r.result.signal, ==, 0);
		run_clear(&r);
	}
}

static void
test_signal_death(Fixture *fx, gconstpointer data)
{
	const gchar *argv[] = {"sh", "-c", "kill -TERM $$; sleep 5", NULL};
	Run r = {0};
	run(fx, argv, NULL, &r);
	g_assert_no_error(r.error);
	g_assert_cmpint(r.result.signal, ==, SIGTERM);
	g_assert_cmpint(r.result.exit_code, ==, -1);
	g_assert_false(r.result.timed_out);
	run_clear(&r);
}

static void
test_stdout_stderr(Fixture *fx, gconstpointer data)
{
	const gchar *argv[] = {"sh", "-c", "echo out1; echo err1 >&2; echo out2; echo err2 >&2",
			       NULL};
	Run r = {0};
	run(fx, argv, NULL, &r);
	g_assert_no_error(r.error);
	g_assert_cmpstr(r.out, ==, "out1\nout2\n");
	g_assert_cmpstr(r.err, ==, "err1\nerr2\n");
	run_clear(&r);
}

static void
test_not_found(Fixture *fx, gconstpointer data)
{
	const gchar *argv[] = {"/nonexistent/sbx-no-such-command", NULL};
	Run r = {0};
	run(fx, argv, NULL, &r);
	g_assert_false(r.ok);
	g_assert_error(r.error, SBX_ERROR, SBX_ERROR_NOT_FOUND);
	run_clear(&r);
	g_assert_false(sbx_agent_client_is_closed(fx->client));
}

/* 20 MiB of random bytes on stdout, its checksum computed in the guest on stderr */
static void
test_20mb(Fixture *fx, gconstpointer data)
{
	const gchar *argv[] = {"sh", "-c",
			       "exec 3>&1; head -c 20971520 /dev/urandom | tee /dev/fd/3 | "
			       "sha256sum >&2",
			       NULL};
	SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};
	SbxTestDrain out = {0}, err = {0};
	SbxTestWait w = {0};
	SbxExecResult result = {0};
	g_autoptr(GError) error = NULL;
	gint out_fd = sbx_test_drain_start(&out, FALSE);
	gint err_fd = sbx_test_drain_start(&err, TRUE);
	g_autofree gchar *want = NULL;

	sbx_agent_client_exec_async(fx->client, &params, -1, out_fd, err_fd, NULL, sbx_test_wait_cb,
				    &w);
	close(out_fd);
	close(err_fd);
	sbx_test_wait_done(&w);
	g_assert_true(sbx_agent_client_exec_finish(fx->client, w.res, &result, &error));
	g_assert_no_error(error);
	g_object_unref(w.res);
	sbx_test_drain_finish(&out);
	sbx_test_drain_finish(&err);
	g_assert_cmpint(result.exit_code, ==, 0);
	g_assert_cmpuint(out.len, ==, 20971520);
	want = g_strdup_printf("%s  -\n", g_checksum_get_string(out.sum));
	g_assert_cmpstr(err.text->str, ==, want);
	sbx_test_drain_clear(&out);
	sbx_test_drain_clear(&err);
}

/* 4 MiB through stdin, checksummed by the guest */
static void
test_stdin_bulk(Fixture *fx, gconstpointer data)
{
	const gchar *argv[] = {"sha256sum", NULL};
	gsize len = 4 * 1024 * 1024 + 17;
	g_autofree guint8 *buf = g_malloc(len);
	g_autoptr(GBytes) bytes = NULL;
	g_autofree gchar *want = NULL;
	SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};
	SbxTestDrain out = {0};
	SbxTestFeed feed = {0};
	SbxTestWait w = {0};
	SbxExecResult result = {0};
	g_autoptr(GError) error = NULL;
	gint in_fd, out_fd;

	for (gsize i = 0; i < len; i++)
		buf[i] = (guint8)(i * 31 + (i >> 11));
	want = g_compute_checksum_for_data(G_CHECKSUM_SHA256, buf, len);
	bytes = g_bytes_new_take(g_steal_pointer(&buf), len);
	in_fd = sbx_test_feed_start(&feed, bytes);
	out_fd = sbx_test_drain_start(&out, TRUE);
	sbx_agent_client_exec_async(fx->client, &params, in_fd, out_fd, -1, NULL, sbx_test_wait_cb,
				    &w);
	close(in_fd);
	close(out_fd);
	sbx_test_wait_done(&w);
	g_assert_true(sbx_agent_client_exec_finish(fx->client, w.res, &result, &error));
	g_assert_no_error(error);
	g_object_unref(w.res);
	sbx_test_drain_finish(&out);
	g_assert_cmpint(result.exit_code, ==, 0);
	g_assert_true(g_str_has_prefix(out.text->str, want));
	sbx_test_drain_clear(&out);
	g_bytes_unref(feed.data);
}

static void
test_concurrent(Fixture *fx, gconstpointer data)
{
	const gchar *argv1[] = {"sh", "-c", "sleep 0.2; echo one; exit 1", NULL};
	const gchar *argv2[] = {"sh", "-c", "echo two; exit 2", NULL};
	SbxExecParams p1 = {.argv = argv1, .uid = -1, .gid = -1};
	SbxExecParams p2 = {.argv = argv2, .uid = -1, .gid = -1};
	SbxTestDrain o1 = {0}, o2 = {0};
	SbxTestWait w1 = {0}, w2 = {0};
	SbxExecResult r1 = {0}, r2 = {0};
	gint f1 = sbx_test_drain_start(&o1, TRUE);
	gint f2 = sbx_test_drain_start(&o2, TRUE);

	sbx_agent_client_exec_async(fx->client, &p1, -1, f1, -1, NULL, sbx_test_wait_cb, &w1);
	sbx_agent_client_exec_async(fx->client, &p2, -1, f2, -1, NULL, sbx_test_wait_cb, &w2);
	close(f1);
	close(f2);
	sbx_test_wait_done(&w1);
	sbx_test_wait_done(&w2);
	g_assert_true(sbx_agent_client_exec_finish(fx->client, w1.res, &r1, NULL));
	g_assert_true(sbx_agent_client_exec_finish(fx->client, w2.res, &r2, NULL));
	g_object_unref(w1.res);
	g_object_unref(w2.res);
	sbx_test_drain_finish(&o1);
	sbx_test_drain_finish(&o2);
	g_assert_cmpint(r1.exit_code, ==, 1);
	g_assert_cmpint(r2.exit_code, ==, 2);
	g_assert_cmpstr(o1.text->str, ==, "one\n");
	g_assert_cmpstr(o2.text->str, ==, "two\n");
	sbx_test_drain_clear(&o1);
	sbx_test_drain_clear(&o2);
}

/* many commands at once over the one connection, each output kept apart */
static void
test_many(Fixture *fx, gconstpointer data)
{
	enum { N = 48 };
	SbxTestDrain out[N];
	SbxTestWait w[N];
	gchar *args[N];

	memset(out, 0, sizeof(out));
	memset(w, 0, sizeof(w));
	for (guint i = 0; i < N; i++) {
		const gchar *argv[] = {"sh", "-c", "head -c $((1000 * $0)) /dev/zero; echo $0",
				       NULL, NULL};
		SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};
		gint fd = sbx_test_drain_start(&out[i], TRUE);
		args[i] = g_strdup_printf("%u", i);
		argv[3] = args[i];
		sbx_agent_client_exec_async(fx->client, &params, -1, fd, -1, NULL, sbx_test_wait_cb,
					    &w[i]);
		close(fd);
	}
	for (guint i = 0; i < N; i++) {
		SbxExecResult r = {0};
		g_autoptr(GError) error = NULL;
		g_autofree gchar *tail = g_strdup_printf("%u\n", i);
		sbx_test_wait_done(&w[i]);
		g_assert_true(sbx_agent_client_exec_finish(fx->client, w[i].res, &r, &error));
		g_assert_no_error(error);
		g_assert_cmpint(r.exit_code, ==, 0);
		g_object_unref(w[i].res);
		sbx_test_drain_finish(&out[i]);
		g_assert_cmpuint(out[i].len, ==, 1000 * i + strlen(tail));
		/* the zeros come first, our own line last */
		g_assert_cmpmem(out[i].text->str + out[i].text->len - strlen(tail), strlen(tail),
				tail, strlen(tail));
		sbx_test_drain_clear(&out[i]);
		g_free(args[i]);
	}
}

static gboolean
cancel_cb(gpointer user_data)
{
	g_cancellable_cancel(user_data);
	return G_SOURCE_REMOVE;
}

static void
test_cancel(Fixture *fx, gconstpointer data)
{
	const gchar *argv[] = {"sh", "-c", "echo started; exec sleep 1000", NULL};
	SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};
	g_autoptr(GCancellable) cancellable = g_cancellable_new();
	g_autoptr(GError) error = NULL;
	SbxTestDrain out = {0};
	SbxTestWait w = {0};
	gint fd = sbx_test_drain_start(&out, TRUE);

	sbx_agent_client_exec_async(fx->client, &params, -1, fd, -1, cancellable, sbx_test_wait_cb,
				    &w);
	close(fd);
	/* cancel once it has certainly started */
	while (out.text->len == 0)
		g_main_context_iteration(NULL, TRUE);
	g_idle_add(cancel_cb, cancellable);
	sbx_test_wait_done(&w);
	g_assert_false(sbx_agent_client_exec_finish(fx->client, w.res, NULL, &error));
	g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
	g_object_unref(w.res);
	sbx_test_drain_finish(&out);
	sbx_test_drain_clear(&out);
	/* the connection is still good */
	{
		const gchar *argv2[] = {"true", NULL};
		Run r = {0};
		run(fx, argv2, NULL, &r);
		g_assert_no_error(r.error);
		g_assert_cmpint(r.result.exit_code, ==, 0);
		run_clear(&r);
	}
}

static void
test_timeout(Fixture *fx, gconstpointer data)
{
	const gchar *argv[] = {"sleep", "1000", NULL};
	SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1, .timeout_ms = 100};
	SbxExecResult result = {0};
	g_autoptr(GError) error = NULL;
	SbxTestWait w = {0};

	sbx_agent_client_exec_async(fx->client, &params, -1, -1, -1, NULL, sbx_test_wait_cb, &w);
	sbx_test_wait_done(&w);
	g_assert_true(sbx_agent_client_exec_finish(fx->client, w.res, &result, &error));
	g_assert_no_error(error);
	g_object_unref(w.res);
	g_assert_true(result.timed_out);
	g_assert_cmpint(result.signal, ==, SIGKILL);
}

static void
test_agent_dies(Fixture *fx, gconstpointer data)
{
	const gchar *argv[] = {"sh", "-c", "echo $$; exec sleep 1000", NULL};
	SbxExecParams params = {.argv = argv, .uid = -1, .gid = -1};
	g_autoptr(GError) error = NULL;
	SbxTestDrain out = {0};
	SbxTestWait w = {0};
	gint fd = sbx_test_drain_start(&out, TRUE);
	gint64 pid;

	sbx_agent_client_exec_async(fx->client, &params, -1, fd, -1, NULL, sbx_test_wait_cb, &w);
	close(fd);
	while (strchr(out.text->str, '\n') == NULL)
		g_main_context_iteration(NULL, TRUE);
	pid = g_ascii_strtoll(out.text->str, NULL, 10);
	g_assert_cmpint(pid, >, 1);
	g_subprocess_force_exit(fx->agent);
	sbx_test_wait_done(&w);
	g_assert_false(sbx_agent_client_exec_finish(fx->client, w.res, NULL, &error));
	g_assert_error(error, SBX_ERROR, SBX_ERROR_SANDBOX_GONE);
	g_assert_true(sbx_agent_client_is_closed(fx->client));
	g_object_unref(w.res);
	/* the client closed its copy of the pipe when it failed */
	sbx_test_drain_finish(&out);
	sbx_test_drain_clear(&out);
	/* the orphan outlives the killed agent here (no VM around it) */
	kill((pid_t)pid, SIGKILL);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, func)                                                                            \
	g_test_add("/agent-real/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)
	ADD("echo", test_echo);
	ADD("cat-stdin", test_cat_stdin);
	ADD("exit-codes", test_exit_codes);
	ADD("signal-death", test_signal_death);
	ADD("stdout-stderr", test_stdout_stderr);
	ADD("not-found", test_not_found);
	ADD("20mb", test_20mb);
	ADD("stdin-bulk", test_stdin_bulk);
	ADD("concurrent", test_concurrent);
	ADD("many", test_many);
	ADD("cancel", test_cancel);
	ADD("timeout", test_timeout);
	ADD("agent-dies", test_agent_dies);
	return g_test_run();
}
