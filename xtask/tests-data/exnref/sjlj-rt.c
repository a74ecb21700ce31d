// The setjmp/longjmp runtime that clang's lowering calls into, in its own
// translation unit as a libc's would be: compiled together with sjlj.c,
// clang 19 emitted an invalid catch pad (a `loop` between a try body and its
// `catch`) that Node refuses. It must itself be compiled with
// `-mllvm -wasm-enable-sjlj` so that `__builtin_wasm_throw(1, ..)` defines the
// `__c_longjmp` tag.
//
// `id` identifies the frame that called setjmp and `label` which setjmp in
// it; a longjmp throws the buffer and value, and each catching frame asks
// whether the buffer is one of its own (non-zero label) or must be thrown on.
struct jmp_state {
    void *id;
    unsigned label;
    struct { void *env; int val; } arg;
};

void __wasm_setjmp(void *env, unsigned label, void *id) {
    struct jmp_state *state = env;
    state->id = id;
    state->label = label;
}

unsigned __wasm_setjmp_test(void *env, void *id) {
    struct jmp_state *state = env;
    return state->id == id ? state->label : 0;
}

void __wasm_longjmp(void *env, int val) {
    struct jmp_state *state = env;
    state->arg.env = env;
    state->arg.val = val ? val : 1;
    __builtin_wasm_throw(1, &state->arg);
}
