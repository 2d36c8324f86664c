/* choose.c - picks the offsets source for a target, best first: DWARF,
 * _Py_DebugOffsets (completed by the bundled table), the bundled table.
 * Records why each better source was passed over, and cross-checks DWARF
 * against _Py_DebugOffsets where both exist. */
#include "pyheapscope/offsets.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void note(char *notes, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(notes);
    if (used + 3 >= cap)
        return;
    if (used) {
        memcpy(notes + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(notes + used, cap - used, fmt, ap);
    va_end(ap);
}

static unsigned hex_major(uint64_t h) { return (unsigned)(h >> 24) & 0xff; }
static unsigned hex_minor(uint64_t h) { return (unsigned)(h >> 16) & 0xff; }

static enum phs_status from_file(const struct offsets_request *rq, struct py_offsets *o,
                                 struct phs_error *err)
{
    FILE *f = fopen(rq->offsets_file, "re");
    if (!f)
        return phs_error_set(err, PHS_IO, errno, "cannot open offsets file %s: %s", rq->offsets_file,
                             strerror(errno));
    char *text = calloc(1, 1 << 20);
    size_t n = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (!text)
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    text[n] = '\0';
    enum phs_status st = offsets_parse_table(text, o, err);
    free(text);
    if (st != PHS_OK)
        return phs_error_prefix(err, "%s", rq->offsets_file);
    if (o->major != hex_major(rq->version_hex) || o->minor != hex_minor(rq->version_hex))
        return phs_error_set(err, PHS_OFFSETS, 0, "offsets file %s is for Python %u.%u but the target runs %u.%u",
                             rq->offsets_file, o->major, o->minor, hex_major(rq->version_hex),
                             hex_minor(rq->version_hex));
    o->source = OFFSETS_FILE;
    snprintf(o->origin, sizeof o->origin, "table file %s", rq->offsets_file);
    return PHS_OK;
}

static enum phs_status from_dwarf(const struct offsets_request *rq, struct py_offsets *o,
                                  char *debug_file, size_t debug_cap, struct phs_error *err)
{
    offsets_init(o);
    enum phs_status st = offsets_from_dwarf(rq->elf_path, rq->debuginfo_path, o, debug_file, debug_cap, err);
    if (st != PHS_OK)
        return st;
    o->major = hex_major(rq->version_hex);
    o->minor = hex_minor(rq->version_hex);
    snprintf(o->origin, sizeof o->origin, "DWARF in %s", debug_file);
    return offsets_validate(o, err);
}

#define MAX_CANDIDATES 16

/* _Py_DebugOffsets give the runtime-structure offsets of the very build; the
 * bundled table adds what they lack (GC list layout, object layouts). The
 * table must agree with them on every field both have: a table made for
 * another patch range or build would otherwise be trusted for the fields
 * only it has. The patch-selected table is tried first, then the other
 * tables and variants of the version (3.14.0's incremental GC, which a later
 * 3.14 patch reverted, is known only by its different _Py_DebugOffsets). */
static enum phs_status from_debug_offsets(const struct offsets_request *rq, struct py_offsets *o,
                                          struct phs_error *err)
{
    struct py_offsets dbg;
    offsets_init(&dbg);
    enum phs_status st = offsets_from_debug_offsets(rq->mem, rq->runtime_addr, rq->version_hex, &dbg, err);
    if (st != PHS_OK)
        return st;
    const char *names[MAX_CANDIDATES];
    size_t n = offsets_bundled_candidates(rq->version_hex, names, MAX_CANDIDATES);
    if (n == 0) {
        offsets_bundled(rq->version_hex, o, err);   /* fails, and says which tables exist */
        return phs_error_prefix(err, "_Py_DebugOffsets lacks the GC list layout and");
    }
    char first_diffs[320] = "";
    for (size_t i = 0; i < n; i++) {
        char diffs[320];
        if ((st = offsets_bundled_named(names[i], o, err)) != PHS_OK)
            return st;
        int ndiff = offsets_disagree(&dbg, o, diffs, sizeof diffs);
        if (i == 0)
            snprintf(first_diffs, sizeof first_diffs, "%s", diffs);
        if (ndiff)
            continue;
        char table_origin[sizeof o->origin];
        memcpy(table_origin, o->origin, sizeof table_origin);
        for (int f = 0; f < OFF_COUNT; f++)
            if (dbg.v[f] != OFFSET_ABSENT)
                o->v[f] = dbg.v[f];
        o->source = OFFSETS_DEBUG_OFFSETS;
        snprintf(o->origin, sizeof o->origin, "_Py_DebugOffsets in the target; fields it lacks "
                 "(GC list layout, object layouts) from the %s, which agrees with them", table_origin);
        return offsets_validate(o, err);
    }
    return phs_error_set(err, PHS_OFFSETS, 0, "this %u.%u build's _Py_DebugOffsets disagree with the bundled "
                         "table symbols/%s.txt (_Py_DebugOffsets vs table: %s)%s, so the table cannot be "
                         "trusted for the fields only it has; give this build's layout with --offsets-file "
                         "(contrib/probe-offsets.py makes one from its headers) or its DWARF",
                         hex_major(rq->version_hex), hex_minor(rq->version_hex), names[0], first_diffs,
                         n > 1 ? ", and no other bundled table of the version fits either" : "");
}

static enum phs_status from_bundled(const struct offsets_request *rq, struct py_offsets *o,
                                    struct phs_error *err)
{
    enum phs_status st = offsets_bundled(rq->version_hex, o, err);
    return st != PHS_OK ? st : offsets_validate(o, err);
}

/* Where DWARF won, or a table was forced, and the target also has
 * _Py_DebugOffsets, compare them: a difference means one of them is wrong,
 * and info says so (a forced source is the user's word: not refused). */
static void cross_check(const struct offsets_request *rq, const char *label, const struct py_offsets *o,
                        char *notes, size_t cap)
{
    struct py_offsets dbg;
    struct phs_error e;
    offsets_init(&dbg);
    if (offsets_from_debug_offsets(rq->mem, rq->runtime_addr, rq->version_hex, &dbg, &e) != PHS_OK)
        return;
    char diffs[512];
    int n = offsets_disagree(o, &dbg, diffs, sizeof diffs);
    if (n == 0)
        note(notes, cap, "%s agrees with _Py_DebugOffsets", label);
    else
        note(notes, cap, "%s and _Py_DebugOffsets differ in %d fields (%s)", label, n, diffs);
}

enum phs_status offsets_choose(const struct offsets_request *rq, struct py_offsets *out,
                               char *debug_file, size_t debug_cap, char *notes, size_t notes_cap,
                               struct phs_error *err)
{
    if (debug_cap)
        debug_file[0] = '\0';
    if (notes_cap)
        notes[0] = '\0';
    unsigned minor = hex_minor(rq->version_hex);
    int has_debug_offsets = hex_major(rq->version_hex) == 3 && minor >= 13;
    struct phs_error why;

    enum phs_status st;
    switch (rq->force) {
    case OFFSETS_FILE:
        if ((st = from_file(rq, out, err)) == PHS_OK && has_debug_offsets)
            cross_check(rq, "the table file", out, notes, notes_cap);
        return st;
    case OFFSETS_DWARF:
        return from_dwarf(rq, out, debug_file, debug_cap, err);
    case OFFSETS_DEBUG_OFFSETS:
        if (!has_debug_offsets)
            return phs_error_set(err, PHS_UNSUPPORTED, 0, "_Py_DebugOffsets exists from Python 3.13 on; "
                                 "this target runs %u.%u", hex_major(rq->version_hex), minor);
        return from_debug_offsets(rq, out, err);
    case OFFSETS_BUNDLED:
        if ((st = from_bundled(rq, out, err)) == PHS_OK && has_debug_offsets)
            cross_check(rq, "the bundled table", out, notes, notes_cap);
        return st;
    default:
        break;
    }

    if (from_dwarf(rq, out, debug_file, debug_cap, &why) == PHS_OK) {
        if (has_debug_offsets)
            cross_check(rq, "DWARF", out, notes, notes_cap);
        return PHS_OK;
    }
    if (debug_cap)
        debug_file[0] = '\0';
    note(notes, notes_cap, "DWARF not used: %s", why.msg);
    if (has_debug_offsets) {
        if (from_debug_offsets(rq, out, &why) == PHS_OK)
            return PHS_OK;
        /* Free-threaded, or the build's own offsets contradict the table:
         * the table alone would be trusted where it is known to be wrong. */
        if (why.code == PHS_UNSUPPORTED || why.code == PHS_OFFSETS) {
            *err = why;
            return why.code;
        }
        note(notes, notes_cap, "_Py_DebugOffsets not used: %s", why.msg);
    }
    return from_bundled(rq, out, err);
}
