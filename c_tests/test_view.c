/*
 * xbuf_view and the ndarray exporter with every expected value written out by hand next to
 * its check:
 *  - ndarray: construction from bytes (format, shape, strides of either sign, offset), zero-filled
 *    C and Fortran arrays, read-only and PIL-style arrays, every error path of both
 *    constructors, and the requests a layout refuses;
 *  - views of bytearray, bytes, ndarray and a C exporter, views of views (their bufferinfos name
 *    the base's releaser), Python slicing in one to three dimensions, indexing, item pointers,
 *    transpose and permute, cast, tobytes, hex and hash;
 *  - explicit release: refused while locked, every later operation refused, the base's exports;
 *  - copies between views (overlapping ones included) and to/from contiguous buffers;
 *  - NULL for every pointer argument of the view functions, and objects that are not views.
 * Every test ends with every export returned and every object freed (the memcheck
 * configuration checks for leaks). Randomized cross-checks against a model live in
 * test_view_random.c.
 */
#include "xbuf_test.h"

/* An omitted slice bound, as in Python's a[::2]. */
#define OM XBUF_SLICE_OMIT

/* Array literals for shapes, strides, indices, axes and slices. */
#define DIMS(...) ((const ptrdiff_t[]){__VA_ARGS__})
#define AXES(...) ((const int[]){__VA_ARGS__})
#define RANGES(...) ((const xbuf_range[]){__VA_ARGS__})

/* The view's bytes in `order` (tobytes) must be exactly the listed bytes. */
#define CHECK_BYTES(view, order, ...)                                                 \
    do {                                                                              \
        static const unsigned char xt_want[] = {__VA_ARGS__};                         \
        CHECK(bytes_are((view), (order), xt_want, sizeof xt_want));                   \
    } while (0)

/* iota[k] == k: an item's bytes say where in the data they lie. */
static const unsigned char iota[48] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
    16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
    32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47};

/* Something that is not an xbuf object, to see that failed constructors reset `*out`. */
static char not_an_object;
#define BOGUS ((xbuf_object *)(void *)&not_an_object)

/* ---- Helpers ------------------------------------------------------------------------------ */

static xbuf_object *make_nd(const void *data, size_t len, const char *format, int ndim, const ptrdiff_t *shape,
                            const ptrdiff_t *strides, ptrdiff_t offset, int flags) {
    xbuf_object *obj = NULL;
    CHECK_OK(xbuf_ndarray_new(data, len, format, ndim, shape, strides, offset, flags, &obj));
    return obj;
}

static xbuf_object *make_view(xbuf_object *obj, int flags) {
    xbuf_object *v = NULL;
    CHECK_OK(xbuf_view_new(obj, flags, &v));
    return v;
}

static xbuf_object *make_bytearray(const void *data, size_t len) {
    xbuf_object *obj = NULL;
    CHECK_OK(xbuf_bytearray_new(data, len, &obj));
    return obj;
}

static xbuf_object *slice_of(xbuf_object *v, const xbuf_range *r, int n) {
    xbuf_object *s = NULL;
    CHECK_OK(xbuf_view_slice(v, r, n, &s));
    return s;
}

static xbuf_object *index_of(xbuf_object *v, const ptrdiff_t *idx, int n) {
    xbuf_object *s = NULL;
    CHECK_OK(xbuf_view_index(v, idx, n, &s));
    return s;
}

static xbuf_object *cast_of(xbuf_object *v, const char *format, int ndim, const ptrdiff_t *shape) {
    xbuf_object *s = NULL;
    CHECK_OK(xbuf_view_cast(v, format, ndim, shape, &s));
    return s;
}

/* Drops the caller's reference after checking that nothing is exported any more. */
static void drop(xbuf_object *obj) {
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static void print_bytes(const char *what, const unsigned char *p, size_t n) {
    size_t k;
    fprintf(stderr, "    %s:", what);
    for (k = 0; k < n; k++) fprintf(stderr, " %02x", p[k]);
    fprintf(stderr, "\n");
}

/* tobytes(order) of `view` is exactly `want` (`len` bytes). */
static int bytes_are(xbuf_object *view, char order, const unsigned char *want, size_t len) {
    unsigned char got[256];
    size_t needed = 12345;
    int rc = xbuf_view_tobytes(view, order, got, sizeof got, &needed);
    if (rc != XBUF_OK) {
        fprintf(stderr, "    tobytes('%c'): %s: %s\n", order, xbuf_status_str(rc), xbuf_last_error_message());
        return 0;
    }
    if (needed != len || (len > 0 && memcmp(got, want, len) != 0)) {
        fprintf(stderr, "    tobytes('%c') gave %zu bytes, expected %zu\n", order, needed, len);
        print_bytes("got ", got, needed < sizeof got ? needed : sizeof got);
        print_bytes("want", want, len);
        return 0;
    }
    return 1;
}

/* The layout `view` reports for XBUF_FULL_RO: ndim, shape and (if not NULL) strides. */
static int layout_is(xbuf_object *view, int ndim, const ptrdiff_t *shape, const ptrdiff_t *strides) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    int d, ok = 1;
    int rc = xbuf_get_buffer(view, &v, XBUF_FULL_RO);
    if (rc != XBUF_OK) {
        fprintf(stderr, "    get_buffer: %s: %s\n", xbuf_status_str(rc), xbuf_last_error_message());
        return 0;
    }
    if (v.ndim != ndim) {
        fprintf(stderr, "    ndim %d, expected %d\n", v.ndim, ndim);
        ok = 0;
    } else {
        for (d = 0; d < ndim; d++) {
            if (v.shape[d] != shape[d]) {
                fprintf(stderr, "    shape[%d] = %td, expected %td\n", d, v.shape[d], shape[d]);
                ok = 0;
            }
            if (strides != NULL && v.strides[d] != strides[d]) {
                fprintf(stderr, "    strides[%d] = %td, expected %td\n", d, v.strides[d], strides[d]);
                ok = 0;
            }
        }
    }
    xbuf_release(&v);
    return ok;
}

/* The address of the item with all indices 0 (valid while the view object lives). */
static const unsigned char *buf_of(xbuf_object *view) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    const unsigned char *p = NULL;
    CHECK_OK(xbuf_get_buffer(view, &v, XBUF_FULL_RO));
    p = (const unsigned char *)v.buf;
    CHECK_OK(xbuf_release(&v));
    return p;
}

/* The byte at the item pointer of `view` for `idx`. */
static int byte_at(xbuf_object *view, const ptrdiff_t *idx, int n) {
    void *p = NULL;
    int rc = xbuf_view_item_pointer(view, idx, n, &p);
    if (rc != XBUF_OK || p == NULL) {
        fprintf(stderr, "    item_pointer: %s: %s\n", xbuf_status_str(rc), xbuf_last_error_message());
        return -1;
    }
    return *(const unsigned char *)p;
}

/* hex of `view` is exactly `want`, and the size query says strlen(want) + 1. */
static int hex_is(xbuf_object *view, const char *want) {
    char got[256];
    size_t needed = 0;
    int rc = xbuf_view_hex(view, NULL, 0, &needed);
    if (rc != XBUF_OK || needed != strlen(want) + 1) {
        fprintf(stderr, "    hex size query: %s, needed %zu, expected %zu\n", xbuf_status_str(rc), needed,
                strlen(want) + 1);
        return 0;
    }
    rc = xbuf_view_hex(view, got, sizeof got, &needed);
    if (rc != XBUF_OK || strcmp(got, want) != 0) {
        fprintf(stderr, "    hex: %s: \"%s\", expected \"%s\"\n", xbuf_status_str(rc), rc == XBUF_OK ? got : "",
                want);
        return 0;
    }
    return 1;
}

/* The reference FNV-1a 64 of `n` bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3). */
static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t k;
    for (k = 0; k < n; k++) {
        h ^= p[k];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- A C exporter: a 3x4 grid of bytes 100..111 --------------------------------------------- */

typedef struct {
    unsigned char data[12];
    ptrdiff_t shape[2], strides[2];
    int gets, releases, deallocs;
} grid;

static int grid_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    grid *g = (grid *)xbuf_object_state(self);
    (void)flags;
    view->buf = g->data;
    view->len = 12;
    view->itemsize = 1;
    view->readonly = 0;
    view->ndim = 2;
    view->format = "B";
    view->shape = g->shape;
    view->strides = g->strides;
    g->gets++;
    return XBUF_OK;
}

static void grid_releasebuffer(xbuf_object *self, xbuf_bufferinfo *view) {
    grid *g = (grid *)xbuf_object_state(self);
    if (view != NULL) g->releases++;
}

static void grid_dealloc(void *state) {
    ((grid *)state)->deallocs++;
}

static xbuf_object *grid_new(grid *g) {
    xbuf_type t;
    xbuf_object *obj = NULL;
    int k;
    memset(g, 0, sizeof *g);
    for (k = 0; k < 12; k++) g->data[k] = (unsigned char)(100 + k);
    g->shape[0] = 3;
    g->shape[1] = 4;
    g->strides[0] = 4;
    g->strides[1] = 1;
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = "grid";
    t.getbuffer = grid_getbuffer;
    t.releasebuffer = grid_releasebuffer;
    t.dealloc = grid_dealloc;
    CHECK_OK(xbuf_object_new(&t, g, &obj));
    return obj;
}

/* ---- ndarray: construction ------------------------------------------------------------------ */

static void test_ndarray_c_order(void) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    void *p = NULL;
    /* 2x3 bytes in C order over iota: item (i, j) is byte 3i + j, so its value is 3i + j. */
    xbuf_object *a = make_nd(iota, 24, "B", 2, DIMS(2, 3), NULL, 0, 0);
    CHECK_STR(xbuf_object_type_name(a), "ndarray");
    CHECK_OK(xbuf_get_buffer(a, &v, XBUF_FULL_RO));
    CHECK(v.releaser == a);
    CHECK_EQ(v.len, 6);
    CHECK_EQ(v.itemsize, 1);
    CHECK_EQ(v.ndim, 2);
    CHECK_EQ(v.readonly, 0);
    CHECK_STR(v.format, "B");
    CHECK_EQ(v.shape[0], 2);
    CHECK_EQ(v.shape[1], 3);
    CHECK_EQ(v.strides[0], 3); /* NULL strides: C order */
    CHECK_EQ(v.strides[1], 1);
    CHECK(v.suboffsets == NULL);
    CHECK_EQ(((const unsigned char *)v.buf)[0], 0);
    CHECK_OK(xbuf_get_pointer(&v, DIMS(1, 2), &p));
    CHECK_EQ(*(const unsigned char *)p, 5); /* 3*1 + 2 */
    CHECK_OK(xbuf_get_pointer(&v, DIMS(-1, -3), &p));
    CHECK_EQ(*(const unsigned char *)p, 3); /* (1, 0) */
    CHECK_EQ(xbuf_is_contiguous(&v, 'C'), 1);
    CHECK_EQ(xbuf_is_contiguous(&v, 'F'), 0);
    CHECK_EQ(xbuf_exports(a), 1);
    CHECK_EQ(xbuf_refcount(a), 2);
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(xbuf_refcount(a), 1);
    drop(a);

    /* The data is copied: changing the source afterwards changes nothing. */
    {
        unsigned char src[4] = {1, 2, 3, 4};
        xbuf_object *view;
        a = make_nd(src, 4, "B", 1, DIMS(4), NULL, 0, 0);
        src[0] = 99;
        view = make_view(a, XBUF_FULL_RO);
        CHECK_BYTES(view, 'C', 1, 2, 3, 4);
        drop(view);
        drop(a);
    }
}

static void test_ndarray_strides_and_offsets(void) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    xbuf_object *a, *view;
    void *p = NULL;

    /* 2x3 of 2-byte items, rows 12 bytes apart, starting at byte 2: item (i, j) is bytes
     * 2 + 12i + 2j and 3 + 12i + 2j. */
    a = make_nd(iota, 24, "<H", 2, DIMS(2, 3), DIMS(12, 2), 2, 0);
    CHECK_OK(xbuf_get_buffer(a, &v, XBUF_FULL_RO));
    CHECK_EQ(v.len, 12);
    CHECK_EQ(v.itemsize, 2);
    CHECK_STR(v.format, "<H");
    CHECK_EQ(v.strides[0], 12);
    CHECK_EQ(v.strides[1], 2);
    CHECK_EQ(((const unsigned char *)v.buf)[0], 2);
    CHECK_OK(xbuf_get_pointer(&v, DIMS(1, 0), &p));
    CHECK_EQ(*(const unsigned char *)p, 14);
    CHECK_EQ(xbuf_is_contiguous(&v, 'A'), 0); /* gaps between rows */
    CHECK_OK(xbuf_release(&v));
    view = make_view(a, XBUF_FULL_RO);
    CHECK_BYTES(view, 'C', 2, 3, 4, 5, 6, 7, 14, 15, 16, 17, 18, 19);
    drop(view);
    drop(a);

    /* Negative strides: item (i, j) at byte 16 - 12i - 2j; rows 16 14 12 and 4 2 0. The items
     * reach bytes 0..17 of the 24. */
    a = make_nd(iota, 24, "B", 2, DIMS(2, 3), DIMS(-12, -2), 16, 0);
    CHECK_OK(xbuf_get_buffer(a, &v, XBUF_FULL_RO));
    CHECK_EQ(((const unsigned char *)v.buf)[0], 16);
    CHECK_EQ(v.strides[0], -12);
    CHECK_EQ(v.strides[1], -2);
    CHECK_OK(xbuf_get_pointer(&v, DIMS(1, 2), &p));
    CHECK_EQ(*(const unsigned char *)p, 0);
    CHECK_OK(xbuf_release(&v));
    view = make_view(a, XBUF_FULL_RO);
    CHECK_BYTES(view, 'C', 16, 14, 12, 4, 2, 0);
    drop(view);
    drop(a);

    /* Mixed signs: rows reversed, columns forward: item (i, j) at 12 - 12i + 2j. */
    a = make_nd(iota, 24, "B", 2, DIMS(2, 3), DIMS(-12, 2), 12, 0);
    view = make_view(a, XBUF_FULL_RO);
    CHECK_BYTES(view, 'C', 12, 14, 16, 0, 2, 4);
    CHECK_BYTES(view, 'F', 12, 0, 14, 2, 16, 4);
    drop(view);
    drop(a);

    /* Offsets at the edge. With strides (12, 2) the items reach offset .. offset + 17: offset 7
     * ends exactly at byte 24; offset 8 reaches byte 25. */
    a = make_nd(iota, 24, "B", 2, DIMS(2, 3), DIMS(12, 2), 7, 0);
    view = make_view(a, XBUF_FULL_RO);
    CHECK_BYTES(view, 'C', 7, 9, 11, 19, 21, 23);
    drop(view);
    drop(a);
    a = BOGUS;
    CHECK_ERR(xbuf_ndarray_new(iota, 24, "B", 2, DIMS(2, 3), DIMS(12, 2), 8, 0, &a), XBUF_ERR_OUT_OF_BOUNDS,
              "xbuf_ndarray_new: shape [2, 3] with strides [12, 2] and offset 8 reaches bytes 8..25 of the 24 bytes given");
    CHECK(a == NULL);
    /* With strides (-12, -2) the items reach offset - 16 .. offset + 1: offset 15 reaches byte -1. */
    CHECK_ERR(xbuf_ndarray_new(iota, 24, "B", 2, DIMS(2, 3), DIMS(-12, -2), 15, 0, &a), XBUF_ERR_OUT_OF_BOUNDS,
              "reaches bytes -1..16 of the 24 bytes given");
    /* A negative offset with positive strides. */
    CHECK_ERR(xbuf_ndarray_new(iota, 24, "B", 1, DIMS(3), NULL, -1, 0, &a), XBUF_ERR_OUT_OF_BOUNDS,
              "reaches bytes -1..2 of the 24 bytes given");

    /* Zero dimensions: one 4-byte item at byte 4. */
    a = make_nd(iota, 24, "<i", 0, NULL, NULL, 4, 0);
    CHECK_OK(xbuf_get_buffer(a, &v, XBUF_FULL_RO));
    CHECK_EQ(v.ndim, 0);
    CHECK_EQ(v.len, 4);
    CHECK_OK(xbuf_get_pointer(&v, NULL, &p));
    CHECK(p == v.buf);
    CHECK_OK(xbuf_release(&v));
    view = make_view(a, XBUF_FULL_RO);
    CHECK_BYTES(view, 'C', 4, 5, 6, 7);
    drop(view);
    drop(a);
    CHECK_ERR(xbuf_ndarray_new(iota, 24, "<i", 0, NULL, NULL, 21, 0, &a), XBUF_ERR_OUT_OF_BOUNDS,
              "reaches bytes 21..25 of the 24 bytes given");

    /* No items: the offset may be anything from 0 to the data's length, nothing is read. */
    a = make_nd(iota, 24, "B", 2, DIMS(0, 3), NULL, 24, 0);
    CHECK_OK(xbuf_get_buffer(a, &v, XBUF_FULL_RO));
    CHECK_EQ(v.len, 0);
    CHECK_EQ(v.shape[0], 0);
    CHECK_EQ(v.shape[1], 3);
    CHECK_OK(xbuf_release(&v));
    drop(a);
    CHECK_ERR(xbuf_ndarray_new(iota, 24, "B", 2, DIMS(0, 3), NULL, 25, 0, &a), XBUF_ERR_OUT_OF_BOUNDS,
              "offset 25 is outside the 24 bytes given");
    CHECK_ERR(xbuf_ndarray_new(iota, 24, "B", 2, DIMS(0, 3), NULL, -1, 0, &a), XBUF_ERR_OUT_OF_BOUNDS,
              "offset -1 is outside the 24 bytes given");
    /* No data at all (NULL with length 0) for an array without items. */
    a = make_nd(NULL, 0, "<d", 1, DIMS(0), NULL, 0, 0);
    drop(a);
}

