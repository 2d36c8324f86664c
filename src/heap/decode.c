/* decode.c - one decoder per object layout: what sys.getsizeof says for the
 * object, which bytes it owns besides, and which objects it refers to.
 *
 * Sizes follow each type's __sizeof__ plus the header rule of the version
 * (shared/design/cpython-internals.md, sections 4.3 and 6). References are
 * every strong PyObject* field, including those gc.get_referents leaves out
 * (str keys of dicts, code constants and names, type names). Counts read
 * from the target are bounded before they drive a loop; a field that cannot
 * be read ends that object's decoding, not the walk. */
#include "walker.h"

#include <stdio.h>

#define MAX_ITEMS        (1ll << 31)  /* elements of one container */
#define MAX_SCAN_BYTES   (64 << 10)   /* conservative scan of one object */
#define MAX_STRUCT_CODES (1 << 16)    /* format codes of one struct.Struct */
#define MAX_CSTRING      (1 << 20)    /* a C string: ctypes' format of a type, an Unpickler's strings */

static int64_t round8(int64_t n) { return (n + 7) & ~7ll; }

static void ref_field(struct walker *w, uint64_t obj, int64_t off)
{
    if (off != OFFSET_ABSENT)
        walker_ref(w, field(w, obj, off));
}

/* The C name of a field ("co_consts" of "code.co_consts"), for paths. */
static const char *field_name(enum offsets_field f)
{
    const char *key = offsets_field_key(f), *dot = strchr(key, '.');
    return dot ? dot + 1 : key;
}

/* Follow the object field f of obj, named as the edge it is. */
static void ref_named(struct walker *w, uint64_t obj, enum offsets_field f)
{
    if (w->o[f] == OFFSET_ABSENT)
        return;
    if (w->sink)
        walker_how(w, HEAP_EDGE_FIELD, field_name(f));
    walker_ref(w, field(w, obj, w->o[f]));
}

#define REF(w, obj, f) ref_named((w), (obj), OFF_##f)

/* Follow n pointers stored from addr on. */
static void ref_array(struct walker *w, uint64_t addr, int64_t n)
{
    if (n <= 0 || n > MAX_ITEMS || !walker_wants_refs(w))
        return;
    for (int64_t done = 0; done < n;) {
        int64_t piece = n - done < 4096 ? n - done : 4096;
        const unsigned char *v = walker_view(w, addr + (uint64_t)done * 8, (size_t)piece * 8);
        if (!v)
            return;
        uint64_t words[4096];
        memcpy(words, v, (size_t)piece * 8);   /* the view is reused by walker_ref */
        walker_ref_many(w, words, (size_t)piece);
        done += piece;
    }
}

/* Frame slots: plain pointers, or _PyStackRef words in 3.14+ (low bits 11
 * are a tagged int, 10 is 3.15's error value, bit 0 alone marks a borrowed
 * reference, 1 is NULL). */
static void ref_slots(struct walker *w, uint64_t addr, int64_t n)
{
    if (!w->lay->stackref_tagged) {
        ref_array(w, addr, n);
        return;
    }
    if (n <= 0 || n > (1 << 20))
        return;
    for (int64_t i = 0; i < n; i++) {
        uint64_t v = field(w, addr, 8 * i);
        if (!(v & 2) && (v & ~1ull))      /* bit 1: a tagged int (3) or 3.15's error value (2) */
            walker_ref(w, v & ~1ull);
    }
}

static uint64_t stackref(struct walker *w, uint64_t v)
{
    if (!w->lay->stackref_tagged)
        return v;
    return (v & 2) ? 0 : v & ~1ull;
}

static int64_t ob_size(struct walker *w, uint64_t obj)
{
    return (int64_t)field(w, obj, WO(w, VAROBJECT_OB_SIZE));
}

static int64_t tuple_len(struct walker *w, uint64_t tup)
{
    int64_t n = tup ? ob_size(w, tup) : 0;
    return n < 0 || n > MAX_ITEMS ? 0 : n;
}

static int64_t generic_size(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    int64_t size = t->basicsize;
    if (t->itemsize) {
        int64_t n = ob_size(w, obj);
        if (n < 0)
            n = -n;
        if (n < MAX_ITEMS)
            size += n * t->itemsize;
    }
    return size;
}

/* ---- numbers and strings ---- */

/* Where an int keeps its digit count: lv_tag (3.12+, the count shifted
 * left by 3) or ob_size (signed). */
static int64_t int_count_offset(const struct walker *w)
{
    return HAS(w, LONG_TAG) ? WO(w, LONG_TAG) : WO(w, VAROBJECT_OB_SIZE);
}

/* An int's size from the word at int_count_offset. */
static int64_t int_bytes(const struct walker *w, uint64_t count_word)
{
    int64_t ndigits = HAS(w, LONG_TAG) ? (int64_t)(count_word >> 3) : (int64_t)count_word;
    if (ndigits < 0)
        ndigits = -ndigits;
    if (ndigits < w->lay->int_min_digits)
        ndigits = w->lay->int_min_digits;
    return WO(w, LONG_DIGIT) + 4 * ndigits;
}

static int64_t int_size(struct walker *w, uint64_t obj)
{
    return int_bytes(w, field(w, obj, int_count_offset(w)));
}

static int64_t str_size(struct walker *w, uint64_t obj)
{
    struct str_header s;
    str_header(w, obj, &s);
    unsigned kind = s.kind, compact = s.compact, ascii = s.ascii, ready = s.ready;
    int64_t length = s.length < 0 || s.length > (1ll << 40) ? 0 : s.length;
    uint64_t data = s.data;
    int64_t size;
    if (compact && ascii)
        size = WO(w, ASCII_SIZE) + length + 1;
    else if (compact)
        size = WO(w, COMPACT_SIZE) + (length + 1) * kind;
    else
        size = WO(w, UNICODE_SIZE) + (data ? (length + 1) * kind : 0);
    if (!(compact && ascii)) {
        uint64_t utf8 = field(w, obj, WO(w, COMPACT_UTF8));
        if (utf8 && utf8 != data) {
            int64_t utf8_length = (int64_t)field(w, obj, WO(w, COMPACT_UTF8_LENGTH));
            if (utf8_length >= 0 && utf8_length < (1ll << 40))
                size += utf8_length + 1;
        }
    }
    if (HAS(w, ASCII_WSTR)) {       /* <= 3.11: the wchar_t copy */
        uint64_t wstr = field(w, obj, WO(w, ASCII_WSTR));
        if (wstr && (!ready || wstr != data)) {
            int64_t wlen = compact && ascii ? length : (int64_t)field(w, obj, WO(w, COMPACT_WSTR_LENGTH));
            if (wlen >= 0 && wlen < (1ll << 40))
                size += (wlen + 1) * 4;
        }
    }
    return size;
}

/* ---- dicts ---- */

static uint64_t word_at(const unsigned char *p, int64_t off)
{
    uint64_t v;
    memcpy(&v, p + off, 8);
    return v;
}

int64_t dict_keys_bytes(struct walker *w, int64_t slots, size_t esize)
{
    int width = slots <= 0xff ? 1 : slots <= 0xffff ? 2 : slots <= 0xffffffffll ? 4 : 8;
    return WO(w, DICTKEYS_INDICES) + width * slots + (int64_t)esize * ((2 * slots) / 3);
}

int dict_offsets_ok(const struct walker *w)
{
    int64_t indices = WO(w, DICTKEYS_INDICES);
    if (indices <= 0 || indices > 64 || WO(w, DICTKEYS_REFCNT) < 0 || WO(w, DICTKEYS_NENTRIES) < 0 ||
        WO(w, DICTKEYS_USABLE) < 0 || WO(w, DICTKEYS_REFCNT) + 8 > indices || WO(w, DICTKEYS_NENTRIES) + 8 > indices ||
        WO(w, DICTKEYS_USABLE) + 8 > indices)
        return 0;
    if (HAS(w, DICTKEYS_SIZE))
        return WO(w, DICTKEYS_SIZE) >= 0 && WO(w, DICTKEYS_SIZE) + 8 <= indices;
    return WO(w, DICTKEYS_LOG2_SIZE) >= 0 && WO(w, DICTKEYS_LOG2_SIZE) + 3 <= indices;
}

/* What a 3.11+ keys object (sizes as log2) says of itself from the bytes
 * lb at its dk_log2_size: where its entries start (from the object), how
 * large each is, its own __sizeof__ share and its slots. -1 if the sizes
 * are implausible. Shared by dict_shape and dict_refs_combined. */
static inline int log2_keys(const unsigned char *lb, int64_t indices, uint64_t *first, uint64_t *esize,
                            int64_t *keys_size, int64_t *slots)
{
    if (lb[0] > 40 || lb[1] > 43)
        return -1;
    *esize = lb[2] ? DICT_ENTRY_UNICODE : DICT_ENTRY_GENERAL;
    *first = (uint64_t)indices + (1ull << lb[1]);
    *keys_size = indices + (1ll << lb[1]) + (int64_t)*esize * ((2ll << lb[0]) / 3);
    *slots = 1ll << lb[0];
    return 0;
}

