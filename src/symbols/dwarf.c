/* dwarf.c - the DWARF offsets provider (libdw/libdwfl).
 *
 * Finds CPython's structs in the DWARF of libpython or the executable, or of
 * its separate debug file (build-id first, then .gnu_debuglink, through
 * libdwfl's standard search), and fills the offsets catalogue from member
 * locations and aggregate sizes. Reads files only, never target memory.
 * gcc emits no name index, so structs are found by one linear pass over the
 * compile units' top-level DIEs, stopping once all are found. */
#define _GNU_SOURCE            /* memfd_create */
#include "pyheapscope/elffile.h"
#include "pyheapscope/offsets.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_DEBUGINFO_PATH "-:.debug:/usr/lib/debug"

/* Follow DW_AT_type through typedefs and qualifiers to a struct or union. */
static int peel_to_aggregate(Dwarf_Die *die, Dwarf_Die *out)
{
    Dwarf_Die cur = *die;
    for (int depth = 0; depth < 16; depth++) {
        int tag = dwarf_tag(&cur);
        if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type) {
            *out = cur;
            return 0;
        }
        if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type &&
            tag != DW_TAG_member)
            return -1;
        Dwarf_Attribute attr;
        if (!dwarf_attr_integrate(&cur, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &cur))
            return -1;
    }
    return -1;
}

static int member_location(Dwarf_Die *member, int64_t *off)
{
    Dwarf_Attribute attr;
    Dwarf_Word w;
    if (!dwarf_attr_integrate(member, DW_AT_data_member_location, &attr)) {
        *off = 0;       /* union members have no location */
        return 0;
    }
    if (dwarf_formudata(&attr, &w) != 0)
        return -1;
    *off = (int64_t)w;
    return 0;
}

/* Find member `name` (length len) in aggregate agg, looking inside anonymous
 * struct/union members too. On success *off is its offset from agg and
 * *found its DIE. */
static int find_member(Dwarf_Die *agg, const char *name, size_t len, int64_t *off, Dwarf_Die *found,
                       int depth)
{
    Dwarf_Die child;
    if (depth > 8 || dwarf_child(agg, &child) != 0)
        return -1;
    do {
        if (dwarf_tag(&child) != DW_TAG_member)
            continue;
        const char *mname = dwarf_diename(&child);
        int64_t moff;
        if (member_location(&child, &moff) != 0)
            continue;
        if (mname && strlen(mname) == len && memcmp(mname, name, len) == 0) {
            *off = moff;
            *found = child;
            return 0;
        }
        if (!mname) {
            Dwarf_Die inner;
            int64_t ioff;
            if (peel_to_aggregate(&child, &inner) == 0 &&
                find_member(&inner, name, len, &ioff, found, depth + 1) == 0) {
                *off = moff + ioff;
                return 0;
            }
        }
    } while (dwarf_siblingof(&child, &child) == 0);
    return -1;
}

/* Resolve a dotted path ("threads.head") inside agg. */
static int resolve_path(Dwarf_Die *agg, const char *path, size_t plen, int64_t *off)
{
    Dwarf_Die cur = *agg;
    int64_t total = 0;
    const char *p = path, *end = path + plen;
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t len = dot ? (size_t)(dot - p) : (size_t)(end - p);
        int64_t moff;
        Dwarf_Die member;
        if (find_member(&cur, p, len, &moff, &member, 0) != 0)
            return -1;
        total += moff;
        if (!dot)
            break;
        if (peel_to_aggregate(&member, &cur) != 0)
            return -1;
        p = dot + 1;
    }
    *off = total;
    return 0;
}

