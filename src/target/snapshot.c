/* snapshot.c - copies the target's writable mappings into one local buffer
 * and serves reads from it (see snapshot.h for the why). An anonymous
 * mapping is copied from its lowest page in use (copy_start): threads'
 * stacks are mapped whole and used at the top.
 *
 * The buffer is one anonymous mapping kept across snapshots and faulted in
 * before the target is paused (MADV_POPULATE_WRITE, or touching each page
 * where the kernel lacks it), so the pause pays for the copy and nothing
 * else. Read-only towards the target: it only reads. */
#define _GNU_SOURCE
#include "pyheapscope/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
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

static const struct memsrc_ops snapshot_ops = {.read = snap_read, .free = snap_free};

struct snapshot *snapshot_new(struct memsrc *live)
{
    struct snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base.ops = &snapshot_ops;
    s->live = live;
    return s;
}

void snapshot_set_live(struct snapshot *s, struct memsrc *live)
{
    s->live = live;
}

static int worth_copying(const struct mapping *m)
{
    if ((m->perms & (MAP_R | MAP_W | MAP_P)) != (MAP_R | MAP_W | MAP_P))
        return 0;
    return strcmp(m->path, "[stack]") != 0 && strncmp(m->path, "[vvar", 5) != 0;
}

/* ---- which bytes to copy ---- */

#define TRIM_MIN       (1u << 20)     /* smaller mappings are copied whole */
#define PAGEMAP_BATCH  512            /* entries per read: 2 MiB of address space */

/* /proc/PID/pagemap of the maps' process, or -1 (then nothing is trimmed). */
static int open_pagemap(const struct maps *maps)
{
    if (maps->pid <= 0)
        return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/pagemap", (int)maps->pid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* Where the copy of mapping m starts. A thread's stack is mapped whole
 * (8 MiB by default) but written from the top down, and a process with a
 * thousand threads has 8 GiB of them, nearly all never written. So an
 * anonymous mapping is copied from its lowest page that the target has
 * (present, or swapped out: /proc/PID/pagemap bits 63 and 62). What lies
 * below was never written and reads as zeros; reads there are served live
 * like any address outside the copy. A heap is written from its start up,
 * so it loses nothing; neither would any mapping, whatever its use. No
 * margin is taken below: reading a page the target does not have maps the
 * zero page there, which would then count as in use, and each copy would
 * start lower than the last (a stack that grows before the pause only
 * has C frames in the new part; they are read live if ever). */
static uint64_t copy_start(int pagemap, const struct mapping *m)
{
    if (pagemap < 0 || m->path[0] || m->end - m->start < TRIM_MIN)
        return m->start;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), entry[PAGEMAP_BATCH];
    for (uint64_t at = m->start; at < m->end;) {
        uint64_t want = (m->end - at) / page < PAGEMAP_BATCH ? (m->end - at) / page : PAGEMAP_BATCH;
        ssize_t got = pread(pagemap, entry, want * 8, (off_t)(at / page * 8));
        if (got < 8)
            return m->start;
        for (size_t k = 0; k < (size_t)got / 8; k++) {
            if (entry[k] & (3ull << 62))
                return at + k * page;
        }
        at += (uint64_t)got / 8 * page;
    }
    return m->end;             /* nothing in it was ever written */
}

#define HUGE_PAGE      (2u << 20)
#define MAX_FAULTERS   4
#define MAX_COPIERS    4
#define PARALLEL_MIN   (1u << 20)

/* Fault a range in: one call where the kernel has MADV_POPULATE_WRITE,
 * else one write per page. */
static void fault_in(unsigned char *buf, size_t len)
{
    if (len == 0 || madvise(buf, len, MADV_POPULATE_WRITE) == 0)
        return;
    long page = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < len; i += (size_t)page)
        buf[i] = 0;
}

/* A multiple of HUGE_PAGE, and small: faulting in holds the address
 * space's lock for reading, and an mmap of the attach running beside it
 * (snapshot_reserve) waits for the chunk in progress. */
