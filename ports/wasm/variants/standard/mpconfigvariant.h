// standard: the module set most users expect (json, re, random, asyncio,
// math, cmath, binascii, heapq, hashlib, struct, collections, io, time, os,
// array, deflate, errno, select, gc, micropython).
#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)
#define MICROPY_PY_CMATH         (1)
#define MICROPY_PY_DEFLATE_COMPRESS (1)
