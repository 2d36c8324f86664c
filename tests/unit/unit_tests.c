/* unit_tests.c - unit tests of the pieces that need no live process: maps
 * parsing, version strings, the offsets table format and its selection,
 * the JSON writer, the fault-injecting memory source, the snapshot, the
 * histogram and the per-version layout rules.
 * Prints one line per failure and "N passed, N failed" last. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "pyheapscope/addrindex.h"
#include "pyheapscope/growth.h"
#include "pyheapscope/heap.h"
#include "pyheapscope/histogram.h"
#include "pyheapscope/json.h"
#include "pyheapscope/layout.h"
#include "pyheapscope/snapshot.h"
#include "pyheapscope/memsrc.h"
#include "pyheapscope/offsets.h"
#include "pyheapscope/refgraph.h"
#include "pyheapscope/runtime.h"
#include "pyheapscope/target.h"

static int passed, failed;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (cond)                                                              \
            passed++;                                                          \
        else {                                                                 \
            failed++;                                                          \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);             \
        }                                                                      \
    } while (0)

static void test_maps_parse(void)
{
    /* Regression: an anonymous mapping's empty path must not swallow the
     * next line (it hid libpython's .bss from the version scan). */
    const char *text =
        "7f38f6374000-7f38f63a9000 rw-p 00373000 fe:00 9343   /usr/lib/libpython3.10.so.1.0\n"
        "7f38f63a9000-7f38f63af000 rw-p 00000000 00:00 0 \n"
        "7f38f63cb000-7f38f63cd000 r-xp 00000000 00:00 0\n"
        "garbage line\n"
        "7ffc00001000-7ffc00002000 rw-p 00000000 00:00 0                          [stack]\n";
    struct maps m;
    struct phs_error err;
    CHECK(maps_parse(text, &m, &err) == PHS_OK);
    CHECK(m.n == 4);
    if (m.n == 4) {
        CHECK(strcmp(m.v[0].path, "/usr/lib/libpython3.10.so.1.0") == 0);
        CHECK(m.v[0].offset == 0x373000);
        CHECK(m.v[0].perms == (MAP_R | MAP_W | MAP_P));
        CHECK(strcmp(m.v[1].path, "") == 0);
        CHECK(strcmp(m.v[2].path, "") == 0);
        CHECK(m.v[2].perms == (MAP_R | MAP_X | MAP_P));
        CHECK(strcmp(m.v[3].path, "[stack]") == 0);
        CHECK(maps_find(&m, 0x7f38f63a9000) == &m.v[1]);
        CHECK(maps_find(&m, 0x7f38f63aefff) == &m.v[1]);
        CHECK(maps_find(&m, 0x7f38f63af000) == NULL);
        CHECK(maps_find(&m, 0) == NULL);
    }
    maps_done(&m);
}

