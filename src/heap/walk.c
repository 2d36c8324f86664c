/* walk.c - drives the heap walk: seeds it with every object on the
 * collector's lists, then follows references depth-first with an explicit
 * stack until nothing new turns up.
 *
 * Each object is admitted once, through an open-addressing set keyed by
 * address; it is admitted only if its header is readable, its refcount
 * positive and its ob_type an accepted type object, so a stray pointer
 * costs a counter, never a crash. Everything is bounded: list walks by a
 * maximum length and a back-link check, the object table by 2^31 entries. */
#include "walker.h"

#include <errno.h>
#include <stdlib.h>

#define MAX_OBJECTS      (1u << 31)
#define MAX_INTERPRETERS 4096
#define MAX_GC_LIST      (1ull << 31)
#define GC_LINK_MASK     (~(uint64_t)3)
#define MAX_VIEW         (1ull << 31)

struct pending {
    uint64_t addr;
    uint32_t tidx;             /* index into walker.types */
    uint32_t oidx;             /* index into heap.objs */
};

static struct pending *pending_stack(struct walker *w) { return (struct pending *)w->stack; }

const unsigned char *walker_view(struct walker *w, uint64_t addr, size_t len)
{
    if (w->snap) {
        const unsigned char *q = snapshot_ptr(w->snap, addr, len);
        if (q)
            return q;
    }
    if (len == 0 || len > MAX_VIEW)
        return NULL;
    if (len > w->cap_scratch) {
        unsigned char *s = realloc(w->scratch, len);
        if (!s) {
            w->oom = 1;
            return NULL;
        }
        w->scratch = s;
        w->cap_scratch = len;
    }
    return memsrc_read(w->mem, addr, w->scratch, len, NULL) == PHS_OK ? w->scratch : NULL;
}

static size_t vhash(uint64_t addr, size_t mask)
{
    return (size_t)(((addr >> 4) * 0x9E3779B97F4A7C15ull) >> 16) & mask;
}

/* The slot holding addr, or the empty slot where it would go. The table
 * keeps the addresses themselves, so the common question "seen before?"
 * costs one cache line. */
static size_t slot_of(const struct walker *w, uint64_t addr)
{
    size_t i = vhash(addr, w->visited_mask);
    while (w->visited[i] && w->visited[i] != addr)
        i = (i + 1) & w->visited_mask;
    return i;
}

uint32_t walker_find(struct walker *w, uint64_t addr)
{
    size_t i = slot_of(w, addr);
    return w->visited[i] ? w->visited_index[i] + 1 : 0;
}

static int grow_visited(struct walker *w)
{
    size_t n = (w->visited_mask + 1) * 2;
    uint64_t *v = calloc(n, sizeof *v);
    uint32_t *vi = malloc(n * sizeof *vi);
    if (!v || !vi) {
        free(v);
        free(vi);
        return -1;
    }
    for (size_t k = 0; k <= w->visited_mask; k++) {
        if (!w->visited[k])
            continue;
        size_t i = vhash(w->visited[k], n - 1);
        while (v[i])
            i = (i + 1) & (n - 1);
        v[i] = w->visited[k];
        vi[i] = w->visited_index[k];
    }
    free(w->visited);
    free(w->visited_index);
    w->visited = v;
    w->visited_index = vi;
    w->visited_mask = n - 1;
    return 0;
}

static int push(struct walker *w, uint64_t addr, uint32_t tidx, uint32_t oidx)
{
    if (w->nstack == w->cap_stack) {
        size_t cap = w->cap_stack ? w->cap_stack * 2 : 4096;
        uint64_t *s = realloc(w->stack, cap * sizeof(struct pending));
        if (!s)
            return -1;
        w->stack = s;
        w->cap_stack = cap;
    }
    pending_stack(w)[w->nstack++] = (struct pending){addr, tidx, oidx};
    return 0;
}

