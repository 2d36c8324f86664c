/* main.c - the command line: parses arguments, dispatches to a command,
 * turns errors into one line on stderr and a documented exit status.
 * Front end: never reads target memory itself. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyheapscope/growth.h"
#include "pyheapscope/target.h"


static void usage(FILE *f)
{
    fprintf(f,
"Usage: pyheapscope COMMAND [OPTIONS] [PID]\n"
"\n"
"See what is using the memory of a running CPython process, from outside:\n"
"read-only, no code injected, the target paused only while it is read.\n"
"\n"
"Commands:\n"
"  summary PID           every object on the heap, grouped by kind: count,\n"
"                        bytes (as sys.getsizeof), share and running total,\n"
"                        largest first; an instance's __dict__ is shown as\n"
"                        \"dict of CLASS\". The target is paused only while its\n"
"                        memory is copied, then walked here.\n"
"  summary FILE          the same histogram from a dump\n"
"  dump PID -o FILE      every object with its size, value and references (how\n"
"                        each refers), and the roots, as JSON Lines for later\n"
"                        analysis; FILE.gz is gzip-compressed; - is stdout\n"
"  advise PID            memory the program could save, with the fix and the\n"
"                        bytes it would free: equal str/bytes/int/float values\n"
"                        (and tuples of them) held by distinct objects,\n"
"                        record-like dicts (as __slots__ instances, namedtuples,\n"
"                        tuples), classes without __slots__, identical\n"
"                        instances, lists/bytearrays with spare capacity,\n"
"                        dicts/sets emptied by deletions, empty containers\n"
"  advise FILE           the same from a dump (format 3: this version's)\n"
"  diff BEFORE AFTER     what changed between two dumps, kind by kind: count,\n"
"                        size, new and gone kinds, largest growth first\n"
"  retained FILE [ADDRESS]\n"
"                        what would be freed if an object went away (its\n"
"                        retained size: dominators from the roots), per kind\n"
"                        and for the largest objects; with ADDRESS, that\n"
"                        object and the chain of objects keeping it alive\n"
"  paths FILE ADDRESS    why is it alive: the shortest chains of references\n"
"                        from a root (a module, a thread's frame, ...),\n"
"                        each step saying how it refers (['orders'], [17],\n"
"                        .items, local buf)\n"
"  paths FILE --kind KIND  the same for every instance of KIND, grouped by\n"
"                        the shape of the path, most instances first\n"
"  top PID               the heap live, refreshed every --interval seconds:\n"
"                        kinds with count, size and their change since the\n"
"                        last refresh. --batch (plain text frames) or --json\n"
"                        (one object per refresh, per line), --iterations N\n"
"  top -- PROGRAM ARGS   start PROGRAM and watch it (stopped when top ends)\n"
"  info PID              Python version, executable and libpython, build kind,\n"
"                        _PyRuntime address, interpreters and thread ids, GC\n"
"                        generations, and which offsets source was used\n"
"  symbols generate LIBPYTHON\n"
"                        print the offsets table of a CPython build, from its\n"
"                        DWARF, in the format of the tables under symbols/\n"
"\n"
"Options:\n"
"  -p, --pid PID         the process to read (or give PID as an argument)\n"
"      --json            print one JSON object instead of text\n"
"      --offsets SOURCE  where struct offsets come from: dwarf, debug-offsets\n"
"                        (3.13+), bundled; default: the best one available, in\n"
"                        that order\n"
"      --offsets-file F  use the offsets table in file F (same format as\n"
"                        symbols/*.txt) for a custom CPython build\n"
"      --debuginfo-path P  colon-separated directories searched for separate\n"
"                        debug files by build-id and debuglink (default:\n"
"                        the target's and this machine's /usr/lib/debug)\n"
"      --top N           summary: show the N largest kinds (text default 20,\n"
"                        JSON default all; 0: all); retained: N kinds and\n"
"                        N objects (default 20); advise: N groups per\n"
"                        finding (text default 10, JSON all)\n"
"      --sort KEY        order kinds by size (default) or count; top also by\n"
"                        dsize, dcount (change since the last refresh) or name\n"
"      --max N           paths: show N paths or shapes (default 5)\n"
"      --kind KIND       paths: the kind to explain, as summary names it\n"
"      --interval S      top: seconds between refreshes (default 2)\n"
"      --iterations N    top: stop after N refreshes\n"
"      --batch           top: plain-text frames instead of the full screen\n"
"      --nonblocking     summary, advise: never pause the target; the walk\n"
"                        checks every pointer and link and reports what it\n"
"                        had to skip\n"
"  -o, --output FILE     dump: the file to write (.gz: compressed); symbols\n"
"                        generate: write the table to FILE\n"
"      --python-version M.m  symbols generate: version, if the file name\n"
"                        does not say it\n"
"  -h, --help            this help\n"
"  -V, --version         pyheapscope's version\n"
"\n"
"Examples:\n"
"  pyheapscope summary 4242\n"
"  pyheapscope summary --sort count --top 50 4242\n"
"  pyheapscope summary --json 4242 | jq '.kinds[] | select(.kind | startswith(\"app.\"))'\n"
"  pyheapscope top --json --iterations 10 --interval 5 4242 > growth.jsonl\n"
"  pyheapscope dump 4242 -o before.jsonl.gz; ...; pyheapscope dump 4242 -o after.jsonl.gz\n"
"  pyheapscope diff before.jsonl.gz after.jsonl.gz\n"
"  pyheapscope advise 4242\n"
"  pyheapscope advise --json 4242 | jq '.findings[] | {finding, type, saving}'\n"
"  pyheapscope advise after.jsonl.gz\n"
"  pyheapscope retained after.jsonl.gz --top 10\n"
"  pyheapscope paths after.jsonl.gz --kind app.models.Order\n"
"  pyheapscope paths after.jsonl.gz 0x7f3a2c1d4e50\n"
"  pyheapscope info 4242\n"
"  pyheapscope info --json --pid 4242 | jq .interpreters[0].gc\n"
"  pyheapscope info --offsets bundled 4242     # ignore debug info\n"
"  pyheapscope symbols generate /usr/lib/libpython3.12.so.1.0 > my-3.12.txt\n"
"\n"
"Reading another process needs ptrace rights: the same user and\n"
"kernel.yama.ptrace_scope <= 1, or root / CAP_SYS_PTRACE.\n"
"\n"
"Memory: pyheapscope copies the target's writable memory and walks the copy,\n"
"so it needs about as much free memory as the target uses (its peak RSS is\n"
"1.1-1.4x the bytes copied); it adds nothing to the target.\n"
"Environment: PYHEAPSCOPE_THREADS=N walks the copy with N threads (default:\n"
"one per core, one for copies under 64 MiB). PYHEAPSCOPE_CACHE_DIR=DIR keeps\n"
"offset tables read from DWARF there, by build-id (default:\n"
"~/.cache/pyheapscope; empty: no cache).\n"
"\n"
"Exit status:\n");
    for (int c = 0; c < PHS_STATUS_COUNT; c++)
        fprintf(f, "  %2d  %s\n", phs_status_exit_code((enum phs_status)c),
                phs_status_describe((enum phs_status)c));
}

static const char *hint(enum phs_status code)
{
    switch (code) {
    case PHS_PERMISSION:
        return "run as the target's user with kernel.yama.ptrace_scope <= 1, or as root / with CAP_SYS_PTRACE";
    case PHS_OFFSETS:
        return "try another source with --offsets, or install the interpreter's debug symbols";
    case PHS_NOT_PYTHON:
        return "pyheapscope reads CPython processes (python3.7 to 3.15)";
    default:
        return NULL;
    }
}

int cli_fail(const char *command, const struct phs_error *err)
{
    const char *h = hint(err->code);
    fprintf(stderr, "pyheapscope %s: %s", command, err->msg[0] ? err->msg : phs_status_describe(err->code));
    if (h)
        fprintf(stderr, " (hint: %s)", h);
    fputc('\n', stderr);
    return phs_status_exit_code(err->code);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "pyheapscope: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'pyheapscope --help'.\n");
    return phs_status_exit_code(PHS_USAGE);
}

static int parse_pid(const char *s, pid_t *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v <= 0 || v > 0x3fffffff)
        return -1;
    *out = (pid_t)v;
    return 0;
}

enum { OPT_JSON = 256, OPT_OFFSETS, OPT_OFFSETS_FILE, OPT_DEBUGINFO, OPT_PYVER, OPT_TOP, OPT_SORT,
       OPT_NONBLOCKING, OPT_INTERVAL, OPT_ITERATIONS, OPT_BATCH, OPT_KIND, OPT_MAX };

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"pid", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, OPT_JSON},
        {"offsets", required_argument, NULL, OPT_OFFSETS},
        {"offsets-file", required_argument, NULL, OPT_OFFSETS_FILE},
        {"debuginfo-path", required_argument, NULL, OPT_DEBUGINFO},
        {"output", required_argument, NULL, 'o'},
        {"python-version", required_argument, NULL, OPT_PYVER},
        {"top", required_argument, NULL, OPT_TOP},
        {"sort", required_argument, NULL, OPT_SORT},
        {"nonblocking", no_argument, NULL, OPT_NONBLOCKING},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"iterations", required_argument, NULL, OPT_ITERATIONS},
        {"batch", no_argument, NULL, OPT_BATCH},
        {"kind", required_argument, NULL, OPT_KIND},
        {"max", required_argument, NULL, OPT_MAX},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct cli_opts o;
    memset(&o, 0, sizeof o);
    o.top = -1;
    o.interval = 2.0;
    /* `top -- PROGRAM ARGS...`: what follows "--" is the program's, not ours. */
    char **cmd_argv = NULL;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            cmd_argv = argv + i + 1;
            argc = i;
            break;
        }
    int c;
    while ((c = getopt_long(argc, argv, "p:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (parse_pid(optarg, &o.pid) != 0)
                return usage_error("invalid PID '%s'", optarg);
            break;
        case OPT_JSON: o.json = 1; break;
        case OPT_OFFSETS:
            if (strcmp(optarg, "dwarf") == 0) o.attach.force = OFFSETS_DWARF;
            else if (strcmp(optarg, "debug-offsets") == 0) o.attach.force = OFFSETS_DEBUG_OFFSETS;
            else if (strcmp(optarg, "bundled") == 0) o.attach.force = OFFSETS_BUNDLED;
            else return usage_error("--offsets takes dwarf, debug-offsets or bundled, not '%s'", optarg);
            break;
        case OPT_OFFSETS_FILE: o.attach.offsets_file = optarg; break;
        case OPT_DEBUGINFO: o.attach.debuginfo_path = optarg; break;
        case 'o': o.output = optarg; break;
        case OPT_PYVER: o.python_version = optarg; break;
        case OPT_TOP: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || v < 0 || v > 1000000)
                return usage_error("--top takes a number of kinds (0 for all), not '%s'", optarg);
            o.top = (int)v;
            break;
        }
        case OPT_SORT:
            if (strcmp(optarg, "size") == 0) o.sort = GROWTH_BY_SIZE;
            else if (strcmp(optarg, "count") == 0) o.sort = GROWTH_BY_COUNT;
            else if (strcmp(optarg, "dsize") == 0) o.sort = GROWTH_BY_DSIZE;
            else if (strcmp(optarg, "dcount") == 0) o.sort = GROWTH_BY_DCOUNT;
            else if (strcmp(optarg, "name") == 0) o.sort = GROWTH_BY_NAME;
            else return usage_error("--sort takes size, count, dsize, dcount or name, not '%s'", optarg);
            break;
        case OPT_INTERVAL: {
            char *end;
            double v = strtod(optarg, &end);
            if (*optarg == '\0' || *end || !(v >= 0.1 && v <= 86400))
                return usage_error("--interval takes seconds between 0.1 and 86400, not '%s'", optarg);
            o.interval = v;
            break;
        }
        case OPT_ITERATIONS: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || v < 1)
                return usage_error("--iterations takes a positive number, not '%s'", optarg);
            o.iterations = v;
            break;
        }
        case OPT_BATCH: o.batch = 1; break;
        case OPT_KIND: o.kind = optarg; break;
        case OPT_MAX: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end || v < 1 || v > 10000)
                return usage_error("--max takes a number of paths from 1 to 10000, not '%s'", optarg);
            o.max = v;
            break;
        }
        case OPT_NONBLOCKING: o.nonblocking = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("pyheapscope %s\n", PYHEAPSCOPE_VERSION); return 0;
        default: return usage_error("%s", "bad option");
        }
    }
    char **args = argv + optind;
    int nargs = argc - optind;
    if (nargs == 0) {
        usage(stderr);
        return phs_status_exit_code(PHS_USAGE);
    }
    const char *command = args[0];
    if (strcmp(command, "summary") == 0 && o.sort > GROWTH_BY_COUNT)
        return usage_error("%s", "summary sorts by size or count");
    if (cmd_argv && strcmp(command, "top") != 0)
        return usage_error("%s", "only top takes a program after '--'");
    if (strcmp(command, "top") == 0) {
        if (cmd_argv) {
            if (!cmd_argv[0])
                return usage_error("%s", "nothing to start after '--'");
            if (o.pid || nargs > 1)
                return usage_error("%s", "top takes a PID or a program to start, not both");
            pause_install_signal_handlers();
            return cmd_top(&o, cmd_argv);
        }
        if (nargs > 2)
            return usage_error("top takes one PID, got '%s' too (to start a program: top -- PROGRAM ARGS)", args[2]);
        if (nargs == 2 && parse_pid(args[1], &o.pid) != 0)
            return usage_error("invalid PID '%s'", args[1]);
        if (o.pid == 0)
            return usage_error("%s", "top needs a PID, or a program: pyheapscope top -- python3 app.py");
        pause_install_signal_handlers();
        return cmd_top(&o, NULL);
    }
    if (strcmp(command, "summary") == 0 && nargs == 2 && !o.pid && parse_pid(args[1], &o.pid) != 0)
        return cmd_summary_file(&o, args[1]);        /* a dump, not a PID */
    if (strcmp(command, "advise") == 0 && nargs == 2 && !o.pid && parse_pid(args[1], &o.pid) != 0)
        return cmd_advise_file(&o, args[1]);
    if (strcmp(command, "diff") == 0) {
        if (nargs != 3)
            return usage_error("%s", "usage: pyheapscope diff BEFORE.jsonl AFTER.jsonl");
        return cmd_diff(&o, args[1], args[2]);
    }
    if (strcmp(command, "retained") == 0) {
        if (nargs < 2 || nargs > 3)
            return usage_error("%s", "usage: pyheapscope retained FILE [ADDRESS] [--top N] [--json]");
        return cmd_retained(&o, args[1], nargs == 3 ? args[2] : NULL);
    }
    if (strcmp(command, "paths") == 0) {
        if (nargs < 2 || nargs > 3)
            return usage_error("%s", "usage: pyheapscope paths FILE ADDRESS | paths FILE --kind KIND [--max N]");
        return cmd_paths(&o, args[1], nargs == 3 ? args[2] : NULL);
    }
    if (strcmp(command, "dump") == 0) {
        if (nargs > 2)
            return usage_error("dump takes one PID, got '%s' too", args[2]);
        if (nargs == 2 && parse_pid(args[1], &o.pid) != 0)
            return usage_error("invalid PID '%s'", args[1]);
        if (o.pid == 0)
            return usage_error("%s", "dump needs a PID: pyheapscope dump PID -o heap.jsonl.gz");
        if (!o.output)
            return usage_error("%s", "dump needs -o FILE (FILE.gz to compress, - for stdout)");
        pause_install_signal_handlers();
        return cmd_dump(&o);
    }
    if (strcmp(command, "info") == 0 || strcmp(command, "summary") == 0 || strcmp(command, "advise") == 0) {
        if (nargs > 2)
            return usage_error("this command takes one PID, got '%s' too", args[2]);
        if (nargs == 2 && parse_pid(args[1], &o.pid) != 0)
            return usage_error("invalid PID '%s'", args[1]);
        if (o.pid == 0)
            return usage_error("%s needs a PID: pyheapscope COMMAND PID", command);
        pause_install_signal_handlers();
        return command[0] == 'i' ? cmd_info(&o) : command[0] == 'a' ? cmd_advise(&o) : cmd_summary(&o);
    }
    if (strcmp(command, "symbols") == 0) {
        if (nargs != 3 || strcmp(args[1], "generate") != 0)
            return usage_error("%s", "usage: pyheapscope symbols generate LIBPYTHON [-o FILE]");
        return cmd_symbols_generate(&o, args[2]);
    }
    if (strcmp(command, "help") == 0) {
        usage(stdout);
        return 0;
    }
    return usage_error("unknown command '%s'", command);
}
