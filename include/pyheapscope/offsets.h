/* offsets.h - every struct size and field offset the walker uses, as data.
 *
 * One flat table of named values, filled by one of three providers (DWARF,
 * _Py_DebugOffsets, a bundled table from symbols/) and checked by one
 * validator. Version differences live here and in symbols/, nowhere else:
 * code above this layer reads o->v[OFF_...] and the layout kinds, never a
 * version number. */
#ifndef PYHEAPSCOPE_OFFSETS_H
#define PYHEAPSCOPE_OFFSETS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pyheapscope/error.h"
#include "pyheapscope/memsrc.h"

/* The CPython structs we need, with the DWARF name that finds each:
 * S(id, key prefix, DWARF name, is a typedef). */
#define PHS_OFFSET_STRUCTS(S)                                           \
    S(RUNTIME,   "runtime",       "pyruntimestate",      0)             \
    S(INTERP,    "interp",        "_is",                 0)             \
    S(TSTATE,    "tstate",        "_ts",                 0)             \
    S(GC,        "gc",            "_gc_runtime_state",   0)             \
    S(GCGEN,     "gc_generation", "gc_generation",       0)             \
    S(GCHEAD,    "gc_head",       "PyGC_Head",           1)             \
    S(OBJECT,    "object",        "_object",             0)             \
    S(VAROBJECT, "varobject",     "PyVarObject",         1)             \
    S(TYPE,      "type",          "_typeobject",         0)             \
    S(HEAPTYPE,  "heaptype",      "PyHeapTypeObject",    1)

enum offsets_struct {
#define PHS_S_ENUM(id, key, dwarf, td) OS_##id,
    PHS_OFFSET_STRUCTS(PHS_S_ENUM)
#undef PHS_S_ENUM
    OS_COUNT
};

/* F(id, key, struct, DWARF member path(s), required).
 * A member path is dotted ("threads.head"); alternatives for other versions
 * are separated by '|' and tried in order. A NULL path means the struct's
 * size. An optional field is absent (-1) in versions that lack it. */