static void test_ndarray_zeros(void) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    xbuf_object *a = NULL, *view;
    static const unsigned char zeros24[24] = {0};
    ptrdiff_t i, j;

    /* C order: 2x3 of 4-byte ints, strides (12, 4), 24 zero bytes. */
    CHECK_OK(xbuf_ndarray_zeros("<i", 2, DIMS(2, 3), 'C', 0, &a));
    CHECK(layout_is(a, 2, DIMS(2, 3), DIMS(12, 4)));
    view = make_view(a, XBUF_FULL_RO);
    CHECK(bytes_are(view, 'C', zeros24, 24));
    drop(view);
    drop(a);
    /* Fortran order: strides (4, 8). */
    CHECK_OK(xbuf_ndarray_zeros("<i", 2, DIMS(2, 3), 'F', 0, &a));
    CHECK(layout_is(a, 2, DIMS(2, 3), DIMS(4, 8)));
    CHECK_OK(xbuf_get_buffer(a, &v, XBUF_FULL_RO));
    CHECK_EQ(xbuf_is_contiguous(&v, 'F'), 1);
    CHECK_EQ(xbuf_is_contiguous(&v, 'C'), 0);
    CHECK_OK(xbuf_release(&v));
    drop(a);
    /* 'A' means C. */
    CHECK_OK(xbuf_ndarray_zeros("<i", 2, DIMS(2, 3), 'A', 0, &a));
    CHECK(layout_is(a, 2, DIMS(2, 3), DIMS(12, 4)));
    drop(a);
    /* 3-D Fortran strides of 8-byte items: (8, 16, 48). */
    CHECK_OK(xbuf_ndarray_zeros("d", 3, DIMS(2, 3, 4), 'F', 0, &a));
    CHECK(layout_is(a, 3, DIMS(2, 3, 4), DIMS(8, 16, 48)));
    drop(a);
    /* Zero dimensions: one item. */
    CHECK_OK(xbuf_ndarray_zeros("<q", 0, NULL, 'C', 0, &a));
    view = make_view(a, XBUF_FULL_RO);
    CHECK_BYTES(view, 'C', 0, 0, 0, 0, 0, 0, 0, 0);
    drop(view);
    drop(a);

    /* Writing item (i, j) = 10i + j into a Fortran 2x3 array of bytes lays the memory out
     * column by column: 0 10 1 11 2 12. */
    CHECK_OK(xbuf_ndarray_zeros("B", 2, DIMS(2, 3), 'F', 0, &a));
    CHECK_OK(xbuf_get_buffer(a, &v, XBUF_FULL));
    for (i = 0; i < 2; i++)
        for (j = 0; j < 3; j++) {
            void *p = NULL;
            ptrdiff_t idx[2];
            idx[0] = i;
            idx[1] = j;
            CHECK_OK(xbuf_get_pointer(&v, idx, &p));
            if (p) *(unsigned char *)p = (unsigned char)(10 * i + j);
        }
    {
        static const unsigned char mem[6] = {0, 10, 1, 11, 2, 12};
        CHECK(memcmp(v.buf, mem, 6) == 0);
    }
    CHECK_OK(xbuf_release(&v));
    view = make_view(a, XBUF_FULL_RO);
    CHECK_BYTES(view, 'C', 0, 1, 2, 10, 11, 12);
    CHECK_BYTES(view, 'F', 0, 10, 1, 11, 2, 12);
    drop(view);
    drop(a);

    /* Read-only and PIL flags apply to zero-filled arrays too. */
    CHECK_OK(xbuf_ndarray_zeros("B", 2, DIMS(2, 3), 'C', XBUF_NDARRAY_READONLY | XBUF_NDARRAY_PIL, &a));
    CHECK_OK(xbuf_get_buffer(a, &v, XBUF_FULL_RO));
    CHECK_EQ(v.readonly, 1);
    CHECK(v.suboffsets != NULL);
    CHECK_OK(xbuf_release(&v));
    drop(a);
}

static void test_ndarray_readonly(void) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    xbuf_object *a = make_nd(iota, 6, "B", 1, DIMS(6), NULL, 0, XBUF_NDARRAY_READONLY);
    CHECK_OK(xbuf_get_buffer(a, &v, XBUF_FULL_RO));
    CHECK_EQ(v.readonly, 1);
    CHECK_OK(xbuf_release(&v));
    /* XBUF_FULL = XBUF_INDIRECT | XBUF_FORMAT | XBUF_WRITABLE = 0x11d; XBUF_CONTIG = 0x9. */
    CHECK_ERR(xbuf_get_buffer(a, &v, XBUF_FULL), XBUF_ERR_READONLY,
              "exporter 'ndarray' has read-only memory but the request 0x11d asks for XBUF_WRITABLE");
    CHECK(v.releaser == NULL);
    CHECK_ERR(xbuf_get_buffer(a, &v, XBUF_CONTIG), XBUF_ERR_READONLY, "the request 0x9 asks for XBUF_WRITABLE");
    CHECK_ERR(xbuf_get_buffer(a, &v, XBUF_WRITABLE), XBUF_ERR_READONLY, "XBUF_WRITABLE");
    drop(a);
}

static void test_ndarray_pil(void) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    xbuf_object *a, *view;
    unsigned char *rows[2];
    void *p = NULL;
    /* 2x2x3 bytes, strides (12, -6, 2), offset 6: item (i, j, k) at byte 6 + 12i - 6j + 2k,
     * which is also its value. Row i spans bytes 12i .. 12i + 10; its lowest byte is 12i
     * (j = 1, k = 0), so row pointer i is data + 12i and suboffsets[0] = 6 leads from there to
     * item (i, 0, 0). */
    a = make_nd(iota, 24, "B", 3, DIMS(2, 2, 3), DIMS(12, -6, 2), 6, XBUF_NDARRAY_PIL);
    CHECK_OK(xbuf_get_buffer(a, &v, XBUF_FULL_RO));
    CHECK_EQ(v.ndim, 3);
    CHECK_EQ(v.len, 12);
    CHECK_EQ(v.strides[0], (ptrdiff_t)sizeof(void *));
    CHECK_EQ(v.strides[1], -6);
    CHECK_EQ(v.strides[2], 2);
    CHECK(v.suboffsets != NULL);
    if (v.suboffsets) {
        CHECK_EQ(v.suboffsets[0], 6);
        CHECK_EQ(v.suboffsets[1], -1);
        CHECK_EQ(v.suboffsets[2], -1);
    }
    /* buf is the table of row pointers. */
    memcpy(rows, v.buf, sizeof rows);
    CHECK_EQ(rows[0][0], 0);
    CHECK_EQ(rows[1][0], 12);
    CHECK_EQ(rows[1] - rows[0], 12);
    CHECK_OK(xbuf_get_pointer(&v, DIMS(0, 0, 0), &p));
    CHECK_EQ(*(const unsigned char *)p, 6);
    CHECK_OK(xbuf_get_pointer(&v, DIMS(0, 1, 0), &p));
    CHECK_EQ(*(const unsigned char *)p, 0);
    CHECK(p == (void *)rows[0]);
    CHECK_OK(xbuf_get_pointer(&v, DIMS(1, 0, 2), &p));
    CHECK_EQ(*(const unsigned char *)p, 22); /* 6 + 12 + 4 */
    CHECK_OK(xbuf_get_pointer(&v, DIMS(-1, -1, -1), &p));
    CHECK_EQ(*(const unsigned char *)p, 16); /* (1, 1, 2): 6 + 12 - 6 + 4 */
    CHECK_ERR(xbuf_get_pointer(&v, DIMS(2, 0, 0), &p), XBUF_ERR_OUT_OF_BOUNDS,
              "index 2 is out of bounds for dimension 0 of extent 2");
    CHECK_EQ(xbuf_is_contiguous(&v, 'C'), 0);
    CHECK_EQ(xbuf_is_contiguous(&v, 'A'), 0);
    CHECK_OK(xbuf_release(&v));
    view = make_view(a, XBUF_FULL_RO);
    CHECK_BYTES(view, 'C', 6, 8, 10, 0, 2, 4, 18, 20, 22, 12, 14, 16);
    CHECK(byte_at(view, DIMS(1, 0, 1), 3) == 20);
    drop(view);
    drop(a);

    /* 1-D PIL: every item is its own row; suboffsets[0] = 0. */
    a = make_nd(iota, 8, "B", 1, DIMS(4), DIMS(2), 1, XBUF_NDARRAY_PIL);
    CHECK_OK(xbuf_get_buffer(a, &v, XBUF_FULL_RO));
    CHECK_EQ(v.strides[0], (ptrdiff_t)sizeof(void *));
    CHECK(v.suboffsets != NULL && v.suboffsets[0] == 0);
    CHECK_OK(xbuf_get_pointer(&v, DIMS(3), &p));
    CHECK_EQ(*(const unsigned char *)p, 7);
    CHECK_OK(xbuf_release(&v));
    drop(a);
}

static void test_ndarray_errors(void) {
    static ptrdiff_t ones[65];
    xbuf_object *a = BOGUS;
    int k;
    for (k = 0; k < 65; k++) ones[k] = 1;

    /* NULL pointers. */
    CHECK_ERR(xbuf_ndarray_new(iota, 6, NULL, 1, DIMS(6), NULL, 0, 0, &a), XBUF_ERR_NULL_ARGUMENT,
              "xbuf_ndarray_new: argument 'format' is NULL");
    CHECK(a == NULL);
    CHECK_ERR(xbuf_ndarray_new(iota, 6, "B", 2, NULL, NULL, 0, 0, &a), XBUF_ERR_NULL_ARGUMENT,
              "argument 'shape' is NULL");
    CHECK_ERR(xbuf_ndarray_new(iota, 6, "B", 1, DIMS(6), NULL, 0, 0, NULL), XBUF_ERR_NULL_ARGUMENT,
              "argument 'out' is NULL");
    CHECK_ERR(xbuf_ndarray_new(NULL, 6, "B", 1, DIMS(6), NULL, 0, 0, &a), XBUF_ERR_NULL_ARGUMENT,
              "argument 'data' is NULL but its length is 6");
    /* ndim outside 0..64; 64 itself is fine. */
    a = BOGUS;
    CHECK_ERR(xbuf_ndarray_new(iota, 6, "B", -1, ones, NULL, 0, 0, &a), XBUF_ERR_INVALID_ARGUMENT,
              "ndim is -1 (0 to 64 allowed)");
    CHECK(a == NULL);
    CHECK_ERR(xbuf_ndarray_new(iota, 6, "B", 65, ones, NULL, 0, 0, &a), XBUF_ERR_INVALID_ARGUMENT,
              "ndim is 65 (0 to 64 allowed)");
    a = make_nd(iota, 6, "B", 64, ones, NULL, 5, 0);
    CHECK(layout_is(a, 64, ones, ones));
    {
        xbuf_object *view = make_view(a, XBUF_FULL_RO);
        CHECK_BYTES(view, 'C', 5);
        drop(view);
    }
    drop(a);
    /* A negative extent. */
    CHECK_ERR(xbuf_ndarray_new(iota, 6, "B", 2, DIMS(2, -3), NULL, 0, 0, &a), XBUF_ERR_INVALID_ARGUMENT,
              "shape[1] is -3; extents must not be negative");
    /* Items outside the data (5 ints need 20 bytes). */
    CHECK_ERR(xbuf_ndarray_new(iota, 16, "<i", 1, DIMS(5), NULL, 0, 0, &a), XBUF_ERR_OUT_OF_BOUNDS,
              "shape [5] with strides [4] and offset 0 reaches bytes 0..20 of the 16 bytes given");
    /* Unknown flags. */
    CHECK_ERR(xbuf_ndarray_new(iota, 6, "B", 1, DIMS(6), NULL, 0, 4, &a), XBUF_ERR_INVALID_ARGUMENT,
              "ndarray flags 0x4 contain unknown bits 0x4");
    CHECK_ERR(xbuf_ndarray_new(iota, 6, "B", 1, DIMS(6), NULL, 0, 0x103, &a), XBUF_ERR_INVALID_ARGUMENT,
              "ndarray flags 0x103 contain unknown bits 0x100");
    /* PIL needs a dimension to turn into row pointers. */
    CHECK_ERR(xbuf_ndarray_new(iota, 6, "B", 0, NULL, NULL, 0, XBUF_NDARRAY_PIL, &a), XBUF_ERR_INVALID_ARGUMENT,
              "XBUF_NDARRAY_PIL needs at least one dimension");
    /* Bad formats. */
    CHECK_ERR(xbuf_ndarray_new(iota, 6, "<2k", 1, DIMS(1), NULL, 0, 0, &a), XBUF_ERR_FORMAT,
              "unexpected 'k' at offset 2 in format '<2k'");
    CHECK_ERR(xbuf_ndarray_new(iota, 6, "3", 1, DIMS(1), NULL, 0, 0, &a), XBUF_ERR_FORMAT,
              "a count or shape without a type at offset 0 in format '3'");
    CHECK_ERR(xbuf_ndarray_new(iota, 6, "", 1, DIMS(1), NULL, 0, 0, &a), XBUF_ERR_FORMAT,
              "format '' has item size 0");
    /* Overflowing sizes: the item count, the byte size, a stride times an extent. */
    CHECK_ERR(xbuf_ndarray_new(iota, 6, "B", 2, DIMS(PTRDIFF_MAX, 2), NULL, 0, 0, &a), XBUF_ERR_OVERFLOW,
              "the item count of shape");
    CHECK_ERR(xbuf_ndarray_new(iota, 6, "d", 1, DIMS(PTRDIFF_MAX / 4), NULL, 0, 0, &a), XBUF_ERR_OVERFLOW,
              "the byte size of shape");
    CHECK_ERR(xbuf_ndarray_new(iota, 6, "B", 1, DIMS(3), DIMS(PTRDIFF_MAX), 0, 0, &a), XBUF_ERR_OVERFLOW,
              "overflows");
    CHECK(a == NULL);

    /* xbuf_ndarray_zeros: the same checks, and the order. */
    a = BOGUS;
    CHECK_ERR(xbuf_ndarray_zeros(NULL, 1, DIMS(6), 'C', 0, &a), XBUF_ERR_NULL_ARGUMENT,
              "xbuf_ndarray_zeros: argument 'format' is NULL");
    CHECK(a == NULL);
    CHECK_ERR(xbuf_ndarray_zeros("B", 1, NULL, 'C', 0, &a), XBUF_ERR_NULL_ARGUMENT, "argument 'shape' is NULL");
    CHECK_ERR(xbuf_ndarray_zeros("B", 1, DIMS(6), 'C', 0, NULL), XBUF_ERR_NULL_ARGUMENT, "argument 'out' is NULL");
    CHECK_ERR(xbuf_ndarray_zeros("B", -1, ones, 'C', 0, &a), XBUF_ERR_INVALID_ARGUMENT, "ndim is -1 (0 to 64 allowed)");
    CHECK_ERR(xbuf_ndarray_zeros("B", 65, ones, 'C', 0, &a), XBUF_ERR_INVALID_ARGUMENT, "ndim is 65 (0 to 64 allowed)");
    CHECK_ERR(xbuf_ndarray_zeros("B", 2, DIMS(-1, 3), 'F', 0, &a), XBUF_ERR_INVALID_ARGUMENT,
              "shape[0] is -1; extents must not be negative");
    CHECK_ERR(xbuf_ndarray_zeros("B", 1, DIMS(6), 'C', 8, &a), XBUF_ERR_INVALID_ARGUMENT,
              "ndarray flags 0x8 contain unknown bits 0x8");
    CHECK_ERR(xbuf_ndarray_zeros("B", 0, NULL, 'C', XBUF_NDARRAY_PIL, &a), XBUF_ERR_INVALID_ARGUMENT,
              "XBUF_NDARRAY_PIL needs at least one dimension");
    CHECK_ERR(xbuf_ndarray_zeros("<2k", 1, DIMS(6), 'C', 0, &a), XBUF_ERR_FORMAT, "unexpected 'k'");
    CHECK_ERR(xbuf_ndarray_zeros("", 1, DIMS(6), 'C', 0, &a), XBUF_ERR_FORMAT, "item size 0");
    CHECK_ERR(xbuf_ndarray_zeros("B", 1, DIMS(6), 'X', 0, &a), XBUF_ERR_INVALID_ARGUMENT,
              "order must be 'C', 'F' or 'A', got 'X'");
    CHECK_ERR(xbuf_ndarray_zeros("B", 1, DIMS(6), 'c', 0, &a), XBUF_ERR_INVALID_ARGUMENT, "got 'c'");
    CHECK_ERR(xbuf_ndarray_zeros("B", 1, DIMS(6), 0, 0, &a), XBUF_ERR_INVALID_ARGUMENT, "got byte 0x00");
    CHECK_ERR(xbuf_ndarray_zeros("B", 2, DIMS(PTRDIFF_MAX, 3), 'C', 0, &a), XBUF_ERR_OVERFLOW,
              "the item count of shape");
    CHECK_ERR(xbuf_ndarray_zeros("<q", 1, DIMS(PTRDIFF_MAX / 4), 'F', 0, &a), XBUF_ERR_OVERFLOW,
              "the byte size of shape");
    CHECK(a == NULL);
}

