// Port part of the `time` module (included by extmod/modtime.c).
#include <time.h>

#include "py/obj.h"
#include "py/mphal.h"
#include "shared/timeutils/timeutils.h"

static mp_obj_t mp_time_time_get(void) {
    #if MICROPY_PY_BUILTINS_FLOAT
    return mp_obj_new_float((mp_float_t)mp_hal_time_ns() / 1e9);
    #else
    return mp_obj_new_int_from_ull(mp_hal_time_ns() / 1000000000ull);
    #endif
}

static mp_obj_t mp_time_localtime_get(void) {
    // WASI has no time zones: local time is UTC.
    timeutils_struct_time_t tm;
    timeutils_seconds_since_epoch_to_struct_time(mp_hal_time_ns() / 1000000000ull, &tm);
    mp_obj_t fields[8] = {
        mp_obj_new_int(tm.tm_year), mp_obj_new_int(tm.tm_mon), mp_obj_new_int(tm.tm_mday),
        mp_obj_new_int(tm.tm_hour), mp_obj_new_int(tm.tm_min), mp_obj_new_int(tm.tm_sec),
        mp_obj_new_int(tm.tm_wday), mp_obj_new_int(tm.tm_yday),
    };
    return mp_obj_new_tuple(8, fields);
}

static void mp_time_sleep(mp_obj_t seconds_o) {
    #if MICROPY_PY_BUILTINS_FLOAT
    mp_float_t seconds = mp_obj_get_float(seconds_o);
    #else
    mp_int_t seconds = mp_obj_get_int(seconds_o);
    #endif
    if (seconds > 0) {
        // In nanoseconds, capped where 64 bits end (585 years): the float
        // conversion of anything larger is undefined.
        #if MICROPY_PY_BUILTINS_FLOAT
        mp_float_t ns = seconds * (mp_float_t)1e9;
        mpwasm_sleep_ns(ns >= (mp_float_t)1.8e19 ? UINT64_MAX : (uint64_t)ns);
        #else
        mpwasm_sleep_ns((uint64_t)seconds * 1000000000u);
        #endif
    }
}
