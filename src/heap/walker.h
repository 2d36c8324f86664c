/* walker.h - what the three parts of the heap walk share (private to
 * src/heap/): the walker state, bounded reads of the copy, the type
 * registry (types.c) and the per-layout decoders (decode.c); walk.c drives
 * them. */
#ifndef PYHEAPSCOPE_WALKER_H
#define PYHEAPSCOPE_WALKER_H

#include <pthread.h>
#include <string.h>

#include "pyheapscope/heap.h"
#include "pyheapscope/layout.h"

/* How an object's own memory is laid out, decided by the nearest type in
 * its base chain that pyheapscope knows. */
enum layout_kind {
    LK_OBJECT, LK_INT, LK_STR, LK_BYTES, LK_BYTEARRAY, LK_TUPLE, LK_LIST, LK_DICT, LK_SET,
    LK_TYPE, LK_MODULE, LK_FUNCTION, LK_CODE, LK_CELL, LK_METHOD, LK_CFUNCTION, LK_CLASSMETHOD,
    LK_STATICMETHOD, LK_PROPERTY, LK_DESCR, LK_FRAME, LK_GEN, LK_CORO, LK_WEAKREF, LK_RANGE, LK_SLICE,
    LK_MEMORYVIEW, LK_MANAGEDBUF, LK_ARRAY, LK_DEQUE, LK_DEFDICT, LK_ODICT, LK_BUFFERED,
    LK_ELEMENT, LK_STRUCT, LK_NDARRAY, LK_SIMPLEQUEUE, LK_DECIMAL,
    LK_BYTESIO, LK_NPSCALAR, LK_ITER_COMB, LK_ITER_PERM, LK_ITER_PRODUCT, LK_PICKLER, LK_UNPICKLER,
    LK_COUNT
};

/* Type addresses one walk registers at most (valid or not). */
#define MAX_TINFO (1u << 20)

/* Everything the walk knows about one type object. Entries never move. */
struct tinfo {
    uint64_t addr;
    int valid;                /* 0: not a type object; references to its instances are skipped */
    uint32_t heap_index;      /* index in heap.types when valid */
    uint64_t flags;
    int64_t basicsize, itemsize, dictoffset;
    int64_t weaklistoffset;   /* the weak-reference list: not a reference of the object's own */
    uint64_t cached_keys;     /* ht_cached_keys of a heap type */
    enum layout_kind layout;
    int is_core;              /* this type itself has the decoder (not a subclass) */
    int64_t core_basicsize;   /* tp_basicsize of the nearest known base */
    int64_t *members;         /* offsets of object members (slots) along the chain */
    uint32_t nmembers;
    int plain_dict;           /* exactly dict: can be the "dict of X" of an instance */
    /* An exact core type whose instances refer to nothing and own nothing
     * besides what their header says (int, str, bytes, object, float):
     * the walk sizes them where it admits them, without queueing them. */
    int leaf;
    int64_t header;           /* header_bytes() of its instances, or -1 if it depends on the object */
    int64_t sizeof_extra;     /* numpy scalars: the item size their __sizeof__ adds to basicsize */
    /* ctypes: a StgDict (<=3.12), or a metatype whose instances, ctypes
     * types, hold a StgInfo (3.13+); subclasses inherit it. Their
     * __sizeof__ counts the C description too (layout.h). */
    enum { CTYPES_NONE, CTYPES_STGDICT, CTYPES_METATYPE } ctypes;
};

/* Grow *arr, of *cap elements of elem bytes (0 and NULL at first), to at
 * least want elements, in anonymous memory (zero-filled) that asks for
 * huge pages from 2 MiB on (walk.c says why). 0, or -1 with *arr
 * untouched. Released with big_free(arr, cap, elem). */
int big_grow(void **arr, size_t *cap, size_t elem, size_t want);
void big_free(void *arr, size_t cap, size_t elem);

/* A set of target addresses, or a map from them to a small number:
 * open addressing on the address itself (0 is the empty slot). */
struct addr_map {
    uint64_t *keys;
    uint32_t *vals;
    size_t mask, n;
};

/* 1 if key was added, 0 if it was there already (its value is left as
 * it was), -1 on out-of-memory. */
int addr_map_add(struct addr_map *m, uint64_t key, uint32_t val);
/* The value stored for key, or NULL. */
uint32_t *addr_map_get(const struct addr_map *m, uint64_t key);
void addr_map_free(struct addr_map *m);

