// Entry point of the WASI command module:
//   micropython.wasm [-X heapsize=N] [-X gcthreshold=BYTES] [-c CODE | -m MODULE | FILE | -] [args...]
//
// Exit codes follow CPython: 0 on success, 1 for an uncaught exception (its
// traceback goes to stderr), n for `SystemExit(n)`, 2 for bad usage.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "py/mphal.h"
#include "py/runtime.h"
#include "py/repl.h"
#include "genhdr/mpversion.h"

#include "runtime.h"

#define EXIT_USAGE (2)

static void print_usage(const char *prog) {
    mp_printf(&mp_stderr_print,
        "usage: %s [-X heapsize=N[k|m]] [-X gcthreshold=BYTES] [-c CODE | -m MODULE | FILE | -] [arg ...]\n"
        "  -c CODE    run CODE\n"
        "  -m MODULE  run MODULE as __main__\n"
        "  FILE       run the script FILE\n"
        "  -          read the program from stdin\n"
        "  (none)     interactive prompt on stdin\n",
        prog);
}

// Reads the whole of stdin into `program`.
static void read_all_stdin(vstr_t *program) {
    vstr_init(program, 256);
    for (;;) {
        char *chunk = vstr_add_len(program, 256);
        ssize_t n = read(STDIN_FILENO, chunk, 256);
        vstr_cut_tail_bytes(program, 256 - (n > 0 ? n : 0));
        if (n <= 0) {
            return;
        }
    }
}

// Reads one line into `line` (emptied first); false at end of input.
static bool read_line(vstr_t *line, const char *prompt) {
    vstr_reset(line);
    return mp_hal_readline(line, prompt) == 0 || vstr_len(line) > 0;
}

static int run_repl(void) {
    bool interactive = isatty(STDIN_FILENO);
    if (interactive) {
        mp_hal_stdout_tx_str(MICROPY_BANNER_NAME_AND_VERSION "; " MICROPY_BANNER_MACHINE "\n");
    }
    vstr_t line;
    vstr_init(&line, 64);
    vstr_t more;
    vstr_init(&more, 32);
    int status = 0;
    while (read_line(&line, interactive ? ">>> " : "")) {
        while (mp_repl_continue_with_input(vstr_null_terminated_str(&line))) {
            bool got = read_line(&more, interactive ? "... " : "");
            vstr_add_byte(&line, '\n');
            vstr_add_strn(&line, vstr_str(&more), vstr_len(&more));
            if (!got) {
                break;
            }
        }
        status = mpwasm_run_source(MP_QSTR__lt_stdin_gt_, vstr_str(&line), vstr_len(&line), MP_PARSE_SINGLE_INPUT, true,
            false);
        if (status & MPWASM_FORCED_EXIT) {
            break;
        }
    }
    vstr_clear(&more);
    vstr_clear(&line);
    if (interactive && !(status & MPWASM_FORCED_EXIT)) {
        mp_hal_stdout_tx_str("\n");
    }
    // At end of input the REPL exits cleanly unless SystemExit said
    // otherwise; errors were already reported statement by statement.
    return (status & MPWASM_FORCED_EXIT) ? status : 0;
}

// Parses "N[k|m]" (16k to 1024m).
static bool parse_heap_size(const char *value, size_t *heap_size) {
    char *end;
    unsigned long long size = strtoull(value, &end, 0);
    if (end == value) {
        return false;
    }
    if (*end == 'k' || *end == 'K') {
        size *= 1024;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        size *= 1024 * 1024;
        end++;
    }
    if (*end != '\0' || size < 16 * 1024 || size > 1024ull * 1024 * 1024) {
        return false;
    }
    *heap_size = (size_t)size;
    return true;
}

// Applies one `-X` option; false if it is unknown or malformed.
static bool parse_x_option(const char *option, size_t *heap_size, long *gc_threshold) {
    if (strncmp(option, "heapsize=", 9) == 0) {
        return parse_heap_size(option + 9, heap_size);
    }
    if (strncmp(option, "gcthreshold=", 12) == 0) {
        char *end;
        *gc_threshold = strtol(option + 12, &end, 0);
        return end != option + 12 && *end == '\0' && *gc_threshold >= 0;
    }
    // MicroPython's test runners always pass emit=bytecode: accepted, as
    // bytecode is this port's only emitter.
    return strcmp(option, "emit=bytecode") == 0;
}

static void set_sys_argv(int argc, char **argv) {
    mp_obj_list_init(MP_OBJ_TO_PTR(mp_sys_argv), 0);
    for (int i = 0; i < argc; i++) {
        mp_obj_list_append(mp_sys_argv, mp_obj_new_str_from_cstr(argv[i]));
    }
}

