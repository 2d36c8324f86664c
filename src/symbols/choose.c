/* choose.c - picks the offsets source for a target, best first: DWARF
 * (through the cache of tables read before), _Py_DebugOffsets (completed
 * by the bundled table), the bundled table.
 * Records why each better source was passed over, and cross-checks DWARF
 * against _Py_DebugOffsets where both exist. */
#include "pyheapscope/offsets.h"

#include <errno.h>
#include <inttypes.h>
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

/* Whether the target's memory fits table o where only a table can say:
 * the GC state holds a pointer, generation0, to the head of generation 0,
 * set once at start-up, so the generations must start where it points.
 * This is what tells apart builds whose headers differ without their
 * _Py_DebugOffsets showing it: Debian's 3.13 declares PyGC_Head 4-byte
 * aligned (gchead-alignment.diff), which moves the generations from +24 to
 * +20 of the GC state. 1: fits; 0: does not (why says how); -1: cannot
 * tell (no generation0 in the table, no interpreter yet, unreadable). */
static int gc_heads_fit(const struct offsets_request *rq, const struct py_offsets *o, char *why, size_t cap)
{
    const int64_t *v = o->v;
    if (v[OFF_GC_GENERATION0] == OFFSET_ABSENT || v[OFF_GC_GENERATIONS] == OFFSET_ABSENT ||
        v[OFF_GCGEN_HEAD] == OFFSET_ABSENT)
        return -1;
    struct phs_error ignored;
    uint64_t gc;
    if (v[OFF_INTERP_GC] != OFFSET_ABSENT) {
        uint64_t interp = 0;
        int64_t at = v[OFF_RUNTIME_INTERP_MAIN] != OFFSET_ABSENT ? v[OFF_RUNTIME_INTERP_MAIN]
                                                                 : v[OFF_RUNTIME_INTERP_HEAD];
        if (at == OFFSET_ABSENT ||
            memsrc_read_u64(rq->mem, rq->runtime_addr + (uint64_t)at, &interp, &ignored) != PHS_OK || interp == 0)
            return -1;
        gc = interp + (uint64_t)v[OFF_INTERP_GC];
    } else if (v[OFF_RUNTIME_GC] != OFFSET_ABSENT) {
        gc = rq->runtime_addr + (uint64_t)v[OFF_RUNTIME_GC];
    } else {
        return -1;
    }
    uint64_t generation0;
    if (memsrc_read_u64(rq->mem, gc + (uint64_t)v[OFF_GC_GENERATION0], &generation0, &ignored) != PHS_OK ||
        generation0 == 0)     /* not set yet: an interpreter still starting */
        return -1;
    int64_t expected = v[OFF_GC_GENERATIONS] + v[OFF_GCGEN_HEAD];
    if (generation0 == gc + (uint64_t)expected)
        return 1;
    if (generation0 - gc < 4096)
        snprintf(why, cap, "generation 0 is at +%" PRIu64 " of the GC state, the table says +%" PRId64,
                 generation0 - gc, expected);
    else
        snprintf(why, cap, "the GC state's generation0 pointer reads 0x%" PRIx64 ", not the GC state + %" PRId64,
                 generation0, expected);
    return 0;
}

/* What pick_bundled found. */
struct pick {
    int fit;                  /* o fits; else o is the table picked by number */
    size_t ncandidates;       /* tables of the version tried */
    const char *first;        /* the table picked by number */
    char why[360];            /* why it did not fit */
};

/* The first bundled table of the target's version that fits it, into o:
 * the one picked by patch number first, then the version's other tables
 * and variants (M.m[.p]-TAG). A table fits if it agrees with the build's
 * _Py_DebugOffsets (dbg, when given) on every field both have, and the GC
 * state where it puts it (gc_heads_fit). Without one that fits: the table
 * picked by number, pk saying why it did not fit (or PHS_UNSUPPORTED if
 * the version has no table). */
