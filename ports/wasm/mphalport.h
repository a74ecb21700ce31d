// Hardware abstraction for the wasm32-wasi port: WASI is the hardware.
#ifndef MPWASM_MPHALPORT_H
#define MPWASM_MPHALPORT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define mp_hal_ticks_cpu() 0

// PEP 475: retry a syscall interrupted by EINTR. WASI has no signals, so the
// loop only ever runs once, but extmod's POSIX VFS expects this macro.
#define MP_HAL_RETRY_SYSCALL(ret, syscall, raise) { \
        for (;;) { \
            ret = syscall; \
            if (ret == -1) { \
                int err = errno; \
                if (err == EINTR) { \
                    continue; \
                } \
                raise; \
            } \
            break; \
        } \
}

void mp_hal_set_interrupt_char(int c);

// input() and the REPL read whole lines from WASI stdin; line editing, if
// any, is the host terminal's job.
struct _vstr_t;
#define mp_hal_readline mp_hal_readline
int mp_hal_readline(struct _vstr_t *line, const char *prompt);
void mp_hal_get_random(size_t n, void *buf);
void mp_hal_delay_us(mp_uint_t us);
// Sleeps for `ns` nanoseconds (WASI's poll_oneoff, which hosts may bound).
void mpwasm_sleep_ns(uint64_t ns);

#endif
