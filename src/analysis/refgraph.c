/* refgraph.c - dominators, retained sizes and shortest paths on the
 * reference graph (see refgraph.h). Every traversal is iterative with
 * explicit stacks sized by the node count: a linked list of ten million
 * objects is ten million deep, far beyond the C stack. Memory is a few
 * words per node and per edge, allocated once per call. */
#include "pyheapscope/refgraph.h"

#include <stdlib.h>
#include <string.h>

void refgraph_free(struct ref_graph *g)
{
    free(g->addr);
    free(g->group);
    free(g->size);
    free(g->first);
    free(g->to);
    free(g->line_at);
    free(g->roots);
    for (size_t i = 0; i < g->nroot_names; i++)
        free(g->root_names[i]);
    free(g->root_names);
    free(g->rfirst);
    free(g->rfrom);
    addr_index_free(&g->index);
    memset(g, 0, sizeof *g);
}

int refgraph_index(struct ref_graph *g)
{
    addr_index_free(&g->index);
    return addr_index_build(&g->index, g->addr, g->n);
}

uint32_t refgraph_find(const struct ref_graph *g, uint64_t addr)
{
    struct addr_index all = {.addr = g->addr, .n = g->n};    /* not indexed: bisect all */
    size_t at = addr_index_find(g->index.addr == g->addr ? &g->index : &all, addr);
    return at == ADDR_INDEX_NONE ? REFGRAPH_NONE : (uint32_t)at;
}

int refgraph_build_preds(struct ref_graph *g)
{
    if (g->rfirst)
        return 0;
    g->rfirst = calloc(g->n + 1, sizeof *g->rfirst);
    g->rfrom = malloc((g->nedges ? g->nedges : 1) * sizeof *g->rfrom);
    if (!g->rfirst || !g->rfrom) {
        free(g->rfirst);
        free(g->rfrom);
        g->rfirst = NULL;
        g->rfrom = NULL;
        return -1;
    }
    for (size_t e = 0; e < g->nedges; e++)
        g->rfirst[g->to[e] + 1]++;
    for (size_t v = 0; v < g->n; v++)
        g->rfirst[v + 1] += g->rfirst[v];
    /* fill from the back so that each row ends up in ascending source order */
    for (size_t v = g->n; v-- > 0;)
        for (uint64_t e = g->first[v + 1]; e-- > g->first[v];)
            g->rfrom[--g->rfirst[g->to[e] + 1]] = (uint32_t)v;
    /* rfirst[x+1] was walked back to the start of row x: shift into place */
    memmove(g->rfirst, g->rfirst + 1, g->n * sizeof *g->rfirst);
    g->rfirst[g->n] = g->nedges;
    return 0;
}

/* ---- Lengauer-Tarjan ---- */

struct lt {
    uint32_t *semi, *vertex, *parent, *ancestor, *label, *dom, *bhead, *bnext, *stack;
    uint64_t *cursor;
    uint8_t *from_root;      /* the virtual root refers to it */
    uint32_t count;          /* vertices numbered so far */
};

/* Number v next in preorder, reached from parent, and push it. */
static void lt_visit(struct lt *t, const struct ref_graph *g, uint32_t v, uint32_t parent, size_t *top,
                     uint8_t *mark)
{
    t->parent[v] = parent;
    t->semi[v] = ++t->count;
    t->vertex[t->count] = v;
    t->label[v] = v;
    t->cursor[v] = g->first[v];
    t->stack[(*top)++] = v;
    if (mark)
        mark[v] = 1;
}

/* Depth-first from s (a child of the virtual root), numbering in preorder. */
static void lt_dfs(struct lt *t, const struct ref_graph *g, uint32_t s, uint32_t root, uint8_t *mark)
{
    size_t top = 0;
    lt_visit(t, g, s, root, &top, mark);
    while (top) {
        uint32_t v = t->stack[top - 1];
        if (t->cursor[v] == g->first[v + 1]) {
            top--;
            continue;
        }
        uint32_t w = g->to[t->cursor[v]++];
        if (!t->semi[w])
            lt_visit(t, g, w, v, &top, mark);
    }
}

/* Path compression, without recursion: the chain of ancestors is pushed,
 * then each link is shortened from the top of the chain down. */
static void lt_compress(struct lt *t, uint32_t v)
{
    size_t top = 0;
    for (uint32_t x = v; t->ancestor[t->ancestor[x]] != REFGRAPH_NONE; x = t->ancestor[x])
        t->stack[top++] = x;
    while (top) {
        uint32_t x = t->stack[--top], a = t->ancestor[x];
        if (t->semi[t->label[a]] < t->semi[t->label[x]])
            t->label[x] = t->label[a];
        t->ancestor[x] = t->ancestor[a];
    }
}

static uint32_t lt_eval(struct lt *t, uint32_t v)
{
    if (t->ancestor[v] == REFGRAPH_NONE)
        return v;
    lt_compress(t, v);
    return t->label[v];
}

