/* types.c - the type registry of the heap walk: which addresses are type
 * objects, what each is called, and how its instances are laid out.
 *
 * A type is accepted only if it looks like one from every side: a positive
 * refcount, the READY flag, sane sizes, a readable name, and a metatype that
 * is itself an accepted type descending from `type`. Layouts come from the
 * nearest base whose address matches a known type (found by ELF symbol, or
 * for the few that live in extension modules by their dotted tp_name).
 * Kinds are named as users see them: tp_name for static types
 * ("collections.OrderedDict"), module.qualname for heap types
 * ("app.models.Order"), and builtins without a prefix. */
#include "walker.h"

#include <sys/mman.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_TYPE_DEPTH   64       /* metatype and base chains */
#define MAX_NAME         256
#define MAX_MEMBERS      4096     /* PyMemberDef entries read per type */

static const struct {
    const char *symbol;       /* exported PyTypeObject, or NULL */
    const char *tp_name;      /* for types only found by name */
    enum layout_kind layout;
} known_types[] = {
    {"PyBaseObject_Type", NULL, LK_OBJECT},
    {"PyFloat_Type", NULL, LK_OBJECT},      /* a double: nothing to follow, nothing to scan */
    {"PyComplex_Type", NULL, LK_OBJECT},
    {"PyLong_Type", NULL, LK_INT},
    {"PyBool_Type", NULL, LK_INT},
    {"PyUnicode_Type", NULL, LK_STR},
    {"PyBytes_Type", NULL, LK_BYTES},
    {"PyByteArray_Type", NULL, LK_BYTEARRAY},
    {"PyTuple_Type", NULL, LK_TUPLE},
    {"PyList_Type", NULL, LK_LIST},
    {"PyDict_Type", NULL, LK_DICT},
    {"PySet_Type", NULL, LK_SET},
    {"PyFrozenSet_Type", NULL, LK_SET},
    {"PyType_Type", NULL, LK_TYPE},
    {"PyModule_Type", NULL, LK_MODULE},
    {"PyFunction_Type", NULL, LK_FUNCTION},
    {"PyCode_Type", NULL, LK_CODE},
    {"PyCell_Type", NULL, LK_CELL},
    {"PyMethod_Type", NULL, LK_METHOD},
    {"PyCFunction_Type", NULL, LK_CFUNCTION},
    {"PyCMethod_Type", NULL, LK_CFUNCTION},
    {"PyClassMethod_Type", NULL, LK_CLASSMETHOD},
    {"PyStaticMethod_Type", NULL, LK_STATICMETHOD},
    {"PyProperty_Type", NULL, LK_PROPERTY},
    {"PyMemberDescr_Type", NULL, LK_DESCR},
    {"PyGetSetDescr_Type", NULL, LK_DESCR},
    {"PyMethodDescr_Type", NULL, LK_DESCR},
    {"PyWrapperDescr_Type", NULL, LK_DESCR},
    {"PyClassMethodDescr_Type", NULL, LK_DESCR},
    {"PyFrame_Type", NULL, LK_FRAME},
    {"PyGen_Type", NULL, LK_GEN},
    {"PyCoro_Type", NULL, LK_CORO},
    {"PyAsyncGen_Type", NULL, LK_CORO},
    {"_PyWeakref_RefType", NULL, LK_WEAKREF},
    {"_PyWeakref_ProxyType", NULL, LK_WEAKREF},
    {"_PyWeakref_CallableProxyType", NULL, LK_WEAKREF},
    {"PyRange_Type", NULL, LK_RANGE},
    {"PySlice_Type", NULL, LK_SLICE},
    {"PyMemoryView_Type", NULL, LK_MEMORYVIEW},
    {"_PyManagedBuffer_Type", NULL, LK_MANAGEDBUF},
    {"PyODict_Type", NULL, LK_ODICT},
    {"PyFrozenDict_Type", NULL, LK_DICT},   /* 3.15: a dict plus ma_hash, not a dict subclass */
    {"PyCapsule_Type", NULL, LK_OBJECT},    /* its pointer is to C data (an API table), never scanned */
    {NULL, "collections.deque", LK_DEQUE},
    {NULL, "collections.defaultdict", LK_DEFDICT},
    {NULL, "array.array", LK_ARRAY},
    {NULL, "_io.BufferedReader", LK_BUFFERED},
    {NULL, "_io.BufferedWriter", LK_BUFFERED},
    {NULL, "_io.BufferedRandom", LK_BUFFERED},
    {NULL, "xml.etree.ElementTree.Element", LK_ELEMENT},
    {NULL, "_struct.Struct", LK_STRUCT},     /* 3.9+; 3.7 and 3.8 call it "Struct" (below) */
    {NULL, "_queue.SimpleQueue", LK_SIMPLEQUEUE},
    {NULL, "_io.BytesIO", LK_BYTESIO},
    {NULL, "decimal.Decimal", LK_DECIMAL},
    {NULL, "numpy.ndarray", LK_NDARRAY},
    {NULL, "numpy.generic", LK_NPSCALAR},     /* the base of every numpy scalar type */
    {NULL, "itertools.combinations", LK_ITER_COMB},
    {NULL, "itertools.combinations_with_replacement", LK_ITER_COMB},
    {NULL, "itertools.permutations", LK_ITER_PERM},
    {NULL, "itertools.product", LK_ITER_PRODUCT},
    {NULL, "_pickle.Pickler", LK_PICKLER},
    {NULL, "_pickle.Unpickler", LK_UNPICKLER},
};
#define NKNOWN (sizeof known_types / sizeof known_types[0])