/* The requests each layout refuses, with the protocol's statuses and messages. */
static void test_ndarray_requests(void) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    xbuf_object *f = NULL, *c = NULL, *gap, *pil, *ro;

    /* A Fortran 2x3 array of ints (strides (4, 8)). */
    CHECK_OK(xbuf_ndarray_zeros("<i", 2, DIMS(2, 3), 'F', 0, &f));
    CHECK_ERR(xbuf_get_buffer(f, &v, XBUF_C_CONTIGUOUS), XBUF_ERR_NOT_CONTIGUOUS,
              "exporter 'ndarray' has a layout that is not C-contiguous (shape [2, 3], strides [4, 8]) but the "
              "request asks for XBUF_C_CONTIGUOUS");
    CHECK(v.releaser == NULL);
    /* Without XBUF_STRIDES the memory must be C-contiguous (XBUF_ND = 0x8, XBUF_SIMPLE = 0). */
    CHECK_ERR(xbuf_get_buffer(f, &v, XBUF_CONTIG_RO), XBUF_ERR_NOT_CONTIGUOUS,
              "exporter 'ndarray' has a non-C-contiguous layout but the request 0x8 lacks XBUF_STRIDES");
    CHECK_ERR(xbuf_get_buffer(f, &v, XBUF_SIMPLE), XBUF_ERR_NOT_CONTIGUOUS, "the request 0x0 lacks XBUF_STRIDES");
    CHECK_OK(xbuf_get_buffer(f, &v, XBUF_F_CONTIGUOUS));
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_get_buffer(f, &v, XBUF_ANY_CONTIGUOUS));
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(xbuf_exports(f), 0);

    /* A C array refuses XBUF_F_CONTIGUOUS. */
    CHECK_OK(xbuf_ndarray_zeros("<i", 2, DIMS(2, 3), 'C', 0, &c));
    CHECK_ERR(xbuf_get_buffer(c, &v, XBUF_F_CONTIGUOUS), XBUF_ERR_NOT_CONTIGUOUS,
              "not Fortran-contiguous (shape [2, 3], strides [12, 4]) but the request asks for XBUF_F_CONTIGUOUS");
    CHECK_OK(xbuf_get_buffer(c, &v, XBUF_SIMPLE));
    CHECK_EQ(v.len, 24);
    CHECK_EQ(v.itemsize, 4);
    CHECK(v.format == NULL && v.shape == NULL && v.strides == NULL);
    CHECK_OK(xbuf_release(&v));

    /* Rows with gaps: contiguous in neither order. */
    gap = make_nd(iota, 8, "B", 2, DIMS(2, 3), DIMS(4, 1), 0, 0);
    CHECK_ERR(xbuf_get_buffer(gap, &v, XBUF_ANY_CONTIGUOUS), XBUF_ERR_NOT_CONTIGUOUS,
              "not contiguous in either order (shape [2, 3], strides [4, 1]) but the request asks for XBUF_ANY_CONTIGUOUS");
    CHECK_ERR(xbuf_get_buffer(gap, &v, XBUF_ND | XBUF_FORMAT), XBUF_ERR_NOT_CONTIGUOUS,
              "the request 0xc lacks XBUF_STRIDES");
    CHECK_OK(xbuf_get_buffer(gap, &v, XBUF_STRIDED_RO));
    CHECK_OK(xbuf_release(&v));

    /* Suboffsets need XBUF_INDIRECT (XBUF_RECORDS_RO = 0x1c); contiguity is then refused too. */
    pil = make_nd(iota, 6, "B", 2, DIMS(2, 3), NULL, 0, XBUF_NDARRAY_PIL);
    CHECK_ERR(xbuf_get_buffer(pil, &v, XBUF_RECORDS_RO), XBUF_ERR_REQUEST,
              "exporter 'ndarray' has an indirect (suboffsets) layout but the request 0x1c lacks XBUF_INDIRECT");
    CHECK_ERR(xbuf_get_buffer(pil, &v, XBUF_SIMPLE), XBUF_ERR_REQUEST, "lacks XBUF_INDIRECT");
    CHECK_ERR(xbuf_get_buffer(pil, &v, XBUF_INDIRECT | XBUF_C_CONTIGUOUS), XBUF_ERR_NOT_CONTIGUOUS,
              "not C-contiguous");
    CHECK_OK(xbuf_get_buffer(pil, &v, XBUF_INDIRECT));
    CHECK(v.suboffsets != NULL);
    CHECK(v.format == NULL);
    CHECK_OK(xbuf_release(&v));

    /* XBUF_WRITABLE on a read-only array. */
    ro = make_nd(iota, 6, "B", 2, DIMS(2, 3), NULL, 0, XBUF_NDARRAY_READONLY);
    CHECK_ERR(xbuf_get_buffer(ro, &v, XBUF_STRIDED), XBUF_ERR_READONLY,
              "exporter 'ndarray' has read-only memory but the request 0x19 asks for XBUF_WRITABLE");

    /* Views refuse the same requests the same way. */
    {
        xbuf_object *vf = make_view(f, XBUF_FULL_RO), *vp = make_view(pil, XBUF_FULL_RO);
        xbuf_object *vr = make_view(ro, XBUF_FULL_RO), *out = BOGUS;
        CHECK_ERR(xbuf_get_buffer(vf, &v, XBUF_C_CONTIGUOUS), XBUF_ERR_NOT_CONTIGUOUS,
                  "exporter 'view' has a layout that is not C-contiguous (shape [2, 3], strides [4, 8])");
        CHECK_ERR(xbuf_get_buffer(vf, &v, XBUF_CONTIG_RO), XBUF_ERR_NOT_CONTIGUOUS, "lacks XBUF_STRIDES");
        CHECK_ERR(xbuf_get_buffer(vp, &v, XBUF_RECORDS_RO), XBUF_ERR_REQUEST, "lacks XBUF_INDIRECT");
        CHECK_ERR(xbuf_get_buffer(vr, &v, XBUF_FULL), XBUF_ERR_READONLY,
                  "exporter 'view' has read-only memory but the request 0x11d asks for XBUF_WRITABLE");
        /* And a view made with such a request fails the same way. */
        CHECK_ERR(xbuf_view_new(f, XBUF_C_CONTIGUOUS, &out), XBUF_ERR_NOT_CONTIGUOUS, "XBUF_C_CONTIGUOUS");
        CHECK(out == NULL);
        CHECK_ERR(xbuf_view_new(pil, XBUF_STRIDED_RO, &out), XBUF_ERR_REQUEST, "lacks XBUF_INDIRECT");
        CHECK_ERR(xbuf_view_new(ro, XBUF_FULL, &out), XBUF_ERR_READONLY, "XBUF_WRITABLE");
        drop(vf);
        drop(vp);
        drop(vr);
    }
    drop(f);
    drop(c);
    drop(gap);
    drop(pil);
    drop(ro);
}

/* ---- Views of each exporter, views of views -------------------------------------------------- */

static void test_view_of_bytearray(void) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT, b = XBUF_BUFFERINFO_INIT;
    xbuf_object *ba = make_bytearray("abcdef", 6);
    xbuf_object *view = make_view(ba, XBUF_FULL);
    CHECK_STR(xbuf_object_type_name(view), "view");
    CHECK_EQ(xbuf_exports(ba), 1); /* the view's export */
    CHECK_EQ(xbuf_exports(view), 0);
    CHECK_EQ(xbuf_refcount(ba), 2);
    CHECK_EQ(xbuf_refcount(view), 1);
    CHECK_OK(xbuf_get_buffer(view, &v, XBUF_FULL));
    CHECK(v.releaser == ba); /* the memory's owner, not the view */
    CHECK_EQ(xbuf_exports(ba), 2);
    CHECK_EQ(xbuf_exports(view), 0);
    CHECK_EQ(v.readonly, 0);
    CHECK_EQ(v.len, 6);
    CHECK_EQ(v.ndim, 1);
    CHECK_EQ(v.shape[0], 6);
    CHECK_EQ(v.strides[0], 1);
    CHECK_STR(v.format, "B");
    CHECK_OK(xbuf_get_buffer(ba, &b, XBUF_SIMPLE));
    CHECK(v.buf == b.buf); /* no copy */
    ((char *)v.buf)[0] = 'A';
    CHECK(memcmp(b.buf, "Abcdef", 6) == 0);
    CHECK_OK(xbuf_release(&b));
    CHECK_OK(xbuf_release(&v));
    CHECK_BYTES(view, 'C', 'A', 'b', 'c', 'd', 'e', 'f');
    CHECK(hex_is(view, "416263646566"));
    drop(view);
    CHECK_EQ(xbuf_refcount(ba), 1);
    /* A view from a SIMPLE request still knows its items are bytes. */
    view = make_view(ba, XBUF_SIMPLE);
    CHECK_OK(xbuf_get_buffer(view, &v, XBUF_FULL_RO));
    CHECK_STR(v.format, "B");
    CHECK_EQ(v.ndim, 1);
    CHECK_OK(xbuf_release(&v));
    drop(view);
    drop(ba);
}

static void test_view_of_bytes(void) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    xbuf_object *b = NULL, *view = BOGUS;
    uint64_t h = 0;
    CHECK_OK(xbuf_bytes_new("abc", 3, &b));
    CHECK_ERR(xbuf_view_new(b, XBUF_FULL, &view), XBUF_ERR_READONLY,
              "exporter 'bytes' has read-only memory but the request 0x11d asks for XBUF_WRITABLE");
    CHECK(view == NULL);
    CHECK_EQ(xbuf_exports(b), 0);
    view = make_view(b, XBUF_FULL_RO);
    CHECK_OK(xbuf_get_buffer(view, &v, XBUF_FULL_RO));
    CHECK(v.releaser == b);
    CHECK_EQ(v.readonly, 1);
    CHECK(memcmp(v.buf, "abc", 3) == 0);
    CHECK_OK(xbuf_release(&v));
    CHECK_ERR(xbuf_get_buffer(view, &v, XBUF_WRITABLE), XBUF_ERR_READONLY, "exporter 'view' has read-only memory");
    /* FNV-1a 64 of "abc" is 0xe71fa2190541574b (the FNV reference test vector). */
    CHECK_OK(xbuf_view_hash(view, &h));
    CHECK(h == 0xe71fa2190541574bULL);
    drop(view);
    drop(b);
}

static void test_view_of_c_exporter(void) {
    grid g;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    xbuf_object *obj = grid_new(&g), *view, *row;
    view = make_view(obj, XBUF_FULL_RO);
    CHECK_EQ(g.gets, 1);
    CHECK_EQ(xbuf_exports(obj), 1);
    CHECK(layout_is(view, 2, DIMS(3, 4), DIMS(4, 1)));
    /* Row 1 of the grid: bytes 104..107. */
    row = index_of(view, DIMS(1), 1);
    CHECK_BYTES(row, 'C', 104, 105, 106, 107);
    CHECK_EQ(xbuf_exports(obj), 2);
    /* A bufferinfo of the view is handed back to the grid. */
    CHECK_OK(xbuf_get_buffer(view, &v, XBUF_FULL_RO));
    CHECK(v.releaser == obj);
    CHECK(v.buf == (void *)g.data);
    CHECK_EQ(xbuf_exports(obj), 3);
    CHECK_EQ(g.gets, 1); /* the view answers from its own layout */
    /* The creator's reference goes; the grid lives on through the views. */
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(g.deallocs, 0);
    drop(view);
    drop(row);
    CHECK_EQ(g.deallocs, 0);
    CHECK_EQ(((const unsigned char *)v.buf)[11], 111);
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(g.deallocs, 1);
    /* Every export the grid was the releaser of went through its releasebuffer: the view's own
     * and the three taken from the view (layout_is's, the row's and v). */
    CHECK_EQ(g.releases, 4);
}

static void test_views_of_views(void) {
    xbuf_bufferinfo info = XBUF_BUFFERINFO_INIT;
    xbuf_object *ba = make_bytearray("abcdef", 6);
    xbuf_object *v1 = make_view(ba, XBUF_FULL);
    xbuf_object *v2 = slice_of(v1, RANGES({1, 5, OM}), 1); /* "bcde" */
    xbuf_object *v3 = make_view(v2, XBUF_FULL_RO);         /* a view made from a view */
    CHECK_EQ(xbuf_exports(ba), 3);
    CHECK_EQ(xbuf_exports(v1), 0);
    CHECK_EQ(xbuf_exports(v2), 0);
    CHECK_OK(xbuf_get_buffer(v2, &info, XBUF_FULL));
    CHECK(info.releaser == ba);
    CHECK(info.releaser != v2 && info.releaser != v1);
    CHECK_EQ(xbuf_exports(ba), 4);
    CHECK_EQ(xbuf_exports(v2), 0);
    CHECK_EQ(info.len, 4);
    CHECK_EQ(info.shape[0], 4);
    CHECK(memcmp(info.buf, "bcde", 4) == 0);
    CHECK(layout_is(v3, 1, DIMS(4), DIMS(1)));
    /* Every object but the bytearray and the bufferinfo goes; the bufferinfo still reads its
     * bytes, and writes reach the bytearray. */
    drop(v3);
    drop(v2);
    drop(v1);
    CHECK_EQ(xbuf_exports(ba), 1);
    CHECK_OK(xbuf_decref(ba)); /* only the bufferinfo keeps it now */
    CHECK(memcmp(info.buf, "bcde", 4) == 0);
    CHECK_EQ(info.shape[0], 4);
    CHECK_EQ(info.strides[0], 1);
    CHECK_STR(info.format, "B");
    ((char *)info.buf)[3] = 'E';
    CHECK(memcmp(info.buf, "bcdE", 4) == 0);
    CHECK_OK(xbuf_release(&info)); /* frees the bytearray */
    CHECK(info.releaser == NULL);
}

/* A view made with a request without XBUF_FORMAT of items wider than a byte knows their size
 * but not their format: it refuses requests for a format, everything else works, and a cast
 * gives it one. */