/* An object admitted and waiting to be decoded. */
struct pending {
    uint64_t addr;
    const unsigned char *copy; /* its fixed part in the copy (window_len bytes), or NULL */
    uint32_t tidx;            /* index into walker.types */
    uint32_t flags;           /* enum heap_object_flags */
};

/* A plain dict decoded before the walk knows whether some instance owns
 * it: tallied when the walk ends, as "dict" or as "dict of KIND". There
 * can be millions (4 M on the 1M-record heap), and each byte of the list
 * is fresh memory, which costs a page fault and, on a VM that hands freed
 * memory back to its host, a trip there: one 8-byte word each, its
 * address / 8 in bits 0-44, its flags (enum heap_object_flags) in bits
 * 45-47, its size / 8 in bits 48-63; a size that does not fit (512 KiB or
 * more, or not a multiple of 8) says DEFERRED_SIZE_NEXT there and follows
 * in the next word. Its type is the walk's one plain dict type, and a
 * plain dict owns no extra bytes. */
#define DEFERRED_ADDR_BITS 45
#define DEFERRED_SIZE_SHIFT 48
#define DEFERRED_SIZE_NEXT 0xffffu

#define TYPES_CACHED 64            /* per-thread type lookups remembered */
#define REFS_AHEAD   32            /* references in flight (a power of two) */
#define SEEN_RECENT  256           /* objects referred to again, remembered (a power of two) */

/* Flags an object admitted through a reference should have had: it is
 * on a collector's list, which was chased after (walk.c, note_flags). */
struct flag_fix {
    uint64_t addr;
    uint32_t flags;           /* enum heap_object_flags */
    uint32_t heap_index;
    int plain_dict;           /* tallied under its owner's "dict of" if it has one */
};

#define OWNER_FILTER_BITS (1u << 16)

/* What the threads of one walk share. The marks are set atomically; the
 * type registry, the owners map, the set of objects outside the copy and
 * reads that go to the memory source each take their lock; the pool is
 * where a busy thread leaves work for an idle one. */
struct walk_share {
    /* seen objects: one bit per 8 bytes of the copy (objects are 8-byte
     * aligned), so "seen before?" is one bit and needs no hashing;
     * objects outside the copy (a mapping that failed to copy, or no
     * copy) go to a set */
    uint64_t *marks;
    size_t nmarks, cap_marks; /* in words */
    struct addr_map elsewhere;
    struct addr_map owners;   /* dict address -> 1 + heap.types index of the instance owning it */
    /* one bit per hash of each owned dict's address: most dicts are owned
     * by nobody, and this says so without a probe of the owners map */
    uint64_t owner_filter[OWNER_FILTER_BITS / 64];

    /* the type registry: every type address looked at, valid or not */
    struct tinfo *types;
    size_t ntinfo, cap_tinfo;
    struct addr_map type_index;   /* type address -> 1 + index into types */
    uint32_t null_type;       /* 1 + index of the entry for address 0, or 0 */
    size_t cap_types;         /* of heap.types */
    uint64_t core_addr[64];   /* known types found by symbol */
    enum layout_kind core_layout[64];
    size_t ncore;
    uint64_t set_dummy;       /* the set's dummy key */
    uint64_t type_type;       /* PyType_Type */
    uint64_t dict_type;       /* PyDict_Type: the one type whose instances can be a __dict__ */
    uint64_t *referenced;     /* heap_each_edges: one bit per mark bit, set if another object refers to it */
    size_t cap_referenced;    /* in words */
    struct addr_map referenced_elsewhere;

    unsigned nthreads;        /* > 1: the locks below are in use */
    pthread_mutex_t registry_lock, maps_lock, io_lock, pool_lock;
    pthread_cond_t pool_more;
    struct pending *pool;
    size_t npool, cap_pool;
    unsigned idle;            /* threads waiting for work (atomic reads) */
    int done;                 /* no work anywhere: the walk is over */
    int stop;                 /* a thread failed: everyone stops (atomic) */
};

/* Where heap_each_edges collects one object's references: with a sink
 * set, the decoders' references are recorded instead of followed. */
