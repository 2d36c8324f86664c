/* dumpfile.c - reads a dump (see dumpfile.h and README "Dump format") line
 * by line through zlib (which reads plain files as they are) and json-c,
 * and sums each object into its kind's tally, as the walk does: a dict
 * that is an instance's __dict__ ("o") counts under its owner's "dict of".
 * Every record is checked: kinds are declared before use, the header comes
 * first and the end record last, so a cut or damaged file is reported. */
#define _GNU_SOURCE                /* qsort_r */
#include "pyheapscope/dumpfile.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pyheapscope/dumpfmt.h"
#include "pyheapscope/refgraph.h"
#include "grow.h"
#include "jsonl_fast.h"

#define MAX_LINE (1ull << 31)      /* one record: a list of 100 M items is ~2 GB */
#define MAX_KINDS (1u << 24)
#define SEEK_GAP (8u << 20)        /* dumpfile_records_at: read on rather than seek below this */
#define GROUP_DICT_OF (1u << 31)   /* while reading: a dict of an instance of kind (low bits) */

struct u64vec {
    uint64_t *v;
    size_t n, cap;
};

struct reader {
    gzFile gz;
    const char *path;
    char *line;
    size_t cap;
    uint64_t lineno;
    uint64_t pos, line_pos;     /* offset in the (uncompressed) text: next line, this line */
    json_tokener *tok;
    struct jsonl_parser *fast;  /* object records; NULL: all through json-c */
    struct ref_graph *g;        /* dumpfile_read_graph: where objects and references go */
    size_t cap_nodes;
    struct u64vec refs;         /* the references' addresses, until they become node numbers */
    struct u64vec root_addrs;   /* the roots' addresses, likewise */
    size_t cap_roots;
    int unsorted;               /* the objects did not come in address order */
    int (*on_record)(const struct dump_record *rec, void *arg);   /* dumpfile_read_records */
    void *record_arg;
    struct dump_record rec;     /* ... the record handed over, its refs reused */
    size_t cap_refs;
};

/* The next line into r->line (without the newline); 0 at the end of the
 * file, -1 on a read error or a line too long. */
