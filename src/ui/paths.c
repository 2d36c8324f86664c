/* paths.c - `pyheapscope paths FILE ADDRESS | --kind KIND`: why is this
 * still alive? The shortest chains of references from a root (sys.modules,
 * a thread's frame, an object nothing else refers to) to the object, each
 * step saying how it refers: key 'orders', index 17, attribute .items,
 * local buf. For a kind, the instances' chains are grouped by their shape
 * (indices as [*]), most instances first. Front end: reads a dump through
 * the analysis layer, prints. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offline.h"
#include "pyheapscope/dumplabels.h"
#include "pyheapscope/json.h"

#define MAX_SHOWN_DEPTH 200      /* longer chains are cut in the middle */

struct paths_run {
    struct offline off;
    uint32_t *dist, *parent;
};

static void run_done(struct paths_run *run)
{
    free(run->dist);
    free(run->parent);
    offline_done(&run->off);
}

static const char *root_of(const struct paths_run *run, uint32_t node)
{
    const char *r = offline_root_name(&run->off, node);
    if (!r)
        return "?";
    if (strcmp(r, "unreferenced") == 0)
        return "an object no other object refers to (held by C code or the interpreter)";
    if (strcmp(r, "sys") == 0)
        return "the sys module's dict";
    return r;
}

/* ---- one object: its shortest paths, step by step ---- */

static void json_step(struct json *j, const struct paths_run *run, uint32_t v, const char *how)
{
    json_object_begin(j, NULL);
    json_string(j, "how", how);
    json_uint(j, "address", run->off.g.addr[v]);
    json_string(j, "kind", run->off.names[run->off.g.group[v]]);
    json_object_end(j);
}

static void print_referrers(const struct paths_run *run, uint32_t v)
{
    const struct ref_graph *g = &run->off.g;
    size_t shown = 0;
    for (uint64_t e = g->rfirst[v]; e < g->rfirst[v + 1] && shown < 5; e++, shown++)
        printf("  referred to by 0x%llx %s\n", (unsigned long long)g->addr[g->rfrom[e]],
               run->off.names[g->group[g->rfrom[e]]]);
    if (!shown)
        printf("  (no object refers to it)\n");
}