/* Try each '|'-separated alternative of a member path spec. */
static int resolve_spec(Dwarf_Die *agg, const char *spec, int64_t *off)
{
    const char *p = spec;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (resolve_path(agg, p, len, off) == 0)
            return 0;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

struct wanted {
    int found;
    Dwarf_Die die;     /* the struct (typedefs already peeled) */
};

static int is_declaration(Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    bool flag = false;
    return dwarf_attr(die, DW_AT_declaration, &attr) && dwarf_formflag(&attr, &flag) == 0 && flag;
}

static int find_structs(Dwarf *dw, struct wanted *w)
{
    int remaining = OS_COUNT;
    Dwarf_CU *cu = NULL;
    Dwarf_Die cudie;
    while (remaining > 0 && dwarf_get_units(dw, cu, &cu, NULL, NULL, &cudie, NULL) == 0) {
        Dwarf_Die child;
        if (dwarf_child(&cudie, &child) != 0)
            continue;
        do {
            int tag = dwarf_tag(&child);
            if (tag != DW_TAG_structure_type && tag != DW_TAG_typedef)
                continue;
            const char *name = dwarf_diename(&child);
            if (!name)
                continue;
            for (int s = 0; s < OS_COUNT; s++) {
                if (w[s].found || strcmp(name, offsets_struct_dwarf_name((enum offsets_struct)s)) != 0)
                    continue;
                int want_typedef = offsets_struct_is_typedef((enum offsets_struct)s);
                if ((tag == DW_TAG_typedef) != want_typedef)
                    continue;
                Dwarf_Die agg;
                if (tag == DW_TAG_typedef) {
                    if (peel_to_aggregate(&child, &agg) != 0 || is_declaration(&agg))
                        continue;
                } else {
                    if (is_declaration(&child))
                        continue;
                    agg = child;
                }
                w[s].die = agg;
                w[s].found = 1;
                remaining--;
            }
        } while (dwarf_siblingof(&child, &child) == 0);
    }
    return remaining;
}

/* ---- a debug file without the sections we never read ----
 *
 * libdw (0.188, Debian 12) inflates every compressed DWARF section of a
 * file when it opens it. Distributions ship their debug files compressed,
 * and most of what they hold is line tables, location and range lists:
 * for Debian's python3.11 that is half the inflating, 50 of 110 ms spent
 * before the target can be paused. We read types only. So a debug file
 * found by build-id is opened here, from a copy in memory whose unread
 * sections are marked empty (SHT_NOBITS), which libdw skips. libdwfl's
 * search (which opens the file itself) stays the fallback: for files
 * found by .gnu_debuglink, for dwz-compressed ones (their .gnu_debugaltlink
 * is looked up next to the file, which a copy has not), and for any
 * failure here. */

struct lean_debug {
    int fd;
    Elf *elf;
    Dwarf *dw;
};

static void lean_close(struct lean_debug *l)
{
    if (l->dw)
        dwarf_end(l->dw);
    if (l->elf)
        elf_end(l->elf);
    if (l->fd >= 0)
        close(l->fd);
    *l = (struct lean_debug){-1, NULL, NULL};
}

/* Sections of no use for types and member offsets. */
static int unread_section(const char *name)
{
    static const char *const unread[] = {"line", "loc", "loclists", "ranges", "rnglists", "aranges",
                                         "frame", "macinfo", "macro", "pubnames", "pubtypes"};
    if (strncmp(name, ".debug_", 7) == 0)
        name += 7;
    else if (strncmp(name, ".zdebug_", 8) == 0)
        name += 8;
    else
        return 0;
    for (size_t i = 0; i < sizeof unread / sizeof *unread; i++)
        if (strcmp(name, unread[i]) == 0)
            return 1;
    return 0;
}

/* Which section headers to mark empty (their indexes in skip[], at most
 * cap) and the compressed bytes that spares. -1 if the file must be left
 * to libdwfl: it has a .gnu_debugaltlink. */
static int plan_skips(Elf *elf, size_t *skip, size_t cap, size_t *n, uint64_t *spared)
{
    size_t shstrndx;
    *n = 0;
    *spared = 0;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0)
        return -1;
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn)) != NULL;) {
        GElf_Shdr sh;
        const char *name;
        if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
            continue;
        if (strcmp(name, ".gnu_debugaltlink") == 0)
            return -1;
        int is_compressed = (sh.sh_flags & SHF_COMPRESSED) || strncmp(name, ".zdebug_", 8) == 0;
        if (sh.sh_type == SHT_NOBITS || !is_compressed || !unread_section(name) || *n == cap)
            continue;
        skip[(*n)++] = elf_ndxscn(scn);
        *spared += sh.sh_size;
    }
    return 0;
}

