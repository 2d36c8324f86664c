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

#include <pthread.h>
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

/* A copied region remembered by a reader for its next lookups: checking
 * it is two compares, with no table in between. Valid for the
 * snapshot_prepare() whose epoch it carries. */
struct snapshot_hint {
    uint64_t start, len;             /* [start, start + len) in the target */
    const unsigned char *copy;       /* its bytes in the buffer */
    uint64_t epoch;
};

struct snapshot {
    struct memsrc base;        /* must be first: a snapshot is a memsrc */
    struct memsrc *live;       /* borrowed; copies and fallback reads */
    struct snapshot_region *regions;
    size_t nregions, cap_regions;
    unsigned char *buf;        /* one anonymous mapping, reused */
    size_t buf_size, buf_cap;
    size_t buf_faulted;        /* how much of it is faulted in */
    /* snapshot_reserve's thread, faulting the buffer in meanwhile */
    pthread_t reserver;
    int reserving;
    struct snapshot_fault_job {
        unsigned char *buf;
        size_t len;
        size_t next;           /* the next chunk to fault in (atomic) */
    } reserve_job;
    struct snapshot_hint hint[2]; /* regions of the last two lookups (the walk alternates) */
    uint64_t epoch;            /* counts snapshot_prepare() calls: older hints are stale */
    /* Which region each 2 MiB granule of the target's address space
     * touches, for lookups in a few cycles: open addressing on granule
     * number + 1; region -1 if more than one region touches it, and then
     * the same table at page granularity (mappings are page-aligned, so a
     * page is always in one region) says which. */
    struct snapshot_index {
        uint64_t *keys;
        int32_t *region;
        size_t mask;
    } granules, pages;
    uint64_t bytes_copied;
    uint64_t copy_ns;          /* time spent in snapshot_copy */
    uint64_t failed_regions;   /* mappings that could not be copied */
};

/* An empty snapshot over the live source (borrowed, must outlive it; may
 * be NULL until snapshot_set_live). NULL on out-of-memory. */
struct snapshot *snapshot_new(struct memsrc *live);
void snapshot_set_live(struct snapshot *s, struct memsrc *live);

/* Start getting a buffer ready for what maps would copy, in a thread of
 * its own: allocating it and faulting it in takes 0.1 s per GiB or more
 * (the kernel clears every page), which can then overlap with attaching
 * (reading DWARF can take as long). snapshot_prepare waits for it and
 * uses the buffer if it is large enough. Small heaps are not worth a
 * thread: nothing is done for them, nor if the thread cannot start.
 * The thread is one: attaching keeps another core busy; snapshot_prepare
 * helps it with what is left. */
void snapshot_reserve(struct snapshot *s, const struct maps *maps);

/* Choose what to copy: every private writable mapping except the main
 * thread's [stack] (objects never live there), and fault in a buffer large
 * enough for all of it. Call while the target runs. PHS_INTERNAL if the
 * buffer cannot be had. */
enum phs_status snapshot_prepare(struct snapshot *s, const struct maps *maps, struct phs_error *err);

/* Copy every chosen mapping. Mappings that fail to copy are left to live
 * reads and counted. PHS_NO_PROCESS/PHS_PERMISSION stop it. */
enum phs_status snapshot_copy(struct snapshot *s, struct phs_error *err);

#define SNAPSHOT_GRANULE_SHIFT 21
#define SNAPSHOT_PAGE_SHIFT 12

/* The copied bytes at addr when they are not in a hinted region
 * (snapshot.c), or NULL; puts the region found first in hint. */
const unsigned char *snapshot_span_slow(struct snapshot *s, struct snapshot_hint hint[2], uint64_t addr, size_t len,
                                        const unsigned char **end);

static inline const unsigned char *snapshot_hint_at(const struct snapshot *s, const struct snapshot_hint *h,
                                                    uint64_t addr, size_t len, const unsigned char **end)
{
    uint64_t off = addr - h->start;
    if (off >= h->len || len > h->len - off || h->epoch != s->epoch)
        return NULL;
    *end = h->copy + h->len;
    return h->copy + off;
}

/* A pointer to len copied bytes at addr, or NULL if they are not all in
 * one copied region; *end: where the copy of that region ends in the
 * buffer, so that a caller can see how much more it may read from there
 * without another lookup. The fast path of the heap walk: the two regions
 * in hint (the caller's: one per thread) are checked inline, the rest is a
 * hash lookup by 2 MiB granule, which puts the region found first. */
static inline const unsigned char *snapshot_span_at(struct snapshot *s, struct snapshot_hint hint[2], uint64_t addr,
                                                    size_t len, const unsigned char **end)
{
    const unsigned char *q = snapshot_hint_at(s, &hint[0], addr, len, end);
    if (!q && !(q = snapshot_hint_at(s, &hint[1], addr, len, end)))
        q = snapshot_span_slow(s, hint, addr, len, end);
    return q;
}

/* The same without the end. */
static inline const unsigned char *snapshot_ptr_at(struct snapshot *s, struct snapshot_hint hint[2], uint64_t addr,
                                                   size_t len)
{
    const unsigned char *end;
    return snapshot_span_at(s, hint, addr, len, &end);
}

/* The same with the snapshot's own hint (single-threaded users). */
static inline const unsigned char *snapshot_ptr(struct snapshot *s, uint64_t addr, size_t len)
{
    return snapshot_ptr_at(s, s->hint, addr, len);
}

/* Release the snapshot (not the live source). */
void snapshot_free(struct snapshot *s);

#endif
