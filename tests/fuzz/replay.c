/* replay.c - loads a recording (replay.h) into a snapshot and a process
 * description, and runs over it everything the heap commands run. Test
 * code: shared by the libFuzzer harness, the corpus run and the recorder,
 * so that a recording holds exactly what the replay reads. */
#include "replay.h"

#include <stdlib.h>
#include <string.h>

#include "pyheapscope/advise.h"
#include "pyheapscope/histogram.h"

#define MAX_RANGES 65536
#define MAX_SYMBOLS 256

struct cursor {
    const unsigned char *p;
    size_t left;
};

static int take(struct cursor *c, void *out, size_t n)
{
    if (c->left < n)
        return -1;
    memcpy(out, c->p, n);
    c->p += n;
    c->left -= n;
    return 0;
}

static int skip(struct cursor *c, const unsigned char **at, size_t n)
{
    if (c->left < n)
        return -1;
    *at = c->p;
    c->p += n;
    c->left -= n;
    return 0;
}

/* ---- the read-only file bytes, as a memory source ---- */

struct file_range {
    uint64_t start;
    size_t len;
    const unsigned char *bytes;   /* into files->data */
};

struct filemem {
    struct memsrc base;
    struct file_range *ranges;    /* ascending by start */
    size_t n;
    unsigned char *data;
};

