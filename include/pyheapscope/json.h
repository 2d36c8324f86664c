/* json.h - a small streaming JSON writer for the front ends. Writes to a
 * FILE*, escapes strings per RFC 8259, tracks commas. Never reads the target. */
#ifndef PYHEAPSCOPE_JSON_H
#define PYHEAPSCOPE_JSON_H

#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
    FILE *f;
    int depth;
    int count[JSON_MAX_DEPTH];   /* members written at each level */
    int pretty;
};

/* Caller storage; cannot fail. Writes go straight to f. */
void json_init(struct json *j, FILE *f, int pretty);
/* key is NULL inside arrays and at the top level. */
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_string(struct json *j, const char *key, const char *value);   /* NULL value -> null */
void json_int(struct json *j, const char *key, int64_t value);
void json_uint(struct json *j, const char *key, uint64_t value);
void json_bool(struct json *j, const char *key, int value);
void json_null(struct json *j, const char *key);
/* Ends the document with a newline. */
void json_finish(struct json *j);
/* Ends one record of JSON Lines (newline, no flush) and starts the next. */
void json_end_line(struct json *j);

#endif
