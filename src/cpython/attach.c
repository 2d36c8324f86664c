/* attach.c - finds the CPython runtime in a process: the ELF file that holds
 * _PyRuntime, the exact version, the build kind, and the offsets.
 * Reads the target only for the version word/string and _Py_DebugOffsets;
 * never pauses it and never prints. */
#include "pyheapscope/runtime.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of libpython's writable data scanned for the sys.version string. */
#define VERSION_SCAN_MAX (32u << 20)

void py_version_format(uint64_t hex, char *out, size_t cap)
{
    unsigned major = (hex >> 24) & 0xff, minor = (hex >> 16) & 0xff, micro = (hex >> 8) & 0xff;
    unsigned level = (hex >> 4) & 0xf, serial = hex & 0xf;
    const char *tag = level == 0xa ? "a" : level == 0xb ? "b" : level == 0xc ? "rc" : "";
    if (*tag)
        snprintf(out, cap, "%u.%u.%u%s%u", major, minor, micro, tag, serial);
    else
        snprintf(out, cap, "%u.%u.%u", major, minor, micro);
}

static const char *parse_uint(const char *s, const char *end, unsigned *v, unsigned max_digits)
{
    unsigned n = 0, d = 0;
    while (s < end && isdigit((unsigned char)*s) && d < max_digits) {
        n = n * 10 + (unsigned)(*s - '0');
        s++;
        d++;
    }
    if (d == 0 || (s < end && isdigit((unsigned char)*s)))
        return NULL;
    *v = n;
    return s;
}

uint64_t py_version_parse(const char *s, size_t len)
{
    const char *end = s + len, *p = s;
    unsigned major, minor, micro, serial = 0, level = 0xf;
    if (!(p = parse_uint(p, end, &major, 1)) || p >= end || *p++ != '.')
        return 0;
    if (!(p = parse_uint(p, end, &minor, 2)) || p >= end || *p++ != '.')
        return 0;
    if (!(p = parse_uint(p, end, &micro, 2)))
        return 0;
    if (major != 2 && major != 3)
        return 0;
    if (p < end && (*p == 'a' || *p == 'b' || (*p == 'r' && p + 1 < end && p[1] == 'c'))) {
        level = *p == 'a' ? 0xa : *p == 'b' ? 0xb : 0xc;
        p += level == 0xc ? 2 : 1;
        if (!(p = parse_uint(p, end, &serial, 2)))
            return 0;
    }
    if (p < end && *p == '+')
        p++;
    /* sys.version continues with " (build info ...)". A free-threaded
     * build says " experimental free-threading build (" first. */
    if (end - p < 3 || p[0] != ' ')
        return 0;
    if (p[1] != '(' && strncmp(p + 1, "experimental free-threading build (",
                               (size_t)(end - p - 1) < 35 ? (size_t)(end - p - 1) : 35) != 0)
        return 0;
    return ((uint64_t)major << 24) | ((uint64_t)minor << 16) | ((uint64_t)micro << 8) |
           ((uint64_t)level << 4) | serial;
}

/* Search [buf, buf+len) for a sys.version string; prefer one whose
 * major.minor matches the hint (0 = any). */
static uint64_t scan_for_version(const char *buf, size_t len, unsigned hint_major, unsigned hint_minor)
{
    for (size_t i = 0; i + 8 < len; i++) {
        if ((buf[i] != '3' && buf[i] != '2') || buf[i + 1] != '.')
            continue;
        if (i > 0 && (isalnum((unsigned char)buf[i - 1]) || buf[i - 1] == '.'))
            continue;
        size_t take = len - i < 128 ? len - i : 128;
        uint64_t hex = py_version_parse(buf + i, take);
        if (!hex)
            continue;
        if (hint_major && (((hex >> 24) & 0xff) != hint_major || ((hex >> 16) & 0xff) != hint_minor))
            continue;
        return hex;
    }
    return 0;
}

/* The static buffer Py_GetVersion() fills lives in the writable data of
 * the file holding the runtime, or in the anonymous mapping right after it
 * (its .bss). Read those and look for the string. */