/* A copy of the ELF file open at fd in memory, the sections skip[] marked
 * SHT_NOBITS: a descriptor, or -1. */
static int lean_copy(int fd, const size_t *skip, size_t n, const GElf_Ehdr *eh, off_t size)
{
    int mem = memfd_create("pyheapscope-debuginfo", MFD_CLOEXEC);
    if (mem < 0)
        return -1;
    off_t in = 0;        /* sendfile: copy_file_range refuses to cross file systems */
    while (in < size) {
        ssize_t k = sendfile(mem, fd, &in, (size_t)(size - in));
        if (k <= 0)
            break;
    }
    /* sh_type follows the 4-byte sh_name in both classes, in the file's
     * byte order */
    unsigned char nobits[4];
    for (int b = 0; b < 4; b++)
        nobits[b] = (unsigned char)(SHT_NOBITS >> (8 * (eh->e_ident[EI_DATA] == ELFDATA2MSB ? 3 - b : b)));
    int ok = in == size;
    for (size_t i = 0; i < n && ok; i++)
        ok = pwrite(mem, nobits, 4, (off_t)(eh->e_shoff + skip[i] * eh->e_shentsize + 4)) == 4;
    if (!ok) {
        close(mem);
        return -1;
    }
    return mem;
}

/* The DWARF of the debug file at path if it has the build-id id (len
 * bytes) and is worth reading lean: the copy pays when the compressed
 * bytes it spares are an eighth of the file or more (inflating a byte
 * costs about as much as copying twenty), and is kept to files of a sane
 * size (the file may come from a container's root). */
#define LEAN_MAX_FILE (512ll << 20)
static int lean_open(const char *path, const unsigned char *id, int len, struct lean_debug *l)
{
    struct stat st;
    const void *file_id;
    GElf_Ehdr eh;
    size_t skip[64], n;
    uint64_t spared;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    Elf *elf = fstat(fd, &st) == 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
    int lean = -1;
    if (elf && st.st_size <= LEAN_MAX_FILE && gelf_getehdr(elf, &eh) &&
        dwelf_elf_gnu_build_id(elf, &file_id) == len && memcmp(file_id, id, (size_t)len) == 0 &&
        elf_has_debug_info(elf) && plan_skips(elf, skip, 64, &n, &spared) == 0 && n && spared * 8 >= (uint64_t)st.st_size)
        lean = lean_copy(fd, skip, n, &eh, st.st_size);
    if (elf)
        elf_end(elf);
    close(fd);
    if (lean < 0)
        return -1;
    l->fd = lean;
    l->elf = elf_begin(lean, ELF_C_READ_MMAP, NULL);
    l->dw = l->elf ? dwarf_begin_elf(l->elf, DWARF_C_READ, NULL) : NULL;
    if (!l->dw) {
        lean_close(l);
        return -1;
    }
    return 0;
}

/* The module's own file, lean, if that pays. */
static int lean_open_self(Dwfl_Module *mod, const char *path, struct lean_debug *l)
{
    const unsigned char *id;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(mod, &id, &vaddr);
    return len > 0 ? lean_open(path, id, len, l) : -1;
}

/* Look for the module's debug file by build-id in each absolute directory
 * of the debuginfo path (DIR/.build-id/xx/rest.debug), as libdwfl would,
 * and open it lean. The path it was found at goes to found. */
