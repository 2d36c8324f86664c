/* layout.c - the per-version rules of layout.h, as one table. Each row was
 * checked against the version's sources and a live interpreter
 * (shared/design/cpython-internals.md sections 4, 6.9 and 6.13). */
#include "pyheapscope/layout.h"

#include <stddef.h>

/* ctypes' StgDictObject (3.7-3.12, the same in all: DWARF of _ctypes) and
 * StgInfo (3.13 by DWARF; 3.14 and 3.15 read through ctypes itself: a
 * `PyObject *pointer_type` after checker moves module and what follows by
 * 8). */
static const struct ctypes_layout ctypes_stgdict = {
    CTI_STGDICT, 192, 192 - 48, -1, 64, 88, 168, 176,
    {{"proto", 96}, {"argtypes", 128}, {"converters", 136}, {"restype", 144}, {"checker", 152}},
};
static const struct ctypes_layout ctypes_stginfo_313 = {
    CTI_TYPE_DATA, 160, 0, 0, 24, 48, 136, 144,
    {{"proto", 56}, {"argtypes", 88}, {"converters", 96}, {"restype", 104}, {"checker", 112}, {"module", 120}},
};
static const struct ctypes_layout ctypes_stginfo_314 = {
    CTI_TYPE_DATA, 176, 0, 0, 24, 48, 144, 152,
    {{"proto", 56}, {"argtypes", 88}, {"converters", 96}, {"restype", 104}, {"checker", 112},
     {"pointer_type", 120}, {"module", 128}},
};

static const struct py_layout layouts[] = {
    /* minor  getsizeof header           instance attributes  cleared tagged owner int-digits
     *   dict presize rounds over below (3.10's calculate_log2_keysize, fixed in 3.13.4 and 3.14.0b2)
     *   SimpleQueue's items, BytesIO's buffer traversed, ctypes' type descriptions,
     *   _pickle's Pickler.output_buffer */
    {7,  HDR_IF_OBJECT_IS_GC,      IDICT_DICTOFFSET,    0, 0, 0, 0, 0,           SQ_LIST,       0, &ctypes_stgdict, 56},
    {8,  HDR_IF_OBJECT_IS_GC,      IDICT_DICTOFFSET,    0, 0, 0, 0, 0,           SQ_LIST,       0, &ctypes_stgdict, 64},
    {9,  HDR_IF_OBJECT_IS_GC,      IDICT_DICTOFFSET,    0, 0, 0, 0, 0,           SQ_LIST,       0, &ctypes_stgdict, 64},
    {10, HDR_IF_OBJECT_IS_GC,      IDICT_DICTOFFSET,    0, 0, 0, 0, 0xffffffffu, SQ_LIST,       0, &ctypes_stgdict, 64},
    {11, HDR_TYPE_FLAGS_DICT,      IDICT_VALUES_BELOW,  4, 0, 2, 1, 0xffffffffu, SQ_LIST,       0, &ctypes_stgdict, 64},
    {12, HDR_TYPE_FLAGS_PREHEADER, IDICT_TAGGED_BELOW,  4, 0, 2, 1, 0xffffffffu, SQ_LIST,       1, &ctypes_stgdict, 64},
    {13, HDR_STATIC_TYPES_BARE,    IDICT_INLINE_VALUES, 4, 0, 2, 1, 0x030d0400u, SQ_RING,       1, &ctypes_stginfo_313, 56},
    {14, HDR_STATIC_TYPES_BARE,    IDICT_INLINE_VALUES, 4, 1, 2, 1, 0x030e00b2u, SQ_RING,       1, &ctypes_stginfo_314, 56},
    {15, HDR_STATIC_TYPES_BARE,    IDICT_INLINE_VALUES, 5, 1, 2, 1, 0,           SQ_RING_SIZED, 1, &ctypes_stginfo_314, 56},
};

const struct py_layout *py_layout_for(unsigned major, unsigned minor)
{
    if (major != 3)
        return NULL;
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
        if (layouts[i].minor == minor)
            return &layouts[i];
    return NULL;
}

/* Read from DWARF of _pickle for 3.7-3.13.0, and from live Unpicklers of
 * the releases named, where getsizeof checked every field. */
static const struct unpickler_layout unpicklers[] = {
    /* minors  basicsize  input_line encoding errors marks marks_size */
    {7, 7,     256,       152,       208,     216,   224,  240},   /* 3.7 */
    {8, 14,    272,       152,       224,     232,   240,  256},   /* 3.8-3.12, Ubuntu's 3.12.3, 3.13.5, 3.13.7 */
    {14, 14,   280,       152,       224,     232,   240,  256},   /* 3.14.4 */
    {13, 13,   264,       144,       216,     224,   232,  248},   /* 3.13.0 */
    {13, 14,   296,       152,       240,     248,   256,  272},   /* 3.13.15, 3.13.18, 3.14.8, 3.14.10 */
    {15, 15,   304,       160,       248,     256,   264,  280},   /* 3.15.2 */
};

const struct unpickler_layout *py_unpickler_layout(unsigned minor, int64_t basicsize)
{
    for (size_t i = 0; i < sizeof unpicklers / sizeof unpicklers[0]; i++)
        if (minor >= unpicklers[i].minor_from && minor <= unpicklers[i].minor_to &&
            basicsize == unpicklers[i].basicsize)
            return &unpicklers[i];
    return NULL;
}
