// MicroPython configuration for the wasm32-wasi port.
//
// Variants (variants/<name>/mpconfigvariant.h) choose the ROM level and the
// optional modules; this file holds what every variant shares: how the port
// talks to WASI, how non-local return and the GC work, and the C types.
#include <stdint.h>
#include <stdlib.h>
#include <alloca.h>

#include "mpconfigvariant.h"

#ifndef MICROPY_CONFIG_ROM_LEVEL
#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)
#endif

// Non-local return: setjmp/longjmp lowered by clang to wasm exception handling
// (see include/setjmp.h). No JavaScript trampolines are involved.
#define MICROPY_NLR_SETJMP              (1)

// Memory management. The heap is malloc'd at start-up with a size chosen on the
// command line; Python call frames live on a separate pystack so deep Python
// recursion costs no C stack (MICROPY_STACKLESS) and ends in RecursionError.
#define MICROPY_ENABLE_GC               (1)
#define MICROPY_ENABLE_FINALISER        (1)
#define MICROPY_ENABLE_PYSTACK          (1)
#define MICROPY_STACKLESS               (1)
#define MICROPY_STACK_CHECK             (1)
#define MICROPY_ALLOC_PATH_MAX          (256)
// The parser's two stacks grow by this many entries at a time: at upstream's
// 16, source nested tens of thousands deep ('[' * 30000) spent seconds
// copying its stacks from one allocation to the next.
#define MICROPY_ALLOC_PARSE_RULE_INC    (256)
#define MICROPY_ALLOC_PARSE_RESULT_INC  (256)
#define MICROPY_ENABLE_EMERGENCY_EXCEPTION_BUF (1)
#define MICROPY_EMERGENCY_EXCEPTION_BUF_SIZE (256)
#define MICROPY_GC_ALLOC_THRESHOLD      (1)

// Language and error reporting.
#define MICROPY_LONGINT_IMPL            (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_FLOAT_IMPL              (MICROPY_FLOAT_IMPL_DOUBLE)
#define MICROPY_ERROR_REPORTING         (MICROPY_ERROR_REPORTING_DETAILED)
#define MICROPY_WARNINGS                (1)
#define MICROPY_ERROR_PRINTER           (&mp_stderr_print)
#define MICROPY_DEBUG_PRINTER           (&mp_stderr_print)
#define MICROPY_USE_INTERNAL_ERRNO      (0)
// Upstream's list of errno names, the file-system errors the npm package's
// in-memory files raise (ENOSPC past its size limit, EROFS in a read-only
// mount, ENOTDIR), plus WASI's own ENOTCAPABLE: a path
// outside the folders the host granted then reads `[Errno 76] ENOTCAPABLE`
// rather than a bare number. (The native reference build has no such errno.)
#if defined(__wasi__)
#define MP_ENOTCAPABLE ENOTCAPABLE
#define MPWASM_ERRNO_WASI X(ENOTCAPABLE)
#else
#define MPWASM_ERRNO_WASI
#endif
#define MICROPY_PY_ERRNO_LIST \
    X(EPERM) X(ENOENT) X(EIO) X(EBADF) X(EAGAIN) X(ENOMEM) X(EACCES) X(EEXIST) X(ENODEV) X(EISDIR) \
    X(EINVAL) X(EOPNOTSUPP) X(EADDRINUSE) X(ECONNABORTED) X(ECONNRESET) X(ENOBUFS) X(ENOTCONN) \
    X(ETIMEDOUT) X(ECONNREFUSED) X(EHOSTUNREACH) X(EALREADY) X(EINPROGRESS) X(ENOSPC) X(EROFS) X(ENOTDIR) MPWASM_ERRNO_WASI
#define MICROPY_USE_INTERNAL_PRINTF     (0)
#define MICROPY_PERSISTENT_CODE_LOAD    (1)
// runPythonAsync (npm) compiles its snippet with top-level await, for that
// compile only (runtime.c): the snippet becomes a coroutine for asyncio.
#define MICROPY_COMP_ALLOW_TOP_LEVEL_AWAIT (1)
#define MICROPY_KBD_EXCEPTION           (1)
#define MICROPY_HELPER_REPL             (1)
#define MICROPY_REPL_INFO               (1)
#define MICROPY_PY_SYS_ARGV             (1)
#define MICROPY_MODULE_OVERRIDE_MAIN_IMPORT (1)
#define MICROPY_PY_SYS_EXIT             (1)
#define MICROPY_PY_SYS_STDFILES         (1)
#define MICROPY_PY_SYS_PLATFORM         "wasi"
#define MICROPY_MODULE_FROZEN_MPY       (1)
#define MICROPY_QSTR_EXTRA_POOL         mp_qstr_frozen_const_pool

// Files come from WASI preopened directories through the POSIX VFS.
#define MICROPY_VFS                     (1)
#define MICROPY_VFS_POSIX               (1)
// WASI preview 1 cannot report file-system capacity: no statvfs() at all,
// rather than one that always fails (VfsPosix would advertise it).
#define MICROPY_PY_OS_STATVFS           (0)
#define MICROPY_READER_VFS              (1)
#define MICROPY_EPOCH_IS_1970           (1)
#define MICROPY_TIMESTAMP_IMPL          (MICROPY_TIMESTAMP_IMPL_TIME_T)

// Modules whose port-specific parts live in this folder.
#define MICROPY_PY_TIME_GMTIME_LOCALTIME_MKTIME (1)
#define MICROPY_PY_TIME_TIME_TIME_NS    (1)
#define MICROPY_PY_TIME_CUSTOM_SLEEP    (1)
#define MICROPY_PY_TIME_INCLUDEFILE     "modtime_port.c"
#define MICROPY_PY_OS_INCLUDEFILE       "modos_port.c"
#define MICROPY_PY_OS_GETENV_PUTENV_UNSETENV (1)
#define MICROPY_PY_OS_URANDOM           (1)
#define MICROPY_PY_RANDOM_SEED_INIT_FUNC (mp_wasm_random_seed())

#define MICROPY_HW_BOARD_NAME           "wasm32"
#define MICROPY_HW_MCU_NAME             "wasi"

// mp_int_t must be pointer-sized: 32 bits on wasm32, 64 bits in the native
// build of this port that `cargo xtask conformance` uses as its reference.
#if INTPTR_MAX == INT32_MAX
#define MP_SSIZE_MAX (0x7fffffff)
typedef int mp_int_t;
typedef unsigned int mp_uint_t;
#else
typedef long mp_int_t;
typedef unsigned long mp_uint_t;
#endif
typedef long long mp_off_t;

#define MP_STATE_PORT MP_STATE_VM

// The port is single-threaded and has no interrupts: nothing to poll.
#define MICROPY_EVENT_POLL_HOOK

extern const struct _mp_print_t mp_stderr_print;
uint32_t mp_wasm_random_seed(void);
