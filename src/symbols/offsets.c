/* offsets.c - the offsets catalogue, the table text format, the validator
 * and the comparison of two sources. Reads no target memory. */
#include "pyheapscope/offsets.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *key;
    const char *dwarf_name;
    int is_typedef;
} struct_table[] = {
#define PHS_S_ROW(id, key, dwarf, td) {key, dwarf, td},
    PHS_OFFSET_STRUCTS(PHS_S_ROW)
#undef PHS_S_ROW
};

static const struct {
    const char *key;
    enum offsets_struct st;
    const char *path;
    int required;
} field_table[] = {
#define PHS_F_ROW(id, key, st, path, req) {key, OS_##st, path, req},
    PHS_OFFSET_FIELDS(PHS_F_ROW)
#undef PHS_F_ROW
};

const char *offsets_field_key(enum offsets_field f) { return field_table[f].key; }
enum offsets_struct offsets_field_struct(enum offsets_field f) { return field_table[f].st; }
const char *offsets_field_dwarf_path(enum offsets_field f) { return field_table[f].path; }
int offsets_field_required(enum offsets_field f) { return field_table[f].required; }
const char *offsets_struct_dwarf_name(enum offsets_struct s) { return struct_table[s].dwarf_name; }
int offsets_struct_is_typedef(enum offsets_struct s) { return struct_table[s].is_typedef; }

enum offsets_field offsets_struct_size_field(enum offsets_struct s)
{
    for (int f = 0; f < OFF_COUNT; f++)
        if (field_table[f].st == s && field_table[f].path == NULL)
            return (enum offsets_field)f;
    return OFF_COUNT;
}

enum offsets_field offsets_field_by_key(const char *key)
{
    for (int f = 0; f < OFF_COUNT; f++)
        if (strcmp(field_table[f].key, key) == 0)
            return (enum offsets_field)f;
    return OFF_COUNT;
}

const char *offsets_source_name(enum offsets_source s)
{
    switch (s) {
    case OFFSETS_DWARF: return "dwarf";
    case OFFSETS_DEBUG_OFFSETS: return "debug-offsets";
    case OFFSETS_BUNDLED: return "bundled";
    case OFFSETS_FILE: return "file";
    default: return "none";
    }
}

void offsets_init(struct py_offsets *o)
{
    memset(o, 0, sizeof *o);
    for (int f = 0; f < OFF_COUNT; f++)
        o->v[f] = OFFSET_ABSENT;
}

enum phs_status offsets_parse_table(const char *text, struct py_offsets *o, struct phs_error *err)
{
    offsets_init(o);
    unsigned lineno = 0;
    const char *line = text;
    while (line && *line) {
        lineno++;
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        char buf[256];
        if (len >= sizeof buf)
            return phs_error_set(err, PHS_OFFSETS, 0, "offsets table line %u is too long", lineno);
        memcpy(buf, line, len);
        buf[len] = '\0';
        line = eol ? eol + 1 : NULL;
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        char key[128], val[64], extra[8];
        int n = sscanf(buf, "%127s %63s %7s", key, val, extra);
        if (n <= 0)
            continue;
        if (n != 2)
            return phs_error_set(err, PHS_OFFSETS, 0, "offsets table line %u: expected \"key value\"", lineno);
        if (strcmp(key, "version") == 0) {
            if (sscanf(val, "%u.%u", &o->major, &o->minor) != 2)
                return phs_error_set(err, PHS_OFFSETS, 0, "offsets table line %u: bad version \"%s\"",
                                     lineno, val);
            continue;
        }
        enum offsets_field f = offsets_field_by_key(key);
        if (f == OFF_COUNT)
            return phs_error_set(err, PHS_OFFSETS, 0, "offsets table line %u: unknown field \"%s\"",
                                 lineno, key);
        if (strcmp(val, "absent") == 0) {
            o->v[f] = OFFSET_ABSENT;
            continue;
        }
        char *end;
        errno = 0;
        long long v = strtoll(val, &end, 0);
        if (*end || errno || v < 0 || v > (1LL << 32))
            return phs_error_set(err, PHS_OFFSETS, 0, "offsets table line %u: bad value \"%s\"", lineno, val);
        o->v[f] = v;
    }
    if (o->major == 0)
        return phs_error_set(err, PHS_OFFSETS, 0, "offsets table has no \"version\" line");
    return PHS_OK;
}

