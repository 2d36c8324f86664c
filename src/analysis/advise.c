/* advise.c - finds waste in a walked heap (advise.h): equal values held by
 * distinct objects, containers with spare capacity or oversized tables,
 * empty containers, dicts that are records, classes without __slots__
 * and instances identical to another.
 *
 * One pass over the objects of the kinds concerned with their references
 * (heap_each_edges_of). Atoms are compared by their raw bytes in the copy
 * (heap_atom); a tuple or frozenset of atoms, a dict's key set and an
 * instance's attributes by a 64-bit hash of what they hold (the chance
 * that two different ones collide is negligible next to the estimates'
 * own precision). What the fix would leave is sized by the version's own
 * rules (heap_size_as, heap_table). Never reads the target, never prints. */
#include "pyheapscope/advise.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum role {
    ROLE_NONE, ROLE_ATOM, ROLE_LIST, ROLE_BYTEARRAY, ROLE_DICT, ROLE_SET, ROLE_TUPLE, ROLE_FROZENSET,
    ROLE_INSTANCE
};

/* Value kinds: heap_atom's, then the composites of atoms. */
enum { VK_TUPLE = 5, VK_FROZENSET = 6, NVALUE_KINDS = 7 };
static const char *const value_type[NVALUE_KINDS] = {"", "str", "bytes", "int", "float", "tuple", "frozenset"};

#define MAX_FIELDS 64         /* more keys than this is a mapping, not a record */
#define MAX_NAME 100          /* characters of a key or attribute name */

struct value_slot {
    uint64_t hash;            /* 0: empty */
    struct heap_atom atom;    /* composites: kind VK_*, len their item count, no data */
    char *shown;              /* composites: their items, made when the slot is */
    struct heap_object first;
    uint64_t objects, bytes;
    uint64_t examples[ADVICE_EXAMPLES];
};

struct value_table {
    struct value_slot *v;
    size_t mask, n;
};

/* Groups found by a hash of what they hold: key sets, identical instances. */
struct group_slot {
    uint64_t hash;            /* 0: empty */
    uint32_t type, fields;
    uint64_t objects, bytes;
    uint64_t examples[ADVICE_EXAMPLES];
    char *value;              /* what to show, made when the group is */
};

struct group_table {
    struct group_slot *v;
    size_t mask, n;
};

/* A class whose instances have a __dict__: what they cost, and the union
 * of their attribute names (what __slots__ would list). */
struct class_use {
    uint64_t instances, bytes;
    uint64_t examples[ADVICE_EXAMPLES];
    uint32_t nnames;
    int too_many;             /* more than MAX_FIELDS names: not a record type */
    char *names[MAX_FIELDS];
};

struct pass {
    struct heap *h;
    const unsigned char *role;    /* per type */
    struct value_table values;
    struct group_table shapes, identical;
    struct class_use **classes;   /* per type, made on first use */
    struct advice_finding empty[3], spare[4];  /* list/dict/set; list/bytearray/dict/set */
    int oom;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t bytes_hash(uint64_t seed, const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t x = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < n; i++)
        x = (x ^ c[i]) * 1099511628211ull;
    return x;
}

static int atom_equal(const struct heap_atom *a, const struct heap_atom *b)
{
    if (a->kind != b->kind || a->unit != b->unit || a->sign != b->sign || a->len != b->len)
        return 0;
    return a->kind >= (enum heap_atom_kind)VK_TUPLE || memcmp(a->data, b->data, a->len) == 0;
}

/* Make room for one more element in an open-addressing table of elements
 * of esize bytes whose first field is their hash (0: an empty slot):
 * kept at most three-quarters full, doubled (or made, cap0 slots) when it
 * would be fuller. -1 on out-of-memory. */
static int table_room(void **slots, size_t *mask, size_t n, size_t esize, size_t cap0)
{
    unsigned char *old = *slots;
    if ((n + 1) * 4 <= (old ? *mask + 1 : 0) * 3)
        return 0;
    size_t cap = old ? 2 * (*mask + 1) : cap0;
    unsigned char *v = calloc(cap, esize);
    if (!v)
        return -1;
    for (size_t i = 0; old && i <= *mask; i++) {
        uint64_t h, taken;
        memcpy(&h, old + i * esize, 8);
        if (!h)
            continue;
        size_t j = (size_t)h & (cap - 1);
        while (memcpy(&taken, v + j * esize, 8), taken)
            j = (j + 1) & (cap - 1);
        memcpy(v + j * esize, old + i * esize, esize);
    }
    free(old);
    *slots = v;
    *mask = cap - 1;
    return 0;
}

