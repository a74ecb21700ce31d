// Runtime half of clang's WebAssembly setjmp/longjmp lowering.
//
// Clang turns each function that calls setjmp into a state machine: setjmp
// records (label, invocation id) in the jmp_buf, longjmp throws a wasm
// exception tagged __c_longjmp carrying a pointer to {env, value}, and the
// catching function asks __wasm_setjmp_test whether the env belongs to one of
// *its own* live setjmp calls. This file must be compiled with
// `-mllvm -wasm-enable-sjlj` so that the __c_longjmp tag is defined here.
#include <setjmp.h>
#include <stdint.h>

void __wasm_setjmp(void *env, uint32_t label, void *func_invocation_id) {
    __mpwasm_jmp_buf *buf = env;
    buf->func_invocation_id = func_invocation_id;
    buf->label = label;
}

uint32_t __wasm_setjmp_test(void *env, void *func_invocation_id) {
    __mpwasm_jmp_buf *buf = env;
    // A stale buffer from a returned frame has a different invocation id, so
    // the exception keeps unwinding instead of resuming a dead frame.
    return buf->func_invocation_id == func_invocation_id ? buf->label : 0;
}

_Noreturn void __wasm_longjmp(void *env, int val) {
    __mpwasm_jmp_buf *buf = env;
    buf->thrown_env = env;
    // C requires longjmp(env, 0) to make setjmp return 1.
    buf->thrown_value = val == 0 ? 1 : val;
    // Tag index 1 is __c_longjmp in clang's numbering (0 is C++ exceptions).
    __builtin_wasm_throw(1, &buf->thrown_env);
}
