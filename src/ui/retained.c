/* retained.c - `pyheapscope retained FILE [ADDRESS]`: what would be freed
 * if an object, or every object of a kind, went away. Dominators over the
 * dump's reference graph from its roots (refgraph.c): an object's retained
 * size is its own plus that of everything only it keeps alive, like
 * Eclipse MAT's dominator tree or guppy3's dominated size. Front end:
 * reads a dump through the analysis layer, prints. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offline.h"
#include "pyheapscope/json.h"

#define VALUE_SHOWN 48

struct kind_row {
    uint32_t group;
    uint64_t count, bytes, retained;
};

struct retained_run {
    struct offline off;
    uint32_t *idom;
    uint64_t *retained;
    uint32_t *retained_count;
    uint8_t *unreachable;
    struct kind_row *kinds;
    uint32_t *top;               /* nodes, largest retained first */
    size_t ntop;
    char (*values)[VALUE_SHOWN + 8];   /* per top node */
};

static int by_retained(const void *a, const void *b)
{
    const struct kind_row *x = a, *y = b;
    if (x->retained != y->retained)
        return x->retained < y->retained ? 1 : -1;
    return x->group < y->group ? -1 : x->group > y->group;
}

/* The ntop nodes with the largest retained size (insertion into a short
 * sorted list: ntop is small next to the node count). */
static void pick_top(struct retained_run *run)
{
    size_t have = 0;
    for (uint32_t v = 0; v < run->off.g.n; v++) {
        uint64_t r = run->retained[v];
        if (have == run->ntop && (have == 0 || r <= run->retained[run->top[have - 1]]))
            continue;
        size_t at = have < run->ntop ? have++ : have - 1;
        while (at > 0 && run->retained[run->top[at - 1]] < r) {
            run->top[at] = run->top[at - 1];
            at--;
        }
        run->top[at] = v;
    }
    run->ntop = have;
}

static void on_value(size_t i, const struct dump_record *rec, void *arg)
{
    struct retained_run *run = arg;
    if (rec->value)
        snprintf(run->values[i], sizeof run->values[i], "%.*s%s", VALUE_SHOWN, rec->value,
                 rec->value_cut || strlen(rec->value) > VALUE_SHOWN ? "..." : "");
}

static enum phs_status compute(struct retained_run *run, size_t ntop, struct phs_error *err)
{
    struct ref_graph *g = &run->off.g;
    size_t n = g->n ? g->n : 1, ng = run->off.nnames ? run->off.nnames : 1;
    run->idom = malloc(n * sizeof *run->idom);
    run->retained = malloc(n * sizeof *run->retained);
    run->retained_count = malloc(n * sizeof *run->retained_count);
    run->unreachable = malloc(n);
    run->kinds = calloc(ng, sizeof *run->kinds);
    uint64_t *by_group = calloc(ng, sizeof *by_group), *count = calloc(ng, sizeof *count);
    run->ntop = ntop < g->n ? ntop : g->n;
    run->top = malloc((run->ntop ? run->ntop : 1) * sizeof *run->top);
    run->values = calloc(run->ntop ? run->ntop : 1, sizeof *run->values);
    enum phs_status st = PHS_OK;
    if (!run->idom || !run->retained || !run->retained_count || !run->unreachable || !run->kinds || !by_group ||
        !count || !run->top || !run->values ||
        refgraph_dominators(g, run->idom, run->retained, run->retained_count, run->unreachable) != 0 ||
        refgraph_retained_by_group(g, run->idom, run->retained, run->off.nnames, by_group, count) != 0)
        st = phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory for the dominator tree of %zu objects", g->n);
    if (st == PHS_OK) {
        for (size_t k = 0; k < run->off.nnames; k++)
            run->kinds[k] = (struct kind_row){(uint32_t)k, count[k], 0, by_group[k]};
        for (size_t v = 0; v < g->n; v++)
            run->kinds[g->group[v]].bytes += g->size[v];
        qsort(run->kinds, run->off.nnames, sizeof *run->kinds, by_retained);
        pick_top(run);
        uint64_t *offsets = malloc((run->ntop ? run->ntop : 1) * sizeof *offsets);
        if (!offsets)
            st = phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
        for (size_t i = 0; offsets && i < run->ntop; i++)
            offsets[i] = g->line_at[run->top[i]];
        if (offsets)
            st = dumpfile_records_at(run->off.path, offsets, run->ntop, on_value, run, err);
        free(offsets);
    }
    free(by_group);
    free(count);
    return st;
}

