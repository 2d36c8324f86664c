/* memsrc.c - helpers over the memory-source seam (words, C strings) and the
 * fault-injecting wrapper the robustness tests use. Never reads the target
 * except through the wrapped source. */
#include "pyheapscope/memsrc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum phs_status memsrc_read_u64(struct memsrc *src, uint64_t addr, uint64_t *out,
                                struct phs_error *err)
{
    return memsrc_read(src, addr, out, sizeof *out, err);
}

enum phs_status memsrc_read_cstr(struct memsrc *src, uint64_t addr, char *buf, size_t cap,
                                 struct phs_error *err)
{
    /* Read up to the next 64-byte boundary at a time: never past a page we
     * do not need, so a short string at the end of a mapping still reads. */
    size_t have = 0;
    if (cap == 0)
        return phs_error_set(err, PHS_INTERNAL, 0, "empty string buffer");
    while (have < cap - 1) {
        uint64_t a = addr + have;
        size_t piece = 64 - (size_t)(a % 64);
        if (piece > cap - 1 - have)
            piece = cap - 1 - have;
        enum phs_status st = memsrc_read(src, a, buf + have, piece, err);
        if (st != PHS_OK) {
            buf[have] = '\0';
            return st;
        }
        void *nul = memchr(buf + have, '\0', piece);
        if (nul)
            return PHS_OK;
        have += piece;
    }
    buf[cap - 1] = '\0';
    phs_error_set(err, PHS_READ, 0, "string at 0x%" PRIx64 " is longer than %zu bytes", addr, cap - 1);
    if (err)
        err->addr = addr;
    return PHS_READ;
}

struct faultmem {
    struct memsrc base;
    struct memsrc *inner;
    uint64_t fail_at;
    int sticky;
};

static enum phs_status faultmem_read(struct memsrc *src, uint64_t addr, void *buf, size_t len,
                                     struct phs_error *err)
{
    struct faultmem *fm = (struct faultmem *)src;
    if (src->reads == fm->fail_at || (fm->sticky && src->reads > fm->fail_at)) {
        phs_error_set(err, PHS_READ, EFAULT, "injected fault on read #%" PRIu64 " at 0x%" PRIx64,
                      src->reads, addr);
        if (err)
            err->addr = addr;
        return PHS_READ;
    }
    return memsrc_read(fm->inner, addr, buf, len, err);
}

static void faultmem_free(struct memsrc *src)
{
    struct faultmem *fm = (struct faultmem *)src;
    memsrc_free(fm->inner);
    free(fm);
}

static void faultmem_invalidate(struct memsrc *src)
{
    memsrc_invalidate(((struct faultmem *)src)->inner);
}

static const struct memsrc_ops faultmem_ops = {
    .read = faultmem_read,
    .free = faultmem_free,
    .invalidate = faultmem_invalidate,
};

struct memsrc *faultmem_new(struct memsrc *inner, uint64_t fail_at, int sticky)
{
    struct faultmem *fm = calloc(1, sizeof *fm);
    if (!fm)
        return NULL;
    fm->base.ops = &faultmem_ops;
    fm->inner = inner;
    fm->fail_at = fail_at;
    fm->sticky = sticky;
    return &fm->base;
}
