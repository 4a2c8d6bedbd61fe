/*
 * The seed scenario of the releaser field: an exporter A keeps its memory in a hidden object R
 * and fills `releaser = R`. A consumer B's view then holds R, not A, so A can be destroyed while
 * B's view lives: B still reads and writes the memory and its shape/strides/format; when B
 * releases, R's releasebuffer runs exactly once with B's `internal`; R's dealloc runs after its
 * last reference.
 */
#include "xbuf_test.h"

/* R: owns a 2x3 grid of doubles. */
typedef struct {
    double cells[6];
    int releases;
    void *released_internal;
    int locks, unlocks;
    int *dealloc_counter;
} r_state;

static int r_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    r_state *r = (r_state *)xbuf_object_state(self);
    return xbuf_fill_info(view, NULL, r->cells, sizeof r->cells, 0, flags);
}

static void r_releasebuffer(xbuf_object *self, xbuf_bufferinfo *view) {
    r_state *r = (r_state *)xbuf_object_state(self);
    if (view == NULL) {
        r->unlocks++;
        return;
    }
    r->releases++;
    r->released_internal = view->internal;
}

static int r_lockbuffer(xbuf_object *self) {
    r_state *r = (r_state *)xbuf_object_state(self);
    r->locks++;
    return XBUF_OK;
}

static void r_dealloc(void *state) {
    r_state *r = (r_state *)state;
    (*r->dealloc_counter)++;
}

/* A: describes R's memory as a typed 2-D array, with its own shape/strides/format arrays that
 * die with A, and delegates release to R. It holds a reference to R and a lock on it (so the
 * memory stays put while A describes it), both returned in A's dealloc. */
typedef struct {
    xbuf_object *r;
    ptrdiff_t shape[2];
    ptrdiff_t strides[2];
    char format[4];
    int token; /* what A puts in `internal` */
    int *dealloc_counter;
} a_state;

static int a_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    a_state *a = (a_state *)xbuf_object_state(self);
    r_state *r = (r_state *)xbuf_object_state(a->r);
    (void)flags;
    view->buf = r->cells;
    view->releaser = a->r;
    view->itemsize = sizeof(double);
    view->len = sizeof r->cells;
    view->readonly = 0;
    view->ndim = 2;
    view->format = a->format;
    view->shape = a->shape;
    view->strides = a->strides;
    view->internal = &a->token;
    return XBUF_OK;
}

static void a_dealloc(void *state) {
    a_state *a = (a_state *)state;
    (*a->dealloc_counter)++;
    CHECK_OK(xbuf_unlock(a->r));
    CHECK_OK(xbuf_decref(a->r));
    /* Scribble over A's layout arrays: views must not be pointing at them. */
    memset(a, 0xAB, sizeof *a);
    free(a);
}

static void test_view_outlives_its_exporter(void) {
    int r_deallocs = 0, a_deallocs = 0;
    r_state *r = (r_state *)calloc(1, sizeof *r);
    a_state *a = (a_state *)calloc(1, sizeof *a);
    xbuf_type rt, at;
    xbuf_object *R = NULL, *A = NULL;
    xbuf_bufferinfo B = XBUF_BUFFERINFO_INIT;
    void *token_address = &a->token;
    ptrdiff_t idx[2] = {1, 2};
    void *p = NULL;
    int i;

    for (i = 0; i < 6; i++) r->cells[i] = i * 1.5;
    r->dealloc_counter = &r_deallocs;
    memset(&rt, 0, sizeof rt);
    rt.structsize = sizeof rt;
    rt.name = "R";
    rt.getbuffer = r_getbuffer;
    rt.releasebuffer = r_releasebuffer;
    rt.lockbuffer = r_lockbuffer;
    rt.dealloc = r_dealloc;
    CHECK_OK(xbuf_object_new(&rt, r, &R));

    a->r = R;
    CHECK_OK(xbuf_incref(R));
    CHECK_OK(xbuf_lock(R));
    a->shape[0] = 2;
    a->shape[1] = 3;
    a->strides[0] = 3 * sizeof(double);
    a->strides[1] = sizeof(double);
    strcpy(a->format, "<d");
    a->dealloc_counter = &a_deallocs;
    memset(&at, 0, sizeof at);
    at.structsize = sizeof at;
    at.name = "A";
    at.getbuffer = a_getbuffer;
    at.dealloc = a_dealloc;
    CHECK_OK(xbuf_object_new(&at, a, &A));

    /* The creator of R gives its reference away: from here R lives through A and B. */
    CHECK_OK(xbuf_decref(R));
    CHECK_EQ(xbuf_refcount(R), 2); /* A's reference and A's lock */

    /* B asks A for a view; the export is counted on R. */
    CHECK_OK(xbuf_get_buffer(A, &B, XBUF_FULL));
    CHECK(B.releaser == R);
    CHECK_EQ(xbuf_exports(A), 0);
    CHECK_EQ(xbuf_exports(R), 2); /* B's view and A's lock */
    CHECK_EQ(xbuf_refcount(R), 3);

    /* A's last reference goes: A's dealloc runs, returning its lock and reference on R. */
    CHECK_OK(xbuf_decref(A));
    CHECK_EQ(a_deallocs, 1);
    CHECK_EQ(r_deallocs, 0);
    CHECK_EQ(r->unlocks, 1);
    CHECK_EQ(xbuf_exports(R), 1);
    CHECK_EQ(xbuf_refcount(R), 1);

    /* B still reads and writes the memory and its layout. */
    CHECK_EQ(B.ndim, 2);
    CHECK_EQ(B.shape[0], 2);
    CHECK_EQ(B.shape[1], 3);
    CHECK_EQ(B.strides[0], 24);
    CHECK_EQ(B.strides[1], 8);
    CHECK_STR(B.format, "<d");
    CHECK_EQ(B.itemsize, 8);
    CHECK_EQ(B.len, 48);
    CHECK_EQ(B.readonly, 0);
    CHECK_OK(xbuf_get_pointer(&B, idx, &p));
    CHECK(*(double *)p == 7.5);
    *(double *)p = -2.25;
    CHECK(r->cells[5] == -2.25);
    ((double *)B.buf)[0] = 42.0;
    CHECK(r->cells[0] == 42.0);

    /* B releases: R's releasebuffer runs exactly once, with B's internal; then R is freed. */
    CHECK_EQ(r->releases, 0);
    CHECK_OK(xbuf_release(&B));
    CHECK_EQ(r->releases, 1);
    CHECK(r->released_internal == token_address);
    CHECK_EQ(r_deallocs, 1);
    CHECK_OK(xbuf_release(&B)); /* a second release is a no-op */
    CHECK_EQ(r->releases, 1);
    free(r);
}

