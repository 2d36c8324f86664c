/* advise.c - finds waste in a walked heap (advise.h): equal values held by
 * distinct objects, containers with spare capacity, empty containers.
 *
 * One pass over the objects of the kinds concerned (heap_each); values are
 * compared by their raw bytes in the copy (heap_atom), grouped in an open
 * addressing table keyed by a hash of kind and bytes. Never reads the
 * target, never prints. */
#include "pyheapscope/advise.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum role { ROLE_NONE, ROLE_ATOM, ROLE_LIST, ROLE_BYTEARRAY, ROLE_CONTAINER };

/* The atom kinds that can be duplicates, in the order findings name them. */
static const char *const atom_type[] = {"", "str", "bytes", "int", "float"};
#define NATOMS 5

struct value_slot {
    uint64_t hash;            /* 0: empty */
    struct heap_atom atom;
    struct heap_object first;
    uint64_t objects, bytes;
    uint64_t examples[ADVICE_EXAMPLES];
};

struct value_table {
    struct value_slot *v;
    size_t mask, n;
};

struct pass {
    struct heap *h;
    const unsigned char *role;    /* per type */
    struct value_table values;
    struct advice_finding empty[3], spare[2];  /* list/dict/set; list/bytearray */
    int oom;
};

static uint64_t atom_hash(const struct heap_atom *a)
{
    uint64_t x = 1469598103934665603ull ^ ((uint64_t)a->kind << 8 | a->unit | (uint64_t)(a->sign + 1) << 4);
    for (size_t i = 0; i < a->len; i++)
        x = (x ^ a->data[i]) * 1099511628211ull;
    return x ? x : 1;
}

static int atom_equal(const struct heap_atom *a, const struct heap_atom *b)
{
    return a->kind == b->kind && a->unit == b->unit && a->sign == b->sign && a->len == b->len &&
           memcmp(a->data, b->data, a->len) == 0;
}

static int table_grow(struct value_table *t)
{
    size_t cap = t->v ? 2 * (t->mask + 1) : 1024;
    struct value_slot *v = calloc(cap, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; t->v && i <= t->mask; i++) {
        if (!t->v[i].hash)
            continue;
        size_t j = (size_t)t->v[i].hash & (cap - 1);
        while (v[j].hash)
            j = (j + 1) & (cap - 1);
        v[j] = t->v[i];
    }
    free(t->v);
    t->v = v;
    t->mask = cap - 1;
    return 0;
}

static void note_example(uint64_t *ex, uint64_t seen, uint64_t addr)
{
    if (seen < ADVICE_EXAMPLES)
        ex[seen] = addr;
}

static void add_value(struct pass *ps, const struct heap_object *o, const struct heap_atom *a)
{
    struct value_table *t = &ps->values;
    if ((t->n + 1) * 4 > (t->v ? t->mask + 1 : 0) * 3 && table_grow(t) != 0) {
        ps->oom = 1;
        return;
    }
    uint64_t hash = atom_hash(a);
    size_t j = (size_t)hash & t->mask;
    while (t->v[j].hash && !(t->v[j].hash == hash && atom_equal(&t->v[j].atom, a)))
        j = (j + 1) & t->mask;
    struct value_slot *s = &t->v[j];
    if (!s->hash) {
        s->hash = hash;
        s->atom = *a;
        s->first = *o;
        t->n++;
    }
    note_example(s->examples, s->objects, o->addr);
    s->objects++;
    s->bytes += o->size;
}

static void add_to(struct advice_finding *f, const struct heap_object *o, uint64_t saving)
{
    note_example(f->examples, f->objects, o->addr);
    f->objects++;
    f->bytes += o->size;
    f->saving += saving;
}

