/* dump.c - `pyheapscope dump PID -o FILE`: the whole heap as JSON Lines,
 * for offline analysis (summary FILE, diff). One header record, one record
 * per kind, one per object with its references and how each refers, the
 * roots, and an end record that says the file is whole. Written streaming;
 * gzip-compressed (zlib) when FILE ends in ".gz". The format is described
 * in README.md ("Dump format"); DUMP_FORMAT_VERSION changes with it.
 * Front end: reads the target only through the heap layer. */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "pyheapscope/dumpfmt.h"
#include "pyheapscope/heap.h"
#include "pyheapscope/json.h"
#include "pyheapscope/snapshot.h"
#include "pyheapscope/target.h"

#define VALUE_CHARS 200        /* str/bytes values are cut here ("vt": true) */

/* ---- a FILE* that gzips (fopencookie over zlib's gzFile) ---- */

static ssize_t gz_write(void *cookie, const char *buf, size_t len)
{
    int n = gzwrite((gzFile)cookie, buf, (unsigned)len);
    return n > 0 ? n : (len ? -1 : 0);
}

static int gz_close(void *cookie)
{
    return gzclose((gzFile)cookie) == Z_OK ? 0 : EOF;
}

static FILE *open_output(const char *path, struct phs_error *err)
{
    if (strcmp(path, "-") == 0)
        return stdout;
    size_t len = strlen(path);
    if (len > 3 && strcmp(path + len - 3, ".gz") == 0) {
        gzFile gz = gzopen(path, "wb1");     /* fast: the dump is large and written once */
        if (!gz) {
            phs_error_set(err, PHS_IO, errno, "cannot create %s: %s", path, strerror(errno));
            return NULL;
        }
        gzbuffer(gz, 1 << 20);
        cookie_io_functions_t io = {.write = gz_write, .close = gz_close};
        FILE *f = fopencookie(gz, "w", io);
        if (!f) {
            gzclose(gz);
            phs_error_set(err, PHS_IO, errno, "cannot create %s: %s", path, strerror(errno));
        }
        return f;
    }
    FILE *f = fopen(path, "w");
    if (!f)
        phs_error_set(err, PHS_IO, errno, "cannot create %s: %s", path, strerror(errno));
    return f;
}

/* ---- records ---- */

struct addr_list {
    uint64_t *v;
    size_t n, cap;
};

struct dump {
    struct json j;
    struct heap *h;
    uint64_t objects, bytes, edges;
    struct addr_list interned[2];   /* mortal, immortal */
    int oom;
    char value[4 * VALUE_CHARS + 64];
};

/* [base, per item]: what an object of the version would take with n
 * slots or items is base + n * per item (advise FILE sizes its fixes so). */
static void write_size_as(struct json *j, struct heap *h, const char *key, enum heap_alt alt)
{
    uint64_t base = heap_size_as(h, alt, 0), one = heap_size_as(h, alt, 1);
    if (!base || one < base)
        return;
    json_array_begin(j, key);
    json_uint(j, NULL, base);
    json_uint(j, NULL, one - base);
    json_array_end(j);
}

static void write_header(struct dump *d, const struct py_process *p, const struct heap_timing *tm)
{
    struct json *j = &d->j;
    char cmdline[4096] = "";
    target_cmdline(p->pid, cmdline, sizeof cmdline, NULL);
    time_t now = time(NULL);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    json_object_begin(j, NULL);
    json_string(j, "type", "header");
    json_string(j, "format", DUMP_FORMAT_NAME);
    json_uint(j, "format_version", DUMP_FORMAT_VERSION);
    json_string(j, "tool_version", PYHEAPSCOPE_VERSION);
    json_int(j, "pid", p->pid);
    json_string(j, "cmdline", cmdline);
    json_string(j, "python_version", p->version);
    json_string(j, "time", when);
    json_uint(j, "time_unix", (uint64_t)now);
    json_bool(j, "paused", tm->paused);
    json_uint(j, "pause_ns", tm->pause_ns);
    json_uint(j, "copy_ns", tm->copy_ns);
    json_uint(j, "walk_ns", tm->walk_ns);
    json_uint(j, "bytes_copied", tm->bytes_copied);
    json_uint(j, "objects", d->h->total.count);
    json_uint(j, "bytes", d->h->total.bytes);
    json_uint(j, "kinds", d->h->ntypes);
    write_size_as(j, d->h, "slots_size", HEAP_AS_SLOTS);
    write_size_as(j, d->h, "tuple_size", HEAP_AS_TUPLE);
    json_object_end(j);
    json_end_line(j);
    for (size_t i = 0; i < d->h->ntypes; i++) {
        json_object_begin(j, NULL);
        json_string(j, "type", "kind");
        json_uint(j, "id", i);
        json_string(j, "name", d->h->types[i].name);
        json_bool(j, "heap_type", d->h->types[i].is_heap);
        json_bool(j, "has_dict", d->h->types[i].has_dict);
        json_uint(j, "type_addr", d->h->types[i].addr);
        json_object_end(j);
        json_end_line(j);
    }
}