#define PHS_OFFSET_FIELDS(F)                                                        \
    F(RUNTIME_SIZE,            "runtime.size",                RUNTIME, NULL, 1)     \
    F(RUNTIME_INTERP_HEAD,     "runtime.interpreters_head",   RUNTIME, "interpreters.head", 1) \
    F(RUNTIME_INTERP_MAIN,     "runtime.interpreters_main",   RUNTIME, "interpreters.main", 1) \
    F(RUNTIME_GC,              "runtime.gc",                  RUNTIME, "gc", 0)     \
    F(INTERP_SIZE,             "interp.size",                 INTERP, NULL, 1)      \
    F(INTERP_NEXT,             "interp.next",                 INTERP, "next", 1)    \
    F(INTERP_ID,               "interp.id",                   INTERP, "id", 1)      \
    F(INTERP_THREADS_HEAD,     "interp.threads_head",         INTERP, "threads.head|tstate_head", 1) \
    F(INTERP_GC,               "interp.gc",                   INTERP, "gc", 0)      \
    F(INTERP_MODULES,          "interp.modules",              INTERP, "imports.modules|modules", 1) \
    F(INTERP_SYSDICT,          "interp.sysdict",              INTERP, "sysdict", 1) \
    F(INTERP_BUILTINS,         "interp.builtins",             INTERP, "builtins", 1) \
    F(TSTATE_SIZE,             "tstate.size",                 TSTATE, NULL, 1)      \
    F(TSTATE_PREV,             "tstate.prev",                 TSTATE, "prev", 1)    \
    F(TSTATE_NEXT,             "tstate.next",                 TSTATE, "next", 1)    \
    F(TSTATE_INTERP,           "tstate.interp",               TSTATE, "interp", 1)  \
    F(TSTATE_THREAD_ID,        "tstate.thread_id",            TSTATE, "thread_id", 1) \
    F(TSTATE_NATIVE_THREAD_ID, "tstate.native_thread_id",     TSTATE, "native_thread_id", 0) \
    F(GC_SIZE,                 "gc.size",                     GC, NULL, 1)          \
    F(GC_GENERATIONS,          "gc.generations",              GC, "generations", 1) \
    F(GC_GENERATION0,          "gc.generation0",              GC, "generation0", 0) \
    F(GC_PERMANENT,            "gc.permanent_generation",     GC, "permanent_generation", 1) \
    F(GC_COLLECTING,           "gc.collecting",               GC, "collecting", 1)  \
    F(GCGEN_SIZE,              "gc_generation.size",          GCGEN, NULL, 1)       \
    F(GCGEN_HEAD,              "gc_generation.head",          GCGEN, "head", 1)     \
    F(GCGEN_THRESHOLD,         "gc_generation.threshold",     GCGEN, "threshold", 1) \
    F(GCGEN_COUNT,             "gc_generation.count",         GCGEN, "count", 1)    \
    F(GCHEAD_SIZE,             "gc_head.size",                GCHEAD, NULL, 1)      \
    F(OBJECT_SIZE,             "object.size",                 OBJECT, NULL, 1)      \
    F(OBJECT_REFCNT,           "object.ob_refcnt",            OBJECT, "ob_refcnt", 1) \
    F(OBJECT_TYPE,             "object.ob_type",              OBJECT, "ob_type", 1) \
    F(VAROBJECT_SIZE,          "varobject.size",              VAROBJECT, NULL, 1)   \
    F(VAROBJECT_OB_SIZE,       "varobject.ob_size",           VAROBJECT, "ob_size", 1) \
    F(TYPE_SIZE,               "type.size",                   TYPE, NULL, 1)        \
    F(TYPE_NAME,               "type.tp_name",                TYPE, "tp_name", 1)   \
    F(TYPE_BASICSIZE,          "type.tp_basicsize",           TYPE, "tp_basicsize", 1) \
    F(TYPE_ITEMSIZE,           "type.tp_itemsize",            TYPE, "tp_itemsize", 1) \
    F(TYPE_FLAGS,              "type.tp_flags",               TYPE, "tp_flags", 1)  \
    F(TYPE_BASE,               "type.tp_base",                TYPE, "tp_base", 1)   \
    F(TYPE_DICT,               "type.tp_dict",                TYPE, "tp_dict", 1)   \
    F(TYPE_MRO,                "type.tp_mro",                 TYPE, "tp_mro", 1)    \
    F(TYPE_DICTOFFSET,         "type.tp_dictoffset",          TYPE, "tp_dictoffset", 1) \
    F(TYPE_WEAKLISTOFFSET,     "type.tp_weaklistoffset",      TYPE, "tp_weaklistoffset", 1) \
    F(HEAPTYPE_SIZE,           "heaptype.size",               HEAPTYPE, NULL, 1)    \
    F(HEAPTYPE_NAME,           "heaptype.ht_name",            HEAPTYPE, "ht_name", 1) \
    F(HEAPTYPE_QUALNAME,       "heaptype.ht_qualname",        HEAPTYPE, "ht_qualname", 1) \
    F(HEAPTYPE_SLOTS,          "heaptype.ht_slots",           HEAPTYPE, "ht_slots", 1) \
    F(HEAPTYPE_CACHED_KEYS,    "heaptype.ht_cached_keys",     HEAPTYPE, "ht_cached_keys", 1)

enum offsets_field {
#define PHS_F_ENUM(id, key, st, path, req) OFF_##id,
    PHS_OFFSET_FIELDS(PHS_F_ENUM)
#undef PHS_F_ENUM
    OFF_COUNT
};

#define OFFSET_ABSENT (-1)

enum offsets_source {
    OFFSETS_NONE = 0,
    OFFSETS_DWARF,
    OFFSETS_DEBUG_OFFSETS,
    OFFSETS_BUNDLED,
    OFFSETS_FILE,          /* a table file named on the command line */
};

struct py_offsets {
    int64_t v[OFF_COUNT];          /* OFFSET_ABSENT where the version lacks it */
    unsigned major, minor;         /* the version the values describe */
    enum offsets_source source;
    char origin[512];              /* where the values came from, for `info` */
};

/* ---- the field catalogue (cannot fail) ---------------------------------- */
const char *offsets_field_key(enum offsets_field f);
enum offsets_struct offsets_field_struct(enum offsets_field f);
const char *offsets_field_dwarf_path(enum offsets_field f);   /* NULL: sizeof */
int offsets_field_required(enum offsets_field f);
const char *offsets_struct_dwarf_name(enum offsets_struct s);
int offsets_struct_is_typedef(enum offsets_struct s);
/* The field holding the size of a struct. */
enum offsets_field offsets_struct_size_field(enum offsets_struct s);
/* Look a key up; returns OFF_COUNT if unknown. */
enum offsets_field offsets_field_by_key(const char *key);
const char *offsets_source_name(enum offsets_source s);