static void note_example(uint64_t *ex, uint64_t seen, uint64_t addr)
{
    if (seen < ADVICE_EXAMPLES)
        ex[seen] = addr;
}

/* Count o as one more holder of the value a, whose hash is hash; the
 * value's slot (*made if new), or NULL on out-of-memory. */
static struct value_slot *add_value(struct pass *ps, const struct heap_object *o, const struct heap_atom *a,
                                    uint64_t hash, int *made)
{
    struct value_table *t = &ps->values;
    void *slots = t->v;
    int grown = table_room(&slots, &t->mask, t->n, sizeof *t->v, 1024);
    t->v = slots;
    if (grown != 0) {
        ps->oom = 1;
        return NULL;
    }
    size_t j = (size_t)hash & t->mask;
    while (t->v[j].hash && !(t->v[j].hash == hash && atom_equal(&t->v[j].atom, a)))
        j = (j + 1) & t->mask;
    struct value_slot *s = &t->v[j];
    *made = !s->hash;
    if (*made) {
        s->hash = hash;
        s->atom = *a;
        s->first = *o;
        t->n++;
    }
    note_example(s->examples, s->objects, o->addr);
    s->objects++;
    s->bytes += o->size;
    return s;
}

/* The group of hash (of type and fields), made empty if new; NULL on
 * out-of-memory. *made tells whether it was. */
static struct group_slot *group_get(struct pass *ps, struct group_table *t, uint64_t hash, uint32_t type,
                                    uint32_t fields, int *made)
{
    hash = mix64(hash ^ mix64((uint64_t)type << 32 | fields));
    hash = hash ? hash : 1;
    void *slots = t->v;
    int grown = table_room(&slots, &t->mask, t->n, sizeof *t->v, 256);
    t->v = slots;
    if (grown != 0) {
        ps->oom = 1;
        return NULL;
    }
    size_t j = (size_t)hash & t->mask;
    while (t->v[j].hash && !(t->v[j].hash == hash && t->v[j].type == type && t->v[j].fields == fields))
        j = (j + 1) & t->mask;
    struct group_slot *g = &t->v[j];
    *made = !g->hash;
    if (*made) {
        g->hash = hash;
        g->type = type;
        g->fields = fields;
        t->n++;
    }
    return g;
}

static void group_add(struct group_slot *g, uint64_t addr, uint64_t bytes)
{
    note_example(g->examples, g->objects, addr);
    g->objects++;
    g->bytes += bytes;
}

static void add_to(struct advice_finding *f, const struct heap_object *o, uint64_t saving)
{
    note_example(f->examples, f->objects, o->addr);
    f->objects++;
    f->bytes += o->size;
    f->saving += saving;
}

/* ---- what an object refers to, read back through the heap layer ---- */

/* The object at addr as an atom: 1 and *o, *a filled, else 0. */
static int atom_at(struct pass *ps, uint64_t addr, struct heap_object *o, struct heap_atom *a)
{
    return heap_object_at(ps->h, addr, o) && ps->role[o->type] == ROLE_ATOM && heap_atom(ps->h, o, a);
}

/* A str key or attribute name as UTF-8: its length, or -1 if addr is
 * not an exact str or it is too long to be a field name. */
static int name_at(struct pass *ps, uint64_t addr, char *out, size_t cap)
{
    struct heap_object o;
    struct heap_atom a;
    int truncated = 0;
    if (!atom_at(ps, addr, &o, &a) || a.kind != HEAP_ATOM_STR ||
        !heap_value(ps->h, &o, out, cap, MAX_NAME, &truncated) || truncated)
        return -1;
    return (int)strlen(out);
}

/* How a value counts when comparing instances: an atom by its value,
 * anything else by its identity. */
static uint64_t value_key(struct pass *ps, uint64_t addr)
{
    struct heap_object o;
    struct heap_atom a;
    return atom_at(ps, addr, &o, &a) ? heap_atom_hash(&a) : mix64(addr);
}

/* ---- duplicates of tuples and frozensets of atoms ---- */

static void quote_value(struct heap *h, const struct heap_object *o, int kind, char *out, size_t cap);

#define SHOWN_ITEMS 6

