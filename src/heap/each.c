/* each.c - finds the objects of a finished walk again, for the few
 * questions a histogram cannot answer (the largest instances of a kind,
 * a dump with every reference): the walk keeps one mark bit per object
 * instead of a record, so this sweeps the marks in address order and
 * decodes each marked object again from the same copy, its references
 * switched off or, for a dump, recorded with how each one refers.
 *
 * Reads only the copy the walk read; changes none of the walk's figures. */
#include "walker.h"

#include <stdlib.h>

struct sweep {
    const unsigned char *want;   /* per heap.types index; NULL: every object */
    size_t nwant;
    int (*fn)(const struct heap_object *, void *);
    int (*edges_fn)(const struct heap_object *, const struct heap_edge *, size_t, void *);
    void *arg;
    struct heap_edge *edges;     /* edges_fn: the sink's records, as the caller sees them */
    size_t cap_edges;
};

static const char *const how_names[HEAP_EDGE_COUNT] = {
    [HEAP_EDGE_ITEM] = "item", [HEAP_EDGE_KEY] = "key", [HEAP_EDGE_VALUE] = "value",
    [HEAP_EDGE_ATTR] = "attr", [HEAP_EDGE_DICT] = "dict", [HEAP_EDGE_TYPE] = "type",
    [HEAP_EDGE_FIELD] = "field", [HEAP_EDGE_SLOT] = "slot", [HEAP_EDGE_LOCAL] = "local",
    [HEAP_EDGE_STACK] = "stack", [HEAP_EDGE_SCAN] = "scan",
};

const char *heap_edge_how_name(enum heap_edge_how how)
{
    return (unsigned)how < HEAP_EDGE_COUNT ? how_names[how] : "?";
}

/* The sink's records as the caller sees them, into sw->edges. -1 on
 * out-of-memory. */
static int sink_edges(struct walker *w, struct sweep *sw)
{
    struct edge_sink *k = w->sink;
    if (k->n > sw->cap_edges) {
        size_t cap = k->n * 2;
        struct heap_edge *ne = realloc(sw->edges, cap * sizeof *ne);
        if (!ne) {
            k->oom = 1;
            return -1;
        }
        sw->edges = ne;
        sw->cap_edges = cap;
    }
    for (size_t i = 0; i < k->n; i++) {
        const struct edge_rec *r = &k->e[i];
        sw->edges[i] = (struct heap_edge){.to = r->to, .key = r->key, .how = r->how, .index = r->index,
                                          .name = r->static_name ? r->static_name
                                                  : r->name_off >= 0 ? k->names + r->name_off : NULL};
    }
    return 0;
}

/* Hand the sink's records of one object to edges_fn. */
static int report_edges(struct walker *w, const struct heap_object *o, struct sweep *sw)
{
    if (sink_edges(w, sw) != 0)
        return 1;
    return sw->edges_fn(o, sw->edges, w->sink->n, sw->arg);
}

/* Report the object at addr if its type is wanted; 0 to go on. The size
 * is decoded only then: the type costs a header read. */
static int report(struct walker *w, uint64_t addr, struct sweep *sw)
{
    uint64_t hdr[2];
    if (rd(w, addr, hdr, sizeof hdr) != 0)
        return 0;
    struct tinfo *t = types_get(w, hdr[1], 0);
    if (!t || !t->valid || (sw->want && (t->heap_index >= sw->nwant || !sw->want[t->heap_index])))
        return 0;
    uint64_t size;
    uint32_t extra;
    if (w->sink) {
        w->sink->n = 0;
        w->sink->nnames = 0;
        w->sink->from = addr;
    }
    decode_object(w, addr, NULL, t, &size, &extra);
    uint32_t owner = 0;
    if (t->plain_dict) {
        uint32_t *o = dict_owner(w->sh, addr);
        owner = o ? *o : 0;
    }
    struct heap_object o = {.addr = addr, .size = size, .type = t->heap_index, .owner = owner, .extra = extra};
    return w->sink ? report_edges(w, &o, sw) : sw->fn(&o, sw->arg);
}

