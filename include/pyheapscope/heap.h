/* heap.h - the whole Python heap of one process, as a table of objects.
 *
 * The heap-walk layer: starting from every object on the collector's lists
 * (all generations and the permanent one), it decodes each object's own
 * references by its type's layout and follows them, so that objects the
 * collector does not track (str, int, code, untracked tuples and dicts, ...)
 * are found too. Each object is counted once, with what sys.getsizeof would
 * say for it in that version. It reads through a memory source (normally a
 * snapshot), trusts no pointer, bounds every loop, and never prints. */
#ifndef PYHEAPSCOPE_HEAP_H
#define PYHEAPSCOPE_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapscope/error.h"
#include "pyheapscope/runtime.h"
#include "pyheapscope/snapshot.h"

enum heap_object_flags {
    HEAP_OBJ_GC = 1,          /* found on a collector list */
    HEAP_OBJ_PERMANENT = 2,   /* ... on the permanent generation's (gc.freeze) */
};

/* Objects counted together. */
struct heap_tally {
    uint64_t count;
    uint64_t bytes;           /* sum of sys.getsizeof */
    uint64_t extra;           /* owned bytes sys.getsizeof leaves out */
    uint64_t gc_objects;      /* how many were on a collector list */
    uint64_t permanent;       /* ... on the permanent generation's */
};

struct heap_type {
    uint64_t addr;
    char *name;               /* the kind: "dict", "collections.OrderedDict", "app.models.Order" */
    int is_heap;              /* a heap type (class statement or PyType_FromSpec) */
    int has_dict;             /* its instances can have a __dict__ (no __slots__ without it) */
    struct heap_tally objects;  /* its instances (plain dicts owned by an instance excluded) */
    struct heap_tally dicts;    /* the plain dicts that are the __dict__ of one of its instances */
};

/* One object, as heap_each reports it. */
struct heap_object {
    uint64_t addr;
    uint64_t size;            /* sys.getsizeof */
    uint32_t type;            /* index into heap.types */
    uint32_t owner;           /* dicts: 1 + index of the type whose instance's __dict__ it is; 0 */
    uint32_t extra;           /* bytes the object owns that sys.getsizeof leaves out */
};

/* How an object refers to another: the step of a path ("why is this alive?"). */
enum heap_edge_how {
    HEAP_EDGE_ITEM,      /* item [index] of a list, tuple, deque; entry of a set */
    HEAP_EDGE_KEY,       /* a key of a dict */
    HEAP_EDGE_VALUE,     /* the value of a dict's key (edge.key: the key object) */
    HEAP_EDGE_ATTR,      /* an instance attribute kept in the object, not in a dict (name) */
    HEAP_EDGE_DICT,      /* an instance's __dict__ */
    HEAP_EDGE_TYPE,      /* an instance's class */
    HEAP_EDGE_FIELD,     /* a named field of a core type (name: "co_consts", "f_back") */
    HEAP_EDGE_SLOT,      /* a member of a class with __slots__, or of a C type (index) */
    HEAP_EDGE_LOCAL,     /* a frame's local variable, cell or free variable (name) */
    HEAP_EDGE_STACK,     /* a frame's value stack (index) */
    HEAP_EDGE_SCAN,      /* a word that points at an object, in a C type without a decoder */
    HEAP_EDGE_COUNT
};

struct heap_edge {
    uint64_t to;
    uint64_t key;             /* HEAP_EDGE_VALUE: the key object; else 0 */
    uint32_t how;             /* enum heap_edge_how */
    uint32_t index;
    const char *name;         /* NULL when there is none; valid during the callback */
};

/* The short word for how, as the dump writes it ("item", "key", ...). */
const char *heap_edge_how_name(enum heap_edge_how how);

