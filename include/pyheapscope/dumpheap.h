/* dumpheap.h - a dump read back as a heap with its objects, so that an
 * analysis written against the heap layer (advise) runs on a file as on a
 * live process: heap_each_edges_of, heap_object_at, heap_value,
 * heap_length, heap_atom, heap_capacity, heap_size_as and heap_table
 * answer from the dump's records (struct heap_backend). Analysis layer:
 * reads a file, never a process. */
#ifndef PYHEAPSCOPE_DUMPHEAP_H
#define PYHEAPSCOPE_DUMPHEAP_H

#include "pyheapscope/dumpfile.h"
#include "pyheapscope/error.h"
#include "pyheapscope/heap.h"

/* Read the dump at path into hd and h, every object with its value,
 * references and sizing kept in memory (about 60 bytes an object and 12 a
 * reference). Release h with heap_done. PHS_IO for what dumpfile_read
 * refuses, and for a dump older than format 3 (DUMP_FORMAT_ADVISE), which
 * lacks capacities and tables; PHS_INTERNAL on out-of-memory. */
enum phs_status dumpheap_load(const char *path, struct dump_header *hd, struct heap *h, struct phs_error *err);

#endif
