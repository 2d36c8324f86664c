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

/* An int's digit count and sign: ob_size before 3.12, lv_tag after. */
static void int_header(struct walker *w, uint64_t addr, int64_t *ndigits, int64_t *sign)
{
    if (HAS(w, LONG_TAG)) {
        uint64_t tag = field(w, addr, WO(w, LONG_TAG));
        *ndigits = (int64_t)(tag >> 3);
        *sign = 1 - (int64_t)(tag & 3);
    } else {
        int64_t size = (int64_t)field(w, addr, WO(w, VAROBJECT_OB_SIZE));
        *ndigits = size < 0 ? -size : size;
        *sign = size < 0 ? -1 : size > 0;
    }
}

static void int_preview(struct walker *w, uint64_t addr, char *out, size_t cap)
{
    int64_t ndigits, sign;
    int_header(w, addr, &ndigits, &sign);
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
/* The registry entry of o's type, or NULL if there is none to decode by. */
static struct tinfo *object_tinfo(struct heap *h, const struct heap_object *o)
{
    struct walker *w = h->walker;
    if (!w || o->type >= h->ntypes)
        return NULL;
    struct tinfo *t = types_get(w, h->types[o->type].addr, 0);
    return t && t->valid ? t : NULL;
}

static void preview_one(struct walker *w, struct heap *h, const struct heap_object *o, char *out, size_t cap)
{
    out[0] = '\0';
    struct tinfo *t = object_tinfo(h, o);
    if (!t)
        return;
    uint64_t addr = o->addr;
    const char *name = h->types[o->type].name;
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
        if (walker_read_cstr(w, field(w, addr, WO(w, TYPE_NAME)), tn, sizeof tn) == PHS_OK)
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

/* ---- values for the dump ---- */

/* Cut UTF-8 text after max_chars code points; 1 if it was cut. */
static int cut_utf8(char *s, size_t max_chars)
{
    size_t chars = 0;
    for (char *c = s; *c; c++) {
        if (((unsigned char)*c & 0xC0) != 0x80 && chars++ == max_chars) {
            *c = '\0';
            return 1;
        }
    }
    return 0;
}

static int int_value(struct walker *w, uint64_t addr, char *out, size_t cap)
{
    int64_t ndigits, sign;
    int_header(w, addr, &ndigits, &sign);
    if (ndigits > 4)        /* beyond 120 bits: no value, only the size */
        return 0;
    uint32_t d[4] = {0, 0, 0, 0};
    if (ndigits && rd(w, addr + (uint64_t)WO(w, LONG_DIGIT), d, (size_t)ndigits * 4) != 0)
        return 0;
    unsigned __int128 v = 0;
    for (int64_t i = ndigits - 1; i >= 0; i--)
        v = (v << 30) | (d[i] & 0x3fffffff);
    char digits[48];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v && n < sizeof digits);
    size_t k = 0;
    if (sign < 0 && k + 1 < cap)
        out[k++] = '-';
    while (n && k + 1 < cap)
        out[k++] = digits[--n];
    out[k] = '\0';
    return 1;
}

static int bytes_value(struct walker *w, uint64_t addr, char *out, size_t cap, size_t max_chars, int *truncated)
{
    int64_t n = (int64_t)field(w, addr, WO(w, VAROBJECT_OB_SIZE));
    if (n < 0)
        return 0;
    size_t take = (size_t)n < max_chars ? (size_t)n : max_chars;
    const unsigned char *b = take ? walker_view(w, addr + (uint64_t)WO(w, VAROBJECT_SIZE) + 8, take) : NULL;
    if (take && !b)                         /* ob_sval follows ob_shash */
        return 0;
    size_t k = 0, i = 0;
    out[0] = '\0';
    for (; i < take && k + 5 < cap; i++)     /* out may fill before max_chars */
        k += (size_t)snprintf(out + k, cap - k, b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\' ? "%c" : "\\x%02x",
                              b[i]);
    *truncated = i < (size_t)n;
    return 1;
}

int64_t heap_length(struct heap *h, const struct heap_object *o)
{
    if (h->backend)
        return h->backend->length(h->backend_self, o);
    struct walker *w = h->walker;
    struct tinfo *t = object_tinfo(h, o);
    if (!t)
        return -1;
    int64_t n;
    switch (t->layout) {
    case LK_STR: n = (int64_t)field(w, o->addr, WO(w, ASCII_LENGTH)); break;
    case LK_BYTES:
    case LK_BYTEARRAY:
    case LK_LIST:
    case LK_TUPLE:
    case LK_DEQUE: n = (int64_t)field(w, o->addr, WO(w, VAROBJECT_OB_SIZE)); break;
    case LK_DICT:
    case LK_DEFDICT:
    case LK_ODICT: n = (int64_t)field(w, o->addr, WO(w, DICT_USED)); break;
    /* PySetObject keeps fill, used, mask in a row in every version */
    case LK_SET: n = (int64_t)field(w, o->addr, WO(w, SET_MASK) - 8); break;
    default: return -1;
    }
    return n >= 0 && n < (1ll << 40) ? n : -1;
}

int heap_str_interned(struct heap *h, const struct heap_object *o)
{
    struct walker *w = h->walker;
    struct tinfo *t = object_tinfo(h, o);
    uint8_t state = 0;
    if (!t || t->layout != LK_STR || !t->is_core ||
        rd(w, o->addr + (uint64_t)WO(w, ASCII_STATE), &state, 1) != 0)
        return 0;
    return state & 3;          /* the interned bits, 3.7 to 3.15 alike */
}

int heap_value(struct heap *h, const struct heap_object *o, char *out, size_t cap, size_t max_chars,
               int *truncated)
{
    if (h->backend)
        return h->backend->value(h->backend_self, o, out, cap, max_chars, truncated);
    struct walker *w = h->walker;
    *truncated = 0;
    struct tinfo *t = cap ? object_tinfo(h, o) : NULL;
    if (!t)
        return 0;
    out[0] = '\0';
    switch (t->layout) {
    case LK_STR: {
        int64_t length = (int64_t)field(w, o->addr, WO(w, ASCII_LENGTH));
        size_t want = 4 * max_chars + 1 < cap ? 4 * max_chars + 1 : cap;
        if (str_utf8(w, o->addr, out, want) < 0)
            return 0;
        *truncated = cut_utf8(out, max_chars) || length > (int64_t)max_chars;
        return 1;
    }
    case LK_BYTES:
        return bytes_value(w, o->addr, out, cap, max_chars, truncated);
    case LK_INT:
        return int_value(w, o->addr, out, cap);
    default:
        if (strcmp(h->types[o->type].name, "float") == 0) {
            double d;
            if (rd(w, o->addr + FLOAT_VALUE, &d, 8) == 0) {
                snprintf(out, cap, "%.17g", d);
                return 1;
            }
        }
        return 0;
    }
}

int heap_atom(struct heap *h, const struct heap_object *o, struct heap_atom *a)
{
    if (h->backend)
        return h->backend->atom(h->backend_self, o, a);
    struct walker *w = h->walker;
    struct tinfo *t = object_tinfo(h, o);
    memset(a, 0, sizeof *a);
    if (!t)
        return 0;
    const char *name = h->types[o->type].name;
    if (strcmp(name, "float") == 0) {        /* no decoder of its own: known by name */
        a->kind = HEAP_ATOM_FLOAT;
        a->len = 8;
        a->data = walker_view(w, o->addr + FLOAT_VALUE, 8);
        return a->data != NULL;
    }
    if (!t->is_core)
        return 0;
    if (t->layout == LK_STR) {
        struct str_header s;
        str_header(w, o->addr, &s);
        if (s.length < 0 || s.length > (1ll << 36) || (s.kind != 1 && s.kind != 2 && s.kind != 4))
            return 0;
        a->kind = HEAP_ATOM_STR;
        a->unit = s.kind;
        a->len = (size_t)s.length * s.kind;
        a->data = s.data ? walker_view(w, s.data, a->len ? a->len : 1) : NULL;
    } else if (t->layout == LK_BYTES) {
        int64_t n = (int64_t)field(w, o->addr, WO(w, VAROBJECT_OB_SIZE));
        if (n < 0 || n > (1ll << 36))
            return 0;
        a->kind = HEAP_ATOM_BYTES;
        a->len = (size_t)n;
        /* ob_sval follows ob_shash */
        a->data = walker_view(w, o->addr + (uint64_t)WO(w, VAROBJECT_SIZE) + 8, a->len + 1);
    } else if (t->layout == LK_INT && strcmp(name, "int") == 0) {
        int64_t ndigits, sign;
        int_header(w, o->addr, &ndigits, &sign);
        if (ndigits < 0 || ndigits > (1 << 20))
            return 0;
        a->kind = HEAP_ATOM_INT;
        a->sign = (int)sign;
        a->len = (size_t)ndigits * 4;
        a->data = walker_view(w, o->addr + (uint64_t)WO(w, LONG_DIGIT), a->len ? a->len : 4);
    } else {
        return 0;
    }
    return a->data != NULL;
}

uint64_t heap_atom_hash(const struct heap_atom *a)
{
    /* FNV-1a over the value, seeded with what else tells atoms apart */
    uint64_t x = 1469598103934665603ull ^ ((uint64_t)a->kind << 8 | a->unit | (uint64_t)(a->sign + 1) << 4);
    for (size_t i = 0; i < a->len; i++)
        x = (x ^ a->data[i]) * 1099511628211ull;
    return x ? x : 1;
}

int64_t heap_capacity(struct heap *h, const struct heap_object *o)
{
    if (h->backend)
        return h->backend->capacity(h->backend_self, o);
    struct walker *w = h->walker;
    struct tinfo *t = object_tinfo(h, o);
    if (!t || !t->is_core)
        return -1;
    int64_t n;
    if (t->layout == LK_LIST)
        n = (int64_t)field(w, o->addr, WO(w, LIST_ALLOCATED));
    else if (t->layout == LK_BYTEARRAY)
        n = (int64_t)field(w, o->addr, WO(w, BYTEARRAY_ALLOC));
    else
        return -1;
    return n >= 0 && n < (1ll << 40) ? n : -1;
}