static int next_line(struct reader *r, size_t *len)
{
    size_t n = 0;
    r->line_pos = r->pos;
    for (;;) {
        if (r->cap - n < 2 + JSONL_PADDING) {
            size_t cap = r->cap ? r->cap * 2 : 1 << 16;
            char *nl = cap <= MAX_LINE ? realloc(r->line, cap) : NULL;
            if (!nl)
                return -1;
            r->line = nl;
            r->cap = cap;
        }
        /* JSONL_PADDING bytes stay free after the line for the fast parser */
        size_t free_bytes = r->cap - n - JSONL_PADDING;
        int room = free_bytes > (1u << 30) ? 1 << 30 : (int)free_bytes;
        if (!gzgets(r->gz, r->line + n, room)) {
            int zerr;
            gzerror(r->gz, &zerr);
            if (zerr != Z_OK && zerr != Z_BUF_ERROR)
                return -1;
            memset(r->line + n, 0, JSONL_PADDING);
            *len = n;
            return n ? 1 : 0;
        }
        size_t got = strlen(r->line + n);
        n += got;
        r->pos += got;
        if (n && r->line[n - 1] == '\n') {
            r->line[--n] = '\0';
            /* simdjson reads the padding ahead of its checks: give it
             * defined bytes (valgrind saw branches on stale ones) */
            memset(r->line + n, 0, JSONL_PADDING);
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

/* A count under key, or -1 if there is none. */
static int64_t get_count(json_object *o, const char *key)
{
    int ok;
    uint64_t v = get_u64(o, key, &ok);
    return ok == 1 && v <= INT64_MAX ? (int64_t)v : -1;
}

static const char *get_str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Two numbers under key into out; out left 0 0 unless both are there. */
static void get_pair(json_object *o, const char *key, uint64_t out[2])
{
    json_object *arr;
    if (!json_object_object_get_ex(o, key, &arr) || !json_object_is_type(arr, json_type_array) ||
        json_object_array_length(arr) != 2)
        return;
    for (size_t i = 0; i < 2; i++)
        if (!json_object_is_type(json_object_array_get_idx(arr, i), json_type_int))
            return;
    for (size_t i = 0; i < 2; i++)
        out[i] = json_object_get_uint64(json_object_array_get_idx(arr, i));
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
    if (hd->format_version < DUMP_FORMAT_OLDEST || hd->format_version > DUMP_FORMAT_VERSION)
        return phs_error_set(err, PHS_IO, 0, "%s: dump format version %u, this pyheapscope reads versions %d to %d",
                             r->path, hd->format_version, DUMP_FORMAT_OLDEST, DUMP_FORMAT_VERSION);
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
    get_pair(o, "slots_size", hd->slots_size);
    get_pair(o, "tuple_size", hd->tuple_size);
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
        .is_heap = json_object_object_get_ex(o, "heap_type", &v) && json_object_get_boolean(v),
        .has_dict = json_object_object_get_ex(o, "has_dict", &v) && json_object_get_boolean(v)};
    return PHS_OK;
}

static enum phs_status oom(struct phs_error *err)
{
    return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory while reading the dump");
}

/* Make room for one more node in every per-node array of the graph. */
static int graph_room(struct reader *r)
{
    struct ref_graph *g = r->g;
    if (g->n + 1 < r->cap_nodes)
        return 0;
    size_t cap = r->cap_nodes ? 2 * r->cap_nodes : 1 << 16;
    if (grow(&g->addr, cap, sizeof *g->addr) || grow(&g->size, cap, sizeof *g->size) ||
        grow(&g->first, cap, sizeof *g->first) || grow(&g->line_at, cap, sizeof *g->line_at) ||
        grow(&g->group, cap, sizeof *g->group))
        return -1;
    r->cap_nodes = cap;
    return 0;
}

static int vec_room(struct u64vec *vec, size_t more)
{
    if (vec->n + more <= vec->cap)
        return 0;
    size_t cap = grown_cap(vec->cap, vec->n + more, 1 << 16);
    if (grow(&vec->v, cap, sizeof *vec->v) != 0)
        return -1;
    vec->cap = cap;
    return 0;
}

/* Append the addresses under key in o (a number or a list of numbers). */
static enum phs_status take_addresses(struct reader *r, json_object *o, const char *key, struct u64vec *vec,
                                      size_t *count, struct phs_error *err)
{
    json_object *arr;
    *count = 0;
    if (!json_object_object_get_ex(o, key, &arr))
        return PHS_OK;
    if (json_object_is_type(arr, json_type_int)) {
        if (vec_room(vec, 1) != 0)
            return oom(err);
        vec->v[vec->n++] = json_object_get_uint64(arr);
        *count = 1;
        return PHS_OK;
    }
    if (!json_object_is_type(arr, json_type_array))
        return corrupt(r, err, "addresses that are not a list of numbers");
    size_t n = json_object_array_length(arr);
    if (vec_room(vec, n) != 0)
        return oom(err);
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(v, json_type_int))
            return corrupt(r, err, "an address that is not a number");
        vec->v[vec->n++] = json_object_get_uint64(v);
    }
    *count = n;
    return PHS_OK;
}

/* The node of one object; its references are appended by the caller. */
static enum phs_status graph_add_object(struct reader *r, uint64_t addr, uint32_t group, uint64_t size,
                                        struct phs_error *err)
{
    struct ref_graph *g = r->g;
    if (graph_room(r) != 0)
        return oom(err);
    if (g->n && addr <= g->addr[g->n - 1])
        r->unsorted = 1;
    g->addr[g->n] = addr;
    g->group[g->n] = group;
    g->size[g->n] = size;
    g->line_at[g->n] = r->line_pos;
    g->first[g->n] = r->refs.n;
    g->n++;
    return PHS_OK;
}

