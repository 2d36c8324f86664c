/* addrindex.c - slices over an ascending array of addresses (addrindex.h).
 * The slices are as many as the elements at most, so the index costs at
 * most 4 bytes an element; addresses cluster (arenas, pools), so a slice
 * may hold many elements, which its bisection then finds. */
#define _GNU_SOURCE                /* qsort_r */
#include "pyheapscope/addrindex.h"

#include <stdlib.h>

int addr_index_build(struct addr_index *ix, const uint64_t *addr, size_t n)
{
    *ix = (struct addr_index){.addr = addr, .n = n};
    if (n == 0 || n > UINT32_MAX)
        return 0;
    uint64_t span = addr[n - 1] - addr[0];
    unsigned shift = 0;
    while ((span >> shift) >= n)
        shift++;
    size_t nslices = (size_t)(span >> shift) + 2;
    uint32_t *slice = malloc(nslices * sizeof *slice);
    if (!slice)
        return -1;
    size_t v = 0;
    for (size_t s = 0; s < nslices; s++) {
        while (v < n && ((addr[v] - addr[0]) >> shift) < s)
            v++;
        slice[s] = (uint32_t)v;
    }
    ix->slice = slice;
    ix->nslices = nslices;
    ix->shift = shift;
    return 0;
}

size_t addr_index_find(const struct addr_index *ix, uint64_t addr)
{
    size_t lo = 0, hi = ix->n;
    if (ix->slice) {
        if (addr < ix->addr[0])
            return ADDR_INDEX_NONE;
        uint64_t s = (addr - ix->addr[0]) >> ix->shift;
        if (s + 1 >= ix->nslices)
            return ADDR_INDEX_NONE;
        lo = ix->slice[s];
        hi = ix->slice[s + 1];
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->addr[mid] < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && ix->addr[lo] == addr ? lo : ADDR_INDEX_NONE;
}

void addr_index_free(struct addr_index *ix)
{
    free(ix->slice);
    *ix = (struct addr_index){0};
}

static int by_addr(const void *a, const void *b, void *arg)
{
    const uint64_t *addr = arg;
    uint64_t x = addr[*(const uint32_t *)a], y = addr[*(const uint32_t *)b];
    return x < y ? -1 : x > y;
}

void addr_order(const uint64_t *addr, size_t n, uint32_t *order)
{
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, n, sizeof *order, by_addr, (void *)addr);
}
