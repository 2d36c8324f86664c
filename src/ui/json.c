/* json.c - the streaming JSON writer (see json.h). Output only. A dump
 * writes hundreds of millions of tokens: stdio's unlocked calls, runs of
 * plain characters written at once, and numbers formatted here rather than
 * through printf keep it at the speed of the disk (or of zlib). */
#define _GNU_SOURCE
#include "pyheapscope/json.h"

#include <inttypes.h>
#include <string.h>

#define PUT(c, f) putc_unlocked((c), (f))

static void put_str(const char *s, FILE *f)
{
    fwrite_unlocked(s, 1, strlen(s), f);
}

void json_init(struct json *j, FILE *f, int pretty)
{
    j->f = f;
    j->depth = 0;
    j->count[0] = 0;
    j->pretty = pretty;
}

static void write_escaped(FILE *f, const char *s)
{
    PUT('"', f);
    const unsigned char *p = (const unsigned char *)s;
    for (;;) {
        const unsigned char *run = p;
        while (*p >= 0x20 && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            fwrite_unlocked(run, 1, (size_t)(p - run), f);
        if (!*p)
            break;
        switch (*p) {
        case '"': put_str("\\\"", f); break;
        case '\\': put_str("\\\\", f); break;
        case '\n': put_str("\\n", f); break;
        case '\r': put_str("\\r", f); break;
        case '\t': put_str("\\t", f); break;
        default: fprintf(f, "\\u%04x", *p); break;
        }
        p++;
    }
    PUT('"', f);
}

static void write_u64(FILE *f, uint64_t v)
{
    char buf[24], *end = buf + sizeof buf, *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    fwrite_unlocked(p, 1, (size_t)(end - p), f);
}

static void member(struct json *j, const char *key)
{
    if (j->count[j->depth]++ > 0)
        PUT(',', j->f);
    if (j->pretty && j->depth > 0) {
        PUT('\n', j->f);
        for (int i = 0; i < j->depth; i++)
            put_str("  ", j->f);
    }
    if (key) {
        write_escaped(j->f, key);
        put_str(j->pretty ? ": " : ":", j->f);
    }
}

static void open_level(struct json *j, const char *key, char c)
{
    member(j, key);
    PUT(c, j->f);
    if (j->depth + 1 < JSON_MAX_DEPTH)
        j->depth++;
    j->count[j->depth] = 0;
}

static void close_level(struct json *j, char c)
{
    int had = j->count[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (j->pretty && had) {
        PUT('\n', j->f);
        for (int i = 0; i < j->depth; i++)
            put_str("  ", j->f);
    }
    PUT(c, j->f);
}

void json_object_begin(struct json *j, const char *key) { open_level(j, key, '{'); }
void json_object_end(struct json *j) { close_level(j, '}'); }
void json_array_begin(struct json *j, const char *key) { open_level(j, key, '['); }
void json_array_end(struct json *j) { close_level(j, ']'); }

void json_string(struct json *j, const char *key, const char *value)
{
    member(j, key);
    if (value)
        write_escaped(j->f, value);
    else
        put_str("null", j->f);
}

void json_int(struct json *j, const char *key, int64_t value)
{
    member(j, key);
    if (value < 0) {
        PUT('-', j->f);
        write_u64(j->f, (uint64_t)0 - (uint64_t)value);
    } else
        write_u64(j->f, (uint64_t)value);
}

void json_uint(struct json *j, const char *key, uint64_t value)
{
    member(j, key);
    write_u64(j->f, value);
}

void json_bool(struct json *j, const char *key, int value)
{
    member(j, key);
    put_str(value ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
    member(j, key);
    put_str("null", j->f);
}

void json_finish(struct json *j)
{
    PUT('\n', j->f);
    fflush(j->f);
}

void json_end_line(struct json *j)
{
    PUT('\n', j->f);
    j->depth = 0;
    j->count[0] = 0;
}
