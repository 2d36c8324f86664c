/* cli.h - what the command-line front end's commands share: parsed options,
 * error reporting with hints, and the command entry points. */
#ifndef PYHEAPSCOPE_CLI_H
#define PYHEAPSCOPE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pyheapscope/error.h"
#include "pyheapscope/heap.h"
#include "pyheapscope/runtime.h"

#define PYHEAPSCOPE_VERSION "0.1.0"

struct cli_opts {
    pid_t pid;
    int json;
    struct py_attach_opts attach;
    const char *output;           /* symbols generate -o */
    const char *python_version;   /* symbols generate --python-version */
    int top;                      /* --top: rows shown; -1 not given, 0 all */
    int sort;                     /* --sort: enum growth_sort (size, count, dsize, dcount, name) */
    int nonblocking;              /* do not pause the target */
    double interval;              /* top --interval, seconds */
    long iterations;              /* top --iterations; 0: until stopped */
    int batch;                    /* top --batch */
    const char *kind;             /* paths --kind */
    long max;                     /* paths --max: 0 default */
};

/* One heap taken from a live process for a one-shot command (live.c). */
struct cli_live {
    struct py_process p;
    struct snapshot *snap;
    struct heap h;
    struct heap_timing tm;
    int attached, have_heap;
};

/* Attach to o->pid, copy and walk its heap (paused unless o->nonblocking).
 * Whatever it returns, release l with cli_live_done. */
enum phs_status cli_live_take(const struct cli_opts *o, struct cli_live *l, struct phs_error *err);
void cli_live_done(struct cli_live *l);

/* Where a one-shot command's heap came from: a live process, or a dump of
 * one (summary FILE, advise FILE). */
struct cli_origin {
    int64_t pid;
    const char *version;
    const char *dump;             /* the file, or NULL when live */
    const char *time;             /* dump: when it was taken */
    uint64_t target_reads;        /* live: reads of target memory the command made */
};

/* "FILE (pid N, Python V, TIME)" for a dump, "process N (Python V)" live. */
void cli_origin_describe(const struct cli_origin *o, char *out, size_t cap);

struct json;
/* Its "pid", "python_version" and, for a dump, "dump" and "time", as
 * members of the JSON object being written. */
void cli_origin_json(struct json *j, const struct cli_origin *o);

/* Human-friendly figures for text output. Cannot fail; truncate to cap. */
void cli_format_bytes(uint64_t n, char *out, size_t cap);
void cli_format_count(uint64_t n, char *out, size_t cap);
/* "+1,234" / "-12.0 KiB" / "0" for changes. */
void cli_format_signed_count(int64_t v, char *out, size_t cap);
void cli_format_signed_bytes(int64_t v, char *out, size_t cap);

/* Print err as one line on stderr, with a hint for the codes that have one,
 * and return the exit status for it. */
int cli_fail(const char *command, const struct phs_error *err);

int cmd_info(const struct cli_opts *o);
int cmd_summary(const struct cli_opts *o);
int cmd_dump(const struct cli_opts *o);
int cmd_advise(const struct cli_opts *o);
/* summary FILE / diff BEFORE AFTER: from dumps, no process involved. */
int cmd_summary_file(const struct cli_opts *o, const char *path);
int cmd_advise_file(const struct cli_opts *o, const char *path);
int cmd_diff(const struct cli_opts *o, const char *before, const char *after);
/* retained FILE [ADDRESS] / paths FILE ADDRESS|--kind K: the reference graph of a dump. */
int cmd_retained(const struct cli_opts *o, const char *path, const char *address);
int cmd_paths(const struct cli_opts *o, const char *path, const char *address);
/* cmd_argv: the program to start and watch (`top -- cmd ...`), or NULL. */
int cmd_top(struct cli_opts *o, char **cmd_argv);
int cmd_symbols_generate(const struct cli_opts *o, const char *path);

#endif
