/* symbols_cmd.c - `pyheapscope symbols generate LIBPYTHON`: writes the
 * offsets table of a CPython build from its DWARF, in the format of the
 * tables under symbols/. Reads files only, no process. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "pyheapscope/offsets.h"

int cmd_symbols_generate(const struct cli_opts *o, const char *path)
{
    struct phs_error err;
    memset(&err, 0, sizeof err);
    struct py_offsets off;
    offsets_init(&off);
    unsigned major = 0, minor = 0;
    if (o->python_version ? sscanf(o->python_version, "%u.%u", &major, &minor) != 2
                          : !py_version_from_name(path, &major, &minor)) {
        phs_error_set(&err, PHS_USAGE, 0, "cannot tell the Python version from \"%s\"; pass --python-version M.m",
                      o->python_version ? o->python_version : path);
        return cli_fail("symbols generate", &err);
    }
    char debug_file[4096];
    if (offsets_from_dwarf(path, o->attach.debuginfo_path, &off, debug_file, sizeof debug_file, &err) != PHS_OK)
        return cli_fail("symbols generate", &err);
    off.major = major;
    off.minor = minor;
    if (offsets_validate(&off, &err) != PHS_OK)
        return cli_fail("symbols generate", &err);
    FILE *out = stdout;
    if (o->output && !(out = fopen(o->output, "w"))) {
        phs_error_set(&err, PHS_IO, 0, "cannot write %s", o->output);
        return cli_fail("symbols generate", &err);
    }
    char comment[128];
    snprintf(comment, sizeof comment, "CPython %u.%u, from DWARF", major, minor);
    offsets_write_table(&off, out, comment);
    if (out != stdout && fclose(out) != 0) {
        phs_error_set(&err, PHS_IO, 0, "cannot write %s", o->output);
        return cli_fail("symbols generate", &err);
    }
    return 0;
}