static void test_view_without_format(void) {
    xbuf_bufferinfo info = XBUF_BUFFERINFO_INIT;
    xbuf_object *a = make_nd(iota, 24, "<i", 1, DIMS(6), NULL, 0, 0);
    xbuf_object *v = make_view(a, XBUF_ND), *s, *c, *out = BOGUS;
    CHECK_ERR(xbuf_get_buffer(v, &info, XBUF_FULL_RO), XBUF_ERR_FORMAT,
              "xbuf_get_buffer: the view has items of 4 bytes but no format (its base was asked without XBUF_FORMAT)");
    CHECK(info.releaser == NULL);
    CHECK_ERR(xbuf_view_new(v, XBUF_RECORDS_RO, &out), XBUF_ERR_FORMAT, "no format");
    CHECK(out == NULL);
    CHECK_OK(xbuf_get_buffer(v, &info, XBUF_STRIDED_RO));
    CHECK(info.format == NULL);
    CHECK_EQ(info.itemsize, 4);
    CHECK_EQ(info.len, 24);
    CHECK_EQ(info.shape[0], 6);
    CHECK_EQ(info.strides[0], 4);
    CHECK_OK(xbuf_release(&info));
    CHECK_BYTES(v, 'C', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
    /* Slices keep the item size: a[1:3] is bytes 4..11. */
    s = slice_of(v, RANGES({1, 3, OM}), 1);
    CHECK_BYTES(s, 'C', 4, 5, 6, 7, 8, 9, 10, 11);
    CHECK_ERR(xbuf_get_buffer(s, &info, XBUF_FULL_RO), XBUF_ERR_FORMAT, "no format");
    /* A cast names the format: the slice as two "<i", the whole view as 2x3 "<h"... */
    c = cast_of(s, "<i", 0, NULL);
    CHECK_OK(xbuf_get_buffer(c, &info, XBUF_FULL_RO));
    CHECK_STR(info.format, "<i");
    CHECK_EQ(info.len, 8);
    CHECK_OK(xbuf_release(&info));
    drop(c);
    c = cast_of(v, "<h", 2, DIMS(3, 4));
    CHECK(layout_is(c, 2, DIMS(3, 4), DIMS(8, 2)));
    CHECK(byte_at(c, DIMS(2, 1), 2) == 18);
    drop(c);
    drop(s);
    drop(v);
    drop(a);
}

/* ---- Slicing ------------------------------------------------------------------------------- */

/* The bytes of a[start:stop:step] for a = bytes(range(10)), checked against the list written out
 * in the comment. */
static int slice1_is(xbuf_object *view, ptrdiff_t start, ptrdiff_t stop, ptrdiff_t step, const unsigned char *want,
                     size_t n) {
    xbuf_range r;
    xbuf_object *s = NULL;
    int ok;
    r.start = start;
    r.stop = stop;
    r.step = step;
    if (xbuf_view_slice(view, &r, 1, &s) != XBUF_OK) {
        fprintf(stderr, "    slice: %s\n", xbuf_last_error_message());
        return 0;
    }
    ok = bytes_are(s, 'C', want, n) && layout_is(s, 1, (const ptrdiff_t[]){(ptrdiff_t)n}, NULL);
    xbuf_decref(s);
    return ok;
}

#define CHECK_SLICE1(view, start, stop, step, ...)                                    \
    do {                                                                              \
        static const unsigned char xt_want[] = {__VA_ARGS__};                         \
        CHECK(slice1_is((view), (start), (stop), (step), xt_want, sizeof xt_want));   \
    } while (0)

static void test_slice_1d(void) {
    xbuf_object *a = make_nd(iota, 10, "B", 1, DIMS(10), NULL, 0, 0);
    xbuf_object *v = make_view(a, XBUF_FULL_RO), *s;
    const unsigned char *base = buf_of(v);
    CHECK_SLICE1(v, 2, 7, 2, 2, 4, 6);                          /* a[2:7:2] */
    CHECK_SLICE1(v, OM, OM, -1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);  /* a[::-1] */
    CHECK_SLICE1(v, -3, OM, OM, 7, 8, 9);                       /* a[-3:] */
    CHECK_SLICE1(v, OM, -7, OM, 0, 1, 2);                       /* a[:-7] */
    CHECK_SLICE1(v, 8, 2, -2, 8, 6, 4);                         /* a[8:2:-2] */
    CHECK_SLICE1(v, -100, 100, OM, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9); /* a[-100:100]: clamped */
    CHECK_SLICE1(v, OM, OM, -3, 9, 6, 3, 0);                    /* a[::-3] */
    CHECK_SLICE1(v, -1, -12, -1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0); /* a[-1:-12:-1]: stop clamped to -1 */
    CHECK_SLICE1(v, 20, -20, -1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0); /* a[20:-20:-1] */
    CHECK_SLICE1(v, 3, 100, 4, 3, 7);                           /* a[3:100:4] */
    CHECK_SLICE1(v, OM, OM, OM, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);  /* a[::] */
    CHECK_SLICE1(v, 9, OM, PTRDIFF_MAX, 9);                     /* a[9::huge] */
    CHECK_SLICE1(v, OM, OM, PTRDIFF_MAX, 0);                    /* a[::huge] */
    CHECK_SLICE1(v, OM, OM, -PTRDIFF_MAX, 9);                   /* a[::-huge] */
    CHECK_SLICE1(v, -PTRDIFF_MAX, PTRDIFF_MAX, 5, 0, 5);        /* extreme bounds clamp */
    /* Empty results: a[100:], a[5:2], a[2:5:-1], a[-20:5:-1], a[-1:-1]. */
    CHECK(slice1_is(v, 100, OM, OM, NULL, 0));
    CHECK(slice1_is(v, 5, 2, OM, NULL, 0));
    CHECK(slice1_is(v, 2, 5, -1, NULL, 0));
    CHECK(slice1_is(v, -20, 5, -1, NULL, 0));
    CHECK(slice1_is(v, -1, -1, 1, NULL, 0));
    /* Where the slices start: a[2:7:2] at byte 2 with stride 2; a[::-1] at byte 9, stride -1. */
    s = slice_of(v, RANGES({2, 7, 2}), 1);
    CHECK(buf_of(s) == base + 2);
    CHECK(layout_is(s, 1, DIMS(3), DIMS(2)));
    drop(s);
    s = slice_of(v, RANGES({OM, OM, -1}), 1);
    CHECK(buf_of(s) == base + 9);
    CHECK(layout_is(s, 1, DIMS(10), DIMS(-1)));
    /* A slice of a slice: (a[::-1])[1:8:3] = 8, 5, 2. */
    CHECK_SLICE1(s, 1, 8, 3, 8, 5, 2);
    drop(s);
    /* Huge steps with 4-byte items (the step times the stride does not fit in a ptrdiff_t, but
     * at most one item is selected, whose stride is never used): a[::huge] is [a[0]],
     * a[::-huge] is [a[9]]. */
    {
        xbuf_object *ints = make_nd(iota, 40, "<i", 1, DIMS(10), NULL, 0, 0), *vi = make_view(ints, XBUF_FULL_RO);
        s = slice_of(vi, RANGES({OM, OM, PTRDIFF_MAX}), 1);
        CHECK_BYTES(s, 'C', 0, 1, 2, 3);
        drop(s);
        s = slice_of(vi, RANGES({OM, OM, -PTRDIFF_MAX}), 1);
        CHECK_BYTES(s, 'C', 36, 37, 38, 39);
        drop(s);
        s = slice_of(vi, RANGES({-PTRDIFF_MAX, PTRDIFF_MAX, PTRDIFF_MAX / 2}), 1);
        CHECK_BYTES(s, 'C', 0, 1, 2, 3);
        drop(s);
        /* a[8::-huge] is [a[8]]; a[5:2:huge] is empty. */
        s = slice_of(vi, RANGES({8, OM, -PTRDIFF_MAX}), 1);
        CHECK_BYTES(s, 'C', 32, 33, 34, 35);
        drop(s);
        s = slice_of(vi, RANGES({5, 2, PTRDIFF_MAX}), 1);
        CHECK(layout_is(s, 1, DIMS(0), NULL));
        CHECK(bytes_are(s, 'C', NULL, 0));
        drop(s);
        drop(vi);
        drop(ints);
    }
    /* An empty slice has no items: tobytes needs 0 bytes and hex is "". */
    s = slice_of(v, RANGES({5, 2, OM}), 1);
    {
        size_t needed = 99;
        CHECK_OK(xbuf_view_tobytes(s, 'C', NULL, 0, &needed));
        CHECK_EQ(needed, 0);
        CHECK(hex_is(s, ""));
    }
    drop(s);
    /* A zero step is refused, as are more slices than dimensions and a negative count. */
    s = BOGUS;
    CHECK_ERR(xbuf_view_slice(v, RANGES({0, 5, 0}), 1, &s), XBUF_ERR_INVALID_ARGUMENT,
              "xbuf_view_slice: slice step is zero in dimension 0");
    CHECK(s == NULL);
    CHECK_ERR(xbuf_view_slice(v, RANGES({OM, OM, OM}, {OM, OM, OM}), 2, &s), XBUF_ERR_INVALID_ARGUMENT,
              "2 slices given for a view of 1 dimensions");
    CHECK_ERR(xbuf_view_slice(v, RANGES({OM, OM, OM}), -1, &s), XBUF_ERR_INVALID_ARGUMENT,
              "the length of 'slices' is -1");
    /* No slices: the whole view. */
    s = slice_of(v, NULL, 0);
    CHECK_BYTES(s, 'C', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    drop(s);
    drop(v);
    drop(a);
}

static void test_slice_2d(void) {
    /* A 4x5 array of bytes: item (i, j) = 5i + j; strides (5, 1). */
    xbuf_object *a = make_nd(iota, 20, "B", 2, DIMS(4, 5), NULL, 0, 0);
    xbuf_object *v = make_view(a, XBUF_FULL_RO), *s, *t;
    const unsigned char *base = buf_of(v);

    /* a[1:3, ::2]: rows 1, 2; columns 0, 2, 4. */
    s = slice_of(v, RANGES({1, 3, OM}, {OM, OM, 2}), 2);
    CHECK(layout_is(s, 2, DIMS(2, 3), DIMS(5, 2)));
    CHECK(buf_of(s) == base + 5);
    CHECK_BYTES(s, 'C', 5, 7, 9, 10, 12, 14);
    CHECK_BYTES(s, 'F', 5, 10, 7, 12, 9, 14);
    /* Slicing the result again: (a[1:3, ::2])[::-1, 1:] = rows 2, 1; columns 2, 4. */
    t = slice_of(s, RANGES({OM, OM, -1}, {1, OM, OM}), 2);
    CHECK(layout_is(t, 2, DIMS(2, 2), DIMS(-5, 2)));
    CHECK_BYTES(t, 'C', 12, 14, 7, 9);
    drop(t);
    drop(s);

    /* a[::-1, ::-2]: rows 3, 2, 1, 0; columns 4, 2, 0; starts at item (3, 4) = byte 19. */
    s = slice_of(v, RANGES({OM, OM, -1}, {OM, OM, -2}), 2);
    CHECK(layout_is(s, 2, DIMS(4, 3), DIMS(-5, -2)));
    CHECK(buf_of(s) == base + 19);
    CHECK_BYTES(s, 'C', 19, 17, 15, 14, 12, 10, 9, 7, 5, 4, 2, 0);
    drop(s);

    /* One slice for two dimensions: a[2:] keeps every column. */
    s = slice_of(v, RANGES({2, OM, OM}), 1);
    CHECK(layout_is(s, 2, DIMS(2, 5), DIMS(5, 1)));
    CHECK_BYTES(s, 'C', 10, 11, 12, 13, 14, 15, 16, 17, 18, 19);
    drop(s);

    /* a[:, 1:4] and a[-1:, -2:] (negative bounds in both dimensions). */
    s = slice_of(v, RANGES({OM, OM, OM}, {1, 4, OM}), 2);
    CHECK(layout_is(s, 2, DIMS(4, 3), DIMS(5, 1)));
    CHECK_BYTES(s, 'C', 1, 2, 3, 6, 7, 8, 11, 12, 13, 16, 17, 18);
    drop(s);
    s = slice_of(v, RANGES({-1, OM, OM}, {-2, OM, OM}), 2);
    CHECK_BYTES(s, 'C', 18, 19);
    drop(s);

    /* a[-10:10:3, 7:-9:-3]: rows 0, 3 (clamped start); columns 4, 1 (start clamped to 4). */
    s = slice_of(v, RANGES({-10, 10, 3}, {7, -9, -3}), 2);
    CHECK(layout_is(s, 2, DIMS(2, 2), DIMS(15, -3)));
    CHECK_BYTES(s, 'C', 4, 1, 19, 16);
    drop(s);

    /* Empty results in either dimension: a[1:1] is 0x5, a[:, 5:] is 4x0. */
    s = slice_of(v, RANGES({1, 1, OM}), 1);
    CHECK(layout_is(s, 2, DIMS(0, 5), NULL));
    CHECK(bytes_are(s, 'C', NULL, 0));
    CHECK(bytes_are(s, 'F', NULL, 0));
    drop(s);
    s = slice_of(v, RANGES({OM, OM, OM}, {5, OM, OM}), 2);
    CHECK(layout_is(s, 2, DIMS(4, 0), NULL));
    CHECK(bytes_are(s, 'C', NULL, 0));
    drop(s);

    s = BOGUS;
    CHECK_ERR(xbuf_view_slice(v, RANGES({OM, OM, OM}, {0, 1, 0}), 2, &s), XBUF_ERR_INVALID_ARGUMENT,
              "slice step is zero in dimension 1");
    CHECK(s == NULL);
    CHECK_ERR(xbuf_view_slice(v, RANGES({OM, OM, OM}, {OM, OM, OM}, {OM, OM, OM}), 3, &s),
              XBUF_ERR_INVALID_ARGUMENT, "3 slices given for a view of 2 dimensions");
    drop(v);
    drop(a);
}

static void test_slice_3d(void) {
    /* A 2x3x4 array of bytes: item (i, j, k) = 12i + 4j + k; strides (12, 4, 1). */
    xbuf_object *a = make_nd(iota, 24, "B", 3, DIMS(2, 3, 4), NULL, 0, 0);
    xbuf_object *v = make_view(a, XBUF_FULL_RO), *s, *t;
    const unsigned char *base = buf_of(v);

    /* a[::-1, 1:, ::3]: i = 1, 0; j = 1, 2; k = 0, 3. Starts at (1, 1, 0) = byte 16. */
    s = slice_of(v, RANGES({OM, OM, -1}, {1, OM, OM}, {OM, OM, 3}), 3);
    CHECK(layout_is(s, 3, DIMS(2, 2, 2), DIMS(-12, 4, 3)));
    CHECK(buf_of(s) == base + 16);
    CHECK_BYTES(s, 'C', 16, 19, 20, 23, 4, 7, 8, 11);
    CHECK_BYTES(s, 'F', 16, 4, 20, 8, 19, 7, 23, 11);
    /* (a[::-1, 1:, ::3])[:, ::-1]: j = 2, 1. */
    t = slice_of(s, RANGES({OM, OM, OM}, {OM, OM, -1}), 2);
    CHECK(layout_is(t, 3, DIMS(2, 2, 2), DIMS(-12, -4, 3)));
    CHECK_BYTES(t, 'C', 20, 23, 16, 19, 8, 11, 4, 7);
    drop(t);
    /* Indexing the slice: (a[::-1, 1:, ::3])[0, 1] = a[1, 2, ::3] = 20, 23. */
    t = index_of(s, DIMS(0, 1), 2);
    CHECK(layout_is(t, 1, DIMS(2), DIMS(3)));
    CHECK_BYTES(t, 'C', 20, 23);
    drop(t);
    drop(s);

    /* Only the last dimension sliced through explicit whole slices before it: a[:, :, 1:3]. */
    s = slice_of(v, RANGES({OM, OM, OM}, {OM, OM, OM}, {1, 3, OM}), 3);
    CHECK(layout_is(s, 3, DIMS(2, 3, 2), DIMS(12, 4, 1)));
    CHECK_BYTES(s, 'C', 1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22);
    drop(s);

    /* An empty middle dimension: a[:, 3:] is 2x0x4. */
    s = slice_of(v, RANGES({OM, OM, OM}, {3, OM, OM}), 2);
    CHECK(layout_is(s, 3, DIMS(2, 0, 4), NULL));
    CHECK(bytes_are(s, 'C', NULL, 0));
    drop(s);
    drop(v);
    drop(a);
}

static void test_slice_pil(void) {
    /* PIL 2x3 bytes, strides (12, -2), offset 4: item (i, j) = 4 + 12i - 2j; row i is
     * 4 + 12i, 2 + 12i, 12i. */
    xbuf_object *a = make_nd(iota, 24, "B", 2, DIMS(2, 3), DIMS(12, -2), 4, XBUF_NDARRAY_PIL);
    xbuf_object *v = make_view(a, XBUF_FULL_RO), *s;
    CHECK_BYTES(v, 'C', 4, 2, 0, 16, 14, 12);
    /* a[:, ::-1]: 0 2 4 / 12 14 16. */
    s = slice_of(v, RANGES({OM, OM, OM}, {OM, OM, -1}), 2);
    CHECK_BYTES(s, 'C', 0, 2, 4, 12, 14, 16);
    drop(s);
    /* a[::-1, 1:]: 14 12 / 2 0. */
    s = slice_of(v, RANGES({OM, OM, -1}, {1, OM, OM}), 2);
    CHECK_BYTES(s, 'C', 14, 12, 2, 0);
    CHECK(byte_at(s, DIMS(1, 0), 2) == 2);
    drop(s);
    /* Indexing a row leaves a direct (no suboffsets) 1-D view: a[1] = 16 14 12. */
    s = index_of(v, DIMS(1), 1);
    CHECK_BYTES(s, 'C', 16, 14, 12);
    {
        xbuf_bufferinfo info = XBUF_BUFFERINFO_INIT;
        CHECK_OK(xbuf_get_buffer(s, &info, XBUF_STRIDED_RO)); /* no XBUF_INDIRECT needed */
        CHECK(info.suboffsets == NULL);
        CHECK_EQ(info.strides[0], -2);
        CHECK_OK(xbuf_release(&info));
    }
    drop(s);
    drop(v);
    drop(a);
}

/* A PIL-style exporter whose row pointers point at each row's first item, which is its highest
 * address: 3 rows of 4 bytes read backwards, item (i, j) = byte 4i + 3 - j of `data`. */
typedef struct {
    unsigned char data[12];
    unsigned char *rows[3];
    ptrdiff_t shape[2], strides[2], suboffsets[2];
    int releases;
} backward_rows;

static int backward_rows_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    backward_rows *r = (backward_rows *)xbuf_object_state(self);
    (void)flags;
    view->buf = r->rows;
    view->len = 12;
    view->itemsize = 1;
    view->readonly = 1;
    view->ndim = 2;
    view->format = "B";
    view->shape = r->shape;
    view->strides = r->strides;
    view->suboffsets = r->suboffsets;
    return XBUF_OK;
}

static void backward_rows_release(xbuf_object *self, xbuf_bufferinfo *view) {
    if (view) ((backward_rows *)xbuf_object_state(self))->releases++;
}

/* An exporter that answers with a view of another object, as CPython exporters often do. */
static int forward_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    return xbuf_get_buffer((xbuf_object *)xbuf_object_state(self), view, flags);
}

static void test_slice_pil_own_table(void) {
    backward_rows r;
    xbuf_type type = {sizeof(xbuf_type), "backward_rows", backward_rows_getbuffer, backward_rows_release, NULL, NULL};
    xbuf_type fwd_type = {sizeof(xbuf_type), "forward", forward_getbuffer, NULL, NULL, NULL};
    xbuf_object *obj = NULL, *fwd = NULL, *v, *s, *t, *u;
    xbuf_bufferinfo info = XBUF_BUFFERINFO_INIT, nested = XBUF_BUFFERINFO_INIT;
    unsigned char out[9];
    void *p = NULL;
    int k;
    for (k = 0; k < 12; k++) r.data[k] = (unsigned char)k;
    for (k = 0; k < 3; k++) r.rows[k] = r.data + 4 * k + 3;
    r.shape[0] = 3;
    r.shape[1] = 4;
    r.strides[0] = (ptrdiff_t)sizeof(void *);
    r.strides[1] = -1;
    r.suboffsets[0] = 0;
    r.suboffsets[1] = -1;
    r.releases = 0;
    CHECK_OK(xbuf_object_new(&type, &r, &obj));
    v = make_view(obj, XBUF_FULL_RO);
    CHECK_BYTES(v, 'C', 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8);

    /* a[:, 1:] starts each row one byte below its pointer: suboffsets[0] would be -1, which
     * means "no indirection" (memoryview reads the pointer table's bytes as items there). The
     * slice gets a table of its own instead. */
    s = slice_of(v, RANGES({OM, OM, OM}, {1, OM, OM}), 2);
    CHECK_BYTES(s, 'C', 2, 1, 0, 6, 5, 4, 10, 9, 8);
    CHECK_BYTES(s, 'F', 2, 6, 10, 1, 5, 9, 0, 4, 8);
    CHECK_OK(xbuf_get_buffer(s, &info, XBUF_FULL_RO));
    CHECK(info.buf != (void *)r.rows);
    CHECK(info.releaser == obj);
    CHECK(info.shape[0] == 3 && info.shape[1] == 3);
    CHECK(info.strides[0] == (ptrdiff_t)sizeof(void *) && info.strides[1] == -1);
    /* One pointer per row, each its row's lowest address; suboffsets[0] leads to item (i, 0). */
    CHECK(info.suboffsets != NULL && info.suboffsets[0] == 2 && info.suboffsets[1] == -1);
    CHECK(((unsigned char **)info.buf)[0] == r.data && ((unsigned char **)info.buf)[2] == r.data + 8);
    CHECK_OK(xbuf_get_pointer(&info, DIMS(2, 0), &p));
    CHECK(p == r.data + 10);

    /* Slices of it: reversed rows and columns, then a row. */
    t = slice_of(s, RANGES({OM, OM, -1}, {OM, OM, -1}), 2);
    CHECK_BYTES(t, 'C', 8, 9, 10, 4, 5, 6, 0, 1, 2);
    u = index_of(t, DIMS(1), 1);
    CHECK_BYTES(u, 'C', 4, 5, 6);
    CHECK_OK(xbuf_decref(u));

    /* An exporter that answers with a view of the slice: its consumer's view gets a copy of
     * the table too (the one in the exporter's answer goes when the get returns). */
    CHECK_OK(xbuf_object_new(&fwd_type, t, &fwd));
    CHECK_OK(xbuf_get_buffer(fwd, &nested, XBUF_FULL_RO));
    CHECK(nested.releaser == obj);
    CHECK_OK(xbuf_decref(fwd));

    /* Every view object goes; the views taken of them still read the right items, each from
     * its own copy of the table (the sanitize and memcheck presets would see a stale one). */
    CHECK_OK(xbuf_decref(t));
    CHECK_OK(xbuf_decref(s));
    CHECK_OK(xbuf_decref(v));
    CHECK_EQ(xbuf_exports(obj), 2);
    CHECK_OK(xbuf_to_contiguous(out, 9, &info, 'C'));
    CHECK(memcmp(out, "\x02\x01\x00\x06\x05\x04\x0a\x09\x08", 9) == 0);
    CHECK_OK(xbuf_to_contiguous(out, 9, &nested, 'C'));
    CHECK(memcmp(out, "\x08\x09\x0a\x04\x05\x06\x00\x01\x02", 9) == 0);
    CHECK_OK(xbuf_release(&info));
    CHECK_OK(xbuf_release(&nested));
    CHECK_EQ(r.releases, 6); /* info, nested, and the exports v, s, t and u held */

    /* Requests without XBUF_INDIRECT are refused, as for any indirect layout. */
    v = make_view(obj, XBUF_FULL_RO);
    s = slice_of(v, RANGES({OM, OM, OM}, {1, OM, OM}), 2);
    CHECK_ERR(xbuf_get_buffer(s, &info, XBUF_RECORDS_RO), XBUF_ERR_REQUEST, "lacks XBUF_INDIRECT");
    /* An empty slice needs no table; its buf stays where the sliced view's was. */
    t = slice_of(v, RANGES({OM, OM, OM}, {4, OM, OM}), 2);
    CHECK_OK(xbuf_get_buffer(t, &info, XBUF_FULL_RO));
    CHECK(info.buf == (void *)r.rows && info.shape[1] == 0);
    CHECK_OK(xbuf_release(&info));
    CHECK_OK(xbuf_decref(t));
    CHECK_OK(xbuf_decref(s));
    CHECK_OK(xbuf_decref(v));
    drop(obj);
}

