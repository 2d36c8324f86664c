/* maps.c - parses /proc/PID/maps into a sorted array of mappings.
 * Owns the mapping list; reads only /proc. A line that does not parse is
 * skipped, never trusted. */
#include "pyheapscope/target.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* line is one line of maps (no newline inside): sscanf's whitespace
 * directive would otherwise run into the next line for anonymous mappings. */
static int parse_line(const char *line, struct mapping *out)
{
    uint64_t start, end, offset, inode;
    char perms[5];
    unsigned major, minor;
    int path_at = 0;
    if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n",
               &start, &end, perms, &offset, &major, &minor, &inode, &path_at) < 7)
        return -1;
    if (end <= start || strlen(perms) != 4)
        return -1;
    const char *path = path_at > 0 ? line + path_at : "";
    while (*path == ' ')
        path++;
    size_t len = strcspn(path, "\n");
    out->path = strndup(path, len);
    if (!out->path)
        return -1;
    out->start = start;
    out->end = end;
    out->offset = offset;
    out->inode = inode;
    out->perms = (perms[0] == 'r' ? MAP_R : 0) | (perms[1] == 'w' ? MAP_W : 0) |
                 (perms[2] == 'x' ? MAP_X : 0) | (perms[3] == 'p' ? MAP_P : 0);
    return 0;
}

enum phs_status maps_parse(const char *text, struct maps *m, struct phs_error *err)
{
    m->v = NULL;
    m->n = 0;
    m->pid = 0;
    size_t cap = 0;
    const char *line = text;
    while (line && *line) {
        struct mapping mp;
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        char one[4096 + 256];
        if (len >= sizeof one)
            len = sizeof one - 1;
        memcpy(one, line, len);
        one[len] = '\0';
        if (parse_line(one, &mp) == 0) {
            if (m->n == cap) {
                cap = cap ? cap * 2 : 64;
                struct mapping *nv = realloc(m->v, cap * sizeof *nv);
                if (!nv) {
                    free(mp.path);
                    maps_done(m);
                    return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory parsing maps");
                }
                m->v = nv;
            }
            /* The kernel lists mappings in address order; keep that invariant
             * even for hand-made input by dropping out-of-order lines. */
            if (m->n && mp.start < m->v[m->n - 1].end)
                free(mp.path);
            else
                m->v[m->n++] = mp;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return PHS_OK;
}

static char *slurp_proc(const char *path, int *err_out)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        *err_out = errno;
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (len < cap - 1) {
            if (ferror(f)) {
                *err_out = errno ? errno : EIO;
                free(buf);
                buf = NULL;
            }
            break;
        }
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (!nb) {
            free(buf);
            buf = NULL;
        }
        buf = nb;
    }
    fclose(f);
    if (!buf) {
        if (!*err_out)
            *err_out = ENOMEM;
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

enum phs_status maps_load(pid_t pid, struct maps *m, struct phs_error *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    int e = 0;
    char *text = slurp_proc(path, &e);
    if (!text) {
        enum phs_status st = e == ENOENT ? PHS_NO_PROCESS : phs_status_from_errno(e, PHS_IO);
        return phs_error_set(err, st, e, "cannot read %s: %s", path, strerror(e));
    }
    enum phs_status st = maps_parse(text, m, err);
    free(text);
    m->pid = pid;
    if (st == PHS_OK && m->n == 0)
        return phs_error_set(err, PHS_NO_PROCESS, 0,
                             "process %d has no memory mappings (exited, or a kernel thread)", (int)pid);
    return st;
}

void maps_done(struct maps *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].path);
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

const struct mapping *maps_find(const struct maps *m, uint64_t addr)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (addr < m->v[mid].start)
            hi = mid;
        else if (addr >= m->v[mid].end)
            lo = mid + 1;
        else
            return &m->v[mid];
    }
    return NULL;
}
