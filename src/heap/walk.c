/* walk.c - drives the heap walk: seeds it with every object on the
 * collector's lists, then follows references depth-first with an explicit
 * stack until nothing new turns up, tallying each object under its type.
 *
 * Each object is admitted once: "seen before?" is one bit per 8 bytes of
 * the copy (a bitmap 1/64 of its size, no hashing, no table to grow); an
 * object is admitted only if its header is readable, its refcount positive
 * and its ob_type an accepted type object, so a stray pointer costs a
 * counter, never a crash. No per-object record is kept: heap_each (each.c)
 * finds the objects again from the marks when someone asks. Everything is
 * bounded: list walks by a maximum length and a back-link check, the walk
 * by 2^32 objects. */
#include "walker.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#define MAX_OBJECTS      (1ull << 32)
#define MAX_INTERPRETERS 4096
#define MAX_GC_LIST      (1ull << 31)
#define GC_LINK_MASK     (~(uint64_t)3)
#define MAX_VIEW         (1ull << 31)

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

int rd_slow(struct walker *w, uint64_t addr, void *buf, size_t len)
{
    if (w->snap) {
        const unsigned char *q = snapshot_ptr(w->snap, addr, len);
        if (q) {
            memcpy(buf, q, len);
            return 0;
        }
    }
    return memsrc_read(w->mem, addr, buf, len, NULL) == PHS_OK ? 0 : -1;
}

/* ---- sets of addresses ---- */

static size_t addr_hash(uint64_t addr, size_t mask)
{
    return (size_t)(((addr >> 3) * 0x9E3779B97F4A7C15ull) >> 20) & mask;
}

static size_t addr_slot(const struct addr_map *m, uint64_t key)
{
    size_t i = addr_hash(key, m->mask);
    while (m->keys[i] && m->keys[i] != key)
        i = (i + 1) & m->mask;
    return i;
}

uint32_t *addr_map_get(const struct addr_map *m, uint64_t key)
{
    if (!m->keys || !key)
        return NULL;
    size_t i = addr_slot(m, key);
    return m->keys[i] ? &m->vals[i] : NULL;
}

static int addr_map_grow(struct addr_map *m)
{
    size_t n = m->keys ? (m->mask + 1) * 2 : 1024;
    struct addr_map g = {calloc(n, sizeof *g.keys), malloc(n * sizeof *g.vals), n - 1, 0};
    if (!g.keys || !g.vals) {
        free(g.keys);
        free(g.vals);
        return -1;
    }
    for (size_t k = 0; m->keys && k <= m->mask; k++) {
        if (!m->keys[k])
            continue;
        size_t i = addr_slot(&g, m->keys[k]);
        g.keys[i] = m->keys[k];
        g.vals[i] = m->vals[k];
        g.n++;
    }
    addr_map_free(m);
    *m = g;
    return 0;
}

int addr_map_add(struct addr_map *m, uint64_t key, uint32_t val)
{
    if (!key)
        return 0;
    if ((!m->keys || (m->n + 1) * 2 > m->mask + 1) && addr_map_grow(m) != 0)
        return -1;
    size_t i = addr_slot(m, key);
    if (m->keys[i])
        return 0;
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 1;
}

