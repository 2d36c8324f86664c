/* dumpheap.c - a dump's objects kept in memory behind the heap layer's
 * calls (dumpheap.h, struct heap_backend): one row per object record in
 * plain arrays (address, kind, owner, size, length, value, sizing), its
 * references as addresses with a label each, labels parsed once into how
 * and name. Values (of str, bytes, int, float and their subclasses) are
 * kept as blobs that equal values share byte for byte: the length, the
 * text as written, and the hash of the whole value where the text was cut
 * or left out ("vh").
 *
 * Lookups by address go through an addr_index of the rows (in address
 * order, as the writer emits them; a sorted copy is made if a dump is
 * not), and the last row found is remembered: advise asks about one object
 * several times in a row. Nothing from the file is trusted: a reference to
 * an address without a record is no object. */
#include "pyheapscope/dumpheap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pyheapscope/addrindex.h"
#include "pyheapscope/dumpfmt.h"
#include "grow.h"

#define ITEM_LABEL (1u << 31)      /* a label that is item index (low bits) */
#define NO_ROW UINT64_MAX

/* How a reference refers, parsed from its label once. */
struct label {
    char *text;
    uint32_t how, index;
    const char *name;              /* into text, or NULL */
};

/* Per object row, what an aux entry adds: lists, bytearrays, dicts, sets. */
struct aux {
    int64_t capacity;              /* -1 */
    int has_table;
    uint64_t table[4];
};

struct dheap {
    struct dump_header *hd;
    struct heap *h;
    int too_old;
    size_t n, cap;
    uint64_t *addr, *size, *first, *value;   /* value: offset + 1 into blobs, 0 none */
    uint32_t *kind, *owner, *extra, *aux;    /* owner 1 + kind or 0; aux: index + 1 or 0 */
    int64_t *length;
    uint32_t *order;               /* rows by address, when the file's are not ... */
    uint64_t *sorted_addr;         /* ... and their addresses in that order */
    struct addr_index index;       /* over addr, or sorted_addr */
    uint64_t last_addr, last_row;  /* the last row_at */
    uint64_t *to;
    uint32_t *how;                 /* per reference: ITEM_LABEL | index, or a label's index */
    size_t nrefs, cap_refs;
    struct label *labels;
    size_t nlabels, cap_labels;
    uint32_t *label_slots;         /* open addressing over labels: index + 1 */
    size_t label_mask;
    unsigned char *blobs;
    size_t nblobs, cap_blobs;
    struct aux *auxes;
    size_t naux, cap_aux;
    unsigned char *atom_kind;      /* per kind: enum heap_atom_kind (exactly str, bytes, int, float) */
    struct heap_edge *edges;       /* each_edges_of's buffer */
    size_t cap_edges;
};

/* ---- building ---- */

static int rows_grow(struct dheap *d, size_t cap)
{
    if (grow(&d->addr, cap, 8) || grow(&d->size, cap, 8) || grow(&d->first, cap + 1, 8) ||
        grow(&d->value, cap, 8) || grow(&d->kind, cap, 4) || grow(&d->owner, cap, 4) || grow(&d->extra, cap, 4) ||
        grow(&d->aux, cap, 4) || grow(&d->length, cap, 8))
        return -1;
    d->cap = cap;
    return 0;
}

static int rows_room(struct dheap *d)
{
    if (d->n + 1 < d->cap)
        return 0;
    /* the header says how many objects follow: room for them at once (no
     * copies while growing; pages untouched cost nothing), then doubling
     * if it said too few, or too many to be had */
    uint64_t said = d->hd->objects + 2;
    if (!d->cap && said > (1 << 14) && said < (1ull << 32) && rows_grow(d, (size_t)said) == 0)
        return 0;
    return rows_grow(d, d->cap ? 2 * d->cap : 1 << 14);
}

static uint64_t str_hash(const char *s)
{
    uint64_t x = 1469598103934665603ull;
    while (*s)
        x = (x ^ (unsigned char)*s++) * 1099511628211ull;
    return x;
}