static uint64_t version_from_data(struct py_process *p, const char *file, unsigned hint_major,
                                  unsigned hint_minor)
{
    size_t scanned = 0;
    char *buf = NULL;
    uint64_t hex = 0;
    for (size_t i = 0; i < p->maps.n && !hex && scanned < VERSION_SCAN_MAX; i++) {
        const struct mapping *m = &p->maps.v[i];
        int ours = strcmp(m->path, file) == 0;
        int bss = !ours && m->path[0] == '\0' && i > 0 && strcmp(p->maps.v[i - 1].path, file) == 0;
        if (!(ours || bss) || (m->perms & (MAP_R | MAP_W)) != (MAP_R | MAP_W))
            continue;
        size_t len = (size_t)(m->end - m->start);
        if (len > VERSION_SCAN_MAX - scanned)
            len = VERSION_SCAN_MAX - scanned;
        char *nb = realloc(buf, len);
        if (!nb)
            break;
        buf = nb;
        struct phs_error ignored;
        if (memsrc_read(p->mem, m->start, buf, len, &ignored) != PHS_OK)
            continue;
        scanned += len;
        hex = scan_for_version(buf, len, hint_major, hint_minor);
    }
    free(buf);
    return hex;
}

/* Parse "pythonM.m" in the base name of path; *after points past "M.m"
 * (at the ABI flags: "d", "t", "m"). Returns 1 if found. */
static int parse_python_name(const char *path, unsigned *major, unsigned *minor, const char **after)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *p = strstr(base, "python");
    int n = 0;
    if (!p || sscanf(p + 6, "%u.%u%n", major, minor, &n) != 2)
        return 0;
    *after = p + 6 + n;
    return 1;
}

int py_version_from_name(const char *path, unsigned *major, unsigned *minor)
{
    const char *after;
    return parse_python_name(path, major, minor, &after);
}

static int is_libpython(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return strncmp(base, "libpython", 9) == 0 && strstr(base, ".so") != NULL;
}

/* Build flags a name or a symbol give away: 'd' debug, 't' free-threaded
 * (libpython3.13d.so, python3.13t). */
static int build_suffix(const char *path, char suffix)
{
    unsigned ma, mi;
    const char *s;
    if (!parse_python_name(path, &ma, &mi, &s))
        return 0;
    for (; *s && *s != '.'; s++)
        if (*s == suffix)
            return 1;
    return 0;
}

/* Candidate files: each mapped libpython, then the executable. */
static enum phs_status find_runtime(struct py_process *p, struct phs_error *err)
{
    char seen[8][PATH_MAX];
    size_t nseen = 0;
    for (size_t i = 0; i <= p->maps.n && nseen < 8; i++) {
        const char *path = i < p->maps.n ? p->maps.v[i].path : p->exe;
        if (i < p->maps.n && !is_libpython(path))
            continue;
        int dup = 0;
        for (size_t j = 0; j < nseen; j++)
            dup |= strcmp(seen[j], path) == 0;
        if (dup || !*path)
            continue;
        snprintf(seen[nseen++], PATH_MAX, "%s", path);
        struct elf_file ef;
        struct phs_error e;
        if (elf_file_open(p->pid, &p->maps, path, &ef, &e) != PHS_OK) {
            if (e.code == PHS_PERMISSION)
                return phs_error_set(err, PHS_PERMISSION, e.sys_errno, "%s", e.msg);
            continue;
        }
        uint64_t addr;
        if (elf_file_symbol(&ef, "_PyRuntime", &addr, NULL)) {
            p->elf = ef;
            p->runtime_addr = addr;
            if (is_libpython(path))
                snprintf(p->libpython, sizeof p->libpython, "%s", path);
            return PHS_OK;
        }
        /* Python 2.7 and 3.6 have no _PyRuntime; name them precisely. */
        uint64_t dummy;
        if (elf_file_symbol(&ef, "Py_GetVersion", &dummy, NULL)) {
            unsigned ma = 0, mi = 0;
            py_version_from_name(path, &ma, &mi);
            uint64_t hex = version_from_data(p, path, ma, mi);
            elf_file_close(&ef);
            char v[32] = "older than 3.7";
            if (hex)
                py_version_format(hex, v, sizeof v);
            else if (ma)
                snprintf(v, sizeof v, "%u.%u", ma, mi);
            return phs_error_set(err, PHS_UNSUPPORTED, 0, "process %d runs Python %s, which is not supported; "
                                 "pyheapscope reads CPython 3.%d to 3.%d", (int)p->pid, v, PY_MIN_MINOR,
                                 PY_MAX_MINOR);
        }
        elf_file_close(&ef);
    }
    return phs_error_set(err, PHS_NOT_PYTHON, 0, "process %d (%s) is not a CPython process: no _PyRuntime "
                         "symbol in its executable or in a mapped libpython", (int)p->pid, p->exe);
}

