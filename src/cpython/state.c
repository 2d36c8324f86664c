/* state.c - reads the interpreters, their thread states and their GC
 * generations, and checks on the way that the offsets fit the memory.
 *
 * Every pointer comes from the target and is untrusted: each list walk is
 * bounded, each link is checked against its neighbour, and a read that fails
 * becomes "offsets inconsistent" (or "process gone"), never a crash. */
#include "pyheapscope/runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_INTERPRETERS 4096
#define MAX_THREADS      (1u << 20)
#define MAX_GC_OBJECTS   (1ull << 31)
#define GC_LINK_MASK     (~(uint64_t)3)   /* low bits of _gc_next/_gc_prev are flags */

static int64_t O(const struct py_process *p, enum offsets_field f) { return p->off.v[f]; }

/* A read failure while following the target's structures means the offsets
 * sent us astray, unless the process is gone. */
static enum phs_status inconsistent(const struct py_process *p, struct phs_error *err, const char *what)
{
    if (err && (err->code == PHS_NO_PROCESS || err->code == PHS_PERMISSION || err->code == PHS_INTERNAL))
        return err->code;
    char detail[sizeof err->msg];
    snprintf(detail, sizeof detail, "%s", err ? err->msg : "");
    return phs_error_set(err, PHS_OFFSETS, 0, "offsets inconsistent with process %d (offsets from %s): %s%s%s",
                         (int)p->pid, offsets_source_name(p->off.source), what, *detail ? ": " : "", detail);
}

static enum phs_status check_type_type(struct py_process *p, struct phs_error *err)
{
    uint64_t ob_type, name_ptr;
    char name[16];
    if (memsrc_read_u64(p->mem, p->type_type_addr + (uint64_t)O(p, OFF_OBJECT_TYPE), &ob_type, err) != PHS_OK ||
        memsrc_read_u64(p->mem, p->type_type_addr + (uint64_t)O(p, OFF_TYPE_NAME), &name_ptr, err) != PHS_OK ||
        memsrc_read_cstr(p->mem, name_ptr, name, sizeof name, err) != PHS_OK)
        return inconsistent(p, err, "reading PyType_Type");
    if (ob_type != p->type_type_addr || strcmp(name, "type") != 0)
        return phs_error_set(err, PHS_OFFSETS, 0, "offsets inconsistent with process %d: PyType_Type at 0x%" PRIx64
                             " is not a type named \"type\"", (int)p->pid, p->type_type_addr);
    return PHS_OK;
}

/* The GC lists and the thread list are spliced by the target's threads
 * (the GIL holder tracking or untracking an object, a thread starting or
 * exiting), and a stop can land between the two stores of a splice. A
 * broken link there is then no proof that the offsets are wrong: mark the
 * error transient, so that a caller which paused can look again. */
static enum phs_status maybe_midway(enum phs_status st, struct phs_error *err)
{
    if (st == PHS_OFFSETS && err)
        err->transient = 1;
    return st;
}

/* Walk one circular GC list from its head; count its objects and check that
 * every prev link points back to the node we came from. */
static enum phs_status walk_gc_list_links(struct py_process *p, uint64_t head, uint64_t *count, struct phs_error *err)
{
    uint64_t link[2];
    if (memsrc_read(p->mem, head, link, sizeof link, err) != PHS_OK)
        return inconsistent(p, err, "reading a GC list head");
    uint64_t prev = head, node = link[0] & GC_LINK_MASK, n = 0;
    while (node != head) {
        if (node == 0 || node % 8 != 0)
            return phs_error_set(err, PHS_OFFSETS, 0, "offsets inconsistent with process %d: GC list at 0x%" PRIx64
                                 " has a bad link 0x%" PRIx64 " after %" PRIu64 " objects", (int)p->pid, head, node, n);
        if (++n > MAX_GC_OBJECTS)
            return phs_error_set(err, PHS_OFFSETS, 0, "GC list at 0x%" PRIx64 " does not return to its head", head);
        if (memsrc_read(p->mem, node, link, sizeof link, err) != PHS_OK)
            return inconsistent(p, err, "following a GC list");
        if ((link[1] & GC_LINK_MASK) != prev)
            return phs_error_set(err, PHS_OFFSETS, 0, "offsets inconsistent with process %d: GC list at 0x%" PRIx64
                                 " has a broken back link at object %" PRIu64, (int)p->pid, head, n);
        prev = node;
        node = link[0] & GC_LINK_MASK;
    }
    if (memsrc_read(p->mem, head, link, sizeof link, err) != PHS_OK)
        return inconsistent(p, err, "reading a GC list head");
    if ((link[1] & GC_LINK_MASK) != prev)
        return phs_error_set(err, PHS_OFFSETS, 0, "offsets inconsistent with process %d: GC list head 0x%" PRIx64
                             " does not point back to its last object", (int)p->pid, head);
    *count = n;
    return PHS_OK;
}