static void sweep_marks(struct heap *h, struct sweep *sw)
{
    struct walker *w = h->walker;
    /* Decoding again must leave the walk's figures as they were. */
    struct heap_stats saved = h->stats;
    w->follow = 0;
    const struct snapshot *s = w->snap;
    for (size_t r = 0; s && w->sh->marks && r < s->nregions; r++) {
        const struct snapshot_region *reg = &s->regions[r];
        size_t first = reg->buf_offset >> 9, end = (reg->buf_offset + (reg->end - reg->start) + 511) >> 9;
        for (size_t i = first; i < end && i < w->sh->nmarks; i++) {
            for (uint64_t bits = w->sh->marks[i]; bits; bits &= bits - 1) {
                size_t off = ((i << 6) + (size_t)__builtin_ctzll(bits)) << 3;
                if (report(w, reg->start + (off - reg->buf_offset), sw))
                    goto done;
            }
        }
    }
    for (size_t k = 0; w->sh->elsewhere.keys && k <= w->sh->elsewhere.mask; k++)
        if (w->sh->elsewhere.keys[k] && report(w, w->sh->elsewhere.keys[k], sw))
            break;
done:
    h->stats = saved;
}

void heap_each(struct heap *h, const unsigned char *want, size_t nwant,
               int (*fn)(const struct heap_object *o, void *arg), void *arg)
{
    struct sweep sw = {.want = want, .nwant = nwant, .fn = fn, .arg = arg};
    if (h->walker)
        sweep_marks(h, &sw);
}

int heap_each_edges(struct heap *h,
                    int (*fn)(const struct heap_object *o, const struct heap_edge *e, size_t n, void *arg),
                    void *arg)
{
    return heap_each_edges_of(h, NULL, 0, fn, arg);
}

int heap_each_edges_of(struct heap *h, const unsigned char *want, size_t nwant,
                       int (*fn)(const struct heap_object *o, const struct heap_edge *e, size_t n, void *arg),
                       void *arg)
{
    if (h->backend)
        return h->backend->each_edges_of(h->backend_self, want, nwant, fn, arg);
    struct walker *w = h->walker;
    if (!w)
        return 0;
    struct sweep sw = {.want = want, .nwant = nwant, .edges_fn = fn, .arg = arg};
    struct edge_sink sink = {0};
    /* one bit per mark bit, so the same kind of array as the marks */
    big_free(w->sh->referenced, w->sh->cap_referenced, sizeof *w->sh->referenced);
    w->sh->referenced = NULL;
    w->sh->cap_referenced = 0;
    addr_map_free(&w->sh->referenced_elsewhere);
    if (big_grow((void **)&w->sh->referenced, &w->sh->cap_referenced, sizeof *w->sh->referenced,
                 w->sh->nmarks ? w->sh->nmarks : 1) != 0)
        return -1;
    w->sink = &sink;
    sweep_marks(h, &sw);
    w->sink = NULL;
    int oom = sink.oom;
    free(sink.e);
    free(sink.names);
    free(sw.edges);
    return oom ? -1 : 0;
}

int heap_object_at(struct heap *h, uint64_t addr, struct heap_object *o)
{
    if (h->backend)
        return h->backend->object_at(h->backend_self, addr, o);
    struct walker *w = h->walker;
    uint64_t hdr[2];
    if (!w || !addr || !counted_object(w, addr) || rd(w, addr, hdr, sizeof hdr) != 0)
        return 0;
    struct tinfo *t = types_get(w, hdr[1], 0);
    if (!t || !t->valid)
        return 0;
    /* decode its size only: no references followed, none recorded into
     * the sink of a heap_each_edges this may be called from */
    struct edge_sink *sink = w->sink;
    int follow = w->follow;
    struct heap_stats saved = h->stats;
    w->sink = NULL;
    w->follow = 0;
    uint64_t size;
    uint32_t extra;
    decode_object(w, addr, NULL, t, &size, &extra);
    w->sink = sink;
    w->follow = follow;
    h->stats = saved;
    uint32_t *owner = t->plain_dict ? dict_owner(w->sh, addr) : NULL;
    *o = (struct heap_object){.addr = addr, .size = size, .type = t->heap_index, .owner = owner ? *owner : 0,
                              .extra = extra};
    return 1;
}

struct frames_job {
    struct sweep sw;
    int (*fn)(const struct heap_frame *f, const struct heap_edge *e, size_t n, void *arg);
    int stop;
};

static void report_frame(struct walker *w, const struct thread_frame *tf, void *arg)
{
    struct frames_job *job = arg;
    if (job->stop)
        return;
    struct edge_sink *k = w->sink;
    k->n = 0;
    k->nnames = 0;
    k->from = 0;              /* a frame object held by its thread is referenced */
    thread_frame_refs(w, tf);
    if (sink_edges(w, &job->sw) != 0) {
        job->stop = 1;
        return;
    }
    size_t n = k->n;
    struct heap_frame f = {.thread_id = tf->thread_id, .native_thread_id = tf->native_thread_id,
                           .depth = tf->depth, .addr = tf->frame};
    thread_frame_name(w, tf, f.function, sizeof f.function, f.file, sizeof f.file);
    if (job->fn(&f, job->sw.edges, n, job->sw.arg))
        job->stop = 1;
}

