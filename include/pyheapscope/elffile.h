/* elffile.h - the ELF objects a target has mapped: symbols, build-id, load
 * bias. libelf only; files are opened through /proc/PID/root so a target in
 * another mount namespace works. Never reads target memory. */
#ifndef PYHEAPSCOPE_ELFFILE_H
#define PYHEAPSCOPE_ELFFILE_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "pyheapscope/error.h"
#include "pyheapscope/target.h"

struct elf_file {
    char path[PATH_MAX];       /* as the target sees it (from its maps) */
    char open_path[PATH_MAX];  /* what we opened: /proc/PID/root + path */
    int fd;
    void *elf;                 /* Elf*, kept opaque so callers need no libelf */
    uint64_t bias;             /* run-time address = symbol value + bias */
    int has_symtab;            /* a .symtab section: not stripped */
    int has_debug_info;        /* a .debug_info section in the file itself */
    char build_id[81];         /* hex, "" if none */
    struct elf_symbols *symbols; /* name -> symbol index, made on the first lookup */
};

/* Open the ELF file the target has mapped at path and compute its load bias
 * from maps. PHS_IO if it cannot be opened or is not ELF. */
enum phs_status elf_file_open(pid_t pid, const struct maps *maps, const char *path,
                              struct elf_file *out, struct phs_error *err);

/* Look up a symbol (.symtab first, then .dynsym). Returns 1 and the run-time
 * address and size if found, 0 if not (or if there is no memory for the
 * index). The first lookup indexes every symbol by name (one pass), so
 * later ones cost a hash probe. */
int elf_file_symbol(struct elf_file *ef, const char *name, uint64_t *addr, uint64_t *size);

/* An elf_file with no file behind it that knows only the given symbols
 * (run-time addresses, bias 0): a process replayed from a recording
 * (tests/fuzz). Copies the names. PHS_INTERNAL on out-of-memory. */
enum phs_status elf_file_from_symbols(struct elf_file *ef, const char *const *names, const uint64_t *addrs,
                                      size_t n, struct phs_error *err);

/* The GNU build-id of the ELF file at path, in hex, into out (cap bytes;
 * "" if it has none or cannot be read). Returns 1 if there is one. */
int elf_path_build_id(const char *path, char *out, size_t cap);

/* Does the ELF file (an Elf*) hold DWARF of its own: a .debug_info (or
 * .zdebug_info) section with contents? */
int elf_has_debug_info(void *elf);

/* Close and release; safe on a zeroed or already closed struct. */
void elf_file_close(struct elf_file *ef);

#endif