static void lt_free(struct lt *t)
{
    free(t->semi);
    free(t->vertex);
    free(t->parent);
    free(t->ancestor);
    free(t->label);
    free(t->dom);
    free(t->bhead);
    free(t->bnext);
    free(t->stack);
    free(t->cursor);
    free(t->from_root);
}

int refgraph_dominators(struct ref_graph *g, uint32_t *idom, uint64_t *retained, uint32_t *retained_count,
                        uint8_t *unreachable)
{
    if (g->n >= REFGRAPH_NONE - 1 || refgraph_build_preds(g) != 0)
        return -1;
    size_t nv = g->n + 1;
    uint32_t root = (uint32_t)g->n;          /* the virtual root */
    struct lt t = {0};
    t.semi = calloc(nv, sizeof *t.semi);
    t.vertex = malloc((nv + 1) * sizeof *t.vertex);
    t.parent = malloc(nv * sizeof *t.parent);
    t.ancestor = malloc(nv * sizeof *t.ancestor);
    t.label = malloc(nv * sizeof *t.label);
    t.dom = malloc(nv * sizeof *t.dom);
    t.bhead = malloc(nv * sizeof *t.bhead);
    t.bnext = malloc(nv * sizeof *t.bnext);
    t.stack = malloc(nv * sizeof *t.stack);
    t.cursor = malloc(nv * sizeof *t.cursor);
    t.from_root = calloc(nv, 1);
    if (!t.semi || !t.vertex || !t.parent || !t.ancestor || !t.label || !t.dom || !t.bhead || !t.bnext ||
        !t.stack || !t.cursor || !t.from_root) {
        lt_free(&t);
        return -1;
    }
    for (size_t v = 0; v < nv; v++) {
        t.ancestor[v] = REFGRAPH_NONE;
        t.bhead[v] = REFGRAPH_NONE;
    }
    if (unreachable)
        memset(unreachable, 0, g->n);
    t.semi[root] = ++t.count;
    t.vertex[t.count] = root;
    t.label[root] = root;
    t.parent[root] = REFGRAPH_NONE;
    for (size_t i = 0; i < g->nroots; i++) {
        uint32_t r = g->roots[i].node;
        if (r >= g->n)
            continue;
        t.from_root[r] = 1;
        if (!t.semi[r])
            lt_dfs(&t, g, r, root, NULL);
    }
    /* what no root leads to hangs from the virtual root too */
    for (uint32_t v = 0; v < g->n; v++)
        if (!t.semi[v]) {
            t.from_root[v] = 1;
            lt_dfs(&t, g, v, root, unreachable);
        }
    for (uint32_t i = t.count; i >= 2; i--) {
        uint32_t w = t.vertex[i];
        if (t.from_root[w])
            t.semi[w] = 1;                   /* the virtual root's number */
        for (uint64_t e = g->rfirst[w]; e < g->rfirst[w + 1]; e++) {
            uint32_t u = lt_eval(&t, g->rfrom[e]);
            if (t.semi[u] < t.semi[w])
                t.semi[w] = t.semi[u];
        }
        uint32_t s = t.vertex[t.semi[w]];
        t.bnext[w] = t.bhead[s];
        t.bhead[s] = w;
        uint32_t p = t.parent[w];
        t.ancestor[w] = p;
        for (uint32_t v = t.bhead[p]; v != REFGRAPH_NONE; v = t.bnext[v]) {
            uint32_t u = lt_eval(&t, v);
            t.dom[v] = t.semi[u] < t.semi[v] ? u : p;
        }
        t.bhead[p] = REFGRAPH_NONE;
    }
    for (uint32_t i = 2; i <= t.count; i++) {
        uint32_t w = t.vertex[i];
        if (t.dom[w] != t.vertex[t.semi[w]])
            t.dom[w] = t.dom[t.dom[w]];
    }
    for (uint32_t v = 0; v < g->n; v++) {
        idom[v] = t.dom[v] == root ? REFGRAPH_NONE : t.dom[v];
        retained[v] = g->size[v];
        if (retained_count)
            retained_count[v] = 1;
    }
    /* a dominator is numbered before what it dominates: sum bottom-up */
    for (uint32_t i = t.count; i >= 2; i--) {
        uint32_t w = t.vertex[i];
        if (idom[w] != REFGRAPH_NONE) {
            retained[idom[w]] += retained[w];
            if (retained_count)
                retained_count[idom[w]] += retained_count[w];
        }
    }
    lt_free(&t);
    return 0;
}

