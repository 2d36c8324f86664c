/* procmem.c - the live-process memory source: process_vm_readv (or
 * /proc/PID/mem) behind a chunk cache clipped to mapping bounds.
 *
 * Designed to the figures in shared/design/limits.md: one syscall costs
 * ~1.6 us, so small reads are served from 16 KiB chunks; a chunk never
 * straddles a mapping end (such reads would fail and fall back); large reads
 * go straight into the caller's buffer. Read-only: nothing here writes to the
 * target. */
#define _GNU_SOURCE
#include "pyheapscope/target.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHUNK_SIZE   (16u * 1024u)
#define CACHE_SLOTS  512u            /* 8 MiB of cache at most */
#define DIRECT_READ  (CHUNK_SIZE / 2) /* reads this large bypass the cache */

struct chunk {
    uint64_t key;      /* chunk-aligned address + 1; 0 = empty slot */
    uint64_t lo, hi;   /* valid bytes [lo, hi) */
    unsigned char *data;
};

struct procmem {
    struct memsrc base;
    pid_t pid;
    const struct maps *maps;
    int use_procmem;   /* read /proc/PID/mem instead of process_vm_readv */
    int mem_fd;
    struct chunk slots[CACHE_SLOTS];
};

static enum phs_status read_error(struct procmem *pm, int e, uint64_t addr, size_t len,
                                  struct phs_error *err)
{
    enum phs_status st;
    if (e == ESRCH)
        st = phs_error_set(err, PHS_NO_PROCESS, e, "process %d is gone", (int)pm->pid);
    else if (e == EPERM || e == EACCES)
        st = phs_error_set(err, PHS_PERMISSION, e, "not allowed to read the memory of process %d",
                           (int)pm->pid);
    else
        st = phs_error_set(err, PHS_READ, e, "cannot read %zu bytes at 0x%" PRIx64 " in process %d: %s",
                           len, addr, (int)pm->pid, e ? strerror(e) : "short read");
    if (err)
        err->addr = addr;
    return st;
}

static enum phs_status direct_read(struct procmem *pm, uint64_t addr, void *buf, size_t len,
                                   struct phs_error *err)
{
    ssize_t got;
    if (!pm->use_procmem) {
        struct iovec local = {buf, len};
        struct iovec remote = {(void *)(uintptr_t)addr, len};
        got = process_vm_readv(pm->pid, &local, 1, &remote, 1, 0);
        if (got < 0 && errno == ENOSYS) {
            pm->use_procmem = 1;      /* kernel without CONFIG_CROSS_MEMORY_ATTACH */
            return direct_read(pm, addr, buf, len, err);
        }
    } else {
        if (pm->mem_fd < 0) {
            char path[64];
            snprintf(path, sizeof path, "/proc/%d/mem", (int)pm->pid);
            pm->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
            if (pm->mem_fd < 0)
                return read_error(pm, errno == ENOENT ? ESRCH : errno, addr, len, err);
        }
        if (addr > (uint64_t)INT64_MAX)
            return read_error(pm, EFAULT, addr, len, err);
        got = pread(pm->mem_fd, buf, len, (off_t)addr);
        /* /proc/PID/mem of an exited process reads 0 bytes. */
        if (got == 0 && kill(pm->pid, 0) < 0 && errno == ESRCH)
            return read_error(pm, ESRCH, addr, len, err);
    }
    if (got < 0)
        return read_error(pm, errno, addr, len, err);
    if ((size_t)got != len)
        return read_error(pm, EFAULT, addr, len, err);
    return PHS_OK;
}

static struct chunk *fill_chunk(struct procmem *pm, uint64_t addr, struct phs_error *err)
{
    uint64_t base = addr & ~(uint64_t)(CHUNK_SIZE - 1);
    struct chunk *c = &pm->slots[(base / CHUNK_SIZE) % CACHE_SLOTS];
    if (c->key == base + 1 && addr >= c->lo && addr < c->hi)
        return c;
    const struct mapping *m = maps_find(pm->maps, addr);
    if (!m || !(m->perms & MAP_R)) {
        read_error(pm, EFAULT, addr, 1, err);
        return NULL;
    }
    if (!c->data && !(c->data = malloc(CHUNK_SIZE))) {
        phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory for the read cache");
        return NULL;
    }
    uint64_t lo = base < m->start ? m->start : base;
    uint64_t hi = base + CHUNK_SIZE > m->end ? m->end : base + CHUNK_SIZE;
    c->key = 0;
    if (direct_read(pm, lo, c->data + (lo - base), hi - lo, err) != PHS_OK)
        return NULL;
    c->key = base + 1;
    c->lo = lo;
    c->hi = hi;
    return c;
}

static enum phs_status procmem_read(struct memsrc *src, uint64_t addr, void *buf, size_t len,
                                    struct phs_error *err)
{
    struct procmem *pm = (struct procmem *)src;
    if (len == 0)
        return PHS_OK;
    if (addr + len < addr)
        return read_error(pm, EFAULT, addr, len, err);
    if (len >= DIRECT_READ)
        return direct_read(pm, addr, buf, len, err);
    unsigned char *out = buf;
    while (len > 0) {
        struct chunk *c = fill_chunk(pm, addr, err);
        if (!c) {
            /* The maps may be stale (new mappings since they were read):
             * try the exact range once before giving up. */
            if (err && err->code == PHS_READ)
                return direct_read(pm, addr, out, len, err);
            return err ? err->code : PHS_READ;
        }
        uint64_t base = c->key - 1;
        size_t avail = (size_t)(c->hi - addr);
        size_t take = len < avail ? len : avail;
        memcpy(out, c->data + (addr - base), take);
        out += take;
        addr += take;
        len -= take;
    }
    return PHS_OK;
}

static void procmem_free(struct memsrc *src)
{
    struct procmem *pm = (struct procmem *)src;
    for (unsigned i = 0; i < CACHE_SLOTS; i++)
        free(pm->slots[i].data);
    if (pm->mem_fd >= 0)
        close(pm->mem_fd);
    free(pm);
}

static void procmem_invalidate(struct memsrc *src)
{
    struct procmem *pm = (struct procmem *)src;
    for (unsigned i = 0; i < CACHE_SLOTS; i++)
        pm->slots[i].key = 0;
}

static const struct memsrc_ops procmem_ops = {
    .read = procmem_read,
    .free = procmem_free,
    .invalidate = procmem_invalidate,
    .parallel_bulk_reads = 1,   /* direct_read keeps no state (but the ENOSYS fallback, decided at once) */
};

struct memsrc *procmem_new(pid_t pid, const struct maps *maps, struct phs_error *err)
{
    struct procmem *pm = calloc(1, sizeof *pm);
    if (!pm) {
        phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
        return NULL;
    }
    pm->base.ops = &procmem_ops;
    pm->pid = pid;
    pm->maps = maps;
    pm->mem_fd = -1;
    const char *mode = getenv("PYHEAPSCOPE_MEMREAD");
    pm->use_procmem = mode && strcmp(mode, "procmem") == 0;
    return &pm->base;
}
