/* elffile.c - symbols, build-id and load bias of a mapped ELF file (libelf).
 * One owner per Elf handle: elf_file_close releases it. Never reads target
 * memory; a file that is not ELF is an error value, not a crash. */
#include "pyheapscope/elffile.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void read_build_id(Elf *elf, char *out, size_t cap)
{
    out[0] = '\0';
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        if (!data)
            continue;
        size_t off = 0, name_off, desc_off;
        GElf_Nhdr nh;
        while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
            if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
                memcmp((char *)data->d_buf + name_off, "GNU", 4) != 0)
                continue;
            const unsigned char *d = (const unsigned char *)data->d_buf + desc_off;
            size_t n = 0;
            for (size_t i = 0; i < nh.n_descsz && n + 3 <= cap; i++)
                n += (size_t)snprintf(out + n, cap - n, "%02x", d[i]);
            return;
        }
    }
}

int elf_path_build_id(const char *path, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    elf_version(EV_CURRENT);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (elf && elf_kind(elf) == ELF_K_ELF && cap)
        read_build_id(elf, out, cap);
    if (elf)
        elf_end(elf);
    close(fd);
    return cap && out[0] != '\0';
}

int elf_has_debug_info(void *elf_handle)
{
    Elf *elf = elf_handle;
    size_t shstrndx;
    if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
        return 0;
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn)) != NULL;) {
        GElf_Shdr sh;
        const char *name;
        if (gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS && (name = elf_strptr(elf, shstrndx, sh.sh_name)) &&
            (strcmp(name, ".debug_info") == 0 || strcmp(name, ".zdebug_info") == 0))
            return 1;
    }
    return 0;
}

static void scan_sections(struct elf_file *ef, Elf *elf)
{
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
            ef->has_symtab = 1;
    }
    ef->has_debug_info = elf_has_debug_info(elf);
}

/* bias = where the first PT_LOAD landed - where it asked to be. */
static int compute_bias(struct elf_file *ef, Elf *elf, const struct maps *maps)
{
    size_t phnum;
    if (elf_getphdrnum(elf, &phnum) != 0)
        return -1;
    uint64_t min_vaddr = UINT64_MAX;
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_offset == 0 &&
            ph.p_vaddr < min_vaddr)
            min_vaddr = ph.p_vaddr;
    }
    if (min_vaddr == UINT64_MAX)
        return -1;
    for (size_t i = 0; i < maps->n; i++) {
        const struct mapping *m = &maps->v[i];
        if (m->offset == 0 && strcmp(m->path, ef->path) == 0) {
            ef->bias = m->start - (min_vaddr & ~(uint64_t)0xfff);
            return 0;
        }
    }
    return -1;
}

enum phs_status elf_file_open(pid_t pid, const struct maps *maps, const char *path,
                              struct elf_file *ef, struct phs_error *err)
{
    memset(ef, 0, sizeof *ef);
    ef->fd = -1;
    snprintf(ef->path, sizeof ef->path, "%s", path);
    target_file_path(pid, path, ef->open_path, sizeof ef->open_path);
    elf_version(EV_CURRENT);
    ef->fd = open(ef->open_path, O_RDONLY | O_CLOEXEC);
    if (ef->fd < 0) {
        int e = errno;
        return phs_error_set(err, phs_status_from_errno(e, PHS_IO), e, "cannot open %s: %s",
                             ef->open_path, strerror(e));
    }
    Elf *elf = elf_begin(ef->fd, ELF_C_READ_MMAP, NULL);
    if (!elf || elf_kind(elf) != ELF_K_ELF) {
        if (elf)
            elf_end(elf);
        close(ef->fd);
        ef->fd = -1;
        return phs_error_set(err, PHS_IO, 0, "%s is not an ELF file: %s", ef->open_path, elf_errmsg(-1));
    }
    ef->elf = elf;
    scan_sections(ef, elf);
    read_build_id(elf, ef->build_id, sizeof ef->build_id);
    if (compute_bias(ef, elf, maps) != 0) {
        elf_file_close(ef);
        return phs_error_set(err, PHS_IO, 0, "cannot find where %s is loaded in process %d", path, (int)pid);
    }
    return PHS_OK;
}

