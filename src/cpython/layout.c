/* layout.c - the per-version rules of layout.h, as one table. Each row was
 * checked against the version's sources and a live interpreter
 * (shared/design/cpython-internals.md sections 4, 6.9 and 6.13). */
#include "pyheapscope/layout.h"

#include <stddef.h>

static const struct py_layout layouts[] = {
    /* minor  getsizeof header           instance attributes  cleared tagged owner int-digits
     *   dict presize rounds over below (3.10's calculate_log2_keysize, fixed in 3.13.4 and 3.14.0b2)
     *   SimpleQueue's items, BytesIO's buffer traversed */
    {7,  HDR_IF_OBJECT_IS_GC,      IDICT_DICTOFFSET,    0, 0, 0, 0, 0,           SQ_LIST,       0},
    {8,  HDR_IF_OBJECT_IS_GC,      IDICT_DICTOFFSET,    0, 0, 0, 0, 0,           SQ_LIST,       0},
    {9,  HDR_IF_OBJECT_IS_GC,      IDICT_DICTOFFSET,    0, 0, 0, 0, 0,           SQ_LIST,       0},
    {10, HDR_IF_OBJECT_IS_GC,      IDICT_DICTOFFSET,    0, 0, 0, 0, 0xffffffffu, SQ_LIST,       0},
    {11, HDR_TYPE_FLAGS_DICT,      IDICT_VALUES_BELOW,  4, 0, 2, 1, 0xffffffffu, SQ_LIST,       0},
    {12, HDR_TYPE_FLAGS_PREHEADER, IDICT_TAGGED_BELOW,  4, 0, 2, 1, 0xffffffffu, SQ_LIST,       1},
    {13, HDR_STATIC_TYPES_BARE,    IDICT_INLINE_VALUES, 4, 0, 2, 1, 0x030d0400u, SQ_RING,       1},
    {14, HDR_STATIC_TYPES_BARE,    IDICT_INLINE_VALUES, 4, 1, 2, 1, 0x030e00b2u, SQ_RING,       1},
    {15, HDR_STATIC_TYPES_BARE,    IDICT_INLINE_VALUES, 5, 1, 2, 1, 0,           SQ_RING_SIZED, 1},
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
