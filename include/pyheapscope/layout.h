/* layout.h - the per-version rules that are not field offsets.
 *
 * Offsets say where a field is; a few things change between versions in
 * ways no offset can say: which header bytes sys.getsizeof adds, where an
 * instance keeps its attributes, how frame slots are tagged, which
 * generator state means "frame gone". They live here, in one table keyed
 * by minor version (src/cpython/layout.c), next to the constants of
 * structs that never changed. Code above reads these, never a version. */
#ifndef PYHEAPSCOPE_LAYOUT_H
#define PYHEAPSCOPE_LAYOUT_H

#include <stdint.h>

/* What sys.getsizeof adds to __sizeof__() (cpython-internals.md 4.3). */
enum sizeof_header_rule {
    HDR_IF_OBJECT_IS_GC,      /* <=3.10: GC header if PyObject_IS_GC(o) */
    HDR_TYPE_FLAGS_DICT,      /* 3.11: by the type's flags; +16 for MANAGED_DICT */
    HDR_TYPE_FLAGS_PREHEADER, /* 3.12: by the type's flags; +16 for either pre-header flag */
    HDR_STATIC_TYPES_BARE,    /* 3.13+: as 3.12, but nothing for static types of metaclass type */
};

/* Where an instance of a class keeps its attributes (4.2, 6.9). */
enum instance_dict_scheme {
    IDICT_DICTOFFSET,         /* <=3.10: a dict pointer at tp_dictoffset */
    IDICT_VALUES_BELOW,       /* 3.11: dict at obj-24, else values array at obj-32 */
    IDICT_TAGGED_BELOW,       /* 3.12: obj-24 is a dict, or values-1 with bit 0 set */
    IDICT_INLINE_VALUES,      /* 3.13+: values inline after the object, dict at obj-24 */
};

/* How _queue.SimpleQueue keeps its items. */
enum simplequeue_scheme {
    SQ_LIST,                  /* <=3.12: a list at SQ_LIST_LST */
    SQ_RING,                  /* 3.13+: a ring buffer of its own (RingBuf) */
    SQ_RING_SIZED,            /* 3.15+: as 3.13, and __sizeof__ counts the buffer */
};

/* Where ctypes keeps the C description of a ctypes type, and the offsets
 * in it of what the description's __sizeof__ adds: its PEP 3118 format
 * string (strlen + 1), ndim words of shape, and, where the ffi_type has
 * an elements array, (length + 1) pointers. */
enum ctypes_info_home {
    CTI_STGDICT,              /* <=3.12: the type's __dict__ is a StgDict (a dict subclass) */
    CTI_TYPE_DATA,            /* 3.13+: a StgInfo in the type object, after `type`'s part (16-aligned);
                                 the metatypes' __sizeof__ replaces type.__sizeof__ */
};

#define CTYPES_MAX_OBJECTS 7
struct ctypes_layout {
    enum ctypes_info_home home;
    int64_t end;              /* the description's size (StgDict: the whole object) */
    int64_t counted_twice;    /* StgDict: sizeof(StgDictObject) - sizeof(PyDictObject), which its
                                 __sizeof__ adds to a dict size already taken at tp_basicsize */
    int64_t initialized;      /* StgInfo: int, 0 until the type is set up (no description yet); -1: none */
    int64_t length, elements, format, ndim;
    /* Its PyObject * fields. The rest are C pointers (format, shape, ffi
     * elements) to blocks whose stale words can look like an object's
     * header: the description is never scanned for pointers. */
    struct {
        const char *name;
        int64_t off;
    } objects[CTYPES_MAX_OBJECTS];
};

/* _pickle's Unpickler, whose __sizeof__ counts its memo and mark arrays
 * and three C strings, held outside the object. Its fields after the memo
 * moved between minor versions and between patch releases of one (3.13.0
 * and 3.13.5 differ, 3.14.4 and 3.14.8), each time changing the object's
 * size: a layout is known by its minor version and tp_basicsize. */
struct unpickler_layout {
    unsigned minor_from, minor_to;
    int64_t basicsize;
    int64_t input_line, encoding, errors, marks, marks_size;
};

/* The Unpickler layout of 3.minor whose objects are basicsize bytes, or
 * NULL if none is known (then only the object is counted). */