/* Admit the object at addr if it is one: returns its index + 1, or 0. */
static uint32_t admit(struct walker *w, uint64_t addr, uint32_t flags, int count_misses)
{
    uint64_t hdr[2];
    struct tinfo *t;
    if (rd(w, addr, hdr, sizeof hdr) != 0 || (int64_t)hdr[0] <= 0 ||
        !(t = types_get(w, hdr[1], 0)) || !t->valid) {
        if (count_misses)
            w->h->stats.bad_pointers++;
        return 0;
    }
    if (w->h->nobjs >= MAX_OBJECTS || w->oom)
        return 0;
    if ((w->h->nobjs + 1) * 2 > w->visited_mask + 1 && grow_visited(w) != 0) {
        w->oom = 1;
        return 0;
    }
    if (w->h->nobjs == w->cap_objs) {
        size_t cap = w->cap_objs * 2;
        struct heap_object *o = realloc(w->h->objs, cap * sizeof *o);
        if (!o) {
            w->oom = 1;
            return 0;
        }
        w->h->objs = o;
        w->cap_objs = cap;
    }
    uint32_t oidx = (uint32_t)w->h->nobjs++;
    w->h->objs[oidx] = (struct heap_object){addr, 0, t->heap_index, 0, 0, flags};
    size_t i = slot_of(w, addr);
    w->visited[i] = addr;
    w->visited_index[i] = oidx;
    if (push(w, addr, (uint32_t)(t - w->types), oidx) != 0)
        w->oom = 1;
    return oidx + 1;
}

uint32_t walker_ref(struct walker *w, uint64_t addr)
{
    if (!addr)
        return 0;
    if ((addr & 7) || addr < 4096 || addr >= (1ull << 48)) {
        w->h->stats.bad_pointers++;
        return 0;
    }
    size_t i = slot_of(w, addr);
    return w->visited[i] ? w->visited_index[i] + 1 : admit(w, addr, 0, 1);
}

void walker_maybe_ref(struct walker *w, uint64_t word)
{
    if ((word & 7) || word < 4096 || word >= (1ull << 48) || w->visited[slot_of(w, word)])
        return;
    admit(w, word, 0, 0);
}

/* ---- seeding from the collector's lists ---- */

static enum phs_status walk_gc_list(struct walker *w, uint64_t head, int gen, int tolerant,
                                    struct phs_error *err)
{
    uint64_t link[2];
    if (rd(w, head, link, sizeof link) != 0)
        return tolerant ? (w->h->stats.bad_gc_links++, PHS_OK)
                        : phs_error_set(err, PHS_OFFSETS, 0, "cannot read the GC list head at 0x%llx",
                                        (unsigned long long)head);
    uint64_t prev = head, node = link[0] & GC_LINK_MASK;
    uint64_t gch = (uint64_t)WO(w, GCHEAD_SIZE);
    uint32_t flags = HEAP_OBJ_GC | (gen == 3 ? HEAP_OBJ_PERMANENT : 0);
    for (uint64_t n = 0; node != head; n++) {
        if (!node || (node & 7) || n >= MAX_GC_LIST || rd(w, node, link, sizeof link) != 0 ||
            (link[1] & GC_LINK_MASK) != prev) {
            if (!tolerant)
                return phs_error_set(err, PHS_OFFSETS, 0, "the GC list at 0x%llx is broken after %llu objects "
                                     "(offsets wrong, or the target ran during the copy)",
                                     (unsigned long long)head, (unsigned long long)n);
            w->h->stats.bad_gc_links++;
            break;
        }
        uint64_t obj = node + gch;
        uint32_t found = walker_find(w, obj);
        if (!found)
            found = admit(w, obj, flags, 0);
        if (found) {
            w->h->objs[found - 1].flags |= flags;
            if (gen == 3) {
                w->h->stats.permanent_objects++;
            } else {
                w->h->stats.gc_objects++;
                w->h->stats.gen_objects[gen]++;
            }
        } else {
            w->h->stats.bad_objects++;
        }
        prev = node;
        node = link[0] & GC_LINK_MASK;
        if (w->oom)
            break;
    }
    return PHS_OK;
}