static enum phs_status walk_gc_list(struct py_process *p, uint64_t head, uint64_t *count, struct phs_error *err)
{
    return maybe_midway(walk_gc_list_links(p, head, count, err), err);
}

/* The incremental collector's lists (young, old[0], old[1]), read into
 * gen[], as Python reports them: get_objects(0) is young, (1) nothing, (2)
 * both old spaces; get_count() is young's, then the visited old space's,
 * then the other's; get_threshold() is young's, old[0]'s and 0. */
static enum phs_status incremental_view(struct py_process *p, struct py_gc *gc, struct phs_error *err)
{
    int32_t visited;
    if (memsrc_read(p->mem, gc->addr + (uint64_t)O(p, OFF_GC_VISITED_SPACE), &visited, 4, err) != PHS_OK)
        return inconsistent(p, err, "reading gc.visited_space");
    if (visited != 0 && visited != 1)
        return phs_error_set(err, PHS_OFFSETS, 0, "offsets inconsistent with process %d: gc.visited_space is %d",
                             (int)p->pid, (int)visited);
    struct py_generation old[2] = {gc->gen[1], gc->gen[2]};   /* gen[0] is young, as Python says */
    gc->incremental = 1;
    gc->visited_space = visited;
    gc->gen[1] = (struct py_generation){0, old[visited].count, old[0].threshold};
    gc->gen[2] = (struct py_generation){old[0].objects + old[1].objects, old[visited ^ 1].count, 0};
    return PHS_OK;
}

int py_gc_python_generation(const struct py_process *p, int list)
{
    return O(p, OFF_GC_VISITED_SPACE) != OFFSET_ABSENT && list > 0 ? 2 : list;
}

/* The collector's state at gc_addr; its lists are followed (and their
 * objects counted) only if chase_lists. */
static enum phs_status read_gc(struct py_process *p, uint64_t gc_addr, int chase_lists, struct py_gc *gc,
                               struct phs_error *err)
{
    memset(gc, 0, sizeof *gc);
    gc->present = 1;
    gc->addr = gc_addr;
    uint64_t gens = gc_addr + (uint64_t)O(p, OFF_GC_GENERATIONS);
    for (int g = 0; g < 3; g++) {
        uint64_t gen = gens + (uint64_t)g * (uint64_t)O(p, OFF_GCGEN_SIZE);
        int32_t threshold, count;
        if (memsrc_read(p->mem, gen + (uint64_t)O(p, OFF_GCGEN_THRESHOLD), &threshold, 4, err) != PHS_OK ||
            memsrc_read(p->mem, gen + (uint64_t)O(p, OFF_GCGEN_COUNT), &count, 4, err) != PHS_OK)
            return inconsistent(p, err, "reading the GC generations");
        gc->gen[g].threshold = threshold;
        gc->gen[g].count = count;
        enum phs_status st = chase_lists ? walk_gc_list(p, gen + (uint64_t)O(p, OFF_GCGEN_HEAD),
                                                        &gc->gen[g].objects, err) : PHS_OK;
        if (st != PHS_OK)
            return st;
    }
    uint64_t permanent = gc_addr + (uint64_t)O(p, OFF_GC_PERMANENT) + (uint64_t)O(p, OFF_GCGEN_HEAD);
    enum phs_status st = chase_lists ? walk_gc_list(p, permanent, &gc->permanent_objects, err) : PHS_OK;
    if (st != PHS_OK)
        return st;
    int32_t collecting;
    if (memsrc_read(p->mem, gc_addr + (uint64_t)O(p, OFF_GC_COLLECTING), &collecting, 4, err) != PHS_OK)
        return inconsistent(p, err, "reading gc.collecting");
    gc->collecting = collecting != 0;
    /* Thresholds are small positive numbers (700/10/10 by default); anything
     * else means the generation struct is misread. */
    if (gc->gen[0].threshold < 0 || gc->gen[1].threshold < 0 || gc->gen[2].threshold < 0)
        return phs_error_set(err, PHS_OFFSETS, 0, "offsets inconsistent with process %d: negative GC threshold",
                             (int)p->pid);
    return O(p, OFF_GC_VISITED_SPACE) != OFFSET_ABSENT ? incremental_view(p, gc, err) : PHS_OK;
}

