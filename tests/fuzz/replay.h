/* replay.h - a recorded CPython process, replayed without the process: the
 * memory source of the fuzzer (issue 7) and of the corpus regression run.
 *
 * A recording holds what one heap walk of a real target read: the pages of
 * the snapshot it touched, the read-only file bytes it read live (tp_name
 * strings), the process facts the walk needs (version, &_PyRuntime,
 * &PyType_Type, the offsets table, the addresses of the ELF symbols the
 * walk looks up) and nothing else. Replaying builds a real struct snapshot
 * from it, so the walker runs its production fast path over the recorded,
 * possibly mutated, bytes.
 *
 * File format, little-endian, every length bounded by what is left:
 *   "PHSREC1\n"
 *   u64 version_hex, u64 runtime_addr, u64 type_type_addr, u32 flags
 *   u32 len, offsets table text (symbols/ format)
 *   u32 n, n x (u16 len, symbol name, u64 address)
 *   u32 n, n x (u8 kind, u64 address, u32 len, bytes)
 *       kind 0: copied memory, page-aligned, ascending, not overlapping;
 *       kind 1: read-only file bytes served as live reads
 * flags bit 0: walk as --nonblocking does (tolerant of broken GC links). */
#ifndef PYHEAPSCOPE_TESTS_REPLAY_H
#define PYHEAPSCOPE_TESTS_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pyheapscope/heap.h"
#include "pyheapscope/runtime.h"
#include "pyheapscope/snapshot.h"

#define RECORDING_MAGIC "PHSREC1\n"
#define RECORDING_TOLERANT 1u
#define RECORDING_PAGE 4096u

enum recording_kind { RECORDING_COPY = 0, RECORDING_FILE = 1 };

/* A replayed process: p reads through snap, whose live source serves the
 * recorded file bytes. */
struct replay {
    struct py_process p;
    struct snapshot *snap;
    int own_snap;                /* 0: borrowed from the caller */
    struct memsrc *files;
    unsigned flags;
};

/* Build r from a recording in data[0..len) (not kept). 0 on success, -1 if
 * the recording is malformed or describes memory a snapshot cannot hold
 * (the fuzzer's mutations often do: they are skipped, not errors).
 * snap_reuse, if non-NULL, is an empty snapshot whose buffer is reused
 * (the fuzzer keeps one across inputs); r then borrows it. */
int replay_load(struct replay *r, const unsigned char *data, size_t len, struct snapshot *snap_reuse);

/* Where the memory of a recording is in data[0..len): for up to cap
 * ranges, the input offset of their bytes, their length and target
 * address (the fuzzer's mutator changes bytes there and keeps the rest
 * intact). Returns how many, or -1 if data is not a well-formed recording. */
struct replay_range {
    size_t at, len;
    uint64_t addr;
    unsigned kind;           /* enum recording_kind */
};
long replay_ranges(const unsigned char *data, size_t len, struct replay_range *out, size_t cap);

/* Release what replay_load made (not a borrowed snapshot). */
void replay_done(struct replay *r);

/* Everything the heap commands do with a heap, on r: check the state,
 * walk, build the histogram, and visit every object with its references,
 * values, previews, lengths, the threads' frames, the interpreter's roots
 * and the unreferenced objects (what `dump` reads). Never fails: what the
 * memory does not allow is skipped. Returns the number of objects counted
 * (for the corpus run's report). */
uint64_t replay_exercise(struct replay *r);

#endif
