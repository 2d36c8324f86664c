/* dumplabels.h - how one object of a dump refers to another, in words
 * ("['orders']", "[17]", ".items", ".md_dict", "local buf"), for `paths`.
 * Analysis layer: reads the dump file again, never a process. */
#ifndef PYHEAPSCOPE_DUMPLABELS_H
#define PYHEAPSCOPE_DUMPLABELS_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapscope/dumpfile.h"
#include "pyheapscope/refgraph.h"

#define EDGE_LABEL_MAX 96

struct edge_pair {
    uint32_t from, to;           /* nodes of g; from refers to to */
};

/* labels[i] = how pairs[i].from refers to pairs[i].to: "[17]" an item,
 * "['orders']" the value of a dict's key (its text from the key's record),
 * "(a key)" a dict key, ".name" an attribute or C field, "local NAME",
 * "stack N", "slot N". Reads the records of the referring objects from
 * the dump g was read from (path), then those of the keys. PHS_IO if the
 * file changed since. */
enum phs_status dumpfile_edge_labels(const char *path, struct ref_graph *g, const struct edge_pair *pairs,
                                     size_t npairs, char (*labels)[EDGE_LABEL_MAX], struct phs_error *err);

#endif