/* Count one object record into its kind's tally (and the graph). */
static enum phs_status add_fields(struct reader *r, const struct jsonl_object *f, struct heap *h,
                                  struct phs_error *err)
{
    if (!f->has_k || !f->has_s || f->k >= h->ntypes || (f->has_o && f->o >= h->ntypes))
        return corrupt(r, err, "object record without a declared kind or a size");
    uint64_t extra = f->has_x ? f->x : 0;
    struct heap_tally *t = f->has_o ? &h->types[f->o].dicts : &h->types[f->k].objects;
    t->count++;
    t->bytes += f->s;
    t->extra += extra;
    h->total.count++;
    h->total.bytes += f->s;
    h->total.extra += extra;
    if (!r->g)
        return PHS_OK;
    if (!f->has_a)
        return corrupt(r, err, "object record without an address");
    return graph_add_object(r, f->a, f->has_o ? (uint32_t)(GROUP_DICT_OF | f->o) : (uint32_t)f->k, f->s, err);
}

/* Make room for n references in rec->refs, which has room for *cap. */
static int record_room(struct dump_record *rec, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    if (grow(&rec->refs, n, sizeof *rec->refs) != 0)
        return -1;
    *cap = n;
    return 0;
}

/* dumpfile_read_records: the fast path's record as a dump_record. */
static enum phs_status hand_over_fast(struct reader *r, const struct jsonl_object *f, struct phs_error *err)
{
    struct dump_record *rec = &r->rec;
    if (record_room(&r->rec, &r->cap_refs, f->nr) != 0)
        return oom(err);
    struct dump_ref *refs = rec->refs;
    *rec = (struct dump_record){
        .addr = f->a, .kind = (uint32_t)f->k, .size = f->s, .value = f->v, .value_cut = f->vt, .nrefs = f->nr,
        .refs = refs, .extra = f->has_x ? f->x : 0, .owner = f->has_o ? (int64_t)f->o : -1,
        .length = f->has_n ? (int64_t)f->n : -1, .capacity = f->has_c ? (int64_t)f->c : -1,
        .has_table = f->has_t, .value_hash = f->vh};
    memcpy(rec->table, f->t, sizeof rec->table);
    for (size_t i = 0; i < f->nr; i++)
        refs[i] = (struct dump_ref){.to = f->r[i], .index = f->e ? f->e[i].index : (int64_t)i,
                                    .label = f->e ? f->e[i].text : NULL};
    return r->on_record(rec, r->record_arg) ? oom(err) : PHS_OK;
}

/* An object record parsed by the fast path. */
static enum phs_status add_fast_object(struct reader *r, const struct jsonl_object *f, struct heap *h,
                                       struct phs_error *err)
{
    enum phs_status st = add_fields(r, f, h, err);
    if (st == PHS_OK && r->on_record)
        st = hand_over_fast(r, f, err);
    if (st != PHS_OK || !r->g || f->nr == 0)
        return st;
    if (vec_room(&r->refs, f->nr) != 0)
        return oom(err);
    memcpy(r->refs.v + r->refs.n, f->r, f->nr * sizeof *f->r);
    r->refs.n += f->nr;
    return PHS_OK;
}

static int fill_record(json_object *o, struct dump_record *rec, size_t *cap_refs);

static int is_count(json_object *v)
{
    return json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0;
}

/* The fields dumpfile_read_records hands over beyond the tallies' are of
 * the types the format gives them: "v", "vh" strings, "vt" a boolean, "n",
 * "c" counts, "t" four counts, "e" an index or a label per reference. */
static int advise_fields_typed(json_object *o)
{
    json_object *v, *r;
    if ((json_object_object_get_ex(o, "v", &v) && !json_object_is_type(v, json_type_string)) ||
        (json_object_object_get_ex(o, "vh", &v) && !json_object_is_type(v, json_type_string)) ||
        (json_object_object_get_ex(o, "vt", &v) && !json_object_is_type(v, json_type_boolean)) ||
        (json_object_object_get_ex(o, "n", &v) && !is_count(v)) ||
        (json_object_object_get_ex(o, "c", &v) && !is_count(v)))
        return 0;
    if (json_object_object_get_ex(o, "t", &v)) {
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 4)
            return 0;
        for (size_t i = 0; i < 4; i++)
            if (!is_count(json_object_array_get_idx(v, i)))
                return 0;
    }
    if (json_object_object_get_ex(o, "e", &v)) {
        if (!json_object_is_type(v, json_type_array) || !json_object_object_get_ex(o, "r", &r) ||
            !json_object_is_type(r, json_type_array) || json_object_array_length(r) != json_object_array_length(v))
            return 0;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *label = json_object_array_get_idx(v, i);
            if (!is_count(label) && !json_object_is_type(label, json_type_string))
                return 0;
        }
    }
    return 1;
}

