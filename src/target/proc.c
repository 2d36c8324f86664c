/* proc.c - facts about the live process read from /proc: existence, exe,
 * command line, thread list, and paths into its mount namespace.
 * Reads /proc only; never touches the target's memory. */
#include "pyheapscope/target.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void target_file_path(pid_t pid, const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "/proc/%d/root%s", (int)pid, path);
}

enum phs_status target_check_alive(pid_t pid, struct phs_error *err)
{
    if (pid <= 0)
        return phs_error_set(err, PHS_USAGE, 0, "invalid PID %d", (int)pid);
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return phs_error_set(err, PHS_NO_PROCESS, errno, "no process with PID %d", (int)pid);
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = '\0';
    /* State is the first field after the ")" closing the command name. */
    const char *rp = strrchr(buf, ')');
    if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
        return phs_error_set(err, PHS_NO_PROCESS, 0, "process %d has exited (zombie)", (int)pid);
    return PHS_OK;
}

enum phs_status target_exe(pid_t pid, char *out, size_t cap, struct phs_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, out, cap - 1);
    if (n < 0) {
        int e = errno;
        enum phs_status st = e == ENOENT ? PHS_NO_PROCESS : phs_status_from_errno(e, PHS_IO);
        return phs_error_set(err, st, e, "cannot read %s: %s", path, strerror(e));
    }
    out[n] = '\0';
    /* A deleted executable reads "/usr/bin/python3 (deleted)". Keep the
     * suffix out of the path; the file is still reachable through maps. */
    char *del = strstr(out, " (deleted)");
    if (del && del[10] == '\0')
        *del = '\0';
    return PHS_OK;
}

enum phs_status target_cmdline(pid_t pid, char *out, size_t cap, struct phs_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return phs_error_set(err, PHS_NO_PROCESS, errno, "cannot read %s", path);
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n > 0 && out[n - 1] == '\0')
        n--;
    for (size_t i = 0; i < n; i++)
        if (out[i] == '\0')
            out[i] = ' ';
    out[n] = '\0';
    return PHS_OK;
}

enum phs_status target_usage(pid_t pid, struct target_usage *u, struct phs_error *err)
{
    char path[64], buf[1024];
    unsigned long long size = 0, resident = 0, start_ticks = 0;
    double uptime = 0;
    memset(u, 0, sizeof *u);
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return phs_error_set(err, PHS_NO_PROCESS, errno, "process %d is gone", (int)pid);
    int ok = fscanf(f, "%llu %llu", &size, &resident) == 2;
    fclose(f);
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return phs_error_set(err, PHS_NO_PROCESS, errno, "process %d is gone", (int)pid);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields resume
     * after the last ')'. starttime is field 22, the 20th after it. */
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (p)
        start_ticks = strtoull(p + 1, NULL, 10);
    f = fopen("/proc/uptime", "re");
    if (f) {
        if (fscanf(f, "%lf", &uptime) != 1)
            uptime = 0;
        fclose(f);
    }
    long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    if (ok)
        u->rss_bytes = resident * (unsigned long long)page;
    if (p && hz > 0 && uptime > 0)
        u->uptime_seconds = uptime - (double)start_ticks / (double)hz;
    return PHS_OK;
}

static int cmp_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

enum phs_status target_threads(pid_t pid, pid_t **tids, size_t *n, struct phs_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return phs_error_set(err, errno == ENOENT ? PHS_NO_PROCESS : phs_status_from_errno(errno, PHS_IO),
                             errno, "cannot list %s: %s", path, strerror(errno));
    size_t cap = 16, cnt = 0;
    pid_t *v = malloc(cap * sizeof *v);
    struct dirent *de;
    while (v && (de = readdir(d))) {
        char *end;
        long t = strtol(de->d_name, &end, 10);
        if (*end || t <= 0)
            continue;
        if (cnt == cap) {
            cap *= 2;
            pid_t *nv = realloc(v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                v = NULL;
                break;
            }
            v = nv;
        }
        v[cnt++] = (pid_t)t;
    }
    closedir(d);
    if (!v)
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory listing threads");
    qsort(v, cnt, sizeof *v, cmp_pid);
    *tids = v;
    *n = cnt;
    return PHS_OK;
}
