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
    S(CFRAME,    "cframe",        "_PyCFrame",           1)             \
    S(GC,        "gc",            "_gc_runtime_state",   0)             \
    S(GCGEN,     "gc_generation", "gc_generation",       0)             \
    S(GCHEAD,    "gc_head",       "PyGC_Head",           1)             \
    S(OBJECT,    "object",        "_object",             0)             \
    S(VAROBJECT, "varobject",     "PyVarObject",         1)             \
    S(TYPE,      "type",          "_typeobject",         0)             \
    S(HEAPTYPE,  "heaptype",      "PyHeapTypeObject",    1)             \
    S(LONG,      "long",          "_longobject",         0)             \
    S(ASCII,     "ascii",         "PyASCIIObject",       1)             \
    S(COMPACT,   "compact",       "PyCompactUnicodeObject", 1)          \
    S(UNICODE,   "unicode",       "PyUnicodeObject",     1)             \
    S(BYTEARRAY, "bytearray",     "PyByteArrayObject",   1)             \
    S(TUPLE,     "tuple",         "PyTupleObject",       1)             \
    S(LIST,      "list",          "PyListObject",        1)             \
    S(SET,       "set",           "PySetObject",         1)             \
    S(DICT,      "dict",          "PyDictObject",        1)             \
    S(DICTKEYS,  "dictkeys",      "_dictkeysobject",     0)             \
    S(DICTVALUES, "dictvalues",   "_dictvalues",         0)             \
    S(CODE,      "code",          "PyCodeObject",        1)             \
    S(FUNC,      "func",          "PyFunctionObject",    1)             \
    S(CELL,      "cell",          "PyCellObject",        1)             \
    S(METHOD,    "method",        "PyMethodObject",      1)             \
    S(CFUNC,     "cfunc",         "PyCFunctionObject",   1)             \
    S(CMETHOD,   "cmethod",       "PyCMethodObject",     1)             \
    S(CLASSMETHOD, "classmethod", "classmethod",         1)             \
    S(STATICMETHOD, "staticmethod", "staticmethod",      1)             \
    S(PROPERTY,  "property",      "propertyobject",      1)             \
    S(DESCR,     "descr",         "PyDescrObject",       1)             \
    S(WEAKREF,   "weakref",       "_PyWeakReference",    0)             \
    S(MODULE,    "module",        "PyModuleObject",      1)             \
    S(MODULEDEF, "moduledef",     "PyModuleDef",         0)             \
    S(FRAME,     "frame",         "_frame",              0)             \
    S(IFRAME,    "iframe",        "_PyInterpreterFrame", 0)             \
    S(GEN,       "gen",           "PyGenObject",         1)             \
    S(CORO,      "coro",          "PyCoroObject",        1)             \
    S(RANGE,     "range",         "rangeobject",         1)             \
    S(SLICE,     "slice",         "PySliceObject",       1)             \
    S(MEMORYVIEW, "memoryview",   "PyMemoryViewObject",  1)             \
    S(MANAGEDBUF, "managedbuffer", "_PyManagedBufferObject", 1)         \
    S(DEQUE,     "deque",         "dequeobject",         1)             \
    S(DEFDICT,   "defaultdict",   "defdictobject",       1)             \
    S(ODICT,     "odict",         "_odictobject",        0)             \
    S(BUFFERED,  "buffered",      "buffered",            1)

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
    F(TSTATE_FRAME,            "tstate.frame",                TSTATE, "current_frame|frame", 0) \
    F(TSTATE_CFRAME,           "tstate.cframe",               TSTATE, "cframe", 0)  \
    F(CFRAME_CURRENT_FRAME,    "cframe.current_frame",        CFRAME, "current_frame", 0) \
    F(GC_SIZE,                 "gc.size",                     GC, NULL, 1)          \
    F(GC_GENERATIONS,          "gc.generations",              GC, "generations", 1) \
    F(GC_GENERATION0,          "gc.generation0",              GC, "generation0", 0) \
    F(GC_PERMANENT,            "gc.permanent_generation",     GC, "permanent_generation", 1) \
    F(GC_COLLECTING,           "gc.collecting",               GC, "collecting", 1)  \
    F(GC_VISITED_SPACE,        "gc.visited_space",            GC, "visited_space", 0) \
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
    F(HEAPTYPE_CACHED_KEYS,    "heaptype.ht_cached_keys",     HEAPTYPE, "ht_cached_keys", 1) \
    F(HEAPTYPE_MODULE,         "heaptype.ht_module",          HEAPTYPE, "ht_module", 0) \
    F(TYPE_MEMBERS,            "type.tp_members",             TYPE, "tp_members", 1) \
    F(TYPE_BASES,              "type.tp_bases",               TYPE, "tp_bases", 1)  \
    F(TYPE_CACHE,              "type.tp_cache",               TYPE, "tp_cache", 1)  \
    F(TYPE_SUBCLASSES,         "type.tp_subclasses",          TYPE, "tp_subclasses", 1) \
    F(LONG_DIGIT,              "long.ob_digit",               LONG, "long_value.ob_digit|ob_digit", 1) \
    F(LONG_TAG,                "long.lv_tag",                 LONG, "long_value.lv_tag", 0) \
    F(ASCII_SIZE,              "ascii.size",                  ASCII, NULL, 1)       \
    F(ASCII_LENGTH,            "ascii.length",                ASCII, "length", 1)   \
    F(ASCII_STATE,             "ascii.state",                 ASCII, "state", 1)    \
    F(ASCII_WSTR,              "ascii.wstr",                  ASCII, "wstr", 0)     \
    F(COMPACT_SIZE,            "compact.size",                COMPACT, NULL, 1)     \
    F(COMPACT_UTF8_LENGTH,     "compact.utf8_length",         COMPACT, "utf8_length", 1) \
    F(COMPACT_UTF8,            "compact.utf8",                COMPACT, "utf8", 1)   \
    F(COMPACT_WSTR_LENGTH,     "compact.wstr_length",         COMPACT, "wstr_length", 0) \
    F(UNICODE_SIZE,            "unicode.size",                UNICODE, NULL, 1)     \
    F(UNICODE_DATA,            "unicode.data",                UNICODE, "data", 1)   \
    F(BYTEARRAY_ALLOC,         "bytearray.ob_alloc",          BYTEARRAY, "ob_alloc", 1) \
    F(BYTEARRAY_BYTES_OBJECT,  "bytearray.ob_bytes_object",   BYTEARRAY, "ob_bytes_object", 0) \
    F(TUPLE_ITEM,              "tuple.ob_item",               TUPLE, "ob_item", 1)  \
    F(LIST_ITEM,               "list.ob_item",                LIST, "ob_item", 1)   \
    F(LIST_ALLOCATED,          "list.allocated",              LIST, "allocated", 1) \
    F(SET_MASK,                "set.mask",                    SET, "mask", 1)       \
    F(SET_TABLE,               "set.table",                   SET, "table", 1)      \
    F(SET_SMALLTABLE,          "set.smalltable",              SET, "smalltable", 1) \
    F(DICT_USED,               "dict.ma_used",                DICT, "ma_used", 1)   \
    F(DICT_KEYS,               "dict.ma_keys",                DICT, "ma_keys", 1)   \
    F(DICT_VALUES,             "dict.ma_values",              DICT, "ma_values", 1) \
    F(DICTKEYS_REFCNT,         "dictkeys.dk_refcnt",          DICTKEYS, "dk_refcnt", 1) \
    F(DICTKEYS_SIZE,           "dictkeys.dk_size",            DICTKEYS, "dk_size", 0) \
    F(DICTKEYS_LOG2_SIZE,      "dictkeys.dk_log2_size",       DICTKEYS, "dk_log2_size", 0) \
    F(DICTKEYS_LOG2_INDEX_BYTES, "dictkeys.dk_log2_index_bytes", DICTKEYS, "dk_log2_index_bytes", 0) \
    F(DICTKEYS_KIND,           "dictkeys.dk_kind",            DICTKEYS, "dk_kind", 0) \
    F(DICTKEYS_LOOKUP,         "dictkeys.dk_lookup",          DICTKEYS, "dk_lookup", 0) \
    F(DICTKEYS_USABLE,         "dictkeys.dk_usable",          DICTKEYS, "dk_usable", 1) \
    F(DICTKEYS_NENTRIES,       "dictkeys.dk_nentries",        DICTKEYS, "dk_nentries", 1) \
    F(DICTKEYS_INDICES,        "dictkeys.dk_indices",         DICTKEYS, "dk_indices", 1) \
    F(DICTVALUES_CAPACITY,     "dictvalues.capacity",         DICTVALUES, "capacity", 0) \
    F(DICTVALUES_VALID,        "dictvalues.valid",            DICTVALUES, "valid", 0) \
    F(DICTVALUES_VALUES,       "dictvalues.values",           DICTVALUES, "values", 0) \
    F(CODE_CODE,               "code.co_code",                CODE, "co_code", 0)   \
    F(CODE_CONSTS,             "code.co_consts",              CODE, "co_consts", 1) \
    F(CODE_NAMES,              "code.co_names",               CODE, "co_names", 1)  \
    F(CODE_VARNAMES,           "code.co_varnames",            CODE, "co_varnames", 0) \
    F(CODE_FREEVARS,           "code.co_freevars",            CODE, "co_freevars", 0) \
    F(CODE_CELLVARS,           "code.co_cellvars",            CODE, "co_cellvars", 0) \
    F(CODE_CELL2ARG,           "code.co_cell2arg",            CODE, "co_cell2arg", 0) \
    F(CODE_FILENAME,           "code.co_filename",            CODE, "co_filename", 1) \
    F(CODE_NAME,               "code.co_name",                CODE, "co_name", 1)   \
    F(CODE_QUALNAME,           "code.co_qualname",            CODE, "co_qualname", 0) \
    F(CODE_LINETABLE,          "code.co_linetable",           CODE, "co_linetable|co_lnotab", 1) \
    F(CODE_EXCEPTIONTABLE,     "code.co_exceptiontable",      CODE, "co_exceptiontable", 0) \
    F(CODE_LOCALSPLUSNAMES,    "code.co_localsplusnames",     CODE, "co_localsplusnames", 0) \
    F(CODE_LOCALSPLUSKINDS,    "code.co_localspluskinds",     CODE, "co_localspluskinds", 0) \
    F(CODE_NLOCALSPLUS,        "code.co_nlocalsplus",         CODE, "co_nlocalsplus", 0) \
    F(CODE_NLOCALS,            "code.co_nlocals",             CODE, "co_nlocals", 1) \
    F(CODE_STACKSIZE,          "code.co_stacksize",           CODE, "co_stacksize", 1) \
    F(CODE_EXTRA,              "code.co_extra",               CODE, "co_extra", 1)  \
    F(CODE_OPCACHE,            "code.co_opcache",             CODE, "co_opcache", 0) \
    F(CODE_OPCACHE_SIZE,       "code.co_opcache_size",        CODE, "co_opcache_size", 0) \
    F(CODE_CACHED_CODE,        "code._co_code",               CODE, "_co_code", 0)  \
    F(CODE_CACHED,             "code._co_cached",             CODE, "_co_cached", 0) \
    F(FUNC_CODE,               "func.func_code",              FUNC, "func_code", 1) \
    F(FUNC_GLOBALS,            "func.func_globals",           FUNC, "func_globals", 1) \
    F(FUNC_BUILTINS,           "func.func_builtins",          FUNC, "func_builtins", 0) \
    F(FUNC_NAME,               "func.func_name",              FUNC, "func_name", 1) \
    F(FUNC_QUALNAME,           "func.func_qualname",          FUNC, "func_qualname", 1) \
    F(FUNC_DEFAULTS,           "func.func_defaults",          FUNC, "func_defaults", 1) \
    F(FUNC_KWDEFAULTS,         "func.func_kwdefaults",        FUNC, "func_kwdefaults", 1) \
    F(FUNC_CLOSURE,            "func.func_closure",           FUNC, "func_closure", 1) \
    F(FUNC_DOC,                "func.func_doc",               FUNC, "func_doc", 1)  \
    F(FUNC_DICT,               "func.func_dict",              FUNC, "func_dict", 1) \
    F(FUNC_MODULE,             "func.func_module",            FUNC, "func_module", 1) \
    F(FUNC_ANNOTATIONS,        "func.func_annotations",       FUNC, "func_annotations", 1) \
    F(FUNC_ANNOTATE,           "func.func_annotate",          FUNC, "func_annotate", 0) \
    F(FUNC_TYPEPARAMS,         "func.func_typeparams",        FUNC, "func_typeparams", 0) \
    F(CELL_REF,                "cell.ob_ref",                 CELL, "ob_ref", 1)    \
    F(METHOD_FUNC,             "method.im_func",              METHOD, "im_func", 1) \
    F(METHOD_SELF,             "method.im_self",              METHOD, "im_self", 1) \
    F(CFUNC_SELF,              "cfunc.m_self",                CFUNC, "m_self", 1)   \
    F(CFUNC_MODULE,            "cfunc.m_module",              CFUNC, "m_module", 1) \
    F(CMETHOD_CLASS,           "cmethod.mm_class",            CMETHOD, "mm_class", 0) \
    F(CLASSMETHOD_CALLABLE,    "classmethod.cm_callable",     CLASSMETHOD, "cm_callable", 1) \
    F(CLASSMETHOD_DICT,        "classmethod.cm_dict",         CLASSMETHOD, "cm_dict", 0) \
    F(STATICMETHOD_CALLABLE,   "staticmethod.sm_callable",    STATICMETHOD, "sm_callable", 1) \
    F(STATICMETHOD_DICT,       "staticmethod.sm_dict",        STATICMETHOD, "sm_dict", 0) \
    F(PROPERTY_GET,            "property.prop_get",           PROPERTY, "prop_get", 1) \
    F(PROPERTY_SET,            "property.prop_set",           PROPERTY, "prop_set", 1) \
    F(PROPERTY_DEL,            "property.prop_del",           PROPERTY, "prop_del", 1) \
    F(PROPERTY_DOC,            "property.prop_doc",           PROPERTY, "prop_doc", 1) \
    F(PROPERTY_NAME,           "property.prop_name",          PROPERTY, "prop_name", 0) \
    F(DESCR_TYPE,              "descr.d_type",                DESCR, "d_type", 1)   \
    F(DESCR_NAME,              "descr.d_name",                DESCR, "d_name", 1)   \
    F(DESCR_QUALNAME,          "descr.d_qualname",            DESCR, "d_qualname", 1) \
    F(WEAKREF_CALLBACK,        "weakref.wr_callback",         WEAKREF, "wr_callback", 1) \
    F(MODULE_DICT,             "module.md_dict",              MODULE, "md_dict", 1) \
    F(MODULE_NAME,             "module.md_name",              MODULE, "md_name", 1) \
    F(MODULE_DEF,              "module.md_def",               MODULE, "md_def", 0)  \
    F(MODULE_STATE,            "module.md_state",             MODULE, "md_state", 0) \
    F(MODULE_STATE_SIZE,       "module.md_state_size",        MODULE, "md_state_size", 0) \
    F(MODULE_STATE_TRAVERSE,   "module.md_state_traverse",    MODULE, "md_state_traverse", 0) \
    F(MODULEDEF_SIZE,          "moduledef.m_size",            MODULEDEF, "m_size", 0) \
    F(MODULEDEF_TRAVERSE,      "moduledef.m_traverse",        MODULEDEF, "m_traverse", 0) \
    F(FRAME_SIZE,              "frame.size",                  FRAME, NULL, 1)       \
    F(FRAME_BACK,              "frame.f_back",                FRAME, "f_back", 1)   \
    F(FRAME_TRACE,             "frame.f_trace",               FRAME, "f_trace", 1)  \
    F(FRAME_CODE,              "frame.f_code",                FRAME, "f_code", 0)   \
    F(FRAME_BUILTINS,          "frame.f_builtins",            FRAME, "f_builtins", 0) \
    F(FRAME_GLOBALS,           "frame.f_globals",             FRAME, "f_globals", 0) \
    F(FRAME_LOCALS,            "frame.f_locals",              FRAME, "f_locals", 0) \
    F(FRAME_VALUESTACK,        "frame.f_valuestack",          FRAME, "f_valuestack", 0) \
    F(FRAME_STACKTOP,          "frame.f_stacktop",            FRAME, "f_stacktop", 0) \
    F(FRAME_STACKDEPTH,        "frame.f_stackdepth",          FRAME, "f_stackdepth", 0) \
    F(FRAME_LOCALSPLUS,        "frame.f_localsplus",          FRAME, "f_localsplus", 0) \
    F(FRAME_FRAME,             "frame.f_frame",               FRAME, "f_frame", 0)  \
    F(FRAME_DATA,              "frame._f_frame_data",         FRAME, "_f_frame_data", 0) \
    F(FRAME_EXTRA_LOCALS,      "frame.f_extra_locals",        FRAME, "f_extra_locals", 0) \
    F(FRAME_LOCALS_CACHE,      "frame.f_locals_cache",        FRAME, "f_locals_cache", 0) \
    F(IFRAME_CODE,             "iframe.f_code",               IFRAME, "f_executable|f_code", 0) \
    F(IFRAME_PREVIOUS,         "iframe.previous",             IFRAME, "previous", 0) \
    F(IFRAME_FUNC,             "iframe.f_func",               IFRAME, "f_funcobj|f_func", 0) \
    F(IFRAME_LOCALS,           "iframe.f_locals",             IFRAME, "f_locals", 0) \
    F(IFRAME_FRAME_OBJ,        "iframe.frame_obj",            IFRAME, "frame_obj", 0) \
    F(IFRAME_STACKTOP,         "iframe.stacktop",             IFRAME, "stacktop", 0) \
    F(IFRAME_STACKPOINTER,     "iframe.stackpointer",         IFRAME, "stackpointer", 0) \
    F(IFRAME_OWNER,            "iframe.owner",                IFRAME, "owner", 0)   \
    F(IFRAME_LOCALSPLUS,       "iframe.localsplus",           IFRAME, "localsplus", 0) \
    F(GEN_FRAME,               "gen.gi_frame",                GEN, "gi_frame", 0)   \
    F(GEN_CODE,                "gen.gi_code",                 GEN, "gi_code", 0)    \
    F(GEN_NAME,                "gen.gi_name",                 GEN, "gi_name", 1)    \
    F(GEN_QUALNAME,            "gen.gi_qualname",             GEN, "gi_qualname", 1) \
    F(GEN_EXC_TYPE,            "gen.exc_type",                GEN, "gi_exc_state.exc_type", 0) \
    F(GEN_EXC_VALUE,           "gen.exc_value",               GEN, "gi_exc_state.exc_value", 1) \
    F(GEN_EXC_TRACEBACK,       "gen.exc_traceback",           GEN, "gi_exc_state.exc_traceback", 0) \
    F(GEN_ORIGIN_OR_FINALIZER, "gen.gi_origin_or_finalizer",  GEN, "gi_origin_or_finalizer", 0) \
    F(GEN_FRAME_STATE,         "gen.gi_frame_state",          GEN, "gi_frame_state", 0) \
    F(GEN_IFRAME,              "gen.gi_iframe",               GEN, "gi_iframe", 0)  \
    F(CORO_ORIGIN,             "coro.cr_origin",              CORO, "cr_origin", 0) \
    F(RANGE_START,             "range.start",                 RANGE, "start", 1)    \
    F(RANGE_STOP,              "range.stop",                  RANGE, "stop", 1)     \
    F(RANGE_STEP,              "range.step",                  RANGE, "step", 1)     \
    F(RANGE_LENGTH,            "range.length",                RANGE, "length", 1)   \
    F(SLICE_START,             "slice.start",                 SLICE, "start", 1)    \
    F(SLICE_STOP,              "slice.stop",                  SLICE, "stop", 1)     \
    F(SLICE_STEP,              "slice.step",                  SLICE, "step", 1)     \
    F(MEMORYVIEW_MBUF,         "memoryview.mbuf",             MEMORYVIEW, "mbuf", 1) \
    F(MANAGEDBUF_OBJ,          "managedbuffer.master_obj",    MANAGEDBUF, "master.obj", 1) \
    F(DEQUE_LEFTBLOCK,         "deque.leftblock",             DEQUE, "leftblock", 1) \
    F(DEQUE_LEFTINDEX,         "deque.leftindex",             DEQUE, "leftindex", 1) \
    F(DEFDICT_FACTORY,         "defaultdict.default_factory", DEFDICT, "default_factory", 1) \
    F(ODICT_FIRST,             "odict.od_first",              ODICT, "od_first", 1) \
    F(ODICT_FAST_NODES_SIZE,   "odict.od_fast_nodes_size",    ODICT, "od_fast_nodes_size", 1) \
    F(ODICT_INST_DICT,         "odict.od_inst_dict",          ODICT, "od_inst_dict", 1) \
    F(BUFFERED_BUFFER,         "buffered.buffer",             BUFFERED, "buffer", 0) \
    F(BUFFERED_BUFFER_SIZE,    "buffered.buffer_size",        BUFFERED, "buffer_size", 0)

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