static enum phs_status add_object(struct reader *r, json_object *o, struct heap *h, struct phs_error *err)
{
    struct jsonl_object f = {0};
    int ok_a, ok_k, ok_s, ok_x, ok_o;
    f.a = get_u64(o, "a", &ok_a);
    f.k = get_u64(o, "k", &ok_k);
    f.s = get_u64(o, "s", &ok_s);
    f.x = get_u64(o, "x", &ok_x);
    f.o = get_u64(o, "o", &ok_o);
    if (ok_a < 0 || ok_k < 0 || ok_s < 0 || ok_x < 0 || ok_o < 0)
        return corrupt(r, err, "object record with a field that is not a number");
    f.has_a = ok_a == 1;
    f.has_k = ok_k == 1;
    f.has_s = ok_s == 1;
    f.has_x = ok_x == 1;
    f.has_o = ok_o == 1;
    enum phs_status st = add_fields(r, &f, h, err);
    size_t count;
    if (st == PHS_OK && r->g)
        st = take_addresses(r, o, "r", &r->refs, &count, err);
    if (st == PHS_OK && r->on_record) {
        if (!advise_fields_typed(o))
            return corrupt(r, err, "object record with a value, label, capacity or table of an unexpected type");
        if (fill_record(o, &r->rec, &r->cap_refs) != 0)
            return oom(err);
        st = r->on_record(&r->rec, r->record_arg) ? oom(err) : PHS_OK;
    }
    return st;
}

/* A root record: its name, and the objects it holds (into the refs, as
 * roots named after the record; a frame's are named by local too). */
static enum phs_status add_root(struct reader *r, json_object *o, struct phs_error *err)
{
    struct ref_graph *g = r->g;
    const char *root = get_str(o, "root");
    if (!root)
        return corrupt(r, err, "root record without a name");
    json_object *v;
    if (strcmp(root, "interned") == 0 && !(json_object_object_get_ex(o, "immortal", &v) && json_object_get_boolean(v)))
        return PHS_OK;     /* a mortal interned str is freed when nothing else holds it: not a root */
    size_t start = r->root_addrs.n, count;
    int frame = strcmp(root, "frame") == 0;
    enum phs_status st = take_addresses(r, o, frame ? "r" : "a", &r->root_addrs, &count, err);
    if (st != PHS_OK)
        return st;
    json_object *labels = NULL;
    if (frame && (!json_object_object_get_ex(o, "e", &labels) || !json_object_is_type(labels, json_type_array) ||
                  json_object_array_length(labels) != count))
        return corrupt(r, err, "frame root without a label for each reference");
    char name[512];
    if (frame) {
        int ok;
        uint64_t thread = get_u64(o, "thread", &ok), depth = get_u64(o, "depth", &ok);
        const char *fn = get_str(o, "function"), *file = get_str(o, "file");
        snprintf(name, sizeof name, "thread %llu, frame %llu: %s (%s)", (unsigned long long)thread,
                 (unsigned long long)depth, fn ? fn : "?", file ? file : "?");
    } else if (strcmp(root, "module") == 0) {
        const char *module = get_str(o, "name");
        snprintf(name, sizeof name, "module %s", module ? module : "?");
    } else
        snprintf(name, sizeof name, "%s", root);
    if (g->nroots + count > r->cap_roots) {
        size_t cap = grown_cap(r->cap_roots, g->nroots + count, 64);
        if (grow(&g->roots, cap, sizeof *g->roots) != 0)
            return oom(err);
        r->cap_roots = cap;
    }
    for (size_t i = 0; i < count; i++) {
        char full[700];
        const char *label = labels ? json_object_get_string(json_object_array_get_idx(labels, i)) : NULL;
        if (label)
            snprintf(full, sizeof full, "%s, %s", name, label);
        else
            snprintf(full, sizeof full, "%s", name);
        /* consecutive roots of one record (unreferenced batches) share a name */
        if (!g->nroot_names || strcmp(g->root_names[g->nroot_names - 1], full) != 0) {
            char **names = realloc(g->root_names, (g->nroot_names + 1) * sizeof *names);
            if (!names)
                return oom(err);
            g->root_names = names;
            if (!(g->root_names[g->nroot_names] = strdup(full)))
                return oom(err);
            g->nroot_names++;
        }
        /* the address is kept in node until the objects are all read */
        g->roots[g->nroots].name = (uint32_t)(g->nroot_names - 1);
        g->roots[g->nroots].weak = strcmp(root, "unreferenced") == 0;
        g->roots[g->nroots].node = (uint32_t)(start + i);     /* index into root_addrs, for now */
        g->nroots++;
    }
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
    if (r->g && strcmp(type, "root") == 0)
        return add_root(r, o, err);
    return PHS_OK;      /* record types a later version may add */
}

