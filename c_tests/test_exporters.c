/*
 * The built-in exporters bytes, bytearray, wrap and slice: contents, read-only rules, resize
 * refused while exported or locked and allowed after, the wrap destructor called exactly once,
 * slices that lock their base, and NULL for every pointer argument. (mmap has its own test.)
 */
#include "xbuf_test.h"

static void expect_bytes(xbuf_object *obj, const char *text, size_t len, int readonly) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK_EQ(v.len, len);
    CHECK_EQ(v.readonly, readonly);
    CHECK_EQ(v.itemsize, 1);
    CHECK_STR(v.format, "B");
    CHECK(len == 0 || memcmp(v.buf, text, len) == 0);
    CHECK_OK(xbuf_release(&v));
}

static void test_bytes(void) {
    char src[4] = "abc";
    xbuf_object *obj = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    CHECK_OK(xbuf_bytes_new(src, 3, &obj));
    src[0] = 'z'; /* a copy was taken */
    expect_bytes(obj, "abc", 3, 1);
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_WRITABLE), XBUF_ERR_READONLY, "'bytes' has read-only memory");
    CHECK_ERR(xbuf_bytearray_resize(obj, 1), XBUF_ERR_INVALID_ARGUMENT, "object is a 'bytes', not a 'bytearray'");
    CHECK_OK(xbuf_decref(obj));
    CHECK_OK(xbuf_bytes_new(NULL, 0, &obj));
    expect_bytes(obj, "", 0, 1);
    CHECK_OK(xbuf_decref(obj));
    CHECK_ERR(xbuf_bytes_new(NULL, 3, &obj), XBUF_ERR_NULL_ARGUMENT, "'data' is NULL but its length is 3");
    CHECK(obj == NULL);
    CHECK_ERR(xbuf_bytes_new(src, 3, NULL), XBUF_ERR_NULL_ARGUMENT, "'out'");
    CHECK_ERR(xbuf_bytes_new(src, (size_t)PTRDIFF_MAX + 1, &obj), XBUF_ERR_OVERFLOW, "largest object size");
}

static void test_bytearray(void) {
    xbuf_object *obj = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    CHECK_OK(xbuf_bytearray_new("hello", 5, &obj));
    CHECK_STR(xbuf_object_type_name(obj), "bytearray");
    expect_bytes(obj, "hello", 5, 0);
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_CONTIG));
    memcpy(v.buf, "HE", 2);
    CHECK_ERR(xbuf_bytearray_resize(obj, 8), XBUF_ERR_BUSY, "'bytearray' has 1 export (0 of them locks)");
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_bytearray_resize(obj, 8));
    expect_bytes(obj, "HEllo\0\0\0", 8, 0);
    CHECK_OK(xbuf_bytearray_resize(obj, 2));
    expect_bytes(obj, "HE", 2, 0);
    CHECK_OK(xbuf_bytearray_resize(obj, 0));
    expect_bytes(obj, "", 0, 0);
    /* Locked: refused; unlocked: allowed. */
    CHECK_OK(xbuf_lock(obj));
    CHECK_ERR(xbuf_bytearray_resize(obj, 4), XBUF_ERR_BUSY, "1 export (1 of them lock)");
    CHECK_OK(xbuf_unlock(obj));
    CHECK_OK(xbuf_bytearray_resize(obj, 4));
    expect_bytes(obj, "\0\0\0\0", 4, 0);
    CHECK_ERR(xbuf_bytearray_resize(obj, (size_t)PTRDIFF_MAX + 1), XBUF_ERR_OVERFLOW, "exceeds");
    CHECK_ERR(xbuf_bytearray_resize(NULL, 4), XBUF_ERR_NULL_ARGUMENT, "'obj'");
    CHECK_OK(xbuf_decref(obj));
    /* NULL data: zero-filled. */
    CHECK_OK(xbuf_bytearray_new(NULL, 3, &obj));
    expect_bytes(obj, "\0\0\0", 3, 0);
    CHECK_OK(xbuf_decref(obj));
    CHECK_ERR(xbuf_bytearray_new("x", 1, NULL), XBUF_ERR_NULL_ARGUMENT, "'out'");
    CHECK_ERR(xbuf_bytearray_new(NULL, (size_t)PTRDIFF_MAX + 1, &obj), XBUF_ERR_OVERFLOW, "largest object size");
    CHECK_ERR(xbuf_bytearray_new(NULL, (size_t)PTRDIFF_MAX, &obj), XBUF_ERR_NO_MEMORY, "cannot allocate");
    CHECK(obj == NULL);
}

typedef struct {
    int calls;
    void *data;
    size_t len;
} dtor_log;

static void log_destructor(void *data, size_t len, void *ctx) {
    dtor_log *log = (dtor_log *)ctx;
    log->calls++;
    log->data = data;
    log->len = len;
    free(data);
}