int dict_shape(struct walker *w, uint64_t keys, uint64_t values, struct dict_shape *s)
{
    int64_t indices = WO(w, DICTKEYS_INDICES);
    if (!keys || !w->dict_keys_ok)
        return -1;
    s->values = 0;
    s->copy = s->copy_end = NULL;
    /* the header of the keys object, up to its indices, in one read */
    const unsigned char *end = NULL;
    const unsigned char *k = w->snap ? snapshot_span_at(w->snap, w->region_hint, keys, (size_t)indices, &end) : NULL;
    if (k) {
        s->copy = k;
        s->copy_end = end;
    } else if (!(k = walker_view_slow(w, keys, (size_t)indices))) {
        return -1;
    }
    s->refcnt = (int64_t)word_at(k, WO(w, DICTKEYS_REFCNT));
    s->nentries = (int64_t)word_at(k, WO(w, DICTKEYS_NENTRIES));
    s->usable = (int64_t)word_at(k, WO(w, DICTKEYS_USABLE));
    if (HAS(w, DICTKEYS_SIZE)) {
        int64_t size = (int64_t)word_at(k, WO(w, DICTKEYS_SIZE));
        if (size <= 0 || size > (1ll << 40) || (size & (size - 1)))
            return -1;
        int width = size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffll ? 4 : 8;
        s->entries = keys + (uint64_t)(indices + width * size);
        s->esize = DICT_ENTRY_GENERAL;
        s->koff = 8;
        s->voff = 16;
        s->keys_size = dict_keys_bytes(w, size, DICT_ENTRY_GENERAL);
        s->slots = size;
    } else {
        uint64_t first, esize;
        if (log2_keys(k + WO(w, DICTKEYS_LOG2_SIZE), indices, &first, &esize, &s->keys_size, &s->slots) != 0)
            return -1;
        int general = esize == DICT_ENTRY_GENERAL;
        s->entries = keys + first;
        s->esize = esize;
        s->koff = general ? 8 : 0;
        s->voff = general ? 16 : 8;
    }
    if (s->nentries < 0 || s->nentries > MAX_ITEMS || s->usable < 0 || s->usable > MAX_ITEMS)
        return -1;
    if (values)
        s->values = values + (uint64_t)(HAS(w, DICTVALUES_VALUES) ? WO(w, DICTVALUES_VALUES) : 0);
    return 0;
}

/* Entries [from, from + n) of the keys object at keys: straight from the
 * copy where dict_shape found it and they lie in the same region, else
 * through a view. */
static const unsigned char *dict_entries(struct walker *w, const struct dict_shape *s, uint64_t keys, int64_t from,
                                         int64_t n)
{
    uint64_t at = s->entries + (uint64_t)from * s->esize, len = (uint64_t)n * s->esize;
    if (s->copy) {
        uint64_t off = at - keys, have = (uint64_t)(s->copy_end - s->copy);
        if (at >= keys && off <= have && len <= have - off)
            return s->copy + off;
    }
    return walker_view(w, at, (size_t)len);
}

/* For the sink: each entry's key, then its value, named by the key. */
static void dict_edges(struct walker *w, const struct dict_shape *s)
{
    for (int64_t i = 0; i < s->nentries; i++) {
        uint64_t k = field(w, s->entries + (uint64_t)i * s->esize, (int64_t)s->koff);
        uint64_t v = s->values ? field(w, s->values, 8 * i)
                               : field(w, s->entries + (uint64_t)i * s->esize, (int64_t)s->voff);
        if (!k)
            continue;
        walker_how(w, HEAP_EDGE_KEY, NULL);
        w->how_key = 0;
        walker_ref(w, k);
        walker_how(w, HEAP_EDGE_VALUE, NULL);
        w->how_key = k;
        walker_ref(w, v);
        w->how_key = 0;
    }
}

/* dict_refs for the dict most heaps hold millions of: 3.11+ (sizes as
 * log2), a combined table whose keys object is all in the copy, while
 * the walk follows. Everything dict_shape checks, without filling one:
 * on the 1M-record heap dicts were a quarter of the walk's instructions.
 * 0 if the dict is not such a one (dict_refs then does it in full). */
static int dict_refs_combined(struct walker *w, uint64_t keys, const struct tinfo *t, int64_t *size)
{
    int64_t indices = WO(w, DICTKEYS_INDICES);
    const unsigned char *end = NULL;
    const unsigned char *k = snapshot_span_at(w->snap, w->region_hint, keys, (size_t)indices, &end);
    if (!k)
        return 0;
    int64_t nentries = (int64_t)word_at(k, WO(w, DICTKEYS_NENTRIES));
    int64_t usable = (int64_t)word_at(k, WO(w, DICTKEYS_USABLE));
    uint64_t first, esize;
    int64_t keys_size, slots;
    if (log2_keys(k + WO(w, DICTKEYS_LOG2_SIZE), indices, &first, &esize, &keys_size, &slots) != 0 ||
        nentries < 0 || nentries > MAX_ITEMS || usable < 0 || usable > MAX_ITEMS)
        return 0;
    uint64_t len = (uint64_t)nentries * esize;
    if (first > (uint64_t)(end - k) || len > (uint64_t)(end - k) - first || ((uintptr_t)k & 7))
        return 0;
    const unsigned char *e = k + first;
    if (esize == 16) {               /* key, value, key, value...: already the array to follow */
        walker_ref_many(w, (const uint64_t *)(const void *)e, 2 * (size_t)nentries);
    } else {
        uint64_t kv[2 * 64];
        for (int64_t done = 0; done < nentries;) {
            size_t n = 0;
            for (; n < 2 * 64 && done < nentries; done++, e += esize) {
                memcpy(&kv[n++], e + 8, 8);
                memcpy(&kv[n++], e + 16, 8);
            }
            walker_ref_many(w, kv, n);
        }
    }
    *size = t->basicsize + (word_at(k, WO(w, DICTKEYS_REFCNT)) == 1 ? keys_size : 0);
    return 1;
}

/* Follow every key and value; returns the dict's __sizeof__. */
static int64_t dict_refs(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    uint64_t keys = field(w, obj, WO(w, DICT_KEYS)), values = field(w, obj, WO(w, DICT_VALUES));
    int64_t fast;
    if (w->dict_combined_fast && keys && !values && w->follow && !w->sink && dict_refs_combined(w, keys, t, &fast))
        return fast;
    struct dict_shape s;
    if (dict_shape(w, keys, values, &s) != 0)
        return t->basicsize;
    if (w->sink)
        dict_edges(w, &s);
    for (int64_t done = 0; w->follow && done < s.nentries;) {
        int64_t piece = s.nentries - done < 1024 ? s.nentries - done : 1024;
        const unsigned char *e = dict_entries(w, &s, keys, done, piece);
        if (!e)
            break;
        if (s.esize == 16 && s.koff == 0 && s.voff == 8 && !s.values && !((uintptr_t)e & 7)) {
            /* key, value, key, value...: already the array to follow */
            walker_ref_many(w, (const uint64_t *)(const void *)e, 2 * (size_t)piece);
            done += piece;
            continue;
        }
        uint64_t kv[2 * 1024];
        size_t nkv = 0;
        for (int64_t i = 0; i < piece; i++) {
            memcpy(&kv[nkv++], e + i * (int64_t)s.esize + (int64_t)s.koff, 8);
            if (!s.values)       /* a split table's values are in the values array */
                memcpy(&kv[nkv++], e + i * (int64_t)s.esize + (int64_t)s.voff, 8);
        }
        walker_ref_many(w, kv, nkv);
        done += piece;
    }
    if (s.values && w->follow)
        ref_array(w, s.values, s.nentries);
    int64_t size = t->basicsize;
    if (values) {
        if (HAS(w, DICTKEYS_SIZE)) {
            int64_t dk_size = (int64_t)field(w, keys, WO(w, DICTKEYS_SIZE));
            size += 8 * ((2 * dk_size) / 3);
        } else {
            size += 8 * (s.nentries + s.usable);
        }
    }
    if (s.refcnt == 1)
        size += s.keys_size;
    return size;
}

/* ---- instances: __dict__, values arrays, slots ---- */

/* Follow an instance's __dict__ and note whose it is. */
static void ref_dict_of(struct walker *w, uint64_t dict, uint32_t owner)
{
    walker_how(w, HEAP_EDGE_DICT, "__dict__");
    if (walker_ref(w, dict))
        walker_set_owner(w, dict, owner);
}

/* Values of a shared-key instance (3.11+), keys from the class. */
static void ref_values(struct walker *w, const struct tinfo *t, uint64_t values, int64_t capacity)
{
    struct dict_shape s;
    if (dict_shape(w, t->cached_keys, 0, &s) != 0)
        return;
    int64_t n = s.nentries;
    if (capacity >= 0 && capacity < n)
        n = capacity;
    if (!w->sink) {
        ref_array(w, values, n);
        return;
    }
    for (int64_t i = 0; i < n && i < MAX_ITEMS; i++) {   /* named by the class's shared keys */
        char name[128];
        uint64_t k = field(w, s.entries + (uint64_t)i * s.esize, (int64_t)s.koff);
        if (!k || str_utf8(w, k, name, sizeof name) < 0)
            snprintf(name, sizeof name, "?");
        walker_how(w, HEAP_EDGE_ATTR, name);
        w->how_index = (uint32_t)i;
        walker_ref(w, field(w, values, 8 * i));
    }
}

/* A separately allocated values array (3.11/3.12): follow its values and
 * return its size (the order-byte prefix, whose size sits just below it,
 * and one word per usable key of the class's shared keys). */