const struct unpickler_layout *py_unpickler_layout(unsigned minor, int64_t basicsize);

struct py_layout {
    unsigned minor;
    enum sizeof_header_rule header_rule;
    enum instance_dict_scheme idict;
    int gen_frame_cleared;    /* gi_frame_state at and above which the embedded frame is dead */
    int stackref_tagged;      /* 3.14+: frame slots are _PyStackRef words */
    int frame_owned_by_frame_object; /* _PyInterpreterFrame.owner value */
    int int_min_digits;       /* int.__sizeof__ counts at least this many digits (0, or 1 from 3.11) */
    uint32_t dict_presize_rounds_over; /* below this PY_VERSION_HEX, presizing a dict (dict(d)) may
                                          take one power of two more than it needs (gh-133703) */
    enum simplequeue_scheme simplequeue;
    int bytesio_buf_traversed;    /* 3.12+: io.BytesIO's tp_traverse visits its buffer (a bytes
                                     object then, not part of the BytesIO) */
    const struct ctypes_layout *ctypes;
    int64_t pickler_output_buffer;  /* _pickle's PicklerObject.output_buffer: 3.8 added reducer_override
                                       before it, 3.13 merged pers_func and pers_func_self (DWARF) */
};

/* Flags of tp_flags the walk reads (cpython-internals.md 5.5). */
#define TPF_INLINE_VALUES   (1ul << 2)
#define TPF_MANAGED_WEAKREF (1ul << 3)
#define TPF_MANAGED_DICT    (1ul << 4)
#define TPF_HEAPTYPE        (1ul << 9)
#define TPF_READY           (1ul << 12)
#define TPF_HAVE_GC         (1ul << 14)
#define TPF_TYPE_SUBCLASS   (1ul << 31)

/* Structs that have not changed from 3.7 to 3.15. */
#define MEMBERDEF_SIZE        40     /* PyMemberDef {name, type, offset, flags, doc} */
#define MEMBERDEF_TYPE        8
#define MEMBERDEF_OFFSET      16
#define MEMBER_T_OBJECT       6
#define MEMBER_T_OBJECT_EX    16
#define MANAGED_DICT_OFFSET   (-24)  /* 3.11+ pre-header words */
#define MANAGED_VALUES_OFFSET (-32)  /* 3.11 only */
#define DEQUE_BLOCKLEN        64     /* block {leftlink, data[64], rightlink} */
#define DEQUE_BLOCK_SIZE      528
#define DEQUE_BLOCK_RIGHTLINK 520
#define ODICT_NODE_SIZE       32     /* _odictnode {key, hash, next, prev} */
#define SETENTRY_SIZE         16     /* setentry {key, hash} */
#define DICT_ENTRY_GENERAL    24     /* PyDictKeyEntry {hash, key, value} */
#define DICT_ENTRY_UNICODE    16     /* PyDictUnicodeEntry {key, value} (3.11+) */
#define CODE_EXTRA_HEADER     16     /* _PyCodeObjectExtra {ce_size, ce_extras[1]} */
#define CO_CACHED_WORDS       4      /* _PyCoCached {_co_code, _co_varnames, _co_cellvars, _co_freevars} */
#define ARRAY_ITEMS           24     /* arrayobject {VAR_HEAD, ob_item, allocated, ob_descr, ...} */
#define ARRAY_ALLOCATED       32
#define ARRAY_DESCR           40
#define ARRAYDESCR_ITEMSIZE   4      /* struct arraydescr {char typecode; int itemsize; ...} */
#define OPCACHE_ENTRY_SIZE    32     /* _PyOpcache, 3.8-3.10 */
#define FLOAT_VALUE           16     /* PyFloatObject.ob_fval */
#define ELEMENT_TAG           16     /* _elementtree's ElementObject {HEAD, tag, text, tail, extra, weakreflist} */
#define ELEMENT_TEXT          24     /* text and tail: bit 0 is the "join" flag, not part of the pointer */
#define ELEMENT_TAIL          32
#define ELEMENT_EXTRA         40
#define ELEMENT_EXTRA_SIZE    64     /* ElementObjectExtra {attrib, length, allocated, children, _children[4]} */
#define ELEMENT_EXTRA_ATTRIB  0
#define ELEMENT_EXTRA_LENGTH  8
#define ELEMENT_EXTRA_ALLOCATED 16
#define ELEMENT_EXTRA_CHILDREN 24
#define ELEMENT_EXTRA_STATIC  32
#define STRUCT_CODES          32     /* _struct's PyStructObject {HEAD, s_size, s_len, s_codes, s_format, weakreflist} */
#define STRUCT_FORMAT         40
#define STRUCT_SIZE           56
#define STRUCT_CODE_SIZE      32     /* formatcode {fmtdef, offset, size, repeat} */
#define SQ_LIST_LST           32     /* <=3.12 simplequeueobject {HEAD, lock, locked, lst, lst_pos, weakreflist} */
#define SQ_RING_GET           32     /* 3.13+ {HEAD, has_threads_waiting, RingBuf {put_idx, get_idx, */
#define SQ_RING_ITEMS         40     /*        items, items_cap, num_items}, weakreflist} */
#define SQ_RING_CAP           48
#define SQ_RING_COUNT         56
#define BYTESIO_BUF           16     /* bytesio {HEAD, buf, pos, string_size, dict, weakreflist, exports} */
#define DECIMAL_FLAGS         24     /* PyDecObject {HEAD, hash, mpd_t {uint8 flags, exp, digits, len, */
#define DECIMAL_ALLOC         56     /*              alloc, data}, data[4]}, the same 3.7-3.15 */
#define DECIMAL_DATAFLAGS     0xe0   /* MPD_STATIC_DATA | MPD_SHARED_DATA | MPD_CONST_DATA: not its own */
/* itertools' combinatoric iterators, the same 3.7-3.15: combinations and
 * combinations_with_replacement {HEAD, pool, indices, result, r, stopped},
 * permutations {HEAD, pool, indices, cycles, result, r, stopped}, product
 * {HEAD, pools, indices, result, stopped}. Their indices (and cycles) are
 * C arrays, r words (permutations: len(pool) + r; product: len(pools)). */
