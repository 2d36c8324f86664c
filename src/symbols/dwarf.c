/* dwarf.c - the DWARF offsets provider (libdw/libdwfl).
 *
 * Finds CPython's structs in the DWARF of libpython or the executable, or of
 * its separate debug file (build-id first, then .gnu_debuglink, through
 * libdwfl's standard search), and fills the offsets catalogue from member
 * locations and aggregate sizes. Reads files only, never target memory.
 * gcc emits no name index, so structs are found by one linear pass over the
 * compile units' top-level DIEs, stopping once all are found. */
#include "pyheapscope/offsets.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_DEBUGINFO_PATH "-:.debug:/usr/lib/debug"

/* Follow DW_AT_type through typedefs and qualifiers to a struct or union. */
static int peel_to_aggregate(Dwarf_Die *die, Dwarf_Die *out)
{
    Dwarf_Die cur = *die;
    for (int depth = 0; depth < 16; depth++) {
        int tag = dwarf_tag(&cur);
        if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type) {
            *out = cur;
            return 0;
        }
        if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type &&
            tag != DW_TAG_member)
            return -1;
        Dwarf_Attribute attr;
        if (!dwarf_attr_integrate(&cur, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &cur))
            return -1;
    }
    return -1;
}

static int member_location(Dwarf_Die *member, int64_t *off)
{
    Dwarf_Attribute attr;
    Dwarf_Word w;
    if (!dwarf_attr_integrate(member, DW_AT_data_member_location, &attr)) {
        *off = 0;       /* union members have no location */
        return 0;
    }
    if (dwarf_formudata(&attr, &w) != 0)
        return -1;
    *off = (int64_t)w;
    return 0;
}

/* Find member `name` (length len) in aggregate agg, looking inside anonymous
 * struct/union members too. On success *off is its offset from agg and
 * *found its DIE. */
static int find_member(Dwarf_Die *agg, const char *name, size_t len, int64_t *off, Dwarf_Die *found,
                       int depth)
{
    Dwarf_Die child;
    if (depth > 8 || dwarf_child(agg, &child) != 0)
        return -1;
    do {
        if (dwarf_tag(&child) != DW_TAG_member)
            continue;
        const char *mname = dwarf_diename(&child);
        int64_t moff;
        if (member_location(&child, &moff) != 0)
            continue;
        if (mname && strlen(mname) == len && memcmp(mname, name, len) == 0) {
            *off = moff;
            *found = child;
            return 0;
        }
        if (!mname) {
            Dwarf_Die inner;
            int64_t ioff;
            if (peel_to_aggregate(&child, &inner) == 0 &&
                find_member(&inner, name, len, &ioff, found, depth + 1) == 0) {
                *off = moff + ioff;
                return 0;
            }
        }
    } while (dwarf_siblingof(&child, &child) == 0);
    return -1;
}

/* Resolve a dotted path ("threads.head") inside agg. */
static int resolve_path(Dwarf_Die *agg, const char *path, size_t plen, int64_t *off)
{
    Dwarf_Die cur = *agg;
    int64_t total = 0;
    const char *p = path, *end = path + plen;
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t len = dot ? (size_t)(dot - p) : (size_t)(end - p);
        int64_t moff;
        Dwarf_Die member;
        if (find_member(&cur, p, len, &moff, &member, 0) != 0)
            return -1;
        total += moff;
        if (!dot)
            break;
        if (peel_to_aggregate(&member, &cur) != 0)
            return -1;
        p = dot + 1;
    }
    *off = total;
    return 0;
}

