/* top_screen.c - placeholder until the curses view lands. */
#include "top.h"

#include <stdio.h>

int top_screen_run(struct top_session *t, const struct cli_opts *o)
{
    (void)t;
    (void)o;
    fprintf(stderr, "pyheapscope top: the full-screen view is not in this build yet; use --batch or --json\n");
    return phs_status_exit_code(PHS_USAGE);
}