static enum phs_status read_threads(struct py_process *p, struct py_interp *in, struct phs_error *err)
{
    uint64_t ts;
    if (memsrc_read_u64(p->mem, in->addr + (uint64_t)O(p, OFF_INTERP_THREADS_HEAD), &ts, err) != PHS_OK)
        return inconsistent(p, err, "reading the interpreter's thread list");
    size_t cap = 0;
    uint64_t prev = 0;
    while (ts) {
        if (in->nthreads >= MAX_THREADS || ts % 8 != 0)
            return phs_error_set(err, PHS_OFFSETS, 0, "offsets inconsistent with process %d: bad thread list",
                                 (int)p->pid);
        uint64_t back_interp, next, back_prev, thread_id;
        if (memsrc_read_u64(p->mem, ts + (uint64_t)O(p, OFF_TSTATE_INTERP), &back_interp, err) != PHS_OK ||
            memsrc_read_u64(p->mem, ts + (uint64_t)O(p, OFF_TSTATE_NEXT), &next, err) != PHS_OK ||
            memsrc_read_u64(p->mem, ts + (uint64_t)O(p, OFF_TSTATE_PREV), &back_prev, err) != PHS_OK ||
            memsrc_read_u64(p->mem, ts + (uint64_t)O(p, OFF_TSTATE_THREAD_ID), &thread_id, err) != PHS_OK)
            return inconsistent(p, err, "reading a thread state");
        if (back_interp != in->addr || back_prev != prev)
            return phs_error_set(err, PHS_OFFSETS, 0, "offsets inconsistent with process %d: thread state 0x%" PRIx64
                                 " does not point back to its interpreter 0x%" PRIx64, (int)p->pid, ts, in->addr);
        int64_t native = -1;
        if (O(p, OFF_TSTATE_NATIVE_THREAD_ID) != OFFSET_ABSENT &&
            memsrc_read(p->mem, ts + (uint64_t)O(p, OFF_TSTATE_NATIVE_THREAD_ID), &native, 8, err) != PHS_OK)
            return inconsistent(p, err, "reading a thread state");
        if (in->nthreads == cap) {
            cap = cap ? cap * 2 : 8;
            struct py_thread *nv = realloc(in->threads, cap * sizeof *nv);
            if (!nv)
                return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
            in->threads = nv;
        }
        in->threads[in->nthreads++] = (struct py_thread){ts, thread_id, native};
        prev = ts;
        ts = next;
    }
    return PHS_OK;
}

uint64_t py_gc_state_addr(const struct py_process *p, uint64_t interp, int is_main)
{
    if (O(p, OFF_INTERP_GC) != OFFSET_ABSENT)
        return interp + (uint64_t)O(p, OFF_INTERP_GC);
    return is_main ? p->runtime_addr + (uint64_t)O(p, OFF_RUNTIME_GC) : 0;
}

