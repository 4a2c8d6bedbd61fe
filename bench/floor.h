/*
 * Two prototypes of a SIMPLE get + release, for bench_core's per-call table: they show how far
 * below CPython such a round trip can go on this machine, and what the checks the header
 * promises cost in plain C. Neither is part of the library, and neither is a usable exporter.
 *
 * - floor: the two atomic read-modify-writes on an object's count (the export counted on get,
 *   dropped on release) and the fields of the view written and cleared; no check at all.
 * - checked: what xbuf_get_buffer and xbuf_release check for this request, in C, on an object
 *   laid out like the library's: NULL arguments, the object's alignment and tag, structsize,
 *   an empty view, the request's flags, the exclusive bit and the count's saturation after the
 *   count, WRITABLE against read-only memory, the seal that binds a view to its address and
 *   releaser, the releaser's tag, the view exports against the locks (decided on the count the
 *   compare-and-swap changes), and the whole struct written and emptied.
 *
 * Fields are written one by one: a compiler turns a whole-struct assignment or memset of this
 * size into `rep stos`, which costs more than the round trip itself.
 */
#ifndef XBUF_BENCH_FLOOR_H
#define XBUF_BENCH_FLOOR_H

#include <stdatomic.h>
#include <stdint.h>

#include "xbuf.h"

#define PROTO_ONE ((UINT64_C(1) << 36) | UINT64_C(1))
#define PROTO_LIVE UINT64_C(0x786275664f424a31)
#define PROTO_SATURATED UINT64_C(0xc000000800000000)

typedef struct {
    void *ptr;
    size_t len;
    int readonly;
} proto_cell;

typedef struct {
    uint64_t magic;
    _Atomic uint64_t word;
    _Atomic uint64_t locks;
    proto_cell *cell;
    int ignores_views;
} proto_object;

__attribute__((noinline)) static int floor_get(proto_object *o, xbuf_bufferinfo *v, int flags) {
    uint64_t old = atomic_fetch_add_explicit(&o->word, PROTO_ONE, memory_order_acquire);
    (void)flags;
    if (old >> 63) {
        atomic_fetch_sub_explicit(&o->word, PROTO_ONE, memory_order_relaxed);
        return -1;
    }
    v->buf = o->cell->ptr;
    v->releaser = (xbuf_object *)o;
    v->len = (ptrdiff_t)o->cell->len;
    v->itemsize = 1;
    v->readonly = 0;
    v->ndim = 1;
    v->format = NULL;
    v->shape = NULL;
    v->strides = NULL;
    v->suboffsets = NULL;
    v->internal = NULL;
    return 0;
}

__attribute__((noinline)) static int floor_release(xbuf_bufferinfo *v) {
    proto_object *o = (proto_object *)v->releaser;
    if (!o) return 0;
    atomic_fetch_sub_explicit(&o->word, PROTO_ONE, memory_order_release);
    v->buf = NULL;
    v->releaser = NULL;
    v->len = 0;
    v->itemsize = 0;
    v->readonly = 0;
    v->ndim = 0;
    v->format = NULL;
    v->shape = NULL;
    v->strides = NULL;
    v->suboffsets = NULL;
    v->internal = NULL;
    v->_private[0] = v->_private[1] = 0;
    return 0;
}

static inline uintptr_t proto_seal(const void *v, const void *r, uintptr_t block) {
    uintptr_t x = (uintptr_t)v ^ (((uintptr_t)r << 17) | ((uintptr_t)r >> 47)) ^
                  ((block << 31) | (block >> 33)) ^ (uintptr_t)UINT64_C(0x5851f42d4c957f2d);
    return x * (uintptr_t)UINT64_C(0x9e3779b97f4a7c15);
}

/* A refusal: never taken in the benchmark. */
__attribute__((noinline, cold)) static int proto_refuse(void) { return -1; }

/* Every field after structsize, the inline storage and the device written. */
static inline void proto_write(xbuf_bufferinfo *v, void *buf, xbuf_object *r, ptrdiff_t len, int ro, int one,
                               uintptr_t seal) {
    int k;
    v->buf = buf;
    v->releaser = r;
    v->len = len;
    v->itemsize = one;
    v->readonly = ro;
    v->ndim = one;
    v->format = NULL;
    v->shape = NULL;
    v->strides = NULL;
    v->suboffsets = NULL;
    v->internal = NULL;
    v->_private[0] = 0;
    v->_private[1] = seal;
    for (k = 0; k < XBUF_INLINE_LAYOUT; k++) v->_inline_layout[k] = 0;
    for (k = 0; k < XBUF_INLINE_FORMAT; k++) v->_inline_format[k] = 0;
    v->device_type = one ? XBUF_DEVICE_CPU : 0;
    v->device_id = 0;
}

__attribute__((noinline)) static int checked_get(proto_object *o, xbuf_bufferinfo *v, int flags) {
    uint64_t old;
    proto_cell *c;
    if (!v || !o) return proto_refuse();
    if (((uintptr_t)o & 7) || o->magic != PROTO_LIVE) return proto_refuse();
    if (v->structsize != sizeof *v || v->releaser) return proto_refuse();
    if (flags & ~(XBUF_WRITABLE | XBUF_DEVICE)) return proto_refuse();
    old = atomic_fetch_add_explicit(&o->word, PROTO_ONE, memory_order_acquire);
    if (old & PROTO_SATURATED) {
        atomic_fetch_sub_explicit(&o->word, PROTO_ONE, memory_order_relaxed);
        return proto_refuse();
    }
    c = o->cell;
    if (!c) return proto_refuse();
    if ((flags & XBUF_WRITABLE) && c->readonly) {
        atomic_fetch_sub_explicit(&o->word, PROTO_ONE, memory_order_relaxed);
        return proto_refuse();
    }
    proto_write(v, c->ptr, (xbuf_object *)o, (ptrdiff_t)c->len, c->readonly, 1, proto_seal(v, o, 0));
    return 0;
}

__attribute__((noinline)) static int checked_release(xbuf_bufferinfo *v) {
    proto_object *o;
    uint64_t cur;
    if (!v) return proto_refuse();
    if (v->structsize != sizeof *v) return proto_refuse();
    o = (proto_object *)v->releaser;
    if (!o) return 0;
    if (v->_private[0] || v->_private[1] != proto_seal(v, o, 0)) return proto_refuse();
    if (((uintptr_t)o & 7) || o->magic != PROTO_LIVE) return proto_refuse();
    if (!o->ignores_views) return proto_refuse();
    cur = atomic_load_explicit(&o->word, memory_order_acquire);
    for (;;) {
        uint64_t locks = atomic_load_explicit(&o->locks, memory_order_acquire);
        if (((cur >> 36) & 0x7ffffff) <= locks) return proto_refuse();
        if (atomic_compare_exchange_weak_explicit(&o->word, &cur, cur - PROTO_ONE, memory_order_release,
                                                  memory_order_acquire))
            break;
    }
    proto_write(v, NULL, NULL, 0, 0, 0, 0);
    if (cur - PROTO_ONE == 0) return proto_refuse();
    return 0;
}

#endif /* XBUF_BENCH_FLOOR_H */
