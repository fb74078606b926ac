/* the daemon's log writer: the journal when stderr goes there, else one line
 * per message on stderr with the sandbox id in front.
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* installs the writer; debug messages only when @verbose */
void sbx_daemon_log_init(gboolean verbose);

G_END_DECLS