/* "(1, 'a')" or "frozenset({1, 'a'})", the first items of o. */
static char *show_composite(struct pass *ps, int kind, const struct heap_object *items,
                            const struct heap_atom *atoms, uint64_t n)
{
    char out[160], one[100];
    size_t at = (size_t)snprintf(out, sizeof out, "%s", kind == VK_TUPLE ? "(" : "frozenset({");
    for (uint64_t i = 0; i < n && i < SHOWN_ITEMS && at < sizeof out; i++) {
        quote_value(ps->h, &items[i], atoms[i].kind, one, sizeof one);
        at += (size_t)snprintf(out + at, sizeof out - at, "%s%s", i ? ", " : "", one);
    }
    if (at < sizeof out)
        snprintf(out + at, sizeof out - at, "%s%s", n > SHOWN_ITEMS ? ", ..." : "",
                 kind == VK_FROZENSET ? "})" : n == 1 ? ",)" : ")");
    char *copy = strdup(out);
    if (!copy)
        ps->oom = 1;
    return copy;
}

static void composite_value(struct pass *ps, const struct heap_object *o, const struct heap_edge *e, size_t n,
                            int kind)
{
    uint64_t hash = (uint64_t)kind, items = 0;
    struct heap_object first[SHOWN_ITEMS];
    struct heap_atom first_atoms[SHOWN_ITEMS];
    for (size_t i = 0; i < n; i++) {
        struct heap_object item;
        struct heap_atom a;
        if (e[i].how != HEAP_EDGE_ITEM)
            continue;
        if (!atom_at(ps, e[i].to, &item, &a))
            return;               /* not made of atoms only */
        uint64_t ih = heap_atom_hash(&a);
        hash = kind == VK_TUPLE ? mix64(hash ^ ih) : hash + mix64(ih);   /* a frozenset has no order */
        if (items < SHOWN_ITEMS) {
            first[items] = item;
            first_atoms[items] = a;
        }
        items++;
    }
    if (!items)
        return;
    hash = mix64(hash ^ items);
    struct heap_atom a = {.kind = (enum heap_atom_kind)kind, .len = items};
    int made;
    struct value_slot *s = add_value(ps, o, &a, hash ? hash : 1, &made);
    if (s && made)
        s->shown = show_composite(ps, kind, first, first_atoms, items);
}

/* ---- records: dicts grouped by their key set ---- */

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of a dict's str keys, into names (pointing into buf) in the
 * dict's order; how many, or -1 if a key is not a str or there are too
 * many. */
static int dict_key_names(struct pass *ps, const struct heap_edge *e, size_t n, char *buf, size_t cap,
                          char **names)
{
    int k = 0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].how != HEAP_EDGE_KEY)
            continue;
        if (k == MAX_FIELDS || cap - used < MAX_NAME * 4 + 8)
            return -1;
        int len = name_at(ps, e[i].to, buf + used, cap - used);
        if (len < 0)
            return -1;
        names[k++] = buf + used;
        used += (size_t)len + 1;
    }
    return k;
}

/* "'id', 'name', 'price'" (cut to fit). */
static void join_names(char *const *names, int n, const char *quote, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (int i = 0; i < n && at + 8 < cap; i++) {
        int w = snprintf(out + at, cap - at, "%s%s%s%s", i ? ", " : "", quote, names[i], quote);
        if (w < 0 || (size_t)w >= cap - at) {
            snprintf(out + (cap > 5 ? cap - 5 : 0), 5, ", ..");
            return;
        }
        at += (size_t)w;
    }
}

static void record_shape(struct pass *ps, const struct heap_object *o, const struct heap_edge *e, size_t n)
{
    char buf[MAX_FIELDS * 48], *names[MAX_FIELDS], *sorted[MAX_FIELDS];
    int k = dict_key_names(ps, e, n, buf, sizeof buf, names);
    if (k <= 0)
        return;
    for (int i = 0; i < k; i++) {
        size_t len = strlen(names[i]);
        if (len > 4 && strncmp(names[i], "__", 2) == 0 && strcmp(names[i] + len - 2, "__") == 0)
            return;               /* a namespace (a class's, a module's), not a record */
    }
    memcpy(sorted, names, (size_t)k * sizeof *names);
    qsort(sorted, (size_t)k, sizeof *sorted, by_name);
    uint64_t hash = 0;
    for (int i = 0; i < k; i++)
        hash = mix64(hash ^ bytes_hash(0, sorted[i], strlen(sorted[i]) + 1));
    int made;
    struct group_slot *g = group_get(ps, &ps->shapes, hash, o->type, (uint32_t)k, &made);
    if (!g)
        return;
    if (made) {
        char shown[160];
        join_names(names, k, "'", shown, sizeof shown);
        if (!(g->value = strdup(shown)))
            ps->oom = 1;
    }
    group_add(g, o->addr, o->size + o->extra);
}