static uint32_t values_array(struct walker *w, const struct tinfo *t, uint64_t values)
{
    if (!values)
        return 0;
    uint8_t prefix = 0;
    uint32_t size = 0;
    rd(w, values - 1, &prefix, 1);
    struct dict_shape s;
    if (dict_shape(w, t->cached_keys, 0, &s) == 0)
        size = (uint32_t)(prefix + 8 * (s.nentries + s.usable));
    ref_values(w, t, values, -1);
    return size;
}

/* The __dict__ and attribute values of obj; returns the owned bytes that
 * sys.getsizeof leaves out (values arrays, inline values). */
static uint32_t instance_dict(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    uint32_t owner = t->heap_index;
    uint32_t extra = 0;
    int managed = (t->flags & TPF_MANAGED_DICT) && w->lay->idict != IDICT_DICTOFFSET;
    if (managed) {
        uint64_t word = field(w, obj - 24, 0);
        switch (w->lay->idict) {
        case IDICT_VALUES_BELOW:
            if (word) {
                ref_dict_of(w, word, owner);
                break;
            }
            extra = values_array(w, t, field(w, obj + (uint64_t)(int64_t)MANAGED_VALUES_OFFSET, 0));
            break;
        case IDICT_TAGGED_BELOW:
            if (word & 1) {
                extra = values_array(w, t, word + 1);
            } else if (word) {
                ref_dict_of(w, word, owner);
            }
            break;
        case IDICT_INLINE_VALUES:
            if (t->flags & TPF_INLINE_VALUES) {
                uint64_t inl = obj + (uint64_t)t->basicsize;
                uint8_t hdr[4] = {0};
                if (rd(w, inl, hdr, 4) == 0) {
                    int64_t capacity = hdr[0];
                    extra = (uint32_t)(8 + 8 * capacity + round8(capacity));
                    if (hdr[3])
                        ref_values(w, t, inl + (uint64_t)WO(w, DICTVALUES_VALUES), capacity);
                }
            }
            if (word)
                ref_dict_of(w, word, owner);
            break;
        default:
            break;
        }
        return extra;
    }
    if (t->dictoffset == 0 || (w->lay->idict != IDICT_DICTOFFSET && t->dictoffset == -1))
        return 0;
    int64_t off = t->dictoffset;
    if (off < 0) {
        int64_t n = ob_size(w, obj);
        if (n < 0)
            n = -n;
        if (n > MAX_ITEMS)
            return 0;
        off += round8(t->basicsize + n * t->itemsize);
    }
    uint64_t d = field(w, obj + (uint64_t)off, 0);
    if (d)
        ref_dict_of(w, d, owner);
    return 0;
}

/* Words in [from, to) of obj that point at valid objects. */
/* Is the word at off one that is followed by name, or not a reference of
 * the object's own (its __dict__ and slots are followed by name; its
 * weak-reference list is not a reference that keeps anything alive)? */
static int known_word(const struct tinfo *t, int64_t off)
{
    if (!t)
        return 0;
    if (off == t->dictoffset || off == t->weaklistoffset)
        return 1;
    for (uint32_t i = 0; i < t->nmembers; i++)
        if (t->members[i] == off)
            return 1;
    return 0;
}

/* The words in [from, to) of obj that point at valid objects, but for the
 * nskip words at the offsets in skip (C pointers of a known layout: what
 * they point at can hold an object's stale header). */
static void conservative_scan_but(struct walker *w, uint64_t obj, const struct tinfo *t, int64_t from, int64_t to,
                                  const int64_t *skip, size_t nskip)
{
    if (to > from + MAX_SCAN_BYTES)
        to = from + MAX_SCAN_BYTES;
    if (to <= from)
        return;
    if (w->follow)
        w->stats.conservative_scans++;
    walker_how(w, HEAP_EDGE_SCAN, NULL);
    int64_t n = (to - from) / 8;
    uint64_t words[MAX_SCAN_BYTES / 8];
    const unsigned char *v = walker_view(w, obj + (uint64_t)from, (size_t)n * 8);
    if (!v)
        return;
    memcpy(words, v, (size_t)n * 8);
    for (size_t k = 0; k < nskip; k++)
        if (skip[k] >= from && skip[k] < from + 8 * n && (skip[k] - from) % 8 == 0)
            words[(skip[k] - from) / 8] = 0;
    for (int64_t i = 0; i < n; i++)
        if (words[i] && words[i] != obj && !known_word(t, from + 8 * i))
            walker_maybe_ref(w, words[i]);
}

static void conservative_scan(struct walker *w, uint64_t obj, const struct tinfo *t, int64_t from, int64_t to)
{
    conservative_scan_but(w, obj, t, from, to, NULL, 0);
}

/* ---- modules ---- */

/* A C module's state (PEP 3121/489): where multi-phase modules keep their
 * types and caches (3.12's _ssl keeps its error-code tables there, dicts
 * nothing else refers to). Its m_traverse visits them, so gc sees them;
 * the struct is the module's own, so its words are scanned, m_size bytes
 * (3.15 keeps size and traverse in the module, earlier versions in its
 * PyModuleDef). A module without a traverse function is not scanned, as
 * the collector would not look either. */
static void module_state_refs(struct walker *w, uint64_t obj)
{
    if (!HAS(w, MODULE_STATE))
        return;
    uint64_t state = field(w, obj, WO(w, MODULE_STATE)), traverse = 0;
    int64_t size = 0;
    if (HAS(w, MODULE_STATE_SIZE) && HAS(w, MODULE_STATE_TRAVERSE)) {
        size = (int64_t)field(w, obj, WO(w, MODULE_STATE_SIZE));
        traverse = field(w, obj, WO(w, MODULE_STATE_TRAVERSE));
    } else if (HAS(w, MODULE_DEF) && HAS(w, MODULEDEF_SIZE) && HAS(w, MODULEDEF_TRAVERSE)) {
        uint64_t def = field(w, obj, WO(w, MODULE_DEF));
        if (!def || (def & 7))
            return;
        size = (int64_t)field(w, def, WO(w, MODULEDEF_SIZE));
        traverse = field(w, def, WO(w, MODULEDEF_TRAVERSE));
    }
    if (!state || (state & 7) || !traverse || size <= 0)
        return;
    conservative_scan(w, state, NULL, 0, size);
}

/* ---- stdlib C types with a __sizeof__ or references of their own ---- */

/* An xml.etree Element: its tag, text and tail (without the join flag in
 * bit 0), and in its extra block the attrib dict (untracked while it
 * holds only strs, so nothing else leads to it) and the children. Its
 * __sizeof__ counts the extra block and a children array of its own. */
static int64_t element_refs(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    walker_how(w, HEAP_EDGE_FIELD, "tag");
    walker_ref(w, field(w, obj, ELEMENT_TAG));
    walker_how(w, HEAP_EDGE_FIELD, "text");
    walker_ref(w, field(w, obj, ELEMENT_TEXT) & ~1ull);
    walker_how(w, HEAP_EDGE_FIELD, "tail");
    walker_ref(w, field(w, obj, ELEMENT_TAIL) & ~1ull);
    uint64_t extra = field(w, obj, ELEMENT_EXTRA);
    if (!extra || (extra & 7))
        return t->basicsize;
    int64_t size = t->basicsize + ELEMENT_EXTRA_SIZE;
    walker_how(w, HEAP_EDGE_FIELD, "attrib");
    walker_ref(w, field(w, extra, ELEMENT_EXTRA_ATTRIB));
    int64_t n = (int64_t)field(w, extra, ELEMENT_EXTRA_LENGTH);
    int64_t alloc = (int64_t)field(w, extra, ELEMENT_EXTRA_ALLOCATED);
    uint64_t children = field(w, extra, ELEMENT_EXTRA_CHILDREN);
    if (alloc < 0 || alloc > MAX_ITEMS || n < 0 || n > alloc)
        return size;
    if (children != extra + ELEMENT_EXTRA_STATIC)
        size += 8 * alloc;
    walker_how(w, HEAP_EDGE_ITEM, NULL);
    ref_array(w, children, n);
    return size;
}

/* A struct.Struct: its format, and the format codes __sizeof__ counts:
 * each code up to the one with no fmtdef, and that one. */
static int64_t struct_refs(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    walker_how(w, HEAP_EDGE_FIELD, "s_format");
    walker_ref(w, field(w, obj, STRUCT_FORMAT));
    uint64_t codes = field(w, obj, STRUCT_CODES);
    if (!codes || (codes & 7))
        return t->basicsize;
    for (int64_t i = 0; i < MAX_STRUCT_CODES; i++) {
        uint64_t fmtdef;
        if (rd64(w, codes + (uint64_t)i * STRUCT_CODE_SIZE, &fmtdef) != 0)
            break;
        if (!fmtdef)
            return t->basicsize + STRUCT_CODE_SIZE * (i + 1);
    }
    return t->basicsize;
}

/* A queue.SimpleQueue: up to 3.12 its items are a list; from 3.13 a ring
 * buffer of its own, num_items slots from get_idx on, wrapping at
 * items_cap (strs queued there are on no collector list: only the queue
 * leads to them). 3.15's __sizeof__ counts the buffer. */