static int paths_to_object(const struct cli_opts *o, struct paths_run *run, uint32_t target, size_t max,
                           struct phs_error *err)
{
    struct ref_graph *g = &run->off.g;
    size_t len = run->dist[target] == UINT32_MAX ? 0 : (size_t)run->dist[target] + 1;
    uint32_t *paths = len ? malloc(max * len * sizeof *paths) : NULL;
    long np = 0;
    if (len && (!paths || (np = refgraph_shortest_paths(g, run->dist, target, max, paths)) < 0)) {
        free(paths);
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory"), -1;
    }
    size_t npairs = np > 0 ? (size_t)np * (len - 1) : 0;
    struct edge_pair *pairs = malloc((npairs ? npairs : 1) * sizeof *pairs);
    char (*labels)[EDGE_LABEL_MAX] = malloc((npairs ? npairs : 1) * sizeof *labels);
    if (!pairs || !labels) {
        free(paths);
        free(pairs);
        free(labels);
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory"), -1;
    }
    for (long p = 0; p < np; p++)
        for (size_t k = 1; k < len; k++)
            pairs[(size_t)p * (len - 1) + k - 1] = (struct edge_pair){paths[p * len + k - 1], paths[p * len + k]};
    enum phs_status st = dumpfile_edge_labels(run->off.path, g, pairs, npairs, labels, err);
    if (st == PHS_OK && o->json) {
        struct json j;
        json_init(&j, stdout, 1);
        json_object_begin(&j, NULL);
        json_string(&j, "dump", run->off.path);
        json_uint(&j, "address", g->addr[target]);
        json_string(&j, "kind", run->off.names[g->group[target]]);
        json_uint(&j, "size", g->size[target]);
        json_bool(&j, "reachable", len > 0);
        json_array_begin(&j, "paths");
        for (long p = 0; p < np; p++) {
            json_object_begin(&j, NULL);
            json_string(&j, "root", root_of(run, paths[p * len]));
            json_array_begin(&j, "steps");
            json_step(&j, run, paths[p * len], "root");
            for (size_t k = 1; k < len; k++)
                json_step(&j, run, paths[p * len + k], labels[(size_t)p * (len - 1) + k - 1]);
            json_array_end(&j);
            json_object_end(&j);
        }
        json_array_end(&j);
        json_object_end(&j);
        json_finish(&j);
    } else if (st == PHS_OK) {
        char size[32];
        cli_format_bytes(g->size[target], size, sizeof size);
        printf("0x%llx %s (%s)\n", (unsigned long long)g->addr[target], run->off.names[g->group[target]], size);
        if (!len) {
            printf("No root leads to it: it is kept only by objects that are themselves unreachable (a\n"
                   "reference cycle the collector has not freed yet), or by C code the walk cannot see.\n");
            print_referrers(run, target);
        } else
            printf("%ld shortest path%s from a root, %zu step%s each%s:\n", np, np == 1 ? "" : "s", len - 1,
                   len == 2 ? "" : "s", (size_t)np == max ? " (--max to see more)" : "");
        for (long p = 0; p < np; p++) {
            printf("\n  root: %s\n", root_of(run, paths[p * len]));
            for (size_t k = 0; k < len; k++) {
                if (len > MAX_SHOWN_DEPTH && k == MAX_SHOWN_DEPTH / 2) {
                    printf("    ... %zu steps ...\n", len - MAX_SHOWN_DEPTH);
                    k = len - MAX_SHOWN_DEPTH / 2;
                }
                uint32_t v = paths[p * len + k];
                printf("    %-36s 0x%-14llx %s\n", k ? labels[(size_t)p * (len - 1) + k - 1] : "",
                       (unsigned long long)g->addr[v], run->off.names[g->group[v]]);
            }
        }
    }
    free(paths);
    free(pairs);
    free(labels);
    return st == PHS_OK ? 0 : -1;
}

/* ---- a kind: every instance's chain, grouped by shape ---- */

struct shape {
    char *text;                  /* root, then the labels with indices as [*] */
    uint64_t count, bytes;
    uint32_t example;
};

static int by_count(const void *a, const void *b)
{
    const struct shape *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->text, y->text);
}

static int by_text(const void *a, const void *b)
{
    return strcmp(((const struct shape *)a)->text, ((const struct shape *)b)->text);
}

/* Append label to buf as a shape step: item indices become [*], and an
 * instance's .__dict__ then ['name'] reads as the attribute .name. */
static void shape_step(char *buf, size_t cap, const char *label)
{
    size_t len = strlen(buf);
    if (len + 2 >= cap)
        return;
    size_t name_len = strlen(label);
    if (len >= 10 && strcmp(buf + len - 10, " .__dict__") == 0 && name_len > 4 && strncmp(label, "['", 2) == 0 &&
        strcmp(label + name_len - 2, "']") == 0) {
        snprintf(buf + len - 10, cap - (len - 10), " .%.*s", (int)(name_len - 4), label + 2);
        return;
    }
    if (label[0] == '[' && (label[1] >= '0' && label[1] <= '9'))
        snprintf(buf + len, cap - len, " [*]");
    else
        snprintf(buf + len, cap - len, " %s", label);
}