static void run_done(struct retained_run *run)
{
    free(run->idom);
    free(run->retained);
    free(run->retained_count);
    free(run->unreachable);
    free(run->kinds);
    free(run->top);
    free(run->values);
    offline_done(&run->off);
}

/* ---- output ---- */

static void unreachable_totals(const struct retained_run *run, uint64_t *objects, uint64_t *bytes)
{
    *objects = *bytes = 0;
    for (size_t v = 0; v < run->off.g.n; v++)
        if (run->unreachable[v]) {
            (*objects)++;
            *bytes += run->off.g.size[v];
        }
}

static void json_node(struct json *j, const struct retained_run *run, uint32_t v, const char *value)
{
    const struct ref_graph *g = &run->off.g;
    json_object_begin(j, NULL);
    json_uint(j, "address", g->addr[v]);
    json_string(j, "kind", run->off.names[g->group[v]]);
    json_uint(j, "size", g->size[v]);
    json_uint(j, "retained", run->retained[v]);
    json_uint(j, "retained_objects", run->retained_count[v]);
    json_bool(j, "reachable", !run->unreachable[v]);
    if (value && value[0])
        json_string(j, "value", value);
    json_object_end(j);
}

static void print_json(const struct retained_run *run, size_t nkinds, long target)
{
    const struct ref_graph *g = &run->off.g;
    struct json j;
    json_init(&j, stdout, 1);
    json_object_begin(&j, NULL);
    json_string(&j, "dump", run->off.path);
    json_int(&j, "pid", run->off.hd.pid);
    json_string(&j, "python_version", run->off.hd.python_version);
    json_uint(&j, "objects", g->n);
    json_uint(&j, "bytes", run->off.h.total.bytes);
    json_uint(&j, "roots", g->nroots);
    uint64_t uo, ub;
    unreachable_totals(run, &uo, &ub);
    json_object_begin(&j, "unreachable");
    json_uint(&j, "objects", uo);
    json_uint(&j, "bytes", ub);
    json_object_end(&j);
    if (target >= 0) {
        json_object_begin(&j, "object");
        json_uint(&j, "address", g->addr[target]);
        json_string(&j, "kind", run->off.names[g->group[target]]);
        json_uint(&j, "size", g->size[target]);
        json_uint(&j, "retained", run->retained[target]);
        json_uint(&j, "retained_objects", run->retained_count[target]);
        json_bool(&j, "reachable", !run->unreachable[target]);
        json_array_begin(&j, "dominators");
        size_t steps = 0;
        for (uint32_t d = run->idom[target]; d != REFGRAPH_NONE && steps < 1000; d = run->idom[d], steps++)
            json_node(&j, run, d, NULL);
        json_array_end(&j);
        json_object_end(&j);
    }
    json_array_begin(&j, "kinds");
    for (size_t k = 0; k < nkinds; k++) {
        const struct kind_row *r = &run->kinds[k];
        json_object_begin(&j, NULL);
        json_string(&j, "kind", run->off.names[r->group]);
        json_uint(&j, "count", r->count);
        json_uint(&j, "bytes", r->bytes);
        json_uint(&j, "retained", r->retained);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_array_begin(&j, "largest");
    for (size_t i = 0; i < run->ntop; i++)
        json_node(&j, run, run->top[i], run->values[i]);
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

static void print_object(const struct retained_run *run, uint32_t v)
{
    const struct ref_graph *g = &run->off.g;
    char size[32], ret[32], cnt[32];
    cli_format_bytes(g->size[v], size, sizeof size);
    cli_format_bytes(run->retained[v], ret, sizeof ret);
    cli_format_count(run->retained_count[v], cnt, sizeof cnt);
    printf("0x%llx %s: size %s, retained %s (%s objects freed with it)%s\n", (unsigned long long)g->addr[v],
           run->off.names[g->group[v]], size, ret, cnt,
           run->unreachable[v] ? "; no root leads to it (garbage not yet collected, or held by C code)" : "");
    printf("Kept alive through (each the only way to it, nearest first):\n");
    size_t steps = 0;
    for (uint32_t d = run->idom[v]; d != REFGRAPH_NONE; d = run->idom[d], steps++) {
        if (steps == 30) {
            printf("  ...\n");
            break;
        }
        cli_format_bytes(run->retained[d], ret, sizeof ret);
        const char *root = offline_root_name(&run->off, d);
        printf("  0x%-14llx %-28s retained %s%s%s\n", (unsigned long long)g->addr[d], run->off.names[g->group[d]],
               ret, root ? "  root: " : "", root ? root : "");
    }
    if (steps == 0)
        printf("  (nothing but the roots: %s)\n", offline_root_name(&run->off, v) ? offline_root_name(&run->off, v)
                                                                                  : "held from several roots");
    printf("\n");
}

static void print_text(const struct retained_run *run, size_t nkinds, long target)
{
    const struct ref_graph *g = &run->off.g;
    char from[1024], total[32], objs[32], ub_s[32], uo_s[32];
    offline_describe(&run->off, from, sizeof from);
    cli_format_bytes(run->off.h.total.bytes, total, sizeof total);
    cli_format_count(g->n, objs, sizeof objs);
    uint64_t uo, ub;
    unreachable_totals(run, &uo, &ub);
    cli_format_count(uo, uo_s, sizeof uo_s);
    cli_format_bytes(ub, ub_s, sizeof ub_s);
    printf("Retained sizes from %s\n%s objects, %s; %s objects (%s) reachable from no root\n\n", from, objs, total,
           uo_s, ub_s);
    if (target >= 0)
        print_object(run, (uint32_t)target);
    printf("By kind: what would be freed if every object of the kind went away\n");
    printf("%14s %6s %12s %12s  %s\n", "retained", "%", "count", "bytes", "kind");
    for (size_t k = 0; k < nkinds; k++) {
        const struct kind_row *r = &run->kinds[k];
        char rs[32], cs[32], bs[32];
        cli_format_bytes(r->retained, rs, sizeof rs);
        cli_format_count(r->count, cs, sizeof cs);
        cli_format_bytes(r->bytes, bs, sizeof bs);
        double pct = run->off.h.total.bytes ? 100.0 * (double)r->retained / (double)run->off.h.total.bytes : 0;
        printf("%14s %5.1f%% %12s %12s  %s\n", rs, pct, cs, bs, run->off.names[r->group]);
    }
    printf("\nLargest objects by retained size\n");
    printf("%14s %12s %12s  %-18s %-28s %s\n", "retained", "objects", "size", "address", "kind", "value / root");
    for (size_t i = 0; i < run->ntop; i++) {
        uint32_t v = run->top[i];
        char rs[32], cs[32], ss[32];
        cli_format_bytes(run->retained[v], rs, sizeof rs);
        cli_format_count(run->retained_count[v], cs, sizeof cs);
        cli_format_bytes(g->size[v], ss, sizeof ss);
        const char *root = offline_root_name(&run->off, v);
        printf("%14s %12s %12s  0x%-16llx %-28s %s%s\n", rs, cs, ss, (unsigned long long)g->addr[v],
               run->off.names[g->group[v]], run->values[i][0] ? run->values[i] : root ? "root: " : "",
               run->values[i][0] ? "" : root ? root : "");
    }
}

int cmd_retained(const struct cli_opts *o, const char *path, const char *address)
{
    struct phs_error err;
    memset(&err, 0, sizeof err);
    struct retained_run run;
    memset(&run, 0, sizeof run);
    uint64_t addr = 0;
    if (address && offline_parse_address(address, &addr) != 0) {
        fprintf(stderr, "pyheapscope retained: '%s' is not an address (0x7f... or decimal)\n", address);
        return phs_status_exit_code(PHS_USAGE);
    }
    if (offline_load(path, &run.off, &err) != PHS_OK)
        return cli_fail("retained", &err);
    long target = -1;
    if (address && (target = (long)refgraph_find(&run.off.g, addr)) == (long)REFGRAPH_NONE) {
        phs_error_set(&err, PHS_NOT_FOUND, 0, "%s has no object at 0x%llx", path, (unsigned long long)addr);
        run_done(&run);
        return cli_fail("retained", &err);
    }
    size_t top = o->top < 0 ? 20 : o->top == 0 ? SIZE_MAX : (size_t)o->top;
    if (compute(&run, top, &err) != PHS_OK) {
        run_done(&run);
        return cli_fail("retained", &err);
    }
    size_t nkinds = top < run.off.nnames ? top : run.off.nnames;
    while (nkinds > 0 && run.kinds[nkinds - 1].count == 0)
        nkinds--;
    if (o->json)
        print_json(&run, nkinds, target);
    else
        print_text(&run, nkinds, target);
    run_done(&run);
    return 0;
}