static enum phs_status find_version(struct py_process *p, struct phs_error *err)
{
    unsigned name_major = 0, name_minor = 0;
    py_version_from_name(p->elf.path, &name_major, &name_minor);
    uint64_t addr;
    if (elf_file_symbol(&p->elf, "Py_Version", &addr, NULL)) {
        uint64_t v;
        if (memsrc_read_u64(p->mem, addr, &v, err) != PHS_OK)
            return phs_error_prefix(err, "reading Py_Version");
        p->version_hex = v;
        p->version_source = "Py_Version";
    } else {
        p->version_hex = version_from_data(p, p->elf.path, name_major, name_minor);
        p->version_source = "sys.version string in the interpreter's data";
        if (!p->version_hex && name_major) {
            /* Not initialised yet, or scrubbed: the file name still tells
             * major.minor, which is all the offsets need. */
            p->version_hex = ((uint64_t)name_major << 24) | ((uint64_t)name_minor << 16) | 0xf0;
            p->version_source = "file name (major.minor only)";
        }
    }
    if (!p->version_hex)
        return phs_error_set(err, PHS_NOT_PYTHON, 0, "cannot tell the Python version of process %d", (int)p->pid);
    py_version_format(p->version_hex, p->version, sizeof p->version);
    if (strncmp(p->version_source, "file name", 9) == 0)   /* the patch level is unknown */
        snprintf(p->version, sizeof p->version, "%u.%u", name_major, name_minor);
    unsigned major = (p->version_hex >> 24) & 0xff, minor = (p->version_hex >> 16) & 0xff;
    if (name_major && (name_major != major || name_minor != minor))
        return phs_error_set(err, PHS_OFFSETS, 0, "version %s found in %s, whose name says %u.%u", p->version,
                             p->elf.path, name_major, name_minor);
    if (major != 3 || minor < PY_MIN_MINOR || minor > PY_MAX_MINOR)
        return phs_error_set(err, PHS_UNSUPPORTED, 0, "process %d runs Python %s, which is not supported; "
                             "pyheapscope reads CPython 3.%d to 3.%d", (int)p->pid, p->version,
                             PY_MIN_MINOR, PY_MAX_MINOR);
    return PHS_OK;
}

static enum phs_status check_build(struct py_process *p, struct phs_error *err)
{
    uint64_t addr;
    /* Free-threaded builds exist from 3.13 on, and every 3.13+ runtime
     * starts with _Py_DebugOffsets, whose third word says so. */
    unsigned char head[24];
    struct phs_error ignored;
    int free_threaded = build_suffix(p->elf.path, 't');
    if (((p->version_hex >> 16) & 0xff) >= 13 &&
        memsrc_read(p->mem, p->runtime_addr, head, sizeof head, &ignored) == PHS_OK &&
        memcmp(head, "xdebugpy", 8) == 0 && (head[16] | head[17] | head[18] | head[19]))
        free_threaded = 1;
    if (free_threaded)
        return phs_error_set(err, PHS_UNSUPPORTED, 0, "process %d runs a free-threaded (no-GIL) build of "
                             "Python %s, which is not supported yet", (int)p->pid, p->version);
    if (build_suffix(p->elf.path, 'd') || elf_file_symbol(&p->elf, "_Py_RefTotal", &addr, NULL) ||
        elf_file_symbol(&p->elf, "_Py_INCREF_IncRefTotal", &addr, NULL))
        return phs_error_set(err, PHS_UNSUPPORTED, 0, "process %d runs a debug build (Py_DEBUG) of Python %s, "
                             "which is not supported yet; use a release build", (int)p->pid, p->version);
    if (!elf_file_symbol(&p->elf, "PyType_Type", &p->type_type_addr, NULL))
        return phs_error_set(err, PHS_NOT_PYTHON, 0, "%s has _PyRuntime but no PyType_Type", p->elf.path);
    return PHS_OK;
}

