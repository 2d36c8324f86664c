/* cache.c - the on-disk cache of offset tables read from DWARF, one file
 * per build-id of the ELF that holds _PyRuntime, so that attaching to the
 * same build again skips the debug file (70 ms for Debian's compressed
 * python3.11 one). An entry is trusted only if this very pyheapscope
 * build made it, its checksum holds and only our user can write it; any
 * doubt is a miss. Never fails a caller, never reads target memory. */
#include "pyheapscope/offsets.h"

#include "pyheapscope/elffile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_MAX_FILE (256u << 10)
#define CACHE_MAGIC "# pyheapscope offsets cache 1"

int offsets_cache_dir(char *dir, size_t cap)
{
    const char *own = getenv("PYHEAPSCOPE_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (own)
        n = snprintf(dir, cap, "%s", own);
    else if (xdg && xdg[0] == '/')
        n = snprintf(dir, cap, "%s/pyheapscope", xdg);
    else if (home && home[0] == '/')
        n = snprintf(dir, cap, "%s/.cache/pyheapscope", home);
    else
        n = snprintf(dir, cap, "%s", "");
    if (n <= 0 || (size_t)n >= cap) {
        if (cap)
            dir[0] = '\0';
        return 0;
    }
    return 1;
}

void offsets_cache_tool_id(char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    elf_path_build_id("/proc/self/exe", out, cap);
}

/* FNV-1a, 64 bits: enough to tell a torn or edited entry from a whole one. */
static uint64_t checksum(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Only our user may have written it: owned by us, writable by no one else.
 * The directory may be a symlink (a cache moved to another disk): what
 * it leads to is checked; an entry may not. */
static int ours(const struct stat *st)
{
    return st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

static int entry_path(const char *dir, const char *build_id, char *path, size_t cap)
{
    for (const char *c = build_id; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return 0;
    int n = snprintf(path, cap, "%s/%s.offsets", dir, build_id);
    return build_id[0] && n > 0 && (size_t)n < cap;
}

/* The whole entry, NUL-terminated (caller frees), or NULL. */
static char *read_entry(const char *dir, const char *path, size_t *len)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || !ours(&st))
        return NULL;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *text = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ours(&st) && st.st_size > 0 &&
        (size_t)st.st_size < CACHE_MAX_FILE && (text = malloc((size_t)st.st_size + 1))) {
        ssize_t got = read(fd, text, (size_t)st.st_size);
        if (got != st.st_size) {
            free(text);
            text = NULL;
        } else {
            text[got] = '\0';
            *len = (size_t)got;
        }
    }
    close(fd);
    return text;
}

/* The value of header line key ("key value\n") at *at, advancing past it. */
static int header(char **at, const char *key, char *value, size_t cap)
{
    size_t klen = strlen(key);
    char *eol = strchr(*at, '\n');
    if (!eol || strncmp(*at, key, klen) != 0 || (*at)[klen] != ' ')
        return 0;
    const char *v = *at + klen + 1;
    size_t n = (size_t)(eol - v);
    if (n >= cap)
        return 0;
    memcpy(value, v, n);
    value[n] = '\0';
    *at = eol + 1;
    return 1;
}

int offsets_cache_load(const char *dir, const char *tool, const char *build_id, unsigned major,
                       unsigned minor, struct py_offsets *o, char *debug_file, size_t debug_cap)
{
    char path[4096];
    size_t len = 0;
    if (!dir[0] || !tool[0] || !entry_path(dir, build_id, path, sizeof path))
        return 0;
    char *text = read_entry(dir, path, &len);
    if (!text)
        return 0;
    char made_by[96], of[96], file[4096], sum[32];
    struct phs_error ignored;
    int hit = strncmp(text, CACHE_MAGIC "\n", sizeof CACHE_MAGIC) == 0;   /* sizeof counts the '\n' */
    char *at = text + (hit ? sizeof CACHE_MAGIC : 0);
    hit = hit && header(&at, "tool", made_by, sizeof made_by) && strcmp(made_by, tool) == 0 &&
              header(&at, "build-id", of, sizeof of) && strcmp(of, build_id) == 0 &&
              header(&at, "debug-file", file, sizeof file) && header(&at, "checksum", sum, sizeof sum);
    if (hit) {
        char want[32];
        snprintf(want, sizeof want, "%016" PRIx64, checksum(at, len - (size_t)(at - text)));
        hit = strcmp(sum, want) == 0;
    }
    if (hit) {
        offsets_init(o);
        hit = offsets_parse_table(at, o, &ignored) == PHS_OK && o->major == major && o->minor == minor &&
              offsets_validate(o, &ignored) == PHS_OK;
    }
    free(text);
    if (!hit)
        return 0;
    o->source = OFFSETS_DWARF;
    snprintf(debug_file, debug_cap, "%s", file);
    snprintf(o->origin, sizeof o->origin, "DWARF in %s (cached in %s)", file, path);
    return 1;
}

/* path as the target sees it: without the /proc/PID/root that reached
 * into its mount namespace, for a PID that will not be the next one's. */
static const char *target_view(const char *path)
{
    const char *p = path;
    if (strncmp(p, "/proc/", 6) != 0)
        return path;
    p += 6;
    if (*p < '0' || *p > '9')
        return path;
    while (*p >= '0' && *p <= '9')
        p++;
    return strncmp(p, "/root/", 6) == 0 ? p + 5 : path;
}

/* Make dir if it is missing (and its parent, once: ~/.cache may not
 * exist yet), mode 0700, but only inside a directory of our own: root
 * run by sudo with the HOME of the user who called it must not leave
 * directories of root's in that user's home. */
static int make_dir(const char *dir, int parents)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return 0;              /* there: the caller checks that it is ours */
    if (errno != ENOENT)
        return -1;
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (!slash || slash == parent)
        return -1;
    *slash = '\0';
    if (lstat(parent, &st) != 0 && !(parents > 0 && make_dir(parent, parents - 1) == 0 && lstat(parent, &st) == 0))
        return -1;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return -1;
    return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

void offsets_cache_store(const char *dir, const char *tool, const char *build_id, const struct py_offsets *o,
                         const char *debug_file)
{
    char path[4096], tmp[4200];
    struct stat st;
    if (!dir[0] || !tool[0] || !entry_path(dir, build_id, path, sizeof path) || strchr(debug_file, '\n') ||
        make_dir(dir, 1) != 0 || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || !ours(&st))
        return;
    char *body = NULL;
    size_t body_len = 0;
    FILE *mf = open_memstream(&body, &body_len);
    if (!mf)
        return;
    offsets_write_table(o, mf, "read from DWARF; remade when this file is missing or does not fit");
    if (fclose(mf) != 0 || !body) {
        free(body);
        return;
    }
    snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, build_id);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(body);
        return;
    }
    fprintf(f, CACHE_MAGIC "\ntool %s\nbuild-id %s\ndebug-file %s\nchecksum %016" PRIx64 "\n", tool, build_id,
            target_view(debug_file), checksum(body, body_len));
    fwrite(body, 1, body_len, f);
    free(body);
    /* A whole entry or none: written aside, then renamed over the old one. */
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        unlink(tmp);
}
