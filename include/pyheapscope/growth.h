/* growth.h - what grows: successive histograms of one process, with each
 * kind's change since the previous refresh and since the first.
 *
 * The model behind `top` (htop's split: this is the model; the table and
 * the screen only read it). Analysis layer: no target memory, no output. */
#ifndef PYHEAPSCOPE_GROWTH_H
#define PYHEAPSCOPE_GROWTH_H

#include <stddef.h>
#include <stdint.h>

#include "pyheapscope/error.h"
#include "pyheapscope/histogram.h"

struct growth_row {
    char *kind;
    uint64_t count, bytes;
    int64_t dcount, dbytes;        /* since the previous refresh */
    int64_t scount, sbytes;        /* since the first refresh */
};

/* A kind and its figures at one refresh, kept sorted by name. */
struct growth_point {
    char *kind;
    uint64_t count, bytes;
};

struct growth {
    struct growth_row *rows;       /* the latest refresh, one row per kind seen now or before */
    size_t n;
    uint64_t refreshes;
    uint64_t count, bytes;         /* totals of the latest refresh */
    int64_t dcount, dbytes, scount, sbytes;
    struct growth_point *prev, *start;
    size_t nprev, nstart;
};

enum growth_sort { GROWTH_BY_SIZE, GROWTH_BY_COUNT, GROWTH_BY_DSIZE, GROWTH_BY_DCOUNT, GROWTH_BY_NAME };

/* Start empty. Cannot fail. */
void growth_init(struct growth *g);

/* Add one refresh. Kinds that vanished stay as rows with count 0 and a
 * negative delta for one refresh. PHS_INTERNAL on out-of-memory. */
enum phs_status growth_update(struct growth *g, const struct histogram *hg, struct phs_error *err);

/* Order rows; since_start picks which delta the Δ sorts use. Largest first
 * (names: A to Z), ties by name. */
void growth_sort(struct growth *g, enum growth_sort by, int since_start);

void growth_done(struct growth *g);

#endif
