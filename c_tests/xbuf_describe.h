/*
 * describe(): an xbuf_bufferinfo that a consumer fills itself over memory it owns (no
 * exporter), for the C tests and the benchmarks.
 */
#ifndef XBUF_DESCRIBE_H
#define XBUF_DESCRIBE_H

#include <stddef.h>

#include "xbuf.h"

/* A consumer-described view of memory its caller owns. */
static inline xbuf_bufferinfo describe(void *buf, const char *fmt, ptrdiff_t itemsize, int ndim,
                                       ptrdiff_t *shape, ptrdiff_t *strides) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    ptrdiff_t n = itemsize;
    int d;
    for (d = 0; d < ndim; d++) n *= shape[d];
    v.buf = buf;
    v.len = n;
    v.itemsize = itemsize;
    v.ndim = ndim;
    v.format = fmt;
    v.shape = shape;
    v.strides = strides;
    return v;
}

#endif /* XBUF_DESCRIBE_H */