static enum phs_status pick_bundled(const struct offsets_request *rq, const struct py_offsets *dbg,
                                    struct py_offsets *o, struct pick *pk, struct phs_error *err)
{
    const char *names[MAX_CANDIDATES];
    size_t n = offsets_bundled_candidates(rq->version_hex, names, MAX_CANDIDATES);
    memset(pk, 0, sizeof *pk);
    pk->ncandidates = n;
    if (n == 0)
        return offsets_bundled(rq->version_hex, o, err);   /* fails, and says which tables exist */
    for (size_t i = 0; i < n; i++) {
        char why[320] = "";
        enum phs_status st = offsets_bundled_named(names[i], o, err);
        if (st != PHS_OK)
            return st;
        int agrees = !dbg || offsets_disagree(dbg, o, why, sizeof why) == 0;
        if (agrees && gc_heads_fit(rq, o, why, sizeof why) != 0) {
            pk->fit = 1;
            return PHS_OK;
        }
        if (i == 0)
            snprintf(pk->why, sizeof pk->why, "%s%s", agrees ? "" : "_Py_DebugOffsets vs table: ", why);
    }
    pk->first = names[0];
    return offsets_bundled_named(names[0], o, err);
}

/* The refusal when no bundled table fits: why the one picked by number
 * does not, what follows from that, and what to give instead. */
static enum phs_status refuse_unfit(const struct offsets_request *rq, const struct pick *pk, const char *so,
                                    const char *instead, struct phs_error *err)
{
    return phs_error_set(err, PHS_OFFSETS, 0, "this %u.%u build does not fit the bundled table symbols/%s.txt "
                         "(%s)%s%s; give this build's layout with --offsets-file (contrib/probe-offsets.py makes "
                         "one from its headers) or its %s", hex_major(rq->version_hex), hex_minor(rq->version_hex),
                         pk->first, pk->why,
                         pk->ncandidates > 1 ? ", and no other bundled table of the version fits either" : "", so,
                         instead);
}

/* _Py_DebugOffsets give the runtime-structure offsets of the very build; the
 * bundled table adds what they lack (GC list layout, object layouts). The
 * table must agree with them on every field both have: a table made for
 * another patch range or build would otherwise be trusted for the fields
 * only it has. Which table: pick_bundled (3.14.0's incremental GC, which a
 * later 3.14 patch reverted, is known only by its different
 * _Py_DebugOffsets; Debian's 3.13 only by where its GC generations are). */
static enum phs_status from_debug_offsets(const struct offsets_request *rq, struct py_offsets *o,
                                          struct phs_error *err)
{
    struct py_offsets dbg;
    offsets_init(&dbg);
    enum phs_status st = offsets_from_debug_offsets(rq->mem, rq->runtime_addr, rq->version_hex, &dbg, err);
    if (st != PHS_OK)
        return st;
    struct pick pk;
    if ((st = pick_bundled(rq, &dbg, o, &pk, err)) != PHS_OK)
        return st == PHS_UNSUPPORTED ? phs_error_prefix(err, "_Py_DebugOffsets lacks the GC list layout and") : st;
    if (!pk.fit)
        return refuse_unfit(rq, &pk, ", so the table cannot be trusted for the fields only it has", "DWARF", err);
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

/* The bundled table alone (before 3.13, or forced): the first that fits
 * the target's GC state. Chosen automatically, a table that does not fit
 * is refused; forced, it is the user's word, and notes say it does not
 * fit. */
static enum phs_status from_bundled(const struct offsets_request *rq, struct py_offsets *o, int forced,
                                    char *notes, size_t notes_cap, struct phs_error *err)
{
    struct pick pk;
    enum phs_status st = pick_bundled(rq, NULL, o, &pk, err);
    if (st != PHS_OK)
        return st;
    if (!pk.fit && !forced)
        return refuse_unfit(rq, &pk, "", "debug symbols", err);
    if (!pk.fit)
        note(notes, notes_cap, "the %s does not fit this build: %s", o->origin, pk.why);
    return offsets_validate(o, err);
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
        if ((st = from_bundled(rq, out, 1, notes, notes_cap, err)) == PHS_OK && has_debug_offsets)
            cross_check(rq, "the bundled table", out, notes, notes_cap);
        return st;
    default:
        break;
    }

    char tool[96] = "";
    int cache = rq->cache_dir && rq->cache_dir[0] && rq->build_id && rq->build_id[0];
    if (cache)
        offsets_cache_tool_id(tool, sizeof tool);
    int cached = cache && offsets_cache_load(rq->cache_dir, tool, rq->build_id, hex_major(rq->version_hex), minor,
                                             out, debug_file, debug_cap);
    if (cached || from_dwarf(rq, out, debug_file, debug_cap, &why) == PHS_OK) {
        if (cache && !cached)
            offsets_cache_store(rq->cache_dir, tool, rq->build_id, out, debug_file);
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
    return from_bundled(rq, out, 0, notes, notes_cap, err);
}