/* ---- instances: their class's names and cost, and who is identical ---- */

static struct class_use *class_of(struct pass *ps, uint32_t type)
{
    if (!ps->classes[type] && !(ps->classes[type] = calloc(1, sizeof **ps->classes)))
        ps->oom = 1;
    return ps->classes[type];
}

static void class_name(struct pass *ps, struct class_use *c, const char *name)
{
    if (c->too_many)
        return;
    for (uint32_t i = 0; i < c->nnames; i++)
        if (strcmp(c->names[i], name) == 0)
            return;
    if (c->nnames == MAX_FIELDS) {
        c->too_many = 1;
        return;
    }
    if (!(c->names[c->nnames] = strdup(name)))
        ps->oom = 1;
    else
        c->nnames++;
}

/* One attribute's part of an instance's signature (order does not count). */
static uint64_t attr_sig(struct pass *ps, const char *name, uint64_t value)
{
    return mix64(bytes_hash(0, name, strlen(name)) ^ value_key(ps, value));
}

/* "app.Point(x=1, y='a')": the class and the attributes one instance
 * has, from its ATTR edges or (from_dict) its __dict__'s key and value
 * edges; values that are not atoms by their kind. */
static char *show_instance(struct pass *ps, uint32_t type, const struct heap_edge *e, size_t n, int from_dict)
{
    char out[160], name[MAX_NAME * 4 + 8], value[100];
    size_t at = (size_t)snprintf(out, sizeof out, "%s(", ps->h->types[type].name);
    int shown = 0;
    for (size_t i = 0; i < n && at < sizeof out; i++) {
        uint64_t to;
        if (from_dict) {
            if (i + 1 >= n || e[i].how != HEAP_EDGE_KEY || e[i + 1].how != HEAP_EDGE_VALUE ||
                name_at(ps, e[i].to, name, sizeof name) < 0)
                continue;
            to = e[i + 1].to;
        } else {
            if (e[i].how != HEAP_EDGE_ATTR || !e[i].name)
                continue;
            snprintf(name, sizeof name, "%s", e[i].name);
            to = e[i].to;
        }
        struct heap_object v;
        struct heap_atom a;
        if (atom_at(ps, to, &v, &a))
            quote_value(ps->h, &v, a.kind, value, sizeof value);
        else
            snprintf(value, sizeof value, "<%s>", heap_object_at(ps->h, to, &v) ? ps->h->types[v.type].name : "?");
        at += (size_t)snprintf(out + at, sizeof out - at, "%s%s=%s", shown++ ? ", " : "", name, value);
    }
    if (at < sizeof out)
        snprintf(out + at, sizeof out - at, ")");
    else
        snprintf(out + sizeof out - 5, 5, "...)");
    char *copy = strdup(out);
    if (!copy)
        ps->oom = 1;
    return copy;
}

static void identical_add(struct pass *ps, uint32_t type, uint64_t sig, uint32_t nattrs, uint64_t addr,
                          uint64_t bytes, const struct heap_edge *e, size_t n, int from_dict)
{
    int made;
    struct group_slot *g = group_get(ps, &ps->identical, sig, type, nattrs, &made);
    if (!g)
        return;
    if (made)
        g->value = show_instance(ps, type, e, n, from_dict);
    group_add(g, addr, bytes);
}

/* An instance: what it costs its class, the names of the attributes it
 * keeps in itself (3.11+ values), and its signature if it has them. An
 * instance with a __dict__ is seen through that dict (owned_dict). */
static void instance(struct pass *ps, const struct heap_object *o, const struct heap_edge *e, size_t n)
{
    struct class_use *c = class_of(ps, o->type);
    if (!c)
        return;
    note_example(c->examples, c->instances, o->addr);
    c->instances++;
    c->bytes += o->size + o->extra;
    uint64_t sig = 0;
    uint32_t nattrs = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].how == HEAP_EDGE_DICT)
            return;
        if (e[i].how != HEAP_EDGE_ATTR || !e[i].name)
            continue;
        class_name(ps, c, e[i].name);
        sig += attr_sig(ps, e[i].name, e[i].to);
        nattrs++;
    }
    if (nattrs)
        identical_add(ps, o->type, sig, nattrs, o->addr, o->size + o->extra, e, n, 0);
}

