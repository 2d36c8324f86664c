/* unit_tests.c - unit tests of the pieces that need no live process: maps
 * parsing, version strings, the offsets table format and its selection,
 * the JSON writer, and the fault-injecting memory source.
 * Prints one line per failure and "N passed, N failed" last. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyheapscope/json.h"
#include "pyheapscope/memsrc.h"
#include "pyheapscope/offsets.h"
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
    CHECK(offsets_bundled(0x030d12f0, &o, &err) == PHS_OK);    /* 3.13.18 */
    CHECK(o.v[OFF_GC_GENERATIONS] == 20);
    CHECK(offsets_bundled(0x030d14f0, &o, &err) == PHS_OK);    /* 3.13.20 */
    CHECK(strstr(o.origin, "3.13.18") != NULL);
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

static const struct memsrc_ops bufmem_ops = {bufmem_read, bufmem_free, NULL};

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

int main(void)
{
    test_maps_parse();
    test_version_parse();
    test_table_roundtrip();
    test_validate_rejects();
    test_table_selection();
    test_json_escaping();
    test_faultmem();
    printf("unit: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
