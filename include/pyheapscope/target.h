/* target.h - the live process: its mappings, threads, files and the pause.
 *
 * Only src/target/ makes syscalls into the target (process_vm_readv,
 * /proc/PID/..., ptrace). Nothing here writes to the target's memory or
 * registers. */
#ifndef PYHEAPSCOPE_TARGET_H
#define PYHEAPSCOPE_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pyheapscope/error.h"
#include "pyheapscope/memsrc.h"

/* ---- /proc/PID/maps ---------------------------------------------------- */

enum {
    MAP_R = 1, MAP_W = 2, MAP_X = 4, MAP_P = 8
};

struct mapping {
    uint64_t start, end;   /* [start, end) */
    uint64_t offset;       /* file offset */
    unsigned perms;        /* MAP_* bits */
    uint64_t inode;
    char *path;            /* owned; "" for anonymous, "[heap]" etc. kept */
};

struct maps {
    struct mapping *v;
    size_t n;
    pid_t pid;             /* whose (maps_load), or 0 (parsed from text) */
};

/* Parse the text of a maps file into m (caller storage). Lines that do not
 * parse are skipped. Returns PHS_INTERNAL only on out-of-memory. */
enum phs_status maps_parse(const char *text, struct maps *m, struct phs_error *err);

/* Read and parse /proc/PID/maps. PHS_NO_PROCESS if it is gone,
 * PHS_PERMISSION if refused. */
enum phs_status maps_load(pid_t pid, struct maps *m, struct phs_error *err);

void maps_done(struct maps *m);

/* The mapping holding addr, or NULL. Binary search; maps are sorted. */
const struct mapping *maps_find(const struct maps *m, uint64_t addr);

/* ---- files and facts of the process ------------------------------------ */

/* Path under which pyheapscope can open a file the target sees as path:
 * "/proc/PID/root" + path, so that a target in another mount namespace
 * (a container) works. Writes at most cap bytes; cannot fail but truncates. */
void target_file_path(pid_t pid, const char *path, char *out, size_t cap);

/* readlink /proc/PID/exe into out (as the target sees it). */
enum phs_status target_exe(pid_t pid, char *out, size_t cap, struct phs_error *err);

/* /proc/PID/cmdline with NULs turned into spaces. */
enum phs_status target_cmdline(pid_t pid, char *out, size_t cap, struct phs_error *err);

struct target_usage {
    uint64_t rss_bytes;          /* resident set, /proc/PID/statm */
    double uptime_seconds;       /* since the process started */
};

/* RSS and age of the process. PHS_NO_PROCESS if it is gone. */
enum phs_status target_usage(pid_t pid, struct target_usage *u, struct phs_error *err);

/* PHS_OK if the process exists (and is not a zombie), else PHS_NO_PROCESS
 * or PHS_PERMISSION with a message saying why. */
enum phs_status target_check_alive(pid_t pid, struct phs_error *err);

/* List the thread ids in /proc/PID/task into a malloc'ed array. */
enum phs_status target_threads(pid_t pid, pid_t **tids, size_t *n, struct phs_error *err);

/* ---- the live memory source -------------------------------------------- */

/* A memory source over process_vm_readv (or /proc/PID/mem when the
 * environment variable PYHEAPSCOPE_MEMREAD=procmem forces it, or when
 * process_vm_readv is unavailable). Reads go through a cache of 16 KiB chunks
 * clipped to mapping bounds; large reads go straight through. maps is
 * borrowed and must outlive the source. Returns NULL and fills err on
 * failure. */
struct memsrc *procmem_new(pid_t pid, const struct maps *maps, struct phs_error *err);

/* ---- pausing ------------------------------------------------------------ */

struct pause_thread {
    pid_t tid;
    int pending_signal;  /* signal caught in a signal-delivery-stop, re-injected on detach */
};

struct pause {
    pid_t pid;
    struct pause_thread *threads;
    size_t n, cap;
    uint64_t paused_ns;  /* CLOCK_MONOTONIC when the last thread stopped */
};

/* Stop every thread of pid with PTRACE_SEIZE + PTRACE_INTERRUPT, re-reading
 * /proc/PID/task until no new thread appears. On failure every thread already
 * seized is released before returning. While paused, SIGINT/SIGTERM/SIGHUP
 * to pyheapscope release the target before pyheapscope dies.
 * PHS_NO_PROCESS / PHS_EXITED if the target vanished, PHS_PERMISSION if
 * ptrace was refused. */
enum phs_status pause_begin(struct pause *p, pid_t pid, struct phs_error *err);

/* Let every thread run again (PTRACE_DETACH, re-injecting signals that were
 * intercepted). Idempotent; cannot fail (threads that died are skipped).
 * Returns how long the target was stopped, in nanoseconds. */
uint64_t pause_end(struct pause *p);

/* Install the handlers that release a paused target on SIGINT, SIGTERM,
 * SIGHUP and SIGQUIT. Call once at start-up. */
void pause_install_signal_handlers(void);

/* A function those handlers call after releasing the target and before
 * the signal ends pyheapscope (e.g. to restore the terminal). It must be
 * async-signal-safe. NULL: none. */
void pause_set_fatal_signal_hook(void (*hook)(void));

/* Nanoseconds on CLOCK_MONOTONIC. */
uint64_t monotonic_ns(void);

#endif
