// qstrs used by the port that the scanner cannot see in the C sources.
// *FORMAT-OFF*
Q(/lib)
// modhost.c's library build calls json.dumps/json.loads; the qstr scan
// reads it without MPWASM_LIBRARY, so they are listed here.
Q(dumps)
Q(loads)
// ... and wraps a pending JavaScript Promise with _asyncjs.promise.
Q(_asyncjs)
Q(promise)