static enum phs_status filemem_read(struct memsrc *src, uint64_t addr, void *buf, size_t len,
                                    struct phs_error *err)
{
    struct filemem *fm = (struct filemem *)src;
    size_t lo = 0, hi = fm->n;
    while (lo < hi) {             /* the last range starting at or before addr */
        size_t mid = lo + (hi - lo) / 2;
        if (fm->ranges[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0) {
        const struct file_range *r = &fm->ranges[lo - 1];
        if (addr - r->start <= r->len && len <= r->len - (size_t)(addr - r->start)) {
            memcpy(buf, r->bytes + (addr - r->start), len);
            return PHS_OK;
        }
    }
    phs_error_set(err, PHS_READ, 0, "0x%llx is not in the recording", (unsigned long long)addr);
    if (err)
        err->addr = addr;
    return PHS_READ;
}

static void filemem_free(struct memsrc *src)
{
    struct filemem *fm = (struct filemem *)src;
    free(fm->ranges);
    free(fm->data);
    free(fm);
}

static const struct memsrc_ops filemem_ops = {.read = filemem_read, .free = filemem_free};

static int by_start(const void *a, const void *b)
{
    const struct file_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* ---- loading ---- */

static int load_offsets(struct cursor *c, struct py_offsets *off)
{
    uint32_t len;
    const unsigned char *text;
    if (take(c, &len, 4) || skip(c, &text, len))
        return -1;
    char *z = malloc((size_t)len + 1);
    if (!z)
        return -1;
    memcpy(z, text, len);
    z[len] = '\0';
    struct phs_error err;
    int ok = offsets_parse_table(z, off, &err) == PHS_OK && offsets_validate(off, &err) == PHS_OK;
    free(z);
    return ok ? 0 : -1;
}

static int load_symbols(struct cursor *c, struct elf_file *ef)
{
    uint32_t n;
    if (take(c, &n, 4) || n > MAX_SYMBOLS)
        return -1;
    char names[MAX_SYMBOLS][128];
    const char *name_ptrs[MAX_SYMBOLS];
    uint64_t addrs[MAX_SYMBOLS];
    for (uint32_t i = 0; i < n; i++) {
        uint16_t len;
        const unsigned char *text;
        if (take(c, &len, 2) || len >= sizeof names[i] || skip(c, &text, len) || take(c, &addrs[i], 8))
            return -1;
        memcpy(names[i], text, len);
        names[i][len] = '\0';
        name_ptrs[i] = names[i];
    }
    struct phs_error err;
    return elf_file_from_symbols(ef, name_ptrs, addrs, n, &err) == PHS_OK ? 0 : -1;
}

/* The copied pages become the mappings of a snapshot; the file bytes a
 * memory source behind it. */
static int load_memory(struct cursor *c, struct replay *r)
{
    uint32_t n;
    if (take(c, &n, 4) || n > MAX_RANGES)
        return -1;
    struct mapping *maps = calloc(n ? n : 1, sizeof *maps);
    const unsigned char **copy_bytes = calloc(n ? n : 1, sizeof *copy_bytes);
    struct filemem *fm = calloc(1, sizeof *fm);
    int rc = -1;
    if (!maps || !copy_bytes || !fm || !(fm->ranges = calloc(n ? n : 1, sizeof *fm->ranges)))
        goto out;
    fm->base.ops = &filemem_ops;
    size_t ncopy = 0, file_bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t kind;
        uint64_t addr;
        uint32_t len;
        const unsigned char *bytes;
        if (take(c, &kind, 1) || take(c, &addr, 8) || take(c, &len, 4) || skip(c, &bytes, len) || len == 0 ||
            addr + len < addr)
            goto out;
        if (kind == RECORDING_COPY) {
            if (addr % RECORDING_PAGE || len % RECORDING_PAGE ||
                (ncopy && maps[ncopy - 1].end > addr))
                goto out;
            maps[ncopy] = (struct mapping){.start = addr, .end = addr + len,
                                           .perms = MAP_R | MAP_W | MAP_P, .path = (char *)""};
            copy_bytes[ncopy++] = bytes;
        } else if (kind == RECORDING_FILE) {
            fm->ranges[fm->n++] = (struct file_range){addr, len, bytes};
            file_bytes += len;
        } else {
            goto out;
        }
    }
    /* The file bytes are copied: the input is not kept. */
    if (!(fm->data = malloc(file_bytes ? file_bytes : 1)))
        goto out;
    size_t at = 0;
    for (size_t i = 0; i < fm->n; i++) {
        memcpy(fm->data + at, fm->ranges[i].bytes, fm->ranges[i].len);
        fm->ranges[i].bytes = fm->data + at;
        at += fm->ranges[i].len;
    }
    qsort(fm->ranges, fm->n, sizeof *fm->ranges, by_start);
    r->files = &fm->base;
    fm = NULL;
    r->snap->live = r->files;
    r->snap->bytes_copied = 0;
    struct maps m = {maps, ncopy, 0};
    struct phs_error err;
    if (snapshot_prepare(r->snap, &m, &err) != PHS_OK)
        goto out;
    for (size_t i = 0; i < r->snap->nregions; i++) {
        struct snapshot_region *reg = &r->snap->regions[i];
        memcpy(r->snap->buf + reg->buf_offset, copy_bytes[i], (size_t)(reg->end - reg->start));
        reg->copied = 1;
        r->snap->bytes_copied += reg->end - reg->start;
    }
    rc = 0;
out:
    if (fm)
        filemem_free(&fm->base);
    free(maps);
    free(copy_bytes);
    return rc;
}

int replay_load(struct replay *r, const unsigned char *data, size_t len, struct snapshot *snap_reuse)
{
    memset(r, 0, sizeof *r);
    r->p.elf.fd = -1;
    struct cursor c = {data, len};
    char magic[8];
    uint64_t facts[3];
    uint32_t flags;
    if (take(&c, magic, 8) || memcmp(magic, RECORDING_MAGIC, 8) || take(&c, facts, sizeof facts) ||
        take(&c, &flags, 4))
        return -1;
    r->p.version_hex = facts[0];
    r->p.runtime_addr = facts[1];
    r->p.type_type_addr = facts[2];
    r->flags = flags;
    py_version_format(r->p.version_hex, r->p.version, sizeof r->p.version);
    r->own_snap = !snap_reuse;
    r->snap = snap_reuse ? snap_reuse : snapshot_new(NULL);
    if (!r->snap || load_offsets(&c, &r->p.off) || load_symbols(&c, &r->p.elf) || load_memory(&c, r) ||
        c.left) {
        replay_done(r);
        return -1;
    }
    r->p.mem = &r->snap->base;
    return 0;
}

void replay_done(struct replay *r)
{
    elf_file_close(&r->p.elf);
    if (r->snap) {
        r->snap->live = NULL;
        if (r->own_snap)
            snapshot_free(r->snap);
        r->snap = NULL;
    }
    memsrc_free(r->files);
    r->files = NULL;
}

long replay_ranges(const unsigned char *data, size_t len, struct replay_range *out, size_t cap)
{
    struct cursor c = {data, len};
    const unsigned char *at;
    uint32_t n;
    if (skip(&c, &at, 8 + 3 * 8 + 4) || memcmp(data, RECORDING_MAGIC, 8) || take(&c, &n, 4) || skip(&c, &at, n) ||
        take(&c, &n, 4) || n > MAX_SYMBOLS)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t l;
        if (take(&c, &l, 2) || skip(&c, &at, (size_t)l + 8))
            return -1;
    }
    if (take(&c, &n, 4) || n > MAX_RANGES)
        return -1;
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t kind;
        uint64_t addr;
        uint32_t l;
        if (take(&c, &kind, 1) || take(&c, &addr, 8) || take(&c, &l, 4) || skip(&c, &at, l))
            return -1;
        if (k < cap)
            out[k++] = (struct replay_range){(size_t)(at - data), l, addr, kind};
    }
    return c.left ? -1 : (long)k;
}