static void test_wrap(void) {
    dtor_log log = {0, NULL, 0};
    char *mem = (char *)malloc(6);
    xbuf_object *obj = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT, w = XBUF_BUFFERINFO_INIT;
    memcpy(mem, "wraps", 6);
    CHECK_OK(xbuf_wrap_new(mem, 5, 0, log_destructor, &log, &obj));
    CHECK_STR(xbuf_object_type_name(obj), "wrap");
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_CONTIG));
    CHECK(v.buf == mem);
    CHECK_EQ(v.len, 5);
    CHECK_OK(xbuf_get_buffer(obj, &w, XBUF_SIMPLE));
    /* The last reference goes first; the views keep the memory. */
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(log.calls, 0);
    ((char *)v.buf)[0] = 'W';
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(log.calls, 0);
    CHECK(((char *)w.buf)[0] == 'W');
    CHECK_OK(xbuf_release(&w));
    CHECK_EQ(log.calls, 1);
    CHECK(log.data == mem);
    CHECK_EQ(log.len, 5);

    /* Read-only wrap; no destructor. */
    {
        static const char text[] = "const";
        CHECK_OK(xbuf_wrap_new((void *)text, 5, 1, NULL, NULL, &obj));
        CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_WRITABLE), XBUF_ERR_READONLY, "read-only");
        expect_bytes(obj, "const", 5, 1);
        CHECK_OK(xbuf_decref(obj));
    }
    /* Errors: the destructor is not called, the caller keeps the memory. */
    log.calls = 0;
    CHECK_ERR(xbuf_wrap_new(NULL, 5, 0, log_destructor, &log, &obj), XBUF_ERR_INVALID_ARGUMENT, "data is NULL but len is 5");
    CHECK(obj == NULL);
    CHECK_ERR(xbuf_wrap_new(&log, 1, 0, log_destructor, &log, NULL), XBUF_ERR_NULL_ARGUMENT, "'out'");
    CHECK_ERR(xbuf_wrap_new(&log, (size_t)PTRDIFF_MAX + 1, 0, NULL, NULL, &obj), XBUF_ERR_OVERFLOW, "exceeds");
    CHECK_EQ(log.calls, 0);
    /* Empty wrap of NULL is fine; the destructor still runs once. */
    CHECK_OK(xbuf_wrap_new(NULL, 0, 0, log_destructor, &log, &obj));
    expect_bytes(obj, "", 0, 0);
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(log.calls, 1);
}

static void test_slice(void) {
    xbuf_object *base = NULL, *s1 = NULL, *s2 = NULL, *ro = NULL, *s3 = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    CHECK_OK(xbuf_bytearray_new("abcdefghij", 10, &base));
    CHECK_OK(xbuf_slice_new(base, 2, 6, &s1));
    CHECK_STR(xbuf_object_type_name(s1), "slice");
    expect_bytes(s1, "cdefgh", 6, 0);
    /* The slice locks its base and holds a view of it. */
    CHECK_EQ(xbuf_exports(base), 2);
    CHECK_ERR(xbuf_bytearray_resize(base, 1), XBUF_ERR_BUSY, "2 exports (1 of them lock)");
    /* A slice of a slice: its views also name the base. */
    CHECK_OK(xbuf_slice_new(s1, 1, 3, &s2));
    expect_bytes(s2, "def", 3, 0);
    CHECK_OK(xbuf_get_buffer(s2, &v, XBUF_SIMPLE));
    CHECK(v.releaser == base);
    CHECK_OK(xbuf_release(&v));
    /* s2 locks s1 (forwarded to base) and holds a view of s1 (whose releaser is base). */
    CHECK_EQ(xbuf_exports(s1), 1);
    CHECK_EQ(xbuf_exports(base), 4);
    /* A lock on a slice is forwarded to the memory's owner. */
    CHECK_OK(xbuf_lock(s1));
    CHECK_EQ(xbuf_exports(base), 5);
    CHECK_OK(xbuf_unlock(s1));
    CHECK_EQ(xbuf_exports(base), 4);
    CHECK_OK(xbuf_decref(s2));
    CHECK_EQ(xbuf_exports(s1), 0);
    CHECK_EQ(xbuf_exports(base), 2);
    CHECK_OK(xbuf_decref(s1));
    CHECK_EQ(xbuf_exports(base), 0);
    CHECK_OK(xbuf_bytearray_resize(base, 1));
    /* Bounds. */
    CHECK_ERR(xbuf_slice_new(base, 0, 2, &s3), XBUF_ERR_OUT_OF_BOUNDS, "slice 0..2 is outside the 1 bytes of 'bytearray'");
    CHECK(s3 == NULL);
    CHECK_ERR(xbuf_slice_new(base, 2, 0, &s3), XBUF_ERR_OUT_OF_BOUNDS, "outside");
    CHECK_ERR(xbuf_slice_new(base, SIZE_MAX, 2, &s3), XBUF_ERR_OUT_OF_BOUNDS, "outside");
    CHECK_OK(xbuf_slice_new(base, 1, 0, &s3)); /* empty window at the end */
    expect_bytes(s3, "", 0, 0);
    CHECK_OK(xbuf_decref(s3));
    CHECK_EQ(xbuf_exports(base), 0);
    /* A slice of read-only memory is read-only. */
    CHECK_OK(xbuf_bytes_new("12345", 5, &ro));
    CHECK_OK(xbuf_slice_new(ro, 1, 2, &s3));
    expect_bytes(s3, "23", 2, 1);
    CHECK_ERR(xbuf_get_buffer(s3, &v, XBUF_WRITABLE), XBUF_ERR_READONLY, "read-only");
    CHECK_OK(xbuf_decref(s3));
    CHECK_OK(xbuf_decref(ro));
    /* Slicing an object being changed is refused. */
    CHECK_OK(xbuf_exclusive_begin(base));
    CHECK_ERR(xbuf_slice_new(base, 0, 1, &s3), XBUF_ERR_BUSY, "cannot slice 'bytearray'");
    CHECK_OK(xbuf_exclusive_end(base));
    CHECK_ERR(xbuf_slice_new(NULL, 0, 1, &s3), XBUF_ERR_NULL_ARGUMENT, "'base'");
    CHECK_ERR(xbuf_slice_new(base, 0, 1, NULL), XBUF_ERR_NULL_ARGUMENT, "'out'");
    CHECK_EQ(xbuf_refcount(base), 1);
    CHECK_OK(xbuf_decref(base));
}

