/* snapshot.c - copies the target's writable mappings into one local buffer
 * and serves reads from it (see snapshot.h for the why).
 *
 * The buffer is one anonymous mapping kept across snapshots and faulted in
 * before the target is paused (MADV_POPULATE_WRITE, or touching each page
 * where the kernel lacks it), so the pause pays for the copy and nothing
 * else. Read-only towards the target: it only reads. */
#define _GNU_SOURCE
#include "pyheapscope/snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define COPY_PIECE (8u << 20)   /* one read per 8 MiB: large enough to run at copy speed */

static enum phs_status snap_read(struct memsrc *src, uint64_t addr, void *buf, size_t len,
                                 struct phs_error *err)
{
    struct snapshot *s = (struct snapshot *)src;
    const unsigned char *p = snapshot_ptr(s, addr, len);
    if (p) {
        memcpy(buf, p, len);
        return PHS_OK;
    }
    /* Not in one copied region: read-only file data (never changes), a
     * read across two adjacent regions, or a region that failed to copy. */
    return memsrc_read(s->live, addr, buf, len, err);
}

static void snap_free(struct memsrc *src)
{
    snapshot_free((struct snapshot *)src);
}

static const struct memsrc_ops snapshot_ops = {snap_read, snap_free, NULL};

struct snapshot *snapshot_new(struct memsrc *live)
{
    struct snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base.ops = &snapshot_ops;
    s->live = live;
    return s;
}

static int worth_copying(const struct mapping *m)
{
    if ((m->perms & (MAP_R | MAP_W | MAP_P)) != (MAP_R | MAP_W | MAP_P))
        return 0;
    return strcmp(m->path, "[stack]") != 0 && strncmp(m->path, "[vvar", 5) != 0;
}

static void prefault(unsigned char *buf, size_t len)
{
    if (len == 0 || madvise(buf, len, MADV_POPULATE_WRITE) == 0)
        return;
    long page = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < len; i += (size_t)page)
        buf[i] = 0;
}

enum phs_status snapshot_prepare(struct snapshot *s, const struct maps *maps, struct phs_error *err)
{
    s->nregions = 0;
    s->last = 0;
    size_t total = 0;
    for (size_t i = 0; i < maps->n; i++) {
        const struct mapping *m = &maps->v[i];
        if (!worth_copying(m))
            continue;
        if (s->nregions == s->cap_regions) {
            size_t cap = s->cap_regions ? s->cap_regions * 2 : 64;
            struct snapshot_region *nr = realloc(s->regions, cap * sizeof *nr);
            if (!nr)
                return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
            s->regions = nr;
            s->cap_regions = cap;
        }
        s->regions[s->nregions++] = (struct snapshot_region){m->start, m->end, total, 0};
        total += (size_t)(m->end - m->start);
    }
    if (total > s->buf_cap) {
        if (s->buf)
            munmap(s->buf, s->buf_cap);
        s->buf = NULL;
        s->buf_cap = 0;
        /* A little headroom so a heap that grows a bit between snapshots
         * (`top`) does not need a new buffer every time. */
        size_t cap = total + total / 8 + (1u << 20);
        void *b = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (b == MAP_FAILED)
            return phs_error_set(err, PHS_INTERNAL, errno, "cannot allocate %zu MiB for the snapshot: %s",
                                 cap >> 20, strerror(errno));
        s->buf = b;
        s->buf_cap = cap;
        prefault(s->buf, total);
    }
    s->buf_size = total;
    return PHS_OK;
}

enum phs_status snapshot_copy(struct snapshot *s, struct phs_error *err)
{
    uint64_t t0 = monotonic_ns();
    s->bytes_copied = 0;
    s->failed_regions = 0;
    for (size_t i = 0; i < s->nregions; i++) {
        struct snapshot_region *r = &s->regions[i];
        r->copied = 0;
        int ok = 1;
        for (uint64_t a = r->start; a < r->end && ok; a += COPY_PIECE) {
            size_t len = (size_t)(r->end - a < COPY_PIECE ? r->end - a : COPY_PIECE);
            struct phs_error e = {0};
            if (memsrc_read(s->live, a, s->buf + r->buf_offset + (a - r->start), len, &e) != PHS_OK) {
                if (e.code == PHS_NO_PROCESS || e.code == PHS_PERMISSION) {
                    if (err)
                        *err = e;
                    return e.code;
                }
                ok = 0;      /* unmapped since the maps were read: leave it live */
            }
        }
        if (ok) {
            r->copied = 1;
            s->bytes_copied += r->end - r->start;
        } else {
            s->failed_regions++;
        }
    }
    s->copy_ns = monotonic_ns() - t0;
    return PHS_OK;
}

void snapshot_free(struct snapshot *s)
{
    if (!s)
        return;
    if (s->buf)
        munmap(s->buf, s->buf_cap);
    free(s->regions);
    free(s);
}