void addr_map_free(struct addr_map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- admitting objects ---- */

static int push(struct walker *w, uint64_t addr, const unsigned char *copy, uint32_t tidx, uint32_t flags)
{
    if (w->nstack == w->cap_stack) {
        size_t cap = w->cap_stack ? w->cap_stack * 2 : 4096;
        struct pending *s = realloc(w->stack, cap * sizeof *s);
        if (!s)
            return -1;
        w->stack = s;
        w->cap_stack = cap;
    }
    w->stack[w->nstack++] = (struct pending){addr, copy, tidx, flags};
    return 0;
}

/* The type entry of a valid object whose header is hdr, or NULL. */
static struct tinfo *object_type(struct walker *w, const uint64_t hdr[2])
{
    if ((int64_t)hdr[0] <= 0)
        return NULL;
    struct tinfo *t;
    if (hdr[1] == w->last_type_addr && w->ntinfo)
        t = &w->types[w->last_type];
    else if ((t = types_get(w, hdr[1], 0)) != NULL) {
        w->last_type_addr = hdr[1];
        w->last_type = (size_t)(t - w->types);
    }
    return t && t->valid ? t : NULL;
}

static int queue(struct walker *w, uint64_t addr, const unsigned char *copy, struct tinfo *t, uint32_t flags)
{
    if (w->admitted >= MAX_OBJECTS || push(w, addr, copy, (uint32_t)(t - w->types), flags) != 0) {
        w->oom = 1;
        return 0;
    }
    w->admitted++;
    return 1;
}

/* Admit addr, which is outside the copy (or there is no copy). */
static int admit_elsewhere(struct walker *w, uint64_t addr, uint32_t flags, int count_misses)
{
    uint64_t hdr[2];
    struct tinfo *t;
    if (addr_map_get(&w->elsewhere, addr))
        return 1;
    if (rd(w, addr, hdr, sizeof hdr) != 0 || !(t = object_type(w, hdr))) {
        if (count_misses)
            w->h->stats.bad_pointers++;
        return 0;
    }
    if (addr_map_add(&w->elsewhere, addr, 0) < 0) {
        w->oom = 1;
        return 0;
    }
    return queue(w, addr, NULL, t, flags);
}

/* Admit the object at addr, whose header is at q in the copy, unless
 * seen: 1 if it is a valid object. */
static inline int admit_at(struct walker *w, uint64_t addr, const unsigned char *q, uint32_t flags,
                           int count_misses)
{
    size_t bit = (size_t)(q - w->snap->buf) >> 3;
    uint64_t *word = &w->marks[bit >> 6], mask = 1ull << (bit & 63);
    if (*word & mask)
        return 1;
    uint64_t hdr[2];
    memcpy(hdr, q, sizeof hdr);
    struct tinfo *t = object_type(w, hdr);
    if (!t) {
        if (count_misses)
            w->h->stats.bad_pointers++;
        return 0;
    }
    *word |= mask;
    return queue(w, addr, q, t, flags);
}

static inline int admit(struct walker *w, uint64_t addr, uint32_t flags, int count_misses)
{
    const unsigned char *q = w->snap ? snapshot_ptr(w->snap, addr, 16) : NULL;
    return q ? admit_at(w, addr, q, flags, count_misses) : admit_elsewhere(w, addr, flags, count_misses);
}

static int plausible(uint64_t addr)
{
    return !(addr & 7) && addr >= 4096 && addr < (1ull << 48);
}

int walker_ref(struct walker *w, uint64_t addr)
{
    if (!addr || !w->follow)
        return 0;
    if (!plausible(addr)) {
        w->h->stats.bad_pointers++;
        return 0;
    }
    return admit(w, addr, 0, 1);
}

#define REF_CHUNK 64

void walker_ref_many(struct walker *w, const uint64_t *addrs, size_t n)
{
    if (!w->follow)
        return;
    const unsigned char *q[REF_CHUNK];
    for (size_t done = 0; done < n; done += REF_CHUNK) {
        size_t m = n - done < REF_CHUNK ? n - done : REF_CHUNK;
        const uint64_t *a = addrs + done;
        /* first where each one is and start loading its mark and header,
         * then look: the misses overlap */
        for (size_t i = 0; i < m; i++) {
            q[i] = w->snap && a[i] && plausible(a[i]) ? snapshot_ptr(w->snap, a[i], 16) : NULL;
            if (q[i]) {
                __builtin_prefetch(&w->marks[(size_t)(q[i] - w->snap->buf) >> 9]);
                __builtin_prefetch(q[i]);
            }
        }
        for (size_t i = 0; i < m; i++) {
            if (q[i])
                admit_at(w, a[i], q[i], 0, 1);
            else if (a[i])
                walker_ref(w, a[i]);
        }
    }
}

void walker_maybe_ref(struct walker *w, uint64_t word)
{
    if (w->follow && plausible(word))
        admit(w, word, 0, 0);
}

void walker_set_owner(struct walker *w, uint64_t dict_addr, uint32_t owner)
{
    uint64_t hdr[2];
    if (!w->follow || rd(w, dict_addr, hdr, sizeof hdr) != 0)
        return;
    struct tinfo *t = object_type(w, hdr);
    /* only real dicts become "dict of X" */
    if (t && w->heap_is_dict[t->heap_index] && addr_map_add(&w->owners, dict_addr, owner + 1) < 0)
        w->oom = 1;
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
        if (admit(w, node + gch, flags, 0)) {
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
    if (w->types)
        munmap(w->types, MAX_TINFO * sizeof *w->types);
    free(w->type_slots);
    if (w->marks)
        munmap(w->marks, w->nmarks * 8);
    addr_map_free(&w->elsewhere);
    addr_map_free(&w->owners);
    free(w->dicts);
    free(w->stack);
    free(w->scratch);
    free(w->heap_is_dict);
    memset(w, 0, sizeof *w);
}

static void tally(struct heap_tally *t, uint64_t size, uint32_t extra, uint32_t flags)
{
    t->count++;
    t->bytes += size;
    t->extra += extra;
    t->gc_objects += (flags & HEAP_OBJ_GC) != 0;
    t->permanent += (flags & HEAP_OBJ_PERMANENT) != 0;
}

static int defer_dict(struct walker *w, uint64_t addr, uint64_t size, uint32_t type, uint32_t extra, uint32_t flags)
{
    if (w->ndicts == w->cap_dicts) {
        size_t cap = w->cap_dicts ? w->cap_dicts * 2 : 4096;
        struct deferred_dict *d = realloc(w->dicts, cap * sizeof *d);
        if (!d)
            return -1;
        w->dicts = d;
        w->cap_dicts = cap;
    }
    w->dicts[w->ndicts++] = (struct deferred_dict){addr, size, type, extra, flags};
    return 0;
}

static void settle(struct walker *w, const struct pending *obj)
{
    struct heap *h = w->h;
    const struct tinfo *t = &w->types[obj->tidx];
    uint64_t size;
    uint32_t extra;
    decode_object(w, obj->addr, t, &size, &extra);
    if (w->heap_is_dict[t->heap_index]) {
        if (defer_dict(w, obj->addr, size, t->heap_index, extra, obj->flags) != 0)
            w->oom = 1;
    } else {
        tally(&h->types[t->heap_index].objects, size, extra, obj->flags);
    }
    tally(&h->total, size, extra, obj->flags);
}

/* Start loading what decoding obj will read besides its header: the
 * keys table of a dict, the item array of a list. The word is read from
 * the copy only if it lies inside the buffer (a header at the very end of
 * a region could be followed by anything: the prefetch is only a hint). */
static void prefetch_body(struct walker *w, const struct pending *obj)
{
    enum layout_kind lk = w->types[obj->tidx].layout;
    int64_t off = lk == LK_DICT ? WO(w, DICT_KEYS) : lk == LK_LIST ? WO(w, LIST_ITEM) : OFFSET_ABSENT;
    if (off < 0 || off > 256 || !obj->copy ||
        obj->copy + off + 8 > w->snap->buf + w->snap->buf_size)
        return;
    uint64_t v;
    memcpy(&v, obj->copy + off, 8);
    walker_prefetch(w, v);
}

#define BATCH 16

/* Decode what is queued until nothing is. Objects are taken a batch at a
 * time and each stage first starts loading what the next stage will read
 * for the whole batch, so that the cache misses of a batch overlap
 * instead of following one another (the walk is bound by memory latency,
 * not by instructions). */
static void drain(struct walker *w)
{
    struct pending batch[BATCH];
    while (w->nstack && !w->oom) {
        size_t n = w->nstack < BATCH ? w->nstack : BATCH;
        w->nstack -= n;
        memcpy(batch, &w->stack[w->nstack], n * sizeof *batch);
        if (w->snap) {
            for (size_t i = 0; i < n; i++) {
                if (batch[i].copy) {
                    __builtin_prefetch(batch[i].copy);
                    __builtin_prefetch(batch[i].copy + 64);
                }
            }
            for (size_t i = 0; i < n; i++)
                prefetch_body(w, &batch[i]);
        }
        for (size_t i = n; i-- > 0;)
            settle(w, &batch[i]);
    }
}

/* Plain dicts go under their owner's "dict of" tally, or under dict. */
static void settle_dicts(struct walker *w)
{
    struct heap *h = w->h;
    for (size_t i = 0; i < w->ndicts; i++) {
        const struct deferred_dict *d = &w->dicts[i];
        uint32_t *owner = addr_map_get(&w->owners, d->addr);
        struct heap_tally *t = owner && *owner - 1 < h->ntypes ? &h->types[*owner - 1].dicts
                                                                : &h->types[d->type].objects;
        tally(t, d->size, d->extra, d->flags);
    }
    free(w->dicts);
    w->dicts = NULL;
    w->ndicts = w->cap_dicts = 0;
}

/* One bit per 8 bytes of the copy, in an anonymous mapping: its pages
 * are zero until written, and huge pages cut the TLB misses of random
 * marks where the kernel grants them. */
static int alloc_marks(struct walker *w)
{
    if (!w->snap || !w->snap->buf_size)
        return 0;
    w->nmarks = (w->snap->buf_size / 8 + 63) / 64;
    void *m = mmap(NULL, w->nmarks * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        w->nmarks = 0;
        return -1;
    }
#ifdef MADV_HUGEPAGE
    madvise(m, w->nmarks * 8, MADV_HUGEPAGE);
#endif
    w->marks = m;
    return 0;
}

enum phs_status heap_walk(struct py_process *p, struct memsrc *mem, struct snapshot *snap,
                          const struct heap_walk_opts *opts, struct heap *h, struct phs_error *err)
{
    uint64_t t0 = monotonic_ns();
    memset(h, 0, sizeof *h);
    struct walker *w = calloc(1, sizeof *w);
    if (!w)
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    walker_setup(w, p, mem, snap, h);
    h->walker = w;
    if (!w->lay) {
        heap_done(h);
        return phs_error_set(err, PHS_UNSUPPORTED, 0, "no object layout rules for Python %u.%u", p->off.major,
                             p->off.minor);
    }
    enum phs_status st = PHS_OK;
    if (alloc_marks(w) != 0) {
        st = phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
        goto out;
    }
    w->follow = 1;
    types_init(w);
    st = seed(w, opts && opts->tolerant, err);
    h->stats.seed_ns = monotonic_ns() - t0;
    if (st == PHS_OK)
        drain(w);
    settle_dicts(w);
    w->follow = 0;
    free(w->stack);
    w->stack = NULL;
    w->nstack = w->cap_stack = 0;
    if (st == PHS_OK && w->oom)
        st = phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory after %llu objects",
                           (unsigned long long)w->admitted);
out:
    if (st != PHS_OK)
        heap_done(h);
    else
        h->stats.walk_ns = monotonic_ns() - t0;
    return st;
}

void heap_done(struct heap *h)
{
    if (h->walker) {
        walker_free(h->walker);
        free(h->walker);
    }
    for (size_t i = 0; i < h->ntypes; i++)
        free(h->types[i].name);
    free(h->types);
    memset(h, 0, sizeof *h);
}
