/* dumpfile.c - reads a dump (see dumpfile.h and README "Dump format") line
 * by line through zlib (which reads plain files as they are) and json-c,
 * and sums each object into its kind's tally, as the walk does: a dict
 * that is an instance's __dict__ ("o") counts under its owner's "dict of".
 * Every record is checked: kinds are declared before use, the header comes
 * first and the end record last, so a cut or damaged file is reported. */
#include "pyheapscope/dumpfile.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pyheapscope/dumpfmt.h"

#define MAX_LINE (1ull << 31)      /* one record: a list of 100 M items is ~2 GB */
#define MAX_KINDS (1u << 24)

struct reader {
    gzFile gz;
    const char *path;
    char *line;
    size_t cap;
    uint64_t lineno;
    json_tokener *tok;
};

/* The next line into r->line (without the newline); 0 at the end of the
 * file, -1 on a read error or a line too long. */
static int next_line(struct reader *r, size_t *len)
{
    size_t n = 0;
    for (;;) {
        if (r->cap - n < 2) {
            size_t cap = r->cap ? r->cap * 2 : 1 << 16;
            char *nl = cap <= MAX_LINE ? realloc(r->line, cap) : NULL;
            if (!nl)
                return -1;
            r->line = nl;
            r->cap = cap;
        }
        int room = r->cap - n > (1u << 30) ? 1 << 30 : (int)(r->cap - n);
        if (!gzgets(r->gz, r->line + n, room)) {
            int zerr;
            gzerror(r->gz, &zerr);
            if (zerr != Z_OK && zerr != Z_BUF_ERROR)
                return -1;
            *len = n;
            return n ? 1 : 0;
        }
        n += strlen(r->line + n);
        if (n && r->line[n - 1] == '\n') {
            r->line[--n] = '\0';
            *len = n;
            r->lineno++;
            return 1;
        }
    }
}

static enum phs_status corrupt(struct reader *r, struct phs_error *err, const char *why)
{
    return phs_error_set(err, PHS_IO, 0, "%s: corrupt dump at line %llu: %s", r->path,
                         (unsigned long long)r->lineno, why);
}

static uint64_t get_u64(json_object *o, const char *key, int *ok)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v)) {
        *ok = 0;
        return 0;
    }
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
        *ok = -1;
    else
        *ok = 1;
    return (uint64_t)json_object_get_uint64(v);
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static void copy_str(char *out, size_t cap, const char *s)
{
    snprintf(out, cap, "%s", s ? s : "");
}

static enum phs_status read_header(struct reader *r, json_object *o, struct dump_header *hd, struct phs_error *err)
{
    const char *type = get_str(o, "type"), *format = get_str(o, "format");
    if (!type || strcmp(type, "header") != 0 || !format || strcmp(format, DUMP_FORMAT_NAME) != 0)
        return phs_error_set(err, PHS_IO, 0, "%s is not a pyheapscope dump (no header record)", r->path);
    int ok;
    hd->format_version = (unsigned)get_u64(o, "format_version", &ok);
    if (ok != 1)
        return corrupt(r, err, "header without format_version");
    if (hd->format_version != DUMP_FORMAT_VERSION)
        return phs_error_set(err, PHS_IO, 0, "%s: dump format version %u, this pyheapscope reads version %d",
                             r->path, hd->format_version, DUMP_FORMAT_VERSION);
    hd->pid = (int64_t)get_u64(o, "pid", &ok);
    copy_str(hd->python_version, sizeof hd->python_version, get_str(o, "python_version"));
    copy_str(hd->tool_version, sizeof hd->tool_version, get_str(o, "tool_version"));
    copy_str(hd->time, sizeof hd->time, get_str(o, "time"));
    copy_str(hd->cmdline, sizeof hd->cmdline, get_str(o, "cmdline"));
    json_object *v;
    hd->paused = json_object_object_get_ex(o, "paused", &v) && json_object_get_boolean(v);
    hd->pause_ns = get_u64(o, "pause_ns", &ok);
    hd->copy_ns = get_u64(o, "copy_ns", &ok);
    hd->walk_ns = get_u64(o, "walk_ns", &ok);
    hd->bytes_copied = get_u64(o, "bytes_copied", &ok);
    hd->objects = get_u64(o, "objects", &ok);
    hd->bytes = get_u64(o, "bytes", &ok);
    return PHS_OK;
}

static enum phs_status add_kind(struct reader *r, json_object *o, struct heap *h, struct phs_error *err)
{
    int ok;
    uint64_t id = get_u64(o, "id", &ok);
    const char *name = get_str(o, "name");
    if (ok != 1 || !name || id != h->ntypes || id >= MAX_KINDS)
        return corrupt(r, err, "kind record out of order or incomplete");
    struct heap_type *nt = realloc(h->types, (h->ntypes + 1) * sizeof *nt);
    if (!nt)
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    h->types = nt;
    char *copy = strdup(name);
    if (!copy)
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    json_object *v;
    h->types[h->ntypes++] = (struct heap_type){
        .addr = get_u64(o, "type_addr", &ok), .name = copy,
        .is_heap = json_object_object_get_ex(o, "heap_type", &v) && json_object_get_boolean(v)};
    return PHS_OK;
}

