// C++ exceptions as clang 19 lowers them with `-fwasm-exceptions`: besides
// try/catch this brings `rethrow` (in the catch_all pads that run
// destructors while unwinding) and `delegate` (around calls inside the catch
// pads of typed handlers). Built without libc++abi into a module with no
// imports; the runtime entry points it needs are in cxx-eh-rt.cpp.
// Lines starting with `// expect` are the calls the tests in
// xtask/src/postprocess/exnref.rs check.

// The int thrown by the exception being handled (the innermost one).
extern "C" int value();

static int thrown[16];
static int throws;
__attribute__((noinline)) static void raise(int v) {
    if (v) {
        int *slot = &thrown[throws++ % 16];
        *slot = v;
        __builtin_wasm_throw(0, slot);
    }
}

static int trail;
struct Note {
    int digit;
    ~Note() { trail = trail * 10 + digit; }
};

__attribute__((noinline)) static void two_frames(int v) {
    Note a{1};
    {
        Note b{2};
        raise(v);
    }
}

// Destructors run in order while the exception unwinds through frames.
// expect unwind 0 -> 213
// expect unwind 5 -> 213005
extern "C" __attribute__((export_name("unwind"))) int unwind(int v) {
    trail = 0;
    try {
        Note c{3};
        two_frames(v);
    } catch (...) {
        return trail * 1000 + value();
    }
    return trail;
}

// expect rethrow 0 -> -1
// expect rethrow 7 -> 707
extern "C" __attribute__((export_name("rethrow"))) int rethrow(int v) {
    int seen = 0;
    try {
        try {
            raise(v);
        } catch (...) {
            seen = value();
            throw;
        }
    } catch (...) {
        return value() * 100 + seen;
    }
    return -1;
}

// expect catch_in_catch 0 -> 0
// expect catch_in_catch 3 -> 403
extern "C" __attribute__((export_name("catch_in_catch"))) int catch_in_catch(int v) {
    int r = 0;
    try {
        raise(v);
    } catch (...) {
        Note n{5};
        try {
            raise(v + 1);
        } catch (...) {
            r = value();
        }
        r = r * 100 + value();
    }
    return r;
}

// An exception thrown by a handler, past that handler's destructor.
// expect escape_from_handler 2 -> 603
extern "C" __attribute__((export_name("escape_from_handler"))) int escape_from_handler(int v) {
    trail = 0;
    try {
        try {
            raise(v);
        } catch (...) {
            Note n{6};
            raise(value() + 1);
        }
    } catch (...) {
        return trail * 100 + value();
    }
    return -1;
}

// expect loop_catch 8 -> 903
extern "C" __attribute__((export_name("loop_catch"))) int loop_catch(int n) {
    int s = 0;
    for (int i = 0; i < n; i++) {
        try {
            raise(i & 1 ? i : 0);
            s += 1;
        } catch (...) {
            s += 100 * value();
            if (value() > 4)
                break;
        }
    }
    return s;
}

// Cleanups and a nested try inside a handler that then rethrows.
// expect guarded_rethrow 0 -> 87
// expect guarded_rethrow 4 -> 5008974
extern "C" __attribute__((export_name("guarded_rethrow"))) int guarded_rethrow(int v) {
    trail = 0;
    try {
        Note a{7};
        try {
            Note b{8};
            raise(v);
        } catch (...) {
            Note c{9};
            try {
                raise(value() + 1);
            } catch (...) {
                trail += 1000 * value();
            }
            throw;
        }
    } catch (...) {
        return trail * 10 + value();
    }
    return trail;
}

// The same with typed handlers: calls in their catch pads unwind to a
// different pad than the try around them, which clang expresses with
// `delegate`.
// expect typed 0 -> 1
// expect typed 4 -> 500214
extern "C" __attribute__((export_name("typed"))) int typed(int v) {
    trail = 0;
    try {
        Note a{1};
        try {
            raise(v);
        } catch (int e) {
            Note c{2};
            try {
                raise(e + 1);
            } catch (int f) {
                trail += 100 * f;
            }
            throw;
        }
    } catch (int e) {
        return trail * 10 + e;
    }
    return trail;
}