#define ITER_POOL             16
#define ITER_COMB_RESULT      32
#define ITER_COMB_R           40
#define ITER_PERM_RESULT      40
#define ITER_PERM_R           48
#define ITER_PRODUCT_RESULT   32
#define PICKLER_MEMO          16     /* PicklerObject {HEAD, memo, ...}: a PyMemoTable */
#define MEMOTABLE_SIZE        32     /* PyMemoTable {mask, used, allocated, table} */
#define MEMOTABLE_ALLOCATED   16
#define MEMOENTRY_SIZE        16     /* PyMemoEntry {key, value} */
#define UNPICKLER_MEMO        24     /* UnpicklerObject {HEAD, stack, memo, memo_size, ...} */
#define UNPICKLER_MEMO_SIZE   32
#define PY_BUFFER_SIZE        80     /* Py_buffer {buf, obj, len, itemsize, readonly, ndim, format, shape,
                                        strides, suboffsets, internal}; the Unpickler's is just before
                                        input_buffer, which is just before input_line */
/* numpy's ndarray (PyArrayObject_fields, the same in numpy 1.7-2.x) and its
 * dtype (PyArray_Descr), whose fields after type_num differ: 1.x has
 * {char flags at 27; int elsize, alignment}, 2.x {u64 flags; intp elsize,
 * alignment}. */
#define NDARRAY_DATA          16
#define NDARRAY_ND            24
#define NDARRAY_DIMS          32
#define NDARRAY_BASE          48
#define NDARRAY_DESCR         56
#define NDARRAY_FLAGS         64
#define NDARRAY_WEAKREFLIST   72
#define NDARRAY_OWNDATA       0x4
#define NDARRAY_MAXDIMS       64
#define NPDESCR_TYPE_NUM      28
#define NPDESCR_FLAGS_1       27     /* char */
#define NPDESCR_ELSIZE_1      32     /* int, then int alignment */
#define NPDESCR_FLAGS_2       32     /* npy_uint64 */
#define NPDESCR_ELSIZE_2      40     /* npy_intp, then npy_intp alignment */
#define NPY_OBJECT            17
#define NPY_ITEM_REFCOUNT     0x1    /* the items hold references */

/* The rules for CPython 3.minor; NULL outside 3.7-3.15. */
const struct py_layout *py_layout_for(unsigned major, unsigned minor);

#endif
