/* replays fuzz inputs through the libFuzzer entry point without libFuzzer,
 * so the target is exercised by the plain (gcc) build too.
 * usage: fuzz-replay FILE|DIR...
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static void
replay_file(const gchar *path)
{
	g_autofree gchar *contents = NULL;
	gsize len = 0;
	g_autoptr(GError) error = NULL;
	if (!g_file_get_contents(path, &contents, &len, &error))
		g_error("%s", error->message);
	g_print("%s (%" G_GSIZE_FORMAT " bytes)\n", path, len);
	LLVMFuzzerTestOneInput((const guint8 *)contents, len);
}

int
main(int argc, char **argv)
{
	guint n = 0;
	for (int i = 1; i < argc; i++) {
		g_autoptr(GDir) dir = NULL;
		const gchar *name;
		if (!g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
			replay_file(argv[i]);
			n++;
			continue;
		}
		dir = g_dir_open(argv[i], 0, NULL);
		while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
			g_autofree gchar *path = g_build_filename(argv[i], name, NULL);
			replay_file(path);
			n++;
		}
	}
	/* an empty input and a few fixed ones, whatever the corpus holds */
	LLVMFuzzerTestOneInput((const guint8 *)"", 0);
	LLVMFuzzerTestOneInput((const guint8 *)"\x13\x00\x01\x00\x01\x00\x00\x00\xff\xff\xff\xff",
			       12);
	g_print("replayed %u inputs\n", n + 2);
	return n > 0 ? 0 : 1;
}