/* The same delegation through built-ins: a slice delegates to its base's releaser. */
static void test_slice_views_outlive_the_slice(void) {
    xbuf_object *base = NULL, *slice = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    CHECK_OK(xbuf_bytearray_new("0123456789", 10, &base));
    CHECK_OK(xbuf_slice_new(base, 2, 5, &slice));
    CHECK_EQ(xbuf_exports(base), 2); /* the slice's lock and the view it holds */
    CHECK_OK(xbuf_get_buffer(slice, &v, XBUF_RECORDS));
    CHECK(v.releaser == base);
    CHECK_EQ(xbuf_exports(base), 3);
    CHECK_EQ(xbuf_exports(slice), 0);
    CHECK_OK(xbuf_decref(slice));
    CHECK_EQ(xbuf_exports(base), 1); /* only the view now */
    CHECK(memcmp(v.buf, "23456", 5) == 0);
    ((char *)v.buf)[0] = 'x';
    CHECK_ERR(xbuf_bytearray_resize(base, 3), XBUF_ERR_BUSY, "1 export");
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_bytearray_resize(base, 3));
    CHECK_OK(xbuf_get_buffer(base, &v, XBUF_SIMPLE));
    CHECK(memcmp(v.buf, "01x", 3) == 0);
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_decref(base));
}

/* CPython's idiom: a getbuffer that answers by asking another object for a view (here always
 * its whole layout, read-only; the library then checks that answer against the request). */
static int forward_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    (void)flags;
    return xbuf_get_buffer((xbuf_object *)xbuf_object_state(self), view, XBUF_FULL_RO);
}

static void test_getbuffer_that_forwards(void) {
    xbuf_type t;
    xbuf_object *base = NULL, *fwd = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = "forward";
    t.getbuffer = forward_getbuffer;
    CHECK_OK(xbuf_bytearray_new("abcdef", 6, &base));
    CHECK_OK(xbuf_object_new(&t, base, &fwd));
    CHECK_OK(xbuf_get_buffer(fwd, &v, XBUF_FULL_RO));
    /* The consumer's view took over the forwarded view's export: one export, on the base. */
    CHECK(v.releaser == base);
    CHECK_EQ(xbuf_exports(base), 1);
    CHECK_EQ(xbuf_exports(fwd), 0);
    CHECK_EQ(xbuf_refcount(base), 2);
    CHECK(memcmp(v.buf, "abcdef", 6) == 0);
    CHECK_EQ(v.shape[0], 6);
    CHECK_OK(xbuf_release(&v));
    /* Fewer fields asked for than the forwarded view has: the consumer gets what it asked. */
    CHECK_OK(xbuf_get_buffer(fwd, &v, XBUF_SIMPLE));
    CHECK(v.shape == NULL && v.format == NULL);
    CHECK_EQ(xbuf_exports(base), 1);
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(xbuf_exports(base), 0);
    CHECK_EQ(xbuf_refcount(base), 1);
    CHECK_OK(xbuf_bytearray_resize(base, 3));
    /* A forwarded view that does not meet the request (read-only, but writable asked) is
     * handed back, not leaked. */
    CHECK_OK(xbuf_decref(base));
    CHECK_OK(xbuf_bytes_new("xyz", 3, &base));
    CHECK_OK(xbuf_decref(fwd));
    CHECK_OK(xbuf_object_new(&t, base, &fwd));
    CHECK_ERR(xbuf_get_buffer(fwd, &v, XBUF_WRITABLE), XBUF_ERR_READONLY, "read-only");
    CHECK_EQ(xbuf_exports(base), 0);
    CHECK_EQ(xbuf_refcount(base), 1);
    CHECK_OK(xbuf_decref(fwd));
    CHECK_OK(xbuf_decref(base));
}

XBUF_TEST_MAIN(XT_CASE(test_view_outlives_its_exporter), XT_CASE(test_slice_views_outlive_the_slice),
               XT_CASE(test_getbuffer_that_forwards))