/* The __dict__ of an instance of class owner: its cost and names go to
 * the class; the instance's signature is its items'. */
static void owned_dict(struct pass *ps, const struct heap_object *o, const struct heap_edge *e, size_t n)
{
    uint32_t type = o->owner - 1;
    if (type >= ps->h->ntypes || ps->role[type] != ROLE_INSTANCE)
        return;
    struct class_use *c = class_of(ps, type);
    if (!c)
        return;
    c->bytes += o->size + o->extra;
    uint64_t sig = 0;
    uint32_t nattrs = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        char name[MAX_NAME * 4 + 8];
        if (e[i].how != HEAP_EDGE_KEY || e[i + 1].how != HEAP_EDGE_VALUE || name_at(ps, e[i].to, name, sizeof name) < 0)
            continue;
        class_name(ps, c, name);
        sig += attr_sig(ps, name, e[i + 1].to);
        nattrs++;
    }
    /* the instance itself: its class's instances are all the same size */
    const struct heap_tally *t = &ps->h->types[type].objects;
    uint64_t own = t->count ? (t->bytes + t->extra) / t->count : 0;
    if (nattrs)
        identical_add(ps, type, sig, nattrs, o->addr, o->size + o->extra + own, e, n, 1);
}

/* ---- containers ---- */

/* A dict's or set's table far larger than a rebuild would make it: a
 * table at least four times the rebuilt one, which growth alone never
 * leaves (it at most doubles past the need), only deletions do. */
static void oversized_table(struct pass *ps, const struct heap_object *o, int which)
{
    struct heap_table t;
    if (heap_table(ps->h, o, &t) && t.used > 0 && t.bytes > t.rebuilt_bytes && t.slots >= 4 * t.rebuilt_slots &&
        t.entries >= t.used)
        add_to(&ps->spare[which], o, t.bytes - t.rebuilt_bytes);
}

static void container(struct pass *ps, const struct heap_object *o, int role)
{
    int64_t len = heap_length(ps->h, o), cap;
    if (len < 0)
        return;
    /* an instance's empty __dict__ is the instances' business (slots) */
    if (len == 0 && role != ROLE_BYTEARRAY && !o->owner) {
        add_to(&ps->empty[role == ROLE_LIST ? 0 : role == ROLE_DICT ? 1 : 2], o, o->size);
        return;
    }
    switch (role) {
    case ROLE_LIST:                    /* spare slots, 8 bytes each */
        cap = heap_capacity(ps->h, o);
        if (cap > len)
            add_to(&ps->spare[0], o, (uint64_t)(cap - len) * 8);
        break;
    case ROLE_BYTEARRAY:               /* it keeps one byte past its length for a NUL */
        cap = heap_capacity(ps->h, o);
        if (cap > len + 1)
            add_to(&ps->spare[1], o, (uint64_t)(cap - len - 1));
        break;
    case ROLE_DICT:
        oversized_table(ps, o, 2);
        break;
    case ROLE_SET:
        oversized_table(ps, o, 3);
        break;
    }
}

static int visit(const struct heap_object *o, const struct heap_edge *e, size_t n, void *arg)
{
    struct pass *ps = arg;
    struct heap_atom a;
    int role = ps->role[o->type], made;
    switch (role) {
    case ROLE_ATOM:
        if (heap_atom(ps->h, o, &a))
            add_value(ps, o, &a, heap_atom_hash(&a), &made);
        break;
    case ROLE_TUPLE:
    case ROLE_FROZENSET:
        composite_value(ps, o, e, n, role == ROLE_TUPLE ? VK_TUPLE : VK_FROZENSET);
        break;
    case ROLE_INSTANCE:
        instance(ps, o, e, n);
        break;
    case ROLE_DICT:
        container(ps, o, role);
        if (o->owner)
            owned_dict(ps, o, e, n);
        else
            record_shape(ps, o, e, n);
        break;
    default:
        container(ps, o, role);
        break;
    }
    return ps->oom;
}

/* Most saving first; ties by what they show, then by address, so that the
 * order is the same whatever order the groups were found in (a live heap
 * and a dump of it list the same groups). */
static int by_saving(const void *a, const void *b)
{
    const struct advice_group *x = a, *y = b;
    if (x->saving != y->saving)
        return x->saving < y->saving ? 1 : -1;
    int c = strcmp(x->value, y->value);
    if (c)
        return c;
    return x->examples[0] < y->examples[0] ? -1 : x->examples[0] > y->examples[0];
}

