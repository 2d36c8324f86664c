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
    ADVICE_DUPLICATES,        /* equal str/bytes/int/float, and tuples/frozensets of them, held by distinct objects */
    ADVICE_OVERALLOCATED,     /* lists and bytearrays with spare capacity, dicts and sets with oversized tables */
    ADVICE_EMPTY,             /* empty containers */
    ADVICE_RECORDS,           /* many dicts with the same str keys (records) */
    ADVICE_NO_SLOTS,          /* instances of classes without __slots__ */
    ADVICE_IDENTICAL,         /* instances whose attribute values equal another's */
    ADVICE_KINDS
};

/* Findings that group their objects report groups only at least this
 * big: a key set shared by fewer dicts is not a record type, a class with
 * fewer instances not worth a change. */
#define ADVICE_MIN_RECORDS 16

#define ADVICE_EXAMPLES 3

/* One group of a finding: a value held by several objects (duplicates),
 * a key set (records), a class (no slots, identical instances). */
struct advice_group {
    char value[160];          /* a preview of the value, the keys, the class */
    uint64_t objects;         /* copies, dicts, instances */
    uint64_t size;            /* bytes of one (the average where they differ) */
    uint64_t bytes;           /* of all of them now */
    uint64_t saving;
    uint64_t examples[ADVICE_EXAMPLES];
    uint32_t fields;          /* records, no slots: keys or attribute names */
    uint64_t as_slots;        /* records, no slots: bytes as instances of a __slots__ class */
    uint64_t as_tuple;        /* records: ... as namedtuples or tuples (the same size) */
};

struct advice_finding {
    enum advice_kind kind;
    char type[64];            /* "str", "list", ... */
    uint64_t objects;         /* objects concerned */
    uint64_t bytes;           /* their sys.getsizeof now */
    uint64_t saving;          /* estimated bytes freed by the fix */
    uint64_t examples[ADVICE_EXAMPLES];
    struct advice_group *groups;  /* most saving first (none for empty and over-allocated) */
    size_t ngroups;           /* listed */
    uint64_t total_groups;    /* groups found, listed or not */
};

struct advice {
    struct advice_finding *findings;   /* most saving first */
    size_t n;
    uint64_t heap_bytes;      /* every object counted */
    uint64_t heap_objects;
    uint64_t saving;          /* summed over the findings */
};

/* Look for waste in h; keep at most max_groups groups per finding.
 * PHS_INTERNAL on out-of-memory. Release with advice_done. */
enum phs_status advise_build(struct heap *h, size_t max_groups, struct advice *out, struct phs_error *err);

void advice_done(struct advice *a);

/* What a finding's kind is called ("duplicate values", ...) and its fix. */
const char *advice_kind_name(enum advice_kind k);
const char *advice_kind_key(enum advice_kind k);   /* for JSON: "duplicates" */
const char *advice_fix(enum advice_kind k, const char *type);

#endif
