/* refgraph.h - the reference graph of a heap, and what is computed on it:
 * dominators and retained sizes (`retained`), shortest paths from the
 * roots (`paths`). Analysis layer: plain arrays in, plain arrays out; it
 * knows nothing of files or processes (dumpfile.c fills the graph).
 *
 * Nodes are objects 0..n-1. Edges are in compressed rows: the references
 * of node v are to[first[v] .. first[v+1]). Roots are nodes the program
 * holds from outside the heap (sys.modules, a thread's frames, objects no
 * other object refers to). */
#ifndef PYHEAPSCOPE_REFGRAPH_H
#define PYHEAPSCOPE_REFGRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapscope/addrindex.h"

#define REFGRAPH_NONE UINT32_MAX     /* no node: the virtual root above all roots */

struct ref_root {
    uint32_t node;
    uint32_t name;                   /* index into ref_graph.root_names */
    uint32_t weak;                   /* only "no object refers to it": paths start here last */
};

struct ref_graph {
    size_t n;
    uint64_t *addr;                  /* ascending */
    uint32_t *group;                 /* what the histogram counts it under (see dumpfile.h) */
    uint64_t *size;                  /* sys.getsizeof */
    uint64_t *first;                 /* n + 1 */
    uint32_t *to;
    size_t nedges;
    uint64_t *line_at;               /* where each object's record starts in its file */
    struct ref_root *roots;
    size_t nroots;
    char **root_names;               /* "sys.modules", "thread 1234: frame handle (app.py:12)" */
    size_t nroot_names;
    struct addr_index index;         /* refgraph_index */
    /* built on demand (refgraph_build_preds): who refers to each node */
    uint64_t *rfirst;
    uint32_t *rfrom;
};

void refgraph_free(struct ref_graph *g);

/* Index the addresses so that refgraph_find is a short search. -1 on
 * out-of-memory (refgraph_find still works, by bisection of all). */
int refgraph_index(struct ref_graph *g);

/* The node at address addr, or REFGRAPH_NONE. */
uint32_t refgraph_find(const struct ref_graph *g, uint64_t addr);

/* Fill rfirst/rfrom. -1 on out-of-memory. */
int refgraph_build_preds(struct ref_graph *g);

/* Dominators over the graph from a virtual root whose children are the
 * roots; nodes it does not reach (cycles no root leads to: garbage not yet
 * collected, or objects held only by C code) are then reached from the
 * virtual root too, lowest address first, and flagged in *unreachable
 * (may be NULL). Lengauer-Tarjan with path compression, iterative.
 * Out: idom[v] (REFGRAPH_NONE: the virtual root), retained[v] = size of v
 * plus everything v dominates, retained_count[v] (may be NULL) how many
 * objects that is. -1 on out-of-memory. Builds the preds. */
int refgraph_dominators(struct ref_graph *g, uint32_t *idom, uint64_t *retained, uint32_t *retained_count,
                        uint8_t *unreachable);

/* Retained size per group: the bytes freed if every object of the group
 * went away = the sum of retained[v] over the group's objects that no
 * other object of the same group dominates. out[ngroups] (zeroed here),
 * count[ngroups] the objects of each group. -1 on out-of-memory. */
int refgraph_retained_by_group(const struct ref_graph *g, const uint32_t *idom, const uint64_t *retained,
                               size_t ngroups, uint64_t *out, uint64_t *count);

/* Breadth-first distances from the roots: dist[v] = fewest references from
 * a root (0 for a root), UINT32_MAX if no root leads to v; parent[v] the
 * node it was first reached from (REFGRAPH_NONE for roots and unreached).
 * The strong roots (sys.modules, threads' frames, ...) are searched from
 * first; the weak ones only for what those do not reach, so that a path
 * names a real root whenever there is one. -1 on out-of-memory. */
int refgraph_bfs(const struct ref_graph *g, uint32_t *dist, uint32_t *parent);

/* Up to max shortest paths from a root to target, distinct, each as
 * dist[target] + 1 nodes from the root to target, into paths (max rows of
 * dist[target] + 1). Needs the preds and a dist from refgraph_bfs.
 * Returns how many were found (0 if no root leads to target), -1 on
 * out-of-memory. */
long refgraph_shortest_paths(const struct ref_graph *g, const uint32_t *dist, uint32_t target, size_t max,
                             uint32_t *paths);

#endif
