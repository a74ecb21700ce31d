// setjmp/longjmp as clang 19 lowers them with `-mllvm -wasm-enable-sjlj
// -mexception-handling`: legacy try/catch around calls, and a throw of the
// `__c_longjmp` tag. Built without libc into a module with no imports, so
// both engines in the tests of xtask/src/postprocess/exnref.rs can run it.
// Lines starting with `// expect` are the calls they check.

typedef struct { unsigned long slots[8]; } jmp_buf[1];
int setjmp(jmp_buf env);
_Noreturn void longjmp(jmp_buf env, int val);

static jmp_buf outer, inner;

__attribute__((noinline)) static void descend(int depth, int val) {
    if (depth == 0)
        longjmp(outer, val);
    descend(depth - 1, val + 1);
}

// A longjmp from several frames down.
// expect across_frames 0 -> 100
// expect across_frames 6 -> 106
__attribute__((export_name("across_frames"))) int across_frames(int depth) {
    int r = setjmp(outer);
    if (r == 0)
        descend(depth, 100);
    return r;
}

// Two live buffers in one frame; `which` picks the one to jump to, and the
// volatile local shows the state at the time of the jump.
// expect nested 0 -> 1
// expect nested 1 -> 12
// expect nested 2 -> 23
__attribute__((export_name("nested"))) int nested(int which) {
    volatile int trail = 0;
    int r = setjmp(outer);
    if (r != 0)
        return trail * 10 + r;
    trail = 1;
    int s = setjmp(inner);
    if (s != 0)
        return trail * 10 + s;
    if (which == 1)
        longjmp(inner, 2);
    if (which == 2) {
        trail = 2;
        longjmp(outer, 3);
    }
    return 1;
}

// The middle frame has its own setjmp, so it catches the longjmp, finds the
// buffer is not its own and throws it on to the frame that owns it.
__attribute__((noinline)) static int middle(int val) {
    volatile int seen = 0;
    if (setjmp(inner) != 0)
        return -1;
    seen = val;
    descend(2, seen);
    return -2;
}

// expect through_setjmp_frame 7 -> 9
__attribute__((export_name("through_setjmp_frame"))) int through_setjmp_frame(int val) {
    int r = setjmp(outer);
    if (r == 0)
        return middle(val);
    return r;
}

// The value passed to longjmp comes back from setjmp, with 0 turned into 1.
// expect round_trip 0 -> 1
// expect round_trip -7 -> -7
// expect round_trip 123456 -> 123456
__attribute__((export_name("round_trip"))) int round_trip(int val) {
    volatile int jumped = 0;
    int r = setjmp(outer);
    if (!jumped) {
        jumped = 1;
        longjmp(outer, val);
    }
    return r;
}

// One setjmp returning again and again.
// expect count_jumps 5 -> 5
__attribute__((export_name("count_jumps"))) int count_jumps(int n) {
    int r = setjmp(outer);
    if (r < n)
        longjmp(outer, r + 1);
    return r;
}