struct elf_symbol {
    const char *name;          /* in the file's string table (valid while it is open) */
    uint64_t value, size;
};

struct elf_symbols {
    struct elf_symbol *slots;  /* open addressing; name NULL = empty */
    size_t mask;
    char *names;               /* the names' text when they are not the file's (elf_file_from_symbols) */
};

static size_t name_hash(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t count_symbols(Elf *elf)
{
    size_t n = 0;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) && (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM) && sh.sh_entsize)
            n += sh.sh_size / sh.sh_entsize;
    }
    return n;
}

/* Index the defined symbols of one table type; the first of a name wins,
 * as in a linear lookup. */
static void index_table(Elf *elf, Elf64_Word type, struct elf_symbols *ix)
{
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_entsize == 0)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        size_t count = sh.sh_size / sh.sh_entsize;
        for (size_t i = 0; data && i < count; i++) {
            GElf_Sym sym;
            if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
                continue;
            const char *n = elf_strptr(elf, sh.sh_link, sym.st_name);
            if (!n || !*n)
                continue;
            size_t j = name_hash(n) & ix->mask;
            while (ix->slots[j].name && strcmp(ix->slots[j].name, n) != 0)
                j = (j + 1) & ix->mask;
            if (!ix->slots[j].name)
                ix->slots[j] = (struct elf_symbol){n, sym.st_value, sym.st_size};
        }
    }
}

static struct elf_symbols *index_new(size_t n)
{
    size_t slots = 64;
    while (slots < 2 * n + 2)
        slots *= 2;
    struct elf_symbols *ix = calloc(1, sizeof *ix);
    if (!ix || !(ix->slots = calloc(slots, sizeof *ix->slots))) {
        free(ix);
        return NULL;
    }
    ix->mask = slots - 1;
    return ix;
}

static void index_free(struct elf_symbols *ix)
{
    if (ix) {
        free(ix->slots);
        free(ix->names);
        free(ix);
    }
}

static struct elf_symbols *build_index(Elf *elf)
{
    struct elf_symbols *ix = index_new(count_symbols(elf));
    if (!ix)
        return NULL;
    index_table(elf, SHT_SYMTAB, ix);
    index_table(elf, SHT_DYNSYM, ix);
    return ix;
}

enum phs_status elf_file_from_symbols(struct elf_file *ef, const char *const *names, const uint64_t *addrs,
                                      size_t n, struct phs_error *err)
{
    memset(ef, 0, sizeof *ef);
    ef->fd = -1;
    size_t text = 0;
    for (size_t i = 0; i < n; i++)
        text += strlen(names[i]) + 1;
    struct elf_symbols *ix = index_new(n);
    if (!ix || !(ix->names = malloc(text ? text : 1))) {
        index_free(ix);
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    }
    char *at = ix->names;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]) + 1;
        memcpy(at, names[i], len);
        size_t j = name_hash(at) & ix->mask;
        while (ix->slots[j].name && strcmp(ix->slots[j].name, at) != 0)
            j = (j + 1) & ix->mask;
        if (!ix->slots[j].name)
            ix->slots[j] = (struct elf_symbol){at, addrs[i], 0};
        at += len;
    }
    ef->symbols = ix;
    return PHS_OK;
}

int elf_file_symbol(struct elf_file *ef, const char *name, uint64_t *addr, uint64_t *size)
{
    if (!ef->elf && !ef->symbols)
        return 0;
    if (!ef->symbols && !(ef->symbols = build_index(ef->elf)))
        return 0;                 /* no memory for the index */
    const struct elf_symbols *ix = ef->symbols;
    size_t j = name_hash(name) & ix->mask;
    while (ix->slots[j].name && strcmp(ix->slots[j].name, name) != 0)
        j = (j + 1) & ix->mask;
    if (!ix->slots[j].name)
        return 0;
    *addr = ix->slots[j].value + ef->bias;
    if (size)
        *size = ix->slots[j].size;
    return 1;
}

void elf_file_close(struct elf_file *ef)
{
    index_free(ef->symbols);
    ef->symbols = NULL;
    if (ef->elf)
        elf_end(ef->elf);
    ef->elf = NULL;
    if (ef->fd >= 0)
        close(ef->fd);
    ef->fd = -1;
}