// sys.path[0] is the script's folder, or "" for -c, -m and the REPL (as CPython).
static void set_path_head(const char *script) {
    mp_obj_list_t *path = MP_OBJ_TO_PTR(mp_sys_path);
    const char *slash = script ? strrchr(script, '/') : NULL;
    path->items[0] = slash ? mp_obj_new_str_via_qstr(script, slash - script) : MP_OBJ_NEW_QSTR(MP_QSTR_);
}

// Runs the program the arguments from `arg` on name.
static int run_program(int argc, char **argv, int arg) {
    if (arg >= argc) {
        set_sys_argv(1, (char *[]) {""});
        set_path_head(NULL);
        return run_repl();
    }
    const char *option = argv[arg];
    if (strcmp(option, "-c") == 0 || strcmp(option, "-m") == 0) {
        if (arg + 1 >= argc) {
            mp_printf(&mp_stderr_print, "%s: argument expected for the %s option\n", argv[0], option);
            print_usage(argv[0]);
            return EXIT_USAGE;
        }
        // sys.argv[0] is "-c" for code (as CPython) and the module's name for -m.
        set_sys_argv(argc - arg - 1, argv + arg + 1);
        set_path_head(NULL);
        if (option[1] == 'm') {
            return mpwasm_run_module(argv[arg + 1]);
        }
        mp_obj_list_store(mp_sys_argv, MP_OBJ_NEW_SMALL_INT(0), mp_obj_new_str("-c", 2));
        const char *code = argv[arg + 1];
        return mpwasm_run_source(MP_QSTR__lt_string_gt_, code, strlen(code), MP_PARSE_FILE_INPUT, false, false);
    }
    if (strcmp(option, "-h") == 0 || strcmp(option, "--help") == 0) {
        print_usage(argv[0]);
        return 0;
    }
    if (strcmp(option, "-") == 0) {
        set_sys_argv(argc - arg, argv + arg);
        set_path_head(NULL);
        vstr_t program;
        read_all_stdin(&program);
        int status = mpwasm_run_source(MP_QSTR__lt_stdin_gt_, vstr_str(&program), vstr_len(&program),
            MP_PARSE_FILE_INPUT, false, false);
        vstr_clear(&program);
        return status;
    }
    if (option[0] == '-') {
        mp_printf(&mp_stderr_print, "%s: unknown option %s\n", argv[0], option);
        print_usage(argv[0]);
        return EXIT_USAGE;
    }
    if (access(option, R_OK) != 0) {
        // As CPython: a missing script is a usage error, not a traceback.
        mp_printf(&mp_stderr_print, "%s: can't open file '%s': %s (is its directory preopened, e.g. wasmtime --dir?)\n", argv[0],
            option, strerror(errno));
        return EXIT_USAGE;
    }
    set_sys_argv(argc - arg, argv + arg);
    set_path_head(option);
    return mpwasm_run_file(option);
}

// The WASI preview 1 adapter that makes this module a wasi:cli/command
// component (dist/component) allocates its own state through the module's
// `cabi_realloc` when there is one; otherwise it grows linear memory itself,
// and this wasi-libc's malloc, which assumes it alone grows memory, later
// hands out the adapter's pages (the adapter then fails its state check).
__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {
    // malloc aligns to 16 bytes, more than any canonical-ABI type needs.
    (void)old_size;
    (void)align;
    void *grown = realloc(ptr, new_size ? new_size : 1);
    if (grown == NULL) {
        abort();
    }
    return grown;
}

int main(int argc, char **argv) {
    size_t heap_size = MPWASM_DEFAULT_HEAP_SIZE;
    int arg = 1;
    long gc_threshold = -1;
    while (arg < argc && strcmp(argv[arg], "-X") == 0) {
        if (arg + 1 >= argc || !parse_x_option(argv[arg + 1], &heap_size, &gc_threshold)) {
            mp_printf(&mp_stderr_print, "%s: -X expects heapsize=N[k|m] (16k to 1024m) or gcthreshold=BYTES\n",
                argv[0]);
            return EXIT_USAGE;
        }
        arg += 2;
    }
    // WASI has no working directory: wasi-libc starts every program at "/".
    // A host that passes PWD (and preopens it) gets relative paths resolved
    // as in its own shell; if that directory is not reachable, "/" stays.
    const char *pwd = getenv("PWD");
    if (pwd != NULL && pwd[0] == '/') {
        (void)chdir(pwd);
    }
    if (!mpwasm_runtime_init(heap_size)) {
        mp_printf(&mp_stderr_print, "%s: cannot allocate a %u-byte heap\n", argv[0], (unsigned)heap_size);
        return 1;
    }
    if (gc_threshold >= 0) {
        // As gc.threshold(BYTES) from the first allocation on; 0 or 1
        // collects before every allocation (the GC torture test).
        MP_STATE_MEM(gc_alloc_threshold) = (size_t)gc_threshold / MICROPY_BYTES_PER_GC_BLOCK;
    }
    int status = mpwasm_run_atexit(run_program(argc, argv, arg));
    mpwasm_runtime_deinit();
    return status & 0xff;
}
