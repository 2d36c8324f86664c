/* dumpfmt.h - the name and version of the dump format (README.md, "Dump
 * format"), shared by the writer (src/ui/dump.c) and the reader
 * (src/analysis/dumpfile.c). Bump the version with any change a reader
 * would notice; readers refuse versions they do not know. */
#ifndef PYHEAPSCOPE_DUMPFMT_H
#define PYHEAPSCOPE_DUMPFMT_H

#define DUMP_FORMAT_NAME "pyheapscope-dump"
#define DUMP_FORMAT_VERSION 3
/* Version 1 had no frame roots; it reads the same otherwise. */
#define DUMP_FORMAT_OLDEST 1
/* Version 3 added what `advise FILE` needs: capacities ("c"), hash tables
 * ("t"), hashes of cut values ("vh"), "has_dict" and the sizes of slots
 * instances and tuples. advise refuses older dumps; the rest reads them. */
#define DUMP_FORMAT_ADVISE 3

#endif
