/* take.c - the sequence every heap command shares: re-read the maps,
 * prepare the snapshot buffer while the target runs, pause, copy, resume,
 * validate the interpreter state on the copy, walk the copy.
 * The pause covers the copy and nothing else (limits.md). */
#include "pyheapscope/heap.h"

#include <string.h>

enum phs_status heap_take(struct py_process *p, struct snapshot *snap, int nonblocking, struct heap *h,
                          struct heap_timing *tm, struct phs_error *err)
{
    uint64_t t0 = monotonic_ns();
    memset(tm, 0, sizeof *tm);
    memset(h, 0, sizeof *h);
    /* The heap grows new mappings between snapshots: plan from fresh maps. */
    struct maps fresh;
    enum phs_status st = maps_load(p->pid, &fresh, err);
    if (st != PHS_OK)
        return st;
    maps_done(&p->maps);
    p->maps = fresh;
    memsrc_invalidate(p->mem);
    if ((st = snapshot_prepare(snap, &p->maps, err)) != PHS_OK)
        return st;
    if (nonblocking) {
        st = snapshot_copy(snap, err);
    } else {
        struct pause pause;
        if ((st = pause_begin(&pause, p->pid, err)) != PHS_OK)
            return st;
        tm->paused = 1;
        tm->threads_paused = pause.n;
        memsrc_invalidate(p->mem);
        st = snapshot_copy(snap, err);
        tm->pause_ns = pause_end(&pause);
    }
    if (st != PHS_OK)
        return st;
    tm->copy_ns = snap->copy_ns;
    tm->bytes_copied = snap->bytes_copied;
    tm->failed_regions = snap->failed_regions;
    /* Read everything from the copy from here on; what it lacks (read-only
     * file data) comes from the live process through the snapshot. */
    struct memsrc *live = p->mem;
    p->mem = &snap->base;
    if (!nonblocking) {
        struct py_state s;
        st = py_read_state(p, &s, err);
        if (st == PHS_OK)
            py_state_done(&s);
    }
    if (st == PHS_OK) {
        struct heap_walk_opts opts = {nonblocking};
        st = heap_walk(p, &snap->base, snap, &opts, h, err);
    }
    p->mem = live;
    tm->walk_ns = h->stats.walk_ns;
    tm->total_ns = monotonic_ns() - t0;
    return st;
}
