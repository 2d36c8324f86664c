/* top.c - `pyheapscope top`: the controller of the live view. Takes a
 * snapshot every interval (reusing one snapshot buffer), feeds the growth
 * model, and hands a frame to a view: the batch view here (plain text or
 * one JSON object per line), or the curses screen (top_screen.c).
 * It can also start the program to watch (`top -- python3 app.py`).
 * Front end: reads the target only through the heap and target layers. */
#define _GNU_SOURCE
#include "cli.h"
#include "top.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pyheapscope/json.h"

static void sleep_seconds(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- the session: attach, refresh ---- */

enum phs_status top_refresh(struct top_session *t, struct phs_error *err)
{
    struct heap h;
    struct heap_timing tm;
    struct histogram hg;
    uint64_t now = monotonic_ns();
    enum phs_status st = heap_take(&t->p, t->snap, t->nonblocking, &h, &tm, err);
    if (st != PHS_OK)
        return st;
    st = histogram_build(&h, &hg, err);
    if (st == PHS_OK) {
        st = growth_update(&t->growth, &hg, err);
        histogram_done(&hg);
    }
    if (st == PHS_OK) {
        t->elapsed = t->last_ns ? (double)(now - t->last_ns) / 1e9 : 0;
        t->last_ns = now;
        t->timing = tm;
        memcpy(t->gen_objects, h.stats.gen_objects, sizeof t->gen_objects);
        t->permanent_objects = h.stats.permanent_objects;
        target_usage(t->p.pid, &t->usage, NULL);
        t->wall = time(NULL);
        heap_done(&t->heap);
        t->heap = h;           /* kept for drill-down until the next refresh */
    } else {
        heap_done(&h);
    }
    return st;
}

enum phs_status top_open(struct top_session *t, const struct cli_opts *o, struct phs_error *err)
{
    memset(t, 0, sizeof *t);
    growth_init(&t->growth);
    t->nonblocking = o->nonblocking;
    t->snap = heap_snapshot_early(o->pid);
    if (!t->snap)
        return phs_error_set(err, PHS_INTERNAL, ENOMEM, "out of memory");
    enum phs_status st = py_attach(o->pid, &o->attach, &t->p, err);
    if (st != PHS_OK)
        return st;
    t->attached = 1;
    target_cmdline(o->pid, t->cmdline, sizeof t->cmdline, NULL);
    snapshot_set_live(t->snap, t->p.mem);
    return PHS_OK;
}

void top_close(struct top_session *t)
{
    heap_done(&t->heap);
    growth_done(&t->growth);
    snapshot_free(t->snap);
    if (t->attached)
        py_process_done(&t->p);
    memset(t, 0, sizeof *t);
}

/* ---- starting the program to watch ---- */

static pid_t spawned;

static void stop_spawned(void)
{
    if (spawned > 0) {
        kill(spawned, SIGTERM);
        waitpid(spawned, NULL, 0);
        spawned = 0;
    }
}

/* Start argv and wait until it is a Python process with an interpreter
 * (up to 30 s). Returns its pid, or 0 with err filled. */
static pid_t spawn_and_wait(char **argv, const struct cli_opts *o, struct phs_error *err)
{
    pid_t pid = fork();
    if (pid < 0) {
        phs_error_set(err, PHS_IO, errno, "cannot start %s: %s", argv[0], strerror(errno));
        return 0;
    }
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "pyheapscope top: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    spawned = pid;
    atexit(stop_spawned);
    for (int i = 0; i < 300; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            spawned = 0;
            phs_error_set(err, PHS_EXITED, 0, "%s exited before it could be watched (status %d)", argv[0],
                          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            return 0;
        }
        struct py_process p;
        struct phs_error e = {0};
        if (py_attach(pid, &o->attach, &p, &e) == PHS_OK) {
            struct py_state s;
            enum phs_status st = py_read_state(&p, &s, &e);
            if (st == PHS_OK)
                py_state_done(&s);
            py_process_done(&p);
            if (st == PHS_OK)
                return pid;
        } else if (e.code == PHS_UNSUPPORTED || e.code == PHS_PERMISSION) {
            *err = e;
            return 0;
        }
        sleep_seconds(0.1);
    }
    phs_error_set(err, PHS_NOT_PYTHON, 0, "%s (pid %d) did not become a Python process within 30 s", argv[0],
                  (int)pid);
    return 0;
}

/* ---- the batch view ---- */

void top_format_uptime(double seconds, char *out, size_t cap)
{
    long s = seconds > 0 ? (long)seconds : 0;
    if (s >= 86400)
        snprintf(out, cap, "%ldd %02ld:%02ld:%02ld", s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    else
        snprintf(out, cap, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

static void batch_text(const struct top_session *t, const struct cli_opts *o)
{
    const struct growth *g = &t->growth;
    char tbuf[32], up[32], rss[32], objs[32], bytes[32], dobjs[32], dbytes[32];
    strftime(tbuf, sizeof tbuf, "%H:%M:%S", localtime(&t->wall));
    top_format_uptime(t->usage.uptime_seconds, up, sizeof up);
    cli_format_bytes(t->usage.rss_bytes, rss, sizeof rss);
    cli_format_count(g->count, objs, sizeof objs);
    cli_format_bytes(g->bytes, bytes, sizeof bytes);
    cli_format_signed_count(g->dcount, dobjs, sizeof dobjs);
    cli_format_signed_bytes(g->dbytes, dbytes, sizeof dbytes);
    printf("pyheapscope top - %s  pid %d  %s\n", tbuf, (int)t->p.pid, t->cmdline);
    printf("Python %s, up %s, RSS %s; heap %s objects, %s (%s objects, %s in %.1f s)\n", t->p.version, up, rss,
           objs, bytes, dobjs, dbytes, t->elapsed);
    printf("GC gen0 %" PRIu64 ", gen1 %" PRIu64 ", gen2 %" PRIu64 ", permanent %" PRIu64
           "; snapshot %.0f ms, %s %.1f ms\n\n",
           t->gen_objects[0], t->gen_objects[1], t->gen_objects[2], t->permanent_objects,
           (double)t->timing.total_ns / 1e6, t->timing.paused ? "paused" : "not paused",
           (double)t->timing.pause_ns / 1e6);
    printf("%11s %10s %11s %11s %6s %9s  %s\n", "COUNT", "DCOUNT", "SIZE", "DSIZE", "%HEAP", "AVG", "KIND");
    size_t top = o->top < 0 ? 20 : (size_t)o->top;
    size_t shown = top && top < g->n ? top : g->n;
    for (size_t i = 0; i < shown; i++) {
        const struct growth_row *r = &g->rows[i];
        char c[32], dc[32], s[32], ds[32], avg[32];
        cli_format_count(r->count, c, sizeof c);
        cli_format_signed_count(r->dcount, dc, sizeof dc);
        cli_format_bytes(r->bytes, s, sizeof s);
        cli_format_signed_bytes(r->dbytes, ds, sizeof ds);
        cli_format_bytes(r->count ? r->bytes / r->count : 0, avg, sizeof avg);
        printf("%11s %10s %11s %11s %6.1f %9s  %s\n", c, dc, s, ds,
               g->bytes ? 100.0 * (double)r->bytes / (double)g->bytes : 0.0, avg, r->kind);
    }
    printf("\n");
    fflush(stdout);
}

static void batch_json(const struct top_session *t, const struct cli_opts *o)
{
    const struct growth *g = &t->growth;
    struct json j;
    json_init(&j, stdout, 0);
    json_object_begin(&j, NULL);
    json_uint(&j, "refresh", g->refreshes);
    json_int(&j, "time", (int64_t)t->wall);
    json_int(&j, "pid", t->p.pid);
    json_string(&j, "cmdline", t->cmdline);
    json_string(&j, "python_version", t->p.version);
    json_int(&j, "uptime_seconds", (int64_t)t->usage.uptime_seconds);
    json_uint(&j, "rss_bytes", t->usage.rss_bytes);
    json_int(&j, "elapsed_ms", (int64_t)(t->elapsed * 1000));
    json_uint(&j, "objects", g->count);
    json_uint(&j, "bytes", g->bytes);
    json_int(&j, "dobjects", g->dcount);
    json_int(&j, "dbytes", g->dbytes);
    json_array_begin(&j, "gc_generations");
    for (int i = 0; i < 3; i++)
        json_uint(&j, NULL, t->gen_objects[i]);
    json_array_end(&j);
    json_uint(&j, "permanent_objects", t->permanent_objects);
    json_object_begin(&j, "snapshot");
    json_bool(&j, "paused", t->timing.paused);
    json_uint(&j, "pause_ns", t->timing.pause_ns);
    json_uint(&j, "total_ns", t->timing.total_ns);
    json_object_end(&j);
    json_array_begin(&j, "kinds");
    size_t shown = o->top > 0 && (size_t)o->top < g->n ? (size_t)o->top : g->n;
    for (size_t i = 0; i < shown; i++) {
        const struct growth_row *r = &g->rows[i];
        json_object_begin(&j, NULL);
        json_string(&j, "kind", r->kind);
        json_uint(&j, "count", r->count);
        json_int(&j, "dcount", r->dcount);
        json_uint(&j, "bytes", r->bytes);
        json_int(&j, "dbytes", r->dbytes);
        json_int(&j, "scount", r->scount);
        json_int(&j, "sbytes", r->sbytes);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
    fflush(stdout);
}

static int run_batch(struct top_session *t, const struct cli_opts *o)
{
    struct phs_error err = {0};
    for (long i = 0; o->iterations <= 0 || i < o->iterations; i++) {
        uint64_t t0 = monotonic_ns();
        enum phs_status st = top_refresh(t, &err);
        if (st != PHS_OK) {
            if (target_check_alive(t->p.pid, NULL) != PHS_OK)
                phs_error_set(&err, PHS_EXITED, 0, "process %d exited", (int)t->p.pid);
            return cli_fail("top", &err);
        }
        growth_sort(&t->growth, (enum growth_sort)o->sort, 0);
        if (o->json)
            batch_json(t, o);
        else
            batch_text(t, o);
        if (o->iterations > 0 && i + 1 >= o->iterations)
            break;
        sleep_seconds(o->interval - (double)(monotonic_ns() - t0) / 1e9);
    }
    return 0;
}

int cmd_top(struct cli_opts *o, char **cmd_argv)
{
    struct phs_error err = {0};
    if (cmd_argv) {
        o->pid = spawn_and_wait(cmd_argv, o, &err);
        if (!o->pid)
            return cli_fail("top", &err);
    }
    struct top_session t;
    if (top_open(&t, o, &err) != PHS_OK) {
        top_close(&t);
        return cli_fail("top", &err);
    }
    int rc = o->batch || o->json ? run_batch(&t, o) : top_screen_run(&t, o);
    top_close(&t);
    stop_spawned();
    return rc;
}
