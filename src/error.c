/* error.c - the phs_error record: filling it and describing its codes.
 * Owns nothing but formatting; never prints. */
#include "pyheapscope/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int exit_status;
    const char *desc;
} status_table[] = {
#define PHS_ROW(name, exit_status, desc) {#name, exit_status, desc},
    PHS_ERRORS(PHS_ROW)
#undef PHS_ROW
};

enum phs_status phs_error_set(struct phs_error *err, enum phs_status code,
                              int sys_errno, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->sys_errno = sys_errno;
    err->transient = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

enum phs_status phs_error_prefix(struct phs_error *err, const char *fmt, ...)
{
    if (!err)
        return PHS_INTERNAL;
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    return err->code;
}

int phs_status_exit_code(enum phs_status code)
{
    if ((unsigned)code >= PHS_STATUS_COUNT)
        return 1;
    return status_table[code].exit_status;
}

const char *phs_status_name(enum phs_status code)
{
    return (unsigned)code < PHS_STATUS_COUNT ? status_table[code].name : "?";
}

const char *phs_status_describe(enum phs_status code)
{
    return (unsigned)code < PHS_STATUS_COUNT ? status_table[code].desc : "?";
}

enum phs_status phs_status_from_errno(int e, enum phs_status fallback)
{
    switch (e) {
    case ESRCH: return PHS_NO_PROCESS;
    case EPERM:
    case EACCES: return PHS_PERMISSION;
    default: return fallback;
    }
}
