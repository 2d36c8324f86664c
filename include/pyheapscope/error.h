/* error.h - status codes and the caller-owned error record.
 *
 * Every fallible function in pyheapscope returns a phs_status and fills a
 * struct phs_error owned by the caller. Library code never prints or exits;
 * front ends turn an error into wording, hints and an exit code. Codes, their
 * exit statuses and their one-line descriptions live in PHS_ERRORS only. */
#ifndef PYHEAPSCOPE_ERROR_H
#define PYHEAPSCOPE_ERROR_H

#include <stdint.h>

/* X(name, exit status, description). Exit statuses are part of the CLI
 * contract (README, --help, man page): never renumber one. */
#define PHS_ERRORS(X)                                                        \
    X(OK,          0,  "success")                                            \
    X(INTERNAL,    1,  "internal error")                                     \
    X(USAGE,       2,  "usage error")                                        \
    X(NO_PROCESS,  3,  "no such process")                                    \
    X(PERMISSION,  4,  "permission denied")                                  \
    X(NOT_PYTHON,  5,  "not a Python process")                               \
    X(UNSUPPORTED, 6,  "Python version or build not supported")              \
    X(OFFSETS,     7,  "offsets inconsistent with the target")               \
    X(EXITED,      8,  "process exited while being read")                    \
    X(READ,        9,  "target memory could not be read")                    \
    X(IO,          10, "file or system error")                               \
    X(NOT_FOUND,   11, "no such object or kind in the dump")

enum phs_status {
#define PHS_ENUM(name, exit_status, desc) PHS_##name,
    PHS_ERRORS(PHS_ENUM)
#undef PHS_ENUM
    PHS_STATUS_COUNT
};

struct phs_error {
    enum phs_status code;
    int sys_errno;      /* errno of the failing call, 0 if none */
    uint64_t addr;      /* target address involved, 0 if none */
    int transient;      /* the target may have been caught in the middle of an
                           update (a thread stopped inside a list splice):
                           looking again at a later moment can succeed */
    char msg[512];      /* one line, no trailing newline */
};

/* Fill err (which may be NULL) and return code. msg is printf-style. */
enum phs_status phs_error_set(struct phs_error *err, enum phs_status code,
                              int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefix err->msg with "context: ", keeping the code. Returns err->code. */
enum phs_status phs_error_prefix(struct phs_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The exit status and short description of a code. Cannot fail. */
int phs_status_exit_code(enum phs_status code);
const char *phs_status_name(enum phs_status code);
const char *phs_status_describe(enum phs_status code);

/* Map an errno from a syscall on the target to a status: ESRCH -> NO_PROCESS,
 * EPERM/EACCES -> PERMISSION, anything else -> fallback. Cannot fail. */
enum phs_status phs_status_from_errno(int e, enum phs_status fallback);

#endif