static enum phs_status read_state(struct py_process *p, struct py_state *s, int chase_gc_lists,
                                  struct phs_error *err)
{
    memset(s, 0, sizeof *s);
    enum phs_status st = check_type_type(p, err);
    if (st != PHS_OK)
        return st;
    uint64_t interp;
    if (memsrc_read_u64(p->mem, p->runtime_addr + (uint64_t)O(p, OFF_RUNTIME_INTERP_HEAD), &interp, err) != PHS_OK)
        return inconsistent(p, err, "reading _PyRuntime.interpreters.head");
    if (interp == 0)
        return phs_error_set(err, PHS_NOT_PYTHON, 0, "process %d has no Python interpreter yet "
                             "(starting up or shutting down)", (int)p->pid);
    /* The list starts with the newest interpreter; the main one is named
     * apart (the head stands in for it if that word cannot be read). */
    uint64_t main_interp = 0;
    struct phs_error ignored;
    if (memsrc_read_u64(p->mem, p->runtime_addr + (uint64_t)O(p, OFF_RUNTIME_INTERP_MAIN), &main_interp,
                        &ignored) != PHS_OK || !main_interp)
        main_interp = interp;
    size_t cap = 0;
    while (interp && st == PHS_OK) {
        if (s->ninterps >= MAX_INTERPRETERS || interp % 8 != 0) {
            st = phs_error_set(err, PHS_OFFSETS, 0, "offsets inconsistent with process %d: bad interpreter list",
                               (int)p->pid);
            break;
        }
        if (s->ninterps == cap) {
            cap = cap ? cap * 2 : 4;
            struct py_interp *nv = realloc(s->interps, cap * sizeof *nv);
            if (!nv) {
                st = phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
                break;
            }
            s->interps = nv;
        }
        struct py_interp *in = &s->interps[s->ninterps++];
        memset(in, 0, sizeof *in);
        in->addr = interp;
        in->is_main = interp == main_interp;
        if (memsrc_read(p->mem, interp + (uint64_t)O(p, OFF_INTERP_ID), &in->id, 8, err) != PHS_OK) {
            st = inconsistent(p, err, "reading an interpreter");
            break;
        }
        st = maybe_midway(read_threads(p, in, err), err);
        if (st != PHS_OK)
            break;
        /* shown with the main interpreter when the runtime holds it */
        uint64_t gc = py_gc_state_addr(p, interp, in->is_main);
        if (gc)
            st = read_gc(p, gc, chase_gc_lists, &in->gc, err);
        if (st != PHS_OK)
            break;
        if (memsrc_read_u64(p->mem, interp + (uint64_t)O(p, OFF_INTERP_NEXT), &interp, err) != PHS_OK)
            st = inconsistent(p, err, "reading the interpreter list");
    }
    if (st != PHS_OK)
        py_state_done(s);
    return st;
}

enum phs_status py_read_state(struct py_process *p, struct py_state *s, struct phs_error *err)
{
    return read_state(p, s, 1, err);
}

enum phs_status py_read_state_heads(struct py_process *p, struct py_state *s, struct phs_error *err)
{
    return read_state(p, s, 0, err);
}

void py_state_done(struct py_state *s)
{
    for (size_t i = 0; i < s->ninterps; i++)
        free(s->interps[i].threads);
    free(s->interps);
    s->interps = NULL;
    s->ninterps = 0;
}

/* Few enough that wrong offsets still fail at once to a person's eye; many
 * enough that a busy target (a stop inside a splice in 1 of ~300 pauses,
 * measured with four threads churning) never shows a false alarm. */
#define MIDWAY_RETRIES 8

enum phs_status py_read_state_paused(struct py_process *p, struct py_state *s, struct py_pause_stats *ps,
                                     struct phs_error *err)
{
    memset(ps, 0, sizeof *ps);
    for (;;) {
        struct pause pause;
        enum phs_status st = pause_begin(&pause, p->pid, err);
        if (st != PHS_OK)
            return st;
        ps->threads = pause.n;
        memsrc_invalidate(p->mem);   /* what was cached before the stop may have moved */
        st = py_read_state(p, s, err);
        ps->pause_ns += pause_end(&pause);
        if (st != PHS_OFFSETS || !err || !err->transient || ps->retries >= MIDWAY_RETRIES)
            return st;
        ps->retries++;
        struct timespec ms = {0, 1000000L};
        nanosleep(&ms, NULL);
    }
}
