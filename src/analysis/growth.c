/* growth.c - the growth model of `top`: each refresh's histogram is kept
 * as a name-sorted list of points; rows are the union of this refresh and
 * the previous one, with deltas looked up by binary search. */
#include "pyheapscope/growth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void growth_init(struct growth *g)
{
    memset(g, 0, sizeof *g);
}

static int by_kind(const void *a, const void *b)
{
    return strcmp(((const struct growth_point *)a)->kind, ((const struct growth_point *)b)->kind);
}

static const struct growth_point *find(const struct growth_point *v, size_t n, const char *kind)
{
    struct growth_point key = {(char *)kind, 0, 0};
    return n ? bsearch(&key, v, n, sizeof *v, by_kind) : NULL;
}

static void free_points(struct growth_point *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].kind);
    free(v);
}

static void free_rows(struct growth *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->rows[i].kind);
    free(g->rows);
    g->rows = NULL;
    g->n = 0;
}

/* The histogram as points sorted by kind (copies of the names). */
static struct growth_point *points_of(const struct histogram *hg)
{
    struct growth_point *v = calloc(hg->n + 1, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < hg->n; i++) {
        v[i].kind = strdup(hg->rows[i].kind);
        if (!v[i].kind) {
            free_points(v, i);
            return NULL;
        }
        v[i].count = hg->rows[i].count;
        v[i].bytes = hg->rows[i].bytes;
    }
    qsort(v, hg->n, sizeof *v, by_kind);
    return v;
}

static int add_row(struct growth *g, size_t *cap, const char *kind, uint64_t count, uint64_t bytes)
{
    if (g->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct growth_row *nr = realloc(g->rows, nc * sizeof *nr);
        if (!nr)
            return -1;
        g->rows = nr;
        *cap = nc;
    }
    char *copy = strdup(kind);
    if (!copy)
        return -1;
    const struct growth_point *p = find(g->prev, g->nprev, kind), *s = find(g->start, g->nstart, kind);
    struct growth_row *r = &g->rows[g->n++];
    r->kind = copy;
    r->count = count;
    r->bytes = bytes;
    /* The first refresh is its own baseline: deltas start at zero. */
    uint64_t pc = p ? p->count : (g->refreshes ? 0 : count), pb = p ? p->bytes : (g->refreshes ? 0 : bytes);
    uint64_t sc = s ? s->count : (g->refreshes ? 0 : count), sb = s ? s->bytes : (g->refreshes ? 0 : bytes);
    r->dcount = (int64_t)count - (int64_t)pc;
    r->dbytes = (int64_t)bytes - (int64_t)pb;
    r->scount = (int64_t)count - (int64_t)sc;
    r->sbytes = (int64_t)bytes - (int64_t)sb;
    return 0;
}

enum phs_status growth_update(struct growth *g, const struct histogram *hg, struct phs_error *err)
{
    struct growth_point *now = points_of(hg);
    if (!now)
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    free_rows(g);
    size_t cap = 0;
    int failed = 0;
    for (size_t i = 0; i < hg->n && !failed; i++)
        failed = add_row(g, &cap, now[i].kind, now[i].count, now[i].bytes);
    /* kinds that were there last time and are gone now */
    for (size_t i = 0; i < g->nprev && !failed; i++)
        if (!find(now, hg->n, g->prev[i].kind))
            failed = add_row(g, &cap, g->prev[i].kind, 0, 0);
    if (failed) {
        free_points(now, hg->n);
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    }
    uint64_t prev_count = g->count, prev_bytes = g->bytes;
    g->dcount = g->refreshes ? (int64_t)hg->count - (int64_t)prev_count : 0;
    g->dbytes = g->refreshes ? (int64_t)hg->bytes - (int64_t)prev_bytes : 0;
    g->count = hg->count;
    g->bytes = hg->bytes;
    if (!g->refreshes) {
        g->start = now;
        g->nstart = hg->n;
        g->prev = points_of(hg);
        g->nprev = g->prev ? hg->n : 0;
        g->scount = g->sbytes = 0;
    } else {
        free_points(g->prev, g->nprev);
        g->prev = now;
        g->nprev = hg->n;
        uint64_t sc = 0, sb = 0;
        for (size_t i = 0; i < g->nstart; i++) {
            sc += g->start[i].count;
            sb += g->start[i].bytes;
        }
        g->scount = (int64_t)hg->count - (int64_t)sc;
        g->sbytes = (int64_t)hg->bytes - (int64_t)sb;
    }
    g->refreshes++;
    return PHS_OK;
}

static enum growth_sort sort_key;
static int sort_since_start;

static int compare(const void *a, const void *b)
{
    const struct growth_row *x = a, *y = b;
    int64_t kx = 0, ky = 0;
    switch (sort_key) {
    case GROWTH_BY_SIZE: kx = (int64_t)x->bytes; ky = (int64_t)y->bytes; break;
    case GROWTH_BY_COUNT: kx = (int64_t)x->count; ky = (int64_t)y->count; break;
    case GROWTH_BY_DSIZE: kx = sort_since_start ? x->sbytes : x->dbytes; ky = sort_since_start ? y->sbytes : y->dbytes; break;
    case GROWTH_BY_DCOUNT: kx = sort_since_start ? x->scount : x->dcount; ky = sort_since_start ? y->scount : y->dcount; break;
    case GROWTH_BY_NAME: break;
    }
    if (kx != ky)
        return kx > ky ? -1 : 1;
    return strcmp(x->kind, y->kind);
}

void growth_sort(struct growth *g, enum growth_sort by, int since_start)
{
    sort_key = by;
    sort_since_start = since_start;
    qsort(g->rows, g->n, sizeof *g->rows, compare);
}

void growth_done(struct growth *g)
{
    free_rows(g);
    free_points(g->prev, g->nprev);
    free_points(g->start, g->nstart);
    memset(g, 0, sizeof *g);
}