static enum phs_status add_object(struct reader *r, json_object *o, struct heap *h, struct phs_error *err)
{
    int ok_k, ok_s, ok_x, ok_o;
    uint64_t kind = get_u64(o, "k", &ok_k), size = get_u64(o, "s", &ok_s);
    uint64_t extra = get_u64(o, "x", &ok_x), owner = get_u64(o, "o", &ok_o);
    if (ok_k != 1 || ok_s != 1 || ok_x < 0 || ok_o < 0 || kind >= h->ntypes || (ok_o == 1 && owner >= h->ntypes))
        return corrupt(r, err, "object record without a declared kind or a size");
    struct heap_tally *t = ok_o == 1 ? &h->types[owner].dicts : &h->types[kind].objects;
    t->count++;
    t->bytes += size;
    t->extra += extra;
    h->total.count++;
    h->total.bytes += size;
    h->total.extra += extra;
    return PHS_OK;
}

/* One record; *end set by the end record. */
static enum phs_status one_record(struct reader *r, json_object *o, struct dump_header *hd, struct heap *h,
                                  int *end, struct phs_error *err)
{
    if (!json_object_is_type(o, json_type_object))
        return corrupt(r, err, "not a JSON object");
    if (r->lineno == 1)
        return read_header(r, o, hd, err);
    if (*end)
        return corrupt(r, err, "record after the end record");
    json_object *a;
    if (json_object_object_get_ex(o, "a", &a) && !json_object_object_get_ex(o, "type", NULL))
        return add_object(r, o, h, err);
    const char *type = get_str(o, "type");
    if (!type)
        return corrupt(r, err, "record without a type");
    if (strcmp(type, "kind") == 0)
        return add_kind(r, o, h, err);
    if (strcmp(type, "end") == 0) {
        int ok;
        uint64_t n = get_u64(o, "objects", &ok);
        if (ok != 1 || n != h->total.count)
            return corrupt(r, err, "the end record's object count does not match the records read");
        *end = 1;
    }
    return PHS_OK;      /* roots, and record types a later version may add */
}

enum phs_status dumpfile_read(const char *path, struct dump_header *hd, struct heap *h, struct phs_error *err)
{
    memset(hd, 0, sizeof *hd);
    memset(h, 0, sizeof *h);
    struct reader r = {.path = path};
    r.gz = gzopen(path, "rb");
    if (!r.gz)
        return phs_error_set(err, PHS_IO, errno, "cannot open %s: %s", path, strerror(errno ? errno : ENOENT));
    gzbuffer(r.gz, 1 << 20);
    r.tok = json_tokener_new();
    enum phs_status st = r.tok ? PHS_OK : phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    int end = 0;
    size_t len;
    int got;
    while (st == PHS_OK && (got = next_line(&r, &len)) > 0) {
        json_tokener_reset(r.tok);
        json_object *o = json_tokener_parse_ex(r.tok, r.line, (int)len);
        enum json_tokener_error jerr = json_tokener_get_error(r.tok);
        if (!o || jerr != json_tokener_success || json_tokener_get_parse_end(r.tok) != len)
            st = jerr == json_tokener_continue
                     ? phs_error_set(err, PHS_IO, 0, "%s is truncated: line %llu ends in the middle of a record "
                                     "(was the dump interrupted?)", path, (unsigned long long)r.lineno)
                     : corrupt(&r, err, o ? "trailing bytes after the record" : json_tokener_error_desc(jerr));
        else
            st = one_record(&r, o, hd, h, &end, err);
        json_object_put(o);
    }
    if (st == PHS_OK && got < 0)
        st = phs_error_set(err, PHS_IO, errno, "%s: read error after line %llu (a damaged gzip stream?)", path,
                           (unsigned long long)r.lineno);
    if (st == PHS_OK && r.lineno == 0)
        st = phs_error_set(err, PHS_IO, 0, "%s is empty, not a pyheapscope dump", path);
    if (st == PHS_OK && !end)
        st = phs_error_set(err, PHS_IO, 0, "%s is truncated: it ends after line %llu with %llu objects and "
                           "no end record (was the dump interrupted?)", path, (unsigned long long)r.lineno,
                           (unsigned long long)h->total.count);
    if (r.tok)
        json_tokener_free(r.tok);
    gzclose(r.gz);
    free(r.line);
    if (st != PHS_OK)
        heap_done(h);
    return st;
}
