// Just enough of a C++ runtime for cxx-eh.cpp, in its own translation unit
// as libc++abi's would be (clang 19 crashes when a caller can see that
// `__cxa_rethrow` never returns). Compiled with `-fwasm-exceptions` so that
// `__builtin_wasm_throw(0, ..)` defines the `__cpp_exception` tag. Every
// exception thrown there is a pointer to an int.

static void *caught[16];
static int handlers;

extern "C" {
void *__cxa_begin_catch(void *exception) { return caught[handlers++] = exception; }
void __cxa_end_catch() { --handlers; }
void __cxa_rethrow() { __builtin_wasm_throw(0, caught[handlers - 1]); }
int value() { return *(int *)caught[handlers - 1]; }
}

// A catch pad with typed handlers asks the personality which handler
// matches (through the selector in this context) before comparing type ids.
// `catch (int)` is the only type the fixture catches, so it is always the
// first: selector 1. Its type_info must exist but is never read.
struct LandingPadContext {
    unsigned lpad_index;
    const void *lsda;
    int selector;
};
extern "C" {
LandingPadContext __wasm_lpad_context;
int _Unwind_CallPersonality(void *) {
    __wasm_lpad_context.selector = 1;
    return 0;
}
const void *_ZTIi[2] = {};
}

// Reached only if a destructor throws while unwinding, which cxx-eh.cpp never does.
namespace std {
[[noreturn]] void terminate() noexcept { __builtin_trap(); }
}
