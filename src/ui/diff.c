/* diff.c - `pyheapscope diff BEFORE AFTER`: what grew between two dumps of
 * one process, kind by kind (Δcount, Δbytes; new and gone kinds), largest
 * growth first. Front end: the dumps are read by the analysis layer
 * (dumpfile), the deltas come from the growth model that `top` uses. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pyheapscope/dumpfile.h"
#include "pyheapscope/growth.h"
#include "pyheapscope/histogram.h"
#include "pyheapscope/json.h"

struct side {
    const char *path;
    struct dump_header hd;
};

static const char *status_of(const struct growth_row *r)
{
    uint64_t before = (uint64_t)((int64_t)r->count - r->dcount);
    if (before == 0 && r->count)
        return "new";
    if (r->count == 0 && before)
        return "gone";
    return r->dcount || r->dbytes ? "changed" : "same";
}

static int changed(const struct growth_row *r)
{
    return r->dcount || r->dbytes;
}

static void print_side_json(struct json *j, const char *key, const struct side *s, const struct heap *h)
{
    json_object_begin(j, key);
    json_string(j, "dump", s->path);
    json_int(j, "pid", s->hd.pid);
    json_string(j, "python_version", s->hd.python_version);
    json_string(j, "time", s->hd.time);
    json_uint(j, "objects", h->total.count);
    json_uint(j, "bytes", h->total.bytes);
    json_object_end(j);
}

static void print_json(const struct cli_opts *o, const struct side *s, const struct heap *h, const struct growth *g)
{
    struct json j;
    json_init(&j, stdout, 1);
    json_object_begin(&j, NULL);
    print_side_json(&j, "before", &s[0], &h[0]);
    print_side_json(&j, "after", &s[1], &h[1]);
    json_int(&j, "dcount", g->dcount);
    json_int(&j, "dbytes", g->dbytes);
    json_array_begin(&j, "kinds");
    size_t shown = 0;
    for (size_t i = 0; i < g->n && (o->top <= 0 || shown < (size_t)o->top); i++) {
        const struct growth_row *r = &g->rows[i];
        if (!changed(r))
            continue;
        shown++;
        json_object_begin(&j, NULL);
        json_string(&j, "kind", r->kind);
        json_string(&j, "status", status_of(r));
        json_uint(&j, "count_before", (uint64_t)((int64_t)r->count - r->dcount));
        json_uint(&j, "count", r->count);
        json_int(&j, "dcount", r->dcount);
        json_uint(&j, "bytes_before", (uint64_t)((int64_t)r->bytes - r->dbytes));
        json_uint(&j, "bytes", r->bytes);
        json_int(&j, "dbytes", r->dbytes);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

static void print_text(const struct cli_opts *o, const struct side *s, const struct heap *h, const struct growth *g)
{
    char dc[32], db[32], c0[32], c1[32], b0[32], b1[32];
    for (int k = 0; k < 2; k++) {
        cli_format_count(h[k].total.count, c0, sizeof c0);
        cli_format_bytes(h[k].total.bytes, b0, sizeof b0);
        printf("%-7s %s: process %lld, Python %s, %s: %s objects, %s\n", k ? "After" : "Before", s[k].path,
               (long long)s[k].hd.pid, s[k].hd.python_version, s[k].hd.time, c0, b0);
    }
    if (s[0].hd.pid != s[1].hd.pid)
        printf("(two different processes)\n");
    cli_format_signed_count(g->dcount, dc, sizeof dc);
    cli_format_signed_bytes(g->dbytes, db, sizeof db);
    printf("Change: %s objects, %s\n\n", dc, db);
    printf("%12s %12s %12s %12s  %-7s %s\n", "ΔCount", "ΔSize", "Count", "Size", "", "Kind");
    size_t top = o->top < 0 ? 20 : (size_t)o->top, shown = 0, more = 0;
    for (size_t i = 0; i < g->n; i++) {
        const struct growth_row *r = &g->rows[i];
        if (!changed(r))
            continue;
        if (top && shown == top) {
            more++;
            continue;
        }
        shown++;
        cli_format_signed_count(r->dcount, dc, sizeof dc);
        cli_format_signed_bytes(r->dbytes, db, sizeof db);
        cli_format_count(r->count, c1, sizeof c1);
        cli_format_bytes(r->bytes, b1, sizeof b1);
        const char *st = status_of(r);
        printf("%12s %12s %12s %12s  %-7s %s\n", dc, db, c1, b1, strcmp(st, "changed") ? st : "", r->kind);
    }
    if (!shown)
        printf("(no kind changed)\n");
    if (more)
        printf("<%zu more kinds changed; --top 0 shows all>\n", more);
    (void)b0;
    (void)c0;
}

int cmd_diff(const struct cli_opts *o, const char *before, const char *after)
{
    struct phs_error err;
    memset(&err, 0, sizeof err);
    struct side s[2] = {{.path = before}, {.path = after}};
    struct heap h[2];
    struct growth g;
    growth_init(&g);
    enum phs_status st = dumpfile_read(before, &s[0].hd, &h[0], &err);
    if (st != PHS_OK)
        return cli_fail("diff", &err);
    if ((st = dumpfile_read(after, &s[1].hd, &h[1], &err)) != PHS_OK) {
        heap_done(&h[0]);
        return cli_fail("diff", &err);
    }
    for (int k = 0; k < 2 && st == PHS_OK; k++) {
        struct histogram hg;
        if ((st = histogram_build(&h[k], &hg, &err)) == PHS_OK) {
            st = growth_update(&g, &hg, &err);
            histogram_done(&hg);
        }
    }
    if (st == PHS_OK) {
        growth_sort(&g, o->sort == GROWTH_BY_COUNT || o->sort == GROWTH_BY_DCOUNT ? GROWTH_BY_DCOUNT
                        : o->sort == GROWTH_BY_NAME ? GROWTH_BY_NAME : GROWTH_BY_DSIZE, 0);
        if (o->json)
            print_json(o, s, h, &g);
        else
            print_text(o, s, h, &g);
    }
    growth_done(&g);
    heap_done(&h[0]);
    heap_done(&h[1]);
    return st == PHS_OK ? 0 : cli_fail("diff", &err);
}
