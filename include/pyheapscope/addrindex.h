/* addrindex.h - finding an address in an ascending array of addresses (a
 * dump's objects) in a few steps: the span of the addresses is cut into at
 * most n equal slices, and each slice knows its first element, so a search
 * bisects one slice instead of the whole array. Analysis layer; plain
 * arrays, no files, no processes. */
#ifndef PYHEAPSCOPE_ADDRINDEX_H
#define PYHEAPSCOPE_ADDRINDEX_H

#include <stddef.h>
#include <stdint.h>

#define ADDR_INDEX_NONE SIZE_MAX

struct addr_index {
    const uint64_t *addr;        /* borrowed, ascending */
    size_t n;
    uint32_t *slice;             /* first element of each slice; NULL: bisect all */
    size_t nslices;
    unsigned shift;              /* an address's slice: (addr - addr[0]) >> shift */
};

/* Index addr[0..n) (ascending, at most UINT32_MAX elements; kept, not
 * copied). -1 on out-of-memory, and ix then still finds, by bisecting all. */
int addr_index_build(struct addr_index *ix, const uint64_t *addr, size_t n);

/* The position of addr in the array, or ADDR_INDEX_NONE. */
size_t addr_index_find(const struct addr_index *ix, uint64_t addr);

void addr_index_free(struct addr_index *ix);

/* order[0..n) = 0, 1, ... n-1 sorted so that addr[order[i]] ascend: the
 * order of addresses that came unsorted (n at most UINT32_MAX). */
void addr_order(const uint64_t *addr, size_t n, uint32_t *order);

#endif