void offsets_write_table(const struct py_offsets *o, FILE *f, const char *comment)
{
    fprintf(f, "# pyheapscope offsets table. Regenerate with: pyheapscope symbols generate LIBPYTHON\n");
    if (comment && *comment)
        fprintf(f, "# %s\n", comment);
    fprintf(f, "version %u.%u\n", o->major, o->minor);
    for (int i = 0; i < OFF_COUNT; i++) {
        if (o->v[i] == OFFSET_ABSENT)
            fprintf(f, "%s absent\n", field_table[i].key);
        else
            fprintf(f, "%s %" PRId64 "\n", field_table[i].key, o->v[i]);
    }
}

/* Sizes beyond these mean the values are not CPython's. The runtime struct
 * is ~460 KB in 3.12 and the interpreter ~230 KB in 3.14/3.15. */
static int64_t max_struct_size(enum offsets_struct s)
{
    switch (s) {
    case OS_RUNTIME:
    case OS_INTERP: return 4 << 20;
    case OS_TSTATE:
    case OS_GC: return 64 << 10;
    default: return 4096;
    }
}

enum phs_status offsets_validate(const struct py_offsets *o, struct phs_error *err)
{
    for (int i = 0; i < OFF_COUNT; i++) {
        enum offsets_field f = (enum offsets_field)i;
        int64_t v = o->v[f];
        if (v == OFFSET_ABSENT) {
            if (field_table[f].required)
                return phs_error_set(err, PHS_OFFSETS, 0, "offsets (%s) lack required field %s",
                                     offsets_source_name(o->source), field_table[f].key);
            continue;
        }
        enum offsets_struct s = field_table[f].st;
        enum offsets_field size_field = offsets_struct_size_field(s);
        int64_t size = size_field == OFF_COUNT ? OFFSET_ABSENT : o->v[size_field];
        if (field_table[f].path == NULL) {
            if (v <= 0 || v > max_struct_size(s))
                return phs_error_set(err, PHS_OFFSETS, 0, "offsets (%s): implausible size %s = %" PRId64,
                                     offsets_source_name(o->source), field_table[f].key, v);
        } else if (size != OFFSET_ABSENT && v >= size) {
            return phs_error_set(err, PHS_OFFSETS, 0,
                                 "offsets (%s): %s = %" PRId64 " lies outside its struct (size %" PRId64 ")",
                                 offsets_source_name(o->source), field_table[f].key, v, size);
        }
    }
    /* Exactly one home for the GC state: the runtime (3.7/3.8) or the interpreter. */
    if ((o->v[OFF_RUNTIME_GC] == OFFSET_ABSENT) == (o->v[OFF_INTERP_GC] == OFFSET_ABSENT))
        return phs_error_set(err, PHS_OFFSETS, 0, "offsets (%s): the GC state must be in exactly one of "
                             "the runtime or the interpreter", offsets_source_name(o->source));
    if (o->v[OFF_GCHEAD_SIZE] != 16 && o->v[OFF_GCHEAD_SIZE] != 32)
        return phs_error_set(err, PHS_OFFSETS, 0, "offsets (%s): GC header of %" PRId64 " bytes",
                             offsets_source_name(o->source), o->v[OFF_GCHEAD_SIZE]);
    if (o->v[OFF_OBJECT_SIZE] != 16 || o->v[OFF_OBJECT_TYPE] != 8)
        return phs_error_set(err, PHS_OFFSETS, 0, "offsets (%s): PyObject is not {refcnt, type} of 16 bytes "
                             "(a debug or trace-refs build?)", offsets_source_name(o->source));
    return PHS_OK;
}

static int compare(const struct py_offsets *a, const struct py_offsets *b, int skip_build_sizes, char *out,
                   size_t cap)
{
    int diffs = 0;
    size_t used = 0;
    if (cap)
        out[0] = '\0';
    for (int i = 0; i < OFF_COUNT; i++) {
        if (a->v[i] == OFFSET_ABSENT || b->v[i] == OFFSET_ABSENT || a->v[i] == b->v[i])
            continue;
        if (skip_build_sizes && (i == OFF_RUNTIME_SIZE || i == OFF_INTERP_SIZE || i == OFF_TSTATE_SIZE))
            continue;
        diffs++;
        if (used < cap) {
            int w = snprintf(out + used, cap - used, "%s%s: %" PRId64 " vs %" PRId64,
                             used ? "; " : "", field_table[i].key, a->v[i], b->v[i]);
            if (w > 0)
                used += (size_t)w;
        }
    }
    return diffs;
}

int offsets_compare(const struct py_offsets *a, const struct py_offsets *b, char *out, size_t cap)
{
    return compare(a, b, 0, out, cap);
}

int offsets_disagree(const struct py_offsets *a, const struct py_offsets *b, char *out, size_t cap)
{
    return compare(a, b, 1, out, cap);
}