/* ---- Indexing and item pointers ------------------------------------------------------------- */

static void test_index_and_item_pointer(void) {
    /* 2x3x4 bytes, item (i, j, k) = 12i + 4j + k. */
    xbuf_object *a = make_nd(iota, 24, "B", 3, DIMS(2, 3, 4), NULL, 0, 0);
    xbuf_object *v = make_view(a, XBUF_FULL_RO), *s, *t, *out = BOGUS;
    const unsigned char *base = buf_of(v);
    void *p = BOGUS;

    /* a[1]: 3x4 of 12..23. */
    s = index_of(v, DIMS(1), 1);
    CHECK(layout_is(s, 2, DIMS(3, 4), DIMS(4, 1)));
    CHECK(buf_of(s) == base + 12);
    CHECK_BYTES(s, 'C', 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
    /* (a[1])[-1] = a[1, 2] = 20..23. */
    t = index_of(s, DIMS(-1), 1);
    CHECK(layout_is(t, 1, DIMS(4), DIMS(1)));
    CHECK_BYTES(t, 'C', 20, 21, 22, 23);
    drop(t);
    drop(s);
    /* a[0, -2] = a[0, 1] = 4..7. */
    s = index_of(v, DIMS(0, -2), 2);
    CHECK_BYTES(s, 'C', 4, 5, 6, 7);
    drop(s);
    /* a[-1, -1, -1] = a[1, 2, 3] = 23: a zero-dimensional view of one item. */
    s = index_of(v, DIMS(-1, -1, -1), 3);
    CHECK(layout_is(s, 0, NULL, NULL));
    CHECK(buf_of(s) == base + 23);
    CHECK_BYTES(s, 'C', 23);
    CHECK(hex_is(s, "17"));
    CHECK_OK(xbuf_view_item_pointer(s, NULL, 0, &p));
    CHECK(p == (void *)(base + 23));
    /* Indexing a zero-dimensional view with no indices gives it again; with one, an error. */
    t = index_of(s, NULL, 0);
    CHECK_BYTES(t, 'C', 23);
    drop(t);
    CHECK_ERR(xbuf_view_index(s, DIMS(0), 1, &out), XBUF_ERR_INVALID_ARGUMENT,
              "1 indices given for a view of 0 dimensions");
    CHECK(out == NULL);
    drop(s);
    /* No indices: the whole view. */
    s = index_of(v, NULL, 0);
    CHECK(layout_is(s, 3, DIMS(2, 3, 4), DIMS(12, 4, 1)));
    drop(s);

    /* Errors: too many indices, out of bounds in each dimension, a negative count. */
    out = BOGUS;
    CHECK_ERR(xbuf_view_index(v, DIMS(0, 0, 0, 0), 4, &out), XBUF_ERR_INVALID_ARGUMENT,
              "xbuf_view_index: 4 indices given for a view of 3 dimensions");
    CHECK(out == NULL);
    CHECK_ERR(xbuf_view_index(v, DIMS(2), 1, &out), XBUF_ERR_OUT_OF_BOUNDS,
              "index 2 is out of bounds for dimension 0 of extent 2");
    CHECK_ERR(xbuf_view_index(v, DIMS(-3), 1, &out), XBUF_ERR_OUT_OF_BOUNDS,
              "index -3 is out of bounds for dimension 0 of extent 2");
    CHECK_ERR(xbuf_view_index(v, DIMS(0, -4), 2, &out), XBUF_ERR_OUT_OF_BOUNDS,
              "index -4 is out of bounds for dimension 1 of extent 3");
    CHECK_ERR(xbuf_view_index(v, DIMS(0, 0, 4), 3, &out), XBUF_ERR_OUT_OF_BOUNDS,
              "index 4 is out of bounds for dimension 2 of extent 4");
    CHECK_ERR(xbuf_view_index(v, DIMS(0), -1, &out), XBUF_ERR_INVALID_ARGUMENT, "the length of 'indices' is -1");

    /* Item pointers: (1, 2, 3) is byte 23, (-2, -3, -4) is byte 0, (0, 1, 2) is byte 6. */
    CHECK_OK(xbuf_view_item_pointer(v, DIMS(1, 2, 3), 3, &p));
    CHECK(p == (void *)(base + 23));
    CHECK_OK(xbuf_view_item_pointer(v, DIMS(-2, -3, -4), 3, &p));
    CHECK(p == (void *)base);
    CHECK(byte_at(v, DIMS(0, 1, 2), 3) == 6);
    p = BOGUS;
    CHECK_ERR(xbuf_view_item_pointer(v, DIMS(0, 0), 2, &p), XBUF_ERR_INVALID_ARGUMENT,
              "xbuf_view_item_pointer: 2 indices given for a view of 3 dimensions");
    CHECK(p == NULL);
    CHECK_ERR(xbuf_view_item_pointer(v, DIMS(0, 3, 0), 3, &p), XBUF_ERR_OUT_OF_BOUNDS,
              "index 3 is out of bounds for dimension 1 of extent 3");
    CHECK_ERR(xbuf_view_item_pointer(v, DIMS(0, 0, -5), 3, &p), XBUF_ERR_OUT_OF_BOUNDS,
              "index -5 is out of bounds for dimension 2 of extent 4");
    CHECK_ERR(xbuf_view_item_pointer(v, DIMS(0, 0, 0), -3, &p), XBUF_ERR_INVALID_ARGUMENT,
              "the length of 'indices' is -3");
    /* An item pointer of a slice: (a[::-1, ::-1, ::2])[0, 0, 1] = a[1, 2, 2] = byte 22. */
    s = slice_of(v, RANGES({OM, OM, -1}, {OM, OM, -1}, {OM, OM, 2}), 3);
    CHECK_OK(xbuf_view_item_pointer(s, DIMS(0, 0, 1), 3, &p));
    CHECK(p == (void *)(base + 22));
    drop(s);
    /* Writes through an item pointer of a writable view reach the array. */
    drop(v);
    v = make_view(a, XBUF_FULL);
    CHECK_OK(xbuf_view_item_pointer(v, DIMS(1, 0, 0), 3, &p));
    if (p) *(unsigned char *)p = 200;
    s = index_of(v, DIMS(1, 0), 2);
    CHECK_BYTES(s, 'C', 200, 13, 14, 15);
    drop(s);
    drop(v);
    drop(a);
}

/* ---- Transpose and permute ------------------------------------------------------------------ */

static void test_transpose_and_permute(void) {
    /* 2x3 bytes 1..6: [[1 2 3] [4 5 6]]. */
    static const unsigned char m[6] = {1, 2, 3, 4, 5, 6};
    xbuf_object *a = make_nd(m, 6, "B", 2, DIMS(2, 3), NULL, 0, 0);
    xbuf_object *v = make_view(a, XBUF_FULL_RO), *t, *tt, *out = BOGUS;
    xbuf_object *a3, *v3, *pil, *vp;
    xbuf_bufferinfo info = XBUF_BUFFERINFO_INIT;

    /* The transpose: 3x2, strides (1, 3), [[1 4] [2 5] [3 6]]. */
    CHECK_OK(xbuf_view_transpose(v, &t));
    CHECK(layout_is(t, 2, DIMS(3, 2), DIMS(1, 3)));
    CHECK_BYTES(t, 'C', 1, 4, 2, 5, 3, 6);
    CHECK_BYTES(t, 'F', 1, 2, 3, 4, 5, 6);
    CHECK(byte_at(t, DIMS(2, 1), 2) == 6);
    CHECK_OK(xbuf_get_buffer(t, &info, XBUF_FULL_RO));
    CHECK_EQ(xbuf_is_contiguous(&info, 'F'), 1);
    CHECK_EQ(xbuf_is_contiguous(&info, 'C'), 0);
    CHECK_OK(xbuf_release(&info));
    /* Transposing twice gives the original layout. */
    CHECK_OK(xbuf_view_transpose(t, &tt));
    CHECK(layout_is(tt, 2, DIMS(2, 3), DIMS(3, 1)));
    CHECK_BYTES(tt, 'C', 1, 2, 3, 4, 5, 6);
    drop(tt);
    drop(t);
    /* Permute (1, 0) is the transpose; (0, 1) the identity. */
    CHECK_OK(xbuf_view_permute(v, AXES(1, 0), 2, &t));
    CHECK_BYTES(t, 'C', 1, 4, 2, 5, 3, 6);
    drop(t);
    CHECK_OK(xbuf_view_permute(v, AXES(0, 1), 2, &t));
    CHECK(layout_is(t, 2, DIMS(2, 3), DIMS(3, 1)));
    drop(t);

    /* 2x3x4, item (i, j, k) = 12i + 4j + k. */
    a3 = make_nd(iota, 24, "B", 3, DIMS(2, 3, 4), NULL, 0, 0);
    v3 = make_view(a3, XBUF_FULL_RO);
    /* The transpose reverses all axes: 4x3x2, strides (1, 4, 12); C order walks k, j, i with i
     * fastest: 0 12 4 16 8 20 1 13 ... */
    CHECK_OK(xbuf_view_transpose(v3, &t));
    CHECK(layout_is(t, 3, DIMS(4, 3, 2), DIMS(1, 4, 12)));
    CHECK_BYTES(t, 'C', 0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23);
    drop(t);
    /* Permute (1, 0, 2): 3x2x4, strides (4, 12, 1); result (j, i, k) = a[i, j, k]. */
    CHECK_OK(xbuf_view_permute(v3, AXES(1, 0, 2), 3, &t));
    CHECK(layout_is(t, 3, DIMS(3, 2, 4), DIMS(4, 12, 1)));
    CHECK_BYTES(t, 'C', 0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19, 8, 9, 10, 11, 20, 21, 22, 23);
    /* Result[2, 1, 3] = a[1, 2, 3] = 23. */
    CHECK(byte_at(t, DIMS(2, 1, 3), 3) == 23);
    drop(t);
    /* Permute (2, 0, 1): 4x2x3, strides (1, 12, 4). */
    CHECK_OK(xbuf_view_permute(v3, AXES(2, 0, 1), 3, &t));
    CHECK(layout_is(t, 3, DIMS(4, 2, 3), DIMS(1, 12, 4)));
    CHECK(byte_at(t, DIMS(3, 1, 0), 3) == 15); /* a[1, 0, 3] */
    drop(t);

    /* Not permutations. */
    CHECK_ERR(xbuf_view_permute(v3, AXES(0, 0, 1), 3, &out), XBUF_ERR_INVALID_ARGUMENT,
              "xbuf_view_permute: axes [0, 0, 1] are not a permutation of 0..3");
    CHECK(out == NULL);
    CHECK_ERR(xbuf_view_permute(v3, AXES(0, 1, 3), 3, &out), XBUF_ERR_INVALID_ARGUMENT,
              "axes [0, 1, 3] are not a permutation of 0..3");
    CHECK_ERR(xbuf_view_permute(v3, AXES(0, 1), 2, &out), XBUF_ERR_INVALID_ARGUMENT,
              "2 axes given for a view of 3 dimensions");
    CHECK_ERR(xbuf_view_permute(v3, AXES(2, 1, 0, 3), 4, &out), XBUF_ERR_INVALID_ARGUMENT,
              "4 axes given for a view of 3 dimensions");
    CHECK_ERR(xbuf_view_permute(v3, AXES(-1, 0, 1), 3, &out), XBUF_ERR_INVALID_ARGUMENT, "axis -1 is negative");
    CHECK_ERR(xbuf_view_permute(v3, AXES(0), -1, &out), XBUF_ERR_INVALID_ARGUMENT, "the length of 'axes' is -1");
    CHECK_ERR(xbuf_view_permute(v3, NULL, 0, &out), XBUF_ERR_INVALID_ARGUMENT,
              "0 axes given for a view of 3 dimensions");

    /* Zero dimensions: the transpose and the empty permutation are the view itself. */
    {
        xbuf_object *z = index_of(v3, DIMS(1, 1, 1), 3);
        CHECK_OK(xbuf_view_transpose(z, &t));
        CHECK_BYTES(t, 'C', 17);
        drop(t);
        CHECK_OK(xbuf_view_permute(z, NULL, 0, &t));
        CHECK_BYTES(t, 'C', 17);
        drop(t);
        drop(z);
    }

    /* Indirect views refuse (their row pointers fix the order of dimensions). */
    pil = make_nd(iota, 6, "B", 2, DIMS(2, 3), NULL, 0, XBUF_NDARRAY_PIL);
    vp = make_view(pil, XBUF_FULL_RO);
    CHECK_ERR(xbuf_view_transpose(vp, &out), XBUF_ERR_UNSUPPORTED,
              "xbuf_view_transpose: cannot permute the dimensions of an indirect (suboffsets) view");
    CHECK(out == NULL);
    CHECK_ERR(xbuf_view_permute(vp, AXES(0, 1), 2, &out), XBUF_ERR_UNSUPPORTED, "indirect (suboffsets)");
    drop(vp);
    drop(pil);
    drop(v3);
    drop(a3);
    drop(v);
    drop(a);
}

/* ---- Cast ----------------------------------------------------------------------------------- */

static void test_cast(void) {
    xbuf_object *ba = make_bytearray(iota, 24);
    xbuf_object *v = make_view(ba, XBUF_FULL), *c, *d, *t, *out = BOGUS;
    xbuf_bufferinfo info = XBUF_BUFFERINFO_INIT;
    static ptrdiff_t ones[65];
    int k;
    for (k = 0; k < 65; k++) ones[k] = 1;

    /* 1-D bytes to 2x3x4 bytes: strides (12, 4, 1), item (i, j, k) = 12i + 4j + k. */
    c = cast_of(v, "B", 3, DIMS(2, 3, 4));
    CHECK(layout_is(c, 3, DIMS(2, 3, 4), DIMS(12, 4, 1)));
    CHECK(byte_at(c, DIMS(1, 2, 3), 3) == 23);
    CHECK(buf_of(c) == buf_of(v)); /* the same memory */
    /* ... and back to one dimension (shape NULL: as many items as fit). */
    d = cast_of(c, "B", 0, NULL);
    CHECK(layout_is(d, 1, DIMS(24), DIMS(1)));
    drop(d);
    /* N-D to N-D with another format: 2x3x4 bytes to 3x4 of "<H" (2 bytes), strides (8, 2). */
    d = cast_of(c, "<H", 2, DIMS(3, 4));
    CHECK(layout_is(d, 2, DIMS(3, 4), DIMS(8, 2)));
    CHECK_OK(xbuf_get_buffer(d, &info, XBUF_FULL_RO));
    CHECK_STR(info.format, "<H");
    CHECK_EQ(info.itemsize, 2);
    CHECK_EQ(info.len, 24);
    CHECK(info.releaser == ba);
    CHECK_OK(xbuf_release(&info));
    CHECK(byte_at(d, DIMS(1, 0), 2) == 8); /* item (1, 0) starts at byte 8 */
    CHECK(byte_at(d, DIMS(2, 3), 2) == 22);
    CHECK_BYTES(d, 'C', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23);
    /* F order moves whole 2-byte items: (0,0) (1,0) (2,0) (0,1) ... = bytes 0-1, 8-9, 16-17, 2-3, ... */
    CHECK_BYTES(d, 'F', 0, 1, 8, 9, 16, 17, 2, 3, 10, 11, 18, 19, 4, 5, 12, 13, 20, 21, 6, 7, 14, 15, 22, 23);
    drop(d);
    /* To zero dimensions: one 24-byte item. */
    d = cast_of(c, "24s", 0, DIMS(0));
    CHECK(layout_is(d, 0, NULL, NULL));
    drop(d);
    drop(c);

    /* 'i' <-> 'f': the bits are reinterpreted, never converted. 1.0f is 0x3f800000, -2.0f is
     * 0xc0000000; 0x40490fdb is the float nearest pi. */
    {
        float fl[2] = {1.0f, -2.0f};
        int32_t in[2] = {0, 0};
        float back = 0.0f;
        void *p = NULL;
        xbuf_object *fb = make_bytearray(fl, sizeof fl);
        xbuf_object *fv = make_view(fb, XBUF_FULL);
        xbuf_object *as_f = cast_of(fv, "f", 0, NULL), *as_i;
        CHECK(layout_is(as_f, 1, DIMS(2), DIMS(4)));
        as_i = cast_of(as_f, "i", 1, DIMS(2));
        CHECK_OK(xbuf_view_item_pointer(as_i, DIMS(0), 1, &p));
        if (p) memcpy(&in[0], p, 4);
        CHECK_OK(xbuf_view_item_pointer(as_i, DIMS(1), 1, &p));
        if (p) memcpy(&in[1], p, 4);
        CHECK(in[0] == 0x3f800000);
        CHECK((uint32_t)in[1] == 0xc0000000u);
        /* Write pi's bits as an int, read them back as a float. */
        in[0] = 0x40490fdb;
        CHECK_OK(xbuf_view_item_pointer(as_i, DIMS(0), 1, &p));
        if (p) memcpy(p, &in[0], 4);
        drop(as_i);
        as_i = cast_of(as_f, "i", 0, NULL);
        t = cast_of(as_i, "f", 0, NULL);
        CHECK_OK(xbuf_view_item_pointer(t, DIMS(0), 1, &p));
        if (p) memcpy(&back, p, 4);
        CHECK(back == 3.14159274101257324f);
        CHECK_OK(xbuf_view_item_pointer(t, DIMS(-1), 1, &p));
        if (p) memcpy(&back, p, 4);
        CHECK(back == -2.0f);
        drop(t);
        drop(as_i);
        drop(as_f);
        drop(fv);
        drop(fb);
    }

    /* A contiguous slice may be cast: bytes 4..11 as two "<i". */
    c = slice_of(v, RANGES({4, 12, OM}), 1);
    d = cast_of(c, "<i", 0, NULL);
    CHECK(layout_is(d, 1, DIMS(2), DIMS(4)));
    CHECK(buf_of(d) == buf_of(v) + 4);
    CHECK_BYTES(d, 'C', 4, 5, 6, 7, 8, 9, 10, 11);
    drop(d);
    drop(c);

    /* Refused: a layout that is not C-contiguous (a transpose, a stepped slice, an indirect array). */
    c = cast_of(v, "B", 2, DIMS(4, 6));
    CHECK_OK(xbuf_view_transpose(c, &t));
    CHECK_ERR(xbuf_view_cast(t, "B", 0, NULL, &out), XBUF_ERR_NOT_CONTIGUOUS,
              "xbuf_view_cast: cannot cast a view that is not C-contiguous (shape [6, 4], strides [1, 6])");
    CHECK(out == NULL);
    drop(t);
    drop(c);
    c = slice_of(v, RANGES({OM, OM, 2}), 1);
    CHECK_ERR(xbuf_view_cast(c, "B", 0, NULL, &out), XBUF_ERR_NOT_CONTIGUOUS,
              "not C-contiguous (shape [12], strides [2])");
    drop(c);
    {
        xbuf_object *pil = make_nd(iota, 6, "B", 2, DIMS(2, 3), NULL, 0, XBUF_NDARRAY_PIL);
        xbuf_object *vp = make_view(pil, XBUF_FULL_RO);
        CHECK_ERR(xbuf_view_cast(vp, "B", 0, NULL, &out), XBUF_ERR_NOT_CONTIGUOUS, "not C-contiguous");
        drop(vp);
        drop(pil);
    }
    /* Refused: the byte size changes (24 bytes are not 5 ints, nor 5-byte items). */
    CHECK_ERR(xbuf_view_cast(v, "<i", 1, DIMS(5), &out), XBUF_ERR_INVALID_ARGUMENT,
              "cast to shape [5] of 4-byte items needs 20 bytes but the view has 24");
    CHECK_ERR(xbuf_view_cast(v, "<i", 2, DIMS(2, 4), &out), XBUF_ERR_INVALID_ARGUMENT,
              "cast to shape [2, 4] of 4-byte items needs 32 bytes but the view has 24");
    CHECK_ERR(xbuf_view_cast(v, "5s", 0, NULL, &out), XBUF_ERR_INVALID_ARGUMENT,
              "the view's 24 bytes are not a whole number of 5-byte items of format '5s'");
    /* Refused: bad formats, bad dimensions. */
    CHECK_ERR(xbuf_view_cast(v, "<2k", 0, NULL, &out), XBUF_ERR_FORMAT, "unexpected 'k' at offset 2 in format '<2k'");
    CHECK_ERR(xbuf_view_cast(v, "", 0, NULL, &out), XBUF_ERR_FORMAT,
              "cannot cast to format '': its items have no bytes");
    CHECK_ERR(xbuf_view_cast(v, "B", 65, ones, &out), XBUF_ERR_INVALID_ARGUMENT,
              "cast to 65 dimensions (0 to 64 allowed)");
    CHECK_ERR(xbuf_view_cast(v, "B", -1, ones, &out), XBUF_ERR_INVALID_ARGUMENT, "the length of 'shape' is -1");
    CHECK_ERR(xbuf_view_cast(v, "B", 2, DIMS(-4, -6), &out), XBUF_ERR_INVALID_ARGUMENT,
              "shape[0] is -4; extents must not be negative");
    CHECK_ERR(xbuf_view_cast(v, "B", 2, DIMS(PTRDIFF_MAX, 2), &out), XBUF_ERR_OVERFLOW, "overflows");
    CHECK(out == NULL);
    /* The cast of a read-only view is read-only. */
    {
        xbuf_object *b = NULL, *bv;
        CHECK_OK(xbuf_bytes_new(iota, 8, &b));
        bv = make_view(b, XBUF_FULL_RO);
        c = cast_of(bv, "<q", 0, NULL);
        CHECK_ERR(xbuf_get_buffer(c, &info, XBUF_WRITABLE), XBUF_ERR_READONLY, "read-only");
        drop(c);
        drop(bv);
        drop(b);
    }
    CHECK_EQ(xbuf_exports(ba), 1);
    drop(v);
    drop(ba);
}

/* ---- tobytes, hex, hash --------------------------------------------------------------------- */

static void test_tobytes_and_hex(void) {
    /* A 2x3 array of "<H": item (i, j) is the 2 bytes 0x10 + 2(3i + j) and the next, so C order
     * is bytes 10..1b and F order takes the items (0,0) (1,0) (0,1) (1,1) (0,2) (1,2). */
    static const unsigned char c_data[12] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
                                             0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b};
    /* The same matrix stored in Fortran order. */
    static const unsigned char f_data[12] = {0x10, 0x11, 0x16, 0x17, 0x12, 0x13,
                                             0x18, 0x19, 0x14, 0x15, 0x1a, 0x1b};
    unsigned char out[16];
    size_t needed = 0;
    xbuf_object *ac = make_nd(c_data, 12, "<H", 2, DIMS(2, 3), NULL, 0, 0);
    xbuf_object *af = make_nd(f_data, 12, "<H", 2, DIMS(2, 3), DIMS(2, 4), 0, 0);
    xbuf_object *vc = make_view(ac, XBUF_FULL_RO), *vf = make_view(af, XBUF_FULL_RO), *t, *s;

    CHECK_BYTES(vc, 'C', 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b);
    CHECK_BYTES(vc, 'F', 0x10, 0x11, 0x16, 0x17, 0x12, 0x13, 0x18, 0x19, 0x14, 0x15, 0x1a, 0x1b);
    CHECK_BYTES(vc, 'A', 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b);
    /* The Fortran array has the same items: C and F agree; 'A' follows its layout (F). */
    CHECK_BYTES(vf, 'C', 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b);
    CHECK_BYTES(vf, 'F', 0x10, 0x11, 0x16, 0x17, 0x12, 0x13, 0x18, 0x19, 0x14, 0x15, 0x1a, 0x1b);
    CHECK_BYTES(vf, 'A', 0x10, 0x11, 0x16, 0x17, 0x12, 0x13, 0x18, 0x19, 0x14, 0x15, 0x1a, 0x1b);
    /* A view that is contiguous in neither order: 'A' means C. a[:, ::2] = (0,0) (0,2) (1,0) (1,2). */
    s = slice_of(vc, RANGES({OM, OM, OM}, {OM, OM, 2}), 2);
    CHECK_BYTES(s, 'A', 0x10, 0x11, 0x14, 0x15, 0x16, 0x17, 0x1a, 0x1b);
    CHECK_BYTES(s, 'F', 0x10, 0x11, 0x16, 0x17, 0x14, 0x15, 0x1a, 0x1b);
    CHECK(hex_is(s, "1011141516171a1b"));
    drop(s);

    /* hex: the C-order bytes in lowercase. */
    CHECK(hex_is(vc, "101112131415161718191a1b"));
    CHECK(hex_is(vf, "101112131415161718191a1b"));
    CHECK_OK(xbuf_view_transpose(vc, &t));
    CHECK(hex_is(t, "101116171213181914151a1b"));
    drop(t);

    /* Size queries: dst NULL and cap 0. */
    needed = 0;
    CHECK_OK(xbuf_view_tobytes(vc, 'C', NULL, 0, &needed));
    CHECK_EQ(needed, 12);
    needed = 0;
    CHECK_OK(xbuf_view_hex(vc, NULL, 0, &needed));
    CHECK_EQ(needed, 25);
    /* `needed` may be NULL; a larger buffer is written only as far as needed. */
    memset(out, 0xee, sizeof out);
    CHECK_OK(xbuf_view_tobytes(vf, 'F', out, sizeof out, NULL));
    CHECK(memcmp(out, f_data, 12) == 0);
    CHECK_EQ(out[12], 0xee);
    /* Too small: the status, the size in the message and in *needed; nothing written. */
    needed = 0;
    memset(out, 0xee, sizeof out);
    CHECK_ERR(xbuf_view_tobytes(vc, 'C', out, 11, &needed), XBUF_ERR_BUFFER_TOO_SMALL,
              "xbuf_view_tobytes: tobytes needs 12 bytes but the buffer holds 11");
    CHECK_EQ(needed, 12);
    CHECK_EQ(out[0], 0xee);
    {
        char text[25];
        needed = 0;
        CHECK_ERR(xbuf_view_hex(vc, text, 24, &needed), XBUF_ERR_BUFFER_TOO_SMALL,
                  "xbuf_view_hex: hex needs 25 bytes but the buffer holds 24");
        CHECK_EQ(needed, 25);
        CHECK_OK(xbuf_view_hex(vc, text, 25, NULL));
        CHECK_STR(text, "101112131415161718191a1b");
    }
    /* dst NULL with a capacity is a caller error; so is a bad order. */
    CHECK_ERR(xbuf_view_tobytes(vc, 'C', NULL, 5, &needed), XBUF_ERR_NULL_ARGUMENT, "argument 'dst' is NULL but cap is 5");
    CHECK_ERR(xbuf_view_hex(vc, NULL, 5, &needed), XBUF_ERR_NULL_ARGUMENT, "argument 'dst' is NULL but cap is 5");
    CHECK_ERR(xbuf_view_tobytes(vc, 'X', out, sizeof out, &needed), XBUF_ERR_INVALID_ARGUMENT,
              "order must be 'C', 'F' or 'A', got 'X'");
    CHECK_ERR(xbuf_view_tobytes(vc, 'c', out, sizeof out, &needed), XBUF_ERR_INVALID_ARGUMENT, "got 'c'");
    drop(vc);
    drop(vf);
    drop(ac);
    drop(af);
}

