/* top.h - what the `top` controller (top.c) and its curses screen
 * (top_screen.c) share: the session, refreshed by the controller and only
 * read by the views. */
#ifndef PYHEAPSCOPE_TOP_H
#define PYHEAPSCOPE_TOP_H

#include <time.h>

#include "cli.h"
#include "pyheapscope/growth.h"
#include "pyheapscope/heap.h"

struct top_session {
    struct py_process p;
    int attached;
    int nonblocking;
    struct snapshot *snap;         /* one buffer reused by every refresh */
    struct growth growth;
    struct heap heap;              /* the last refresh's objects, for drill-down */
    struct heap_timing timing;
    struct target_usage usage;
    uint64_t gen_objects[3], permanent_objects;
    char cmdline[512];
    time_t wall;                   /* when the last refresh was taken */
    uint64_t last_ns;
    double elapsed;                /* seconds since the refresh before */
};

enum phs_status top_open(struct top_session *t, const struct cli_opts *o, struct phs_error *err);
/* One snapshot, walk and growth update. On error the session keeps the
 * last good data. */
enum phs_status top_refresh(struct top_session *t, struct phs_error *err);
void top_close(struct top_session *t);

/* "1:02:03", "3d 04:05:06" */
void top_format_uptime(double seconds, char *out, size_t cap);

/* The full-screen view (top_screen.c): runs until q; returns the exit status. */
int top_screen_run(struct top_session *t, const struct cli_opts *o);

#endif