int heap_thread_frames(struct heap *h,
                       int (*fn)(const struct heap_frame *f, const struct heap_edge *e, size_t n, void *arg),
                       void *arg)
{
    struct walker *w = h->walker;
    if (!w || !w->sh->referenced)
        return -1;
    struct frames_job job = {.sw = {.arg = arg}, .fn = fn};
    struct edge_sink sink = {0};
    struct heap_stats saved = h->stats;
    w->follow = 0;
    w->sink = &sink;
    each_thread_frame(w, report_frame, &job);
    w->sink = NULL;
    h->stats = saved;
    int oom = sink.oom;
    free(sink.e);
    free(sink.names);
    free(job.sw.edges);
    return oom ? -1 : 0;
}

#define UNREF_BATCH 4096

int heap_unreferenced(struct heap *h, int (*fn)(const uint64_t *addrs, size_t n, void *arg), void *arg)
{
    struct walker *w = h->walker;
    if (!w || !w->sh->referenced)
        return -1;
    uint64_t batch[UNREF_BATCH];
    size_t n = 0;
    const struct snapshot *s = w->snap;
    for (size_t r = 0; s && w->sh->marks && r < s->nregions; r++) {
        const struct snapshot_region *reg = &s->regions[r];
        size_t first = reg->buf_offset >> 9, end = (reg->buf_offset + (reg->end - reg->start) + 511) >> 9;
        for (size_t i = first; i < end && i < w->sh->nmarks; i++) {
            for (uint64_t bits = w->sh->marks[i] & ~w->sh->referenced[i]; bits; bits &= bits - 1) {
                size_t off = ((i << 6) + (size_t)__builtin_ctzll(bits)) << 3;
                batch[n++] = reg->start + (off - reg->buf_offset);
                if (n == UNREF_BATCH) {
                    if (fn(batch, n, arg))
                        return 0;
                    n = 0;
                }
            }
        }
    }
    for (size_t k = 0; w->sh->elsewhere.keys && k <= w->sh->elsewhere.mask; k++) {
        uint64_t a = w->sh->elsewhere.keys[k];
        if (a && !addr_map_get(&w->sh->referenced_elsewhere, a)) {
            batch[n++] = a;
            if (n == UNREF_BATCH) {
                if (fn(batch, n, arg))
                    return 0;
                n = 0;
            }
        }
    }
    if (n)
        fn(batch, n, arg);
    return 0;
}

struct module_roots {
    struct walker *w;
    void (*fn)(const char *root, const char *name, uint64_t addr, void *arg);
    void *arg;
};

/* One entry of sys.modules: a module's dict is a root of its own. */
static void module_root(const char *name, uint64_t module, void *arg)
{
    struct module_roots *mr = arg;
    struct walker *w = mr->w;
    uint64_t type = field(w, module, WO(w, OBJECT_TYPE));
    struct tinfo *t = type ? types_get(w, type, 0) : NULL;
    if (!t || !t->valid || t->layout != LK_MODULE)
        return;
    uint64_t dict = field(w, module, WO(w, MODULE_DICT));
    if (dict && counted_object(w, dict))
        mr->fn("module", name, dict, mr->arg);
}

void heap_interpreter_roots(struct heap *h, void (*fn)(const char *root, const char *name, uint64_t addr, void *arg),
                            void *arg)
{
    static const struct { enum offsets_field f; const char *name; } roots[] = {
        {OFF_INTERP_MODULES, "sys.modules"}, {OFF_INTERP_SYSDICT, "sys"}, {OFF_INTERP_BUILTINS, "builtins"},
    };
    struct walker *w = h->walker;
    if (!w)
        return;
    uint64_t interp = field(w, w->p->runtime_addr, WO(w, RUNTIME_INTERP_HEAD));
    for (int n = 0; interp && n < 4096; n++) {
        for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
            uint64_t a = field(w, interp, w->o[roots[i].f]);
            if (a && counted_object(w, a))
                fn(roots[i].name, NULL, a, arg);
        }
        uint64_t modules = field(w, interp, WO(w, INTERP_MODULES));
        struct module_roots mr = {w, fn, arg};
        if (modules && counted_object(w, modules))
            dict_each_str(w, modules, 1u << 20, module_root, &mr);
        interp = field(w, interp, WO(w, INTERP_NEXT));
    }
}