#define FAULT_CHUNK (4u << 20)

/* Fault in job's chunks until none is left; any number of threads can
 * run this on one job, each taking the next chunk. */
static void *fault_worker(void *arg)
{
    struct snapshot_fault_job *job = arg;
    size_t chunks = (job->len + FAULT_CHUNK - 1) / FAULT_CHUNK;
    for (;;) {
        size_t k = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED);
        if (k >= chunks)
            return NULL;
        size_t from = k * (size_t)FAULT_CHUNK;
        fault_in(job->buf + from, job->len - from < FAULT_CHUNK ? job->len - from : FAULT_CHUNK);
    }
}

/* Faulting in is the kernel clearing pages, which runs at the speed of
 * one core: split it over the cores there are (up to MAX_FAULTERS). */
static void prefault(unsigned char *buf, size_t len)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = cpus < 1 ? 1 : cpus > MAX_FAULTERS ? MAX_FAULTERS : (size_t)cpus;
    if (len < (64u << 20))
        n = 1;
    struct snapshot_fault_job job = {buf, len, 0};
    pthread_t helpers[MAX_FAULTERS];
    int started[MAX_FAULTERS] = {0};
    for (size_t i = 1; i < n; i++)
        started[i] = pthread_create(&helpers[i], NULL, fault_worker, &job) == 0;
    fault_worker(&job);
    for (size_t i = 1; i < n; i++)
        if (started[i])
            pthread_join(helpers[i], NULL);
}

/* An anonymous buffer aligned to huge pages and asking for them: fewer
 * faults to clear it, and fewer TLB misses when the walk reads it at
 * random. */
