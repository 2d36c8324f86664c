/* histogram.h - the heap grouped by kind, as guppy3's heap() and
 * `jmap -histo` show it: one row per kind with its count and bytes.
 *
 * Analysis layer: works on a struct heap, reads no target memory, prints
 * nothing. A kind is the type's name, except that an instance's __dict__
 * is "dict of KIND" (KIND being the owner's kind), like guppy3. */
#ifndef PYHEAPSCOPE_HISTOGRAM_H
#define PYHEAPSCOPE_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapscope/error.h"
#include "pyheapscope/heap.h"

struct histo_row {
    char *kind;
    uint64_t count;
    uint64_t bytes;           /* sum of sys.getsizeof */
    uint64_t extra_bytes;     /* owned bytes sys.getsizeof leaves out */
    uint64_t gc_objects;      /* how many were on a collector list */
    uint64_t permanent;       /* ... on the permanent generation */
};

struct histogram {
    struct histo_row *rows;
    size_t n;
    uint64_t count, bytes, extra_bytes;
};

enum histo_sort { HISTO_BY_SIZE, HISTO_BY_COUNT };

/* Group h by kind. PHS_INTERNAL on out-of-memory. */
enum phs_status histogram_build(const struct heap *h, struct histogram *out, struct phs_error *err);

/* Largest first (ties by name, so the order is stable). */
void histogram_sort(struct histogram *hg, enum histo_sort by);

void histogram_done(struct histogram *hg);

/* Up to max objects of kind `kind`, largest first, into out (found again
 * by heap_each: one sweep of the heap). Returns how many. Cannot fail. */
size_t histogram_largest(struct heap *h, const char *kind, struct heap_object *out, size_t max);

#endif
