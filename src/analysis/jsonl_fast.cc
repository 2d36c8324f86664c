// jsonl_fast.cc - object records of a dump parsed with simdjson's DOM
// parser, which validates the whole line (see jsonl_fast.h). The one C++
// file of pyheapscope: simdjson has no C interface. No exceptions cross
// into C: the error-code API is used throughout.
#include "jsonl_fast.h"

#include <new>
#include <string_view>
#include <vector>

#include <simdjson.h>

struct jsonl_parser {
    simdjson::dom::parser parser;
    std::vector<uint64_t> refs;
    std::vector<jsonl_label> labels;
    bool all_fields;
};

extern "C" struct jsonl_parser *jsonl_parser_new(int all_fields)
{
    jsonl_parser *p = new (std::nothrow) jsonl_parser();
    if (p)
        p->all_fields = all_fields != 0;
    return p;
}

extern "C" void jsonl_parser_free(struct jsonl_parser *p)
{
    delete p;
}

static int field_u64(simdjson::dom::element v, uint64_t *out, int *has)
{
    if (v.get_uint64().get(*out) != simdjson::SUCCESS)
        return 0;
    *has = 1;
    return 1;
}

static int field_str(simdjson::dom::element v, const char **out)
{
    return v.get_c_str().get(*out) == simdjson::SUCCESS;
}

// "e": an integer index or a string label per reference
static int field_labels(jsonl_parser *p, simdjson::dom::element v)
{
    simdjson::dom::array labels;
    if (v.get_array().get(labels) != simdjson::SUCCESS)
        return 0;
    for (simdjson::dom::element label : labels) {
        jsonl_label l = {-1, nullptr};
        if (label.get_int64().get(l.index) != simdjson::SUCCESS && label.get_c_str().get(l.text) != simdjson::SUCCESS)
            return 0;
        if (l.index < -1)
            return 0;
        p->labels.push_back(l);
    }
    return 1;
}

// "t": four numbers
static int field_table(simdjson::dom::element v, struct jsonl_object *out)
{
    simdjson::dom::array t;
    if (v.get_array().get(t) != simdjson::SUCCESS || t.size() != 4)
        return 0;
    size_t i = 0;
    for (simdjson::dom::element x : t)
        if (x.get_uint64().get(out->t[i++]) != simdjson::SUCCESS)
            return 0;
    out->has_t = 1;
    return 1;
}

// The fields only advise reads; 0 if one has an unexpected type.
static int more_field(jsonl_parser *p, std::string_view key, simdjson::dom::element v, struct jsonl_object *out)
{
    if (key == "n")
        return field_u64(v, &out->n, &out->has_n);
    if (key == "c")
        return field_u64(v, &out->c, &out->has_c);
    if (key == "v")
        return field_str(v, &out->v);
    if (key == "vh")
        return field_str(v, &out->vh);
    if (key == "vt") {
        bool cut;
        if (v.get_bool().get(cut) != simdjson::SUCCESS)
            return 0;
        out->vt = cut;
        return 1;
    }
    if (key == "t")
        return field_table(v, out);
    if (key == "e")
        return field_labels(p, v);
    return 1;                       // fields a later version may add
}

extern "C" int jsonl_object_record(struct jsonl_parser *p, const char *line, size_t len,
                                   struct jsonl_object *out)
{
    static_assert(JSONL_PADDING >= simdjson::SIMDJSON_PADDING, "padding");
    *out = jsonl_object{};
    simdjson::dom::element doc;
    simdjson::error_code err = p->parser.parse(line, len, false).get(doc);
    if (err == simdjson::MEMALLOC)
        return -2;
    if (err != simdjson::SUCCESS)
        return -1;
    simdjson::dom::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS)
        return 0;
    p->refs.clear();
    p->labels.clear();
    for (simdjson::dom::key_value_pair field : obj) {
        std::string_view key = field.key;
        if (key == "type")
            return 0;               // a header, kind, root or end record
        if (p->all_fields) {
            int ok;
            try {
                ok = more_field(p, key, field.value, out);
            } catch (...) {
                return -2;
            }
            if (!ok)
                return 0;
        }
        if (key.size() != 1)
            continue;               // "vt", and fields a later version may add
        switch (key[0]) {
        case 'a': if (!field_u64(field.value, &out->a, &out->has_a)) return 0; break;
        case 'k': if (!field_u64(field.value, &out->k, &out->has_k)) return 0; break;
        case 's': if (!field_u64(field.value, &out->s, &out->has_s)) return 0; break;
        case 'x': if (!field_u64(field.value, &out->x, &out->has_x)) return 0; break;
        case 'o': if (!field_u64(field.value, &out->o, &out->has_o)) return 0; break;
        case 'r': {
            simdjson::dom::array refs;
            if (field.value.get_array().get(refs) != simdjson::SUCCESS)
                return 0;
            try {
                p->refs.reserve(refs.size());
            } catch (...) {
                return -2;
            }
            for (simdjson::dom::element ref : refs) {
                uint64_t v;
                if (ref.get_uint64().get(v) != simdjson::SUCCESS)
                    return 0;
                p->refs.push_back(v);
            }
            break;
        }
        default:
            break;                  // "v", "e"
        }
    }
    if (!out->has_a)
        return 0;
    out->r = p->refs.data();
    out->nr = p->refs.size();
    if (!p->labels.empty()) {
        if (p->labels.size() != p->refs.size())
            return 0;
        out->e = p->labels.data();
    }
    return 1;
}