static int paths_to_kind(const struct cli_opts *o, struct paths_run *run, long group, size_t max,
                         struct phs_error *err)
{
    struct ref_graph *g = &run->off.g;
    /* label every tree edge into an instance's chain: one per node on them */
    uint8_t *on_chain = calloc(g->n ? g->n : 1, 1);
    uint32_t *pair_of = malloc((g->n ? g->n : 1) * sizeof *pair_of);
    if (!on_chain || !pair_of) {
        free(on_chain);
        free(pair_of);
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory"), -1;
    }
    size_t npairs = 0, instances = 0, unreached = 0;
    uint64_t unreached_bytes = 0;
    for (uint32_t v = 0; v < g->n; v++) {
        if (g->group[v] != (uint32_t)group)
            continue;
        instances++;
        if (run->dist[v] == UINT32_MAX) {
            unreached++;
            unreached_bytes += g->size[v];
            continue;
        }
        for (uint32_t x = v; run->parent[x] != REFGRAPH_NONE && !on_chain[x]; x = run->parent[x]) {
            on_chain[x] = 1;
            npairs++;
        }
    }
    struct edge_pair *pairs = malloc((npairs ? npairs : 1) * sizeof *pairs);
    char (*labels)[EDGE_LABEL_MAX] = malloc((npairs ? npairs : 1) * sizeof *labels);
    struct shape *shapes = calloc(instances ? instances : 1, sizeof *shapes);
    enum phs_status st = pairs && labels && shapes ? PHS_OK : phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    size_t k = 0;
    for (uint32_t v = 0; st == PHS_OK && v < g->n; v++)
        if (on_chain[v]) {
            pair_of[v] = (uint32_t)k;
            pairs[k++] = (struct edge_pair){run->parent[v], v};
        }
    if (st == PHS_OK)
        st = dumpfile_edge_labels(run->off.path, g, pairs, npairs, labels, err);
    size_t nshapes = 0;
    uint32_t *chain = malloc((g->n ? g->n : 1) * sizeof *chain);
    if (st == PHS_OK && !chain)
        st = phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    for (uint32_t v = 0; st == PHS_OK && v < g->n; v++) {
        if (g->group[v] != (uint32_t)group || run->dist[v] == UINT32_MAX)
            continue;
        size_t len = 0;
        for (uint32_t x = v; x != REFGRAPH_NONE; x = run->parent[x])
            chain[len++] = x;
        char text[4096];
        snprintf(text, sizeof text, "%s", root_of(run, chain[len - 1]));
        for (size_t i = len - 1; i-- > 0;)
            shape_step(text, sizeof text, labels[pair_of[chain[i]]]);
        if (!(shapes[nshapes].text = strdup(text))) {
            st = phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
            break;
        }
        shapes[nshapes].count = 1;
        shapes[nshapes].bytes = g->size[v];
        shapes[nshapes].example = v;
        nshapes++;
    }
    /* merge equal shapes */
    qsort(shapes, nshapes, sizeof *shapes, by_text);
    size_t d = 0;
    for (size_t i = 0; i < nshapes; i++) {
        if (d && strcmp(shapes[d - 1].text, shapes[i].text) == 0) {
            shapes[d - 1].count++;
            shapes[d - 1].bytes += shapes[i].bytes;
            free(shapes[i].text);
            continue;
        }
        shapes[d++] = shapes[i];
    }
    nshapes = d;
    qsort(shapes, nshapes, sizeof *shapes, by_count);
    size_t shown = nshapes < max ? nshapes : max;
    if (st == PHS_OK && o->json) {
        struct json j;
        json_init(&j, stdout, 1);
        json_object_begin(&j, NULL);
        json_string(&j, "dump", run->off.path);
        json_string(&j, "kind", run->off.names[group]);
        json_uint(&j, "instances", instances);
        json_uint(&j, "unreachable", unreached);
        json_uint(&j, "shapes", nshapes);
        json_array_begin(&j, "paths");
        for (size_t i = 0; i < shown; i++) {
            json_object_begin(&j, NULL);
            json_string(&j, "shape", shapes[i].text);
            json_uint(&j, "count", shapes[i].count);
            json_uint(&j, "bytes", shapes[i].bytes);
            json_uint(&j, "example", g->addr[shapes[i].example]);
            json_uint(&j, "steps", run->dist[shapes[i].example]);
            json_object_end(&j);
        }
        json_array_end(&j);
        json_object_end(&j);
        json_finish(&j);
    } else if (st == PHS_OK) {
        char cnt[32], ub[32];
        cli_format_count(instances, cnt, sizeof cnt);
        printf("%s instances of %s; the shortest path from a root to each, grouped by shape ([*]: any index):\n",
               cnt, run->off.names[group]);
        for (size_t i = 0; i < shown; i++) {
            char c[32], b[32];
            cli_format_count(shapes[i].count, c, sizeof c);
            cli_format_bytes(shapes[i].bytes, b, sizeof b);
            printf("\n  %s instances (%s), e.g. 0x%llx, %u steps:\n    %s\n", c, b,
                   (unsigned long long)g->addr[shapes[i].example], run->dist[shapes[i].example], shapes[i].text);
        }
        if (nshapes > shown)
            printf("\n  ... and %zu more shapes (--max to see more)\n", nshapes - shown);
        if (unreached) {
            cli_format_count(unreached, cnt, sizeof cnt);
            cli_format_bytes(unreached_bytes, ub, sizeof ub);
            printf("\n  %s instances (%s) no root leads to (garbage not yet collected, or held by C code)\n", cnt, ub);
        }
    }
    for (size_t i = 0; i < nshapes; i++)
        free(shapes[i].text);
    free(shapes);
    free(chain);
    free(pairs);
    free(labels);
    free(on_chain);
    free(pair_of);
    return st == PHS_OK ? 0 : -1;
}

