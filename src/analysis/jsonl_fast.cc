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
};

extern "C" struct jsonl_parser *jsonl_parser_new(void)
{
    return new (std::nothrow) jsonl_parser();
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
    for (simdjson::dom::key_value_pair field : obj) {
        std::string_view key = field.key;
        if (key.size() != 1) {
            if (key == "type")
                return 0;           // a header, kind, root or end record
            continue;               // "vt", and fields a later version may add
        }
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
    return 1;
}
