/* fuzz_walk.c - the libFuzzer harness (issue 7): each input is a recording
 * (replay.h), one of tests/fuzz/corpus mutated; it is replayed and
 * everything the heap commands do runs over it. A crash, a hang (libFuzzer's
 * -timeout) or a sanitizer report is a bug. Built by `make fuzz` with clang.
 *
 * libFuzzer's own mutations insert and erase bytes, which breaks the
 * recording's framing (the replay skips such inputs). So most mutations are
 * our own and keep the framing: bytes of the recorded memory changed in
 * place, and, most useful against a walker, words overwritten with
 * pointers that lead somewhere plausible (into recorded memory, a little
 * off an object, to a page end) or with extreme values. */
#include <stdint.h>
#include <string.h>

#include "replay.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    /* One snapshot for every input: its buffer is reused, as `top` does. */
    static struct snapshot *snap;
    if (!snap && !(snap = snapshot_new(NULL)))
        return 0;
    struct replay r;
    if (replay_load(&r, data, size, snap) == 0) {
        replay_exercise(&r);
        replay_done(&r);
    }
    return 0;
}

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* A word a corrupted heap might hold where a pointer or a size should be. */
static uint64_t odd_word(uint64_t *rs, const struct replay_range *v, size_t n)
{
    const struct replay_range *to = &v[next_random(rs) % n];
    uint64_t inside = to->addr + (next_random(rs) % to->len & ~(uint64_t)7);
    static const uint64_t extremes[] = {0, 1, 7, 0x7fffffff, 0xffffffff, 1ull << 40, INT64_MAX,
                                        UINT64_MAX, UINT64_MAX - 7, 0x1000};
    switch (next_random(rs) % 6) {
    case 0: return inside;                            /* another object, or mid-object */
    case 1: return inside + (next_random(rs) % 64) - 32;
    case 2: return to->addr + to->len - 8 * (next_random(rs) % 4); /* the end of a range */
    case 3: return extremes[next_random(rs) % (sizeof extremes / sizeof extremes[0])];
    case 4: return next_random(rs) % 4096;           /* a small count or size */
    default: return inside | (1ull << (next_random(rs) % 48)); /* one bit off */
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    static struct replay_range ranges[4096];
    long n = replay_ranges(data, size, ranges, sizeof ranges / sizeof ranges[0]);
    uint64_t rs = (uint64_t)seed * 0x9E3779B97F4A7C15ull + 1;
    if (n <= 0 || next_random(&rs) % 20 == 0)
        return LLVMFuzzerMutate(data, size, max_size);   /* the framing too, now and then */
    unsigned edits = 1 + (unsigned)(next_random(&rs) % 4);
    for (unsigned e = 0; e < edits; e++) {
        const struct replay_range *r = &ranges[next_random(&rs) % (size_t)n];
        if (r->len < 8)
            continue;
        size_t off = (size_t)(next_random(&rs) % (r->len - 7)) & ~(size_t)7;
        if (next_random(&rs) % 3 != 0) {
            uint64_t w = odd_word(&rs, ranges, (size_t)n);
            memcpy(data + r->at + off, &w, 8);
        } else {
            size_t w = 1 + (size_t)(next_random(&rs) % 32);
            if (off + w > r->len)
                w = r->len - off;
            uint8_t window[32];
            memcpy(window, data + r->at + off, w);
            size_t got = LLVMFuzzerMutate(window, w, w);
            memcpy(data + r->at + off, window, got);
        }
    }
    return size;
}
