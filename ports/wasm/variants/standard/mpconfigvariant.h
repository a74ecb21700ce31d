// standard: the module set most users expect (json, re, random, asyncio,
// math, cmath, binascii, heapq, hashlib, struct, collections, io, time, os,
// array, deflate, errno, select, gc, micropython).
#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)
#define MICROPY_PY_CMATH         (1)
#define MICROPY_PY_DEFLATE_COMPRESS (1)
// MicroPython 1.26 turns these on at the EXTRA_FEATURES level; they serve
// embedded hardware (frame buffers, C structs at addresses) and belong to full.
#define MICROPY_PY_FRAMEBUF      (0)
#define MICROPY_PY_UCTYPES       (0)