static unsigned char *alloc_buffer(size_t cap)
{
    size_t len = cap + HUGE_PAGE;
    unsigned char *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED)
        return NULL;
    unsigned char *aligned = (unsigned char *)(((uintptr_t)b + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (aligned > b)
        munmap(b, (size_t)(aligned - b));
    size_t tail = (size_t)((b + len) - (aligned + cap));
    if (tail)
        munmap(aligned + cap, tail);
#ifdef MADV_HUGEPAGE
    madvise(aligned, cap, MADV_HUGEPAGE);
#endif
    return aligned;
}

/* A buffer for total bytes, with a little headroom so that a heap that
 * grows a bit between snapshots (`top`) does not need a new one every
 * time. */
static size_t buffer_cap(size_t total)
{
    return (total + total / 8 + HUGE_PAGE) & ~(size_t)(HUGE_PAGE - 1);
}

#define RESERVE_MIN (64u << 20)

void snapshot_reserve(struct snapshot *s, const struct maps *maps)
{
    if (!s || s->reserving || s->buf)
        return;
    size_t total = 0;
    int pagemap = open_pagemap(maps);
    for (size_t i = 0; i < maps->n; i++)
        if (worth_copying(&maps->v[i]))
            total += (size_t)(maps->v[i].end - copy_start(pagemap, &maps->v[i]));
    if (pagemap >= 0)
        close(pagemap);
    if (total < RESERVE_MIN)
        return;
    size_t cap = buffer_cap(total);
    unsigned char *b = alloc_buffer(cap);
    if (!b)
        return;                /* snapshot_prepare will say why */
    s->buf = b;
    s->buf_cap = cap;
    s->reserve_job = (struct snapshot_fault_job){b, total, 0};
    /* One thread: attaching keeps the other core busy meanwhile. */
    s->reserving = pthread_create(&s->reserver, NULL, fault_worker, &s->reserve_job) == 0;
}

/* Help the reserving thread finish, then take over what it faulted in. */
static void reserve_wait(struct snapshot *s)
{
    if (!s->reserving)
        return;
    fault_worker(&s->reserve_job);
    pthread_join(s->reserver, NULL);
    s->reserving = 0;
    s->buf_faulted = s->reserve_job.len;
}

/* The entry of index ix for key: a region number, -1 (several), or -2
 * (none). */
static int32_t index_get(const struct snapshot_index *ix, uint64_t key)
{
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & ix->mask;
    for (size_t probes = 0; probes <= ix->mask; probes++, i = (i + 1) & ix->mask) {
        if (ix->keys[i] == key)
            return ix->region[i];
        if (!ix->keys[i])
            break;
    }
    return -2;
}

const unsigned char *snapshot_span_slow(struct snapshot *s, struct snapshot_hint hint[2], uint64_t addr, size_t len,
                                        const unsigned char **end)
{
    if (!s->granules.keys || addr + len < addr)
        return NULL;
    int32_t g = index_get(&s->granules, (addr >> SNAPSHOT_GRANULE_SHIFT) + 1);
    if (g == -1 && s->pages.keys)
        g = index_get(&s->pages, (addr >> SNAPSHOT_PAGE_SHIFT) + 1);
    if (g < 0)
        return NULL;
    const struct snapshot_region *r = &s->regions[g];
    if (addr < r->start || addr + len > r->end || !r->copied)
        return NULL;
    hint[1] = hint[0];
    hint[0] = (struct snapshot_hint){r->start, r->end - r->start, s->buf + r->buf_offset, s->epoch};
    *end = hint[0].copy + hint[0].len;
    return hint[0].copy + (addr - r->start);
}

static void index_put(struct snapshot_index *ix, uint64_t key, int32_t region)
{
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & ix->mask;
    while (ix->keys[i] && ix->keys[i] != key)
        i = (i + 1) & ix->mask;
    if (!ix->keys[i]) {
        ix->keys[i] = key;
        ix->region[i] = region;
    } else if (ix->region[i] != region) {
        ix->region[i] = -1;
    }
}

static void index_free(struct snapshot_index *ix)
{
    free(ix->keys);
    free(ix->region);
    memset(ix, 0, sizeof *ix);
}

static int index_alloc(struct snapshot_index *ix, size_t n)
{
    index_free(ix);
    size_t slots = 64;
    while (slots < 2 * n)
        slots *= 2;
    ix->keys = calloc(slots, sizeof *ix->keys);
    ix->region = malloc(slots * sizeof *ix->region);
    ix->mask = slots - 1;
    if (!ix->keys || !ix->region) {
        index_free(ix);
        return -1;
    }
    return 0;
}

static uint64_t first_unit(const struct snapshot_region *r, int shift) { return r->start >> shift; }
static uint64_t last_unit(const struct snapshot_region *r, int shift) { return (r->end - 1) >> shift; }

/* Fill the lookup tables for the chosen regions (see snapshot.h). */
static int index_regions(struct snapshot *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nregions; i++)
        n += (size_t)(last_unit(&s->regions[i], SNAPSHOT_GRANULE_SHIFT) -
                      first_unit(&s->regions[i], SNAPSHOT_GRANULE_SHIFT) + 1);
    if (index_alloc(&s->granules, n) != 0)
        return -1;
    for (size_t i = 0; i < s->nregions; i++)
        for (uint64_t g = first_unit(&s->regions[i], SNAPSHOT_GRANULE_SHIFT);
             g <= last_unit(&s->regions[i], SNAPSHOT_GRANULE_SHIFT); g++)
            index_put(&s->granules, g + 1, (int32_t)i);
    /* pages of the granules that several regions share */
    size_t npages = 0;
    for (size_t i = 0; i < s->nregions; i++)
        for (uint64_t g = first_unit(&s->regions[i], SNAPSHOT_GRANULE_SHIFT);
             g <= last_unit(&s->regions[i], SNAPSHOT_GRANULE_SHIFT); g++)
            if (index_get(&s->granules, g + 1) == -1)
                npages += 1u << (SNAPSHOT_GRANULE_SHIFT - SNAPSHOT_PAGE_SHIFT);
    if (index_alloc(&s->pages, npages) != 0)
        return -1;
    for (size_t i = 0; i < s->nregions; i++) {
        const struct snapshot_region *r = &s->regions[i];
        for (uint64_t p = first_unit(r, SNAPSHOT_PAGE_SHIFT); p <= last_unit(r, SNAPSHOT_PAGE_SHIFT); p++)
            if (index_get(&s->granules, (p >> (SNAPSHOT_GRANULE_SHIFT - SNAPSHOT_PAGE_SHIFT)) + 1) == -1)
                index_put(&s->pages, p + 1, (int32_t)i);
    }
    return 0;
}

