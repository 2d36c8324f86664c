/* take.c - the sequence every heap command shares: re-read the maps,
 * prepare the snapshot buffer while the target runs, pause, copy, resume,
 * validate the interpreter state on the copy, walk the copy.
 * The pause covers the copy and nothing else (limits.md). Also the
 * snapshot made before attaching, whose buffer is readied meanwhile. */
#include "pyheapscope/heap.h"

#include <errno.h>

#include <string.h>
#include <time.h>

#define COLLECTION_RETRIES 40
/* A stop lands inside a splice rarely (measured: 1 in 40 summaries of a
 * target churning in four threads); eight misses in a row mean the links
 * are really broken, i.e. the offsets are wrong. */
#define MIDWAY_RETRIES 8

/* Is a collection running in the main interpreter, as the copy says? The
 * collector moves objects to private lists and reuses the back links while
 * it runs, so such a copy cannot be walked as it is. */
static int collecting(struct py_process *p, struct memsrc *mem)
{
    const int64_t *o = p->off.v;
    uint64_t interp = 0;
    int32_t flag = 0;
    if (memsrc_read_u64(mem, p->runtime_addr + (uint64_t)o[OFF_RUNTIME_INTERP_HEAD], &interp, NULL) != PHS_OK)
        return 0;
    uint64_t gc = py_gc_state_addr(p, interp, 1);
    if (memsrc_read(mem, gc + (uint64_t)o[OFF_GC_COLLECTING], &flag, 4, NULL) != PHS_OK)
        return 0;
    return flag != 0;
}

/* The interpreter state, read from the copy: the offsets still fit and
 * the thread lists close. The GC lists are left to the walk, which checks
 * every link as it follows them. */
static enum phs_status check_state(struct py_process *p, struct snapshot *snap, struct phs_error *err)
{
    struct memsrc *live = p->mem;
    p->mem = &snap->base;
    struct py_state s;
    enum phs_status st = py_read_state_heads(p, &s, err);
    if (st == PHS_OK)
        py_state_done(&s);
    p->mem = live;
    return st;
}

/* Walk the copy: everything is read from it from here on; what it lacks
 * (read-only file data) comes from the live process through the
 * snapshot. */
static enum phs_status walk_copy(struct py_process *p, struct snapshot *snap, int tolerant, struct heap *h,
                                 struct phs_error *err)
{
    struct memsrc *live = p->mem;
    p->mem = &snap->base;
    struct heap_walk_opts opts = {tolerant};
    enum phs_status st = heap_walk(p, &snap->base, snap, &opts, h, err);
    p->mem = live;
    return st;
}

/* Stopped between the two stores of a list splice, as the state or the
 * walk found: worth another pause, a few times. */
static int midway(enum phs_status st, const struct phs_error *err, unsigned retries)
{
    return st == PHS_OFFSETS && err && err->transient && retries < MIDWAY_RETRIES;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static enum phs_status take(struct py_process *p, struct snapshot *snap, int nonblocking, struct heap *h,
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
    int tolerant = nonblocking;
    uint64_t t_prepare = monotonic_ns();
    if ((st = snapshot_prepare(snap, &p->maps, err)) != PHS_OK)
        return st;
    tm->prepare_ns = monotonic_ns() - t_prepare;
    if (nonblocking) {
        if ((st = snapshot_copy(snap, err)) == PHS_OK)
            st = walk_copy(p, snap, tolerant, h, err);
    } else {
        for (int attempt = 0;; attempt++) {
            struct pause pause;
            if ((st = pause_begin(&pause, p->pid, err)) != PHS_OK)
                return st;
            tm->paused = 1;
            tm->threads_paused = pause.n;
            memsrc_invalidate(p->mem);
            st = snapshot_copy(snap, err);
            tm->pause_ns += pause_end(&pause);
            if (st != PHS_OK)
                break;
            /* Stopped in the middle of a collection: let it finish and look again. */
            if (collecting(p, &snap->base)) {
                if (attempt >= COLLECTION_RETRIES) {
                    tolerant = 1;    /* it never stops collecting: walk what is there */
                    st = walk_copy(p, snap, tolerant, h, err);
                    break;
                }
                tm->collection_retries++;
                sleep_ms(1 + attempt);
                continue;
            }
            st = check_state(p, snap, err);
            if (st == PHS_OK)
                st = walk_copy(p, snap, tolerant, h, err);
            if (midway(st, err, tm->midway_retries)) {
                tm->midway_retries++;
                sleep_ms(1);
                continue;
            }
            break;
        }
    }
    if (st != PHS_OK)
        return st;
    tm->copy_ns = snap->copy_ns;
    tm->bytes_copied = snap->bytes_copied;
    tm->failed_regions = snap->failed_regions;
    tm->walk_ns = h->stats.walk_ns;
    tm->total_ns = monotonic_ns() - t0;
    return st;
}

enum phs_status heap_take(struct py_process *p, struct snapshot *snap, int nonblocking, struct heap *h,
                          struct heap_timing *tm, struct phs_error *err)
{
    enum phs_status st = take(p, snap, nonblocking, h, tm, err);
    /* It was there when we attached: gone now means it exited meanwhile. */
    if (st == PHS_NO_PROCESS)
        st = phs_error_set(err, PHS_EXITED, ESRCH, "process %d exited while being read", (int)p->pid);
    return st;
}

struct snapshot *heap_snapshot_early(pid_t pid)
{
    struct snapshot *snap = snapshot_new(NULL);
    struct maps maps;
    /* No maps (no such process, no permission): attaching says why. */
    if (snap && maps_load(pid, &maps, NULL) == PHS_OK) {
        snapshot_reserve(snap, &maps);
        maps_done(&maps);
    }
    return snap;
}
