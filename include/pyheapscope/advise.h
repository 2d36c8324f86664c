/* advise.h - the memory a program could save, found in its heap (issue 9).
 *
 * An analysis over a walked heap: it reads objects back through the heap
 * layer (values, lengths, capacities) and never the target. Each finding
 * says how many objects, their bytes now (sys.getsizeof), the bytes the
 * fix would free, a few examples and the fix. Savings are what the fix
 * frees by the target version's own sizes, so they can be checked by
 * applying the fix inside the target (tests/integration/test_advise.py). */
#ifndef PYHEAPSCOPE_ADVISE_H
#define PYHEAPSCOPE_ADVISE_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapscope/error.h"
#include "pyheapscope/heap.h"

enum advice_kind {
    ADVICE_DUPLICATES,        /* equal str/bytes/int/float held by distinct objects */
    ADVICE_OVERALLOCATED,     /* lists and bytearrays with spare capacity */
    ADVICE_EMPTY,             /* empty containers */
    ADVICE_KINDS
};

#define ADVICE_EXAMPLES 3

/* One value held by several objects, or one group of a finding. */
struct advice_group {
    char value[96];           /* a preview of the value */
    uint64_t objects;         /* copies */
    uint64_t size;            /* sys.getsizeof of one */
    uint64_t saving;          /* (objects - 1) * size */
    uint64_t examples[ADVICE_EXAMPLES];
};

struct advice_finding {
    enum advice_kind kind;
    char type[64];            /* "str", "list", ... */
    uint64_t objects;         /* objects concerned */
    uint64_t bytes;           /* their sys.getsizeof now */
    uint64_t saving;          /* estimated bytes freed by the fix */
    uint64_t examples[ADVICE_EXAMPLES];
    struct advice_group *groups;  /* duplicates: the values, most saving first */
    size_t ngroups;           /* listed */
    uint64_t total_groups;    /* values with copies, listed or not */
};

struct advice {
    struct advice_finding *findings;   /* most saving first */
    size_t n;
    uint64_t heap_bytes;      /* every object counted */
    uint64_t heap_objects;
    uint64_t saving;          /* summed over the findings */
};

/* Look for waste in h; keep at most max_groups values per duplicates
 * finding. PHS_INTERNAL on out-of-memory. Release with advice_done. */
enum phs_status advise_build(struct heap *h, size_t max_groups, struct advice *out, struct phs_error *err);

void advice_done(struct advice *a);

/* What a finding's kind is called ("duplicate values", ...) and its fix. */
const char *advice_kind_name(enum advice_kind k);
const char *advice_kind_key(enum advice_kind k);   /* for JSON: "duplicates" */
const char *advice_fix(enum advice_kind k, const char *type);

#endif
