/* format.c - how the front ends write figures: human-friendly bytes,
 * counts with thousands separators, signed changes; and where a heap came
 * from, in JSON. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>

#include "pyheapscope/json.h"

void cli_origin_describe(const struct cli_origin *o, char *out, size_t cap)
{
    if (o->dump)
        snprintf(out, cap, "%s (pid %lld, Python %s, %s)", o->dump, (long long)o->pid, o->version, o->time);
    else
        snprintf(out, cap, "process %lld (Python %s)", (long long)o->pid, o->version);
}

void cli_origin_json(struct json *j, const struct cli_origin *o)
{
    json_int(j, "pid", o->pid);
    json_string(j, "python_version", o->version);
    if (o->dump) {
        json_string(j, "dump", o->dump);
        json_string(j, "time", o->time);
    }
}

/* "1.5 GiB", "312.4 MiB", "17.0 KiB", "512 B" */
void cli_format_bytes(uint64_t n, char *out, size_t cap)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%" PRIu64 " B", n);
    else
        snprintf(out, cap, "%.1f %s", v, units[u]);
}

/* 1234567 -> "1,234,567" */
void cli_format_count(uint64_t n, char *out, size_t cap)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%" PRIu64, n);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < cap; i++) {
        if (i && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

void cli_format_signed_count(int64_t v, char *out, size_t cap)
{
    char digits[32];
    cli_format_count((uint64_t)(v < 0 ? -v : v), digits, sizeof digits);
    snprintf(out, cap, "%s%s", v < 0 ? "-" : v > 0 ? "+" : "", digits);
}

void cli_format_signed_bytes(int64_t v, char *out, size_t cap)
{
    char b[32];
    cli_format_bytes((uint64_t)(v < 0 ? -v : v), b, sizeof b);
    snprintf(out, cap, "%s%s", v < 0 ? "-" : v > 0 ? "+" : "", v ? b : "0");
}