struct heap_stats {
    uint64_t gc_objects;      /* on generations 0-2 */
    uint64_t gen_objects[3];  /* ... per generation (summed over interpreters) */
    uint64_t permanent_objects;
    uint64_t bad_pointers;    /* references that did not lead to a valid object, skipped */
    uint64_t bad_gc_links;    /* GC list links that were broken (only without a pause) */
    uint64_t bad_objects;     /* objects whose contents could not be decoded, counted but not followed */
    uint64_t conservative_scans; /* objects of types without a decoder, scanned word by word */
    uint64_t walk_ns;
    uint64_t seed_ns;         /* ... of which walking the collector's lists */
};

struct walker;
struct heap_backend;

/* The walk's result: every type seen, with what its instances add up to.
 * The objects themselves are not listed (a list of ten million records
 * would cost more than the walk); heap_each finds them again. */
struct heap {
    struct heap_type *types;
    size_t ntypes;
    struct heap_tally total;
    struct heap_stats stats;
    struct walker *walker;    /* private: what heap_each and heap_previews need */
    const struct heap_backend *backend;   /* a heap read back from elsewhere (below); NULL for a walk */
    void *backend_self;
};

struct heap_walk_opts {
    int tolerant;             /* the target ran during the copy: skip broken GC links instead of failing */
};

/* Walk the heap of p through mem (a snapshot, or any memory source; when
 * snap is non-NULL its copy is read directly, which is the fast path).
 * On success h holds every type with its tallies; release it with
 * heap_done. h keeps p, mem and snap (borrowed): heap_each and
 * heap_previews read them, so they must still hold the same copy.
 * PHS_OFFSETS if the collector's lists do not fit the offsets (without
 * tolerant), PHS_INTERNAL on out-of-memory. */
enum phs_status heap_walk(struct py_process *p, struct memsrc *mem, struct snapshot *snap,
                          const struct heap_walk_opts *opts, struct heap *h, struct phs_error *err);

void heap_done(struct heap *h);

/* Call fn once for every object the walk counted (in address order within
 * the copy) whose type index i has want[i] set (every object if want is
 * NULL; nwant entries), decoding its size again from the copy; stop early
 * if fn returns non-zero. The walk's figures are not changed. */
void heap_each(struct heap *h, const unsigned char *want, size_t nwant,
               int (*fn)(const struct heap_object *o, void *arg), void *arg);

/* heap_each over every object, with the references each one holds in the
 * order its type keeps them (a list's items by index, a dict's key, value,
 * key, value ...), each with how it refers. Only references to objects the
 * walk counted are reported. Stops early if fn returns non-zero; returns
 * -1 on out-of-memory, else 0. The walk's figures are not changed. */
int heap_each_edges(struct heap *h,
                    int (*fn)(const struct heap_object *o, const struct heap_edge *e, size_t n, void *arg),
                    void *arg);

/* heap_each_edges over the objects whose type index i has want[i] set
 * (nwant entries). heap_unreferenced then knows only their references. */
int heap_each_edges_of(struct heap *h, const unsigned char *want, size_t nwant,
                       int (*fn)(const struct heap_object *o, const struct heap_edge *e, size_t n, void *arg),
                       void *arg);

/* The object the walk counted at addr, as heap_each would report it:
 * 1 and *o filled, or 0 if the walk counted no object there. Can be
 * called from within heap_each and heap_each_edges callbacks. */
int heap_object_at(struct heap *h, uint64_t addr, struct heap_object *o);

/* After a complete heap_each_edges: call fn with the addresses of the
 * objects no other counted object refers to (the roots of the graph
 * besides the interpreter's own), n at a time. -1 on out-of-memory. */
int heap_unreferenced(struct heap *h, int (*fn)(const uint64_t *addrs, size_t n, void *arg), void *arg);

/* A frame of a thread's stack, as heap_thread_frames reports it. */
struct heap_frame {
    uint64_t thread_id;       /* threading.get_ident() */
    int64_t native_thread_id; /* -1 where the version has none */
    unsigned depth;           /* 0: the innermost, running frame; 1 its caller, ... */
    uint64_t addr;            /* the frame object (<= 3.10) or interpreter frame (3.11+) */
    char function[128];       /* co_qualname (3.11+) or co_name */
    char file[256];           /* co_filename */
};

