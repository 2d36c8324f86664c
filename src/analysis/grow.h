/* grow.h - resizing the plain arrays the dump readers fill. Private to
 * src/analysis/. */
#ifndef PYHEAPSCOPE_ANALYSIS_GROW_H
#define PYHEAPSCOPE_ANALYSIS_GROW_H

#include <stdint.h>
#include <stdlib.h>

/* Grow the array *arr (any pointer type, passed by address) to cap elements
 * of elem bytes; 0, or -1 leaving it as it was (out of memory, or a size
 * that does not fit). */
static inline int grow(void *arr, size_t cap, size_t elem)
{
    void **p = arr;
    if (elem && cap > SIZE_MAX / elem)
        return -1;
    void *n = realloc(*p, cap * elem);
    if (!n)
        return -1;
    *p = n;
    return 0;
}

/* The capacity that holds need elements: cap (first if 0), doubled as
 * often as it takes. */
static inline size_t grown_cap(size_t cap, size_t need, size_t first)
{
    if (!cap)
        cap = first;
    while (cap < need)
        cap *= 2;
    return cap;
}

#endif