/* Names too plain to match alone (no module): only a static type (a class
 * of that name is a heap type) of exactly this basic size. */
static const struct {
    const char *tp_name;
    enum layout_kind layout;
    int64_t basicsize;
} plain_named_types[] = {
    {"Struct", LK_STRUCT, STRUCT_SIZE},       /* _struct's, 3.7 and 3.8 */
};

size_t heap_symbols_used(const char **names, size_t cap)
{
    size_t n = 0;
    static const char *const more[] = {"_PySet_Dummy"};   /* PyDict_Type is a known type */
    for (size_t i = 0; i < NKNOWN; i++)
        if (known_types[i].symbol && n < cap)
            names[n++] = known_types[i].symbol;
    for (size_t i = 0; i < sizeof more / sizeof more[0] && n < cap; i++)
        names[n++] = more[i];
    return n;
}

void types_init(struct walker *w)
{
    w->sh->ncore = 0;
    for (size_t i = 0; i < NKNOWN && w->sh->ncore < 64; i++) {
        uint64_t addr;
        if (known_types[i].symbol && elf_file_symbol(&w->p->elf, known_types[i].symbol, &addr, NULL)) {
            w->sh->core_addr[w->sh->ncore] = addr;
            w->sh->core_layout[w->sh->ncore++] = known_types[i].layout;
        }
    }
    w->sh->type_type = w->p->type_type_addr;
    if (!elf_file_symbol(&w->p->elf, "PyDict_Type", &w->sh->dict_type, NULL))
        w->sh->dict_type = 0;
    uint64_t dummy_var;
    if (elf_file_symbol(&w->p->elf, "_PySet_Dummy", &dummy_var, NULL))
        rd64(w, dummy_var, &w->sh->set_dummy);
}

/* ctypes' two types whose __sizeof__ counts a C description of a ctypes
 * type (layout.h): StgDict, a static dict subclass up to 3.12 (a class of
 * that plain name is a heap type), and from 3.13 CType_Type, the base of
 * the metatypes. */
static int ctypes_role(const struct walker *w, const char *tp_name, enum layout_kind lk, uint64_t flags)
{
    const struct ctypes_layout *c = w->lay->ctypes;
    if (!c)
        return CTYPES_NONE;
    if (c->home == CTI_STGDICT && lk == LK_DICT && !(flags & TPF_HEAPTYPE) && strcmp(tp_name, "StgDict") == 0)
        return CTYPES_STGDICT;
    if (c->home == CTI_TYPE_DATA && lk == LK_TYPE && strcmp(tp_name, "_ctypes.CType_Type") == 0)
        return CTYPES_METATYPE;
    return CTYPES_NONE;
}

/* The item size numpy's __sizeof__ of a scalar adds to the object (which
 * holds the value already), for the fixed-size scalar types by their
 * names in numpy 1.x and 2.x; 0 for the others (str_, bytes_, void keep
 * the sizes of their own bases). */