static void parse_label(struct label *l)
{
    const char *t = l->text;
    unsigned idx;
    l->name = NULL;
    l->index = 0;
    if (strcmp(t, "k") == 0)
        l->how = HEAP_EDGE_KEY;
    else if (strcmp(t, "v") == 0)
        l->how = HEAP_EDGE_VALUE;
    else if (t[0] == '.' && t[1]) {
        l->how = HEAP_EDGE_ATTR;
        l->name = t + 1;
    } else if (strcmp(t, "__dict__") == 0 || strcmp(t, "__class__") == 0) {
        l->how = t[2] == 'd' ? HEAP_EDGE_DICT : HEAP_EDGE_TYPE;
        l->name = t;
    } else if (strncmp(t, "local ", 6) == 0) {
        l->how = HEAP_EDGE_LOCAL;
        l->name = t + 6;
    } else if (sscanf(t, "slot %u", &idx) == 1 || sscanf(t, "stack %u", &idx) == 1) {
        l->how = t[1] == 'l' ? HEAP_EDGE_SLOT : HEAP_EDGE_STACK;
        l->index = idx;
    } else if (strcmp(t, "?") == 0)
        l->how = HEAP_EDGE_SCAN;
    else {
        l->how = HEAP_EDGE_FIELD;
        l->name = t;
    }
}

/* The index of label text, added if new; -1 on out-of-memory. */
static int64_t label_id(struct dheap *d, const char *text)
{
    if ((d->nlabels + 1) * 2 > (d->label_slots ? d->label_mask + 1 : 0)) {
        size_t cap = d->label_slots ? 2 * (d->label_mask + 1) : 256;
        uint32_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < d->nlabels; i++) {
            size_t k = str_hash(d->labels[i].text) & (cap - 1);
            while (slots[k])
                k = (k + 1) & (cap - 1);
            slots[k] = (uint32_t)i + 1;
        }
        free(d->label_slots);
        d->label_slots = slots;
        d->label_mask = cap - 1;
    }
    size_t k = str_hash(text) & d->label_mask;
    for (; d->label_slots[k]; k = (k + 1) & d->label_mask)
        if (strcmp(d->labels[d->label_slots[k] - 1].text, text) == 0)
            return d->label_slots[k] - 1;
    if (d->nlabels >= ITEM_LABEL - 1)
        return -1;
    if (d->nlabels == d->cap_labels) {
        size_t cap = d->cap_labels ? 2 * d->cap_labels : 64;
        if (grow(&d->labels, cap, sizeof *d->labels))
            return -1;
        d->cap_labels = cap;
    }
    struct label *l = &d->labels[d->nlabels];
    if (!(l->text = strdup(text)))
        return -1;
    parse_label(l);
    d->label_slots[k] = (uint32_t)++d->nlabels;
    return (int64_t)d->nlabels - 1;
}

static int add_refs(struct dheap *d, const struct dump_record *rec)
{
    if (d->nrefs + rec->nrefs > d->cap_refs) {
        size_t cap = grown_cap(d->cap_refs, d->nrefs + rec->nrefs, 1 << 14);
        if (grow(&d->to, cap, 8) || grow(&d->how, cap, 4))
            return -1;
        d->cap_refs = cap;
    }
    for (size_t i = 0; i < rec->nrefs; i++) {
        const struct dump_ref *r = &rec->refs[i];
        uint32_t how;
        if (!r->label && r->index >= 0 && r->index < (int64_t)ITEM_LABEL)
            how = ITEM_LABEL | (uint32_t)r->index;
        else {
            int64_t id = label_id(d, r->label ? r->label : "?");
            if (id < 0)
                return -1;
            how = (uint32_t)id;
        }
        d->to[d->nrefs] = r->to;
        d->how[d->nrefs++] = how;
    }
    return 0;
}

/* The blob of a value: [u32 blob length][u32 text length][u8 cut] then the
 * blob, [u64 length][text][u64 hash if cut], then a NUL. 0 on success. */
