/* record.c - record-heap PID OUT: records what one heap walk of a live
 * target reads, as a recording (replay.h) for the fuzzer's corpus.
 *
 * It takes a snapshot as `summary` does (target paused for the copy only),
 * then runs replay_exercise over the copy with every page of the copy
 * protected: the first touch of a page faults, the handler notes the page
 * and opens it. Reads the snapshot sends to the live process (read-only
 * file data) go through a wrapper that notes them. The recording is those
 * pages and bytes, and it is loaded back and replayed before the tool
 * exits: the replay must count the same objects. Test tool; root or the
 * target's owner. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "replay.h"

/* ---- pages of the copy the walk touches ---- */

static unsigned char *traced_buf;
static size_t traced_len;
static unsigned char *touched;    /* one byte per page of the copy */

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    unsigned char *a = si->si_addr;
    if (a >= traced_buf && a < traced_buf + traced_len) {
        size_t page = (size_t)(a - traced_buf) / RECORDING_PAGE;
        touched[page] = 1;
        if (mprotect(traced_buf + page * RECORDING_PAGE, RECORDING_PAGE, PROT_READ | PROT_WRITE) == 0)
            return;
    }
    signal(sig, SIG_DFL);         /* a real crash: let it happen */
}

/* ---- live reads, noted ---- */

struct noted {
    uint64_t addr;
    size_t len;
};

struct tracemem {
    struct memsrc base;
    struct memsrc *inner;         /* borrowed */
    struct noted *v;
    size_t n, cap;
};

static enum phs_status trace_read(struct memsrc *src, uint64_t addr, void *buf, size_t len, struct phs_error *err)
{
    struct tracemem *t = (struct tracemem *)src;
    enum phs_status st = memsrc_read(t->inner, addr, buf, len, err);
    if (st == PHS_OK && len) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 1024;
            struct noted *v = realloc(t->v, cap * sizeof *v);
            if (!v)
                return st;        /* the recording will lack it; the replay check says so */
            t->v = v;
            t->cap = cap;
        }
        t->v[t->n++] = (struct noted){addr, len};
    }
    return st;
}

static void trace_free(struct memsrc *src)
{
    (void)src;
}

static const struct memsrc_ops trace_ops = {.read = trace_read, .free = trace_free};

static int by_addr(const void *a, const void *b)
{
    const struct noted *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* ---- writing ---- */

static void put(FILE *f, const void *p, size_t n)
{
    fwrite(p, 1, n, f);
}

static void put_range(FILE *f, uint8_t kind, uint64_t addr, const void *bytes, uint32_t len)
{
    put(f, &kind, 1);
    put(f, &addr, 8);
    put(f, &len, 4);
    put(f, bytes, len);
}

/* Sorted, overlapping and touching reads merged; n updated. */
static void merge(struct noted *v, size_t *n)
{
    qsort(v, *n, sizeof *v, by_addr);
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        if (k && v[i].addr <= v[k - 1].addr + v[k - 1].len) {
            uint64_t end = v[i].addr + v[i].len;
            if (end > v[k - 1].addr + v[k - 1].len)
                v[k - 1].len = (size_t)(end - v[k - 1].addr);
        } else {
            v[k++] = v[i];
        }
    }
    *n = k;
}

/* Call fn for each run of pages of the copy the walk touched, region by
 * region: the target address, the bytes in the copy, how many. */
static void each_touched_run(const struct snapshot *s,
                             void (*fn)(uint64_t addr, const unsigned char *data, size_t len, void *arg), void *arg)
{
    for (size_t i = 0; i < s->nregions; i++) {
        const struct snapshot_region *r = &s->regions[i];
        size_t first = r->buf_offset / RECORDING_PAGE, pages = (size_t)(r->end - r->start) / RECORDING_PAGE;
        for (size_t k = 0; k < pages;) {
            if (!touched[first + k]) {
                k++;
                continue;
            }
            size_t run = 0;
            while (k + run < pages && touched[first + k + run])
                run++;
            fn(r->start + (uint64_t)k * RECORDING_PAGE, s->buf + r->buf_offset + k * RECORDING_PAGE,
               run * RECORDING_PAGE, arg);
            k += run;
        }
    }
}

static void count_run(uint64_t addr, const unsigned char *data, size_t len, void *arg)
{
    (void)addr, (void)data, (void)len;
    ++*(size_t *)arg;
}

static void write_run(uint64_t addr, const unsigned char *data, size_t len, void *arg)
{
    put_range(arg, RECORDING_COPY, addr, data, (uint32_t)len);
}

