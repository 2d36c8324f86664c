/* bundled.c - the offsets tables compiled into the binary from the .txt files of symbols/
 * (see the Makefile rule that generates build/tables.c) and the
 * _Py_DebugOffsets provider, whose per-version field positions are tables
 * of the same format (symbols/debug-offsets-M.m.txt).
 * Reads target memory only in offsets_from_debug_offsets. */
#include "pyheapscope/offsets.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct embedded_table {
    const char *name;   /* file name under symbols/ without ".txt" */
    const char *text;
};

/* Generated from symbols/ by the Makefile. */
extern const struct embedded_table phs_embedded_tables[];

static const char *find_table(const char *name)
{
    for (const struct embedded_table *t = phs_embedded_tables; t->name; t++)
        if (strcmp(t->name, name) == 0)
            return t->text;
    return NULL;
}

const char *offsets_bundled_versions(void)
{
    static char list[256];
    if (list[0])
        return list;
    size_t used = 0;
    for (const struct embedded_table *t = phs_embedded_tables; t->name; t++) {
        unsigned ma, mi;
        char extra;
        if (sscanf(t->name, "%u.%u%c", &ma, &mi, &extra) != 2)
            continue;   /* M.m.p variants are listed under their M.m */
        int w = snprintf(list + used, sizeof list - used, "%s%u.%u", used ? ", " : "", ma, mi);
        if (w > 0 && (size_t)w < sizeof list - used)
            used += (size_t)w;
    }
    return list;
}

/* Tables are named M.m (from M.m.0 on) or M.m.p (from patch release p on,
 * where a patch release moves something). Pick the latest one that starts
 * at or before the target's patch. Variants (M.m[.p]-TAG: 3.14 before its
 * GC revert, Debian's 3.13) are never picked by number: only when the
 * target fits them (choose.c). */
static int table_version(const char *name, unsigned *ma, unsigned *mi, unsigned *pa, int *variant)
{
    int used = 0;
    *pa = 0;
    *variant = 0;
    if (sscanf(name, "%u.%u%n", ma, mi, &used) != 2)
        return 0;
    const char *rest = name + used;
    if (*rest == '.') {
        int more = 0;
        if (sscanf(rest, ".%u%n", pa, &more) != 1)
            return 0;
        rest += more;
    }
    if (*rest == '-' && rest[1])
        *variant = 1;
    else if (*rest)
        return 0;
    return 1;
}

static const struct embedded_table *select_table(uint64_t version_hex)
{
    unsigned major = (version_hex >> 24) & 0xff, minor = (version_hex >> 16) & 0xff;
    unsigned patch = (version_hex >> 8) & 0xff;
    const struct embedded_table *best = NULL;
    int best_patch = -1;
    for (const struct embedded_table *t = phs_embedded_tables; t->name; t++) {
        unsigned ma, mi, pa;
        int variant;
        if (!table_version(t->name, &ma, &mi, &pa, &variant) || variant || ma != major || mi != minor ||
            pa > patch || (int)pa <= best_patch)
            continue;
        best = t;
        best_patch = (int)pa;
    }
    return best;
}

size_t offsets_bundled_candidates(uint64_t version_hex, const char **names, size_t cap)
{
    unsigned major = (version_hex >> 24) & 0xff, minor = (version_hex >> 16) & 0xff;
    const struct embedded_table *first = select_table(version_hex);
    size_t n = 0;
    if (first && n < cap)
        names[n++] = first->name;
    for (const struct embedded_table *t = phs_embedded_tables; t->name && n < cap; t++) {
        unsigned ma, mi, pa;
        int variant;
        if (t != first && table_version(t->name, &ma, &mi, &pa, &variant) && ma == major && mi == minor)
            names[n++] = t->name;
    }
    return n;
}

static enum phs_status load_table(const struct embedded_table *t, unsigned major, unsigned minor,
                                  struct py_offsets *o, struct phs_error *err)
{
    enum phs_status st = offsets_parse_table(t->text, o, err);
    if (st != PHS_OK)
        return phs_error_prefix(err, "bundled table %s", t->name);
    if (o->major != major || o->minor != minor)
        return phs_error_set(err, PHS_INTERNAL, 0, "bundled table %s says version %u.%u", t->name, o->major,
                             o->minor);
    o->source = OFFSETS_BUNDLED;
    snprintf(o->origin, sizeof o->origin, "table symbols/%s.txt compiled into pyheapscope", t->name);
    return PHS_OK;
}