/* The label of one reference, as README's "Dump format" lists them. */
static void write_label(struct json *j, const struct heap_edge *e)
{
    char label[300];
    switch (e->how) {
    case HEAP_EDGE_ITEM: json_uint(j, NULL, e->index); return;
    case HEAP_EDGE_KEY: json_string(j, NULL, "k"); return;
    case HEAP_EDGE_VALUE: json_string(j, NULL, "v"); return;
    case HEAP_EDGE_ATTR: snprintf(label, sizeof label, ".%s", e->name ? e->name : "?"); break;
    case HEAP_EDGE_FIELD:
    case HEAP_EDGE_DICT:
    case HEAP_EDGE_TYPE: snprintf(label, sizeof label, "%s", e->name ? e->name : "?"); break;
    case HEAP_EDGE_LOCAL: snprintf(label, sizeof label, "local %s", e->name ? e->name : "?"); break;
    case HEAP_EDGE_SLOT: snprintf(label, sizeof label, "slot %u", e->index); break;
    case HEAP_EDGE_STACK: snprintf(label, sizeof label, "stack %u", e->index); break;
    default: snprintf(label, sizeof label, "?"); break;
    }
    json_string(j, NULL, label);
}

/* "r" and "e": the addresses referred to and how; "e" is left out when
 * they are items [0], [1], ... in order, unless labels_always. */
static void write_refs(struct json *j, const struct heap_edge *e, size_t n, int labels_always)
{
    int plain_items = !labels_always;
    json_array_begin(j, "r");
    for (size_t i = 0; i < n; i++) {
        json_uint(j, NULL, e[i].to);
        plain_items &= e[i].how == HEAP_EDGE_ITEM && e[i].index == i;
    }
    json_array_end(j);
    if (!plain_items) {
        json_array_begin(j, "e");
        for (size_t i = 0; i < n; i++)
            write_label(j, &e[i]);
        json_array_end(j);
    }
}

/* What advise needs beyond the size: a list's or bytearray's capacity
 * ("c"), a dict's or set's table now and rebuilt ("t"), and for a value
 * not written whole (cut, or an int too long) a hash of all of it ("vh"). */
static void write_sizing(struct json *j, struct heap *h, const struct heap_object *o, int value_partial)
{
    int64_t cap = heap_capacity(h, o);
    if (cap >= 0)
        json_uint(j, "c", (uint64_t)cap);
    struct heap_table t;
    if (heap_table(h, o, &t)) {
        json_array_begin(j, "t");
        json_uint(j, NULL, (uint64_t)t.slots);
        json_uint(j, NULL, t.bytes);
        json_uint(j, NULL, (uint64_t)t.rebuilt_slots);
        json_uint(j, NULL, t.rebuilt_bytes);
        json_array_end(j);
    }
    struct heap_atom a;
    if (value_partial && heap_atom(h, o, &a)) {
        char hex[20];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)heap_atom_hash(&a));
        json_string(j, "vh", hex);
    }
}

static int write_object(const struct heap_object *o, const struct heap_edge *e, size_t n, void *arg)
{
    struct dump *d = arg;
    struct json *j = &d->j;
    json_object_begin(j, NULL);
    json_uint(j, "a", o->addr);
    json_uint(j, "k", o->type);
    json_uint(j, "s", o->size);
    if (o->extra)
        json_uint(j, "x", o->extra);
    if (o->owner)
        json_uint(j, "o", o->owner - 1);
    int64_t len = heap_length(d->h, o);
    if (len >= 0)
        json_uint(j, "n", (uint64_t)len);
    int truncated = 0, has_value = heap_value(d->h, o, d->value, sizeof d->value, VALUE_CHARS, &truncated);
    if (has_value) {
        json_string(j, "v", d->value);
        if (truncated)
            json_bool(j, "vt", 1);
    }
    write_sizing(j, d->h, o, !has_value || truncated);
    if (n)
        write_refs(j, e, n, 0);
    json_object_end(j);
    json_end_line(j);
    d->objects++;
    d->bytes += o->size;
    d->edges += n;
    int interned = heap_str_interned(d->h, o);
    if (interned) {
        struct addr_list *l = &d->interned[interned >= 2];
        if (l->n == l->cap) {
            size_t cap = l->cap ? 2 * l->cap : 4096;
            uint64_t *v = realloc(l->v, cap * sizeof *v);
            if (!v) {
                d->oom = 1;
                return 1;
            }
            l->v = v;
            l->cap = cap;
        }
        l->v[l->n++] = o->addr;
    }
    return ferror(j->f) != 0;
}