/* The names of every bundled table for version_hex's major.minor, the one
 * offsets_bundled picks first, then the others: earlier patch ranges and
 * variants named M.m[.p]-TAG (e.g. 3.14.0-incremental-gc: a layout some
 * patch releases had, told apart only by _Py_DebugOffsets). At most cap
 * names; returns how many. Cannot fail. */
size_t offsets_bundled_candidates(uint64_t version_hex, const char **names, size_t cap);

/* Load the bundled table called name (as listed by the function above). */
enum phs_status offsets_bundled_named(const char *name, struct py_offsets *o, struct phs_error *err);

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

/* offsets_compare without the sizes of the runtime, interpreter and thread
 * state structs: build options (3.15's JIT) and patch releases (a 3.13
 * thread state is 304 bytes in 3.13.5, 312 in 3.13.18) change those
 * without moving a field we read, and none is used to read anything.
 * Used to tell whether a table fits a build's _Py_DebugOffsets. */
int offsets_disagree(const struct py_offsets *a, const struct py_offsets *b, char *out, size_t cap);

/* ---- the cache of tables read from DWARF ----------------------------------- */

/* Where the cache lives, into dir: $PYHEAPSCOPE_CACHE_DIR (empty: no
 * cache), else $XDG_CACHE_HOME/pyheapscope, else ~/.cache/pyheapscope.
 * Returns 0 (dir "") when there is none. Cannot fail otherwise. */