static int add_value(struct dheap *d, const struct dump_record *rec, uint64_t *at)
{
    size_t text = rec->value ? strlen(rec->value) : 0, blob = 8 + text + (rec->value_hash ? 8 : 0);
    size_t need = 9 + blob + 1;
    if (text > UINT32_MAX / 2)
        return 0;                  /* no value kept; not an error */
    if (d->nblobs + need > d->cap_blobs) {
        size_t cap = grown_cap(d->cap_blobs, d->nblobs + need, 1 << 16);
        if (grow(&d->blobs, cap, 1))
            return -1;
        d->cap_blobs = cap;
    }
    unsigned char *p = d->blobs + d->nblobs;
    uint32_t bl = (uint32_t)blob, tl = (uint32_t)text;
    uint64_t len = (uint64_t)rec->length;
    memcpy(p, &bl, 4);
    memcpy(p + 4, &tl, 4);
    p[8] = (unsigned char)(rec->value_cut || rec->value_hash);
    memcpy(p + 9, &len, 8);
    if (text)
        memcpy(p + 17, rec->value, text);
    if (rec->value_hash) {
        uint64_t vh = strtoull(rec->value_hash, NULL, 16);
        memcpy(p + 17 + text, &vh, 8);
    }
    p[9 + blob] = '\0';
    *at = d->nblobs + 1;
    d->nblobs += need;
    return 0;
}

static int add_aux(struct dheap *d, const struct dump_record *rec, uint32_t *at)
{
    if (d->naux == d->cap_aux) {
        size_t cap = d->cap_aux ? 2 * d->cap_aux : 1024;
        if (cap >= UINT32_MAX || grow(&d->auxes, cap, sizeof *d->auxes))
            return -1;
        d->cap_aux = cap;
    }
    struct aux *a = &d->auxes[d->naux];
    a->capacity = rec->capacity;
    a->has_table = rec->has_table;
    memcpy(a->table, rec->table, sizeof a->table);
    *at = (uint32_t)++d->naux;
    return 0;
}

static int on_record(const struct dump_record *rec, void *arg)
{
    struct dheap *d = arg;
    if (d->hd->format_version < DUMP_FORMAT_ADVISE) {
        d->too_old = 1;
        return -1;
    }
    if (rows_room(d) != 0)
        return -1;
    size_t i = d->n;
    d->addr[i] = rec->addr;
    d->kind[i] = rec->kind;
    d->owner[i] = rec->owner >= 0 && rec->owner < (int64_t)UINT32_MAX ? (uint32_t)rec->owner + 1 : 0;
    d->size[i] = rec->size;
    d->extra[i] = rec->extra < UINT32_MAX ? (uint32_t)rec->extra : UINT32_MAX;
    d->length[i] = rec->length;
    d->value[i] = 0;
    d->aux[i] = 0;
    d->first[i] = d->nrefs;
    if ((rec->value || rec->value_hash) && add_value(d, rec, &d->value[i]) != 0)
        return -1;
    if ((rec->capacity >= 0 || rec->has_table) && add_aux(d, rec, &d->aux[i]) != 0)
        return -1;
    if (add_refs(d, rec) != 0)
        return -1;
    d->n++;
    d->first[d->n] = d->nrefs;
    return 0;
}

/* Index the rows by address (in an order of their own if the file's is
 * not one); -1 on out-of-memory, 1 if two rows have the same address. */
static int index_rows(struct dheap *d)
{
    int sorted = 1;
    d->last_row = NO_ROW;
    if (d->n >= UINT32_MAX)
        return -1;
    for (size_t i = 1; i < d->n && sorted; i++)
        sorted = d->addr[i] > d->addr[i - 1];
    if (sorted)
        return addr_index_build(&d->index, d->addr, d->n);
    if (!(d->order = malloc(d->n * sizeof *d->order)) || !(d->sorted_addr = malloc(d->n * sizeof *d->sorted_addr)))
        return -1;
    addr_order(d->addr, d->n, d->order);
    for (size_t i = 0; i < d->n; i++)
        d->sorted_addr[i] = d->addr[d->order[i]];
    for (size_t i = 1; i < d->n; i++)
        if (d->sorted_addr[i] == d->sorted_addr[i - 1])
            return 1;
    return addr_index_build(&d->index, d->sorted_addr, d->n);
}

static void mark_atoms(struct dheap *d)
{
    static const struct { const char *name; unsigned char kind; } atoms[] = {
        {"str", HEAP_ATOM_STR}, {"bytes", HEAP_ATOM_BYTES}, {"int", HEAP_ATOM_INT}, {"float", HEAP_ATOM_FLOAT}};
    for (size_t i = 0; i < d->h->ntypes; i++)
        for (size_t k = 0; !d->h->types[i].is_heap && k < sizeof atoms / sizeof atoms[0]; k++)
            if (strcmp(d->h->types[i].name, atoms[k].name) == 0)
                d->atom_kind[i] = atoms[k].kind;
}

