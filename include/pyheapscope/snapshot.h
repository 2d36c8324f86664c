/* snapshot.h - a local copy of the target's writable memory.
 *
 * The walk needs a consistent heap, and the target must stop for as short a
 * time as possible (shared/design/limits.md: ~0.2 s per GiB into a buffer
 * that is already faulted in, three times that into a fresh one). So the
 * snapshot is taken in two steps: snapshot_prepare() picks the mappings and
 * faults in one reused buffer while the target still runs; snapshot_copy()
 * does nothing but bulk reads and is what runs while the target is paused.
 * Afterwards the snapshot is a memory source: reads inside copied mappings
 * are served from the copy, the rest (read-only text and data of the ELF
 * files, e.g. static types' tp_name) from the live source it wraps. */
#ifndef PYHEAPSCOPE_SNAPSHOT_H
#define PYHEAPSCOPE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapscope/error.h"
#include "pyheapscope/memsrc.h"
#include "pyheapscope/target.h"

struct snapshot_region {
    uint64_t start, end;       /* [start, end) in the target */
    size_t buf_offset;         /* where its bytes are in the buffer */
    int copied;                /* 0 if the copy failed: served live */
};

struct snapshot {
    struct memsrc base;        /* must be first: a snapshot is a memsrc */
    struct memsrc *live;       /* borrowed; copies and fallback reads */
    struct snapshot_region *regions;
    size_t nregions, cap_regions;
    unsigned char *buf;        /* one anonymous mapping, reused */
    size_t buf_size, buf_cap;
    size_t last;               /* region of the last lookup */
    uint64_t bytes_copied;
    uint64_t copy_ns;          /* time spent in snapshot_copy */
    uint64_t failed_regions;   /* mappings that could not be copied */
};

/* An empty snapshot over the live source (borrowed, must outlive it).
 * NULL on out-of-memory. */
struct snapshot *snapshot_new(struct memsrc *live);

/* Choose what to copy: every private writable mapping except the main
 * thread's [stack] (objects never live there), and fault in a buffer large
 * enough for all of it. Call while the target runs. PHS_INTERNAL if the
 * buffer cannot be had. */
enum phs_status snapshot_prepare(struct snapshot *s, const struct maps *maps, struct phs_error *err);

/* Copy every chosen mapping. Mappings that fail to copy are left to live
 * reads and counted. PHS_NO_PROCESS/PHS_PERMISSION stop it. */
enum phs_status snapshot_copy(struct snapshot *s, struct phs_error *err);

/* A pointer to len copied bytes at addr, or NULL if they are not all in
 * one copied region. The fast path of the heap walk. */
static inline const unsigned char *snapshot_ptr(struct snapshot *s, uint64_t addr, size_t len)
{
    const struct snapshot_region *r = s->nregions ? &s->regions[s->last] : NULL;
    if (!r || addr < r->start || addr + len > r->end || addr + len < addr) {
        if (!s->nregions || addr < s->regions[0].start)
            return NULL;
        /* The last region with start <= addr. Branch-free: the walk jumps
         * between a few regions at random, which a branchy search would
         * mispredict at every step. */
        const struct snapshot_region *base = s->regions;
        for (size_t n = s->nregions; n > 1;) {
            size_t half = n / 2;
            base = base[half].start <= addr ? base + half : base;
            n -= half;
        }
        r = base;
        if (addr + len > r->end || addr + len < addr)
            return NULL;
        s->last = (size_t)(r - s->regions);
    }
    if (!r->copied)
        return NULL;
    return s->buf + r->buf_offset + (addr - r->start);
}

/* Release the snapshot (not the live source). */
void snapshot_free(struct snapshot *s);

#endif
