/* info.c - `pyheapscope info`: what the target runs and how we read it.
 * Front end: gets everything from the runtime layer, only formats it. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pyheapscope/json.h"
#include "pyheapscope/target.h"

struct info {
    const struct py_process *p;
    const struct py_state *s;
    struct py_pause_stats pause;
};

static const char *linkage(const struct py_process *p)
{
    return p->libpython[0] ? "shared libpython" : "static (libpython linked into the executable)";
}

static void print_gc(const struct py_gc *gc)
{
    if (!gc->present) {
        printf("  GC             shared with the main interpreter\n");
        return;
    }
    printf("  GC             generation   objects     count  threshold\n");
    for (int g = 0; g < 3; g++)
        printf("                 %-10d %9" PRIu64 " %9" PRId64 " %10" PRId64 "\n", g, gc->gen[g].objects,
               gc->gen[g].count, gc->gen[g].threshold);
    printf("                 %-10s %9" PRIu64 "\n", "permanent", gc->permanent_objects);
    if (gc->incremental)
        printf("                 incremental collector (3.14 before its revert): generation 2 holds both old\n"
               "                 spaces, generation 1 none; the visited space is old[%d]\n", gc->visited_space);
    printf("                 collection running: %s\n", gc->collecting ? "yes" : "no");
}

static void print_text(const struct info *in)
{
    const struct py_process *p = in->p;
    printf("Process        %d\n", (int)p->pid);
    printf("Python         %s (from %s)\n", p->version, p->version_source);
    printf("Executable     %s\n", p->exe);
    printf("libpython      %s\n", p->libpython[0] ? p->libpython : "(none: linked into the executable)");
    printf("Build          %s, %s, debug info %s\n", linkage(p), p->elf.has_symtab ? "not stripped" : "stripped",
           p->debug_file[0] ? p->debug_file : "not used");
    printf("_PyRuntime     0x%" PRIx64 " in %s\n", p->runtime_addr, p->elf.path);
    printf("Offsets        %s: %s\n", offsets_source_name(p->off.source), p->off.origin);
    if (p->offsets_notes[0])
        printf("               %s\n", p->offsets_notes);
    printf("Paused         %zu thread%s for %.3f ms", in->pause.threads, in->pause.threads == 1 ? "" : "s",
           (double)in->pause.pause_ns / 1e6);
    if (in->pause.retries)
        printf(" (looked %u more time%s: stopped inside a list splice)", in->pause.retries,
               in->pause.retries == 1 ? "" : "s");
    printf("\n");
    for (size_t i = 0; i < in->s->ninterps; i++) {
        const struct py_interp *it = &in->s->interps[i];
        printf("\nInterpreter %" PRId64 " at 0x%" PRIx64 "%s, %zu thread%s\n", it->id, it->addr,
               it->is_main ? " (main)" : "", it->nthreads, it->nthreads == 1 ? "" : "s");
        for (size_t t = 0; t < it->nthreads; t++) {
            printf("  thread         %" PRIu64, it->threads[t].thread_id);
            if (it->threads[t].native_thread_id >= 0)
                printf(" (native %" PRId64 ")", it->threads[t].native_thread_id);
            printf("\n");
        }
        print_gc(&it->gc);
    }
}

static void json_gc(struct json *j, const struct py_gc *gc)
{
    if (!gc->present) {
        json_null(j, "gc");
        return;
    }
    json_object_begin(j, "gc");
    json_array_begin(j, "generations");
    for (int g = 0; g < 3; g++) {
        json_object_begin(j, NULL);
        json_uint(j, "objects", gc->gen[g].objects);
        json_int(j, "count", gc->gen[g].count);
        json_int(j, "threshold", gc->gen[g].threshold);
        json_object_end(j);
    }
    json_array_end(j);
    json_object_begin(j, "permanent");
    json_uint(j, "objects", gc->permanent_objects);
    json_object_end(j);
    json_bool(j, "collecting", gc->collecting);
    json_bool(j, "incremental", gc->incremental);
    if (gc->incremental)
        json_int(j, "visited_space", gc->visited_space);
    json_object_end(j);
}

static void print_json(const struct info *in)
{
    const struct py_process *p = in->p;
    struct json j;
    json_init(&j, stdout, 1);
    json_object_begin(&j, NULL);
    json_int(&j, "pid", p->pid);
    json_string(&j, "python_version", p->version);
    json_uint(&j, "version_hex", p->version_hex);
    json_string(&j, "version_source", p->version_source);
    json_string(&j, "executable", p->exe);
    json_string(&j, "libpython", p->libpython[0] ? p->libpython : NULL);
    json_object_begin(&j, "build");
    json_string(&j, "linkage", p->libpython[0] ? "shared" : "static");
    json_bool(&j, "stripped", !p->elf.has_symtab);
    json_string(&j, "debug_info", p->debug_file[0] ? p->debug_file : NULL);
    json_string(&j, "build_id", p->elf.build_id[0] ? p->elf.build_id : NULL);
    json_object_end(&j);
    json_uint(&j, "runtime_address", p->runtime_addr);
    json_object_begin(&j, "offsets");
    json_string(&j, "source", offsets_source_name(p->off.source));
    json_string(&j, "origin", p->off.origin);
    json_string(&j, "notes", p->offsets_notes);
    json_object_end(&j);
    json_object_begin(&j, "pause");
    json_uint(&j, "threads", in->pause.threads);
    json_uint(&j, "nanoseconds", in->pause.pause_ns);
    json_uint(&j, "midway_retries", in->pause.retries);
    json_object_end(&j);
    json_uint(&j, "target_reads", p->mem->reads);
    json_array_begin(&j, "interpreters");
    for (size_t i = 0; i < in->s->ninterps; i++) {
        const struct py_interp *it = &in->s->interps[i];
        json_object_begin(&j, NULL);
        json_int(&j, "id", it->id);
        json_bool(&j, "main", it->is_main);
        json_uint(&j, "address", it->addr);
        json_array_begin(&j, "threads");
        for (size_t t = 0; t < it->nthreads; t++) {
            json_object_begin(&j, NULL);
            json_uint(&j, "thread_id", it->threads[t].thread_id);
            if (it->threads[t].native_thread_id >= 0)
                json_int(&j, "native_thread_id", it->threads[t].native_thread_id);
            else
                json_null(&j, "native_thread_id");
            json_object_end(&j);
        }
        json_array_end(&j);
        json_gc(&j, &it->gc);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

int cmd_info(const struct cli_opts *o)
{
    struct phs_error err;
    memset(&err, 0, sizeof err);
    struct py_process p;
    if (py_attach(o->pid, &o->attach, &p, &err) != PHS_OK)
        return cli_fail("info", &err);
    struct py_state s;
    struct py_pause_stats ps;
    enum phs_status st = py_read_state_paused(&p, &s, &ps, &err);
    if (st != PHS_OK) {
        py_process_done(&p);
        return cli_fail("info", &err);
    }
    struct info in = {&p, &s, ps};
    if (o->json)
        print_json(&in);
    else
        print_text(&in);
    py_state_done(&s);
    py_process_done(&p);
    return 0;
}