/* ---- the backend ---- */

static uint64_t row_at(struct dheap *d, uint64_t addr)
{
    if (d->last_row != NO_ROW && d->last_addr == addr)
        return d->last_row;
    size_t at = addr_index_find(&d->index, addr);
    if (at == ADDR_INDEX_NONE)
        return NO_ROW;
    d->last_addr = addr;
    d->last_row = d->order ? d->order[at] : at;
    return d->last_row;
}

static void object_of(const struct dheap *d, size_t i, struct heap_object *o)
{
    *o = (struct heap_object){.addr = d->addr[i], .size = d->size[i], .type = d->kind[i], .owner = d->owner[i],
                              .extra = d->extra[i]};
}

static int be_object_at(void *self, uint64_t addr, struct heap_object *o)
{
    struct dheap *d = self;
    uint64_t i = row_at(d, addr);
    if (i == NO_ROW)
        return 0;
    object_of(d, i, o);
    return 1;
}

static int be_each_edges_of(void *self, const unsigned char *want, size_t nwant,
                            int (*fn)(const struct heap_object *o, const struct heap_edge *e, size_t n, void *arg),
                            void *arg)
{
    struct dheap *d = self;
    for (size_t at = 0; at < d->n; at++) {
        size_t i = d->order ? d->order[at] : at;      /* in address order, as a walk's */
        if (want && (d->kind[i] >= nwant || !want[d->kind[i]]))
            continue;
        size_t n = d->first[i + 1] - d->first[i];
        if (n > d->cap_edges) {
            if (grow(&d->edges, n, sizeof *d->edges))
                return -1;
            d->cap_edges = n;
        }
        for (size_t k = 0; k < n; k++) {
            uint64_t r = d->first[i] + k;
            struct heap_edge *e = &d->edges[k];
            *e = (struct heap_edge){.to = d->to[r]};
            if (d->how[r] & ITEM_LABEL) {
                e->how = HEAP_EDGE_ITEM;
                e->index = d->how[r] & ~ITEM_LABEL;
                continue;
            }
            const struct label *l = &d->labels[d->how[r]];
            e->how = l->how;
            e->index = l->index;
            e->name = l->name;
            if (l->how == HEAP_EDGE_VALUE && k && d->edges[k - 1].how == HEAP_EDGE_KEY)
                e->key = d->edges[k - 1].to;
        }
        struct heap_object o;
        object_of(d, i, &o);
        d->last_addr = o.addr;
        d->last_row = i;
        if (fn(&o, d->edges, n, arg))
            break;
    }
    return 0;
}

/* The value blob of o's row, or NULL. */
static const unsigned char *blob_of(struct dheap *d, const struct heap_object *o)
{
    uint64_t i = row_at(d, o->addr);
    return i == NO_ROW || !d->value[i] ? NULL : d->blobs + d->value[i] - 1;
}

static int be_value(void *self, const struct heap_object *o, char *out, size_t cap, size_t max_chars,
                    int *truncated)
{
    struct dheap *d = self;
    const unsigned char *b = blob_of(d, o);
    /* a bytes' text writes a byte as \xNN (a backslash too): one character */
    int bytes = o->type < d->h->ntypes && d->atom_kind[o->type] == HEAP_ATOM_BYTES;
    uint32_t text;
    *truncated = 0;
    if (!b || !cap)
        return 0;
    memcpy(&text, b + 4, 4);
    if (!text && b[8])
        return 0;                  /* an int too long to be written: only its hash */
    const unsigned char *t = b + 17;
    /* cut at max_chars characters, never inside one (a bytes' where a
     * live heap_value's would stop: with less than 5 bytes of room) */
    size_t at = 0, chars = 0;
    while (at < text && chars < max_chars && (!bytes || at + 5 < cap)) {
        size_t step = bytes && t[at] == '\\' ? 4 : 1;
        while (at + step < text && (t[at + step] & 0xc0) == 0x80)
            step++;
        if (at + step > text)
            break;
        if (at + step >= cap)
            break;
        at += step;
        chars++;
    }
    memcpy(out, t, at);
    out[at] = '\0';
    *truncated = at < text || b[8];
    return 1;
}

static int64_t be_length(void *self, const struct heap_object *o)
{
    struct dheap *d = self;
    uint64_t i = row_at(d, o->addr);
    return i == NO_ROW ? -1 : d->length[i];
}

