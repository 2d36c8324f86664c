/* offline.h - a dump loaded with its reference graph, for the commands
 * that analyse it (retained, paths): the graph, the kinds' names (one
 * group per distinct name, as the histogram merges them), and how to name
 * an object and a root in their output. */
#ifndef PYHEAPSCOPE_OFFLINE_H
#define PYHEAPSCOPE_OFFLINE_H

#include "pyheapscope/dumpfile.h"
#include "pyheapscope/refgraph.h"

struct offline {
    const char *path;
    struct dump_header hd;
    struct heap h;
    struct ref_graph g;          /* g.group: an index into names */
    char **names;                /* "app.Order", "dict of app.Order", ... sorted */
    size_t nnames;
    uint32_t *root_of;           /* per node: the root record naming it (a named one first), or NONE */
};

enum phs_status offline_load(const char *path, struct offline *off, struct phs_error *err);
void offline_done(struct offline *off);

/* The group of kind name, or -1. */
long offline_group(const struct offline *off, const char *name);

/* The name of the root that holds node (the first root record naming it),
 * or NULL if it is not a root. */
const char *offline_root_name(const struct offline *off, uint32_t node);

/* Parse "0x7f..." or decimal. 0 on success. */
int offline_parse_address(const char *s, uint64_t *out);

/* "from FILE (pid N, Python V, TIME)" for headers. */
void offline_describe(const struct offline *off, char *out, size_t cap);

#endif
