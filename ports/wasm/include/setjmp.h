// setjmp/longjmp for wasm32 built with `-mllvm -wasm-enable-sjlj`.
//
// The wasi-libc shipped by Debian bookworm predates its libsetjmp, so the port
// brings its own header and runtime (sjlj_runtime.c). Clang rewrites every call
// to `setjmp`/`longjmp` into calls to `__wasm_setjmp`, `__wasm_setjmp_test` and
// `__wasm_longjmp`; the buffer only has to hold what those three functions keep.
#ifndef MPWASM_SETJMP_H
#define MPWASM_SETJMP_H

typedef struct {
    void *func_invocation_id;
    unsigned int label;
    // Payload thrown with the __c_longjmp tag: the env pointer and the value.
    void *thrown_env;
    int thrown_value;
} __mpwasm_jmp_buf;

typedef __mpwasm_jmp_buf jmp_buf[1];

int setjmp(jmp_buf env) __attribute__((returns_twice));
_Noreturn void longjmp(jmp_buf env, int val);

#endif