static void test_version_parse(void)
{
    const char *s1 = "3.10.13 (main, May  9 2026, 07:34:36) [GCC 12.2.0]";
    CHECK(py_version_parse(s1, strlen(s1)) == 0x030a0df0);
    const char *s2 = "3.14.0rc2 (main, ...)";
    CHECK(py_version_parse(s2, strlen(s2)) == 0x030e00c2);
    const char *s3 = "3.13.0+ experimental free-threading build (main)";
    CHECK(py_version_parse(s3, strlen(s3)) == 0x030d00f0);
    const char *bad[] = {"3.10.13", "3.10.13(", "13.1.1 (x)", "3.x.1 (y)", "3.10.133 (z)", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(py_version_parse(bad[i], strlen(bad[i])) == 0);
    char out[32];
    py_version_format(0x030c01f0, out, sizeof out);
    CHECK(strcmp(out, "3.12.1") == 0);
    py_version_format(0x030e00a1, out, sizeof out);
    CHECK(strcmp(out, "3.14.0a1") == 0);
}

static void test_table_roundtrip(void)
{
    struct py_offsets a, b;
    struct phs_error err;
    CHECK(offsets_bundled(0x030c01f0, &a, &err) == PHS_OK);
    CHECK(a.major == 3 && a.minor == 12);
    CHECK(offsets_validate(&a, &err) == PHS_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    offsets_write_table(&a, f, "test");
    fclose(f);
    CHECK(offsets_parse_table(buf, &b, &err) == PHS_OK);
    CHECK(memcmp(a.v, b.v, sizeof a.v) == 0);
    char diffs[256];
    CHECK(offsets_compare(&a, &b, diffs, sizeof diffs) == 0);
    b.v[OFF_INTERP_GC] += 8;
    CHECK(offsets_compare(&a, &b, diffs, sizeof diffs) == 1);
    CHECK(strstr(diffs, "interp.gc") != NULL);
    free(buf);

    CHECK(offsets_parse_table("version 3.12\nno.such.field 3\n", &b, &err) == PHS_OFFSETS);
    CHECK(offsets_parse_table("interp.gc 8\n", &b, &err) == PHS_OFFSETS);       /* no version */
    CHECK(offsets_parse_table("version 3.12\ninterp.gc -8\n", &b, &err) == PHS_OFFSETS);
}

static void test_validate_rejects(void)
{
    struct py_offsets o;
    struct phs_error err;
    CHECK(offsets_bundled(0x030b07f0, &o, &err) == PHS_OK);
    o.v[OFF_TSTATE_THREAD_ID] = o.v[OFF_TSTATE_SIZE] + 8;      /* outside its struct */
    CHECK(offsets_validate(&o, &err) == PHS_OFFSETS);
    CHECK(offsets_bundled(0x030b07f0, &o, &err) == PHS_OK);
    o.v[OFF_INTERP_THREADS_HEAD] = OFFSET_ABSENT;              /* required */
    CHECK(offsets_validate(&o, &err) == PHS_OFFSETS);
    CHECK(offsets_bundled(0x030b07f0, &o, &err) == PHS_OK);
    o.v[OFF_RUNTIME_GC] = 320;                                 /* two GC homes */
    CHECK(offsets_validate(&o, &err) == PHS_OFFSETS);
}

static void test_table_selection(void)
{
    struct py_offsets o;
    struct phs_error err;
    CHECK(offsets_bundled(0x030d00f0, &o, &err) == PHS_OK);    /* 3.13.0 */
    CHECK(o.v[OFF_GC_GENERATIONS] == 24);
    CHECK(offsets_bundled(0x030d12f0, &o, &err) == PHS_OK);    /* 3.13.18: Debian's layout is a variant */
    CHECK(o.v[OFF_GC_GENERATIONS] == 24 && strstr(o.origin, "symbols/3.13.txt") != NULL);
    const char *names[8];
    size_t n = offsets_bundled_candidates(0x030d12f0, names, 8);
    CHECK(n == 2 && strcmp(names[0], "3.13") == 0 && strcmp(names[1], "3.13-debian-gchead") == 0);
    CHECK(offsets_bundled(0x031000f0, &o, &err) == PHS_UNSUPPORTED);   /* 3.16 */
    CHECK(offsets_bundled(0x030600f0, &o, &err) == PHS_UNSUPPORTED);   /* 3.6 */
    for (unsigned minor = 7; minor <= 15; minor++)
        CHECK(offsets_bundled(0x03000000u | (minor << 16) | 0xf0, &o, &err) == PHS_OK &&
              offsets_validate(&o, &err) == PHS_OK);
}

static void test_json_escaping(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct json j;
    json_init(&j, f, 0);
    json_object_begin(&j, NULL);
    json_string(&j, "s", "a\"b\\c\n\x01");
    json_array_begin(&j, "a");
    json_int(&j, NULL, -3);
    json_null(&j, NULL);
    json_array_end(&j);
    json_object_end(&j);
    fclose(f);
    CHECK(strcmp(buf, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"a\":[-3,null]}") == 0);
    free(buf);
}

/* A memory source over a local buffer, to drive the fault injector. */
struct bufmem {
    struct memsrc base;
    const unsigned char *data;
    size_t len;
};

static enum phs_status bufmem_read(struct memsrc *src, uint64_t addr, void *buf, size_t len,
                                   struct phs_error *err)
{
    struct bufmem *b = (struct bufmem *)src;
    if (addr > b->len || len > b->len - addr)
        return phs_error_set(err, PHS_READ, 0, "out of range");
    memcpy(buf, b->data + addr, len);
    return PHS_OK;
}

static void bufmem_free(struct memsrc *src) { free(src); }

static const struct memsrc_ops bufmem_ops = {.read = bufmem_read, .free = bufmem_free};

/* A stripped 3.13+ build as offsets_choose sees it: no DWARF, and a
 * _Py_DebugOffsets image (laid out as symbols/debug-offsets-M.m.txt says)
 * holding the values of the bundled table `values_from`, with one field
 * optionally overwritten. With gen0_at >= 0 the image also holds the main
 * interpreter, whose GC state's generation0 points at +gen0_at of it. */
struct fake_build {
    uint64_t version_hex;
    const char *values_from;
    enum offsets_field poke;  /* OFF_COUNT: none */
    int64_t poke_value;
    int64_t gen0_at;          /* -1: no interpreter yet */
    enum offsets_source force;
};

static enum phs_status choose_for_build(const struct fake_build *b, struct py_offsets *out, char *notes,
                                        size_t notes_cap, struct phs_error *err)
{
    static unsigned char image[32768];
    const uint64_t interp = 0x2000;
    struct py_offsets pos, val;
    char path[64];
    snprintf(path, sizeof path, "symbols/debug-offsets-%u.%u.txt", (unsigned)(b->version_hex >> 24),
             (unsigned)(b->version_hex >> 16) & 0xff);
    FILE *f = fopen(path, "re");
    CHECK(f != NULL);
    if (!f)
        return PHS_IO;
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    CHECK(offsets_parse_table(text, &pos, err) == PHS_OK);
    CHECK(offsets_bundled_named(b->values_from, &val, err) == PHS_OK);
    if (b->poke != OFF_COUNT)
        val.v[b->poke] = b->poke_value;
    memset(image, 0, sizeof image);
    memcpy(image, "xdebugpy", 8);
    memcpy(image + 8, &b->version_hex, 8);
    for (int i = 0; i < OFF_COUNT; i++)
        if (pos.v[i] != OFFSET_ABSENT && val.v[i] != OFFSET_ABSENT)
            memcpy(image + pos.v[i], &val.v[i], 8);
    if (b->gen0_at >= 0) {
        uint64_t gc = interp + (uint64_t)val.v[OFF_INTERP_GC];
        uint64_t gen0 = gc + (uint64_t)b->gen0_at;
        memcpy(image + val.v[OFF_RUNTIME_INTERP_MAIN], &interp, 8);
        memcpy(image + gc + (uint64_t)val.v[OFF_GC_GENERATION0], &gen0, 8);
    }
    struct bufmem mem = {.base.ops = &bufmem_ops, .data = image, .len = sizeof image};
    struct offsets_request rq = {.elf_path = "/nonexistent/python3", .debuginfo_path = "/nonexistent",
                                 .mem = &mem.base, .runtime_addr = 0, .version_hex = b->version_hex,
                                 .force = b->force};
    char debug_file[64];
    return offsets_choose(&rq, out, debug_file, sizeof debug_file, notes, notes_cap, err);
}

static enum phs_status choose_for_debug_offsets(uint64_t version_hex, const char *values_from,
                                                enum offsets_field poke, int64_t poke_value,
                                                struct py_offsets *out, struct phs_error *err)
{
    struct fake_build b = {version_hex, values_from, poke, poke_value, -1, OFFSETS_NONE};
    char notes[1024];
    return choose_for_build(&b, out, notes, sizeof notes, err);
}

/* A 3.13 build is told from Debian's (PyGC_Head 4-byte aligned, so the GC
 * generations at +20 of the GC state, not +24) by where its generation0
 * pointer points: the patch number says nothing, and _Py_DebugOffsets do
 * not have the generations. A build that fits no table is refused. */
static void test_gc_state_picks_table(void)
{
    struct py_offsets o;
    struct phs_error err;
    char notes[1024];
    struct fake_build upstream = {0x030d12f0, "3.13", OFF_COUNT, 0, 24, OFFSETS_NONE};  /* 3.13.18 */
    CHECK(choose_for_build(&upstream, &o, notes, sizeof notes, &err) == PHS_OK);
    CHECK(strstr(o.origin, "symbols/3.13.txt") != NULL && o.v[OFF_GC_GENERATIONS] == 24);
    struct fake_build debian = {0x030d05f0, "3.13-debian-gchead", OFF_COUNT, 0, 20, OFFSETS_NONE};  /* 3.13.5 */
    CHECK(choose_for_build(&debian, &o, notes, sizeof notes, &err) == PHS_OK);
    CHECK(strstr(o.origin, "3.13-debian-gchead") != NULL && o.v[OFF_GC_GENERATIONS] == 20);
    debian.force = OFFSETS_BUNDLED;               /* forced, the bundled tables still have to fit */
    CHECK(choose_for_build(&debian, &o, notes, sizeof notes, &err) == PHS_OK);
    CHECK(strstr(o.origin, "3.13-debian-gchead") != NULL && strstr(notes, "does not fit") == NULL);
    struct fake_build neither = {0x030d05f0, "3.13", OFF_COUNT, 0, 28, OFFSETS_NONE};
    CHECK(choose_for_build(&neither, &o, notes, sizeof notes, &err) == PHS_OFFSETS);
    CHECK(strstr(err.msg, "generation 0 is at +28 of the GC state, the table says +24") != NULL);
    CHECK(strstr(err.msg, "no other bundled table of the version fits") != NULL);
    neither.force = OFFSETS_BUNDLED;              /* forced: the user's word, with a note */
    CHECK(choose_for_build(&neither, &o, notes, sizeof notes, &err) == PHS_OK);
    CHECK(strstr(o.origin, "symbols/3.13.txt") != NULL && strstr(notes, "does not fit this build") != NULL);
    struct fake_build no_interp = {0x030d05f0, "3.13", OFF_COUNT, 0, -1, OFFSETS_NONE};   /* cannot tell */
    CHECK(choose_for_build(&no_interp, &o, notes, sizeof notes, &err) == PHS_OK);
    CHECK(strstr(o.origin, "symbols/3.13.txt") != NULL);
}

/* _Py_DebugOffsets pick the bundled table that agrees with them, variants
 * included, and a table that agrees with none is refused by name. */
static void test_debug_offsets_pick_table(void)
{
    struct py_offsets o;
    struct phs_error err;
    CHECK(choose_for_debug_offsets(0x030e0af0, "3.14", OFF_COUNT, 0, &o, &err) == PHS_OK);
    CHECK(o.source == OFFSETS_DEBUG_OFFSETS && strstr(o.origin, "symbols/3.14.txt") != NULL);
    CHECK(o.v[OFF_GC_GENERATION0] == 256);
    /* 3.14.0's incremental GC: a later patch number does not matter, the fit does */
    CHECK(choose_for_debug_offsets(0x030e03f0, "3.14.0-incremental-gc", OFF_COUNT, 0, &o, &err) == PHS_OK);
    CHECK(strstr(o.origin, "3.14.0-incremental-gc") != NULL);
    CHECK(o.v[OFF_INTERP_MODULES] == 7664 && o.v[OFF_GC_GENERATION0] == OFFSET_ABSENT);
    /* the sizes of the runtime and interpreter vary with build options */
    CHECK(choose_for_debug_offsets(0x030e0af0, "3.14", OFF_INTERP_SIZE, 230000, &o, &err) == PHS_OK);
    CHECK(o.v[OFF_INTERP_SIZE] == 230000);
    /* a field no table has: refused, naming the field and the table */
    CHECK(choose_for_debug_offsets(0x030e0af0, "3.14", OFF_INTERP_MODULES, 7696, &o, &err) == PHS_OFFSETS);
    CHECK(strstr(err.msg, "interp.modules: 7696 vs 7688") != NULL && strstr(err.msg, "3.14.txt") != NULL);
}

static void test_faultmem(void)
{
    /* Memory comes in pages: keep the buffer a multiple of 64 bytes, as
     * memsrc_read_cstr reads up to 64-byte boundaries. */
    static const unsigned char data[64] = "hello\0world";
    struct bufmem *b = calloc(1, sizeof *b);
    b->base.ops = &bufmem_ops;
    b->data = data;
    b->len = sizeof data;
    struct memsrc *m = faultmem_new(&b->base, 2, 0);
    struct phs_error err;
    char s[16];
    CHECK(memsrc_read_cstr(m, 0, s, sizeof s, &err) == PHS_OK && strcmp(s, "hello") == 0);
    CHECK(memsrc_read_cstr(m, 6, s, sizeof s, &err) == PHS_READ);  /* read #2 fails */
    CHECK(memsrc_read_cstr(m, 6, s, sizeof s, &err) == PHS_OK && strcmp(s, "world") == 0);
    CHECK(memsrc_read_cstr(m, 0, s, 4, &err) == PHS_READ);         /* too long for the buffer */
    memsrc_free(m);
}

/* The snapshot copies only private writable mappings, serves reads inside
 * one copied mapping from the copy, and sends the rest to the live source. */
static void test_snapshot(void)
{
    static unsigned char data[0x4000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7);
    struct bufmem *b = calloc(1, sizeof *b);
    b->base.ops = &bufmem_ops;
    b->data = data;
    b->len = sizeof data;
    struct mapping v[3] = {
        {0x1000, 0x2000, 0, MAP_R | MAP_W | MAP_P, 0, (char *)""},
        {0x2000, 0x3000, 0, MAP_R | MAP_X | MAP_P, 0, (char *)"/lib/x.so"},
        {0x3000, 0x4000, 0, MAP_R | MAP_W | MAP_P, 0, (char *)"[stack]"},
    };
    struct maps m = {v, 3, 0};
    struct snapshot *s = snapshot_new(&b->base);
    struct phs_error err;
    CHECK(snapshot_prepare(s, &m, &err) == PHS_OK);
    CHECK(s->nregions == 1 && s->buf_size == 0x1000);
    CHECK(snapshot_copy(s, &err) == PHS_OK && s->bytes_copied == 0x1000);
    data[0x1010] ^= 0xff;                       /* the target changes after the copy */
    const unsigned char *p = snapshot_ptr(s, 0x1010, 8);
    CHECK(p && p[0] == (unsigned char)(0x1010 * 7));
    CHECK(snapshot_ptr(s, 0x1ffc, 8) == NULL);  /* runs past the mapping */
    CHECK(snapshot_ptr(s, 0x2000, 8) == NULL);  /* not copied */
    unsigned char out[4];
    CHECK(memsrc_read(&s->base, 0x2100, out, 4, &err) == PHS_OK && out[0] == (unsigned char)(0x2100 * 7));
    CHECK(memsrc_read(&s->base, 0x1010, out, 1, &err) == PHS_OK && out[0] == (unsigned char)(0x1010 * 7));
    snapshot_free(s);
    free(b);
}

/* A memory source that holds its address as every 8-byte word: what a
 * lookup returns says where it looked. */
static enum phs_status addrmem_read(struct memsrc *src, uint64_t addr, void *buf, size_t len,
                                    struct phs_error *err)
{
    (void)src;
    (void)err;
    unsigned char *out = buf;
    for (size_t i = 0; i < len; i++) {
        uint64_t a = addr + i, word = a & ~7ull;
        out[i] = (unsigned char)(word >> (8 * (a & 7)));
    }
    return PHS_OK;
}

static const struct memsrc_ops addrmem_ops = {.read = addrmem_read, .free = bufmem_free,
                                             .parallel_bulk_reads = 1};

static uint64_t word_at_ptr(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Region lookups: a region larger than the 2 MiB granule, small regions
 * sharing one granule (served by the page table), holes between them, and
 * the copy done by several threads landing where it belongs. */
static void test_snapshot_lookup(void)
{
    struct memsrc *live = calloc(1, sizeof(struct bufmem));
    live->ops = &addrmem_ops;
    struct mapping v[5] = {
        {0x40000000, 0x40000000 + (48u << 20), 0, MAP_R | MAP_W | MAP_P, 0, (char *)""},   /* 48 MiB */
        {0x50001000, 0x50003000, 0, MAP_R | MAP_W | MAP_P, 0, (char *)""},               /* two small ones */
        {0x50004000, 0x50005000, 0, MAP_R | MAP_W | MAP_P, 0, (char *)""},               /* in one granule */
        {0x50005000, 0x50006000, 0, MAP_R | MAP_P, 0, (char *)"/lib/y.so"},             /* not copied */
        {0x7f0000000000, 0x7f0000001000, 0, MAP_R | MAP_W | MAP_P, 0, (char *)""},
    };
    struct maps m = {v, 5, 0};
    struct snapshot *s = snapshot_new(live);
    struct phs_error err;
    CHECK(snapshot_prepare(s, &m, &err) == PHS_OK && s->nregions == 4);
    CHECK(snapshot_copy(s, &err) == PHS_OK && s->bytes_copied == (48u << 20) + 0x4000);
    static const uint64_t inside[] = {0x40000000, 0x40000000 + (17u << 20) + 8, 0x40000000 + (48u << 20) - 8,
                                      0x50001000, 0x50002ff8, 0x50004000, 0x50004ff8, 0x7f0000000ff8};
    for (size_t i = 0; i < sizeof inside / sizeof *inside; i++) {
        const unsigned char *p = snapshot_ptr(s, inside[i], 8);
        CHECK(p && word_at_ptr(p) == inside[i]);
    }
    static const uint64_t outside[] = {0x3ffffff8, 0x40000000 + (48u << 20), 0x50000ff8, 0x50003000,
                                       0x50005000, 0x50006000, 0x7f0000001000, 8};
    for (size_t i = 0; i < sizeof outside / sizeof *outside; i++)
        CHECK(snapshot_ptr(s, outside[i], 8) == NULL);
    CHECK(snapshot_ptr(s, 0x50002ffc, 8) == NULL);   /* runs past its region into a hole */

    /* A reader's hint outlives the regions it was taken from: after the
     * next prepare it must not serve a lookup, even where the address
     * range is the same, and a span reports its region's end. */
    struct snapshot_hint mine[2] = {0};
    const unsigned char *end = NULL;
    const unsigned char *p = snapshot_span_at(s, mine, 0x50001008, 8, &end);
    CHECK(p && word_at_ptr(p) == 0x50001008 && end == p - 8 + 0x2000);
    CHECK(mine[0].start == 0x50001000 && mine[0].len == 0x2000);
    CHECK(snapshot_hint_at(s, &mine[0], 0x50002ff8, 8, &end) != NULL);
    CHECK(snapshot_hint_at(s, &mine[0], 0x50002ffc, 8, &end) == NULL);
    struct maps fewer = {&v[1], 1, 0};                  /* the small region only, first in the buffer now */
    CHECK(snapshot_prepare(s, &fewer, &err) == PHS_OK && s->nregions == 1);
    CHECK(snapshot_hint_at(s, &mine[0], 0x50001008, 8, &end) == NULL);
    CHECK(snapshot_copy(s, &err) == PHS_OK);
    p = snapshot_span_at(s, mine, 0x50001008, 8, &end);
    CHECK(p == s->buf + 8 && word_at_ptr(p) == 0x50001008 && end == s->buf + 0x2000);
    CHECK(snapshot_ptr(s, 0x40000000, 8) == NULL);   /* no longer copied */
    snapshot_free(s);
    free(live);
}

/* A buffer readied before attaching (snapshot_reserve) is the one the
 * copy then uses, faulted in by then; one not needed after all is
 * released without waiting for the rest of its fault-in. */
/* This process's own memory, as a live source. */
static enum phs_status selfmem_read(struct memsrc *src, uint64_t addr, void *buf, size_t len,
                                    struct phs_error *err)
{
    (void)src;
    (void)err;
    memcpy(buf, (const void *)(uintptr_t)addr, len);
    return PHS_OK;
}

static const struct memsrc_ops selfmem_ops = {.read = selfmem_read, .free = bufmem_free};

/* An anonymous mapping written only near its top, as a thread's stack is:
 * the copy starts at the lowest page written (pagemap of this very
 * process), and has what was written; copying again does not start lower.
 * Without a pid (no pagemap) the whole mapping is copied. */
static void test_snapshot_trims_unwritten_pages(void)
{
    size_t len = 8u << 20, page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *stack = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(stack != MAP_FAILED);
    if (stack == MAP_FAILED)
        return;
    madvise(stack, len, MADV_NOHUGEPAGE);
    memset(stack + len - 3 * page, 0x5a, 3 * page);
    uint64_t start = (uintptr_t)stack, end = start + len;
    struct mapping v[1] = {{start, end, 0, MAP_R | MAP_W | MAP_P, 0, (char *)""}};
    struct maps m = {v, 1, getpid()};
    struct memsrc *live = calloc(1, sizeof(struct bufmem));
    live->ops = &selfmem_ops;
    struct snapshot *s = snapshot_new(live);
    struct phs_error err;
    CHECK(snapshot_prepare(s, &m, &err) == PHS_OK && s->nregions == 1);
    uint64_t lowest = end - 3 * page;
    CHECK(s->regions[0].start == lowest);
    CHECK(s->regions[0].end == end && s->buf_size == end - s->regions[0].start);
    CHECK(snapshot_copy(s, &err) == PHS_OK);
    const unsigned char *p = snapshot_ptr(s, lowest, 8);
    CHECK(p && p[0] == 0x5a && p[7] == 0x5a);
    CHECK(snapshot_ptr(s, start, 8) == NULL);   /* below the copy */
    CHECK(snapshot_prepare(s, &m, &err) == PHS_OK && s->regions[0].start == lowest);   /* no creep */
    stack[len / 2] = 1;                         /* a page in the middle written: copied from there */
    CHECK(snapshot_prepare(s, &m, &err) == PHS_OK && s->nregions == 1);
    CHECK(s->regions[0].start == start + len / 2 / page * page);
    unsigned char out[8];                       /* below the copy: served live, zeros (reading maps */
    CHECK(memsrc_read(&s->base, start, out, 8, &err) == PHS_OK && out[0] == 0);   /* the zero page) */
    m.pid = 0;                                  /* no pagemap to ask: all of it */
    CHECK(snapshot_prepare(s, &m, &err) == PHS_OK && s->nregions == 1 && s->regions[0].start == start);
    snapshot_free(s);
    free(live);
    munmap(stack, len);
}

static void test_snapshot_reserve(void)
{
    struct memsrc *live = calloc(1, sizeof(struct bufmem));
    live->ops = &addrmem_ops;
    struct mapping v[2] = {
        {0x40000000, 0x40000000 + (80u << 20), 0, MAP_R | MAP_W | MAP_P, 0, (char *)""},   /* 80 MiB */
        {0x7f0000000000, 0x7f0000001000, 0, MAP_R | MAP_W | MAP_P, 0, (char *)""},
    };
    struct maps m = {v, 2, 0};
    struct snapshot *s = snapshot_new(NULL);
    snapshot_reserve(s, &m);
    CHECK(s->reserving && s->buf && s->buf_cap >= (80u << 20) + 0x1000);
    const unsigned char *reserved = s->buf;
    snapshot_set_live(s, live);
    struct phs_error err;
    CHECK(snapshot_prepare(s, &m, &err) == PHS_OK && !s->reserving);
    CHECK(s->buf == reserved && s->buf_faulted >= s->buf_size && s->buf_size == (80u << 20) + 0x1000);
    CHECK(snapshot_copy(s, &err) == PHS_OK && s->bytes_copied == (80u << 20) + 0x1000);
    const unsigned char *p = snapshot_ptr(s, 0x40000000 + (79u << 20), 8);
    CHECK(p && word_at_ptr(p) == 0x40000000 + (79u << 20));
    snapshot_free(s);

    struct snapshot *unused = snapshot_new(NULL);   /* the attach failed */
    snapshot_reserve(unused, &m);
    CHECK(unused->reserving);
    snapshot_free(unused);

    struct maps small = {&v[1], 1, 0};                  /* under 64 MiB: nothing started */
    struct snapshot *t = snapshot_new(live);
    snapshot_reserve(t, &small);
    CHECK(!t->reserving && !t->buf);
    snapshot_free(t);
    free(live);
}

static void test_histogram(void)
{
    /* two class objects with the same name are one kind; dicts owned by
     * an instance are "dict of" their owner's kind */
    struct heap_type types[3] = {
        {.addr = 1, .name = (char *)"dict", .objects = {1, 64, 0, 1, 0}},
        {.addr = 2, .name = (char *)"app.Order", .is_heap = 1, .objects = {2, 104, 40, 1, 0},
         .dicts = {1, 104, 0, 1, 0}},
        {.addr = 3, .name = (char *)"app.Order", .is_heap = 1, .objects = {1, 48, 40, 1, 1},
         .dicts = {1, 104, 0, 0, 0}},
    };
    struct heap h = {.types = types, .ntypes = 3, .total = {6, 424, 80, 4, 1}};
    struct histogram hg;
    struct phs_error err;
    CHECK(histogram_build(&h, &hg, &err) == PHS_OK);
    CHECK(hg.n == 3 && hg.count == 6 && hg.bytes == 424 && hg.extra_bytes == 80);
    histogram_sort(&hg, HISTO_BY_SIZE);
    CHECK(strcmp(hg.rows[0].kind, "dict of app.Order") == 0 && hg.rows[0].count == 2 && hg.rows[0].bytes == 208);
    CHECK(strcmp(hg.rows[1].kind, "app.Order") == 0 && hg.rows[1].count == 3 && hg.rows[1].bytes == 152);
    CHECK(hg.rows[1].permanent == 1 && hg.rows[1].gc_objects == 2 && hg.rows[1].extra_bytes == 80);
    histogram_sort(&hg, HISTO_BY_COUNT);
    CHECK(strcmp(hg.rows[0].kind, "app.Order") == 0 && strcmp(hg.rows[2].kind, "dict") == 0);
    histogram_done(&hg);
}

static void test_growth(void)
{
    struct histo_row r1[2] = {{(char *)"dict", 10, 1000, 0, 0, 0}, {(char *)"app.Order", 5, 240, 0, 0, 0}};
    struct histo_row r2[2] = {{(char *)"app.Order", 8, 384, 0, 0, 0}, {(char *)"str", 3, 150, 0, 0, 0}};
    struct histo_row r3[1] = {{(char *)"app.Order", 9, 432, 0, 0, 0}};
    struct histogram h1 = {r1, 2, 15, 1240, 0}, h2 = {r2, 2, 11, 534, 0}, h3 = {r3, 1, 9, 432, 0};
    struct growth g;
    struct phs_error err;
    growth_init(&g);
    CHECK(growth_update(&g, &h1, &err) == PHS_OK && g.n == 2 && g.dcount == 0);
    for (size_t i = 0; i < g.n; i++)
        CHECK(g.rows[i].dcount == 0 && g.rows[i].scount == 0);     /* the first refresh is the baseline */
    CHECK(growth_update(&g, &h2, &err) == PHS_OK && g.n == 3);      /* dict vanished: kept one refresh */
    growth_sort(&g, GROWTH_BY_DCOUNT, 0);
    CHECK(strcmp(g.rows[0].kind, "app.Order") == 0 && g.rows[0].dcount == 3 && g.rows[0].dbytes == 144);
    CHECK(strcmp(g.rows[1].kind, "str") == 0 && g.rows[1].dcount == 3);
    CHECK(strcmp(g.rows[2].kind, "dict") == 0 && g.rows[2].count == 0 && g.rows[2].dcount == -10);
    CHECK(g.dcount == -4 && g.dbytes == 534 - 1240);
    CHECK(growth_update(&g, &h3, &err) == PHS_OK);
    growth_sort(&g, GROWTH_BY_NAME, 0);
    CHECK(g.n == 2 && strcmp(g.rows[0].kind, "app.Order") == 0 && strcmp(g.rows[1].kind, "str") == 0);
    CHECK(g.rows[0].dcount == 1 && g.rows[0].scount == 4 && g.rows[1].scount == 0);   /* str: 0 - 0 */
    CHECK(g.scount == 9 - 15);
    growth_done(&g);
}

static void test_layouts(void)
{
    for (unsigned minor = 7; minor <= 15; minor++)
        CHECK(py_layout_for(3, minor) && py_layout_for(3, minor)->minor == minor);
    CHECK(py_layout_for(3, 6) == NULL && py_layout_for(3, 16) == NULL && py_layout_for(2, 7) == NULL);
    CHECK(py_layout_for(3, 10)->header_rule == HDR_IF_OBJECT_IS_GC);
    CHECK(py_layout_for(3, 13)->idict == IDICT_INLINE_VALUES && !py_layout_for(3, 13)->stackref_tagged);
    CHECK(py_layout_for(3, 14)->stackref_tagged && py_layout_for(3, 15)->gen_frame_cleared == 5);
    /* Unpicklers by minor and size: a size seen in another minor only is
     * no match; every row's fields are in struct order, inside the object,
     * with the Py_buffer (before input_buffer) after the memo's words. */
    CHECK(py_unpickler_layout(13, 264)->input_line == 144 && py_unpickler_layout(13, 272)->input_line == 152);
    CHECK(py_unpickler_layout(14, 296)->marks_size == 272 && py_unpickler_layout(15, 304)->marks_size == 280);
    CHECK(!py_unpickler_layout(12, 296) && !py_unpickler_layout(15, 296) && !py_unpickler_layout(7, 272));
    for (unsigned minor = 7; minor <= 15; minor++) {
        for (int64_t size = 200; size <= 400; size += 8) {
            const struct unpickler_layout *u = py_unpickler_layout(minor, size);
            if (!u)
                continue;
            CHECK(u->input_line - 8 - PY_BUFFER_SIZE > UNPICKLER_MEMO_SIZE && u->input_line < u->encoding &&
                  u->encoding < u->errors && u->errors < u->marks && u->marks < u->marks_size &&
                  u->marks_size + 8 < size);
        }
    }
}

/* ---- the reference graph: dominators, retained sizes, shortest paths ---- */

/* A graph of n nodes (addresses 8, 16, ...; size of node v = v + 1) from
 * an edge list, with the given roots. */
static void graph_make(struct ref_graph *g, size_t n, const uint32_t (*edges)[2], size_t nedges,
                       const uint32_t *roots, size_t nroots)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    g->addr = calloc(n + 1, 8);
    g->size = calloc(n + 1, 8);
    g->group = calloc(n + 1, 4);
    g->first = calloc(n + 1, 8);
    g->to = calloc(nedges + 1, 4);
    g->roots = calloc(nroots + 1, sizeof *g->roots);
    for (size_t v = 0; v < n; v++) {
        g->addr[v] = 8 * (v + 1);
        g->size[v] = v + 1;
    }
    for (size_t v = 0; v < n; v++) {          /* rows in node order */
        g->first[v] = g->nedges;
        for (size_t e = 0; e < nedges; e++)
            if (edges[e][0] == v)
                g->to[g->nedges++] = edges[e][1];
    }
    g->first[n] = g->nedges;
    for (size_t i = 0; i < nroots; i++)
        g->roots[i].node = roots[i];
    g->nroots = nroots;
}

/* Nodes reachable from the root set without passing through node cut. */
static void graph_reach(const struct ref_graph *g, const uint8_t *is_root, uint32_t cut, uint8_t *seen)
{
    uint32_t stack[64];
    size_t top = 0;
    memset(seen, 0, g->n);
    for (uint32_t v = 0; v < g->n; v++)
        if (is_root[v] && v != cut) {
            seen[v] = 1;
            stack[top++] = v;
        }
    while (top) {
        uint32_t v = stack[--top];
        for (uint64_t e = g->first[v]; e < g->first[v + 1]; e++) {
            uint32_t w = g->to[e];
            if (w != cut && !seen[w]) {
                seen[w] = 1;
                stack[top++] = w;
            }
        }
    }
}

/* Dominators by their definition (d dominates v if every way from the
 * roots to v passes through d), with the unreachable nodes made roots
 * lowest first as refgraph_dominators documents; compared on random
 * graphs, including cycles, self-references and duplicate edges. */
static void test_dominators_random(void)
{
    uint64_t seed = 12345;
    int mismatches = 0;
    for (int round = 0; round < 300; round++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = 2 + (seed >> 33) % 14, nedges = (seed >> 40) % (2 * n + 1);
        uint32_t edges[64][2], roots[4];
        for (size_t e = 0; e < nedges; e++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            edges[e][0] = (uint32_t)((seed >> 33) % n);
            edges[e][1] = (uint32_t)((seed >> 45) % n);
        }
        size_t nroots = round % 3;
        for (size_t i = 0; i < nroots; i++)
            roots[i] = (uint32_t)((seed >> (20 + 4 * i)) % n);
        struct ref_graph g;
        graph_make(&g, n, edges, nedges, roots, nroots);
        uint32_t idom[16];
        uint64_t retained[16];
        uint8_t unreachable[16], is_root[16] = {0}, seen[16], reached[16];
        CHECK(refgraph_dominators(&g, idom, retained, NULL, unreachable) == 0);
        for (size_t i = 0; i < nroots; i++)
            is_root[roots[i]] = 1;
        graph_reach(&g, is_root, REFGRAPH_NONE, reached);
        for (uint32_t v = 0; v < n; v++)
            if (!reached[v]) {
                is_root[v] = 1;
                graph_reach(&g, is_root, REFGRAPH_NONE, reached);
                if (unreachable[v] != 1)
                    mismatches++;
            }
        uint8_t dom[16][16];                  /* dom[d][v]: d dominates v (strictly) */
        for (uint32_t d = 0; d < n; d++) {
            graph_reach(&g, is_root, d, seen);
            for (uint32_t v = 0; v < n; v++)
                dom[d][v] = v != d && !seen[v];
        }
        for (uint32_t v = 0; v < n; v++) {
            /* the immediate dominator: the strict dominator every other one dominates */
            uint32_t want = REFGRAPH_NONE;
            for (uint32_t d = 0; d < n; d++) {
                if (!dom[d][v])
                    continue;
                int closest = 1;
                for (uint32_t o = 0; o < n; o++)
                    if (o != d && dom[o][v] && !dom[o][d])
                        closest = 0;
                if (closest)
                    want = d;
            }
            uint64_t sum = v + 1;
            for (uint32_t u = 0; u < n; u++)
                if (dom[v][u])
                    sum += u + 1;
            if (idom[v] != want || retained[v] != sum)
                mismatches++;
        }
        refgraph_free(&g);
    }
    CHECK(mismatches == 0);
}

static void test_paths_and_groups(void)
{
    /* 0 -> 1 -> 3, 0 -> 2 -> 3, 3 -> 4, 4 -> 3 (a cycle), 1 -> 1, 5 alone */
    static const uint32_t edges[][2] = {{0, 1}, {0, 2}, {1, 3}, {2, 3}, {3, 4}, {4, 3}, {1, 1}, {2, 3}};
    uint32_t roots[] = {0};
    struct ref_graph g;
    graph_make(&g, 6, edges, sizeof edges / sizeof edges[0], roots, 1);
    uint32_t dist[6], parent[6], paths[8 * 4];
    CHECK(refgraph_bfs(&g, dist, parent) == 0);
    CHECK(dist[0] == 0 && dist[3] == 2 && dist[4] == 3 && dist[5] == UINT32_MAX && parent[4] == 3);
    CHECK(refgraph_build_preds(&g) == 0);
    long np = refgraph_shortest_paths(&g, dist, 4, 8, paths);
    CHECK(np == 2);                               /* via 1 and via 2; the duplicate 2 -> 3 is one */
    if (np == 2) {
        CHECK(paths[0] == 0 && paths[1] == 1 && paths[2] == 3 && paths[3] == 4);
        CHECK(paths[4] == 0 && paths[5] == 2 && paths[6] == 3 && paths[7] == 4);
    }
    CHECK(refgraph_shortest_paths(&g, dist, 4, 1, paths) == 1);
    CHECK(refgraph_shortest_paths(&g, dist, 0, 8, paths) == 1 && paths[0] == 0);
    CHECK(refgraph_shortest_paths(&g, dist, 5, 8, paths) == 0);
    /* groups: 3 and 4 in group 1 (4 is dominated by 3: counted once), 1, 2 in 0 */
    uint32_t idom[6];
    uint64_t retained[6], by_group[3], count[3];
    uint8_t unreachable[6];
    g.group[1] = g.group[2] = 0;
    g.group[3] = g.group[4] = 1;
    g.group[0] = g.group[5] = 2;
    CHECK(refgraph_dominators(&g, idom, retained, NULL, unreachable) == 0);
    CHECK(idom[3] == 0 && idom[4] == 3 && idom[5] == REFGRAPH_NONE && unreachable[5] && !unreachable[4]);
    CHECK(retained[3] == 4 + 5 && retained[0] == 1 + 2 + 3 + 4 + 5);
    CHECK(refgraph_retained_by_group(&g, idom, retained, 3, by_group, count) == 0);
    CHECK(by_group[1] == 9 && count[1] == 2);
    CHECK(by_group[0] == 2 + 3 && by_group[2] == 15 + 6 && count[2] == 2);
    CHECK(refgraph_find(&g, 32) == 3 && refgraph_find(&g, 33) == REFGRAPH_NONE);
    refgraph_free(&g);
}

/* addr_index_find against a linear search, on ascending addresses that
 * cluster like a heap's (dense runs far apart), for every address and its
 * neighbours, with and without the slices. */
static void test_addr_index(void)
{
    uint64_t seed = 777;
    int mismatches = 0;
    for (int round = 0; round < 40; round++) {
        size_t n = (size_t)round * 37 % 500;
        uint64_t *addr = malloc((n ? n : 1) * sizeof *addr), a = 0x10000 + (uint64_t)round * 16;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            a += (seed >> 60) == 0 ? (seed >> 20) % (1ull << 40) : 16 * (1 + (seed >> 33) % 4);
            addr[i] = a;
        }
        struct addr_index ix, all = {.addr = addr, .n = n};
        CHECK(addr_index_build(&ix, addr, n) == 0);
        for (size_t i = 0; i < n; i++)
            for (int d = -8; d <= 8; d += 8) {
                uint64_t q = addr[i] + (uint64_t)(int64_t)d;
                size_t want = ADDR_INDEX_NONE;
                for (size_t k = 0; k < n; k++)
                    if (addr[k] == q)
                        want = k;
                mismatches += addr_index_find(&ix, q) != want || addr_index_find(&all, q) != want;
            }
        mismatches += addr_index_find(&ix, 0) != ADDR_INDEX_NONE || addr_index_find(&ix, UINT64_MAX) != ADDR_INDEX_NONE;
        addr_index_free(&ix);
        free(addr);
    }
    CHECK(mismatches == 0);
}

int main(void)
{
    test_maps_parse();
    test_version_parse();
    test_table_roundtrip();
    test_validate_rejects();
    test_table_selection();
    test_json_escaping();
    test_faultmem();
    test_debug_offsets_pick_table();
    test_gc_state_picks_table();
    test_snapshot();
    test_snapshot_lookup();
    test_snapshot_reserve();
    test_snapshot_trims_unwritten_pages();
    test_histogram();
    test_layouts();
    test_growth();
    test_dominators_random();
    test_paths_and_groups();
    test_addr_index();
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