#define ROOT_BATCH 4096

/* The interned strings, in batches: immortal ones are held by the
 * interpreter for good; mortal ones go when nothing else holds them. */
static void write_interned(struct dump *d)
{
    for (int immortal = 1; immortal >= 0; immortal--) {
        const struct addr_list *l = &d->interned[immortal];
        for (size_t at = 0; at < l->n; at += ROOT_BATCH) {
            json_object_begin(&d->j, NULL);
            json_string(&d->j, "type", "root");
            json_string(&d->j, "root", "interned");
            json_bool(&d->j, "immortal", immortal);
            json_array_begin(&d->j, "a");
            for (size_t i = at; i < l->n && i < at + ROOT_BATCH; i++)
                json_uint(&d->j, NULL, l->v[i]);
            json_array_end(&d->j);
            json_object_end(&d->j);
            json_end_line(&d->j);
        }
    }
}

static void write_root(const char *root, const char *name, uint64_t addr, void *arg)
{
    struct dump *d = arg;
    json_object_begin(&d->j, NULL);
    json_string(&d->j, "type", "root");
    json_string(&d->j, "root", root);
    if (name)
        json_string(&d->j, "name", name);
    json_uint(&d->j, "a", addr);
    json_object_end(&d->j);
    json_end_line(&d->j);
}

static int write_unreferenced(const uint64_t *addrs, size_t n, void *arg)
{
    struct dump *d = arg;
    json_object_begin(&d->j, NULL);
    json_string(&d->j, "type", "root");
    json_string(&d->j, "root", "unreferenced");
    json_array_begin(&d->j, "a");
    for (size_t i = 0; i < n; i++)
        json_uint(&d->j, NULL, addrs[i]);
    json_array_end(&d->j);
    json_object_end(&d->j);
    json_end_line(&d->j);
    return 0;
}

static int write_frame(const struct heap_frame *f, const struct heap_edge *e, size_t n, void *arg)
{
    struct dump *d = arg;
    struct json *j = &d->j;
    json_object_begin(j, NULL);
    json_string(j, "type", "root");
    json_string(j, "root", "frame");
    json_uint(j, "thread", f->thread_id);
    if (f->native_thread_id >= 0)
        json_int(j, "native_thread", f->native_thread_id);
    json_uint(j, "depth", f->depth);
    json_string(j, "function", f->function);
    json_string(j, "file", f->file);
    json_uint(j, "frame", f->addr);
    write_refs(j, e, n, 1);
    json_object_end(j);
    json_end_line(j);
    return ferror(j->f) != 0;
}

static enum phs_status write_dump(FILE *f, const struct py_process *p, struct heap *h,
                                  const struct heap_timing *tm, struct dump *d, struct phs_error *err)
{
    d->h = h;
    json_init(&d->j, f, 0);
    write_header(d, p, tm);
    if (heap_each_edges(h, write_object, d) != 0 || d->oom)
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory while writing the dump");
    heap_interpreter_roots(h, write_root, d);
    write_interned(d);
    if (heap_thread_frames(h, write_frame, d) != 0)
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory while writing the dump");
    if (heap_unreferenced(h, write_unreferenced, d) != 0)
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory while writing the dump");
    json_object_begin(&d->j, NULL);
    json_string(&d->j, "type", "end");
    json_uint(&d->j, "objects", d->objects);
    json_uint(&d->j, "bytes", d->bytes);
    json_uint(&d->j, "references", d->edges);
    json_object_end(&d->j);
    json_end_line(&d->j);
    return PHS_OK;
}

int cmd_dump(const struct cli_opts *o)
{
    struct phs_error err;
    memset(&err, 0, sizeof err);
    struct cli_live l;
    struct dump d;
    memset(&d, 0, sizeof d);
    enum phs_status st = cli_live_take(o, &l, &err);
    if (st == PHS_OK) {
        FILE *f = open_output(o->output, &err);
        st = f ? write_dump(f, &l.p, &l.h, &l.tm, &d, &err) : err.code;
        if (f && (fflush(f) != 0 || ferror(f)) && st == PHS_OK)
            st = phs_error_set(&err, PHS_IO, errno, "writing %s: %s", o->output, strerror(errno));
        if (f && f != stdout && fclose(f) != 0 && st == PHS_OK)
            st = phs_error_set(&err, PHS_IO, errno, "closing %s: %s", o->output, strerror(errno));
    }
    cli_live_done(&l);
    free(d.interned[0].v);
    free(d.interned[1].v);
    if (st != PHS_OK)
        return cli_fail("dump", &err);
    if (strcmp(o->output, "-") != 0)
        fprintf(stderr, "pyheapscope dump: %llu objects, %llu references written to %s\n",
                (unsigned long long)d.objects, (unsigned long long)d.edges, o->output);
    return 0;
}
