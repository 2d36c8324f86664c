/* walk_bench.c - the walk alone, repeated on one snapshot: takes one
 * paused snapshot of PID, then walks the same copy N times and prints the
 * fastest and the median walk. Separates the walk's cost from the page
 * faults and the copy, whose cost moves with the machine's load.
 *
 *     build/walk-bench PID [N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyheapscope/heap.h"

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: walk-bench PID [N]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 5;
    if (n < 1 || n > 1000)
        n = 5;
    struct phs_error err;
    memset(&err, 0, sizeof err);
    struct py_attach_opts opts;
    memset(&opts, 0, sizeof opts);
    struct py_process p;
    if (py_attach((pid_t)atoi(argv[1]), &opts, &p, &err) != PHS_OK) {
        fprintf(stderr, "walk-bench: %s\n", err.msg);
        return 1;
    }
    struct snapshot *snap = snapshot_new(p.mem);
    struct heap h;
    struct heap_timing tm;
    if (!snap || heap_take(&p, snap, 0, &h, &tm, &err) != PHS_OK) {
        fprintf(stderr, "walk-bench: %s\n", err.msg);
        return 1;
    }
    uint64_t objects = h.total.count;
    heap_done(&h);
    uint64_t *ns = calloc((size_t)n, sizeof *ns), *seed_ns = calloc((size_t)n, sizeof *seed_ns);
    p.mem = &snap->base;
    for (int i = 0; i < n; i++) {
        struct heap_walk_opts wo = {0};
        if (!ns || !seed_ns || heap_walk(&p, &snap->base, snap, &wo, &h, &err) != PHS_OK) {
            fprintf(stderr, "walk-bench: %s\n", err.msg);
            return 1;
        }
        ns[i] = h.stats.walk_ns;
        seed_ns[i] = h.stats.seed_ns;
        heap_done(&h);
    }
    qsort(ns, (size_t)n, sizeof *ns, by_value);
    qsort(seed_ns, (size_t)n, sizeof *seed_ns, by_value);
    printf("objects %llu copied %llu walks %d fastest %.3f s median %.3f s (%.1f M objects/s at the fastest); "
           "chasing the collector's lists: median %.3f s\n",
           (unsigned long long)objects, (unsigned long long)tm.bytes_copied, n, ns[0] / 1e9, ns[n / 2] / 1e9,
           objects / (ns[0] / 1e9) / 1e6, seed_ns[n / 2] / 1e9);
    return 0;
}
