/* jsonl_fast.h - the fast path of the dump reader: an object record (the
 * millions of lines of a dump) parsed with simdjson, a validating parser of
 * gigabytes per second. Everything else (headers, kinds, roots, and every
 * line the fast path declines) goes through json-c in dumpfile.c. Private
 * to src/analysis/. */
#ifndef PYHEAPSCOPE_JSONL_FAST_H
#define PYHEAPSCOPE_JSONL_FAST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How many bytes after a line the buffer must have (simdjson reads ahead). */
#define JSONL_PADDING 64

struct jsonl_parser;

/* How one reference refers ("e"): an item index, or a label. */
struct jsonl_label {
    int64_t index;            /* -1 for a label */
    const char *text;         /* NUL-terminated, in the parser's buffer; NULL for an index */
};

/* The fields of an object record the reader uses. Those after nr are
 * filled only by a parser made with all_fields. */
struct jsonl_object {
    uint64_t a, k, s, x, o;
    int has_a, has_k, has_s, has_x, has_o;
    const uint64_t *r;        /* the references, in a buffer of the parser */
    size_t nr;
    uint64_t n, c, t[4];
    int has_n, has_c, has_t, vt;
    const char *v, *vh;       /* NUL-terminated, in the parser's buffer; or NULL */
    const struct jsonl_label *e;    /* nr of them, or NULL without "e" */
};

/* A parser of object records; with all_fields it also reads the values,
 * labels, capacities and tables (`advise FILE`), which costs more. */
struct jsonl_parser *jsonl_parser_new(int all_fields);
void jsonl_parser_free(struct jsonl_parser *p);

/* Parse line[0..len) (with JSONL_PADDING readable bytes after it) as an
 * object record. 1: done, *out filled; 0: valid JSON but not an object
 * record (has "type"), or fields of unexpected types; -1: not valid JSON;
 * -2: out of memory. On 0 and -1 the caller parses the line the slow way,
 * which reports what is wrong. */
int jsonl_object_record(struct jsonl_parser *p, const char *line, size_t len, struct jsonl_object *out);

#ifdef __cplusplus
}
#endif

#endif