enum phs_status offsets_bundled(uint64_t version_hex, struct py_offsets *o, struct phs_error *err)
{
    unsigned major = (version_hex >> 24) & 0xff, minor = (version_hex >> 16) & 0xff;
    const struct embedded_table *t = select_table(version_hex);
    if (!t)
        return phs_error_set(err, PHS_UNSUPPORTED, 0, "no bundled offsets table for Python %u.%u "
                             "(tables exist for %s)", major, minor, offsets_bundled_versions());
    return load_table(t, major, minor, o, err);
}

enum phs_status offsets_bundled_named(const char *name, struct py_offsets *o, struct phs_error *err)
{
    unsigned ma, mi, pa;
    int variant;
    for (const struct embedded_table *t = phs_embedded_tables; t->name; t++)
        if (strcmp(t->name, name) == 0 && table_version(t->name, &ma, &mi, &pa, &variant))
            return load_table(t, ma, mi, o, err);
    return phs_error_set(err, PHS_INTERNAL, 0, "no bundled table %s", name);
}

/* ---- _Py_DebugOffsets ------------------------------------------------------ */

#define DEBUG_OFFSETS_COOKIE "xdebugpy"
#define DEBUG_OFFSETS_MAX 4096   /* 584 in 3.13, 760 in 3.14, 888 in 3.15 */

enum phs_status offsets_from_debug_offsets(struct memsrc *src, uint64_t runtime_addr,
                                           uint64_t version_hex, struct py_offsets *o,
                                           struct phs_error *err)
{
    unsigned char head[24];
    enum phs_status st = memsrc_read(src, runtime_addr, head, sizeof head, err);
    if (st != PHS_OK)
        return phs_error_prefix(err, "reading _Py_DebugOffsets");
    if (memcmp(head, DEBUG_OFFSETS_COOKIE, 8) != 0)
        return phs_error_set(err, PHS_NOT_PYTHON, 0, "no _Py_DebugOffsets cookie at _PyRuntime "
                             "(0x%" PRIx64 "); it exists from Python 3.13 on", runtime_addr);
    uint64_t version, free_threaded;
    memcpy(&version, head + 8, 8);
    memcpy(&free_threaded, head + 16, 8);
    if (version_hex && (version >> 16) != (version_hex >> 16))
        return phs_error_set(err, PHS_OFFSETS, 0, "_Py_DebugOffsets says version 0x%" PRIx64
                             " but the binary says 0x%" PRIx64, version, version_hex);
    if (free_threaded)
        return phs_error_set(err, PHS_UNSUPPORTED, 0, "free-threaded (no-GIL) builds are not supported yet");
    unsigned major = (unsigned)(version >> 24) & 0xff, minor = (unsigned)(version >> 16) & 0xff;
    char name[48];
    snprintf(name, sizeof name, "debug-offsets-%u.%u", major, minor);
    const char *text = find_table(name);
    if (!text)
        return phs_error_set(err, PHS_UNSUPPORTED, 0, "the layout of _Py_DebugOffsets of Python %u.%u "
                             "is not known to this pyheapscope", major, minor);
    struct py_offsets pos;
    st = offsets_parse_table(text, &pos, err);
    if (st != PHS_OK)
        return phs_error_prefix(err, "bundled table %s", name);
    int64_t need = 0;
    for (int i = 0; i < OFF_COUNT; i++)
        if (pos.v[i] != OFFSET_ABSENT && pos.v[i] + 8 > need)
            need = pos.v[i] + 8;
    if (need > DEBUG_OFFSETS_MAX)
        return phs_error_set(err, PHS_INTERNAL, 0, "table %s reaches past %d bytes", name, DEBUG_OFFSETS_MAX);
    unsigned char raw[DEBUG_OFFSETS_MAX];
    st = memsrc_read(src, runtime_addr, raw, (size_t)need, err);
    if (st != PHS_OK)
        return phs_error_prefix(err, "reading _Py_DebugOffsets");
    for (int i = 0; i < OFF_COUNT; i++) {
        if (pos.v[i] == OFFSET_ABSENT)
            continue;
        uint64_t v;
        memcpy(&v, raw + pos.v[i], 8);
        if (v > (1u << 30))
            return phs_error_set(err, PHS_OFFSETS, 0, "_Py_DebugOffsets: implausible %s = %" PRIu64,
                                 offsets_field_key((enum offsets_field)i), v);
        o->v[i] = (int64_t)v;
    }
    o->major = major;
    o->minor = minor;
    return PHS_OK;
}
