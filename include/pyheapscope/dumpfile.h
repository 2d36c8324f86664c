/* dumpfile.h - reading a dump written by `pyheapscope dump` (JSON Lines,
 * plain or gzip) back into the heap layer's tallies, so that the analyses
 * (histogram, growth) run on it as on a live heap. Analysis layer: reads a
 * file, never a process; parses with json-c, no hand-written parser. */
#ifndef PYHEAPSCOPE_DUMPFILE_H
#define PYHEAPSCOPE_DUMPFILE_H

#include <stdint.h>

#include "pyheapscope/error.h"
#include "pyheapscope/heap.h"

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
};

/* Read the dump at path into hd and h (types with their tallies and the
 * totals; h has no walker: heap_each finds nothing). Release h with
 * heap_done. PHS_IO with a one-line reason for an unreadable, truncated,
 * corrupt or foreign file, or a format version this reader does not know. */
enum phs_status dumpfile_read(const char *path, struct dump_header *hd, struct heap *h, struct phs_error *err);

#endif
