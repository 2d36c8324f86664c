/* histogram.c - groups the objects of a heap by kind. Two passes: sum per
 * (type, dict owner) with plain arrays indexed by type, then merge rows
 * whose names are equal (two classes of the same module and qualname are
 * one kind to a reader, as in guppy3). */
#include "pyheapscope/histogram.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct histo_row *)a)->kind, ((const struct histo_row *)b)->kind);
}

static void add(struct histo_row *r, const struct heap_tally *t)
{
    r->count += t->count;
    r->bytes += t->bytes;
    r->extra_bytes += t->extra;
    r->gc_objects += t->gc_objects;
    r->permanent += t->permanent;
}

enum phs_status histogram_build(const struct heap *h, struct histogram *out, struct phs_error *err)
{
    memset(out, 0, sizeof *out);
    size_t nt = h->ntypes;
    /* rows [0, nt): objects of type i; rows [nt, 2nt): dicts owned by an instance of type i */
    struct histo_row *rows = calloc(2 * nt + 1, sizeof *rows);
    if (!rows)
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    for (size_t i = 0; i < nt; i++) {
        add(&rows[i], &h->types[i].objects);
        add(&rows[nt + i], &h->types[i].dicts);
    }
    out->count = h->total.count;
    out->bytes = h->total.bytes;
    out->extra_bytes = h->total.extra;
    size_t n = 0;
    for (size_t i = 0; i < 2 * nt; i++) {
        if (!rows[i].count)
            continue;
        const char *name = h->types[i % nt].name;
        size_t len = strlen(name) + 9;
        char *kind = malloc(len);
        if (!kind) {
            for (size_t k = 0; k < n; k++)
                free(rows[k].kind);
            free(rows);
            return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
        }
        snprintf(kind, len, i < nt ? "%s" : "dict of %s", name);
        rows[n] = rows[i];
        rows[n++].kind = kind;
    }
    qsort(rows, n, sizeof *rows, by_name);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && strcmp(rows[m - 1].kind, rows[i].kind) == 0) {
            struct histo_row *r = &rows[m - 1];
            r->count += rows[i].count;
            r->bytes += rows[i].bytes;
            r->extra_bytes += rows[i].extra_bytes;
            r->gc_objects += rows[i].gc_objects;
            r->permanent += rows[i].permanent;
            free(rows[i].kind);
        } else {
            rows[m++] = rows[i];
        }
    }
    out->rows = rows;
    out->n = m;
    return PHS_OK;
}

static enum histo_sort sort_key;

static int compare(const void *a, const void *b)
{
    const struct histo_row *x = a, *y = b;
    uint64_t kx = sort_key == HISTO_BY_SIZE ? x->bytes : x->count;
    uint64_t ky = sort_key == HISTO_BY_SIZE ? y->bytes : y->count;
    if (kx != ky)
        return kx > ky ? -1 : 1;
    return strcmp(x->kind, y->kind);
}

void histogram_sort(struct histogram *hg, enum histo_sort by)
{
    sort_key = by;
    qsort(hg->rows, hg->n, sizeof *hg->rows, compare);
}

void histogram_done(struct histogram *hg)
{
    for (size_t i = 0; i < hg->n; i++)
        free(hg->rows[i].kind);
    free(hg->rows);
    memset(hg, 0, sizeof *hg);
}

struct largest {
    const unsigned char *is_type, *is_owner;
    size_t room;               /* entries in is_type and is_owner */
    struct heap_object *out;
    size_t n, max;
};

/* Keep the largest few seen so far, largest first (insertion sort). */
static int keep_largest(const struct heap_object *o, void *arg)
{
    struct largest *l = arg;
    int match = o->owner ? o->owner - 1 < l->room && l->is_owner[o->owner - 1]
                         : o->type < l->room && l->is_type[o->type];
    if (!match || (l->n == l->max && l->out[l->n - 1].size >= o->size))
        return 0;
    size_t at = l->n < l->max ? l->n++ : l->max - 1;
    while (at > 0 && l->out[at - 1].size < o->size) {
        l->out[at] = l->out[at - 1];
        at--;
    }
    l->out[at] = *o;
    return 0;
}

size_t histogram_largest(struct heap *h, const char *kind, struct heap_object *out, size_t max)
{
    const char *owner_name = strncmp(kind, "dict of ", 8) == 0 ? kind + 8 : NULL;
    /* room for types the sweep might meet that the walk did not name */
    size_t room = h->ntypes + 1024;
    unsigned char *is_type = calloc(room, 1), *is_owner = calloc(room, 1);
    struct largest l = {is_type, is_owner, room, out, 0, max};
    if (!is_type || !is_owner || !max)
        goto out;
    unsigned char *want = calloc(room, 1);
    if (!want)
        goto out;
    for (size_t t = 0; t < h->ntypes; t++) {
        is_type[t] = strcmp(h->types[t].name, kind) == 0;
        is_owner[t] = owner_name && strcmp(h->types[t].name, owner_name) == 0;
        /* "dict of X" are plain dicts: sweep every type named dict */
        want[t] = is_type[t] || (owner_name && strcmp(h->types[t].name, "dict") == 0);
    }
    heap_each(h, want, room, keep_largest, &l);
    free(want);
out:
    free(is_type);
    free(is_owner);
    return l.n;
}