static void test_hash(void) {
    static const unsigned char m[6] = {1, 2, 3, 4, 5, 6};
    static const unsigned char mf[6] = {1, 4, 2, 5, 3, 6}; /* [[1 2 3] [4 5 6]] in F order */
    static const unsigned char mt[6] = {1, 4, 2, 5, 3, 6}; /* C bytes of the transpose */
    uint64_t h1 = 0, h2 = 0, h3 = 0, h4 = 0, h5 = 0;
    xbuf_object *a1, *a2, *a3, *b, *w, *v1, *v2, *v3, *v4, *vw, *t, *c;

    /* The reference function against the FNV test vectors: "" -> the offset basis,
     * "a" -> 0xaf63dc4c8601ec8c, "foobar" -> 0x85944171f73967e8. */
    CHECK(fnv1a((const unsigned char *)"", 0) == 0xcbf29ce484222325ULL);
    CHECK(fnv1a((const unsigned char *)"a", 1) == 0xaf63dc4c8601ec8cULL);
    CHECK(fnv1a((const unsigned char *)"foobar", 6) == 0x85944171f73967e8ULL);

    /* Equal C-order bytes, four layouts: a read-only C array, a read-only Fortran array, a
     * read-only array stored backwards (strides (-3, -1) from the last byte) and bytes cast to
     * 2x3. All hash to FNV-1a(01 02 03 04 05 06). */
    {
        static const unsigned char rev[6] = {6, 5, 4, 3, 2, 1};
        a1 = make_nd(m, 6, "B", 2, DIMS(2, 3), NULL, 0, XBUF_NDARRAY_READONLY);
        a2 = make_nd(mf, 6, "B", 2, DIMS(2, 3), DIMS(1, 2), 0, XBUF_NDARRAY_READONLY);
        a3 = make_nd(rev, 6, "B", 2, DIMS(2, 3), DIMS(-3, -1), 5, XBUF_NDARRAY_READONLY);
    }
    CHECK_OK(xbuf_bytes_new(m, 6, &b));
    v1 = make_view(a1, XBUF_FULL_RO);
    v2 = make_view(a2, XBUF_FULL_RO);
    v3 = make_view(a3, XBUF_FULL_RO);
    v4 = make_view(b, XBUF_FULL_RO);
    c = cast_of(v4, "B", 2, DIMS(2, 3));
    CHECK_OK(xbuf_view_hash(v1, &h1));
    CHECK_OK(xbuf_view_hash(v2, &h2));
    CHECK_OK(xbuf_view_hash(v3, &h3));
    CHECK_OK(xbuf_view_hash(c, &h4));
    CHECK(h1 == fnv1a(m, 6));
    CHECK(h1 == h2);
    CHECK(h1 == h3);
    CHECK(h1 == h4);
    /* The transpose has other C-order bytes (1 4 2 5 3 6), so another hash. */
    CHECK_OK(xbuf_view_transpose(v1, &t));
    CHECK_OK(xbuf_view_hash(t, &h5));
    CHECK(h5 == fnv1a(mt, 6));
    CHECK(h5 != h1);
    drop(t);
    /* The format does not matter, only the bytes: the same bytes as three "<H". */
    {
        xbuf_object *as_h = cast_of(v4, "<H", 0, NULL);
        uint64_t hh = 0;
        CHECK_OK(xbuf_view_hash(as_h, &hh));
        CHECK(hh == h1);
        drop(as_h);
    }
    /* No items: the offset basis; one item: the hash of its byte (3 = a[0, 2]). */
    {
        xbuf_object *e = slice_of(v1, RANGES({2, 2, OM}), 1), *one = index_of(v1, DIMS(0, 2), 2);
        uint64_t he = 0, h1b = 0;
        static const unsigned char three = 3;
        CHECK_OK(xbuf_view_hash(e, &he));
        CHECK(he == 0xcbf29ce484222325ULL);
        CHECK_OK(xbuf_view_hash(one, &h1b));
        CHECK(h1b == fnv1a(&three, 1));
        drop(e);
        drop(one);
    }
    /* A writable view cannot be hashed (even one made with a read-only request of writable
     * memory: the memory may change). */
    w = make_bytearray(m, 6);
    vw = make_view(w, XBUF_FULL_RO);
    h1 = 42;
    CHECK_ERR(xbuf_view_hash(vw, &h1), XBUF_ERR_UNSUPPORTED,
              "xbuf_view_hash: cannot hash a writable view (its contents may change)");
    CHECK(h1 == 42);
    drop(vw);
    vw = make_view(w, XBUF_FULL);
    CHECK_ERR(xbuf_view_hash(vw, &h1), XBUF_ERR_UNSUPPORTED, "writable");
    drop(vw);
    drop(c);
    drop(v1);
    drop(v2);
    drop(v3);
    drop(v4);
    drop(a1);
    drop(a2);
    drop(a3);
    drop(b);
    drop(w);
}

/* ---- Explicit release ----------------------------------------------------------------------- */

static void test_release_refused_while_locked(void) {
    xbuf_object *ba = make_bytearray("abcdef", 6);
    xbuf_object *v = make_view(ba, XBUF_FULL);
    CHECK_EQ(xbuf_exports(ba), 1);
    /* A lock on the view counts on the view and is forwarded to the memory's owner. */
    CHECK_OK(xbuf_lock(v));
    CHECK_EQ(xbuf_exports(v), 1);
    CHECK_EQ(xbuf_exports(ba), 2);
    CHECK_ERR(xbuf_view_release(v), XBUF_ERR_BUSY,
              "xbuf_view_release: 'view' has 1 export (1 of them lock); it cannot be changed until they are released");
    CHECK_OK(xbuf_lock(v));
    CHECK_ERR(xbuf_view_release(v), XBUF_ERR_BUSY, "'view' has 2 exports (2 of them locks)");
    CHECK_OK(xbuf_unlock(v));
    CHECK_ERR(xbuf_view_release(v), XBUF_ERR_BUSY, "'view' has 1 export");
    /* The view still works while refused. */
    CHECK_BYTES(v, 'C', 'a', 'b', 'c', 'd', 'e', 'f');
    CHECK_OK(xbuf_unlock(v));
    CHECK_EQ(xbuf_exports(v), 0);
    CHECK_EQ(xbuf_exports(ba), 1);
    CHECK_ERR(xbuf_unlock(v), XBUF_ERR_INVALID_ARGUMENT, "holds no lock");
    CHECK_OK(xbuf_view_release(v));
    CHECK_EQ(xbuf_exports(ba), 0);
    CHECK_EQ(xbuf_refcount(ba), 1);
    drop(v);
    drop(ba);
}