static int lean_find(Dwfl_Module *mod, const char *debuginfo_path, char *found, size_t cap, struct lean_debug *l)
{
    const unsigned char *id;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(mod, &id, &vaddr);
    if (len < 2 || len > 64)
        return -1;
    char hex[129];
    for (int i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    for (const char *p = debuginfo_path; p && *p;) {
        const char *colon = strchr(p, ':');
        size_t plen = colon ? (size_t)(colon - p) : strlen(p);
        const char *dir = p;
        while (plen && (*dir == '-' || *dir == '+'))
            dir++, plen--;
        char path[4096];
        if (plen && *dir == '/' &&
            snprintf(path, sizeof path, "%.*s/.build-id/%.2s/%s.debug", (int)plen, dir, hex, hex + 2) <
                (int)sizeof path &&
            lean_open(path, id, len, l) == 0) {
            if (found && cap)
                snprintf(found, cap, "%s", path);
            return 0;
        }
        p = colon ? colon + 1 : NULL;
    }
    return -1;
}

enum phs_status offsets_from_dwarf(const char *path, const char *debuginfo_path,
                                   struct py_offsets *o, char *debug_file, size_t cap,
                                   struct phs_error *err)
{
    char *dip = strdup(debuginfo_path ? debuginfo_path : DEFAULT_DEBUGINFO_PATH);
    if (!dip)
        return phs_error_set(err, PHS_INTERNAL, 0, "out of memory");
    const Dwfl_Callbacks callbacks = {
        .find_elf = dwfl_build_id_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
        .section_address = dwfl_offline_section_address,
        .debuginfo_path = &dip,
    };
    enum phs_status st = PHS_OK;
    Dwfl *dwfl = dwfl_begin(&callbacks);
    if (!dwfl) {
        free(dip);
        return phs_error_set(err, PHS_INTERNAL, 0, "libdwfl: %s", dwfl_errmsg(-1));
    }
    dwfl_report_begin(dwfl);
    Dwfl_Module *mod = dwfl_report_offline(dwfl, "python", path, -1);
    dwfl_report_end(dwfl, NULL, NULL);
    Dwarf_Addr bias;
    Dwarf *dw = NULL;
    struct lean_debug lean = {-1, NULL, NULL};
    if (!mod) {
        st = phs_error_set(err, PHS_IO, 0, "libdwfl cannot open %s: %s", path, dwfl_errmsg(-1));
        goto out;
    }
    /* The DWARF of the file itself if it has some, else of its debug
     * file: read lean where that pays, else as libdwfl opens it. */
    Elf *main_elf = dwfl_module_getelf(mod, &bias);
    int in_main = elf_has_debug_info(main_elf);
    if (in_main ? lean_open_self(mod, path, &lean) == 0 : lean_find(mod, dip, debug_file, cap, &lean) == 0) {
        dw = lean.dw;
        if (in_main && debug_file && cap)
            snprintf(debug_file, cap, "%s", path);
    } else {
        if (!(dw = dwfl_module_getdwarf(mod, &bias))) {
            st = phs_error_set(err, PHS_IO, 0, "no DWARF for %s (%s)", path, dwfl_errmsg(-1));
            goto out;
        }
        const char *mainfile = NULL, *debugfile = NULL;
        dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, &debugfile);
        if (debug_file && cap)
            snprintf(debug_file, cap, "%s", debugfile ? debugfile : (mainfile ? mainfile : path));
    }

    struct wanted w[OS_COUNT];
    memset(w, 0, sizeof w);
    find_structs(dw, w);
    /* Everything but the runtime struct must be there for this to be
     * CPython's DWARF at all; fields of a struct that is missing are left
     * absent and the validator says which. */
    if (!w[OS_OBJECT].found || !w[OS_TYPE].found) {
        st = phs_error_set(err, PHS_NOT_PYTHON, 0, "the DWARF of %s does not describe CPython objects", path);
        goto out;
    }
    for (int i = 0; i < OFF_COUNT; i++) {
        enum offsets_field f = (enum offsets_field)i;
        enum offsets_struct s = offsets_field_struct(f);
        if (!w[s].found)
            continue;
        const char *spec = offsets_field_dwarf_path(f);
        if (!spec) {
            Dwarf_Word size;
            if (dwarf_aggregate_size(&w[s].die, &size) == 0)
                o->v[f] = (int64_t)size;
            continue;
        }
        int64_t off;
        if (resolve_spec(&w[s].die, spec, &off) == 0)
            o->v[f] = off;
    }
    o->source = OFFSETS_DWARF;
out:
    lean_close(&lean);
    dwfl_end(dwfl);
    free(dip);
    return st;
}