static int be_atom(void *self, const struct heap_object *o, struct heap_atom *a)
{
    struct dheap *d = self;
    memset(a, 0, sizeof *a);
    if (o->type >= d->h->ntypes || !d->atom_kind[o->type])
        return 0;
    const unsigned char *b = blob_of(d, o);
    if (!b)
        return 0;
    uint32_t blob;
    memcpy(&blob, b, 4);
    a->kind = (enum heap_atom_kind)d->atom_kind[o->type];
    a->unit = 1;
    a->data = b + 9;
    a->len = blob;
    return 1;
}

static const struct aux *aux_of(struct dheap *d, const struct heap_object *o)
{
    uint64_t i = row_at(d, o->addr);
    return i == NO_ROW || !d->aux[i] ? NULL : &d->auxes[d->aux[i] - 1];
}

static int64_t be_capacity(void *self, const struct heap_object *o)
{
    const struct aux *a = aux_of(self, o);
    return a ? a->capacity : -1;
}

static int be_table(void *self, const struct heap_object *o, struct heap_table *t)
{
    const struct aux *a = aux_of(self, o);
    int64_t used = be_length(self, o);
    if (!a || !a->has_table || used < 0)
        return 0;
    *t = (struct heap_table){.used = used, .entries = used, .slots = (int64_t)a->table[0], .bytes = a->table[1],
                             .rebuilt_slots = (int64_t)a->table[2], .rebuilt_bytes = a->table[3]};
    return 1;
}

static uint64_t be_size_as(void *self, enum heap_alt alt, uint64_t n)
{
    const struct dheap *d = self;
    const uint64_t *s = alt == HEAP_AS_SLOTS ? d->hd->slots_size : d->hd->tuple_size;
    return s[0] && n <= (1u << 20) ? s[0] + s[1] * n : 0;
}

static void be_done(void *self)
{
    struct dheap *d = self;
    if (!d)
        return;
    free(d->addr);
    free(d->size);
    free(d->first);
    free(d->value);
    free(d->kind);
    free(d->owner);
    free(d->extra);
    free(d->aux);
    free(d->length);
    free(d->order);
    free(d->sorted_addr);
    addr_index_free(&d->index);
    free(d->to);
    free(d->how);
    for (size_t i = 0; i < d->nlabels; i++)
        free(d->labels[i].text);
    free(d->labels);
    free(d->label_slots);
    free(d->blobs);
    free(d->auxes);
    free(d->atom_kind);
    free(d->edges);
    free(d->hd);
    free(d);
}

static const struct heap_backend dump_backend = {
    .each_edges_of = be_each_edges_of, .object_at = be_object_at, .value = be_value, .length = be_length,
    .atom = be_atom, .capacity = be_capacity, .size_as = be_size_as, .table = be_table, .done = be_done,
};

enum phs_status dumpheap_load(const char *path, struct dump_header *hd, struct heap *h, struct phs_error *err)
{
    struct dheap *d = calloc(1, sizeof *d);
    if (!d || !(d->hd = calloc(1, sizeof *d->hd))) {
        free(d);
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    }
    d->h = h;
    /* on failure the read has released h */
    enum phs_status st = dumpfile_read_records(path, d->hd, h, on_record, d, err);
    *hd = *d->hd;
    if (st == PHS_OK && hd->format_version < DUMP_FORMAT_ADVISE) {
        heap_done(h);
        d->too_old = 1;
    }
    if (d->too_old)
        st = phs_error_set(err, PHS_IO, 0, "%s is a dump of format %u, which lacks what advise needs (capacities "
                           "and tables, format %d on): take the dump again with this pyheapscope",
                           path, hd->format_version, DUMP_FORMAT_ADVISE);
    if (st != PHS_OK) {
        be_done(d);
        return st;
    }
    int ix = -1;
    if (!(d->atom_kind = calloc(h->ntypes ? h->ntypes : 1, 1)) || (ix = index_rows(d)) != 0) {
        heap_done(h);
        be_done(d);
        return ix > 0 ? phs_error_set(err, PHS_IO, 0, "%s: corrupt dump: two records for one address", path)
                      : phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory while reading %s", path);
    }
    mark_atoms(d);
    h->backend = &dump_backend;
    h->backend_self = d;
    return PHS_OK;
}