enum phs_status snapshot_prepare(struct snapshot *s, const struct maps *maps, struct phs_error *err)
{
    s->nregions = 0;
    reserve_wait(s);
    s->epoch++;                /* every hint taken before is stale */
    memset(s->hint, 0, sizeof s->hint);
    size_t total = 0;
    int pagemap = open_pagemap(maps);
    for (size_t i = 0; i < maps->n; i++) {
        const struct mapping *m = &maps->v[i];
        uint64_t from = worth_copying(m) ? copy_start(pagemap, m) : m->end;
        if (from >= m->end)
            continue;
        if (s->nregions == s->cap_regions) {
            size_t cap = s->cap_regions ? s->cap_regions * 2 : 64;
            struct snapshot_region *nr = realloc(s->regions, cap * sizeof *nr);
            if (!nr) {
                if (pagemap >= 0)
                    close(pagemap);
                return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
            }
            s->regions = nr;
            s->cap_regions = cap;
        }
        s->regions[s->nregions++] = (struct snapshot_region){from, m->end, total, 0};
        total += (size_t)(m->end - from);
    }
    if (pagemap >= 0)
        close(pagemap);
    if (index_regions(s) != 0)
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    if (total > s->buf_cap) {
        if (s->buf)
            munmap(s->buf, s->buf_cap);
        s->buf = NULL;
        s->buf_cap = s->buf_faulted = 0;
        size_t cap = buffer_cap(total);
        unsigned char *b = alloc_buffer(cap);
        if (!b)
            return phs_error_set(err, PHS_INTERNAL, errno, "cannot allocate %zu MiB for the snapshot: %s",
                                 cap >> 20, strerror(errno));
        s->buf = b;
        s->buf_cap = cap;
    }
    /* Fault in what the copy will write and is not yet: all of a new
     * buffer, the grown part of a reused one. */
    if (total > s->buf_faulted) {
        prefault(s->buf + s->buf_faulted, total - s->buf_faulted);
        s->buf_faulted = total;
    }
    s->buf_size = total;
    return PHS_OK;
}

/* The copy, cut into pieces that any thread can take. */
struct copy_job {
    struct snapshot *s;
    size_t npieces;
    size_t next;               /* the next piece to take (atomic) */
    size_t first_large;        /* copied before the helpers start */
    int fatal;                 /* a reader hit PHS_NO_PROCESS/PHS_PERMISSION (atomic) */
    struct phs_error fatal_err;
    pthread_mutex_t lock;      /* guards fatal_err */
};

/* Piece k: which region, and where in it. Regions are few (tens), so a
 * scan is cheaper than a table. */
static int piece_at(const struct snapshot *s, size_t k, size_t *region, uint64_t *addr, size_t *len)
{
    for (size_t i = 0; i < s->nregions; i++) {
        const struct snapshot_region *r = &s->regions[i];
        size_t n = (size_t)((r->end - r->start + COPY_PIECE - 1) / COPY_PIECE);
        if (k < n) {
            *region = i;
            *addr = r->start + (uint64_t)k * COPY_PIECE;
            *len = (size_t)(r->end - *addr < COPY_PIECE ? r->end - *addr : COPY_PIECE);
            return 1;
        }
        k -= n;
    }
    return 0;
}

