/* live.c - the start every one-shot command on a live process shares:
 * make the snapshot buffer (readied while attaching), attach, take one
 * consistent heap; and the release of all three, whatever was reached. */
#include "cli.h"

#include <string.h>

enum phs_status cli_live_take(const struct cli_opts *o, struct cli_live *l, struct phs_error *err)
{
    memset(l, 0, sizeof *l);
    if (!(l->snap = heap_snapshot_early(o->pid)))
        return phs_error_set(err, PHS_INTERNAL, 0, "out of memory");
    enum phs_status st = py_attach(o->pid, &o->attach, &l->p, err);
    if (st != PHS_OK)
        return st;
    l->attached = 1;
    snapshot_set_live(l->snap, l->p.mem);
    st = heap_take(&l->p, l->snap, o->nonblocking, &l->h, &l->tm, err);
    l->have_heap = st == PHS_OK;
    return st;
}

void cli_live_done(struct cli_live *l)
{
    if (l->have_heap)
        heap_done(&l->h);
    snapshot_free(l->snap);
    if (l->attached)
        py_process_done(&l->p);
    memset(l, 0, sizeof *l);
}