/* ---- the graph, once every record is read ---- */

/* Put the nodes in address order (the writer emits them so; a dump
 * written otherwise still reads). */
static int graph_sort(struct reader *r)
{
    struct ref_graph *g = r->g;
    size_t n = g->n;
    uint32_t *perm = malloc(n * sizeof *perm);
    uint64_t *addr = malloc(n * sizeof *addr), *size = malloc(n * sizeof *size);
    uint64_t *line_at = malloc(n * sizeof *line_at), *first = malloc((n + 1) * sizeof *first);
    uint32_t *group = malloc(n * sizeof *group);
    uint64_t *refs = malloc((r->refs.n ? r->refs.n : 1) * sizeof *refs);
    int rc = -1;
    if (!perm || !addr || !size || !line_at || !first || !group || !refs)
        goto out;
    addr_order(g->addr, n, perm);
    uint64_t pos = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t v = perm[k];
        addr[k] = g->addr[v];
        size[k] = g->size[v];
        line_at[k] = g->line_at[v];
        group[k] = g->group[v];
        first[k] = pos;
        for (uint64_t e = g->first[v]; e < g->first[v + 1]; e++)
            refs[pos++] = r->refs.v[e];
    }
    first[n] = pos;
#define SWAP(field, val) do { free(g->field); g->field = val; val = NULL; } while (0)
    SWAP(addr, addr);
    SWAP(size, size);
    SWAP(line_at, line_at);
    SWAP(first, first);
    SWAP(group, group);
#undef SWAP
    free(r->refs.v);
    r->refs.v = refs;
    r->refs.cap = r->refs.n;
    refs = NULL;
    r->cap_nodes = n;
    rc = 0;
out:
    free(perm);
    free(addr);
    free(size);
    free(line_at);
    free(first);
    free(group);
    free(refs);
    return rc;
}

/* Number the references and roots by node, and name the groups. */
static enum phs_status graph_finish(struct reader *r, size_t ntypes, struct phs_error *err)
{
    struct ref_graph *g = r->g;
    g->first[g->n] = r->refs.n;
    for (size_t v = 0; v < g->n; v++)
        if (g->group[v] & GROUP_DICT_OF)
            g->group[v] = (uint32_t)(ntypes + (g->group[v] & ~GROUP_DICT_OF));
    if (r->unsorted && graph_sort(r) != 0)
        return oom(err);
    for (size_t v = 1; v < g->n; v++)
        if (g->addr[v] == g->addr[v - 1])
            return phs_error_set(err, PHS_IO, 0, "%s: corrupt dump: two records for the object at 0x%llx",
                                 r->path, (unsigned long long)g->addr[v]);
    if (refgraph_index(g) != 0 || !(g->to = malloc((r->refs.n ? r->refs.n : 1) * sizeof *g->to)))
        return oom(err);
    g->nedges = r->refs.n;
    for (size_t e = 0; e < r->refs.n; e++)
        if ((g->to[e] = refgraph_find(g, r->refs.v[e])) == REFGRAPH_NONE)
            return phs_error_set(err, PHS_IO, 0, "%s: corrupt dump: a reference to 0x%llx, which has no object "
                                 "record", r->path, (unsigned long long)r->refs.v[e]);
    for (size_t i = 0; i < g->nroots; i++)
        if ((g->roots[i].node = refgraph_find(g, r->root_addrs.v[g->roots[i].node])) == REFGRAPH_NONE)
            return phs_error_set(err, PHS_IO, 0, "%s: corrupt dump: a root at an address with no object record",
                                 r->path);
    return PHS_OK;
}