static void copy_piece(struct copy_job *job, size_t k)
{
    struct snapshot *s = job->s;
    size_t i;
    uint64_t a;
    size_t len;
    if (!piece_at(s, k, &i, &a, &len))
        return;
    struct snapshot_region *r = &s->regions[i];
    struct phs_error e = {0};
    if (s->live->ops->read(s->live, a, s->buf + r->buf_offset + (a - r->start), len, &e) == PHS_OK)
        return;
    if (e.code == PHS_NO_PROCESS || e.code == PHS_PERMISSION) {
        pthread_mutex_lock(&job->lock);
        if (!job->fatal)
            job->fatal_err = e;
        __atomic_store_n(&job->fatal, 1, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&job->lock);
    } else {
        __atomic_store_n(&r->copied, 0, __ATOMIC_RELAXED);  /* unmapped since the maps were read: leave it live */
    }
}

/* Only pieces of PARALLEL_MIN bytes or more are shared out: the contract
 * of parallel_bulk_reads (smaller reads may go through a source's cache). */
static int piece_is_large(const struct snapshot *s, size_t k)
{
    size_t i, len;
    uint64_t a;
    return piece_at(s, k, &i, &a, &len) && len >= PARALLEL_MIN;
}

static void *copy_worker(void *arg)
{
    struct copy_job *job = arg;
    for (;;) {
        size_t k = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED);
        if (k >= job->npieces || __atomic_load_n(&job->fatal, __ATOMIC_ACQUIRE))
            return NULL;
        if (piece_is_large(job->s, k) && k != job->first_large)
            copy_piece(job, k);
    }
}

enum phs_status snapshot_copy(struct snapshot *s, struct phs_error *err)
{
    uint64_t t0 = monotonic_ns();
    struct copy_job job = {.s = s};
    pthread_mutex_init(&job.lock, NULL);
    s->bytes_copied = 0;
    s->failed_regions = 0;
    for (size_t i = 0; i < s->nregions; i++) {
        s->regions[i].copied = 1;
        job.npieces += (size_t)((s->regions[i].end - s->regions[i].start + COPY_PIECE - 1) / COPY_PIECE);
    }
    /* The small pieces first, by this thread alone (a source settles how it
     * reads on its first read, and small reads may use its cache). Then
     * every core copies the large ones: one core's copy runs at about half
     * the machine's memory bandwidth, and the target is stopped meanwhile. */
    job.first_large = SIZE_MAX;
    for (size_t k = 0; k < job.npieces && !job.fatal; k++) {
        if (!piece_is_large(s, k))
            copy_piece(&job, k);
        else if (job.first_large == SIZE_MAX)
            copy_piece(&job, job.first_large = k);
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = !s->live->ops->parallel_bulk_reads || cpus < 1 ? 1 : cpus > MAX_COPIERS ? MAX_COPIERS : (size_t)cpus;
    pthread_t helpers[MAX_COPIERS];
    int started[MAX_COPIERS] = {0};
    for (size_t i = 1; i < n && job.npieces > 2; i++)
        started[i] = pthread_create(&helpers[i], NULL, copy_worker, &job) == 0;
    copy_worker(&job);
    for (size_t i = 1; i < n; i++)
        if (started[i])
            pthread_join(helpers[i], NULL);
    s->live->reads += job.npieces;
    pthread_mutex_destroy(&job.lock);
    if (job.fatal) {
        if (err)
            *err = job.fatal_err;
        return job.fatal_err.code;
    }
    for (size_t i = 0; i < s->nregions; i++) {
        if (s->regions[i].copied)
            s->bytes_copied += s->regions[i].end - s->regions[i].start;
        else
            s->failed_regions++;
    }
    s->copy_ns = monotonic_ns() - t0;
    return PHS_OK;
}

void snapshot_free(struct snapshot *s)
{
    if (!s)
        return;
    if (s->reserving) {
        /* Not needed after all (the attach failed): leave the chunks not
         * yet started, so that the error is not kept waiting for them. */
        __atomic_store_n(&s->reserve_job.next, SIZE_MAX / 2, __ATOMIC_RELAXED);
        pthread_join(s->reserver, NULL);
        s->reserving = 0;
    }
    if (s->buf)
        munmap(s->buf, s->buf_cap);
    free(s->regions);
    index_free(&s->granules);
    index_free(&s->pages);
    free(s);
}