struct edge_rec {
    uint64_t to, key;
    uint32_t how, index;
    const char *static_name;  /* a field's name, static storage */
    int64_t name_off;         /* or an offset in names (-1: none) */
};
struct edge_sink {
    struct edge_rec *e;
    size_t n, cap;
    uint64_t from;            /* the object being decoded (self-references do not count) */
    char *names;
    size_t nnames, cap_names;
    int oom;
};

/* One thread's walker. */
struct walker {
    struct py_process *p;
    const int64_t *o;         /* p->off.v */
    const struct py_layout *lay;
    struct memsrc *mem;
    struct snapshot *snap;    /* fast path; may be NULL */
    struct heap *h;           /* the registry adds names to it (under its lock) */
    struct walk_share *sh;
    int owns_share;
    int follow;               /* 0: decoders compute sizes only (heap_each), references are ignored */
    struct edge_sink *sink;   /* heap_each_edges: record references with how they refer */
    uint32_t how, how_index;  /* what the decoder is following now, for the sink */
    uint64_t how_key;
    const char *how_name;
    uint64_t how_code;        /* HEAP_EDGE_LOCAL: the code object naming the slots */
    int in_registry;          /* holds registry_lock (types_get recursion) */

    struct heap_stats stats;  /* this thread's counts, summed at the end */
    struct heap_tally *tallies;   /* per heap.types index */
    size_t ntallies;
    struct heap_tally *owned;     /* per heap.types index: "dict of" it (after the walk) */
    size_t nowned;
    uint64_t *dicts;          /* deferred plain dicts, in words (above) */
    size_t ndicts, cap_dicts;
    uint32_t dict_type;       /* 1 + heap.types index of the plain dict type deferred */
    struct flag_fix *fixes;
    size_t nfixes, cap_fixes;

    /* Objects to decode: taken from the top (nstack), handed to idle
     * threads from the bottom (stack_base), which only moves up, so that
     * handing over never moves what stays. */
    struct pending *stack;
    size_t stack_base, nstack, cap_stack;
    /* References on their way in (walker_ref_many): each one's header and
     * mark are loading while the next REFS_AHEAD are looked up, whatever
     * container they come from; admitted in order, oldest first. */
    struct { uint64_t addr; const unsigned char *q, *end; } ahead[REFS_AHEAD];
    unsigned ahead_first, ahead_n;
    /* Objects found marked when referred to again (a dict's str keys, a
     * class's instances' shared values): the next reference to one of
     * them costs a compare. Direct-mapped by address; marks only grow. */
    uint64_t seen_recent[SEEN_RECENT];
    uint64_t admitted;        /* objects queued, bounded */

    struct { uint64_t addr; uint32_t idx; } type_cache[TYPES_CACHED];   /* direct-mapped by address */
    struct snapshot_hint region_hint[2]; /* the last two regions of the copy used */

    /* The object being decoded, in the copy: its fields are read from
     * here without a region lookup each. */
    uint64_t win_addr;
    const unsigned char *win;
    size_t win_len;

    int dict_keys_ok;         /* the version's keys-object offsets are usable (dict_shape) */
    int dict_combined_fast;   /* ... and sizes are log2 (3.11+), with a copy: dict_refs_combined */

    unsigned char *scratch;   /* for reads that the copy cannot serve in place */
    size_t cap_scratch;
    int oom;
};

#define WO(w, f) ((w)->o[OFF_##f])
#define HAS(w, f) ((w)->o[OFF_##f] != OFFSET_ABSENT)

/* rd() for what is outside the window (walk.c). */
int rd_slow(struct walker *w, uint64_t addr, void *buf, size_t len);

/* Copy len bytes at addr into buf. 0 on success, -1 if unreadable. The
 * fields of the object being decoded come from its window; the rest
 * through the copy's region lookup, or the memory source. */
static inline __attribute__((always_inline)) int rd(struct walker *w, uint64_t addr, void *buf, size_t len)
{
    uint64_t off = addr - w->win_addr;
    if (off < w->win_len && len <= w->win_len - off) {
        memcpy(buf, w->win + off, len);
        return 0;
    }
    return rd_slow(w, addr, buf, len);
}

static inline int rd64(struct walker *w, uint64_t addr, uint64_t *v)
{
    return rd(w, addr, v, 8);
}

/* A word at obj+off, or 0 if the field is absent or unreadable. */
static inline uint64_t field(struct walker *w, uint64_t obj, int64_t off)
{
    uint64_t v = 0;
    if (off == OFFSET_ABSENT || rd64(w, obj + (uint64_t)off, &v) != 0)
        return 0;
    return v;
}