static int finding_by_saving(const void *a, const void *b)
{
    const struct advice_finding *x = a, *y = b;
    return x->saving < y->saving ? 1 : x->saving > y->saving ? -1 : 0;
}

/* The value as Python would write it: 'text', b'bytes', 12, 0.5. */
static void quote_value(struct heap *h, const struct heap_object *o, int kind, char *out, size_t cap)
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

static void finding_init(struct advice_finding *f, enum advice_kind kind, const char *type)
{
    memset(f, 0, sizeof *f);
    f->kind = kind;
    snprintf(f->type, sizeof f->type, "%s", type);
}

/* Account group g (filled) to f. */
static void finding_add_group(struct advice_finding *f, const struct advice_group *g)
{
    f->total_groups++;
    f->objects += g->objects;
    f->bytes += g->bytes;
    f->saving += g->saving;
}

/* Sort f's groups most saving first and keep max_groups of them; the
 * first ones give f its examples. */
static void finding_keep(struct advice_finding *f, struct advice_group *all, size_t n, size_t max_groups)
{
    qsort(all, n, sizeof *all, by_saving);
    for (size_t i = 0; i < n; i++)
        note_example(f->examples, i, all[i].examples[0]);
    f->ngroups = n < max_groups ? n : max_groups;
    f->groups = all;
}

/* One duplicates finding per value kind, its values most saving first. */
static int collect_duplicates(struct pass *ps, struct advice_finding *f, int kind, size_t max_groups)
{
    finding_init(f, ADVICE_DUPLICATES, value_type[kind]);
    size_t n = 0;
    for (size_t i = 0; ps->values.v && i <= ps->values.mask; i++)
        n += ps->values.v[i].hash && (int)ps->values.v[i].atom.kind == kind && ps->values.v[i].objects > 1;
    struct advice_group *all = calloc(n ? n : 1, sizeof *all);
    if (!all)
        return -1;
    size_t k = 0;
    for (size_t i = 0; ps->values.v && i <= ps->values.mask; i++) {
        const struct value_slot *s = &ps->values.v[i];
        if (!s->hash || (int)s->atom.kind != kind || s->objects < 2)
            continue;
        struct advice_group *g = &all[k++];
        g->objects = s->objects;
        g->size = s->first.size;
        g->bytes = s->bytes;
        g->saving = s->bytes - s->first.size;   /* every copy but one */
        memcpy(g->examples, s->examples, sizeof g->examples);
        g->examples[0] = s->first.addr;
        if (s->shown)
            snprintf(g->value, sizeof g->value, "%s", s->shown);
        else
            quote_value(ps->h, &s->first, kind, g->value, sizeof g->value);
        finding_add_group(f, g);
    }
    finding_keep(f, all, n, max_groups);
    return 0;
}

/* Fill g for n objects taking bytes now, which as instances of a class
 * with __slots__ of `fields` names would take as_slots, the saving being
 * the difference; 0 (g to be reused) if that saves nothing. */
static int as_slots_group(struct pass *ps, struct advice_group *g, uint64_t n, uint64_t bytes, uint32_t fields,
                          const uint64_t *examples)
{
    uint64_t as_slots = n * heap_size_as(ps->h, HEAP_AS_SLOTS, fields);
    if (!n || !as_slots || as_slots >= bytes)
        return 0;
    *g = (struct advice_group){.objects = n, .bytes = bytes, .size = bytes / n, .fields = fields,
                               .as_slots = as_slots, .saving = bytes - as_slots};
    memcpy(g->examples, examples, sizeof g->examples);
    return 1;
}

/* Records: each key set of at least ADVICE_MIN_RECORDS dicts, with what
 * its dicts would take as __slots__ instances, namedtuples or tuples. */
static int collect_records(struct pass *ps, struct advice_finding *f, size_t max_groups)
{
    finding_init(f, ADVICE_RECORDS, "dict");
    const struct group_table *t = &ps->shapes;
    struct advice_group *all = calloc(t->n ? t->n : 1, sizeof *all);
    if (!all)
        return -1;
    size_t k = 0;
    for (size_t i = 0; t->v && i <= t->mask; i++) {
        const struct group_slot *s = &t->v[i];
        if (!s->hash || s->objects < ADVICE_MIN_RECORDS)
            continue;
        struct advice_group *g = &all[k];
        if (!as_slots_group(ps, g, s->objects, s->bytes, s->fields, s->examples))
            continue;
        g->as_tuple = s->objects * heap_size_as(ps->h, HEAP_AS_TUPLE, s->fields);
        snprintf(g->value, sizeof g->value, "{%s}", s->value ? s->value : "");
        finding_add_group(f, g);
        k++;
    }
    finding_keep(f, all, k, max_groups);
    return 0;
}