int cmd_paths(const struct cli_opts *o, const char *path, const char *address)
{
    struct phs_error err;
    memset(&err, 0, sizeof err);
    uint64_t addr = 0;
    if (!!address == !!o->kind) {
        fprintf(stderr, "pyheapscope paths: give an ADDRESS or --kind KIND (e.g. paths heap.jsonl.gz --kind "
                        "app.Order)\nTry 'pyheapscope --help'.\n");
        return phs_status_exit_code(PHS_USAGE);
    }
    if (address && offline_parse_address(address, &addr) != 0) {
        fprintf(stderr, "pyheapscope paths: '%s' is not an address (0x7f... or decimal)\n", address);
        return phs_status_exit_code(PHS_USAGE);
    }
    struct paths_run run;
    memset(&run, 0, sizeof run);
    if (offline_load(path, &run.off, &err) != PHS_OK)
        return cli_fail("paths", &err);
    struct ref_graph *g = &run.off.g;
    size_t max = o->max > 0 ? (size_t)o->max : 5;
    int rc = 0;
    long group = -1;
    uint32_t target = REFGRAPH_NONE;
    if (address && (target = refgraph_find(g, addr)) == REFGRAPH_NONE)
        phs_error_set(&err, PHS_NOT_FOUND, 0, "%s has no object at 0x%llx", path, (unsigned long long)addr);
    else if (o->kind && (group = offline_group(&run.off, o->kind)) < 0)
        phs_error_set(&err, PHS_NOT_FOUND, 0, "%s has no objects of kind '%s' (kinds are named as in `summary`, "
                      "e.g. app.models.Order)", path, o->kind);
    else {
        run.dist = malloc((g->n ? g->n : 1) * sizeof *run.dist);
        run.parent = malloc((g->n ? g->n : 1) * sizeof *run.parent);
        if (!run.dist || !run.parent || refgraph_bfs(g, run.dist, run.parent) != 0 || refgraph_build_preds(g) != 0)
            phs_error_set(&err, PHS_INTERNAL, ENOMEM, "out of memory for the graph of %zu objects", g->n);
        else
            rc = address ? paths_to_object(o, &run, target, max, &err) : paths_to_kind(o, &run, group, max, &err);
    }
    run_done(&run);
    if (err.code != PHS_OK || rc != 0)
        return cli_fail("paths", &err);
    return 0;
}