int offsets_cache_dir(char *dir, size_t cap);

/* This program's own build-id in hex ("" if it has none, which turns the
 * cache off): an entry is trusted only by the build that made it. */
void offsets_cache_tool_id(char *out, size_t cap);

/* The table cached in dir for the ELF file of build_id, made by the
 * pyheapscope build tool, for Python major.minor: 1 and o (source DWARF,
 * origin saying it came from the cache) and debug_file (where the DWARF
 * was read) if there is one whose checksum holds, that only our user can
 * write, and that passes offsets_validate; else 0 (o undefined). Never
 * reads target memory. */
int offsets_cache_load(const char *dir, const char *tool, const char *build_id, unsigned major,
                       unsigned minor, struct py_offsets *o, char *debug_file, size_t debug_cap);

/* Write o, read from DWARF in debug_file, as the entry for build_id,
 * creating dir (mode 0700) if needed: whole or not at all (written aside,
 * then renamed). Failures are ignored: the cache is only a shortcut. */
void offsets_cache_store(const char *dir, const char *tool, const char *build_id, const struct py_offsets *o,
                         const char *debug_file);

/* ---- choosing a source ---------------------------------------------------- */

struct offsets_request {
    const char *elf_path;        /* the ELF file holding _PyRuntime, as we can open it */
    const char *debuginfo_path;  /* NULL: default search path */
    struct memsrc *mem;          /* for _Py_DebugOffsets */
    uint64_t runtime_addr;
    uint64_t version_hex;
    enum offsets_source force;   /* OFFSETS_NONE: best available */
    const char *offsets_file;    /* with force == OFFSETS_FILE */
    const char *build_id;        /* of elf_path, hex: the cache's key ("" or NULL: no cache) */
    const char *cache_dir;       /* offsets_cache_dir ("" or NULL: no cache) */
};

/* Pick the offsets for a target: DWARF (from the cache when it has the
 * build, and then cached when read), then _Py_DebugOffsets (3.13+, the
 * fields it lacks taken from the bundled table), then the bundled table;
 * or only the forced source (a forced DWARF is read, never cached). The
 * result has passed offsets_validate. notes receives why better sources
 * were passed over and the result of cross-checking DWARF against
 * _Py_DebugOffsets. debug_file receives where DWARF was found ("" if not
 * used). Reads target memory for _Py_DebugOffsets only. */
enum phs_status offsets_choose(const struct offsets_request *rq, struct py_offsets *out,
                               char *debug_file, size_t debug_cap, char *notes, size_t notes_cap,
                               struct phs_error *err);

#endif