/* ---- what the commands do with a heap ---- */

struct visit {
    struct heap *h;
    struct heap_object batch[32];
    size_t nbatch;
    uint64_t objects, chars;
};

static void flush_previews(struct visit *v)
{
    char out[32 * 96];
    heap_previews(v->h, v->batch, v->nbatch, out, 96);
    for (size_t i = 0; i < v->nbatch; i++)
        v->chars += strlen(out + i * 96);
    v->nbatch = 0;
}

static int visit_object(const struct heap_object *o, const struct heap_edge *e, size_t n, void *arg)
{
    struct visit *v = arg;
    v->chars += (uint64_t)heap_length(v->h, o) + (uint64_t)heap_str_interned(v->h, o);
    for (size_t i = 0; i < n; i++)
        if (e[i].name)
            v->chars += strlen(e[i].name);
    /* Values and previews are most of the time of a replay (formatting
     * text): one object in four, which keeps the fuzzer at a useful rate. */
    if (v->objects++ % 4)
        return 0;
    char value[160];
    int truncated;
    if (heap_value(v->h, o, value, sizeof value, 100, &truncated))
        v->chars += strlen(value);
    v->batch[v->nbatch++] = *o;
    if (v->nbatch == sizeof v->batch / sizeof v->batch[0])
        flush_previews(v);
    return 0;
}

static int visit_frame(const struct heap_frame *f, const struct heap_edge *e, size_t n, void *arg)
{
    struct visit *v = arg;
    v->chars += strlen(f->function) + strlen(f->file);
    for (size_t i = 0; i < n; i++)
        if (e[i].name)
            v->chars += strlen(e[i].name);
    return 0;
}

static void visit_root(const char *root, const char *name, uint64_t addr, void *arg)
{
    struct visit *v = arg;
    v->chars += strlen(root) + (name ? strlen(name) : 0) + (addr & 1);
}

static int visit_unreferenced(const uint64_t *addrs, size_t n, void *arg)
{
    struct visit *v = arg;
    v->chars += n;
    return 0;
}

uint64_t replay_exercise(struct replay *r)
{
    struct phs_error err;
    int tolerant = (r->flags & RECORDING_TOLERANT) != 0;
    if (!tolerant) {              /* as a paused heap_take checks the copy first */
        struct py_state s;
        if (py_read_state(&r->p, &s, &err) != PHS_OK)
            return 0;
        py_state_done(&s);
    }
    struct heap h;
    struct heap_walk_opts opts = {tolerant};
    if (heap_walk(&r->p, &r->snap->base, r->snap, &opts, &h, &err) != PHS_OK)
        return 0;
    struct histogram hg;
    if (histogram_build(&h, &hg, &err) == PHS_OK) {
        histogram_sort(&hg, HISTO_BY_SIZE);
        histogram_done(&hg);
    }
    struct visit v = {.h = &h};
    if (heap_each_edges(&h, visit_object, &v) == 0) {
        flush_previews(&v);
        heap_thread_frames(&h, visit_frame, &v);
        heap_interpreter_roots(&h, visit_root, &v);
        heap_unreferenced(&h, visit_unreferenced, &v);
    }
    struct advice a;              /* advise: values, key sets, instances, tables */
    if (advise_build(&h, 4, &a, &err) == PHS_OK)
        advice_done(&a);
    uint64_t counted = h.total.count;
    heap_done(&h);
    return counted;
}