/* A str's header (PyASCIIObject's state bits, its length) and where its
 * characters are: after the header (compact, ASCII or not) or in a buffer
 * of its own (legacy strs, <= 3.11). kind: bytes per character, 1, 2 or 4
 * in a valid str. Fields that cannot be read are 0. */
struct str_header {
    int64_t length;
    unsigned kind, compact, ascii, ready;
    uint64_t data;
};

static inline void str_header(struct walker *w, uint64_t obj, struct str_header *s)
{
    uint8_t state = 0;
    s->length = (int64_t)field(w, obj, WO(w, ASCII_LENGTH));
    rd(w, obj + (uint64_t)WO(w, ASCII_STATE), &state, 1);
    s->kind = (state >> 2) & 7;
    s->compact = (state >> 5) & 1;
    s->ascii = (state >> 6) & 1;
    s->ready = state >> 7;
    s->data = s->compact ? obj + (uint64_t)(s->ascii ? WO(w, ASCII_SIZE) : WO(w, COMPACT_SIZE))
                         : field(w, obj, WO(w, UNICODE_DATA));
}

/* A NUL-terminated string at addr from the memory source (a static type's
 * tp_name lies outside the copy), under the lock the walk's threads share
 * the source with. */
enum phs_status walker_read_cstr(struct walker *w, uint64_t addr, char *out, size_t cap);

/* walker_view() for what the copy does not hold (walk.c). */
const unsigned char *walker_view_slow(struct walker *w, uint64_t addr, size_t len);

/* A view of len bytes at addr: in the copy if possible, else read into the
 * walker's scratch buffer (valid until the next call). NULL if unreadable. */
static inline const unsigned char *walker_view(struct walker *w, uint64_t addr, size_t len)
{
    const unsigned char *q = w->snap ? snapshot_ptr_at(w->snap, w->region_hint, addr, len) : NULL;
    return q ? q : walker_view_slow(w, addr, len);
}

/* Follow a reference: admit the object it leads to once and queue it.
 * Pointers that do not lead to a valid object are skipped and counted.
 * Returns 1 if addr is a valid object (new or seen before), else 0; always
 * 0 while w->follow is off. */
int walker_ref(struct walker *w, uint64_t addr);
/* walker_ref for each of addrs[0..n) (zeros skipped), with their cache
 * misses overlapped: the way to follow a container's items. */
void walker_ref_many(struct walker *w, const uint64_t *addrs, size_t n);
/* Do the decoders' references matter now (followed, or recorded)? */
static inline int walker_wants_refs(const struct walker *w)
{
    return w->follow || w->sink;
}
/* Say what the next references are (for the sink; cheap otherwise). */
static inline void walker_how(struct walker *w, uint32_t how, const char *name)
{
    w->how = how;
    w->how_index = 0;
    w->how_name = name;
}
/* The same for a word found by a conservative scan: misses are not counted. */
void walker_maybe_ref(struct walker *w, uint64_t word);
/* Start loading what walker_ref(addr) will read (the object's header and
 * its mark), so that the misses of a container's items overlap. */
static inline void walker_prefetch(struct walker *w, uint64_t addr)
{
    if (!w->snap || (addr & 7) || addr < 4096)
        return;
    const unsigned char *q = snapshot_ptr_at(w->snap, w->region_hint, addr, 16);
    if (q) {
        __builtin_prefetch(q);
        __builtin_prefetch(&w->sh->marks[(size_t)(q - w->snap->buf) >> 9]);
    }
}
/* After the walk: did it count an object at addr? */
int counted_object(struct walker *w, uint64_t addr);
/* Record that the dict at dict_addr (a valid object) is the __dict__ of
 * an instance of heap type owner, unless it is not a plain dict or some
 * instance claimed it first. */
void walker_set_owner(struct walker *w, uint64_t dict_addr, uint32_t owner);
/* After the walk: 1 + heap.types index of the instance owning the plain
 * dict at dict_addr, or NULL if no instance owns it. */
uint32_t *dict_owner(const struct walk_share *sh, uint64_t dict_addr);

/* A walker over h for reads and type lookups only (previews, heap_each);
 * release it with walker_free. */