static int strided_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    static char data[8];
    static ptrdiff_t shape[1] = {4}, strides[1] = {2};
    (void)self;
    (void)flags;
    view->buf = data;
    view->len = 4;
    view->itemsize = 1;
    view->ndim = 1;
    view->shape = shape;
    view->strides = strides;
    return XBUF_OK;
}

static void test_slice_needs_contiguous_base(void) {
    xbuf_type t;
    xbuf_object *obj = NULL, *s = NULL;
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = "strided";
    t.getbuffer = strided_getbuffer;
    CHECK_OK(xbuf_object_new(&t, NULL, &obj));
    CHECK_ERR(xbuf_slice_new(obj, 0, 1, &s), XBUF_ERR_NOT_CONTIGUOUS, "cannot slice 'strided'");
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

/* An exporter that copies its bytes into fresh memory for every view and frees it when the view
 * is released (a legitimate PEP 3118 exporter). */
typedef struct {
    int gets, releases;
} fresh_state;

static int fresh_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    fresh_state *st = (fresh_state *)xbuf_object_state(self);
    char *mem = (char *)malloc(6);
    int rc;
    memcpy(mem, "fresh", 6);
    rc = xbuf_fill_info(view, NULL, mem, 5, 1, flags);
    if (rc != XBUF_OK) {
        free(mem);
        return rc;
    }
    st->gets++;
    view->internal = mem; /* after xbuf_fill_info, which starts from an empty view */
    return XBUF_OK;
}

static void fresh_releasebuffer(xbuf_object *self, xbuf_bufferinfo *view) {
    fresh_state *st = (fresh_state *)xbuf_object_state(self);
    if (view == NULL) return;
    st->releases++;
    free(view->internal);
}

static void test_slice_keeps_per_view_memory(void) {
    fresh_state st = {0, 0};
    xbuf_type t;
    xbuf_object *obj = NULL, *s = NULL;
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = "fresh";
    t.getbuffer = fresh_getbuffer;
    t.releasebuffer = fresh_releasebuffer;
    CHECK_OK(xbuf_object_new(&t, &st, &obj));
    CHECK_OK(xbuf_slice_new(obj, 1, 3, &s));
    /* The slice holds the view its window lies in: the memory is not freed under it. */
    CHECK_EQ(st.gets, 1);
    CHECK_EQ(st.releases, 0);
    CHECK_OK(xbuf_decref(obj));
    expect_bytes(s, "res", 3, 1);
    CHECK_OK(xbuf_decref(s));
    CHECK_EQ(st.gets, 1);
    /* The slice's own view and the one expect_bytes took (both named obj their releaser). */
    CHECK_EQ(st.releases, 2);
}

XBUF_TEST_MAIN(XT_CASE(test_bytes), XT_CASE(test_bytearray), XT_CASE(test_wrap), XT_CASE(test_slice),
               XT_CASE(test_slice_needs_contiguous_base), XT_CASE(test_slice_keeps_per_view_memory))