int refgraph_retained_by_group(const struct ref_graph *g, const uint32_t *idom, const uint64_t *retained,
                               size_t ngroups, uint64_t *out, uint64_t *count)
{
    size_t n = g->n;
    uint64_t *cfirst = calloc(n + 2, sizeof *cfirst);
    uint32_t *child = malloc((n ? n : 1) * sizeof *child);
    uint32_t *stack = malloc((n + 1) * sizeof *stack);
    uint64_t *on_path = calloc(ngroups ? ngroups : 1, sizeof *on_path);
    uint8_t *entered = calloc(n ? n : 1, 1);
    int rc = -1;
    if (!cfirst || !child || !stack || !on_path || !entered)
        goto out;
    memset(out, 0, ngroups * sizeof *out);
    memset(count, 0, ngroups * sizeof *count);
    /* children of the dominator tree, row n for the virtual root */
    for (size_t v = 0; v < n; v++)
        cfirst[(idom[v] == REFGRAPH_NONE ? n : idom[v]) + 1]++;
    for (size_t v = 0; v <= n; v++)
        cfirst[v + 1] += cfirst[v];
    for (size_t v = n; v-- > 0;)
        child[--cfirst[(idom[v] == REFGRAPH_NONE ? n : idom[v]) + 1]] = (uint32_t)v;
    memmove(cfirst, cfirst + 1, (n + 1) * sizeof *cfirst);
    cfirst[n + 1] = n;
    /* depth-first through the tree, counting each group on the current
     * path: an object counts for its group if none of its dominators is of
     * that group (it would be freed with that one, and counted there) */
    size_t top = 0;
    for (uint64_t c = cfirst[n]; c < cfirst[n + 1]; c++)
        stack[top++] = child[c];
    while (top) {
        uint32_t v = stack[top - 1];
        uint32_t grp = g->group[v];
        if (entered[v]) {
            top--;
            if (grp < ngroups)
                on_path[grp]--;
            continue;
        }
        entered[v] = 1;
        if (grp < ngroups) {
            count[grp]++;
            if (on_path[grp]++ == 0)
                out[grp] += retained[v];
        }
        for (uint64_t c = cfirst[v]; c < cfirst[v + 1]; c++)
            stack[top++] = child[c];
    }
    rc = 0;
out:
    free(cfirst);
    free(child);
    free(stack);
    free(on_path);
    free(entered);
    return rc;
}

int refgraph_bfs(const struct ref_graph *g, uint32_t *dist, uint32_t *parent)
{
    uint32_t *queue = malloc((g->n ? g->n : 1) * sizeof *queue);
    if (!queue)
        return -1;
    for (size_t v = 0; v < g->n; v++) {
        dist[v] = UINT32_MAX;
        parent[v] = REFGRAPH_NONE;
    }
    size_t head = 0, tail = 0;
    for (uint32_t weak = 0; weak <= 1; weak++) {
        for (size_t i = 0; i < g->nroots; i++) {
            uint32_t r = g->roots[i].node;
            if (r < g->n && dist[r] == UINT32_MAX && !g->roots[i].weak == !weak) {
                dist[r] = 0;
                queue[tail++] = r;
            }
        }
        while (head < tail) {
            uint32_t v = queue[head++];
            for (uint64_t e = g->first[v]; e < g->first[v + 1]; e++) {
                uint32_t w = g->to[e];
                if (dist[w] == UINT32_MAX) {
                    dist[w] = dist[v] + 1;
                    parent[w] = v;
                    queue[tail++] = w;
                }
            }
        }
    }
    free(queue);
    return 0;
}

long refgraph_shortest_paths(const struct ref_graph *g, const uint32_t *dist, uint32_t target, size_t max,
                             uint32_t *paths)
{
    if (target >= g->n || dist[target] == UINT32_MAX || max == 0)
        return 0;
    size_t len = (size_t)dist[target] + 1;
    uint32_t *node = malloc(len * sizeof *node);    /* node[k]: the step at distance k */
    uint64_t *cur = malloc(len * sizeof *cur);      /* next predecessor to try there */
    if (!node || !cur) {
        free(node);
        free(cur);
        return -1;
    }
    /* walk back from the target along references that come from one step
     * closer to a root; every complete walk is a distinct shortest path */
    long found = 0;
    size_t k = len - 1;
    node[k] = target;
    cur[k] = g->rfirst[target];
    for (;;) {
        if (k == 0) {
            memcpy(paths + (size_t)found * len, node, len * sizeof *node);
            if ((size_t)++found == max || ++k == len)
                break;
            continue;
        }
        uint32_t v = node[k];
        int stepped = 0;
        while (cur[k] < g->rfirst[v + 1]) {
            uint32_t u = g->rfrom[cur[k]++];
            if (dist[u] == k - 1 && (cur[k] == g->rfirst[v] + 1 || g->rfrom[cur[k] - 2] != u)) {
                node[k - 1] = u;
                cur[k - 1] = g->rfirst[u];
                k--;
                stepped = 1;
                break;
            }
        }
        if (stepped)
            continue;
        if (++k == len)
            break;
    }
    free(node);
    free(cur);
    return found;
}
