// A depth limit on what the compiler is given. MicroPython's parser keeps
// its own stack, but its compiler recurses once per level of the parse
// tree without checking the C stack, so `abs(` ten thousand times, or
// thirty thousand `[`, ran the engine's call stack dry and killed the
// interpreter ("call stack exhausted", "Maximum call stack size exceeded").
// The linker routes every call of mp_compile (exec, eval, compile, import
// and our own runs) here (port.toml: [link] wrap), and a tree deeper than
// the limit becomes a RuntimeError, as CPython raises RecursionError.
#include "py/compile.h"
#include "py/parse.h"
#include "py/runtime.h"

// Deeper than any program written by hand (CPython allows 200 nested
// brackets), and shallow enough that the compiler's recursion fits the
// smallest engine stack we run on: V8's, which held 2,400 nested calls
// (about 5,000 levels) and not 2,800.
#ifndef MPWASM_MAX_PARSE_DEPTH
#define MPWASM_MAX_PARSE_DEPTH (1000)
#endif

mp_obj_t __real_mp_compile(mp_parse_tree_t *parse_tree, qstr source_file, bool is_repl);

// The parse-node kind that holds a constant object instead of child nodes,
// numbered as py/parse.c and py/compile.c number it: after every rule that
// has a compile function.
enum {
    #define DEF_RULE(rule, comp, kind, ...) GUARD_RULE_##rule,
    #define DEF_RULE_NC(rule, kind, ...)
    #include "py/grammar.h"
    #undef DEF_RULE
    #undef DEF_RULE_NC
    GUARD_RULE_const_object,
};

static bool has_children(mp_parse_node_t node) {
    return MP_PARSE_NODE_IS_STRUCT(node)
           && MP_PARSE_NODE_STRUCT_KIND((mp_parse_node_struct_t *)node) != GUARD_RULE_const_object;
}

// True if the tree under `root` is deeper than the limit. Walks it with an
// explicit stack, since recursing here would fail the same way.
static bool too_deep(mp_parse_node_t root) {
    static mp_parse_node_struct_t *path[MPWASM_MAX_PARSE_DEPTH];
    static size_t next_child[MPWASM_MAX_PARSE_DEPTH];
    if (!has_children(root)) {
        return false;
    }
    size_t depth = 0;
    path[0] = (mp_parse_node_struct_t *)root;
    next_child[0] = 0;
    for (;;) {
        mp_parse_node_struct_t *node = path[depth];
        if (next_child[depth] == MP_PARSE_NODE_STRUCT_NUM_NODES(node)) {
            if (depth == 0) {
                return false;
            }
            depth--;
            continue;
        }
        mp_parse_node_t child = node->nodes[next_child[depth]++];
        if (has_children(child)) {
            if (depth + 1 == MPWASM_MAX_PARSE_DEPTH) {
                return true;
            }
            depth++;
            path[depth] = (mp_parse_node_struct_t *)child;
            next_child[depth] = 0;
        }
    }
}

mp_obj_t __wrap_mp_compile(mp_parse_tree_t *parse_tree, qstr source_file, bool is_repl) {
    if (too_deep(parse_tree->root)) {
        mp_parse_tree_clear(parse_tree);
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("maximum recursion depth exceeded during compilation"));
    }
    return __real_mp_compile(parse_tree, source_file, is_repl);
}