static int visit(const struct heap_object *o, void *arg)
{
    struct pass *ps = arg;
    struct heap_atom a;
    int64_t len, cap;
    switch (ps->role[o->type]) {
    case ROLE_ATOM:
        if (heap_atom(ps->h, o, &a))
            add_value(ps, o, &a);
        break;
    case ROLE_LIST:
    case ROLE_BYTEARRAY:
    case ROLE_CONTAINER:
        len = heap_length(ps->h, o);
        if (len < 0)
            break;
        /* an instance's empty __dict__ is the instances' business (slots) */
        if (len == 0 && ps->role[o->type] != ROLE_BYTEARRAY && !o->owner) {
            const char *name = ps->h->types[o->type].name;
            add_to(&ps->empty[strcmp(name, "list") == 0 ? 0 : strcmp(name, "dict") == 0 ? 1 : 2], o, o->size);
            break;
        }
        cap = heap_capacity(ps->h, o);
        /* spare slots of a list, 8 bytes each; a bytearray keeps one byte
         * past its length for the terminating NUL */
        if (ps->role[o->type] == ROLE_LIST && cap > len)
            add_to(&ps->spare[0], o, (uint64_t)(cap - len) * 8);
        else if (ps->role[o->type] == ROLE_BYTEARRAY && cap > len + 1)
            add_to(&ps->spare[1], o, (uint64_t)(cap - len - 1));
        break;
    }
    return ps->oom;
}

static int by_saving(const void *a, const void *b)
{
    const struct advice_group *x = a, *y = b;
    return x->saving < y->saving ? 1 : x->saving > y->saving ? -1 : 0;
}

static int finding_by_saving(const void *a, const void *b)
{
    const struct advice_finding *x = a, *y = b;
    return x->saving < y->saving ? 1 : x->saving > y->saving ? -1 : 0;
}

