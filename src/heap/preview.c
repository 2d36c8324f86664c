/* preview.c - a line about one object for `top`'s drill-down: read from
 * the snapshot the object was walked from, through the same bounded reads
 * and type registry as the walk. */
#include "walker.h"

#include <stdio.h>

#define PREVIEW_KEYS 3

static void append(char *out, size_t cap, const char *s)
{
    size_t n = strlen(out);
    if (n + 1 < cap)
        snprintf(out + n, cap - n, "%s", s);
}

static void str_preview(struct walker *w, uint64_t addr, char *out, size_t cap)
{
    char text[96];
    int64_t length = (int64_t)field(w, addr, WO(w, ASCII_LENGTH));
    if (str_utf8(w, addr, text, 64) < 0)
        return;
    for (char *c = text; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = ' ';
    snprintf(out, cap, "'%s'%s", text, (int64_t)strlen(text) < length && length > 60 ? "..." : "");
}

static void bytes_preview(struct walker *w, uint64_t addr, char *out, size_t cap)
{
    int64_t n = (int64_t)field(w, addr, WO(w, VAROBJECT_OB_SIZE));
    unsigned char b[40];
    size_t take = n < 0 ? 0 : n < (int64_t)sizeof b ? (size_t)n : sizeof b;
    if (rd(w, addr + (uint64_t)WO(w, VAROBJECT_SIZE) + 8, b, take) != 0)   /* ob_sval follows ob_shash */
        return;
    snprintf(out, cap, "b'");
    for (size_t i = 0; i < take; i++) {
        char c[8];
        snprintf(c, sizeof c, b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\' && b[i] != '\'' ? "%c" : "\\x%02x", b[i]);
        append(out, cap, c);
    }
    append(out, cap, (int64_t)take < n ? "'..." : "'");
}

static void int_preview(struct walker *w, uint64_t addr, char *out, size_t cap)
{
    int64_t ndigits, sign;
    if (HAS(w, LONG_TAG)) {
        uint64_t tag = field(w, addr, WO(w, LONG_TAG));
        ndigits = (int64_t)(tag >> 3);
        sign = 1 - (int64_t)(tag & 3);
    } else {
        int64_t size = (int64_t)field(w, addr, WO(w, VAROBJECT_OB_SIZE));
        ndigits = size < 0 ? -size : size;
        sign = size < 0 ? -1 : size > 0;
    }
    if (ndigits > 2) {
        snprintf(out, cap, "%s%lld-bit integer", sign < 0 ? "-" : "", (long long)ndigits * 30);
        return;
    }
    uint32_t d[2] = {0, 0};
    if (ndigits && rd(w, addr + (uint64_t)WO(w, LONG_DIGIT), d, (size_t)ndigits * 4) != 0)
        return;
    unsigned long long v = (unsigned long long)d[0] | ((unsigned long long)d[1] << 30);
    snprintf(out, cap, "%s%llu", sign < 0 ? "-" : "", v);
}

/* len N: 'key', 'key', ... (str keys, in insertion order) */
static void dict_preview(struct walker *w, uint64_t addr, char *out, size_t cap)
{
    int64_t used = (int64_t)field(w, addr, WO(w, DICT_USED));
    snprintf(out, cap, "len %lld", (long long)used);
    struct dict_shape s;
    if (dict_shape(w, field(w, addr, WO(w, DICT_KEYS)), 0, &s) != 0)
        return;
    int shown = 0;
    for (int64_t i = 0; i < s.nentries && i < 64 && shown < PREVIEW_KEYS; i++) {
        uint64_t k = field(w, s.entries + (uint64_t)i * s.esize, (int64_t)s.koff);
        char name[40];
        if (!k || str_utf8(w, k, name, sizeof name) < 0)
            continue;
        append(out, cap, shown ? ", '" : ": '");
        append(out, cap, name);
        append(out, cap, "'");
        shown++;
    }
    if (used > shown && shown)
        append(out, cap, ", ...");
}

/* One object's line. */
static void preview_one(struct walker *w, struct heap *h, const struct heap_object *o, char *out, size_t cap)
{
    out[0] = '\0';
    if (o->type >= h->ntypes)
        return;
    uint64_t addr = o->addr;
    struct tinfo *t = types_get(w, h->types[o->type].addr, 0);
    const char *name = h->types[o->type].name;
    if (!t || !t->valid)
        return;
    switch (t->layout) {
    case LK_STR:
        str_preview(w, addr, out, cap);
        break;
    case LK_BYTES:
        bytes_preview(w, addr, out, cap);
        break;
    case LK_INT:
        int_preview(w, addr, out, cap);
        break;
    case LK_DICT:
    case LK_DEFDICT:
    case LK_ODICT:
        dict_preview(w, addr, out, cap);
        break;
    case LK_LIST:
    case LK_TUPLE:
    case LK_DEQUE:
    case LK_BYTEARRAY:
        snprintf(out, cap, "len %lld", (long long)field(w, addr, WO(w, VAROBJECT_OB_SIZE)));
        break;
    case LK_TYPE: {
        char tn[128];
        if (memsrc_read_cstr(w->mem, field(w, addr, WO(w, TYPE_NAME)), tn, sizeof tn, NULL) == PHS_OK)
            snprintf(out, cap, "%s", tn);
        break;
    }
    case LK_FUNCTION:
        str_preview(w, field(w, addr, WO(w, FUNC_QUALNAME)), out, cap);
        break;
    case LK_CODE:
        str_preview(w, field(w, addr, WO(w, CODE_NAME)), out, cap);
        break;
    default:
        if (strcmp(name, "float") == 0) {
            double d;
            if (rd(w, addr + FLOAT_VALUE, &d, 8) == 0)
                snprintf(out, cap, "%.17g", d);
        }
        break;
    }
}

void heap_previews(struct heap *h, const struct heap_object *objs, size_t n, char *out, size_t cap)
{
    if (!cap)
        return;
    for (size_t k = 0; k < n; k++) {
        out[k * cap] = '\0';
        if (h->walker)
            preview_one(h->walker, h, &objs[k], out + k * cap, cap);
    }
}