/* Set every value to OFFSET_ABSENT. Cannot fail. */
void offsets_init(struct py_offsets *o);

/* ---- providers ----------------------------------------------------------- */

/* Parse a table in the text format of symbols/ ("key value" lines, '#'
 * comments, "version M.m"). Unknown keys are an error (a table from a newer
 * pyheapscope must not be half-read). Does not read target memory. */
enum phs_status offsets_parse_table(const char *text, struct py_offsets *o, struct phs_error *err);

/* Write o in the table format to f: the inverse of offsets_parse_table. */
void offsets_write_table(const struct py_offsets *o, FILE *f, const char *comment);

/* The table compiled into the binary for the version PY_VERSION_HEX
 * version_hex: the one for its major.minor, or a later patch-release variant
 * (M.m.p) that applies. PHS_UNSUPPORTED if there is none. Does not read
 * target memory. */
enum phs_status offsets_bundled(uint64_t version_hex, struct py_offsets *o, struct phs_error *err);

/* The versions that have a bundled table, as "3.7, 3.8, ..." (static storage). */
const char *offsets_bundled_versions(void);

/* Read every field DWARF describes from the ELF file at path or from its
 * separate debug file (build-id, then .gnu_debuglink), searched in the
 * colon-separated debuginfo_path (NULL: the default, /usr/lib/debug).
 * On success debug_file names the file that held the DWARF. PHS_NOT_PYTHON
 * if the DWARF lacks CPython's structs; PHS_IO if no DWARF was found. Does
 * not read target memory. */
enum phs_status offsets_from_dwarf(const char *path, const char *debuginfo_path,
                                   struct py_offsets *o, char *debug_file, size_t cap,
                                   struct phs_error *err);

/* Fill the fields that _Py_DebugOffsets covers (3.13+), reading it at
 * runtime_addr through src, and check its cookie, version (against
 * version_hex if non-zero) and the free-threaded flag. Fields it does not
 * cover are left as they were. Reads target memory.
 * PHS_UNSUPPORTED for free-threaded builds, PHS_NOT_PYTHON if there is no
 * cookie, PHS_OFFSETS if the version does not match. */
enum phs_status offsets_from_debug_offsets(struct memsrc *src, uint64_t runtime_addr,
                                           uint64_t version_hex, struct py_offsets *o,
                                           struct phs_error *err);

/* Static checks: every required field present, every offset inside its
 * struct, sizes sane. PHS_OFFSETS with the first problem. */
enum phs_status offsets_validate(const struct py_offsets *o, struct phs_error *err);

/* Compare two sets of offsets; writes up to cap bytes describing the fields
 * present in both that differ ("interp.gc: 112 vs 120; ..."). Returns the
 * number of differences. Cannot fail. */
int offsets_compare(const struct py_offsets *a, const struct py_offsets *b, char *out, size_t cap);

/* ---- choosing a source ---------------------------------------------------- */

struct offsets_request {
    const char *elf_path;        /* the ELF file holding _PyRuntime, as we can open it */
    const char *debuginfo_path;  /* NULL: default search path */
    struct memsrc *mem;          /* for _Py_DebugOffsets */
    uint64_t runtime_addr;
    uint64_t version_hex;
    enum offsets_source force;   /* OFFSETS_NONE: best available */
    const char *offsets_file;    /* with force == OFFSETS_FILE */
};

/* Pick the offsets for a target: DWARF, then _Py_DebugOffsets (3.13+, the
 * fields it lacks taken from the bundled table), then the bundled table;
 * or only the forced source. The result has passed offsets_validate.
 * notes receives why better sources were passed over and the result of
 * cross-checking DWARF against _Py_DebugOffsets. debug_file receives where
 * DWARF was found ("" if not used). Reads target memory for
 * _Py_DebugOffsets only. */
enum phs_status offsets_choose(const struct offsets_request *rq, struct py_offsets *out,
                               char *debug_file, size_t debug_cap, char *notes, size_t notes_cap,
                               struct phs_error *err);

#endif
