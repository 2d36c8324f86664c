/* cli.h - what the command-line front end's commands share: parsed options,
 * error reporting with hints, and the command entry points. */
#ifndef PYHEAPSCOPE_CLI_H
#define PYHEAPSCOPE_CLI_H

#include <sys/types.h>

#include "pyheapscope/error.h"
#include "pyheapscope/runtime.h"

struct cli_opts {
    pid_t pid;
    int json;
    struct py_attach_opts attach;
    const char *output;           /* symbols generate -o */
    const char *python_version;   /* symbols generate --python-version */
};

/* Print err as one line on stderr, with a hint for the codes that have one,
 * and return the exit status for it. */
int cli_fail(const char *command, const struct phs_error *err);

int cmd_info(const struct cli_opts *o);
int cmd_symbols_generate(const struct cli_opts *o, const char *path);

#endif
