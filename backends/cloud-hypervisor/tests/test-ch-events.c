/* the event monitor parser: CH's pretty-printed events split on blank lines,
 * however the pipe cuts them, bounded, hostile input skipped
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <unistd.h>

#include "sbx-ch-events.h"

#define BOOTED                                                                                     \
	"{\n  \"timestamp\": {\n    \"secs\": 0,\n    \"nanos\": 29227524\n  },\n"                 \
	"  \"source\": \"vm\",\n  \"event\": \"booted\",\n  \"properties\": null\n}\n\n"
#define REMOVED                                                                                    \
	"{\n  \"timestamp\": {\n    \"secs\": 3,\n    \"nanos\": 1\n  },\n"                        \
	"  \"source\": \"vm\",\n  \"event\": \"device-removed\",\n"                                \
	"  \"properties\": {\n    \"id\": \"disk1\",\n    \"bdf\": \"0000:00:06.0\"\n  }\n}\n\n"

typedef struct {
	GPtrArray *seen;
	gboolean eof;
} Seen;

static void
on_event(const gchar *source, const gchar *event, JsonObject *properties, gpointer user_data)
{
	Seen *s = user_data;
	if (source == NULL) {
		s->eof = TRUE;
		return;
	}
	g_ptr_array_add(
	    s->seen,
	    g_strdup_printf("%s/%s%s%s", source, event, properties != NULL ? " id=" : "",
			    properties != NULL
				? json_object_get_string_member_with_default(properties, "id", "?")
				: ""));
}

static void
test_split(void)
{
	Seen s = {g_ptr_array_new_with_free_func(g_free), FALSE};
	g_autoptr(SbxChEvents) events = sbx_ch_events_new(-1, on_event, &s);
	const gchar *text = BOOTED REMOVED BOOTED;

	/* one byte at a time: a pipe may cut anywhere, even between the newlines */
	for (gsize i = 0; text[i] != '\0'; i++)
		sbx_ch_events_feed(events, text + i, 1);
	g_assert_cmpuint(s.seen->len, ==, 3);
	g_assert_cmpstr(g_ptr_array_index(s.seen, 0), ==, "vm/booted");
	g_assert_cmpstr(g_ptr_array_index(s.seen, 1), ==, "vm/device-removed id=disk1");
	g_assert_cmpstr(g_ptr_array_index(s.seen, 2), ==, "vm/booted");
	g_ptr_array_unref(s.seen);
}

static void
test_hostile(void)
{
	Seen s = {g_ptr_array_new_with_free_func(g_free), FALSE};
	g_autoptr(SbxChEvents) events = sbx_ch_events_new(-1, on_event, &s);
	g_autofree gchar *huge = g_strnfill(SBX_CH_EVENTS_MAX + 10, 'x');

	/* not JSON, not an object, no source: skipped */
	sbx_ch_events_feed(events, "garbage\n\n[1,2]\n\n{\"event\":\"x\"}\n\n", 31);
	/* an oversized event is dropped, up to its blank line, and the next one counts */
	sbx_ch_events_feed(events, huge, strlen(huge));
	sbx_ch_events_feed(events, "{\"source\":\"vm\",\"event\":\"fake\"}\n\n", 32);
	/* a NUL byte spoils its own event only */
	sbx_ch_events_feed(events, "{\"sou\0rce\"\n\n", 12);
	sbx_ch_events_feed(events, BOOTED, strlen(BOOTED));
	g_assert_cmpuint(s.seen->len, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(s.seen, 0), ==, "vm/booted");
	g_ptr_array_unref(s.seen);
}

static void
test_pipe(void)
{
	Seen s = {g_ptr_array_new_with_free_func(g_free), FALSE};
	gint fds[2];
	g_autoptr(SbxChEvents) events = NULL;
	const gchar *text = BOOTED REMOVED;

	g_assert_cmpint(pipe(fds), ==, 0);
	events = sbx_ch_events_new(fds[0], on_event, &s);
	g_assert_cmpint(write(fds[1], text, strlen(text)), ==, (gssize)strlen(text));
	close(fds[1]);
	while (!s.eof)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(s.seen->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(s.seen, 1), ==, "vm/device-removed id=disk1");
	g_ptr_array_unref(s.seen);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ch-events/split", test_split);
	g_test_add_func("/ch-events/hostile", test_hostile);
	g_test_add_func("/ch-events/pipe", test_pipe);
	return g_test_run();
}