/* After heap_each_edges, before heap_unreferenced: call fn for every frame
 * of every thread (innermost first) with what it holds, each reference
 * with how: 3.11+ its local variables by name, its value stack, its code
 * and function; 3.7-3.10 the frame object ("frame"), which holds those.
 * The objects so held no longer count as unreferenced. The
 * walk followed these references too, so everything reported is counted.
 * -1 on out-of-memory or without a prior heap_each_edges. */
int heap_thread_frames(struct heap *h,
                       int (*fn)(const struct heap_frame *f, const struct heap_edge *e, size_t n, void *arg),
                       void *arg);

/* The interpreter's own roots: per interpreter, its sys.modules dict
 * (root "sys.modules"), its sys module's dict ("sys"), its builtins dict
 * ("builtins"), and the dict of each module in sys.modules (root "module",
 * name its key there). Only objects the walk counted are reported. */
void heap_interpreter_roots(struct heap *h, void (*fn)(const char *root, const char *name, uint64_t addr, void *arg),
                            void *arg);

/* The value of a str, bytes, int or float object, for a dump: str as
 * UTF-8, bytes with non-printable bytes as \xNN, int and float in decimal;
 * at most max_chars characters, *truncated set if there was more.
 * Returns 0 if the object has no such value. Never fails otherwise. */
int heap_value(struct heap *h, const struct heap_object *o, char *out, size_t cap, size_t max_chars,
               int *truncated);

/* The length of a str (characters), bytes or bytearray (bytes), list,
 * tuple, deque, dict or set (items); -1 for other objects. */
int64_t heap_length(struct heap *h, const struct heap_object *o);

/* Whether a str is interned: 0 no, 1 mortal (freed when nothing else
 * holds it; the interned table does not count as a holder), 2 immortal,
 * 3 immortal and statically allocated (3.12+). 0 for anything else. */
int heap_str_interned(struct heap *h, const struct heap_object *o);

/* The raw value of a str, bytes, int or float (exactly those types, not
 * subclasses), to compare objects by value: a str's code units (unit 1, 2
 * or 4 bytes each), a bytes' bytes, an int's 30-bit digits and sign, a
 * float's 8 bytes. data points into the copy (valid while h is, and
 * until the next call when h was walked without a snapshot). */
enum heap_atom_kind { HEAP_ATOM_NONE, HEAP_ATOM_STR, HEAP_ATOM_BYTES, HEAP_ATOM_INT, HEAP_ATOM_FLOAT };
struct heap_atom {
    enum heap_atom_kind kind;
    unsigned unit;            /* str: bytes per character */
    int sign;                 /* int: -1, 0, 1 */
    const unsigned char *data;
    size_t len;               /* bytes at data */
};

/* Fill a for o; 1 if it is such an atom and its value could be read, else 0. */
int heap_atom(struct heap *h, const struct heap_object *o, struct heap_atom *a);

/* A 64-bit hash of an atom's kind and value, never 0: equal atoms hash
 * alike (a dump writes it for values it cuts, "vh"). */
uint64_t heap_atom_hash(const struct heap_atom *a);

/* The allocated capacity of a list (item slots) or a bytearray (bytes),
 * exactly those types; -1 for anything else or when unreadable. */
int64_t heap_capacity(struct heap *h, const struct heap_object *o);

/* ---- what the target would have after a change (whatif.c) ---- */

/* sys.getsizeof, in the walked version, of objects the program could
 * make instead: an instance of a class whose __slots__ are n names, and
 * a tuple (or namedtuple) of n items. 0 if the version's sizes are not
 * known. */
enum heap_alt { HEAP_AS_SLOTS, HEAP_AS_TUPLE };
uint64_t heap_size_as(struct heap *h, enum heap_alt alt, uint64_t n);

/* A dict's or set's hash table, now and as a rebuild (dict(d), set(s))
 * would make it for the live entries, by the version's own presizing. */
