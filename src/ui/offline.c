/* offline.c - loading a dump with its reference graph for retained and
 * paths (see offline.h). Front end: reads a file through the analysis
 * layer, never a process. */
#include "offline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One group per distinct display name: two classes both called
 * app.Order are one kind, as in the histogram. */
static enum phs_status name_groups(struct offline *off, struct phs_error *err)
{
    size_t nt = off->h.ntypes, ng = 2 * nt;
    char **byid = calloc(ng ? ng : 1, sizeof *byid);
    off->names = calloc(ng ? ng : 1, sizeof *off->names);
    uint32_t *map = malloc((ng ? ng : 1) * sizeof *map);
    enum phs_status st = byid && off->names && map ? PHS_OK : phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    for (size_t i = 0; st == PHS_OK && i < ng; i++) {
        const char *kind = off->h.types[i % nt].name;
        size_t len = strlen(kind) + 9;
        if (!(byid[i] = malloc(len)))
            st = phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
        else
            snprintf(byid[i], len, "%s%s", i < nt ? "" : "dict of ", kind);
    }
    if (st == PHS_OK) {
        memcpy(off->names, byid, ng * sizeof *byid);
        qsort(off->names, ng, sizeof *off->names, cmp_str);
        size_t d = 0;
        for (size_t i = 0; i < ng; i++)
            if (d == 0 || strcmp(off->names[d - 1], off->names[i]) != 0)
                off->names[d++] = off->names[i];
        off->nnames = d;
        for (size_t i = 0; i < ng; i++)
            map[i] = (uint32_t)offline_group(off, byid[i]);
        for (size_t v = 0; v < off->g.n; v++)
            off->g.group[v] = off->g.group[v] < ng ? map[off->g.group[v]] : 0;
        /* the names kept are some of byid's strings: free the others */
        for (size_t i = 0; i < ng; i++)
            if (off->names[map[i]] != byid[i])
                free(byid[i]);
    } else if (byid) {
        for (size_t i = 0; i < ng; i++)
            free(byid[i]);
    }
    free(byid);
    free(map);
    return st;
}

enum phs_status offline_load(const char *path, struct offline *off, struct phs_error *err)
{
    memset(off, 0, sizeof *off);
    off->path = path;
    enum phs_status st = dumpfile_read_graph(path, &off->hd, &off->h, &off->g, err);
    if (st != PHS_OK)
        return st;
    st = name_groups(off, err);
    off->root_of = malloc((off->g.n ? off->g.n : 1) * sizeof *off->root_of);
    if (st == PHS_OK && !off->root_of)
        st = phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    if (st == PHS_OK) {
        for (size_t v = 0; v < off->g.n; v++)
            off->root_of[v] = REFGRAPH_NONE;
        /* a named root says more than "unreferenced": those win */
        for (int weak = 0; weak <= 1; weak++)
            for (size_t i = 0; i < off->g.nroots; i++)
                if (!off->g.roots[i].weak == !weak && off->root_of[off->g.roots[i].node] == REFGRAPH_NONE)
                    off->root_of[off->g.roots[i].node] = (uint32_t)i;
    }
    if (st != PHS_OK)
        offline_done(off);
    return st;
}

void offline_done(struct offline *off)
{
    for (size_t i = 0; i < off->nnames; i++)
        free(off->names[i]);
    free(off->names);
    free(off->root_of);
    refgraph_free(&off->g);
    heap_done(&off->h);
    memset(off, 0, sizeof *off);
}

long offline_group(const struct offline *off, const char *name)
{
    size_t lo = 0, hi = off->nnames;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(off->names[mid], name);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

const char *offline_root_name(const struct offline *off, uint32_t node)
{
    if (node >= off->g.n || off->root_of[node] == REFGRAPH_NONE)
        return NULL;
    return off->g.root_names[off->g.roots[off->root_of[node]].name];
}

int offline_parse_address(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (*s == '\0' || *s == '-' || *end || errno)
        return -1;
    *out = v;
    return 0;
}

void offline_describe(const struct offline *off, char *out, size_t cap)
{
    struct cli_origin from = {.pid = off->hd.pid, .version = off->hd.python_version, .dump = off->path,
                              .time = off->hd.time};
    cli_origin_describe(&from, out, cap);
}