static int64_t simplequeue_refs(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    if (w->lay->simplequeue == SQ_LIST) {
        walker_how(w, HEAP_EDGE_FIELD, "lst");
        walker_ref(w, field(w, obj, SQ_LIST_LST));
        return t->basicsize;
    }
    int64_t get = (int64_t)field(w, obj, SQ_RING_GET), cap = (int64_t)field(w, obj, SQ_RING_CAP);
    int64_t n = (int64_t)field(w, obj, SQ_RING_COUNT);
    uint64_t items = field(w, obj, SQ_RING_ITEMS);
    if (cap <= 0 || cap > MAX_ITEMS || get < 0 || get >= cap || n < 0 || n > cap || !items || (items & 7))
        return t->basicsize;
    walker_how(w, HEAP_EDGE_ITEM, NULL);
    int64_t first = cap - get < n ? cap - get : n;
    ref_array(w, items + 8 * (uint64_t)get, first);
    ref_array(w, items, n - first);
    return t->basicsize + (w->lay->simplequeue == SQ_RING_SIZED ? 8 * cap : 0);
}

/* strlen of a C string in the target, read 64 bytes at a time up to the
 * next boundary (never past a page it does not need); -1 if unreadable or
 * longer than max. */
static int64_t target_strlen(struct walker *w, uint64_t addr, int64_t max)
{
    char piece[64];
    for (int64_t have = 0; have < max;) {
        uint64_t at = addr + (uint64_t)have;
        size_t n = 64 - (size_t)(at % 64);
        if (rd(w, at, piece, n) != 0)
            return -1;
        const char *nul = memchr(piece, '\0', n);
        if (nul)
            return have + (nul - piece);
        have += (int64_t)n;
    }
    return -1;
}

/* A C string's strlen + 1 as a __sizeof__ counts it; 0 for NULL, or if
 * it cannot be read. */
static int64_t cstr_bytes(struct walker *w, uint64_t addr)
{
    int64_t n = addr ? target_strlen(w, addr, MAX_CSTRING) : -1;
    return n < 0 ? 0 : n + 1;
}

/* What ctypes' __sizeof__ adds for the C description of a type at info (a
 * StgDict, or a type object's StgInfo): its format string, its shape and
 * its ffi_type's elements array, all allocated apart. */
static int64_t ctypes_info_bytes(struct walker *w, uint64_t info)
{
    const struct ctypes_layout *c = w->lay->ctypes;
    if (c->initialized >= 0 && (uint32_t)field(w, info, c->initialized) == 0)
        return 0;
    int64_t bytes = cstr_bytes(w, field(w, info, c->format));
    int32_t ndim = (int32_t)field(w, info, c->ndim);
    if (ndim > 0 && ndim < (1 << 20))
        bytes += 8 * (int64_t)ndim;
    int64_t length = (int64_t)field(w, info, c->length);
    if (field(w, info, c->elements) && length >= 0 && length < MAX_ITEMS)
        bytes += 8 * (length + 1);
    return bytes;
}

/* Where the C description is in an object of type t (a StgDict or the
 * type object of a ctypes type): a StgDict is one; a StgInfo is type
 * data of CType_Type, after `type`'s part rounded up to 16. */
static int64_t ctypes_info_offset(const struct walker *w, const struct tinfo *t)
{
    return w->lay->ctypes->home == CTI_STGDICT ? 0 : (t->core_basicsize + 15) & ~15ll;
}

/* The objects a C description holds (its item type, argument types, ...);
 * returns where what follows it starts, for a subclass's own fields. */
static int64_t ctypes_info_refs(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    const struct ctypes_layout *c = w->lay->ctypes;
    int64_t info = ctypes_info_offset(w, t);
    for (int i = 0; i < CTYPES_MAX_OBJECTS && c->objects[i].name; i++) {
        walker_how(w, HEAP_EDGE_FIELD, c->objects[i].name);
        walker_ref(w, field(w, obj, info + c->objects[i].off));
    }
    return info + c->end;
}

/* The type of the object at addr if it is valid and of layout lk, else
 * NULL. */
static const struct tinfo *type_if(struct walker *w, uint64_t addr, enum layout_kind lk)
{
    const struct tinfo *t = addr ? types_get(w, field(w, addr, WO(w, OBJECT_TYPE)), 1) : NULL;
    return t && t->valid && t->layout == lk ? t : NULL;
}

/* sys.getsizeof of the bytes object at addr, or -1 if it is none. */
static int64_t bytes_size(struct walker *w, uint64_t addr)
{
    int64_t n = ob_size(w, addr);
    const struct tinfo *bt = type_if(w, addr, LK_BYTES);
    if (!bt || n < 0 || n >= MAX_ITEMS)
        return -1;
    return bt->basicsize + n * bt->itemsize;
}

/* An io.BytesIO: its __sizeof__ counts its buffer, a bytes object, while
 * no one else holds it. Up to 3.11 the collector does not see the buffer:
 * an unshared one is part of the BytesIO, as CPython reports it. From 3.12
 * the collector visits it, so any walk of the heap from inside holds it
 * too and getsizeof leaves it out: it is a bytes object of its own. */
static int64_t bytesio_refs(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    uint64_t buf = field(w, obj, BYTESIO_BUF);
    if (!buf || (buf & 7))
        return t->basicsize;
    if (!w->lay->bytesio_buf_traversed && (uint32_t)field(w, buf, WO(w, OBJECT_REFCNT)) == 1) {
        int64_t bytes = bytes_size(w, buf);
        if (bytes >= 0)
            return t->basicsize + bytes;
    }
    walker_how(w, HEAP_EDGE_FIELD, "buf");
    walker_ref(w, buf);
    return t->basicsize;
}

/* A decimal.Decimal: its coefficient lives in the object (4 words) until
 * it outgrows them; then __sizeof__ counts the words allocated for it. */
static int64_t decimal_size(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    uint64_t flags = field(w, obj, DECIMAL_FLAGS);     /* a byte, then padding */
    int64_t alloc = (int64_t)field(w, obj, DECIMAL_ALLOC);
    if ((flags & DECIMAL_DATAFLAGS) || alloc <= 0 || alloc > MAX_ITEMS)
        return t->basicsize;
    return t->basicsize + 8 * alloc;
}

/* ---- itertools' combinatorics and _pickle ---- */

/* The length of the tuple at addr, 0 if it is not one. */
static int64_t tuple_len_checked(struct walker *w, uint64_t addr)
{
    return type_if(w, addr, LK_TUPLE) ? tuple_len(w, addr) : 0;
}

/* A word count read from the target, 0 if it cannot be one. */
static int64_t count_at(struct walker *w, uint64_t obj, int64_t off)
{
    int64_t n = (int64_t)field(w, obj, off);
    return n < 0 || n > MAX_ITEMS ? 0 : n;
}

/* itertools.combinations, combinations_with_replacement, permutations and
 * product: their pool (product: the tuple of pools) and last result
 * tuple, and the index arrays their __sizeof__ counts (layout.h). */
static int64_t combinatoric_refs(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    int product = t->layout == LK_ITER_PRODUCT, perm = t->layout == LK_ITER_PERM;
    uint64_t pool = field(w, obj, ITER_POOL);
    walker_how(w, HEAP_EDGE_FIELD, product ? "pools" : "pool");
    walker_ref(w, pool);
    walker_how(w, HEAP_EDGE_FIELD, "result");
    walker_ref(w, field(w, obj, product ? ITER_PRODUCT_RESULT : perm ? ITER_PERM_RESULT : ITER_COMB_RESULT));
    int64_t words = product ? tuple_len_checked(w, pool)
                    : perm  ? tuple_len_checked(w, pool) + count_at(w, obj, ITER_PERM_R)
                            : count_at(w, obj, ITER_COMB_R);
    return t->basicsize + 8 * words;
}

/* _pickle's Pickler and Unpickler: their objects are found by scanning
 * the fixed part but its C pointers (the object fields moved between
 * versions; the memos are not visited by their traverse, so not
 * followed), and their size is what __sizeof__ counts outside the
 * object. */
static int64_t pickle_refs(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    int64_t size = t->basicsize;
    if (t->layout == LK_PICKLER) {
        static const int64_t memo_table[] = {PICKLER_MEMO};
        conservative_scan_but(w, obj, t, 16, t->core_basicsize, memo_table, 1);
        uint64_t memo = field(w, obj, PICKLER_MEMO), out = field(w, obj, w->lay->pickler_output_buffer);
        if (memo && !(memo & 7))
            size += MEMOTABLE_SIZE + MEMOENTRY_SIZE * count_at(w, memo, MEMOTABLE_ALLOCATED);
        int64_t out_bytes = out ? bytes_size(w, out) : -1;
        return size + (out_bytes > 0 ? out_bytes : 0);
    }
    const struct unpickler_layout *ul = py_unpickler_layout(w->lay->minor, t->core_basicsize);
    if (!ul) {
        conservative_scan(w, obj, t, 16, t->core_basicsize);
        return size;
    }
    /* Not the C pointers: the memo and marks arrays (a marks array was seen
     * in a freed object's block, its stale header intact), the strings, and
     * the Py_buffer before input_buffer but for its object (buf, len, ...). */
    int64_t buffer = ul->input_line - 8 - PY_BUFFER_SIZE;
    int64_t c_words[] = {UNPICKLER_MEMO, ul->input_line - 8, ul->input_line, ul->encoding, ul->errors, ul->marks,
                         buffer, buffer + 16, buffer + 24, buffer + 32, buffer + 40, buffer + 48, buffer + 56,
                         buffer + 64, buffer + 72};
    conservative_scan_but(w, obj, t, 16, t->core_basicsize, c_words, sizeof c_words / sizeof c_words[0]);
    if (field(w, obj, UNPICKLER_MEMO))
        size += 8 * count_at(w, obj, UNPICKLER_MEMO_SIZE);
    if (field(w, obj, ul->marks))
        size += 8 * count_at(w, obj, ul->marks_size);
    return size + cstr_bytes(w, field(w, obj, ul->input_line)) + cstr_bytes(w, field(w, obj, ul->encoding)) +
           cstr_bytes(w, field(w, obj, ul->errors));
}