/* Classes without __slots__: each with at least ADVICE_MIN_RECORDS
 * instances, its instances' bytes now (with their __dict__s or values)
 * and as instances of the same class with __slots__ of the names seen. */
static int collect_no_slots(struct pass *ps, struct advice_finding *f, size_t max_groups)
{
    finding_init(f, ADVICE_NO_SLOTS, "instance");
    struct advice_group *all = calloc(ps->h->ntypes ? ps->h->ntypes : 1, sizeof *all);
    if (!all)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < ps->h->ntypes; i++) {
        const struct class_use *c = ps->classes[i];
        if (!c || c->instances < ADVICE_MIN_RECORDS || c->too_many || !c->nnames)
            continue;
        struct advice_group *g = &all[k];
        if (!as_slots_group(ps, g, c->instances, c->bytes, c->nnames, c->examples))
            continue;
        char names[120];
        join_names(c->names, (int)c->nnames, "", names, sizeof names);
        snprintf(g->value, sizeof g->value, "%s (%s)", ps->h->types[i].name, names);
        finding_add_group(f, g);
        k++;
    }
    finding_keep(f, all, k, max_groups);
    return 0;
}

/* Identical instances: each group of two or more, all but one saved. */
static int collect_identical(struct pass *ps, struct advice_finding *f, size_t max_groups)
{
    finding_init(f, ADVICE_IDENTICAL, "instance");
    const struct group_table *t = &ps->identical;
    size_t n = 0;
    for (size_t i = 0; t->v && i <= t->mask; i++)
        n += t->v[i].hash && t->v[i].objects > 1;
    struct advice_group *all = calloc(n ? n : 1, sizeof *all);
    if (!all)
        return -1;
    size_t k = 0;
    for (size_t i = 0; t->v && i <= t->mask; i++) {
        const struct group_slot *s = &t->v[i];
        if (!s->hash || s->objects < 2)
            continue;
        struct advice_group *g = &all[k++];
        g->objects = s->objects;
        g->bytes = s->bytes;
        g->size = s->bytes / s->objects;
        g->fields = s->fields;
        g->saving = s->bytes - g->size;
        memcpy(g->examples, s->examples, sizeof g->examples);
        snprintf(g->value, sizeof g->value, "%s", s->value ? s->value : ps->h->types[s->type].name);
        finding_add_group(f, g);
    }
    finding_keep(f, all, n, max_groups);
    return 0;
}

/* Which objects the pass looks at, and as what. */
static void assign_roles(const struct heap *h, unsigned char *role, unsigned char *want)
{
    static const struct { const char *name; unsigned char role; } core[] = {
        {"str", ROLE_ATOM}, {"bytes", ROLE_ATOM}, {"int", ROLE_ATOM}, {"float", ROLE_ATOM},
        {"list", ROLE_LIST}, {"bytearray", ROLE_BYTEARRAY}, {"dict", ROLE_DICT}, {"set", ROLE_SET},
        {"tuple", ROLE_TUPLE}, {"frozenset", ROLE_FROZENSET},
    };
    for (size_t i = 0; i < h->ntypes; i++) {
        const struct heap_type *t = &h->types[i];
        if (t->is_heap && t->has_dict)
            role[i] = ROLE_INSTANCE;
        for (size_t k = 0; !t->is_heap && k < sizeof core / sizeof core[0]; k++)
            if (strcmp(t->name, core[k].name) == 0)
                role[i] = core[k].role;
        want[i] = role[i] != ROLE_NONE;
    }
}

static void pass_free(struct pass *ps)
{
    for (size_t i = 0; ps->values.v && i <= ps->values.mask; i++)
        free(ps->values.v[i].shown);
    free(ps->values.v);
    for (size_t i = 0; ps->shapes.v && i <= ps->shapes.mask; i++)
        free(ps->shapes.v[i].value);
    free(ps->shapes.v);
    for (size_t i = 0; ps->identical.v && i <= ps->identical.mask; i++)
        free(ps->identical.v[i].value);
    free(ps->identical.v);
    for (size_t i = 0; ps->classes && i < ps->h->ntypes; i++) {
        for (uint32_t k = 0; ps->classes[i] && k < ps->classes[i]->nnames; k++)
            free(ps->classes[i]->names[k]);
        free(ps->classes[i]);
    }
    free(ps->classes);
}

