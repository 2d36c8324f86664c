/* dumplabels.c - how one object refers to another, in words, from a dump:
 * the steps of `paths` ("['orders']", "[17]", ".items", "local buf").
 * The graph keeps no labels (ten million objects' worth would cost more
 * than the graph); they are read again from the records of the objects
 * that refer, and the key objects named by dict values once more for
 * their text. Analysis layer: reads the file, never a process. */
#define _GNU_SOURCE                /* qsort_r */
#include "pyheapscope/dumplabels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_CHARS 60             /* a dict key's text in a label, before "..." */

struct pending_label {
    uint32_t pair;               /* index into the caller's pairs */
    uint64_t key;                /* the key object of a dict value, or 0 */
};

struct label_job {
    struct ref_graph *g;
    const struct edge_pair *pairs;
    size_t npairs;
    const uint32_t *by_parent;   /* pair indices sorted by parent node */
    const uint32_t *parents;     /* distinct parents, ascending */
    char (*labels)[EDGE_LABEL_MAX];
    uint64_t *keys;              /* per pair: a key whose text is still needed, or 0 */
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int by_parent(const void *a, const void *b, void *arg)
{
    const struct edge_pair *pairs = arg;
    uint32_t x = pairs[*(const uint32_t *)a].from, y = pairs[*(const uint32_t *)b].from;
    return x < y ? -1 : x > y;
}

/* The label of reference i of rec, with the key object of a value. */
static void label_of(const struct dump_record *rec, size_t i, char *out, uint64_t *key)
{
    const struct dump_ref *r = &rec->refs[i];
    *key = 0;
    if (r->index >= 0) {
        snprintf(out, EDGE_LABEL_MAX, "[%lld]", (long long)r->index);
        return;
    }
    const char *l = r->label ? r->label : "?";
    if (strcmp(l, "v") == 0 && i > 0 && rec->refs[i - 1].label && strcmp(rec->refs[i - 1].label, "k") == 0) {
        *key = rec->refs[i - 1].to;
        snprintf(out, EDGE_LABEL_MAX, "[key at 0x%llx]", (unsigned long long)*key);
    } else if (strcmp(l, "k") == 0)
        snprintf(out, EDGE_LABEL_MAX, "(a key)");
    else if (strcmp(l, "?") == 0)
        snprintf(out, EDGE_LABEL_MAX, "(a pointer in a C object)");
    else if (l[0] == '.' || strncmp(l, "local ", 6) == 0 || strncmp(l, "stack ", 6) == 0 ||
             strncmp(l, "slot ", 5) == 0)
        snprintf(out, EDGE_LABEL_MAX, "%s", l);
    else
        snprintf(out, EDGE_LABEL_MAX, ".%s", l);        /* a C field, __dict__, __class__ */
}

struct ref_at {
    uint64_t to;
    size_t index;
};

static int by_to(const void *a, const void *b)
{
    const struct ref_at *x = a, *y = b;
    if (x->to != y->to)
        return x->to < y->to ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void on_parent(size_t i, const struct dump_record *rec, void *arg)
{
    struct label_job *job = arg;
    uint32_t parent = job->parents[i];
    /* the pairs of this parent are a run in by_parent */
    size_t lo = 0, hi = job->npairs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (job->pairs[job->by_parent[mid]].from < parent)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < job->npairs && job->pairs[job->by_parent[end]].from == parent)
        end++;
    /* many children of one container (a list of a million records): find
     * each by bisection of its references sorted by address, not by a scan */
    struct ref_at *sorted = NULL;
    if (end - lo > 16 && rec->nrefs > 16 && (sorted = malloc(rec->nrefs * sizeof *sorted))) {
        for (size_t e = 0; e < rec->nrefs; e++)
            sorted[e] = (struct ref_at){rec->refs[e].to, e};
        qsort(sorted, rec->nrefs, sizeof *sorted, by_to);
    }
    for (size_t k = lo; k < end; k++) {
        uint32_t p = job->by_parent[k];
        uint64_t to = job->g->addr[job->pairs[p].to];
        if (sorted) {
            size_t a = 0, b = rec->nrefs;
            while (a < b) {
                size_t mid = a + (b - a) / 2;
                if (sorted[mid].to < to)
                    a = mid + 1;
                else
                    b = mid;
            }
            if (a < rec->nrefs && sorted[a].to == to)
                label_of(rec, sorted[a].index, job->labels[p], &job->keys[p]);
            continue;
        }
        for (size_t e = 0; e < rec->nrefs; e++)
            if (rec->refs[e].to == to) {
                label_of(rec, e, job->labels[p], &job->keys[p]);
                break;
            }
    }
    free(sorted);
}

struct key_job {
    const uint64_t *key_addr;    /* distinct keys, ascending */
    char (*text)[EDGE_LABEL_MAX];
};

static void on_key(size_t i, const struct dump_record *rec, void *arg)
{
    struct key_job *kj = arg;
    char *out = kj->text[i];
    if (!rec->value) {
        snprintf(out, EDGE_LABEL_MAX, "[key at 0x%llx]", (unsigned long long)kj->key_addr[i]);
        return;
    }
    /* a str key is quoted; numbers are shown as they are */
    int quoted = rec->value[0] == '\0' || strspn(rec->value, "0123456789-+.eE") != strlen(rec->value);
    size_t len = strlen(rec->value);
    int cut = rec->value_cut || len > KEY_CHARS;
    snprintf(out, EDGE_LABEL_MAX, "[%s%.*s%s%s]", quoted ? "'" : "", KEY_CHARS, rec->value, cut ? "..." : "",
             quoted ? "'" : "");
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Replace the "[key at ...]" labels by the keys' text (one more pass). */
static enum phs_status name_keys(const char *path, struct label_job *job, struct phs_error *err)
{
    size_t nkeys = 0;
    uint64_t *addrs = malloc((job->npairs ? job->npairs : 1) * sizeof *addrs);
    if (!addrs)
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    for (size_t p = 0; p < job->npairs; p++)
        if (job->keys[p] && refgraph_find(job->g, job->keys[p]) != REFGRAPH_NONE)
            addrs[nkeys++] = job->keys[p];
    qsort(addrs, nkeys, sizeof *addrs, cmp_u64);
    size_t d = 0;
    for (size_t k = 0; k < nkeys; k++)
        if (d == 0 || addrs[d - 1] != addrs[k])
            addrs[d++] = addrs[k];
    nkeys = d;
    uint64_t *offsets = malloc((nkeys ? nkeys : 1) * sizeof *offsets);
    char (*text)[EDGE_LABEL_MAX] = malloc((nkeys ? nkeys : 1) * sizeof *text);
    enum phs_status st = offsets && text ? PHS_OK : phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    if (st == PHS_OK) {
        for (size_t k = 0; k < nkeys; k++)
            offsets[k] = job->g->line_at[refgraph_find(job->g, addrs[k])];
        struct key_job kj = {addrs, text};
        st = dumpfile_records_at(path, offsets, nkeys, on_key, &kj, err);
    }
    for (size_t p = 0; st == PHS_OK && p < job->npairs; p++) {
        if (!job->keys[p])
            continue;
        uint64_t *hit = bsearch(&job->keys[p], addrs, nkeys, sizeof *addrs, cmp_u64);
        if (hit)
            memcpy(job->labels[p], text[hit - addrs], EDGE_LABEL_MAX);
    }
    free(addrs);
    free(offsets);
    free(text);
    return st;
}

enum phs_status dumpfile_edge_labels(const char *path, struct ref_graph *g, const struct edge_pair *pairs,
                                     size_t npairs, char (*labels)[EDGE_LABEL_MAX], struct phs_error *err)
{
    struct label_job job = {.g = g, .pairs = pairs, .npairs = npairs, .labels = labels};
    uint32_t *order = malloc((npairs ? npairs : 1) * sizeof *order);
    uint32_t *parents = malloc((npairs ? npairs : 1) * sizeof *parents);
    uint64_t *offsets = malloc((npairs ? npairs : 1) * sizeof *offsets);
    job.keys = calloc(npairs ? npairs : 1, sizeof *job.keys);
    enum phs_status st = order && parents && offsets && job.keys
                             ? PHS_OK : phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    size_t nparents = 0;
    if (st == PHS_OK) {
        for (size_t p = 0; p < npairs; p++) {
            order[p] = (uint32_t)p;
            snprintf(labels[p], EDGE_LABEL_MAX, "(a reference)");
            parents[p] = pairs[p].from;
        }
        qsort_r(order, npairs, sizeof *order, by_parent, (void *)pairs);
        qsort(parents, npairs, sizeof *parents, cmp_u32);
        for (size_t p = 0; p < npairs; p++)
            if (nparents == 0 || parents[nparents - 1] != parents[p])
                parents[nparents++] = parents[p];
        for (size_t k = 0; k < nparents; k++)
            offsets[k] = g->line_at[parents[k]];
        job.by_parent = order;
        job.parents = parents;
        st = dumpfile_records_at(path, offsets, nparents, on_parent, &job, err);
    }
    if (st == PHS_OK)
        st = name_keys(path, &job, err);
    free(order);
    free(parents);
    free(offsets);
    free(job.keys);
    return st;
}
