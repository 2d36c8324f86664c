/* advise.c - `pyheapscope advise PID|FILE`: the waste findings (advise.h)
 * as text, most saving first under a one-line total, or as one JSON
 * object. Front end: takes the heap through the heap layer (a process) or
 * reads it back from a dump (dumpheap.h); never reads target memory
 * itself. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "pyheapscope/advise.h"
#include "pyheapscope/dumpheap.h"
#include "pyheapscope/heap.h"
#include "pyheapscope/json.h"


#define DEFAULT_GROUPS 10

static void finding_title(const struct advice_finding *f, char *out, size_t cap)
{
    switch (f->kind) {
    case ADVICE_DUPLICATES: snprintf(out, cap, "duplicate %s values", f->type); break;
    case ADVICE_RECORDS: snprintf(out, cap, "record-like dicts"); break;
    case ADVICE_NO_SLOTS: snprintf(out, cap, "instances without __slots__"); break;
    case ADVICE_IDENTICAL: snprintf(out, cap, "identical instances"); break;
    default: snprintf(out, cap, "%s %ss", advice_kind_name(f->kind), f->type); break;
    }
}

/* What a group's objects are called in its line. */
static const char *group_noun(const struct advice_finding *f)
{
    switch (f->kind) {
    case ADVICE_DUPLICATES: return "copies";
    case ADVICE_RECORDS: return "dicts";
    default: return "instances";
    }
}

static void print_group(const struct advice_finding *f, const struct advice_group *v)
{
    char saved[32], count[32], as[32], as2[32];
    cli_format_count(v->objects, count, sizeof count);
    cli_format_bytes(v->saving, saved, sizeof saved);
    printf("   %10s  %8s %s x %" PRIu64 " B  %s  (e.g. 0x%" PRIx64 ")\n", saved, count, group_noun(f), v->size,
           v->value, v->examples[0]);
    if (f->kind == ADVICE_RECORDS) {
        cli_format_bytes(v->as_slots, as, sizeof as);
        cli_format_bytes(v->as_tuple, as2, sizeof as2);
        cli_format_bytes(v->bytes, count, sizeof count);
        printf("               %s now; as __slots__ instances %s, as namedtuples or tuples %s\n", count, as, as2);
    } else if (f->kind == ADVICE_NO_SLOTS) {
        cli_format_bytes(v->as_slots, as, sizeof as);
        cli_format_bytes(v->bytes, count, sizeof count);
        printf("               %s now with their __dict__s; with __slots__ %s\n", count, as);
    }
}

static void print_text(const struct cli_origin *src, const struct advice *a, size_t groups)
{
    char b1[32], b2[32], b3[32];
    cli_format_bytes(a->saving, b1, sizeof b1);
    cli_format_bytes(a->heap_bytes, b2, sizeof b2);
    cli_format_count(a->heap_objects, b3, sizeof b3);
    char from[1024];
    cli_origin_describe(src, from, sizeof from);
    printf("pyheapscope advise: %s, %s objects, %s\n", from, b3, b2);
    if (!a->n) {
        printf("nothing to save found\n");
        return;
    }
    printf("about %s of %s could be saved:", b1, b2);
    for (size_t i = 0; i < a->n && i < 4; i++) {
        char title[96];
        finding_title(&a->findings[i], title, sizeof title);
        cli_format_bytes(a->findings[i].saving, b1, sizeof b1);
        printf("%s %s %s", i ? "," : "", b1, title);
    }
    printf("%s\n", a->n > 4 ? ", ..." : "");
    for (size_t i = 0; i < a->n; i++) {
        const struct advice_finding *f = &a->findings[i];
        char title[96];
        finding_title(f, title, sizeof title);
        cli_format_count(f->objects, b3, sizeof b3);
        cli_format_bytes(f->bytes, b2, sizeof b2);
        cli_format_bytes(f->saving, b1, sizeof b1);
        printf("\n%zu. %s: %s objects, %s now, %s saved\n", i + 1, title, b3, b2, b1);
        printf("   fix: %s\n", advice_fix(f->kind, f->type));
        if (f->groups) {
            for (size_t g = 0; g < f->ngroups && g < groups; g++)
                print_group(f, &f->groups[g]);
            if (f->total_groups > f->ngroups || f->total_groups > groups)
                printf("   ... %" PRIu64 " %s in all (--top N lists more)\n", f->total_groups,
                       f->kind == ADVICE_DUPLICATES ? "values" : "groups");
        } else {
            printf("   e.g.");
            for (size_t k = 0; k < ADVICE_EXAMPLES && k < f->objects; k++)
                printf(" 0x%" PRIx64, f->examples[k]);
            printf("\n");
        }
    }
}