static int64_t numpy_scalar_itemsize(const char *tp_name)
{
    static const struct {
        const char *name;
        int64_t size;
    } scalars[] = {
        {"bool", 1},     {"bool_", 1},       {"int8", 1},        {"uint8", 1},       {"int16", 2},
        {"uint16", 2},   {"float16", 2},     {"int32", 4},       {"uint32", 4},      {"float32", 4},
        {"int64", 8},    {"uint64", 8},      {"longlong", 8},    {"ulonglong", 8},   {"float64", 8},
        {"complex64", 8}, {"datetime64", 8}, {"timedelta64", 8}, {"float128", 16},  {"longdouble", 16},
        {"complex128", 16}, {"complex256", 32}, {"clongdouble", 32},
    };
    if (strncmp(tp_name, "numpy.", 6) != 0)
        return 0;
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++)
        if (strcmp(tp_name + 6, scalars[i].name) == 0)
            return scalars[i].size;
    return 0;
}

static int core_layout_of(const struct walker *w, uint64_t addr, const char *tp_name, uint64_t flags,
                          int64_t basicsize, enum layout_kind *lk)
{
    for (size_t i = 0; i < w->sh->ncore; i++)
        if (w->sh->core_addr[i] == addr) {
            *lk = w->sh->core_layout[i];
            return 1;
        }
    for (size_t i = 0; i < NKNOWN; i++)
        if (known_types[i].tp_name && strcmp(known_types[i].tp_name, tp_name) == 0) {
            *lk = known_types[i].layout;
            return 1;
        }
    for (size_t i = 0; i < sizeof plain_named_types / sizeof plain_named_types[0]; i++)
        if (!(flags & TPF_HEAPTYPE) && basicsize == plain_named_types[i].basicsize &&
            strcmp(plain_named_types[i].tp_name, tp_name) == 0) {
            *lk = plain_named_types[i].layout;
            return 1;
        }
    return 0;
}

/* ---- strings and dicts, as far as naming types needs them ---- */