/* ---- numpy's ndarray ---- */

/* A dtype's item size and whether its items hold references. The u64 at
 * offset 32 tells the layouts apart: numpy 2's flags there are a byte's
 * worth of bits, numpy 1's int alignment after elsize is at least 1, so
 * the word is 2^32 or more; and the alignment must be a power of two. */
static int numpy_descr(struct walker *w, uint64_t descr, int64_t *elsize, int *object, int *refs)
{
    unsigned char d[56];
    if (!descr || (descr & 7) || rd(w, descr, d, sizeof d) != 0)
        return -1;
    int32_t type_num;
    uint64_t word;
    memcpy(&type_num, d + NPDESCR_TYPE_NUM, 4);
    memcpy(&word, d + NPDESCR_FLAGS_2, 8);
    int64_t align;
    if (word >> 32) {
        int32_t e, a;
        memcpy(&e, d + NPDESCR_ELSIZE_1, 4);
        memcpy(&a, d + NPDESCR_ELSIZE_1 + 4, 4);
        *elsize = e;
        align = a;
        *refs = d[NPDESCR_FLAGS_1] & NPY_ITEM_REFCOUNT;
    } else {
        memcpy(elsize, d + NPDESCR_ELSIZE_2, 8);
        memcpy(&align, d + NPDESCR_ELSIZE_2 + 8, 8);
        *refs = (word & NPY_ITEM_REFCOUNT) != 0;
    }
    *object = type_num == NPY_OBJECT;
    if (*elsize < 0 || *elsize > (1ll << 31) || align <= 0 || align > 4096 || (align & (align - 1)))
        return -1;
    return 0;
}

/* The 8-byte values at every byte offset of a block of records that point
 * at valid objects: a packed record puts its fields at any offset (an
 * object field after an int32 is at 4, the next record's 20 bytes on). */
static void scan_records(struct walker *w, uint64_t addr, int64_t len)
{
    if (len < 8)
        return;
    if (w->follow)
        w->stats.conservative_scans++;
    walker_how(w, HEAP_EDGE_SCAN, NULL);
    unsigned char bytes[MAX_SCAN_BYTES + 7];
    for (int64_t off = 0; off + 8 <= len; off += MAX_SCAN_BYTES) {
        int64_t n = len - off < MAX_SCAN_BYTES + 7 ? len - off : MAX_SCAN_BYTES + 7;
        const unsigned char *v = walker_view(w, addr + (uint64_t)off, (size_t)n);
        if (!v)
            return;
        memcpy(bytes, v, (size_t)n);      /* the view is reused by walker_maybe_ref */
        for (int64_t i = 0; i + 8 <= n && i < MAX_SCAN_BYTES; i++) {
            uint64_t word;
            memcpy(&word, bytes + i, 8);
            if (word && !(word & 7))
                walker_maybe_ref(w, word);
        }
    }
}

/* An ndarray: its base (what a view's memory belongs to) and dtype, and
 * the items of an object array. Its __sizeof__ counts the shape and
 * strides (one block of 2 * nd words) and, when it owns its data, the
 * data: elsize times the product of the shape. */
static int64_t ndarray_refs(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    walker_how(w, HEAP_EDGE_FIELD, "base");
    walker_ref(w, field(w, obj, NDARRAY_BASE));
    uint64_t descr = field(w, obj, NDARRAY_DESCR);
    walker_how(w, HEAP_EDGE_FIELD, "descr");
    walker_ref(w, descr);
    if (t->core_basicsize > NDARRAY_WEAKREFLIST + 8)   /* numpy 1.22+: _buffer_info, mem_handler */
        conservative_scan(w, obj, t, NDARRAY_WEAKREFLIST + 8, t->core_basicsize);
    int32_t nd = (int32_t)field(w, obj, NDARRAY_ND), flags = (int32_t)field(w, obj, NDARRAY_FLAGS);  /* ints */
    if (nd < 0 || nd > NDARRAY_MAXDIMS)
        return t->basicsize;
    int64_t size = t->basicsize + 16 * nd;
    int64_t dims[NDARRAY_MAXDIMS], n = 1, elsize, nbytes;
    int object, refs;
    if (!(flags & NDARRAY_OWNDATA) || numpy_descr(w, descr, &elsize, &object, &refs) != 0 ||
        (nd && rd(w, field(w, obj, NDARRAY_DIMS), dims, 8 * (size_t)nd) != 0))
        return size;
    for (int i = 0; i < nd; i++)
        if (dims[i] < 0 || __builtin_mul_overflow(n, dims[i], &n))
            return size;
    if (__builtin_mul_overflow(n, elsize, &nbytes) || nbytes > (1ll << 47))
        return size;
    uint64_t data = field(w, obj, NDARRAY_DATA);
    if (object && elsize == 8) {
        walker_how(w, HEAP_EDGE_ITEM, NULL);
        ref_array(w, data, n);
    } else if (refs) {                        /* a structured dtype with object fields */
        scan_records(w, data, nbytes);
    }
    return size + nbytes;
}

/* ---- frames and generators ---- */

struct code_counts {
    int64_t nlocalsplus, stacksize;   /* 3.11+: nlocalsplus; <=3.10: nlocals + cells + frees */
};

static struct code_counts code_counts(struct walker *w, uint64_t code)
{
    struct code_counts c = {0, 0};
    int32_t v = 0;
    if (!code)
        return c;
    if (rd(w, code + (uint64_t)WO(w, CODE_STACKSIZE), &v, 4) == 0 && v >= 0 && v < (1 << 20))
        c.stacksize = v;
    if (HAS(w, CODE_NLOCALSPLUS)) {
        if (rd(w, code + (uint64_t)WO(w, CODE_NLOCALSPLUS), &v, 4) == 0 && v >= 0 && v < (1 << 20))
            c.nlocalsplus = v;
    } else {
        if (rd(w, code + (uint64_t)WO(w, CODE_NLOCALS), &v, 4) == 0 && v >= 0 && v < (1 << 20))
            c.nlocalsplus = v;
        c.nlocalsplus += tuple_len(w, field(w, code, WO(w, CODE_CELLVARS))) +
                         tuple_len(w, field(w, code, WO(w, CODE_FREEVARS)));
    }
    return c;
}

/* The name of local slot i of code (3.11+: co_localsplusnames; before:
 * co_varnames, then co_cellvars, then co_freevars) into out, or "?". */
static void local_name(struct walker *w, uint64_t code, int64_t i, char *out, size_t cap)
{
    static const enum offsets_field tuples[] = {OFF_CODE_VARNAMES, OFF_CODE_CELLVARS, OFF_CODE_FREEVARS};
    snprintf(out, cap, "?");
    if (!code)
        return;
    if (HAS(w, CODE_LOCALSPLUSNAMES)) {
        uint64_t names = field(w, code, WO(w, CODE_LOCALSPLUSNAMES));
        if (i < tuple_len(w, names))
            str_utf8(w, field(w, names, WO(w, TUPLE_ITEM) + 8 * i), out, cap);
        return;
    }
    for (size_t k = 0; k < sizeof tuples / sizeof tuples[0]; k++) {
        uint64_t names = field(w, code, w->o[tuples[k]]);
        int64_t n = tuple_len(w, names);
        if (i < n) {
            str_utf8(w, field(w, names, WO(w, TUPLE_ITEM) + 8 * i), out, cap);
            return;
        }
        i -= n;
    }
}

/* Frame slots for the sink: locals by name, then the value stack. */
static void frame_slot_edges(struct walker *w, uint64_t code, uint64_t slots, int64_t nlocals, int64_t n)
{
    for (int64_t i = 0; i < n && i < (1 << 20); i++) {
        uint64_t v = field(w, slots, 8 * i);
        v = stackref(w, v);
        char name[128];
        if (i < nlocals) {
            local_name(w, code, i, name, sizeof name);
            walker_how(w, HEAP_EDGE_LOCAL, name);
            w->how_index = (uint32_t)i;
        } else {
            walker_how(w, HEAP_EDGE_STACK, NULL);
            w->how_index = (uint32_t)(i - nlocals);
        }
        walker_ref(w, v);
    }
}

/* An interpreter frame (3.11+) owned by its generator or frame object:
 * what _PyFrame_Traverse visits. */
static void iframe_refs(struct walker *w, uint64_t f)
{
    uint64_t code = stackref(w, field(w, f, WO(w, IFRAME_CODE)));
    walker_how(w, HEAP_EDGE_FIELD, "f_code");
    walker_ref(w, code);
    walker_how(w, HEAP_EDGE_FIELD, "f_func");
    walker_ref(w, stackref(w, field(w, f, WO(w, IFRAME_FUNC))));
    REF(w, f, IFRAME_LOCALS);
    REF(w, f, IFRAME_FRAME_OBJ);
    uint64_t localsplus = f + (uint64_t)WO(w, IFRAME_LOCALSPLUS);
    int64_t n;
    if (HAS(w, IFRAME_STACKTOP)) {
        int32_t top = 0;
        rd(w, f + (uint64_t)WO(w, IFRAME_STACKTOP), &top, 4);
        n = top;
    } else {
        uint64_t sp = field(w, f, WO(w, IFRAME_STACKPOINTER));
        n = sp >= localsplus ? (int64_t)((sp - localsplus) / 8) : 0;
    }
    struct code_counts c = code_counts(w, code);
    if (n < 0 || n > c.nlocalsplus + c.stacksize)
        n = c.nlocalsplus;
    if (w->sink)
        frame_slot_edges(w, code, localsplus, c.nlocalsplus, n);
    else
        ref_slots(w, localsplus, n);
}