static void test_released_view_refuses_everything(void) {
    xbuf_object *ba = make_bytearray("abcdef", 6);
    xbuf_object *v = make_view(ba, XBUF_FULL), *out = BOGUS;
    xbuf_bufferinfo info = XBUF_BUFFERINFO_INIT;
    unsigned char bytes[8];
    char text[16];
    size_t needed = 99;
    uint64_t h = 7;
    void *p = BOGUS;

    /* The base's export count follows the view; a resize is refused until the release. */
    CHECK_EQ(xbuf_exports(ba), 1);
    CHECK_ERR(xbuf_bytearray_resize(ba, 3), XBUF_ERR_BUSY, "'bytearray' has 1 export (0 of them locks)");
    CHECK_OK(xbuf_view_release(v));
    CHECK_EQ(xbuf_exports(ba), 0);
    CHECK_OK(xbuf_bytearray_resize(ba, 3));

    CHECK_ERR(xbuf_view_slice(v, RANGES({OM, OM, OM}), 1, &out), XBUF_ERR_RELEASED,
              "xbuf_view_slice: the view was released");
    CHECK(out == NULL);
    CHECK_ERR(xbuf_view_index(v, DIMS(0), 1, &out), XBUF_ERR_RELEASED, "the view was released");
    CHECK_ERR(xbuf_view_item_pointer(v, DIMS(0), 1, &p), XBUF_ERR_RELEASED, "the view was released");
    CHECK(p == NULL);
    CHECK_ERR(xbuf_view_transpose(v, &out), XBUF_ERR_RELEASED, "the view was released");
    CHECK_ERR(xbuf_view_permute(v, AXES(0), 1, &out), XBUF_ERR_RELEASED, "the view was released");
    CHECK_ERR(xbuf_view_cast(v, "B", 0, NULL, &out), XBUF_ERR_RELEASED, "the view was released");
    CHECK_ERR(xbuf_view_tobytes(v, 'C', bytes, sizeof bytes, &needed), XBUF_ERR_RELEASED, "the view was released");
    CHECK_ERR(xbuf_view_tobytes(v, 'C', NULL, 0, &needed), XBUF_ERR_RELEASED, "the view was released");
    CHECK_ERR(xbuf_view_hex(v, text, sizeof text, &needed), XBUF_ERR_RELEASED, "the view was released");
    CHECK_ERR(xbuf_view_hash(v, &h), XBUF_ERR_RELEASED, "the view was released");
    CHECK(h == 7);
    CHECK_ERR(xbuf_get_buffer(v, &info, XBUF_FULL_RO), XBUF_ERR_RELEASED, "the view was released");
    CHECK(info.releaser == NULL);
    CHECK_ERR(xbuf_lock(v), XBUF_ERR_RELEASED, "the view was released");
    CHECK_ERR(xbuf_view_new(v, XBUF_FULL_RO, &out), XBUF_ERR_RELEASED, "the view was released");
    CHECK(out == NULL);
    CHECK_EQ(xbuf_exports(v), 0); /* the failed calls left nothing counted */
    /* A second release is a no-op. */
    CHECK_OK(xbuf_view_release(v));
    CHECK_OK(xbuf_view_release(v));
    CHECK_EQ(xbuf_exports(ba), 0);
    drop(v);
    drop(ba);
}

static void test_derived_views_survive_release(void) {
    xbuf_object *ba = make_bytearray("abcdef", 6);
    xbuf_object *v = make_view(ba, XBUF_FULL), *s, *w, *x;
    xbuf_bufferinfo info = XBUF_BUFFERINFO_INIT;
    s = slice_of(v, RANGES({1, 4, OM}), 1);   /* "bcd" */
    w = make_view(v, XBUF_FULL_RO);           /* a view made from the view */
    CHECK_OK(xbuf_get_buffer(v, &info, XBUF_FULL));
    CHECK_EQ(xbuf_exports(ba), 4);
    CHECK_EQ(xbuf_exports(v), 0); /* none of them is counted on v */
    /* Releasing v returns only v's own export. */
    CHECK_OK(xbuf_view_release(v));
    CHECK_EQ(xbuf_exports(ba), 3);
    CHECK_ERR(xbuf_bytearray_resize(ba, 0), XBUF_ERR_BUSY, "'bytearray' has 3 exports");
    /* Everything derived earlier still reads (and writes) the memory. */
    CHECK_BYTES(s, 'C', 'b', 'c', 'd');
    CHECK_BYTES(w, 'C', 'a', 'b', 'c', 'd', 'e', 'f');
    CHECK(memcmp(info.buf, "abcdef", 6) == 0);
    ((char *)info.buf)[2] = 'C';
    CHECK_BYTES(s, 'C', 'b', 'C', 'd');
    x = slice_of(s, RANGES({OM, OM, -1}), 1);
    CHECK_BYTES(x, 'C', 'd', 'C', 'b');
    CHECK_EQ(xbuf_exports(ba), 4);
    /* Releasing the derived ones one by one brings the count down to 0. */
    CHECK_OK(xbuf_release(&info));
    CHECK_OK(xbuf_view_release(s));
    CHECK_EQ(xbuf_exports(ba), 2);
    CHECK_BYTES(x, 'C', 'd', 'C', 'b'); /* x holds its own export */
    drop(x);
    drop(w);
    CHECK_EQ(xbuf_exports(ba), 0);
    CHECK_OK(xbuf_bytearray_resize(ba, 2));
    drop(s);
    drop(v);
    drop(ba);
}

/* ---- Copies --------------------------------------------------------------------------------- */

static void test_copy_errors(void) {
    xbuf_bufferinfo d = XBUF_BUFFERINFO_INIT, s = XBUF_BUFFERINFO_INIT, empty = XBUF_BUFFERINFO_INIT;
    xbuf_object *a23 = NULL, *a32 = NULL, *a6 = NULL, *fi = NULL, *ff = NULL, *b = NULL;
    xbuf_object *ba = make_bytearray("abcdef", 6), *bb = make_bytearray("uvwxyz", 6);
    CHECK_OK(xbuf_ndarray_zeros("B", 2, DIMS(2, 3), 'C', 0, &a23));
    CHECK_OK(xbuf_ndarray_zeros("B", 2, DIMS(3, 2), 'C', 0, &a32));
    CHECK_OK(xbuf_ndarray_zeros("B", 1, DIMS(6), 'C', 0, &a6));
    CHECK_OK(xbuf_ndarray_zeros("<i", 1, DIMS(2), 'C', 0, &fi));
    CHECK_OK(xbuf_ndarray_zeros("<f", 1, DIMS(2), 'C', 0, &ff));
    CHECK_OK(xbuf_bytes_new("ABCDEF", 6, &b));

    /* Shapes differ: 2x3 vs 3x2, and 2x3 vs 6 (same number of items). */
    CHECK_OK(xbuf_get_buffer(a23, &d, XBUF_FULL));
    CHECK_OK(xbuf_get_buffer(a32, &s, XBUF_FULL_RO));
    CHECK_ERR(xbuf_copy(&d, &s), XBUF_ERR_INVALID_ARGUMENT, "xbuf_copy: shapes differ: destination [2, 3], source [3, 2]");
    CHECK_OK(xbuf_release(&s));
    CHECK_OK(xbuf_get_buffer(a6, &s, XBUF_FULL_RO));
    CHECK_ERR(xbuf_copy(&d, &s), XBUF_ERR_INVALID_ARGUMENT, "shapes differ: destination [2, 3], source [6]");
    CHECK_OK(xbuf_release(&s));
    CHECK_OK(xbuf_release(&d));

    /* Formats differ: "<i" vs "<f" (same size). */
    CHECK_OK(xbuf_get_buffer(fi, &d, XBUF_FULL));
    CHECK_OK(xbuf_get_buffer(ff, &s, XBUF_FULL_RO));
    CHECK_ERR(xbuf_copy(&d, &s), XBUF_ERR_FORMAT, "formats differ: destination '<i', source '<f'");
    CHECK_OK(xbuf_release(&s));
    CHECK_OK(xbuf_release(&d));

    /* A read-only destination. */
    CHECK_OK(xbuf_get_buffer(b, &d, XBUF_FULL_RO));
    CHECK_OK(xbuf_get_buffer(ba, &s, XBUF_FULL_RO));
    CHECK_ERR(xbuf_copy(&d, &s), XBUF_ERR_READONLY, "the destination view is read-only");
    CHECK(memcmp(d.buf, "ABCDEF", 6) == 0);
    CHECK_OK(xbuf_release(&d));

    /* A format given as NULL ("B", from a SIMPLE request) equals "B". */
    CHECK_OK(xbuf_get_buffer(bb, &d, XBUF_SIMPLE | XBUF_WRITABLE));
    CHECK(d.format == NULL);
    CHECK_OK(xbuf_copy(&d, &s));
    CHECK(memcmp(d.buf, "abcdef", 6) == 0);

    /* Empty views: never filled, or released. */
    CHECK_ERR(xbuf_copy(&empty, &s), XBUF_ERR_RELEASED, "xbuf_copy: the view is empty (released, or never filled)");
    CHECK_ERR(xbuf_copy(&d, &empty), XBUF_ERR_RELEASED, "the view is empty");
    CHECK_OK(xbuf_release(&s));
    CHECK_ERR(xbuf_copy(&d, &s), XBUF_ERR_RELEASED, "the view is empty");
    /* NULL arguments. */
    CHECK_ERR(xbuf_copy(NULL, &d), XBUF_ERR_NULL_ARGUMENT, "xbuf_copy: argument 'dst' is NULL");
    CHECK_ERR(xbuf_copy(&d, NULL), XBUF_ERR_NULL_ARGUMENT, "xbuf_copy: argument 'src' is NULL");
    CHECK_OK(xbuf_release(&d));
    CHECK_ERR(xbuf_copy(&d, &empty), XBUF_ERR_RELEASED, "the view is empty");

    drop(a23);
    drop(a32);
    drop(a6);
    drop(fi);
    drop(ff);
    drop(b);
    drop(ba);
    drop(bb);
}

static void test_copy_between_layouts(void) {
    /* A Fortran 2x3 source [[1 2 3] [4 5 6]] copied into a C 2x3 destination, and a transposed
     * source into a 3x2 destination. */
    static const unsigned char mf[6] = {1, 4, 2, 5, 3, 6};
    xbuf_bufferinfo d = XBUF_BUFFERINFO_INIT, s = XBUF_BUFFERINFO_INIT;
    xbuf_object *src = make_nd(mf, 6, "B", 2, DIMS(2, 3), DIMS(1, 2), 0, XBUF_NDARRAY_READONLY);
    xbuf_object *dst = NULL, *vs, *t, *vd;
    CHECK_OK(xbuf_ndarray_zeros("B", 2, DIMS(2, 3), 'C', 0, &dst));
    CHECK_OK(xbuf_get_buffer(dst, &d, XBUF_FULL));
    CHECK_OK(xbuf_get_buffer(src, &s, XBUF_FULL_RO));
    CHECK_OK(xbuf_copy(&d, &s));
    {
        static const unsigned char want[6] = {1, 2, 3, 4, 5, 6};
        CHECK(memcmp(d.buf, want, 6) == 0);
    }
    CHECK_OK(xbuf_release(&s));
    CHECK_OK(xbuf_release(&d));
    /* Into a column-reversed view of dst: dst[:, ::-1] = src. */
    vd = make_view(dst, XBUF_FULL);
    t = slice_of(vd, RANGES({OM, OM, OM}, {OM, OM, -1}), 2);
    vs = make_view(src, XBUF_FULL_RO);
    CHECK_OK(xbuf_get_buffer(t, &d, XBUF_FULL));
    CHECK_OK(xbuf_get_buffer(vs, &s, XBUF_FULL_RO));
    CHECK_OK(xbuf_copy(&d, &s));
    CHECK_OK(xbuf_release(&s));
    CHECK_OK(xbuf_release(&d));
    CHECK_BYTES(vd, 'C', 3, 2, 1, 6, 5, 4);
    drop(t);
    drop(vs);
    drop(vd);
    drop(src);
    drop(dst);
}

static void test_copy_overlapping(void) {
    /* Six 4-byte items in one bytearray; item k is the bytes 16k .. 16k + 3. */
    unsigned char init[24];
    unsigned char want[24];
    xbuf_bufferinfo d = XBUF_BUFFERINFO_INIT, s = XBUF_BUFFERINFO_INIT;
    xbuf_object *ba, *v, *items, *lo, *hi, *rev;
    int k;
    for (k = 0; k < 24; k++) init[k] = (unsigned char)(16 * (k / 4) + k % 4);
    ba = make_bytearray(init, 24);
    v = make_view(ba, XBUF_FULL);
    items = cast_of(v, "<i", 0, NULL);
    lo = slice_of(items, RANGES({0, 5, OM}), 1); /* items 0..4 */
    hi = slice_of(items, RANGES({1, 6, OM}), 1); /* items 1..5 */

    /* Forward by one item: items[1:6] = items[0:5] -> items 0 0 1 2 3 4. */
    CHECK_OK(xbuf_get_buffer(hi, &d, XBUF_FULL));
    CHECK_OK(xbuf_get_buffer(lo, &s, XBUF_FULL_RO));
    CHECK(d.releaser == ba && s.releaser == ba);
    CHECK_OK(xbuf_copy(&d, &s));
    CHECK_OK(xbuf_release(&s));
    CHECK_OK(xbuf_release(&d));
    memcpy(want, init, 4);
    memcpy(want + 4, init, 20);
    CHECK(bytes_are(v, 'C', want, 24));

    /* Back by one item, from the original contents: items[0:5] = items[1:6] -> 1 2 3 4 5 5. */
    CHECK_OK(xbuf_get_buffer(v, &d, XBUF_FULL));
    CHECK_OK(xbuf_from_contiguous(&d, init, 24, 'C'));
    CHECK_OK(xbuf_release(&d));
    CHECK_OK(xbuf_get_buffer(lo, &d, XBUF_FULL));
    CHECK_OK(xbuf_get_buffer(hi, &s, XBUF_FULL_RO));
    CHECK_OK(xbuf_copy(&d, &s));
    CHECK_OK(xbuf_release(&s));
    CHECK_OK(xbuf_release(&d));
    memcpy(want, init + 4, 20);
    memcpy(want + 20, init + 20, 4);
    CHECK(bytes_are(v, 'C', want, 24));

    /* Reversal in place: items = items[::-1] -> 5 5 4 3 2 1 from 1 2 3 4 5 5. */
    rev = slice_of(items, RANGES({OM, OM, -1}), 1);
    CHECK_OK(xbuf_get_buffer(items, &d, XBUF_FULL));
    CHECK_OK(xbuf_get_buffer(rev, &s, XBUF_FULL_RO));
    CHECK_OK(xbuf_copy(&d, &s));
    CHECK_OK(xbuf_release(&s));
    CHECK_OK(xbuf_release(&d));
    {
        static const unsigned char order[6] = {5, 5, 4, 3, 2, 1};
        for (k = 0; k < 6; k++) memcpy(want + 4 * k, init + 4 * order[k], 4);
    }
    CHECK(bytes_are(v, 'C', want, 24));

    drop(rev);
    drop(lo);
    drop(hi);
    drop(items);
    drop(v);
    CHECK_EQ(xbuf_exports(ba), 0);
    drop(ba);
}