static enum phs_status seed(struct walker *w, int tolerant, struct phs_error *err)
{
    uint64_t interp = field(w, w->p->runtime_addr, WO(w, RUNTIME_INTERP_HEAD));
    for (int n = 0; interp && n < MAX_INTERPRETERS; n++) {
        uint64_t gc = py_gc_state_addr(w->p, interp, n == 0);
        if (gc) {
            for (int g = 0; g < 4; g++) {
                uint64_t head = g < 3 ? gc + (uint64_t)(WO(w, GC_GENERATIONS) + g * WO(w, GCGEN_SIZE))
                                      : gc + (uint64_t)WO(w, GC_PERMANENT);
                enum phs_status st = walk_gc_list(w, head + (uint64_t)WO(w, GCGEN_HEAD), g, tolerant, err);
                if (st != PHS_OK)
                    return st;
            }
        }
        interp = field(w, interp, WO(w, INTERP_NEXT));
    }
    return PHS_OK;
}

void walker_setup(struct walker *w, struct py_process *p, struct memsrc *mem, struct snapshot *snap,
                  struct heap *h)
{
    memset(w, 0, sizeof *w);
    w->p = p;
    w->o = p->off.v;
    w->lay = py_layout_for(p->off.major, p->off.minor);
    w->mem = mem;
    w->snap = snap;
    w->h = h;
}

void walker_free(struct walker *w)
{
    for (size_t i = 0; i < w->ntinfo; i++)
        free(w->types[i].members);
    free(w->types);
    free(w->type_slots);
    free(w->visited);
    free(w->visited_index);
    free(w->stack);
    free(w->scratch);
    free(w->heap_is_dict);
}

enum phs_status heap_walk(struct py_process *p, struct memsrc *mem, struct snapshot *snap,
                          const struct heap_walk_opts *opts, struct heap *h, struct phs_error *err)
{
    uint64_t t0 = monotonic_ns();
    memset(h, 0, sizeof *h);
    struct walker w;
    walker_setup(&w, p, mem, snap, h);
    if (!w.lay)
        return phs_error_set(err, PHS_UNSUPPORTED, 0, "no object layout rules for Python %u.%u", p->off.major,
                             p->off.minor);
    /* Size the tables from the copy (an object per ~128 bytes is typical of
     * Python heaps) so they do not grow and rehash during the walk. */
    size_t expect = snap ? (size_t)(snap->bytes_copied / 128) : 0;
    w.cap_objs = expect > (1u << 16) ? expect : (1u << 16);
    w.visited_mask = (1u << 17) - 1;
    while (w.visited_mask + 1 < 2 * w.cap_objs && w.visited_mask < (1ull << 34))
        w.visited_mask = w.visited_mask * 2 + 1;
    h->objs = malloc(w.cap_objs * sizeof *h->objs);
    w.visited = calloc(w.visited_mask + 1, sizeof *w.visited);
    w.visited_index = malloc((w.visited_mask + 1) * sizeof *w.visited_index);
    enum phs_status st = PHS_OK;
    if (!h->objs || !w.visited || !w.visited_index) {
        st = phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
        goto out;
    }
    types_init(&w);
    st = seed(&w, opts && opts->tolerant, err);
    while (st == PHS_OK && w.nstack && !w.oom) {
        struct pending next = pending_stack(&w)[--w.nstack];
        struct tinfo t = w.types[next.tidx];
        uint64_t size;
        uint32_t extra;
        decode_object(&w, next.addr, t, &size, &extra);
        h->objs[next.oidx].size = size;
        h->objs[next.oidx].extra = extra;
    }
    if (st == PHS_OK && w.oom)
        st = phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory after %zu objects", h->nobjs);
out:
    walker_free(&w);
    if (st != PHS_OK)
        heap_done(h);
    else
        h->stats.walk_ns = monotonic_ns() - t0;
    return st;
}

void heap_done(struct heap *h)
{
    for (size_t i = 0; i < h->ntypes; i++)
        free(h->types[i].name);
    free(h->types);
    free(h->objs);
    memset(h, 0, sizeof *h);
}