int str_utf8(struct walker *w, uint64_t addr, char *out, size_t cap)
{
    uint64_t hdr[2];
    if (cap == 0 || rd(w, addr, hdr, sizeof hdr) != 0)
        return -1;
    struct tinfo *t = types_get(w, hdr[1], 1);
    if (!t || !t->valid || t->layout != LK_STR)
        return -1;
    struct str_header s;
    str_header(w, addr, &s);
    int64_t length = s.length;
    unsigned kind = s.kind;
    uint64_t data = s.data;
    if (length < 0 || (kind != 1 && kind != 2 && kind != 4))
        return -1;
    size_t n = 0;
    int64_t take = length < (int64_t)cap ? length : (int64_t)cap;
    const unsigned char *d = data ? walker_view(w, data, (size_t)take * kind) : NULL;
    if (!d)
        return -1;
    for (int64_t i = 0; i < take; i++) {
        uint32_t c = kind == 1 ? d[i] : kind == 2 ? (uint32_t)(d[2 * i] | d[2 * i + 1] << 8)
                   : (uint32_t)(d[4 * i] | d[4 * i + 1] << 8 | d[4 * i + 2] << 16 | (uint32_t)d[4 * i + 3] << 24);
        unsigned char enc[4];
        size_t len;
        if (c < 0x80) { enc[0] = (unsigned char)c; len = 1; }
        else if (c < 0x800) { enc[0] = (unsigned char)(0xC0 | c >> 6); enc[1] = (unsigned char)(0x80 | (c & 0x3F)); len = 2; }
        else if (c < 0x10000) { enc[0] = (unsigned char)(0xE0 | c >> 12); enc[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
                                enc[2] = (unsigned char)(0x80 | (c & 0x3F)); len = 3; }
        else { enc[0] = (unsigned char)(0xF0 | (c >> 18 & 7)); enc[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
               enc[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F)); enc[3] = (unsigned char)(0x80 | (c & 0x3F)); len = 4; }
        if (n + len >= cap)
            break;
        memcpy(out + n, enc, len);
        n += len;
    }
    out[n] = '\0';
    return (int)n;
}

uint64_t dict_get_str(struct walker *w, uint64_t dict_addr, const char *key)
{
    struct dict_shape s;
    if (dict_shape(w, field(w, dict_addr, WO(w, DICT_KEYS)), field(w, dict_addr, WO(w, DICT_VALUES)), &s) != 0)
        return 0;
    size_t klen = strlen(key);
    char buf[MAX_NAME];
    for (int64_t i = 0; i < s.nentries && i < 4096; i++) {
        uint64_t k = field(w, s.entries + (uint64_t)i * s.esize, (int64_t)s.koff);
        if (!k || str_utf8(w, k, buf, sizeof buf) != (int)klen || memcmp(buf, key, klen) != 0)
            continue;
        return s.values ? field(w, s.values, 8 * i) : field(w, s.entries + (uint64_t)i * s.esize, (int64_t)s.voff);
    }
    return 0;
}

void dict_each_str(struct walker *w, uint64_t dict_addr, size_t max,
                   void (*fn)(const char *key, uint64_t value, void *arg), void *arg)
{
    struct dict_shape s;
    if (dict_shape(w, field(w, dict_addr, WO(w, DICT_KEYS)), field(w, dict_addr, WO(w, DICT_VALUES)), &s) != 0)
        return;
    char buf[MAX_NAME];
    for (int64_t i = 0; i < s.nentries && (size_t)i < max; i++) {
        uint64_t k = field(w, s.entries + (uint64_t)i * s.esize, (int64_t)s.koff);
        uint64_t v = s.values ? field(w, s.values, 8 * i) : field(w, s.entries + (uint64_t)i * s.esize, (int64_t)s.voff);
        if (k && v && str_utf8(w, k, buf, sizeof buf) >= 0)
            fn(buf, v, arg);
    }
}

/* ---- the registry ---- */

/* The registry's index is an addr_map from a type address to 1 + its
 * entry; address 0 (which an addr_map cannot key) has a slot of its own. */
static struct tinfo *lookup(struct walker *w, uint64_t addr)
{
    uint32_t *v = addr ? addr_map_get(&w->sh->type_index, addr) : w->sh->null_type ? &w->sh->null_type : NULL;
    return v ? &w->sh->types[*v - 1] : NULL;
}

/* Add an entry (not yet valid) for addr; NULL on out-of-memory. */
static struct tinfo *add(struct walker *w, uint64_t addr)
{
    struct walk_share *sh = w->sh;
    if (sh->ntinfo == sh->cap_tinfo) {
        /* Reserved once and never moved, so the walk can hold pointers to
         * entries while it registers more; pages are touched as used. */
        if (sh->types)
            return NULL;
        void *m = mmap(NULL, MAX_TINFO * sizeof *sh->types, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        sh->types = m;
        sh->cap_tinfo = MAX_TINFO;
    }
    uint32_t entry = (uint32_t)sh->ntinfo + 1;
    if (!addr)
        sh->null_type = entry;
    else if (addr_map_add(&sh->type_index, addr, entry) < 0)
        return NULL;
    struct tinfo *t = &sh->types[sh->ntinfo++];
    memset(t, 0, sizeof *t);
    t->addr = addr;
    return t;
}

static int name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* The kind name of a heap type: module.qualname (no prefix for builtins). */
static void heap_type_name(struct walker *w, uint64_t addr, uint64_t tp_dict, const char *tp_name,
                           char *out, size_t cap)
{
    char module[MAX_NAME], qualname[MAX_NAME];
    uint64_t mod = tp_dict ? dict_get_str(w, tp_dict, "__module__") : 0;
    uint64_t qual = field(w, addr, WO(w, HEAPTYPE_QUALNAME));
    if (!qual || str_utf8(w, qual, qualname, sizeof qualname) <= 0)
        snprintf(qualname, sizeof qualname, "%s", tp_name);
    if (!mod || str_utf8(w, mod, module, sizeof module) <= 0 || strcmp(module, "builtins") == 0)
        snprintf(out, cap, "%s", qualname);
    else
        snprintf(out, cap, "%s.%s", module, qualname);
}

static void collect_members(struct walker *w, struct tinfo *t, uint64_t members)
{
    for (int i = 0; members && i < MAX_MEMBERS; i++) {
        unsigned char m[MEMBERDEF_SIZE];
        if (rd(w, members + (uint64_t)i * MEMBERDEF_SIZE, m, sizeof m) != 0)
            return;
        uint64_t name;
        int32_t type;
        int64_t off;
        memcpy(&name, m, 8);
        memcpy(&type, m + MEMBERDEF_TYPE, 4);
        memcpy(&off, m + MEMBERDEF_OFFSET, 8);
        if (!name)
            return;
        if ((type != MEMBER_T_OBJECT && type != MEMBER_T_OBJECT_EX) || off < 16 || off + 8 > t->basicsize)
            continue;
        int64_t *nm = realloc(t->members, (t->nmembers + 1) * sizeof *nm);
        if (!nm)
            return;
        t->members = nm;
        t->members[t->nmembers++] = off;
    }
}

static int register_heap_type(struct walker *w, struct tinfo *t, const char *name, int is_heap)
{
    if (w->h->ntypes == w->sh->cap_types) {
        size_t cap = w->sh->cap_types ? w->sh->cap_types * 2 : 256;
        struct heap_type *nt = realloc(w->h->types, cap * sizeof *nt);
        if (!nt)
            return -1;
        w->h->types = nt;
        w->sh->cap_types = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return -1;
    t->heap_index = (uint32_t)w->h->ntypes;
    t->plain_dict = t->layout == LK_DICT && t->is_core && t->addr == w->sh->dict_type;
    w->h->types[w->h->ntypes++] = (struct heap_type){.addr = t->addr, .name = copy, .is_heap = is_heap};
    return 0;
}

/* decode_leaf reads a leaf's header fields straight from the copy, which
 * holds basicsize bytes of it: they must lie within. */
static int leaf_header_fits(const struct walker *w, enum layout_kind lk, int64_t basicsize)
{
    static const enum offsets_field str_fields[] = {OFF_ASCII_STATE, OFF_ASCII_LENGTH, OFF_ASCII_WSTR};
    static const enum offsets_field int_fields[] = {OFF_LONG_TAG, OFF_VAROBJECT_OB_SIZE};
    const enum offsets_field *f = lk == LK_STR ? str_fields : lk == LK_INT ? int_fields : NULL;
    size_t n = lk == LK_STR ? 3 : lk == LK_INT ? 2 : 0;
    for (size_t i = 0; i < n; i++)
        if (w->o[f[i]] != OFFSET_ABSENT && (w->o[f[i]] < 0 || w->o[f[i]] + 8 > basicsize))
            return 0;
    return 1;
}

static struct tinfo *types_find(struct walker *w, uint64_t addr, int depth)
{
    struct tinfo *t = lookup(w, addr);
    if (t)
        return t;
    if (!(t = add(w, addr))) {
        w->oom = 1;
        return NULL;
    }
    size_t idx = (size_t)(t - w->sh->types);     /* t moves if the registry grows below */
    if (depth > MAX_TYPE_DEPTH || addr == 0 || addr % 8 != 0)
        return t;
    int64_t tsize = WO(w, TYPE_SIZE);
    unsigned char buf[512];
    if (tsize <= 0 || tsize > (int64_t)sizeof buf || rd(w, addr, buf, (size_t)tsize) != 0)
        return t;
#define TF(f) ({ uint64_t v_; memcpy(&v_, buf + WO(w, f), 8); v_; })
    int64_t refcnt = (int64_t)TF(OBJECT_REFCNT);
    uint64_t meta = TF(OBJECT_TYPE), flags = TF(TYPE_FLAGS), name_ptr = TF(TYPE_NAME), base = TF(TYPE_BASE);
    int64_t basicsize = (int64_t)TF(TYPE_BASICSIZE), itemsize = (int64_t)TF(TYPE_ITEMSIZE);
    int64_t dictoffset = (int64_t)TF(TYPE_DICTOFFSET);
    int64_t weaklistoffset = (int64_t)TF(TYPE_WEAKLISTOFFSET);
    uint64_t tp_dict = TF(TYPE_DICT), tp_members = TF(TYPE_MEMBERS);
#undef TF
    char name[MAX_NAME];
    if (refcnt <= 0 || !(flags & TPF_READY) || basicsize < 16 || basicsize > (1 << 20) || itemsize < 0 ||
        itemsize > (1 << 16) || walker_read_cstr(w, name_ptr, name, sizeof name) != PHS_OK ||
        !name_ok(name))
        return &w->sh->types[idx];
    /* The metatype must be `type` or an accepted type that derives from it. */
    if (addr != w->sh->type_type) {
        struct tinfo *m = types_find(w, meta, depth + 1);
        if (!m || !m->valid || !(m->flags & TPF_TYPE_SUBCLASS))
            return m ? &w->sh->types[idx] : NULL;
    } else if (meta != addr) {
        return &w->sh->types[idx];
    }
    /* The layout: this type's own if known, else its base's. */
    enum layout_kind lk = LK_OBJECT;
    int is_core = core_layout_of(w, addr, name, flags, basicsize, &lk);
    int64_t core_basicsize = basicsize;
    int64_t *members = NULL, sizeof_extra = 0;
    uint32_t nmembers = 0;
    int ctypes = CTYPES_NONE;
    if (!is_core) {
        if (!base)
            return &w->sh->types[idx];          /* only object has no base, and object is known */
        struct tinfo *b = types_find(w, base, depth + 1);
        if (!b || !b->valid)
            return b ? &w->sh->types[idx] : NULL;
        lk = b->layout;
        core_basicsize = b->core_basicsize;
        sizeof_extra = b->sizeof_extra;
        ctypes = b->ctypes;
        if (b->nmembers) {
            members = malloc(b->nmembers * sizeof *members);
            if (!members) {
                w->oom = 1;
                return NULL;
            }
            memcpy(members, b->members, b->nmembers * sizeof *members);
            nmembers = b->nmembers;
        }
    }
    if (!ctypes)
        ctypes = ctypes_role(w, name, lk, flags);
    t = &w->sh->types[idx];
    t->flags = flags;
    t->basicsize = basicsize;
    t->itemsize = itemsize;
    t->dictoffset = dictoffset;
    t->weaklistoffset = weaklistoffset;
    t->layout = lk;
    t->is_core = is_core;
    t->core_basicsize = core_basicsize;
    t->members = members;
    t->nmembers = nmembers;
    int64_t own_itemsize = lk == LK_NPSCALAR ? numpy_scalar_itemsize(name) : 0;
    t->sizeof_extra = own_itemsize ? own_itemsize : sizeof_extra;
    t->ctypes = ctypes;
    int is_heap = (flags & TPF_HEAPTYPE) != 0;
    if (is_heap)
        t->cached_keys = field(w, addr, WO(w, HEAPTYPE_CACHED_KEYS));
    if (!is_core)
        collect_members(w, t, tp_members);
    char kind[2 * MAX_NAME];
    if (is_heap)
        heap_type_name(w, addr, tp_dict, name, kind, sizeof kind);
    else
        snprintf(kind, sizeof kind, "%s", name);
    t = &w->sh->types[idx];
    if (register_heap_type(w, t, kind, is_heap) != 0) {
        w->oom = 1;
        return NULL;
    }
    w->h->types[t->heap_index].has_dict = dictoffset != 0 || (flags & TPF_MANAGED_DICT);
    t->leaf = is_core && (lk == LK_OBJECT || lk == LK_INT || lk == LK_STR || lk == LK_BYTES) && dictoffset == 0 &&
              weaklistoffset == 0 && !(flags & (TPF_HAVE_GC | TPF_MANAGED_DICT | TPF_MANAGED_WEAKREF)) &&
              basicsize <= 4096 && leaf_header_fits(w, lk, basicsize);
    t->header = lk == LK_TYPE || addr == w->sh->type_type ? -1 : header_bytes(w, 0, t);
    t->valid = 1;
    return t;
}

/* The registry is shared by the walk's threads: a thread looks in its own
 * small cache first, then takes the lock (entries never move and are
 * complete once types_find returns, so a cached index stays good). */
struct tinfo *types_get(struct walker *w, uint64_t addr, int depth)
{
    struct walk_share *sh = w->sh;
    if (sh->nthreads <= 1 || w->in_registry)
        return types_find(w, addr, depth);
    size_t slot = (size_t)(addr >> 4) % TYPES_CACHED;
    if (w->type_cache[slot].addr == addr && addr)
        return &sh->types[w->type_cache[slot].idx];
    pthread_mutex_lock(&sh->registry_lock);
    w->in_registry = 1;
    struct tinfo *t = types_find(w, addr, depth);
    w->in_registry = 0;
    pthread_mutex_unlock(&sh->registry_lock);
    if (t) {
        w->type_cache[slot].addr = addr;
        w->type_cache[slot].idx = (uint32_t)(t - sh->types);
    }
    return t;
}
