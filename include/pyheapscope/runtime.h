/* runtime.h - a CPython process as pyheapscope sees it: where its runtime
 * is, which version and build it is, the offsets that describe it, and its
 * interpreters, threads and GC state.
 *
 * This is the CPython-object-model layer: it reads the target through the
 * memory source only, validates every pointer it follows, bounds every loop,
 * and never prints. */
#ifndef PYHEAPSCOPE_RUNTIME_H
#define PYHEAPSCOPE_RUNTIME_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pyheapscope/elffile.h"
#include "pyheapscope/error.h"
#include "pyheapscope/memsrc.h"
#include "pyheapscope/offsets.h"
#include "pyheapscope/target.h"

/* Oldest and newest minor versions of CPython 3 this pyheapscope reads. */
#define PY_MIN_MINOR 7
#define PY_MAX_MINOR 15

struct py_attach_opts {
    enum offsets_source force;   /* OFFSETS_NONE: pick the best available */
    const char *offsets_file;    /* a table file to use instead (OFFSETS_FILE) */
    const char *debuginfo_path;  /* colon-separated debug dirs; NULL: default */
};

struct py_process {
    pid_t pid;
    struct maps maps;
    struct memsrc *mem;
    char exe[PATH_MAX];          /* as the target sees it */
    char libpython[PATH_MAX];    /* "" when libpython is linked into the exe */
    struct elf_file elf;         /* the ELF file that holds _PyRuntime */
    uint64_t runtime_addr;       /* &_PyRuntime */
    uint64_t type_type_addr;     /* &PyType_Type, for the sanity check */
    uint64_t version_hex;        /* PY_VERSION_HEX */
    char version[32];            /* "3.12.1", "3.14.0rc2" */
    const char *version_source;  /* how the version was found */
    struct py_offsets off;
    char debug_file[PATH_MAX];   /* where DWARF was found; "" if not used */
    char offsets_notes[1024];    /* fallbacks taken and cross-check results */
};

/* Find the interpreter in process pid and choose its offsets: reads
 * /proc/PID/maps, the ELF files it maps, and (for the version and
 * _Py_DebugOffsets) a few words of target memory. Does not pause the target.
 * Errors: PHS_NO_PROCESS, PHS_PERMISSION, PHS_NOT_PYTHON, PHS_UNSUPPORTED
 * (says which versions are), PHS_OFFSETS. On error p holds nothing to free;
 * on success release it with py_process_done. */
enum phs_status py_attach(pid_t pid, const struct py_attach_opts *opts, struct py_process *p,
                          struct phs_error *err);

void py_process_done(struct py_process *p);

/* "3.12.1" from a PY_VERSION_HEX value into out. Cannot fail. */
void py_version_format(uint64_t hex, char *out, size_t cap);

/* major.minor from a file name such as libpython3.12.so.1.0 or python3.12.
 * Returns 1 if the name says it, 0 if not. Cannot fail otherwise. */
int py_version_from_name(const char *path, unsigned *major, unsigned *minor);

/* Parse a version string as CPython prints it at the start of sys.version
 * ("3.10.13 (main, ...)") at s; returns PY_VERSION_HEX or 0 if s is not one.
 * Exposed for the unit tests. */
uint64_t py_version_parse(const char *s, size_t len);

struct py_thread {
    uint64_t addr;               /* PyThreadState* */
    uint64_t thread_id;          /* threading.get_ident() */
    int64_t native_thread_id;    /* threading.get_native_id(), -1 where absent */
};

struct py_generation {
    uint64_t objects;            /* length of the list */
    int64_t count;               /* gc.get_count()[g] */
    int64_t threshold;           /* gc.get_threshold()[g] */
};

/* The collector as Python reports it (gc.get_objects(generation=g),
 * get_count, get_threshold). 3.14 before its GC revert had an incremental
 * collector: its three lists are young, old[0] and old[1], and Python calls
 * young generation 0, has nothing in generation 1 and both old spaces in
 * generation 2; gen[] is that view. */
struct py_gc {
    int present;                 /* 0 for sub-interpreters sharing the runtime's GC (3.7/3.8) */
    uint64_t addr;               /* the _gc_runtime_state */
    int incremental;             /* young and two old spaces (3.14.0 up to the revert) */
    int visited_space;           /* incremental: which old space is the visited one (0 or 1) */
    struct py_generation gen[3];
    uint64_t permanent_objects;
    int collecting;
};

struct py_interp {
    uint64_t addr;
    int64_t id;
    int is_main;                   /* _PyRuntime.interpreters.main (not the list's head: the newest) */
    struct py_thread *threads;
    size_t nthreads;
    struct py_gc gc;
};

struct py_state {
    struct py_interp *interps;
    size_t ninterps;
};

/* Where the GC state of the interpreter at interp is: in the interpreter
 * (3.9+), or in the runtime for the main interpreter of 3.7/3.8, which the
 * others share (0 for them). Cannot fail. */
uint64_t py_gc_state_addr(const struct py_process *p, uint64_t interp, int is_main);

/* The generation Python reports the objects of GC list `list` (0-2, in
 * the order they sit in the GC state) under: the list itself, but for the
 * incremental collector's old spaces (lists 1 and 2), both generation 2. */
int py_gc_python_generation(const struct py_process *p, int list);

/* Read the interpreters, their threads and their GC state, checking as it
 * goes that the offsets fit what it reads (thread states point back to
 * their interpreter, GC lists are consistently linked and return to their
 * head, PyType_Type is named "type"). The target should be paused.
 * PHS_OFFSETS when the memory does not fit the offsets; PHS_NO_PROCESS if
 * the target is gone. On success free s with py_state_done. */
enum phs_status py_read_state(struct py_process *p, struct py_state *s, struct phs_error *err);

/* py_read_state without following the GC lists (their object counts stay
 * 0): for the heap walk, which follows and checks every link itself and
 * would otherwise chase a million-object list twice, one dependent cache
 * miss at a time. */
enum phs_status py_read_state_heads(struct py_process *p, struct py_state *s, struct phs_error *err);

void py_state_done(struct py_state *s);

/* How long py_read_state_paused kept the target stopped. */
struct py_pause_stats {
    size_t threads;      /* threads stopped */
    uint64_t pause_ns;   /* summed over the attempts */
    unsigned retries;    /* attempts redone after stopping inside a list splice */
};

/* Pause the target, read its state as py_read_state does, resume. A stop
 * can land between the two stores of a list splice; such a transient
 * inconsistency is looked at again after a moment (a few times) before it
 * is reported as PHS_OFFSETS. */
enum phs_status py_read_state_paused(struct py_process *p, struct py_state *s, struct py_pause_stats *ps,
                                     struct phs_error *err);

#endif
