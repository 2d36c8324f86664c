/* whatif.c - what the target's memory would be after a change that advise
 * suggests: the sizes of objects the program does not have yet (an
 * instance of a __slots__ class, a tuple), and the hash table a dict or a
 * set would get if rebuilt. Computed by the walked version's own rules
 * (its type sizes, its getsizeof header, its presizing), so that the
 * saving can be checked by making the change inside the target.
 *
 * Reads only type objects and the object asked about, from the copy. */
#include "walker.h"

/* The registry entry of the first known core type of layout lk. */
static struct tinfo *core_type(struct walker *w, enum layout_kind lk)
{
    for (size_t i = 0; i < w->sh->ncore; i++)
        if (w->sh->core_layout[i] == lk) {
            struct tinfo *t = types_get(w, w->sh->core_addr[i], 0);
            return t && t->valid && t->is_core ? t : NULL;
        }
    return NULL;
}

uint64_t heap_size_as(struct heap *h, enum heap_alt alt, uint64_t n)
{
    if (h->backend)
        return h->backend->size_as(h->backend_self, alt, n);
    struct walker *w = h->walker;
    if (!w || n > (1u << 20))
        return 0;
    if (alt == HEAP_AS_TUPLE) {
        struct tinfo *t = core_type(w, LK_TUPLE);
        if (!t || t->itemsize <= 0)
            return 0;
        return (uint64_t)(header_bytes(w, 0, t) + t->basicsize + t->itemsize * (int64_t)n);
    }
    /* A class with __slots__ (and no __dict__ or __weakref__ among them):
     * object's header, one word per slot, a collector header (a class
     * with slots is tracked) and no pre-header words. */
    struct tinfo *object = core_type(w, LK_OBJECT);
    if (!object)
        return 0;
    struct tinfo slots = {.flags = TPF_HAVE_GC | TPF_HEAPTYPE, .layout = LK_OBJECT};
    return (uint64_t)(header_bytes(w, 0, &slots) + object->basicsize + 8 * (int64_t)n);
}

/* Slots of the table dict(d) makes for n live entries: the smallest power
 * of two (at least 8) holding (3n+1)/2, except where the version's
 * rounding takes one power more at some sizes. */
static int64_t dict_presize(struct walker *w, int64_t n)
{
    int64_t want = (n * 3 + 1) / 2;
    if (w->p->version_hex < w->lay->dict_presize_rounds_over) {
        uint64_t m = ((uint64_t)(want | 8) - 1) | 7;   /* as calculate_log2_keysize did */
        return 1ll << (64 - __builtin_clzll(m));
    }
    int64_t slots = 8;
    while (slots < want)
        slots <<= 1;
    return slots;
}

static int dict_table(struct walker *w, const struct heap_object *o, struct heap_table *t)
{
    uint64_t keys = field(w, o->addr, WO(w, DICT_KEYS)), values = field(w, o->addr, WO(w, DICT_VALUES));
    int64_t used = (int64_t)field(w, o->addr, WO(w, DICT_USED));
    struct dict_shape s;
    /* a split table's keys belong to its class: a rebuild cannot free them */
    if (values || dict_shape(w, keys, 0, &s) != 0 || s.refcnt != 1 || used < 0 || used > s.nentries)
        return 0;
    t->used = used;
    t->entries = s.nentries;
    t->slots = s.slots;
    t->bytes = (uint64_t)s.keys_size;
    if (used == 0) {
        t->rebuilt_slots = 0;   /* dict() shares the interpreter's empty keys */
        t->rebuilt_bytes = 0;
        return 1;
    }
    /* a table without deleted entries that is at most twice the need is
     * copied as it is (dict_merge's clone of a clean table) */
    if (used == s.nentries && (s.slots == 8 || s.slots / 2 * 2 / 3 < used)) {
        t->rebuilt_slots = s.slots;
        t->rebuilt_bytes = t->bytes;
        return 1;
    }
    t->rebuilt_slots = dict_presize(w, used);
    t->rebuilt_bytes = (uint64_t)dict_keys_bytes(w, t->rebuilt_slots, s.esize);
    return 1;
}

/* set(s) of n live entries: a set starts with its own 8-slot table and
 * merging presizes to the smallest power of two above 2n once the small
 * table would be three-fifths full. */
static int set_table(struct walker *w, const struct heap_object *o, struct heap_table *t)
{
    int64_t mask = (int64_t)field(w, o->addr, WO(w, SET_MASK));
    int64_t used = (int64_t)field(w, o->addr, WO(w, SET_MASK) - 8);
    uint64_t table = field(w, o->addr, WO(w, SET_TABLE));
    if (mask < 7 || mask >= (1ll << 40) || ((mask + 1) & mask) || used < 0 || used > mask || !table)
        return 0;
    t->used = used;
    t->entries = used;
    t->slots = mask + 1;
    t->bytes = table == o->addr + (uint64_t)WO(w, SET_SMALLTABLE) ? 0 : (uint64_t)(SETENTRY_SIZE * (mask + 1));
    if (used * 5 < 7 * 3) {
        t->rebuilt_slots = 8;
        t->rebuilt_bytes = 0;
        return 1;
    }
    int64_t slots = 8;
    while (slots <= 2 * used)
        slots <<= 1;
    t->rebuilt_slots = slots;
    t->rebuilt_bytes = (uint64_t)(SETENTRY_SIZE * slots);
    return 1;
}

int heap_table(struct heap *h, const struct heap_object *o, struct heap_table *t)
{
    if (h->backend)
        return h->backend->table(h->backend_self, o, t);
    struct walker *w = h->walker;
    if (!w || o->type >= h->ntypes)
        return 0;
    struct tinfo *ti = types_get(w, h->types[o->type].addr, 0);
    if (!ti || !ti->valid || !ti->is_core)
        return 0;
    memset(t, 0, sizeof *t);
    if (ti->plain_dict)
        return dict_table(w, o, t);
    if (ti->layout == LK_SET && strcmp(h->types[o->type].name, "set") == 0)
        return set_table(w, o, t);
    return 0;
}
