/* memsrc.h - the one seam through which target memory is read.
 *
 * A memory source is a const ops table plus its state. Implementations: a live
 * process (src/target/procmem.c) and a fault-injecting wrapper used by the
 * robustness tests (src/target/faultmem.c). Everything above src/target reads
 * the target only through memsrc_read(). */
#ifndef PYHEAPSCOPE_MEMSRC_H
#define PYHEAPSCOPE_MEMSRC_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapscope/error.h"

struct memsrc;

struct memsrc_ops {
    /* Copy len bytes at target address addr into buf. A short read is an
     * error: PHS_READ for an unmapped or partly mapped range, PHS_NO_PROCESS
     * if the target is gone, PHS_PERMISSION if access was refused. */
    enum phs_status (*read)(struct memsrc *src, uint64_t addr, void *buf,
                            size_t len, struct phs_error *err);
    /* Release the source and everything it owns. */
    void (*free)(struct memsrc *src);
    /* Forget anything cached: the target ran since. NULL if nothing is cached. */
    void (*invalidate)(struct memsrc *src);
    /* Non-zero if reads of 1 MiB or more may run from several threads at
     * once (they go straight to the kernel): the snapshot copies with all
     * cores then. 0 for sources that count or cache every read. */
    int parallel_bulk_reads;
};

struct memsrc {
    const struct memsrc_ops *ops;
    uint64_t reads;        /* calls to memsrc_read, for statistics and fault injection */
};

static inline enum phs_status memsrc_read(struct memsrc *src, uint64_t addr,
                                          void *buf, size_t len,
                                          struct phs_error *err)
{
    src->reads++;
    return src->ops->read(src, addr, buf, len, err);
}

/* Drop cached copies of target memory (call after the target ran, e.g.
 * right after pausing it). Cannot fail. */
static inline void memsrc_invalidate(struct memsrc *src)
{
    if (src->ops->invalidate)
        src->ops->invalidate(src);
}

static inline void memsrc_free(struct memsrc *src)
{
    if (src)
        src->ops->free(src);
}

/* Read one little-endian pointer-sized word. Same failures as memsrc_read. */
enum phs_status memsrc_read_u64(struct memsrc *src, uint64_t addr, uint64_t *out,
                                struct phs_error *err);

/* Read a NUL-terminated string of at most cap-1 bytes into buf (always
 * terminated). Reads in small pieces so a string near the end of a mapping
 * still reads. Returns PHS_READ if no terminator within cap-1 bytes. */
enum phs_status memsrc_read_cstr(struct memsrc *src, uint64_t addr, char *buf,
                                 size_t cap, struct phs_error *err);

/* Wrap inner so that read number fail_at (1-based, counted on the wrapper)
 * and, if sticky, every later read fails with PHS_READ. Takes ownership of
 * inner. Returns NULL only on out-of-memory. */
struct memsrc *faultmem_new(struct memsrc *inner, uint64_t fail_at, int sticky);

#endif