static int64_t frame_refs(struct walker *w, uint64_t obj)
{
    REF(w, obj, FRAME_BACK);
    REF(w, obj, FRAME_TRACE);
    if (HAS(w, FRAME_FRAME)) {                   /* 3.11+ */
        REF(w, obj, FRAME_EXTRA_LOCALS);
        REF(w, obj, FRAME_LOCALS_CACHE);
        uint64_t f = field(w, obj, WO(w, FRAME_FRAME));
        uint8_t owner = 0;
        if (f == obj + (uint64_t)WO(w, FRAME_DATA) && rd(w, f + (uint64_t)WO(w, IFRAME_OWNER), &owner, 1) == 0 &&
            owner == w->lay->frame_owned_by_frame_object)
            iframe_refs(w, f);
        struct code_counts c = code_counts(w, f ? stackref(w, field(w, f, WO(w, IFRAME_CODE))) : 0);
        return WO(w, FRAME_DATA) + WO(w, IFRAME_LOCALSPLUS) + 8 * (c.nlocalsplus + c.stacksize);
    }
    uint64_t code = field(w, obj, WO(w, FRAME_CODE));
    walker_how(w, HEAP_EDGE_FIELD, "f_code");
    walker_ref(w, code);
    REF(w, obj, FRAME_BUILTINS);
    REF(w, obj, FRAME_GLOBALS);
    REF(w, obj, FRAME_LOCALS);
    struct code_counts c = code_counts(w, code);
    uint64_t localsplus = obj + (uint64_t)WO(w, FRAME_LOCALSPLUS);
    if (w->sink)
        frame_slot_edges(w, code, localsplus, c.nlocalsplus, c.nlocalsplus);
    else
        ref_array(w, localsplus, c.nlocalsplus);
    uint64_t valuestack = field(w, obj, WO(w, FRAME_VALUESTACK));
    int64_t depth = 0;
    if (HAS(w, FRAME_STACKDEPTH)) {
        int32_t d = 0;
        rd(w, obj + (uint64_t)WO(w, FRAME_STACKDEPTH), &d, 4);
        depth = d;
    } else {
        uint64_t top = field(w, obj, WO(w, FRAME_STACKTOP));
        depth = top && top >= valuestack ? (int64_t)((top - valuestack) / 8) : 0;
    }
    if (depth > 0 && depth <= c.stacksize) {
        walker_how(w, HEAP_EDGE_STACK, NULL);
        ref_array(w, valuestack, depth);
    }
    return WO(w, FRAME_SIZE) + 8 * (c.stacksize + c.nlocalsplus - 1);
}

/* ---- the threads' own frames: roots of the graph ---- */

#define MAX_THREAD_STATES (1u << 16)
#define MAX_THREAD_FRAMES (1u << 16)   /* per thread: deeper than any recursion limit */

/* 3.7-3.10 chain frame objects through f_back; 3.11+ chain interpreter
 * frames (in each thread's data stack, or in a generator or frame object)
 * through previous. */
static int frames_are_objects(struct walker *w)
{
    return HAS(w, FRAME_CODE);
}

static uint64_t thread_current_frame(struct walker *w, uint64_t tstate)
{
    if (HAS(w, TSTATE_FRAME))
        return field(w, tstate, WO(w, TSTATE_FRAME));
    if (HAS(w, TSTATE_CFRAME) && HAS(w, CFRAME_CURRENT_FRAME)) {
        uint64_t cframe = field(w, tstate, WO(w, TSTATE_CFRAME));
        return cframe ? field(w, cframe, WO(w, CFRAME_CURRENT_FRAME)) : 0;
    }
    return 0;
}

void each_thread_frame(struct walker *w, void (*fn)(struct walker *w, const struct thread_frame *tf, void *arg),
                       void *arg)
{
    uint64_t interp = field(w, w->p->runtime_addr, WO(w, RUNTIME_INTERP_HEAD));
    for (unsigned ni = 0; interp && ni < 4096; ni++) {
        uint64_t ts = field(w, interp, WO(w, INTERP_THREADS_HEAD));
        for (unsigned nt = 0; ts && nt < MAX_THREAD_STATES; nt++) {
            struct thread_frame tf = {.tstate = ts, .native_thread_id = -1};
            tf.thread_id = field(w, ts, WO(w, TSTATE_THREAD_ID));
            if (HAS(w, TSTATE_NATIVE_THREAD_ID))
                tf.native_thread_id = (int64_t)field(w, ts, WO(w, TSTATE_NATIVE_THREAD_ID));
            uint64_t f = thread_current_frame(w, ts);
            for (unsigned steps = 0; f && !(f & 7) && steps < MAX_THREAD_FRAMES; steps++) {
                tf.frame = f;
                if (frames_are_objects(w)) {
                    tf.code = field(w, f, WO(w, FRAME_CODE));
                    fn(w, &tf, arg);
                    tf.depth++;
                    f = field(w, f, WO(w, FRAME_BACK));
                    continue;
                }
                uint8_t owner = 0xff;
                rd(w, f + (uint64_t)WO(w, IFRAME_OWNER), &owner, 1);
                /* owners 0-2: thread, generator, frame object; 3 and up are
                 * the C-stack and interpreter entry shims, which hold nothing */
                if (owner <= 2) {
                    tf.code = stackref(w, field(w, f, WO(w, IFRAME_CODE)));
                    fn(w, &tf, arg);
                    tf.depth++;
                }
                f = field(w, f, WO(w, IFRAME_PREVIOUS));
            }
            ts = field(w, ts, WO(w, TSTATE_NEXT));
        }
        interp = field(w, interp, WO(w, INTERP_NEXT));
    }
}

void thread_frame_refs(struct walker *w, const struct thread_frame *tf)
{
    if (frames_are_objects(w)) {
        /* the frame object holds the locals; the thread holds it */
        walker_how(w, HEAP_EDGE_FIELD, "frame");
        walker_ref(w, tf->frame);
    } else
        iframe_refs(w, tf->frame);
}

void thread_frame_name(struct walker *w, const struct thread_frame *tf, char *function, size_t fcap, char *file,
                       size_t cap)
{
    snprintf(function, fcap, "?");
    snprintf(file, cap, "?");
    if (!tf->code)
        return;
    uint64_t name = HAS(w, CODE_QUALNAME) ? field(w, tf->code, WO(w, CODE_QUALNAME)) : 0;
    if (!name || str_utf8(w, name, function, fcap) < 0)
        str_utf8(w, field(w, tf->code, WO(w, CODE_NAME)), function, fcap);
    str_utf8(w, field(w, tf->code, WO(w, CODE_FILENAME)), file, cap);
}

static int64_t gen_refs(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    REF(w, obj, GEN_NAME);
    REF(w, obj, GEN_QUALNAME);
    REF(w, obj, GEN_EXC_TYPE);
    REF(w, obj, GEN_EXC_VALUE);
    REF(w, obj, GEN_EXC_TRACEBACK);
    /* 3.12+: a coroutine's origin, an async generator's finalizer; a
     * plain generator never sets the word, it holds whatever was there */
    if (t->layout == LK_CORO)
        REF(w, obj, GEN_ORIGIN_OR_FINALIZER);
    REF(w, obj, GEN_CODE);
    if (!HAS(w, GEN_IFRAME)) {                    /* <= 3.10 */
        REF(w, obj, GEN_FRAME);
        if (HAS(w, CORO_ORIGIN) && WO(w, CORO_ORIGIN) + 8 <= t->core_basicsize)
            REF(w, obj, CORO_ORIGIN);
        return t->basicsize;
    }
    int8_t state = 0;
    rd(w, obj + (uint64_t)WO(w, GEN_FRAME_STATE), &state, 1);
    uint64_t f = obj + (uint64_t)WO(w, GEN_IFRAME);
    if (state < w->lay->gen_frame_cleared)
        iframe_refs(w, f);
    uint64_t code = HAS(w, GEN_CODE) ? field(w, obj, WO(w, GEN_CODE)) : stackref(w, field(w, f, WO(w, IFRAME_CODE)));
    struct code_counts c = code_counts(w, code);
    return WO(w, GEN_IFRAME) + WO(w, IFRAME_LOCALSPLUS) + 8 * (c.nlocalsplus + c.stacksize);
}

/* ---- code ---- */

