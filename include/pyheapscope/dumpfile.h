/* dumpfile.h - reading a dump written by `pyheapscope dump` (JSON Lines,
 * plain or gzip) back into the heap layer's tallies, so that the analyses
 * (histogram, growth) run on it as on a live heap. Analysis layer: reads a
 * file, never a process; parses with json-c, no hand-written parser. */
#ifndef PYHEAPSCOPE_DUMPFILE_H
#define PYHEAPSCOPE_DUMPFILE_H

#include <stdint.h>

#include "pyheapscope/error.h"
#include "pyheapscope/heap.h"
#include "pyheapscope/refgraph.h"

/* What the header record says about the snapshot. */
struct dump_header {
    unsigned format_version;
    int64_t pid;
    char python_version[32];
    char tool_version[32];
    char time[40];
    char cmdline[512];
    int paused;
    uint64_t pause_ns, copy_ns, walk_ns, bytes_copied;
    uint64_t objects, bytes;      /* totals as the writer counted them */
    uint64_t slots_size[2];       /* format 3: [base, per slot] of a __slots__ instance; 0 0 unknown */
    uint64_t tuple_size[2];       /* ... of a tuple */
};

/* Read the dump at path into hd and h (types with their tallies and the
 * totals; h has no walker: heap_each finds nothing). Release h with
 * heap_done. PHS_IO with a one-line reason for an unreadable, truncated,
 * corrupt or foreign file, or a format version this reader does not know. */
enum phs_status dumpfile_read(const char *path, struct dump_header *hd, struct heap *h, struct phs_error *err);

/* dumpfile_read, and the reference graph into g: every object as a node
 * (group: its kind id, or ntypes + K for a dict that is the __dict__ of
 * an instance of kind K, as the histogram counts it), every reference as
 * an edge, every root record as roots (a frame's references each named
 * "thread T, frame D: FUNCTION (FILE), local NAME"). Also PHS_IO if a
 * reference or root leads to an address with no record. Release g with
 * refgraph_free. */
enum phs_status dumpfile_read_graph(const char *path, struct dump_header *hd, struct heap *h, struct ref_graph *g,
                                    struct phs_error *err);

/* One object record, as dumpfile_records_at hands it over. */
struct dump_ref {
    uint64_t to;
    int64_t index;            /* item index, or -1 */
    const char *label;        /* the label when not an index: "k", "v", ".name", "local buf", ...; or NULL */
};
struct dump_record {
    uint64_t addr;
    uint32_t kind;
    uint64_t size;
    const char *value;        /* str/bytes/int/float value, or NULL */
    int value_cut;
    size_t nrefs;
    struct dump_ref *refs;
    /* dumpfile_read_records only: */
    uint64_t extra;           /* "x" */
    int64_t owner;            /* "o": the kind whose instance's __dict__ this is, or -1 */
    int64_t length;           /* "n", or -1 */
    int64_t capacity;         /* "c", or -1 */
    int has_table;
    uint64_t table[4];        /* "t": slots, bytes; slots, bytes rebuilt */
    const char *value_hash;   /* "vh", or NULL */
};

/* dumpfile_read, and fn(record) for every object record in file order,
 * with all its fields (the record is valid during the call only); fn
 * returns non-zero on out-of-memory, which stops the read (PHS_INTERNAL). */
enum phs_status dumpfile_read_records(const char *path, struct dump_header *hd, struct heap *h,
                                      int (*fn)(const struct dump_record *rec, void *arg), void *arg,
                                      struct phs_error *err);

/* Read again the object records starting at offsets[0..n) of the file (as
 * in ref_graph.line_at) and call fn(i, record) for each; the record is
 * valid during the call only. PHS_IO if the file changed meanwhile. */
enum phs_status dumpfile_records_at(const char *path, const uint64_t *offsets, size_t n,
                                    void (*fn)(size_t i, const struct dump_record *rec, void *arg), void *arg,
                                    struct phs_error *err);

#endif