void walker_setup(struct walker *w, struct py_process *p, struct memsrc *mem, struct snapshot *snap,
                  struct heap *h);
void walker_free(struct walker *w);

/* ---- types.c ---- */
/* Resolve the known types' addresses from the ELF symbols. */
void types_init(struct walker *w);
/* The registry entry for the type object at addr (validated on first
 * sight; depth bounds the recursion through metatypes and bases). NULL
 * only on out-of-memory; check ->valid. */
struct tinfo *types_get(struct walker *w, uint64_t addr, int depth);
/* Read a str object as UTF-8 into out (truncated, always terminated).
 * Returns the length written, or -1 if addr is not a readable str. */
int str_utf8(struct walker *w, uint64_t addr, char *out, size_t cap);
/* Call fn for each of the first max entries of the dict at dict_addr
 * whose key is a str (and value not NULL). */
void dict_each_str(struct walker *w, uint64_t dict_addr, size_t max,
                   void (*fn)(const char *key, uint64_t value, void *arg), void *arg);
/* The value for the str key `key` in the dict at dict_addr, or 0. */
uint64_t dict_get_str(struct walker *w, uint64_t dict_addr, const char *key);

/* ---- decode.c ---- */
/* Where the entries of a dict keys object are and how they are laid out
 * (the keys-table formats of 3.7-3.10 and of 3.11+). */
struct dict_shape {
    uint64_t entries, values;   /* values: the split table's array, or 0 */
    int64_t nentries, usable, refcnt, keys_size;
    int64_t slots;              /* dk_size: slots of the hash table */
    size_t esize, koff, voff;   /* entry size, key and value offsets in it */
    /* the keys object in the copy, up to the end of its region (NULL if
     * it was read from the memory source): its entries without a lookup */
    const unsigned char *copy, *copy_end;
};
/* Can dict_shape work with this version's offsets (all present where
 * needed, and within the keys object's header)? Checked once per walk. */
int dict_offsets_ok(const struct walker *w);
/* Fill s for keys (and values, the dict's ma_values, or 0). -1 if the keys
 * object is unreadable or implausible. */
int dict_shape(struct walker *w, uint64_t keys, uint64_t values, struct dict_shape *s);
/* The size of a combined keys object of `slots` slots (a power of two)
 * with entries of esize bytes, in this version. */
int64_t dict_keys_bytes(struct walker *w, int64_t slots, size_t esize);
/* What sys.getsizeof adds to __sizeof__ for an object of type t at obj. */
int64_t header_bytes(struct walker *w, uint64_t obj, const struct tinfo *t);

/* One frame of a thread's stack. */
struct thread_frame {
    uint64_t tstate, thread_id;
    int64_t native_thread_id;      /* -1 where absent */
    unsigned depth;                /* 0: the innermost, running frame (shims not counted) */
    uint64_t frame;                /* the frame object (<= 3.10) or interpreter frame (3.11+) */
    uint64_t code;
};
/* Call fn for every frame of every thread of every interpreter, innermost
 * first, leaving out the entry shims that hold no references (bounded). */
void each_thread_frame(struct walker *w, void (*fn)(struct walker *w, const struct thread_frame *tf, void *arg),
                       void *arg);
/* Follow (or record, with a sink) what the frame holds: 3.11+ its code and
 * function, its locals by name, its value stack; before, the frame object,
 * which holds them. */
void thread_frame_refs(struct walker *w, const struct thread_frame *tf);
/* The frame's function (qualified name where the version has one) and file. */
void thread_frame_name(struct walker *w, const struct thread_frame *tf, char *function, size_t fcap, char *file,
                       size_t cap);

/* sys.getsizeof of a leaf object (tinfo.leaf) whose basicsize bytes are
 * at q in the copy: the walk's fast path, which queues nothing. */
uint64_t decode_leaf(struct walker *w, uint64_t obj, const unsigned char *q, const struct tinfo *t);
/* Compute obj's size and extra bytes, and follow its references. */
void decode_object(struct walker *w, uint64_t addr, const unsigned char *copy, const struct tinfo *t, uint64_t *size,
                   uint32_t *extra);
/* How much of an object of type t the decoders read through the window:
 * its fixed part, or its header where that is implausibly large. */
static inline size_t window_len(const struct tinfo *t)
{
    return t->basicsize > 16 && t->basicsize < 4096 ? (size_t)t->basicsize : 16;
}

#endif
