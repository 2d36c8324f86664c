/* summary.c - `pyheapscope summary`: the heap as a histogram of kinds, in
 * the spirit of guppy3's hpy().heap() and `jmap -histo`.
 * Front end: takes the heap from the heap layer and the histogram from the
 * analysis layer, and only formats them. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pyheapscope/dumpfile.h"
#include "pyheapscope/growth.h"
#include "pyheapscope/histogram.h"
#include "pyheapscope/json.h"

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Where the heap came from: a live process, or a dump file. */
static void print_text(const struct cli_opts *o, const struct cli_origin *p, const struct heap *h,
                       const struct heap_timing *tm, const struct histogram *hg)
{
    char objs[32], bytes[32], extra[32], copied[32];
    cli_format_count(hg->count, objs, sizeof objs);
    cli_format_bytes(hg->bytes, bytes, sizeof bytes);
    cli_format_bytes(hg->extra_bytes, extra, sizeof extra);
    cli_format_bytes(tm->bytes_copied, copied, sizeof copied);
    if (p->dump)
        printf("Dump %s (process %lld at %s), ", p->dump, (long long)p->pid, p->time);
    printf("Process %lld, Python %s: %s objects, %s", (long long)p->pid, p->version, objs, bytes);
    if (hg->extra_bytes)
        printf(" (+ %s of attribute values that sys.getsizeof leaves out)", extra);
    printf("\n");
    if (p->dump)
        printf("Snapshot: copy of %s %.0f ms, walk %.0f ms; ", copied, (double)tm->copy_ns / 1e6,
               (double)tm->walk_ns / 1e6);
    else
        printf("Snapshot %.0f ms (copy of %s %.0f ms, walk %.0f ms); ", (double)tm->total_ns / 1e6, copied,
               (double)tm->copy_ns / 1e6, (double)tm->walk_ns / 1e6);
    if (tm->paused && p->dump)
        printf("target paused %.1f ms\n", (double)tm->pause_ns / 1e6);
    else if (tm->paused)
        printf("target paused %.1f ms (%zu thread%s)\n", (double)tm->pause_ns / 1e6, tm->threads_paused,
               tm->threads_paused == 1 ? "" : "s");
    else
        printf("target not paused (--nonblocking): %" PRIu64 " inconsistencies skipped\n",
               h->stats.bad_pointers + h->stats.bad_gc_links + h->stats.bad_objects);
    if (p->dump)
        printf("Sizes are sys.getsizeof\n\n");
    else
        printf("GC lists %" PRIu64 " objects (permanent generation %" PRIu64 "); sizes are sys.getsizeof\n\n",
               h->stats.gc_objects, h->stats.permanent_objects);
    printf("%5s %11s %5s %11s %5s %11s %5s  %s\n", "Index", "Count", "%", "Size", "%", "Cumulative", "%", "Kind");
    uint64_t cumulative = 0;
    size_t top = o->top < 0 ? 20 : (size_t)o->top;     /* text default: the 20 largest */
    size_t shown = top > 0 && top < hg->n ? top : hg->n;
    for (size_t i = 0; i < hg->n; i++) {
        const struct histo_row *r = &hg->rows[i];
        cumulative += r->bytes;
        if (i >= shown)
            continue;
        char count[32], size[32], cum[32];
        cli_format_count(r->count, count, sizeof count);
        cli_format_bytes(r->bytes, size, sizeof size);
        cli_format_bytes(cumulative, cum, sizeof cum);
        printf("%5zu %11s %5.1f %11s %5.1f %11s %5.1f  %s\n", i, count, pct(r->count, hg->count), size,
               pct(r->bytes, hg->bytes), cum, pct(cumulative, hg->bytes), r->kind);
    }
    if (shown < hg->n) {
        uint64_t rest_count = 0, rest_bytes = 0;
        for (size_t i = shown; i < hg->n; i++) {
            rest_count += hg->rows[i].count;
            rest_bytes += hg->rows[i].bytes;
        }
        char count[32], size[32];
        cli_format_count(rest_count, count, sizeof count);
        cli_format_bytes(rest_bytes, size, sizeof size);
        printf("<%zu more kinds: %s objects, %s; --top 0 shows all>\n", hg->n - shown, count, size);
    }
}