static void print_json(const struct cli_origin *src, const struct advice *a)
{
    struct json j;
    json_init(&j, stdout, 1);
    json_object_begin(&j, NULL);
    cli_origin_json(&j, src);
    json_uint(&j, "objects", a->heap_objects);
    json_uint(&j, "bytes", a->heap_bytes);
    json_uint(&j, "saving", a->saving);
    json_array_begin(&j, "findings");
    for (size_t i = 0; i < a->n; i++) {
        const struct advice_finding *f = &a->findings[i];
        char hex[32];
        json_object_begin(&j, NULL);
        json_string(&j, "finding", advice_kind_key(f->kind));
        json_string(&j, "type", f->type);
        json_uint(&j, "objects", f->objects);
        json_uint(&j, "bytes", f->bytes);
        json_uint(&j, "saving", f->saving);
        json_string(&j, "fix", advice_fix(f->kind, f->type));
        json_array_begin(&j, "examples");
        for (size_t k = 0; k < ADVICE_EXAMPLES && k < f->objects; k++) {
            snprintf(hex, sizeof hex, "0x%" PRIx64, f->examples[k]);
            json_string(&j, NULL, hex);
        }
        json_array_end(&j);
        if (f->groups) {
            json_uint(&j, "values", f->total_groups);
            json_array_begin(&j, "groups");
            for (size_t g = 0; g < f->ngroups; g++) {
                const struct advice_group *v = &f->groups[g];
                json_object_begin(&j, NULL);
                json_string(&j, "value", v->value);
                json_uint(&j, "copies", v->objects);
                json_uint(&j, "size", v->size);
                json_uint(&j, "bytes", v->bytes);
                json_uint(&j, "saving", v->saving);
                if (f->kind == ADVICE_RECORDS || f->kind == ADVICE_NO_SLOTS) {
                    json_uint(&j, "fields", v->fields);
                    json_uint(&j, "as_slots", v->as_slots);
                }
                if (f->kind == ADVICE_RECORDS) {
                    json_uint(&j, "as_namedtuple", v->as_tuple);
                    json_uint(&j, "as_tuple", v->as_tuple);
                }
                json_array_begin(&j, "examples");
                for (size_t k = 0; k < ADVICE_EXAMPLES && k < v->objects; k++) {
                    snprintf(hex, sizeof hex, "0x%" PRIx64, v->examples[k]);
                    json_string(&j, NULL, hex);
                }
                json_array_end(&j);
                json_object_end(&j);
            }
            json_array_end(&j);
        }
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_finish(&j);
}

/* Text lists --top groups per finding (default 10); JSON all of them
 * unless --top says otherwise. */
static size_t groups_shown(const struct cli_opts *o)
{
    return o->top > 0 ? (size_t)o->top : o->top == 0 || o->json ? (size_t)-1 : DEFAULT_GROUPS;
}

/* Build the advice on h and print it. */
static enum phs_status advise_print(const struct cli_opts *o, const struct cli_origin *src, struct heap *h,
                                    struct phs_error *err)
{
    struct advice a;
    size_t groups = groups_shown(o);
    enum phs_status st = advise_build(h, groups, &a, err);
    if (st != PHS_OK)
        return st;
    if (o->json)
        print_json(src, &a);
    else
        print_text(src, &a, groups);
    advice_done(&a);
    return PHS_OK;
}

int cmd_advise(const struct cli_opts *o)
{
    struct phs_error err;
    memset(&err, 0, sizeof err);
    struct cli_live l;
    enum phs_status st = cli_live_take(o, &l, &err);
    if (st == PHS_OK) {
        struct cli_origin src = {.pid = l.p.pid, .version = l.p.version};
        st = advise_print(o, &src, &l.h, &err);
    }
    cli_live_done(&l);
    return st == PHS_OK ? 0 : cli_fail("advise", &err);
}

int cmd_advise_file(const struct cli_opts *o, const char *path)
{
    struct phs_error err;
    memset(&err, 0, sizeof err);
    struct dump_header hd;
    struct heap h;
    enum phs_status st = dumpheap_load(path, &hd, &h, &err);
    if (st == PHS_OK) {
        struct cli_origin src = {.pid = hd.pid, .version = hd.python_version, .dump = path, .time = hd.time};
        st = advise_print(o, &src, &h, &err);
        heap_done(&h);
    }
    return st == PHS_OK ? 0 : cli_fail("advise", &err);
}
