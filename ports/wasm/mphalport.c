// WASI-backed implementations of MicroPython's HAL functions.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "py/mphal.h"
#include "py/mpprint.h"
#include "py/runtime.h"
#include "py/stream.h"

static void write_all(int fd, const char *str, size_t len) {
    while (len > 0) {
        ssize_t written = write(fd, str, len);
        if (written <= 0) {
            // The host closed or refused the stream (e.g. an output cap was
            // reached); dropping output is the only safe thing left to do.
            return;
        }
        str += written;
        len -= written;
    }
}

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len) {
    write_all(STDOUT_FILENO, str, len);
    return len;
}

static void stderr_print_strn(void *env, const char *str, size_t len) {
    (void)env;
    write_all(STDERR_FILENO, str, len);
}

const mp_print_t mp_stderr_print = {NULL, stderr_print_strn};

int mp_hal_stdin_rx_chr(void) {
    unsigned char c;
    ssize_t n = read(STDIN_FILENO, &c, 1);
    if (n <= 0) {
        // End of input: Ctrl-D ends the REPL the same way as on a terminal.
        return 4; // Ctrl-D
    }
    return c == '\n' ? '\r' : c;
}

// Reads one line without its newline. Returns 0, or 4 (Ctrl-D) at end of
// input, as shared/readline does, so input() raises EOFError.
int mp_hal_readline(vstr_t *line, const char *prompt) {
    mp_hal_stdout_tx_str(prompt);
    for (;;) {
        char c;
        ssize_t n = read(STDIN_FILENO, &c, 1);
        if (n <= 0) {
            return 4;
        }
        if (c == '\n') {
            return 0;
        }
        vstr_add_byte(line, c);
    }
}

uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags) {
    // stdin/stdout are always "ready": reads block in the host.
    return poll_flags & (MP_STREAM_POLL_RD | MP_STREAM_POLL_WR);
}

void mp_hal_set_interrupt_char(int c) {
    // No signals under WASI; hosts stop runaway code with fuel or epochs.
    (void)c;
}

static uint64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

mp_uint_t mp_hal_ticks_ms(void) {
    return (mp_uint_t)(monotonic_ns() / 1000000u);
}

mp_uint_t mp_hal_ticks_us(void) {
    return (mp_uint_t)(monotonic_ns() / 1000u);
}

uint64_t mp_hal_time_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void mpwasm_sleep_ns(uint64_t ns) {
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u) };
    nanosleep(&ts, NULL);
}

// 64-bit arithmetic: 32 bits of microseconds wrap after 71 minutes, so
// sleep_ms(5000000) slept for 49 minutes less than asked.
void mp_hal_delay_us(mp_uint_t us) {
    mpwasm_sleep_ns((uint64_t)us * 1000u);
}

void mp_hal_delay_ms(mp_uint_t ms) {
    mpwasm_sleep_ns((uint64_t)ms * 1000000u);
}

void mp_hal_get_random(size_t n, void *buf) {
    // getentropy() is WASI random_get; it serves at most 256 bytes a call.
    unsigned char *out = buf;
    while (n > 0) {
        size_t chunk = n < 256 ? n : 256;
        if (getentropy(out, chunk) != 0) {
            mp_raise_OSError(errno);
        }
        out += chunk;
        n -= chunk;
    }
}

uint32_t mp_wasm_random_seed(void) {
    uint32_t seed;
    mp_hal_get_random(sizeof(seed), &seed);
    return seed;
}