/* Try each '|'-separated alternative of a member path spec. */
static int resolve_spec(Dwarf_Die *agg, const char *spec, int64_t *off)
{
    const char *p = spec;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (resolve_path(agg, p, len, off) == 0)
            return 0;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

struct wanted {
    int found;
    Dwarf_Die die;     /* the struct (typedefs already peeled) */
};

static int is_declaration(Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    bool flag = false;
    return dwarf_attr(die, DW_AT_declaration, &attr) && dwarf_formflag(&attr, &flag) == 0 && flag;
}

static int find_structs(Dwfl_Module *mod, struct wanted *w)
{
    int remaining = OS_COUNT;
    Dwarf_Addr bias;
    Dwarf_Die *cu = NULL;
    while (remaining > 0 && (cu = dwfl_module_nextcu(mod, cu, &bias)) != NULL) {
        Dwarf_Die child;
        if (dwarf_child(cu, &child) != 0)
            continue;
        do {
            int tag = dwarf_tag(&child);
            if (tag != DW_TAG_structure_type && tag != DW_TAG_typedef)
                continue;
            const char *name = dwarf_diename(&child);
            if (!name)
                continue;
            for (int s = 0; s < OS_COUNT; s++) {
                if (w[s].found || strcmp(name, offsets_struct_dwarf_name((enum offsets_struct)s)) != 0)
                    continue;
                int want_typedef = offsets_struct_is_typedef((enum offsets_struct)s);
                if ((tag == DW_TAG_typedef) != want_typedef)
                    continue;
                Dwarf_Die agg;
                if (tag == DW_TAG_typedef) {
                    if (peel_to_aggregate(&child, &agg) != 0 || is_declaration(&agg))
                        continue;
                } else {
                    if (is_declaration(&child))
                        continue;
                    agg = child;
                }
                w[s].die = agg;
                w[s].found = 1;
                remaining--;
            }
        } while (dwarf_siblingof(&child, &child) == 0);
    }
    return remaining;
}

enum phs_status offsets_from_dwarf(const char *path, const char *debuginfo_path,
                                   struct py_offsets *o, char *debug_file, size_t cap,
                                   struct phs_error *err)
{
    char *dip = strdup(debuginfo_path ? debuginfo_path : DEFAULT_DEBUGINFO_PATH);
    if (!dip)
        return phs_error_set(err, PHS_INTERNAL, 0, "out of memory");
    const Dwfl_Callbacks callbacks = {
        .find_elf = dwfl_build_id_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
        .section_address = dwfl_offline_section_address,
        .debuginfo_path = &dip,
    };
    enum phs_status st = PHS_OK;
    Dwfl *dwfl = dwfl_begin(&callbacks);
    if (!dwfl) {
        free(dip);
        return phs_error_set(err, PHS_INTERNAL, 0, "libdwfl: %s", dwfl_errmsg(-1));
    }
    dwfl_report_begin(dwfl);
    Dwfl_Module *mod = dwfl_report_offline(dwfl, "python", path, -1);
    dwfl_report_end(dwfl, NULL, NULL);
    Dwarf_Addr bias;
    if (!mod) {
        st = phs_error_set(err, PHS_IO, 0, "libdwfl cannot open %s: %s", path, dwfl_errmsg(-1));
        goto out;
    }
    if (!dwfl_module_getdwarf(mod, &bias)) {
        st = phs_error_set(err, PHS_IO, 0, "no DWARF for %s (%s)", path, dwfl_errmsg(-1));
        goto out;
    }
    const char *mainfile = NULL, *debugfile = NULL;
    dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, &debugfile);
    if (debug_file && cap)
        snprintf(debug_file, cap, "%s", debugfile ? debugfile : (mainfile ? mainfile : path));

    struct wanted w[OS_COUNT];
    memset(w, 0, sizeof w);
    find_structs(mod, w);
    /* Everything but the runtime struct must be there for this to be
     * CPython's DWARF at all; fields of a struct that is missing are left
     * absent and the validator says which. */
    if (!w[OS_OBJECT].found || !w[OS_TYPE].found) {
        st = phs_error_set(err, PHS_NOT_PYTHON, 0, "the DWARF of %s does not describe CPython objects", path);
        goto out;
    }
    for (int i = 0; i < OFF_COUNT; i++) {
        enum offsets_field f = (enum offsets_field)i;
        enum offsets_struct s = offsets_field_struct(f);
        if (!w[s].found)
            continue;
        const char *spec = offsets_field_dwarf_path(f);
        if (!spec) {
            Dwarf_Word size;
            if (dwarf_aggregate_size(&w[s].die, &size) == 0)
                o->v[f] = (int64_t)size;
            continue;
        }
        int64_t off;
        if (resolve_spec(&w[s].die, spec, &off) == 0)
            o->v[f] = off;
    }
    o->source = OFFSETS_DWARF;
out:
    dwfl_end(dwfl);
    free(dip);
    return st;
}