static int64_t code_refs(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    static const enum offsets_field fields[] = {
        OFF_CODE_CODE, OFF_CODE_CONSTS, OFF_CODE_NAMES, OFF_CODE_VARNAMES, OFF_CODE_FREEVARS,
        OFF_CODE_CELLVARS, OFF_CODE_FILENAME, OFF_CODE_NAME, OFF_CODE_QUALNAME, OFF_CODE_LINETABLE,
        OFF_CODE_EXCEPTIONTABLE, OFF_CODE_LOCALSPLUSNAMES, OFF_CODE_LOCALSPLUSKINDS, OFF_CODE_CACHED_CODE,
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        ref_named(w, obj, fields[i]);
    uint64_t cached = field(w, obj, WO(w, CODE_CACHED));    /* 3.12+: lazily made co_code, co_varnames, ... */
    if (cached) {
        walker_how(w, HEAP_EDGE_FIELD, "_co_cached");
        ref_array(w, cached, CO_CACHED_WORDS);
    }
    int64_t size;
    if (HAS(w, CODE_LOCALSPLUSNAMES)) {
        size = round8(generic_size(w, obj, t));
    } else {
        size = t->basicsize;
        uint64_t cellvars = field(w, obj, WO(w, CODE_CELLVARS));
        if (field(w, obj, WO(w, CODE_CELL2ARG)) && cellvars)
            size += 8 * tuple_len(w, cellvars);
        if (HAS(w, CODE_OPCACHE) && field(w, obj, WO(w, CODE_OPCACHE))) {
            uint8_t n = 0;
            rd(w, obj + (uint64_t)WO(w, CODE_OPCACHE_SIZE), &n, 1);
            uint64_t co_code = field(w, obj, WO(w, CODE_CODE));
            size += (co_code ? ob_size(w, co_code) / 2 : 0) + OPCACHE_ENTRY_SIZE * n;
        }
    }
    uint64_t extra = field(w, obj, WO(w, CODE_EXTRA));
    if (extra) {
        int64_t n = (int64_t)field(w, extra, 0);
        if (n > 0 && n < (1 << 16))
            size += CODE_EXTRA_HEADER + 8 * (n - 1);
    }
    return size;
}

/* ---- types ---- */

static int64_t type_refs(struct walker *w, uint64_t obj)
{
    struct tinfo *self = types_get(w, obj, 0);
    uint64_t flags = self && self->valid ? self->flags : 0;
    REF(w, obj, TYPE_MRO);
    REF(w, obj, TYPE_BASES);
    REF(w, obj, TYPE_BASE);
    REF(w, obj, TYPE_CACHE);
    REF(w, obj, TYPE_DICT);
    uint64_t sub = field(w, obj, WO(w, TYPE_SUBCLASSES));
    if (sub > 4096) {               /* 3.12+ static builtin types keep an index here */
        walker_how(w, HEAP_EDGE_FIELD, "tp_subclasses");
        walker_ref(w, sub);
    }
    if (!(flags & TPF_HEAPTYPE))
        return WO(w, TYPE_SIZE);
    REF(w, obj, HEAPTYPE_NAME);
    REF(w, obj, HEAPTYPE_QUALNAME);
    REF(w, obj, HEAPTYPE_SLOTS);
    REF(w, obj, HEAPTYPE_MODULE);
    int64_t size = WO(w, HEAPTYPE_SIZE);
    struct dict_shape s;
    uint64_t keys = field(w, obj, WO(w, HEAPTYPE_CACHED_KEYS));
    if (keys && dict_shape(w, keys, 0, &s) == 0)
        size += s.keys_size;
    return size;
}

/* ---- sys.getsizeof's header bytes ---- */

int64_t header_bytes(struct walker *w, uint64_t obj, const struct tinfo *t)
{
    int gc = (t->flags & TPF_HAVE_GC) != 0;
    int64_t gch = WO(w, GCHEAD_SIZE);
    switch (w->lay->header_rule) {
    case HDR_IF_OBJECT_IS_GC:
        if (gc && t->layout == LK_TYPE) {       /* type.tp_is_gc: only heap types have a GC header */
            struct tinfo *self = types_get(w, obj, 0);
            gc = self && self->valid && (self->flags & TPF_HEAPTYPE);
        }
        return gc ? gch : 0;
    case HDR_TYPE_FLAGS_DICT:
        return (gc ? gch : 0) + ((t->flags & TPF_MANAGED_DICT) ? 16 : 0);
    case HDR_STATIC_TYPES_BARE:
        if (t->addr == w->sh->type_type) {
            struct tinfo *self = types_get(w, obj, 0);
            if (self && self->valid && !(self->flags & TPF_HEAPTYPE))
                return 0;
        }
        /* fall through */
    case HDR_TYPE_FLAGS_PREHEADER:
        return (gc ? gch : 0) + ((t->flags & (TPF_MANAGED_DICT | TPF_MANAGED_WEAKREF)) ? 16 : 0);
    }
    return 0;
}

/* Layouts whose references are just some PyObject* fields: the fields, as
 * data (absent ones are skipped). Weakrefs list wr_callback only: wr_object
 * is not a strong reference. */
#define MAX_SIMPLE_FIELDS 15
static const enum offsets_field simple_fields[LK_COUNT][MAX_SIMPLE_FIELDS] = {
    [LK_MODULE] = {OFF_MODULE_DICT, OFF_MODULE_NAME},
    [LK_FUNCTION] = {OFF_FUNC_CODE, OFF_FUNC_GLOBALS, OFF_FUNC_BUILTINS, OFF_FUNC_NAME, OFF_FUNC_QUALNAME,
                     OFF_FUNC_DEFAULTS, OFF_FUNC_KWDEFAULTS, OFF_FUNC_CLOSURE, OFF_FUNC_DOC, OFF_FUNC_DICT,
                     OFF_FUNC_MODULE, OFF_FUNC_ANNOTATIONS, OFF_FUNC_ANNOTATE, OFF_FUNC_TYPEPARAMS},
    [LK_CELL] = {OFF_CELL_REF},
    [LK_METHOD] = {OFF_METHOD_FUNC, OFF_METHOD_SELF},
    [LK_CFUNCTION] = {OFF_CFUNC_SELF, OFF_CFUNC_MODULE},
    [LK_CLASSMETHOD] = {OFF_CLASSMETHOD_CALLABLE, OFF_CLASSMETHOD_DICT},
    [LK_STATICMETHOD] = {OFF_STATICMETHOD_CALLABLE, OFF_STATICMETHOD_DICT},
    [LK_PROPERTY] = {OFF_PROPERTY_GET, OFF_PROPERTY_SET, OFF_PROPERTY_DEL, OFF_PROPERTY_DOC, OFF_PROPERTY_NAME},
    [LK_DESCR] = {OFF_DESCR_TYPE, OFF_DESCR_NAME, OFF_DESCR_QUALNAME},
    [LK_WEAKREF] = {OFF_WEAKREF_CALLBACK},
    [LK_RANGE] = {OFF_RANGE_START, OFF_RANGE_STOP, OFF_RANGE_STEP, OFF_RANGE_LENGTH},
    [LK_SLICE] = {OFF_SLICE_START, OFF_SLICE_STOP, OFF_SLICE_STEP},
    [LK_MEMORYVIEW] = {OFF_MEMORYVIEW_MBUF},
    [LK_MANAGEDBUF] = {OFF_MANAGEDBUF_OBJ},
    [LK_DEFDICT] = {OFF_DEFDICT_FACTORY},
    [LK_ODICT] = {OFF_ODICT_INST_DICT},
};

/* ---- the dispatcher ---- */

/* Point the walker's window at obj's fixed part (or as much of it as
 * one region holds); copy: where the walk found it, if it did. */
static void open_window(struct walker *w, uint64_t obj, const unsigned char *copy, const struct tinfo *t)
{
    size_t len = window_len(t);
    if (copy) {
        w->win_addr = obj;
        w->win = copy;
        w->win_len = len;
        return;
    }
    w->win_len = 0;
    if (!w->snap)
        return;
    const unsigned char *q = snapshot_ptr_at(w->snap, w->region_hint, obj, len);
    if (!q && len > 16)
        q = snapshot_ptr_at(w->snap, w->region_hint, obj, len = 16);
    if (q) {
        w->win_addr = obj;
        w->win = q;
        w->win_len = len;
    }
}

/* The common leaves straight from their header at q (basicsize bytes in
 * the copy, and types.c checked that the fields read lie within): a
 * compact ASCII str without a wchar_t copy, an int. 0 for the others. */
static int leaf_size_quick(struct walker *w, const unsigned char *q, const struct tinfo *t, uint64_t *size)
{
    if (t->layout == LK_STR) {
        uint8_t state = q[WO(w, ASCII_STATE)];
        int64_t length = (int64_t)word_at(q, WO(w, ASCII_LENGTH));
        if ((state & 0x60) != 0x60 || length < 0 || length > (1ll << 40) ||
            (HAS(w, ASCII_WSTR) && word_at(q, WO(w, ASCII_WSTR))))
            return 0;
        *size = (uint64_t)(WO(w, ASCII_SIZE) + length + 1);
        return 1;
    }
    if (t->layout == LK_INT) {
        *size = (uint64_t)int_bytes(w, word_at(q, int_count_offset(w)));
        return 1;
    }
    return 0;
}

uint64_t decode_leaf(struct walker *w, uint64_t obj, const unsigned char *q, const struct tinfo *t)
{
    uint64_t quick;
    if (leaf_size_quick(w, q, t, &quick))
        return quick;
    /* The rest through the decoders, with the window borrowed for the
     * leaf's header: it is the decoded object's (the container whose item
     * this is), and given back. */
    uint64_t win_addr = w->win_addr;
    const unsigned char *win = w->win;
    size_t win_len = w->win_len;
    w->win_addr = obj;
    w->win = q;
    w->win_len = (size_t)t->basicsize;
    int64_t size = t->layout == LK_STR ? str_size(w, obj) : t->layout == LK_INT ? int_size(w, obj)
                                                                                 : generic_size(w, obj, t);
    w->win_addr = win_addr;
    w->win = win;
    w->win_len = win_len;
    return (uint64_t)(size > 0 ? size : 0);
}

void decode_object(struct walker *w, uint64_t obj, const unsigned char *copy, const struct tinfo *t,
                   uint64_t *size_out, uint32_t *extra_out)
{
    open_window(w, obj, copy, t);
    if (t->plain_dict && t->header >= 0) {
        /* the most common container, on its own: a dict has no fields to
         * follow but its table, no __dict__, no slots */
        int64_t size = dict_refs(w, obj, t);
        *size_out = (uint64_t)(size > 0 ? size : 0) + (uint64_t)t->header;
        *extra_out = 0;
        return;
    }
    int64_t size = generic_size(w, obj, t);
    uint32_t extra = 0;
    const enum offsets_field *simple = simple_fields[t->layout];
    for (int i = 0; i < MAX_SIMPLE_FIELDS && simple[i]; i++)   /* 0 (runtime.size) ends a row */
        ref_named(w, obj, simple[i]);
    switch (t->layout) {
    case LK_OBJECT:
    case LK_BYTES:
        break;
    case LK_INT:
        size = int_size(w, obj);
        break;
    case LK_STR:
        size = str_size(w, obj);
        break;
    case LK_BYTEARRAY: {
        int64_t alloc = (int64_t)field(w, obj, WO(w, BYTEARRAY_ALLOC));
        if (alloc < 0 || alloc > (1ll << 40))
            alloc = 0;
        size = t->basicsize + (HAS(w, BYTEARRAY_BYTES_OBJECT) ? (alloc ? 33 + alloc : 0) : alloc);
        break;
    }
    case LK_TUPLE: {
        int64_t n = ob_size(w, obj);
        walker_how(w, HEAP_EDGE_ITEM, NULL);
        ref_array(w, obj + (uint64_t)WO(w, TUPLE_ITEM), n);
        break;
    }
    case LK_LIST: {
        int64_t n = ob_size(w, obj), alloc = (int64_t)field(w, obj, WO(w, LIST_ALLOCATED));
        if (alloc >= 0 && alloc <= MAX_ITEMS)
            size = t->basicsize + 8 * alloc;
        walker_how(w, HEAP_EDGE_ITEM, NULL);
        if (n <= alloc)
            ref_array(w, field(w, obj, WO(w, LIST_ITEM)), n);
        break;
    }
    case LK_DICT:
    case LK_DEFDICT:
    case LK_ODICT:
        size = dict_refs(w, obj, t);
        if (t->ctypes == CTYPES_STGDICT)
            size += w->lay->ctypes->counted_twice + ctypes_info_bytes(w, obj);
        if (t->layout == LK_ODICT) {
            int64_t fast = (int64_t)field(w, obj, WO(w, ODICT_FAST_NODES_SIZE));
            int64_t used = (int64_t)field(w, obj, WO(w, DICT_USED));
            if (fast > 0 && fast < MAX_ITEMS)
                size += 8 * fast;
            if (field(w, obj, WO(w, ODICT_FIRST)) && used > 0 && used < MAX_ITEMS)
                size += ODICT_NODE_SIZE * used;
        }
        break;
    case LK_SET: {
        int64_t mask = (int64_t)field(w, obj, WO(w, SET_MASK));
        uint64_t table = field(w, obj, WO(w, SET_TABLE));
        if (mask < 0 || mask >= MAX_ITEMS || !table)
            break;
        if (table != obj + (uint64_t)WO(w, SET_SMALLTABLE))
            size = t->basicsize + SETENTRY_SIZE * (mask + 1);
        else
            size = t->basicsize;
        walker_how(w, HEAP_EDGE_ITEM, NULL);
        for (int64_t done = 0; done <= mask;) {
            int64_t piece = mask + 1 - done < 1024 ? mask + 1 - done : 1024;
            const unsigned char *e = walker_view(w, table + (uint64_t)done * SETENTRY_SIZE,
                                                 (size_t)piece * SETENTRY_SIZE);
            if (!e)
                break;
            uint64_t keys[1024];
            size_t nkeys = 0;
            for (int64_t i = 0; i < piece; i++) {
                memcpy(&keys[nkeys], e + i * SETENTRY_SIZE, 8);
                nkeys += keys[nkeys] != w->sh->set_dummy;
            }
            walker_ref_many(w, keys, nkeys);
            done += piece;
        }
        break;
    }
    case LK_TYPE: {
        int64_t type_size = type_refs(w, obj);
        /* a ctypes type from 3.13: its metatype's __sizeof__ replaces
         * type's, object's size (generic_size) plus its StgInfo's description */
        if (t->ctypes == CTYPES_METATYPE)
            size += ctypes_info_bytes(w, obj + (uint64_t)ctypes_info_offset(w, t));
        else
            size = type_size;
        break;
    }
    case LK_MODULE:
        module_state_refs(w, obj);
        break;
    case LK_ELEMENT:
        size = element_refs(w, obj, t);
        break;
    case LK_STRUCT:
        size = struct_refs(w, obj, t);
        break;
    case LK_NDARRAY:
        size = ndarray_refs(w, obj, t);
        break;
    case LK_SIMPLEQUEUE:
        size = simplequeue_refs(w, obj, t);
        break;
    case LK_DECIMAL:
        size = decimal_size(w, obj, t);
        break;
    case LK_BYTESIO:
        size = bytesio_refs(w, obj, t);
        break;
    case LK_NPSCALAR:
        size += t->sizeof_extra;
        break;
    case LK_ITER_COMB:
    case LK_ITER_PERM:
    case LK_ITER_PRODUCT:
        size = combinatoric_refs(w, obj, t);
        break;
    case LK_PICKLER:
    case LK_UNPICKLER:
        size = pickle_refs(w, obj, t);
        break;
    case LK_CODE:
        size = code_refs(w, obj, t);
        break;
    case LK_CFUNCTION:
        if (HAS(w, CMETHOD_CLASS) && WO(w, CMETHOD_CLASS) + 8 <= t->core_basicsize)
            REF(w, obj, CMETHOD_CLASS);
        break;
    case LK_FRAME:
        size = frame_refs(w, obj);
        break;
    case LK_GEN:
    case LK_CORO:
        size = gen_refs(w, obj, t);
        break;
    case LK_ARRAY: {
        int64_t alloc = (int64_t)field(w, obj, ARRAY_ALLOCATED);
        uint64_t descr = field(w, obj, ARRAY_DESCR);
        int32_t isz = 0;
        if (descr && rd(w, descr + ARRAYDESCR_ITEMSIZE, &isz, 4) == 0 && isz > 0 && isz <= 16 && alloc >= 0 &&
            alloc < MAX_ITEMS)
            size = t->basicsize + alloc * isz;
        break;
    }
    case LK_BUFFERED: {                           /* buffered_sizeof: the read/write buffer */
        int64_t bsize = (int64_t)field(w, obj, WO(w, BUFFERED_BUFFER_SIZE));
        if (field(w, obj, WO(w, BUFFERED_BUFFER)) && bsize > 0 && bsize < (1ll << 40))
            size += bsize;
        break;
    }
    case LK_DEQUE: {
        int64_t n = ob_size(w, obj), left = (int64_t)field(w, obj, WO(w, DEQUE_LEFTINDEX));
        uint64_t block = field(w, obj, WO(w, DEQUE_LEFTBLOCK));
        if (n < 0 || n > MAX_ITEMS || left < 0 || left >= DEQUE_BLOCKLEN)
            break;
        size = t->basicsize + DEQUE_BLOCK_SIZE * ((left + n + DEQUE_BLOCKLEN - 1) / DEQUE_BLOCKLEN);
        walker_how(w, HEAP_EDGE_ITEM, NULL);
        for (int64_t done = 0; done < n && block;) {
            int64_t take = DEQUE_BLOCKLEN - left < n - done ? DEQUE_BLOCKLEN - left : n - done;
            ref_array(w, block + 8 + (uint64_t)left * 8, take);
            done += take;
            left = 0;
            block = field(w, block, DEQUE_BLOCK_RIGHTLINK);
        }
        break;
    }
    default:         /* the simple layouts: their fields were followed above */
        break;
    }
    /* What a subclass or a type without a decoder adds to its base. */
    if (!t->is_core) {
        if (t->flags & TPF_HEAPTYPE) {
            walker_how(w, HEAP_EDGE_TYPE, "__class__");
            walker_ref(w, t->addr);
        }
        walker_how(w, HEAP_EDGE_SLOT, NULL);
        for (uint32_t i = 0; i < t->nmembers; i++)
            ref_field(w, obj, t->members[i]);
        int64_t unknown = t->ctypes ? ctypes_info_refs(w, obj, t) : t->core_basicsize;
        if (t->basicsize > unknown)
            conservative_scan(w, obj, t, unknown, t->basicsize);
        if (t->layout == LK_OBJECT && t->itemsize == 8)
            conservative_scan(w, obj, NULL, t->basicsize, t->basicsize + 8 * ob_size(w, obj));
    }
    extra = instance_dict(w, obj, t);
    *size_out = (uint64_t)(size > 0 ? size : 0) + (uint64_t)(t->header >= 0 ? t->header : header_bytes(w, obj, t));
    *extra_out = extra;
}