/* The value as Python would write it: 'text', b'bytes', 12, 0.5. */
static void quote_value(struct heap *h, const struct heap_object *o, enum heap_atom_kind kind, char *out,
                        size_t cap)
{
    char v[80];
    int truncated = 0;
    if (!heap_value(h, o, v, sizeof v, 40, &truncated))
        snprintf(v, sizeof v, "?");
    for (char *c = v; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = ' ';
    const char *more = truncated ? "..." : "";
    if (kind == HEAP_ATOM_STR)
        snprintf(out, cap, "'%s'%s", v, more);
    else if (kind == HEAP_ATOM_BYTES)
        snprintf(out, cap, "b'%s'%s", v, more);
    else
        snprintf(out, cap, "%s%s", v, more);
}

/* One duplicates finding per atom kind, its values most saving first. */
static int collect_duplicates(struct pass *ps, struct advice_finding *f, enum heap_atom_kind kind,
                              size_t max_groups)
{
    memset(f, 0, sizeof *f);
    f->kind = ADVICE_DUPLICATES;
    snprintf(f->type, sizeof f->type, "%s", atom_type[kind]);
    size_t n = 0;
    for (size_t i = 0; ps->values.v && i <= ps->values.mask; i++)
        n += ps->values.v[i].hash && ps->values.v[i].atom.kind == kind && ps->values.v[i].objects > 1;
    struct advice_group *all = calloc(n ? n : 1, sizeof *all);
    if (!all)
        return -1;
    size_t k = 0;
    for (size_t i = 0; ps->values.v && i <= ps->values.mask; i++) {
        const struct value_slot *s = &ps->values.v[i];
        if (!s->hash || s->atom.kind != kind || s->objects < 2)
            continue;
        struct advice_group *g = &all[k++];
        g->objects = s->objects;
        g->size = s->first.size;
        g->saving = s->bytes - s->first.size;   /* every copy but one */
        memcpy(g->examples, s->examples, sizeof g->examples);
        g->examples[0] = s->first.addr;
        quote_value(ps->h, &s->first, kind, g->value, sizeof g->value);
        f->objects += s->objects;
        f->bytes += s->bytes;
        f->saving += g->saving;
        note_example(f->examples, k - 1, s->first.addr);
    }
    qsort(all, n, sizeof *all, by_saving);
    f->total_groups = n;
    f->ngroups = n < max_groups ? n : max_groups;
    f->groups = all;
    return 0;
}

enum phs_status advise_build(struct heap *h, size_t max_groups, struct advice *out, struct phs_error *err)
{
    memset(out, 0, sizeof *out);
    out->heap_bytes = h->total.bytes;
    out->heap_objects = h->total.count;
    struct pass ps = {.h = h};
    unsigned char *role = calloc(h->ntypes ? h->ntypes : 1, 1);
    unsigned char *want = calloc(h->ntypes ? h->ntypes : 1, 1);
    out->findings = calloc(NATOMS + 5, sizeof *out->findings);
    if (!role || !want || !out->findings)
        goto oom;
    for (size_t i = 0; i < h->ntypes; i++) {
        const char *name = h->types[i].name;
        for (int k = 1; k < NATOMS; k++)
            if (strcmp(name, atom_type[k]) == 0)
                role[i] = ROLE_ATOM;
        if (strcmp(name, "list") == 0)
            role[i] = ROLE_LIST;
        else if (strcmp(name, "bytearray") == 0)
            role[i] = ROLE_BYTEARRAY;
        else if (strcmp(name, "dict") == 0 || strcmp(name, "set") == 0)
            role[i] = ROLE_CONTAINER;
        want[i] = role[i] != ROLE_NONE;
    }
    ps.role = role;
    static const char *const empty_type[] = {"list", "dict", "set"}, *const spare_type[] = {"list", "bytearray"};
    for (int i = 0; i < 3; i++) {
        ps.empty[i].kind = ADVICE_EMPTY;
        snprintf(ps.empty[i].type, sizeof ps.empty[i].type, "%s", empty_type[i]);
    }
    for (int i = 0; i < 2; i++) {
        ps.spare[i].kind = ADVICE_OVERALLOCATED;
        snprintf(ps.spare[i].type, sizeof ps.spare[i].type, "%s", spare_type[i]);
    }
    heap_each(h, want, h->ntypes, visit, &ps);
    if (ps.oom)
        goto oom;
    for (int k = 1; k < NATOMS; k++) {
        if (collect_duplicates(&ps, &out->findings[out->n], (enum heap_atom_kind)k, max_groups) != 0)
            goto oom;
        if (out->findings[out->n].saving)
            out->n++;
        else
            free(out->findings[out->n].groups);
    }
    for (int i = 0; i < 3; i++)
        if (ps.empty[i].saving)
            out->findings[out->n++] = ps.empty[i];
    for (int i = 0; i < 2; i++)
        if (ps.spare[i].saving)
            out->findings[out->n++] = ps.spare[i];
    qsort(out->findings, out->n, sizeof *out->findings, finding_by_saving);
    for (size_t i = 0; i < out->n; i++)
        out->saving += out->findings[i].saving;
    free(ps.values.v);
    free(role);
    free(want);
    return PHS_OK;
oom:
    free(ps.values.v);
    free(role);
    free(want);
    advice_done(out);
    return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
}

void advice_done(struct advice *a)
{
    for (size_t i = 0; a->findings && i < a->n; i++)
        free(a->findings[i].groups);
    free(a->findings);
    memset(a, 0, sizeof *a);
}

const char *advice_kind_name(enum advice_kind k)
{
    switch (k) {
    case ADVICE_DUPLICATES: return "duplicate";
    case ADVICE_OVERALLOCATED: return "over-allocated";
    case ADVICE_EMPTY: return "empty";
    default: return "?";
    }
}

const char *advice_kind_key(enum advice_kind k)
{
    switch (k) {
    case ADVICE_DUPLICATES: return "duplicates";
    case ADVICE_OVERALLOCATED: return "overallocated";
    case ADVICE_EMPTY: return "empty";
    default: return "?";
    }
}

const char *advice_fix(enum advice_kind k, const char *type)
{
    switch (k) {
    case ADVICE_DUPLICATES:
        return strcmp(type, "str") == 0
                   ? "sys.intern() each value where it is made, or de-duplicate at load time (a dict memo while parsing)"
                   : "de-duplicate where the values are made (a dict memo: value = memo.setdefault(value, value))";
    case ADVICE_OVERALLOCATED:
        return strcmp(type, "list") == 0
                   ? "rebuild once the list is complete: lst = lst.copy() allocates exactly len(lst) slots"
                   : "rebuild once it is complete: ba = bytearray(ba) allocates exactly its length";
    case ADVICE_EMPTY:
        return "create it when the first item arrives (None until then), or share one immutable empty value";
    default:
        return "";
    }
}