struct heap_table {
    int64_t used;             /* live entries */
    int64_t entries;          /* dict: entries used so far, deleted ones included */
    int64_t slots;            /* table slots now */
    int64_t rebuilt_slots;    /* ... after a rebuild (0: a set's own small table) */
    uint64_t bytes;           /* the table's bytes now (in sys.getsizeof) */
    uint64_t rebuilt_bytes;   /* ... after a rebuild */
};
/* 1 and *t filled for a plain dict with its own table or a plain set
 * (exactly those types); 0 otherwise or when unreadable. */
int heap_table(struct heap *h, const struct heap_object *o, struct heap_table *t);

/* A short text about each object objs[0..n) of h, into out + k*cap: the
 * start of a str or bytes, the value of an int or float, the length of a
 * container and the first keys of a dict, a type's or function's name.
 * "" when there is nothing to say. Never fails: what cannot be read is
 * left out. */
void heap_previews(struct heap *h, const struct heap_object *objs, size_t n, char *out, size_t cap);

/* The ELF symbols the walk looks up in p->elf (besides PyType_Type, which
 * p holds), into names[0..cap); returns how many. A recording of a process
 * (tests/fuzz) keeps their addresses. Cannot fail. */
size_t heap_symbols_used(const char **names, size_t cap);

/* ---- a heap read back from elsewhere ---- */

/* Objects that come not from a walk of a copy but from a record of one (a
 * dump: src/analysis/dumpheap.c). Set on a heap, these answer
 * heap_each_edges_of, heap_object_at, heap_value, heap_length, heap_atom,
 * heap_capacity, heap_size_as and heap_table with the same meaning as
 * above, and done releases self in heap_done. The other calls find
 * nothing. An atom's data is then the recorded value (any encoding, the
 * same for equal values), compared only with the same backend's. */
struct heap_backend {
    int (*each_edges_of)(void *self, const unsigned char *want, size_t nwant,
                         int (*fn)(const struct heap_object *o, const struct heap_edge *e, size_t n, void *arg),
                         void *arg);
    int (*object_at)(void *self, uint64_t addr, struct heap_object *o);
    int (*value)(void *self, const struct heap_object *o, char *out, size_t cap, size_t max_chars, int *truncated);
    int64_t (*length)(void *self, const struct heap_object *o);
    int (*atom)(void *self, const struct heap_object *o, struct heap_atom *a);
    int64_t (*capacity)(void *self, const struct heap_object *o);
    uint64_t (*size_as)(void *self, enum heap_alt alt, uint64_t n);
    int (*table)(void *self, const struct heap_object *o, struct heap_table *t);
    void (*done)(void *self);
};

/* ---- taking a snapshot and walking it (take.c) ---- */

struct heap_timing {
    int paused;               /* 0 with nonblocking */
    size_t threads_paused;
    uint64_t pause_ns;        /* how long the target was stopped */
    uint64_t prepare_ns;      /* faulting in the snapshot buffer, before the pause */
    uint64_t copy_ns;
    uint64_t walk_ns;
    uint64_t total_ns;        /* from re-reading the maps to the end of the walk */
    uint64_t bytes_copied;
    uint64_t failed_regions;
    unsigned collection_retries; /* pauses that caught the collector at work and were redone */
    unsigned midway_retries;  /* pauses that caught a list splice half done and were redone */
};

/* One consistent look at the heap: re-read the maps, prepare snap (reused
 * across calls), pause every thread only for the copy (unless nonblocking;
 * a copy that caught the collector in the middle of a collection is redone
 * after a short wait, up to 40 times),
 * then check the interpreter state and walk the copy. With nonblocking the
 * target keeps running, the walk skips whatever is torn and counts it.
 * The target is never left stopped, whatever fails. */
enum phs_status heap_take(struct py_process *p, struct snapshot *snap, int nonblocking, struct heap *h,
                          struct heap_timing *tm, struct phs_error *err);

/* A snapshot for heap_take on process pid, made before attaching: its
 * buffer is allocated and faulted in while the attach reads symbols and
 * DWARF (snapshot_reserve). Give it the live source with
 * snapshot_set_live once attached. NULL on out-of-memory. */
struct snapshot *heap_snapshot_early(pid_t pid);
#endif