/* Keep f if it saves anything; else drop its groups. */
static void keep_finding(struct advice *out, struct advice_finding *f)
{
    if (f->saving)
        out->findings[out->n++] = *f;
    else
        free(f->groups);
}

enum phs_status advise_build(struct heap *h, size_t max_groups, struct advice *out, struct phs_error *err)
{
    memset(out, 0, sizeof *out);
    out->heap_bytes = h->total.bytes;
    out->heap_objects = h->total.count;
    struct pass ps = {.h = h};
    size_t nt = h->ntypes ? h->ntypes : 1;
    unsigned char *role = calloc(nt, 1), *want = calloc(nt, 1);
    ps.classes = calloc(nt, sizeof *ps.classes);
    out->findings = calloc(NVALUE_KINDS + 3 + 4 + 3, sizeof *out->findings);
    if (!role || !want || !ps.classes || !out->findings)
        goto oom;
    assign_roles(h, role, want);
    ps.role = role;
    static const char *const empty_type[] = {"list", "dict", "set"},
                             *const spare_type[] = {"list", "bytearray", "dict", "set"};
    for (int i = 0; i < 3; i++)
        finding_init(&ps.empty[i], ADVICE_EMPTY, empty_type[i]);
    for (int i = 0; i < 4; i++)
        finding_init(&ps.spare[i], ADVICE_OVERALLOCATED, spare_type[i]);
    if (heap_each_edges_of(h, want, h->ntypes, visit, &ps) != 0 || ps.oom)
        goto oom;
    struct advice_finding f;
    for (int k = 1; k < NVALUE_KINDS; k++) {
        if (collect_duplicates(&ps, &f, k, max_groups) != 0)
            goto oom;
        keep_finding(out, &f);
    }
    if (collect_records(&ps, &f, max_groups) != 0)
        goto oom;
    keep_finding(out, &f);
    if (collect_no_slots(&ps, &f, max_groups) != 0)
        goto oom;
    keep_finding(out, &f);
    if (collect_identical(&ps, &f, max_groups) != 0)
        goto oom;
    keep_finding(out, &f);
    for (int i = 0; i < 3; i++)
        keep_finding(out, &ps.empty[i]);
    for (int i = 0; i < 4; i++)
        keep_finding(out, &ps.spare[i]);
    qsort(out->findings, out->n, sizeof *out->findings, finding_by_saving);
    for (size_t i = 0; i < out->n; i++)
        out->saving += out->findings[i].saving;
    pass_free(&ps);
    free(role);
    free(want);
    return PHS_OK;
oom:
    pass_free(&ps);
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
    case ADVICE_RECORDS: return "record-like";
    case ADVICE_NO_SLOTS: return "without __slots__";
    case ADVICE_IDENTICAL: return "identical";
    default: return "?";
    }
}

const char *advice_kind_key(enum advice_kind k)
{
    switch (k) {
    case ADVICE_DUPLICATES: return "duplicates";
    case ADVICE_OVERALLOCATED: return "overallocated";
    case ADVICE_EMPTY: return "empty";
    case ADVICE_RECORDS: return "records";
    case ADVICE_NO_SLOTS: return "no_slots";
    case ADVICE_IDENTICAL: return "identical";
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
        return strcmp(type, "list") == 0        ? "rebuild once the list is complete: lst = lst.copy() allocates exactly len(lst) slots"
               : strcmp(type, "bytearray") == 0 ? "rebuild once it is complete: ba = bytearray(ba) allocates exactly its length"
               : strcmp(type, "dict") == 0      ? "rebuild after deleting most keys: d = dict(d) sizes the table for what is left"
                                                : "rebuild after removing most items: s = set(s) sizes the table for what is left";
    case ADVICE_EMPTY:
        return "create it when the first item arrives (None until then), or share one immutable empty value";
    case ADVICE_RECORDS:
        return "make each record an instance of a @dataclass(slots=True) (or a class with __slots__) with these "
               "fields; a namedtuple or tuple if records never change";
    case ADVICE_NO_SLOTS:
        return "add __slots__ with these attribute names to the class (or use @dataclass(slots=True))";
    case ADVICE_IDENTICAL:
        return "share one instance among the holders (a cache keyed by the attribute values), if they are never "
               "changed in place";
    default:
        return "";
    }
}
