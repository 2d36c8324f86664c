/* replay_main.c - fuzz-replay [--strict] FILE...: replays recordings (plain
 * or gzip) without libFuzzer, so that `make test` runs the corpus and every
 * input that once crashed (tests/fuzz/crashes) on every build, ASan's too.
 * --strict: each file must load and its walk must count objects (the seed
 * corpus); without it a malformed file is skipped, as the fuzzer does. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "replay.h"

static unsigned char *slurp(const char *path, size_t *len)
{
    gzFile g = gzopen(path, "rb");
    if (!g)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap);
    for (int got; buf; n += (size_t)got) {
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        got = gzread(g, buf + n, (unsigned)(cap - n));
        if (got <= 0) {
            if (got < 0) {
                free(buf);
                buf = NULL;
            }
            break;
        }
    }
    gzclose(g);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    int strict = argc > 1 && strcmp(argv[1], "--strict") == 0;
    int failed = 0, files = 0;
    for (int i = 1 + strict; i < argc; i++) {
        size_t len;
        unsigned char *data = slurp(argv[i], &len);
        if (!data) {
            fprintf(stderr, "fuzz-replay: cannot read %s\n", argv[i]);
            failed++;
            continue;
        }
        files++;
        struct replay r;
        if (replay_load(&r, data, len, NULL) != 0) {
            printf("%s: malformed, skipped\n", argv[i]);
            failed += strict;
        } else {
            uint64_t n = replay_exercise(&r);
            printf("%s: Python %s, %" PRIu64 " objects\n", argv[i], r.p.version, n);
            failed += strict && n == 0;
            replay_done(&r);
        }
        free(data);
    }
    if (!files) {
        fprintf(stderr, "usage: fuzz-replay [--strict] FILE...\n");
        return 2;
    }
    return failed ? 1 : 0;
}
