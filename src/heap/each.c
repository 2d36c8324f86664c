/* each.c - finds the objects of a finished walk again, for the few
 * questions a histogram cannot answer (the largest instances of a kind,
 * later a dump): the walk keeps one mark bit per object instead of a
 * record, so this sweeps the marks in address order and decodes each
 * marked object's size from the same copy, with references switched off.
 *
 * Reads only the copy the walk read; changes none of the walk's figures. */
#include "walker.h"

struct sweep {
    const unsigned char *want;   /* per heap.types index; NULL: every object */
    size_t nwant;
    int (*fn)(const struct heap_object *, void *);
    void *arg;
};

/* Report the object at addr if its type is wanted; 0 to go on. The size
 * is decoded only then: the type costs a header read. */
static int report(struct walker *w, uint64_t addr, const struct sweep *sw)
{
    uint64_t hdr[2];
    if (rd(w, addr, hdr, sizeof hdr) != 0)
        return 0;
    struct tinfo *t = types_get(w, hdr[1], 0);
    if (!t || !t->valid || (sw->want && (t->heap_index >= sw->nwant || !sw->want[t->heap_index])))
        return 0;
    uint64_t size;
    uint32_t extra;
    decode_object(w, addr, t, &size, &extra);
    uint32_t owner = 0;
    if (t->plain_dict) {
        uint32_t *o = addr_map_get(&w->sh->owners, addr);
        owner = o ? *o : 0;
    }
    struct heap_object o = {.addr = addr, .size = size, .type = t->heap_index, .owner = owner, .extra = extra};
    return sw->fn(&o, sw->arg);
}

void heap_each(struct heap *h, const unsigned char *want, size_t nwant,
               int (*fn)(const struct heap_object *o, void *arg), void *arg)
{
    struct walker *w = h->walker;
    struct sweep sw = {want, nwant, fn, arg};
    if (!w)
        return;
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
                if (report(w, reg->start + (off - reg->buf_offset), &sw))
                    goto done;
            }
        }
    }
    for (size_t k = 0; w->sh->elsewhere.keys && k <= w->sh->elsewhere.mask; k++)
        if (w->sh->elsewhere.keys[k] && report(w, w->sh->elsewhere.keys[k], &sw))
            break;
done:
    h->stats = saved;
}