static void print_json(const struct cli_opts *o, const struct cli_origin *p, const struct heap *h,
                       const struct heap_timing *tm, const struct histogram *hg)
{
    struct json j;
    json_init(&j, stdout, 1);
    json_object_begin(&j, NULL);
    cli_origin_json(&j, p);
    json_uint(&j, "objects", hg->count);
    json_uint(&j, "bytes", hg->bytes);
    json_uint(&j, "extra_bytes", hg->extra_bytes);
    json_uint(&j, "gc_objects", h->stats.gc_objects);
    json_uint(&j, "permanent_objects", h->stats.permanent_objects);
    json_object_begin(&j, "snapshot");
    json_bool(&j, "paused", tm->paused);
    json_uint(&j, "threads_paused", tm->threads_paused);
    json_uint(&j, "pause_ns", tm->pause_ns);
    json_uint(&j, "prepare_ns", tm->prepare_ns);
    json_uint(&j, "copy_ns", tm->copy_ns);
    json_uint(&j, "walk_ns", tm->walk_ns);
    json_uint(&j, "walk_gc_lists_ns", h->stats.seed_ns);
    json_uint(&j, "total_ns", tm->total_ns);
    json_uint(&j, "bytes_copied", tm->bytes_copied);
    json_uint(&j, "regions_not_copied", tm->failed_regions);
    json_uint(&j, "collection_retries", tm->collection_retries);
    json_uint(&j, "midway_retries", tm->midway_retries);
    json_object_end(&j);
    json_object_begin(&j, "inconsistencies");
    json_uint(&j, "bad_pointers", h->stats.bad_pointers);
    json_uint(&j, "bad_gc_links", h->stats.bad_gc_links);
    json_uint(&j, "bad_objects", h->stats.bad_objects);
    json_object_end(&j);
    json_uint(&j, "conservative_scans", h->stats.conservative_scans);
    json_uint(&j, "target_reads", p->target_reads);
    json_string(&j, "sort", o->sort == GROWTH_BY_COUNT ? "count" : "size");
    json_array_begin(&j, "kinds");
    size_t shown = o->top > 0 && (size_t)o->top < hg->n ? (size_t)o->top : hg->n;
    for (size_t i = 0; i < shown; i++) {
        const struct histo_row *r = &hg->rows[i];
        json_object_begin(&j, NULL);
        json_string(&j, "kind", r->kind);
        json_uint(&j, "count", r->count);
        json_uint(&j, "bytes", r->bytes);
        json_uint(&j, "extra_bytes", r->extra_bytes);
        json_uint(&j, "gc_objects", r->gc_objects);
        json_uint(&j, "permanent", r->permanent);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

static void print_histogram(const struct cli_opts *o, const struct cli_origin *from, const struct heap *h,
                            const struct heap_timing *tm, struct histogram *hg)
{
    histogram_sort(hg, o->sort == GROWTH_BY_COUNT ? HISTO_BY_COUNT : HISTO_BY_SIZE);
    if (o->json)
        print_json(o, from, h, tm, hg);
    else
        print_text(o, from, h, tm, hg);
}

int cmd_summary(const struct cli_opts *o)
{
    struct phs_error err;
    memset(&err, 0, sizeof err);
    struct cli_live l;
    struct histogram hg;
    enum phs_status st = cli_live_take(o, &l, &err);
    if (st == PHS_OK)
        st = histogram_build(&l.h, &hg, &err);
    if (st == PHS_OK) {
        struct cli_origin from = {.pid = l.p.pid, .version = l.p.version, .target_reads = l.p.mem->reads};
        print_histogram(o, &from, &l.h, &l.tm, &hg);
        histogram_done(&hg);
    }
    cli_live_done(&l);
    return st == PHS_OK ? 0 : cli_fail("summary", &err);
}

int cmd_summary_file(const struct cli_opts *o, const char *path)
{
    struct phs_error err;
    memset(&err, 0, sizeof err);
    struct dump_header hd;
    struct heap h;
    struct histogram hg;
    if (dumpfile_read(path, &hd, &h, &err) != PHS_OK)
        return cli_fail("summary", &err);
    enum phs_status st = histogram_build(&h, &hg, &err);
    if (st == PHS_OK) {
        struct heap_timing tm = {.paused = hd.paused, .pause_ns = hd.pause_ns, .copy_ns = hd.copy_ns,
                                 .walk_ns = hd.walk_ns, .bytes_copied = hd.bytes_copied};
        struct cli_origin from = {.pid = hd.pid, .version = hd.python_version, .dump = path, .time = hd.time};
        print_histogram(o, &from, &h, &tm, &hg);
        histogram_done(&hg);
    }
    heap_done(&h);
    return st == PHS_OK ? 0 : cli_fail("summary", &err);
}