static void test_contiguous_buffers(void) {
    /* [[1 2 3] [4 5 6]] as "<H" items, stored in C order; its bytes in F order. */
    static const unsigned char c_bytes[12] = {1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0};
    static const unsigned char f_bytes[12] = {1, 0, 4, 0, 2, 0, 5, 0, 3, 0, 6, 0};
    unsigned char out[13];
    xbuf_bufferinfo s = XBUF_BUFFERINFO_INIT, d = XBUF_BUFFERINFO_INIT, empty = XBUF_BUFFERINFO_INIT;
    xbuf_object *src = make_nd(c_bytes, 12, "<H", 2, DIMS(2, 3), NULL, 0, XBUF_NDARRAY_READONLY);
    xbuf_object *cd = NULL, *fd = NULL;

    CHECK_OK(xbuf_get_buffer(src, &s, XBUF_FULL_RO));
    CHECK_OK(xbuf_to_contiguous(out, 12, &s, 'C'));
    CHECK(memcmp(out, c_bytes, 12) == 0);
    CHECK_OK(xbuf_to_contiguous(out, 12, &s, 'F'));
    CHECK(memcmp(out, f_bytes, 12) == 0);
    CHECK_OK(xbuf_to_contiguous(out, 12, &s, 'A')); /* C-contiguous: C */
    CHECK(memcmp(out, c_bytes, 12) == 0);
    /* The length must be exact (CPython would clamp; xbuf refuses). */
    memset(out, 0xee, sizeof out);
    CHECK_ERR(xbuf_to_contiguous(out, 11, &s, 'C'), XBUF_ERR_INVALID_ARGUMENT,
              "xbuf_to_contiguous: the contiguous buffer has 11 bytes but the view holds 12 (6 items of 2 bytes)");
    CHECK_ERR(xbuf_to_contiguous(out, 13, &s, 'C'), XBUF_ERR_INVALID_ARGUMENT,
              "the contiguous buffer has 13 bytes but the view holds 12");
    CHECK_EQ(out[0], 0xee);
    CHECK_ERR(xbuf_to_contiguous(out, 12, &s, 'Z'), XBUF_ERR_INVALID_ARGUMENT, "order must be 'C', 'F' or 'A', got 'Z'");
    CHECK_ERR(xbuf_to_contiguous(NULL, 12, &s, 'C'), XBUF_ERR_NULL_ARGUMENT, "argument 'buf' is NULL but its length is 12");
    CHECK_ERR(xbuf_to_contiguous(out, 12, NULL, 'C'), XBUF_ERR_NULL_ARGUMENT, "argument 'src' is NULL");
    CHECK_ERR(xbuf_to_contiguous(out, 12, &empty, 'C'), XBUF_ERR_RELEASED, "the view is empty");

    /* from_contiguous into a C array and into a Fortran array ('A' follows each one's layout). */
    CHECK_OK(xbuf_ndarray_zeros("<H", 2, DIMS(2, 3), 'C', 0, &cd));
    CHECK_OK(xbuf_ndarray_zeros("<H", 2, DIMS(2, 3), 'F', 0, &fd));
    CHECK_OK(xbuf_get_buffer(cd, &d, XBUF_FULL));
    CHECK_OK(xbuf_from_contiguous(&d, f_bytes, 12, 'F'));
    CHECK(memcmp(d.buf, c_bytes, 12) == 0);
    memset(d.buf, 0, 12);
    CHECK_OK(xbuf_from_contiguous(&d, c_bytes, 12, 'A'));
    CHECK(memcmp(d.buf, c_bytes, 12) == 0);
    /* Refused: wrong lengths, a bad order, NULL arguments; the memory stays as it was. */
    CHECK_ERR(xbuf_from_contiguous(&d, f_bytes, 11, 'C'), XBUF_ERR_INVALID_ARGUMENT,
              "xbuf_from_contiguous: the contiguous buffer has 11 bytes but the view holds 12");
    CHECK_ERR(xbuf_from_contiguous(&d, f_bytes, 13, 'C'), XBUF_ERR_INVALID_ARGUMENT,
              "the contiguous buffer has 13 bytes but the view holds 12");
    CHECK_ERR(xbuf_from_contiguous(&d, f_bytes, 12, 'x'), XBUF_ERR_INVALID_ARGUMENT, "got 'x'");
    CHECK_ERR(xbuf_from_contiguous(&d, NULL, 12, 'C'), XBUF_ERR_NULL_ARGUMENT, "argument 'buf' is NULL but its length is 12");
    CHECK_ERR(xbuf_from_contiguous(NULL, f_bytes, 12, 'C'), XBUF_ERR_NULL_ARGUMENT, "argument 'dst' is NULL");
    CHECK(memcmp(d.buf, c_bytes, 12) == 0);
    CHECK_OK(xbuf_release(&d));
    CHECK_ERR(xbuf_from_contiguous(&d, f_bytes, 12, 'C'), XBUF_ERR_RELEASED, "the view is empty");
    CHECK_OK(xbuf_get_buffer(fd, &d, XBUF_FULL));
    CHECK_OK(xbuf_from_contiguous(&d, c_bytes, 12, 'C'));
    CHECK(memcmp(d.buf, f_bytes, 12) == 0); /* stored column by column */
    CHECK_OK(xbuf_from_contiguous(&d, f_bytes, 12, 'A')); /* Fortran-contiguous: F, same items */
    CHECK(memcmp(d.buf, f_bytes, 12) == 0);
    CHECK_OK(xbuf_to_contiguous(out, 12, &d, 'A'));
    CHECK(memcmp(out, f_bytes, 12) == 0);
    CHECK_OK(xbuf_release(&d));
    /* A read-only destination. */
    CHECK_ERR(xbuf_from_contiguous(&s, c_bytes, 12, 'C'), XBUF_ERR_READONLY,
              "xbuf_from_contiguous: the destination view is read-only");
    CHECK_OK(xbuf_release(&s));
    drop(src);
    drop(cd);
    drop(fd);
}

/* ---- NULL and wrong-kind arguments ---------------------------------------------------------- */

static void test_null_arguments(void) {
    xbuf_object *a = make_nd(iota, 6, "B", 2, DIMS(2, 3), NULL, 0, XBUF_NDARRAY_READONLY);
    xbuf_object *v = make_view(a, XBUF_FULL_RO), *out = BOGUS;
    unsigned char bytes[8];
    char text[16];
    size_t needed = 0;
    uint64_t h = 0;
    void *p = BOGUS;

    CHECK_ERR(xbuf_view_new(NULL, XBUF_FULL_RO, &out), XBUF_ERR_NULL_ARGUMENT, "xbuf_view_new: argument 'obj' is NULL");
    CHECK(out == NULL);
    CHECK_ERR(xbuf_view_new(a, XBUF_FULL_RO, NULL), XBUF_ERR_NULL_ARGUMENT, "xbuf_view_new: argument 'out' is NULL");
    CHECK_ERR(xbuf_view_new(a, 0x40000, &out), XBUF_ERR_INVALID_ARGUMENT, "request flags 0x40000 contain unknown bits");
    CHECK_ERR(xbuf_view_release(NULL), XBUF_ERR_NULL_ARGUMENT, "xbuf_view_release: argument 'view' is NULL");

    out = BOGUS;
    CHECK_ERR(xbuf_view_slice(NULL, RANGES({OM, OM, OM}), 1, &out), XBUF_ERR_NULL_ARGUMENT,
              "xbuf_view_slice: argument 'view' is NULL");
    CHECK(out == NULL);
    CHECK_ERR(xbuf_view_slice(v, NULL, 1, &out), XBUF_ERR_NULL_ARGUMENT, "argument 'slices' is NULL");
    CHECK_ERR(xbuf_view_slice(v, RANGES({OM, OM, OM}), 1, NULL), XBUF_ERR_NULL_ARGUMENT, "argument 'out' is NULL");

    CHECK_ERR(xbuf_view_index(NULL, DIMS(0), 1, &out), XBUF_ERR_NULL_ARGUMENT, "xbuf_view_index: argument 'view' is NULL");
    CHECK_ERR(xbuf_view_index(v, NULL, 1, &out), XBUF_ERR_NULL_ARGUMENT, "argument 'indices' is NULL");
    CHECK_ERR(xbuf_view_index(v, DIMS(0), 1, NULL), XBUF_ERR_NULL_ARGUMENT, "argument 'out' is NULL");

    CHECK_ERR(xbuf_view_item_pointer(NULL, DIMS(0, 0), 2, &p), XBUF_ERR_NULL_ARGUMENT,
              "xbuf_view_item_pointer: argument 'view' is NULL");
    CHECK(p == NULL);
    CHECK_ERR(xbuf_view_item_pointer(v, NULL, 2, &p), XBUF_ERR_NULL_ARGUMENT, "argument 'indices' is NULL");
    CHECK_ERR(xbuf_view_item_pointer(v, DIMS(0, 0), 2, NULL), XBUF_ERR_NULL_ARGUMENT, "argument 'out' is NULL");

    CHECK_ERR(xbuf_view_transpose(NULL, &out), XBUF_ERR_NULL_ARGUMENT, "xbuf_view_transpose: argument 'view' is NULL");
    CHECK_ERR(xbuf_view_transpose(v, NULL), XBUF_ERR_NULL_ARGUMENT, "argument 'out' is NULL");

    CHECK_ERR(xbuf_view_permute(NULL, AXES(1, 0), 2, &out), XBUF_ERR_NULL_ARGUMENT,
              "xbuf_view_permute: argument 'view' is NULL");
    CHECK_ERR(xbuf_view_permute(v, NULL, 2, &out), XBUF_ERR_NULL_ARGUMENT, "argument 'axes' is NULL");
    CHECK_ERR(xbuf_view_permute(v, AXES(1, 0), 2, NULL), XBUF_ERR_NULL_ARGUMENT, "argument 'out' is NULL");

    CHECK_ERR(xbuf_view_cast(NULL, "B", 0, NULL, &out), XBUF_ERR_NULL_ARGUMENT, "xbuf_view_cast: argument 'view' is NULL");
    CHECK_ERR(xbuf_view_cast(v, NULL, 0, NULL, &out), XBUF_ERR_NULL_ARGUMENT, "argument 'format' is NULL");
    CHECK_ERR(xbuf_view_cast(v, "B", 0, NULL, NULL), XBUF_ERR_NULL_ARGUMENT, "argument 'out' is NULL");
    CHECK(out == NULL);

    CHECK_ERR(xbuf_view_tobytes(NULL, 'C', bytes, sizeof bytes, &needed), XBUF_ERR_NULL_ARGUMENT,
              "xbuf_view_tobytes: argument 'view' is NULL");
    CHECK_ERR(xbuf_view_tobytes(v, 'C', NULL, sizeof bytes, &needed), XBUF_ERR_NULL_ARGUMENT,
              "argument 'dst' is NULL but cap is 8");
    CHECK_OK(xbuf_view_tobytes(v, 'C', bytes, sizeof bytes, NULL)); /* needed is optional */
    CHECK_ERR(xbuf_view_hex(NULL, text, sizeof text, &needed), XBUF_ERR_NULL_ARGUMENT,
              "xbuf_view_hex: argument 'view' is NULL");
    CHECK_ERR(xbuf_view_hex(v, NULL, sizeof text, &needed), XBUF_ERR_NULL_ARGUMENT, "argument 'dst' is NULL but cap is 16");
    CHECK_OK(xbuf_view_hex(v, text, sizeof text, NULL));
    CHECK_STR(text, "000102030405");
    CHECK_ERR(xbuf_view_hash(NULL, &h), XBUF_ERR_NULL_ARGUMENT, "xbuf_view_hash: argument 'view' is NULL");
    CHECK_ERR(xbuf_view_hash(v, NULL), XBUF_ERR_NULL_ARGUMENT, "argument 'out' is NULL");
    CHECK_EQ(xbuf_exports(v), 0);
    drop(v);
    drop(a);
}

static void test_not_a_view(void) {
    /* Objects of other kinds where a view is expected. */
    xbuf_object *ba = make_bytearray("abcdef", 6), *nd = make_nd(iota, 6, "B", 1, DIMS(6), NULL, 0, 0);
    xbuf_object *out = BOGUS;
    unsigned char bytes[8];
    char text[16];
    size_t needed = 0;
    uint64_t h = 0;
    void *p = BOGUS;
    CHECK_ERR(xbuf_view_release(ba), XBUF_ERR_INVALID_ARGUMENT,
              "xbuf_view_release: object is a 'bytearray', not a 'view'");
    CHECK_ERR(xbuf_view_slice(ba, RANGES({OM, OM, OM}), 1, &out), XBUF_ERR_INVALID_ARGUMENT,
              "object is a 'bytearray', not a 'view'");
    CHECK(out == NULL);
    CHECK_ERR(xbuf_view_index(ba, DIMS(0), 1, &out), XBUF_ERR_INVALID_ARGUMENT, "not a 'view'");
    CHECK_ERR(xbuf_view_item_pointer(ba, DIMS(0), 1, &p), XBUF_ERR_INVALID_ARGUMENT, "not a 'view'");
    CHECK(p == NULL);
    CHECK_ERR(xbuf_view_transpose(ba, &out), XBUF_ERR_INVALID_ARGUMENT, "not a 'view'");
    CHECK_ERR(xbuf_view_permute(ba, AXES(0), 1, &out), XBUF_ERR_INVALID_ARGUMENT, "not a 'view'");
    CHECK_ERR(xbuf_view_cast(ba, "B", 0, NULL, &out), XBUF_ERR_INVALID_ARGUMENT, "not a 'view'");
    CHECK_ERR(xbuf_view_tobytes(ba, 'C', bytes, sizeof bytes, &needed), XBUF_ERR_INVALID_ARGUMENT, "not a 'view'");
    CHECK_ERR(xbuf_view_hex(ba, text, sizeof text, &needed), XBUF_ERR_INVALID_ARGUMENT, "not a 'view'");
    CHECK_ERR(xbuf_view_hash(ba, &h), XBUF_ERR_INVALID_ARGUMENT, "not a 'view'");
    CHECK_ERR(xbuf_view_hash(nd, &h), XBUF_ERR_INVALID_ARGUMENT, "object is a 'ndarray', not a 'view'");
    CHECK_ERR(xbuf_view_transpose(nd, &out), XBUF_ERR_INVALID_ARGUMENT, "object is a 'ndarray', not a 'view'");
    CHECK(out == NULL);
    CHECK_EQ(xbuf_exports(ba), 0);
    CHECK_EQ(xbuf_refcount(ba), 1);
    drop(ba);
    drop(nd);
}

/* Equality and tolist: exact values on a known array, and every error path. */
static void test_equal_and_tolist(void) {
    static const int cells[6] = {1, -2, 3, 4, 5, 6};
    static const double dcells[6] = {1, -2, 3, 4, 5, 6};
    xbuf_object *a = make_nd(cells, sizeof cells, "i", 2, DIMS(2, 3), NULL, 0, XBUF_NDARRAY_READONLY);
    xbuf_object *d = make_nd(dcells, sizeof dcells, "d", 2, DIMS(2, 3), NULL, 0, XBUF_NDARRAY_READONLY);
    xbuf_object *va = make_view(a, XBUF_FULL_RO), *vd = make_view(d, XBUF_FULL_RO), *t = NULL, *rel = NULL;
    xbuf_object *ba = make_bytearray("abc", 3);
    char text[64], small[4] = "xyz";
    size_t needed = 0;
    int eq = -1;
    /* int and double items with the same values compare equal, as 1 == 1.0 in Python. */
    CHECK_OK(xbuf_view_equal(va, vd, &eq));
    CHECK_EQ(eq, 1);
    /* The transpose has another shape: unequal. */
    CHECK_OK(xbuf_view_transpose(va, &t));
    CHECK_OK(xbuf_view_equal(va, t, &eq));
    CHECK_EQ(eq, 0);
    CHECK_OK(xbuf_view_tolist(va, NULL, 0, &needed));
    CHECK_EQ(needed, strlen("[[1, -2, 3], [4, 5, 6]]") + 1);
    CHECK_OK(xbuf_view_tolist(va, text, sizeof text, NULL));
    CHECK_STR(text, "[[1, -2, 3], [4, 5, 6]]");
    CHECK_OK(xbuf_view_tolist(t, text, sizeof text, NULL));
    CHECK_STR(text, "[[1, 4], [-2, 5], [3, 6]]");
    CHECK_OK(xbuf_view_tolist(vd, text, sizeof text, NULL));
    CHECK_STR(text, "[[1.0, -2.0, 3.0], [4.0, 5.0, 6.0]]");
    /* Too small: the buffer holds an empty string and *needed the size. */
    CHECK_ERR(xbuf_view_tolist(va, small, sizeof small, &needed), XBUF_ERR_BUFFER_TOO_SMALL, "needs 24 bytes");
    CHECK_STR(small, "");
    CHECK_EQ(needed, 24);
    /* NULL arguments, objects that are not views, released views. */
    CHECK_ERR(xbuf_view_equal(NULL, va, &eq), XBUF_ERR_NULL_ARGUMENT, "'a'");
    CHECK_ERR(xbuf_view_equal(va, NULL, &eq), XBUF_ERR_NULL_ARGUMENT, "'b'");
    CHECK_ERR(xbuf_view_equal(va, va, NULL), XBUF_ERR_NULL_ARGUMENT, "'equal'");
    CHECK_ERR(xbuf_view_equal(va, ba, &eq), XBUF_ERR_INVALID_ARGUMENT, "not a 'view'");
    CHECK_ERR(xbuf_view_tolist(NULL, text, sizeof text, NULL), XBUF_ERR_NULL_ARGUMENT, "'view'");
    CHECK_ERR(xbuf_view_tolist(va, NULL, 0, NULL), XBUF_ERR_NULL_ARGUMENT, "'needed'");
    CHECK_ERR(xbuf_view_tolist(va, NULL, 8, &needed), XBUF_ERR_NULL_ARGUMENT, "'dst' is NULL but cap is 8");
    CHECK_ERR(xbuf_view_tolist(ba, text, sizeof text, NULL), XBUF_ERR_INVALID_ARGUMENT, "not a 'view'");
    rel = make_view(a, XBUF_FULL_RO);
    CHECK_OK(xbuf_view_release(rel));
    CHECK_ERR(xbuf_view_equal(va, rel, &eq), XBUF_ERR_RELEASED, "released");
    CHECK_ERR(xbuf_view_tolist(rel, text, sizeof text, NULL), XBUF_ERR_RELEASED, "released");
    CHECK_OK(xbuf_decref(rel));
    CHECK_OK(xbuf_decref(t));
    CHECK_OK(xbuf_decref(va));
    CHECK_OK(xbuf_decref(vd));
    CHECK_OK(xbuf_decref(ba));
    CHECK_EQ(xbuf_exports(a), 0);
    CHECK_OK(xbuf_decref(a));
    CHECK_OK(xbuf_decref(d));
}

XBUF_TEST_MAIN(XT_CASE(test_ndarray_c_order), XT_CASE(test_ndarray_strides_and_offsets), XT_CASE(test_ndarray_zeros),
               XT_CASE(test_ndarray_readonly), XT_CASE(test_ndarray_pil), XT_CASE(test_ndarray_errors),
               XT_CASE(test_ndarray_requests), XT_CASE(test_view_of_bytearray), XT_CASE(test_view_of_bytes),
               XT_CASE(test_view_of_c_exporter), XT_CASE(test_views_of_views), XT_CASE(test_view_without_format),
               XT_CASE(test_slice_1d),
               XT_CASE(test_slice_2d), XT_CASE(test_slice_3d), XT_CASE(test_slice_pil), XT_CASE(test_slice_pil_own_table),
               XT_CASE(test_index_and_item_pointer), XT_CASE(test_transpose_and_permute), XT_CASE(test_cast),
               XT_CASE(test_tobytes_and_hex), XT_CASE(test_hash), XT_CASE(test_release_refused_while_locked),
               XT_CASE(test_released_view_refuses_everything), XT_CASE(test_derived_views_survive_release),
               XT_CASE(test_copy_errors), XT_CASE(test_copy_between_layouts), XT_CASE(test_copy_overlapping),
               XT_CASE(test_contiguous_buffers), XT_CASE(test_null_arguments), XT_CASE(test_not_a_view),
               XT_CASE(test_equal_and_tolist))