/* Show paths as the target sees them: drop our "/proc/PID/root" prefix
 * wherever it appears in s. */
static void strip_root_prefix(pid_t pid, char *s)
{
    char prefix[48];
    int n = snprintf(prefix, sizeof prefix, "/proc/%d/root", (int)pid);
    char *hit;
    while ((hit = strstr(s, prefix)) != NULL)
        memmove(hit, hit + n, strlen(hit + n) + 1);
}

enum phs_status py_attach(pid_t pid, const struct py_attach_opts *opts, struct py_process *p,
                          struct phs_error *err)
{
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->elf.fd = -1;
    enum phs_status st = target_check_alive(pid, err);
    if (st == PHS_OK)
        st = maps_load(pid, &p->maps, err);
    if (st == PHS_OK)
        st = target_exe(pid, p->exe, sizeof p->exe, err);
    if (st == PHS_OK && !(p->mem = procmem_new(pid, &p->maps, err)))
        st = err ? err->code : PHS_INTERNAL;
    /* Robustness tests: fail read number N of the whole run (and every read
     * after it if the value ends in '+'), to prove every failing read ends
     * in a clean error. */
    const char *fault = getenv("PYHEAPSCOPE_FAULT_READ");
    if (st == PHS_OK && fault && *fault) {
        char *end;
        unsigned long long n = strtoull(fault, &end, 10);
        struct memsrc *wrapped = faultmem_new(p->mem, n, *end == '+');
        if (wrapped)
            p->mem = wrapped;
    }
    if (st == PHS_OK)
        st = find_runtime(p, err);
    if (st == PHS_OK)
        st = find_version(p, err);
    if (st == PHS_OK)
        st = check_build(p, err);
    if (st == PHS_OK) {
        char dip[2 * PATH_MAX], cache_dir[PATH_MAX] = "";
        /* A debug path of the user's own may hold other DWARF than the
         * build-id's usual one: that is read, never cached. */
        if (!opts->debuginfo_path) {
            offsets_cache_dir(cache_dir, sizeof cache_dir);
            /* The target's own /usr/lib/debug first (a container's debug
             * files match its binaries), then ours. */
            snprintf(dip, sizeof dip, "-:.debug:/proc/%d/root/usr/lib/debug:/usr/lib/debug", (int)pid);
        }
        struct offsets_request rq = {
            .elf_path = p->elf.open_path,
            .debuginfo_path = opts->debuginfo_path ? opts->debuginfo_path : dip,
            .mem = p->mem,
            .runtime_addr = p->runtime_addr,
            .version_hex = p->version_hex,
            .force = opts->offsets_file ? OFFSETS_FILE : opts->force,
            .offsets_file = opts->offsets_file,
            .build_id = p->elf.build_id,
            .cache_dir = cache_dir,
        };
        st = offsets_choose(&rq, &p->off, p->debug_file, sizeof p->debug_file, p->offsets_notes,
                            sizeof p->offsets_notes, err);
        strip_root_prefix(p->pid, p->debug_file);
        strip_root_prefix(p->pid, p->off.origin);
        strip_root_prefix(p->pid, p->offsets_notes);
    }
    if (st != PHS_OK)
        py_process_done(p);
    return st;
}

void py_process_done(struct py_process *p)
{
    memsrc_free(p->mem);
    p->mem = NULL;
    elf_file_close(&p->elf);
    maps_done(&p->maps);
}