static enum phs_status read_dump(const char *path, struct dump_header *hd, struct heap *h, struct ref_graph *g,
                                 int (*on_record)(const struct dump_record *rec, void *arg), void *record_arg,
                                 struct phs_error *err)
{
    memset(hd, 0, sizeof *hd);
    memset(h, 0, sizeof *h);
    struct reader r = {.path = path, .g = g, .on_record = on_record, .record_arg = record_arg};
    if (g)
        memset(g, 0, sizeof *g);
    r.gz = gzopen(path, "rb");
    if (!r.gz)
        return phs_error_set(err, PHS_IO, errno, "cannot open %s: %s", path, strerror(errno ? errno : ENOENT));
    gzbuffer(r.gz, 1 << 20);
    r.tok = json_tokener_new();
    enum phs_status st = r.tok && (!g || graph_room(&r) == 0) ? PHS_OK : oom(err);
    int end = 0;
    size_t len;
    int got;
    r.fast = jsonl_parser_new(on_record != NULL);
    while (st == PHS_OK && (got = next_line(&r, &len)) > 0) {
        if (r.fast && r.lineno > 1 && !end) {
            struct jsonl_object fo;
            int fr = jsonl_object_record(r.fast, r.line, len, &fo);
            if (fr == 1) {
                st = add_fast_object(&r, &fo, h, err);
                continue;
            }
            if (fr == -2) {
                st = oom(err);
                break;
            }
        }
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
    if (st == PHS_OK && g)
        st = graph_finish(&r, h->ntypes, err);
    jsonl_parser_free(r.fast);
    if (r.tok)
        json_tokener_free(r.tok);
    gzclose(r.gz);
    free(r.line);
    free(r.refs.v);
    free(r.root_addrs.v);
    free(r.rec.refs);
    if (st != PHS_OK) {
        heap_done(h);
        if (g)
            refgraph_free(g);
    }
    return st;
}

enum phs_status dumpfile_read(const char *path, struct dump_header *hd, struct heap *h, struct phs_error *err)
{
    return read_dump(path, hd, h, NULL, NULL, NULL, err);
}

enum phs_status dumpfile_read_records(const char *path, struct dump_header *hd, struct heap *h,
                                      int (*fn)(const struct dump_record *rec, void *arg), void *arg,
                                      struct phs_error *err)
{
    return read_dump(path, hd, h, NULL, fn, arg, err);
}

enum phs_status dumpfile_read_graph(const char *path, struct dump_header *hd, struct heap *h, struct ref_graph *g,
                                    struct phs_error *err)
{
    return read_dump(path, hd, h, g, NULL, NULL, err);
}

/* ---- reading chosen records again ---- */

static int by_offset(const void *a, const void *b, void *arg)
{
    const uint64_t *off = arg;
    uint64_t x = off[*(const size_t *)a], y = off[*(const size_t *)b];
    return x < y ? -1 : x > y;
}

/* rec from the parsed object record o; refs in rec->refs (grown as needed). */
static int fill_record(json_object *o, struct dump_record *rec, size_t *cap_refs)
{
    json_object *v, *r, *e = NULL;
    struct dump_ref *kept = rec->refs;
    memset(rec, 0, sizeof *rec);
    rec->refs = kept;
    if (json_object_object_get_ex(o, "a", &v))
        rec->addr = json_object_get_uint64(v);
    if (json_object_object_get_ex(o, "k", &v))
        rec->kind = (uint32_t)json_object_get_uint64(v);
    if (json_object_object_get_ex(o, "s", &v))
        rec->size = json_object_get_uint64(v);
    rec->value = get_str(o, "v");
    rec->value_cut = json_object_object_get_ex(o, "vt", &v) && json_object_get_boolean(v);
    rec->value_hash = get_str(o, "vh");
    int ok;
    rec->extra = get_u64(o, "x", &ok);
    rec->owner = get_count(o, "o");
    rec->length = get_count(o, "n");
    rec->capacity = get_count(o, "c");
    json_object *t;
    if (json_object_object_get_ex(o, "t", &t) && json_object_is_type(t, json_type_array) &&
        json_object_array_length(t) == 4) {
        rec->has_table = 1;
        for (size_t i = 0; i < 4; i++)
            rec->table[i] = json_object_get_uint64(json_object_array_get_idx(t, i));
    }
    if (!json_object_object_get_ex(o, "r", &r) || !json_object_is_type(r, json_type_array))
        return 0;
    json_object_object_get_ex(o, "e", &e);
    size_t n = json_object_array_length(r);
    if (record_room(rec, cap_refs, n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_object *label = e && json_object_is_type(e, json_type_array) ? json_object_array_get_idx(e, i) : NULL;
        struct dump_ref *ref = &rec->refs[i];
        ref->to = json_object_get_uint64(json_object_array_get_idx(r, i));
        ref->index = label ? -1 : (int64_t)i;
        ref->label = NULL;
        if (label && json_object_is_type(label, json_type_int))
            ref->index = json_object_get_int64(label);
        else if (label)
            ref->label = json_object_get_string(label);
    }
    rec->nrefs = n;
    return 0;
}

enum phs_status dumpfile_records_at(const char *path, const uint64_t *offsets, size_t n,
                                    void (*fn)(size_t i, const struct dump_record *rec, void *arg), void *arg,
                                    struct phs_error *err)
{
    struct reader r = {.path = path};
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    r.gz = order ? gzopen(path, "rb") : NULL;
    if (!r.gz) {
        free(order);
        return order ? phs_error_set(err, PHS_IO, errno, "cannot open %s: %s", path, strerror(errno ? errno : ENOENT))
                     : oom(err);
    }
    gzbuffer(r.gz, 1 << 20);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof *order, by_offset, (void *)offsets);
    struct dump_record rec = {0};
    size_t cap_refs = 0, len;
    enum phs_status st = PHS_OK;
    r.tok = json_tokener_new();
    if (!r.tok)
        st = oom(err);
    for (size_t k = 0; k < n && st == PHS_OK; k++) {
        uint64_t off = offsets[order[k]];
        /* near records are reached by reading on (a seek throws the
         * buffer away, and gzip seeks by decompressing anyway); far ones
         * by seeking */
        int got = 1;
        if (off < r.pos || off - r.pos > SEEK_GAP) {
            if (gzseek(r.gz, (z_off_t)off, SEEK_SET) < 0)
                got = -1;
            r.pos = off;
        }
        while (got > 0 && r.pos < off)
            got = next_line(&r, &len);
        if (got <= 0 || r.pos != off || next_line(&r, &len) <= 0) {
            st = phs_error_set(err, PHS_IO, 0, "%s changed since it was read (no record at offset %llu)", path,
                               (unsigned long long)off);
            break;
        }
        json_tokener_reset(r.tok);
        json_object *o = json_tokener_parse_ex(r.tok, r.line, (int)len);
        if (!o || !json_object_is_type(o, json_type_object))
            st = phs_error_set(err, PHS_IO, 0, "%s changed since it was read (no record at offset %llu)", path,
                               (unsigned long long)off);
        else if (fill_record(o, &rec, &cap_refs) != 0)
            st = oom(err);
        else
            fn(order[k], &rec, arg);
        json_object_put(o);
    }
    if (r.tok)
        json_tokener_free(r.tok);
    gzclose(r.gz);
    free(r.line);
    free(rec.refs);
    free(order);
    return st;
}