static int write_recording(const char *out, struct py_process *p, struct snapshot *s, struct tracemem *t,
                           struct memsrc *live)
{
    FILE *f = fopen(out, "wb");
    if (!f)
        return -1;
    put(f, RECORDING_MAGIC, 8);
    uint64_t facts[3] = {p->version_hex, p->runtime_addr, p->type_type_addr};
    uint32_t flags = 0;
    put(f, facts, sizeof facts);
    put(f, &flags, 4);
    char *text = NULL;
    size_t text_len = 0;
    FILE *mf = open_memstream(&text, &text_len);
    if (!mf)
        return -1;
    offsets_write_table(&p->off, mf, "recorded");
    fclose(mf);
    uint32_t len32 = (uint32_t)text_len;
    put(f, &len32, 4);
    put(f, text, text_len);
    free(text);

    const char *names[256];
    size_t nnames = heap_symbols_used(names, 256);
    uint64_t addrs[256];
    const char *found[256];
    uint32_t nfound = 0;
    for (size_t i = 0; i < nnames; i++)
        if (elf_file_symbol(&p->elf, names[i], &addrs[nfound], NULL))
            found[nfound++] = names[i];
    put(f, &nfound, 4);
    for (uint32_t i = 0; i < nfound; i++) {
        uint16_t l = (uint16_t)strlen(found[i]);
        put(f, &l, 2);
        put(f, found[i], l);
        put(f, &addrs[i], 8);
    }

    merge(t->v, &t->n);
    size_t runs = t->n;
    each_touched_run(s, count_run, &runs);
    uint32_t nranges = (uint32_t)runs;
    put(f, &nranges, 4);
    each_touched_run(s, write_run, f);
    for (size_t i = 0; i < t->n; i++) {
        unsigned char *b = malloc(t->v[i].len);
        struct phs_error err;
        if (!b || memsrc_read(live, t->v[i].addr, b, t->v[i].len, &err) != PHS_OK) {
            free(b);
            fclose(f);
            return -1;
        }
        put_range(f, RECORDING_FILE, t->v[i].addr, b, (uint32_t)t->v[i].len);
        free(b);
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int check_replay(const char *out, uint64_t expected)
{
    FILE *f = fopen(out, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    unsigned char *data = malloc((size_t)size);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(data);
        return -1;
    }
    fclose(f);
    struct replay r;
    int rc = replay_load(&r, data, (size_t)size, NULL);
    free(data);
    if (rc != 0) {
        fprintf(stderr, "record-heap: %s does not load back\n", out);
        return -1;
    }
    uint64_t got = replay_exercise(&r);
    replay_done(&r);
    fprintf(stderr, "record-heap: %s: %ld bytes; the walk counted %" PRIu64 " objects, the replay %" PRIu64 "\n",
            out, size, expected, got);
    return got == expected ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: record-heap PID OUT\n");
        return 2;
    }
    struct phs_error err;
    memset(&err, 0, sizeof err);
    struct py_process p;
    struct py_attach_opts opts = {0};
    if (py_attach((pid_t)atoi(argv[1]), &opts, &p, &err) != PHS_OK) {
        fprintf(stderr, "record-heap: %s\n", err.msg);
        return 1;
    }
    struct snapshot *snap = snapshot_new(p.mem);
    struct heap h;
    struct heap_timing tm;
    if (!snap || heap_take(&p, snap, 0, &h, &tm, &err) != PHS_OK) {
        fprintf(stderr, "record-heap: %s\n", err.msg);
        return 1;
    }
    heap_done(&h);

    struct tracemem t = {.base = {.ops = &trace_ops}, .inner = p.mem};
    snap->live = &t.base;
    traced_buf = snap->buf;
    traced_len = (snap->buf_size + RECORDING_PAGE - 1) / RECORDING_PAGE * RECORDING_PAGE;
    touched = calloc(traced_len / RECORDING_PAGE + 1, 1);
    struct sigaction sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER};
    if (!touched || sigaction(SIGSEGV, &sa, NULL) != 0 || mprotect(traced_buf, traced_len, PROT_NONE) != 0) {
        fprintf(stderr, "record-heap: cannot trace the copy: %s\n", strerror(errno));
        return 1;
    }
    struct replay r = {.p = p, .snap = snap, .own_snap = 0};
    r.p.mem = &snap->base;
    uint64_t counted = replay_exercise(&r);
    mprotect(traced_buf, traced_len, PROT_READ | PROT_WRITE);
    signal(SIGSEGV, SIG_DFL);
    snap->live = p.mem;

    int rc = write_recording(argv[2], &p, snap, &t, p.mem);
    if (rc != 0)
        fprintf(stderr, "record-heap: cannot write %s\n", argv[2]);
    else
        rc = check_replay(argv[2], counted);
    free(t.v);
    free(touched);
    snapshot_free(snap);
    py_process_done(&p);
    return rc == 0 ? 0 : 1;
}
