/*
 * Inputs at the edges of what the protocol allows, each of which once crashed, aborted or
 * leaked: layouts without items whose pointer tables are absent, views far larger than their
 * memory, failing calls from a thread that is exiting, and strides that overflow when
 * multiplied by an index.
 */
#include <pthread.h>

#include "xbuf_test.h"

/* An exporter describing an indirect layout without items and without memory. */
static int empty_indirect_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    static ptrdiff_t shape[2] = {2, 0}, strides[2] = {sizeof(void *), 1}, subs[2] = {0, -1};
    (void)self;
    (void)flags;
    view->buf = NULL;
    view->len = 0;
    view->itemsize = 1;
    view->ndim = 2;
    view->format = "B";
    view->shape = shape;
    view->strides = strides;
    view->suboffsets = subs;
    return XBUF_OK;
}

static void test_empty_indirect_layout(void) {
    xbuf_type t;
    xbuf_object *obj = NULL, *view = NULL, *row = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    ptrdiff_t idx[2] = {1, 0};
    void *p = NULL;
    size_t needed = 0;
    char text[32];
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = "empty-indirect";
    t.getbuffer = empty_indirect_getbuffer;
    CHECK_OK(xbuf_object_new(&t, NULL, &obj));
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    /* The index in the empty dimension is refused before any pointer is followed. */
    CHECK_ERR(xbuf_get_pointer(&v, idx, &p), XBUF_ERR_OUT_OF_BOUNDS, "dimension 1 of extent 0");
    CHECK(p == NULL);
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_view_new(obj, XBUF_FULL_RO, &view));
    /* Indexing the indirect dimension of a layout without items reads no pointer. */
    CHECK_OK(xbuf_view_index(view, idx, 1, &row));
    CHECK_OK(xbuf_view_tolist(row, text, sizeof text, &needed));
    CHECK_STR(text, "[]");
    CHECK_OK(xbuf_view_tolist(view, text, sizeof text, NULL));
    CHECK_STR(text, "[[], []]");
    CHECK_OK(xbuf_view_hex(view, text, sizeof text, NULL));
    CHECK_STR(text, "");
    CHECK_OK(xbuf_decref(row));
    CHECK_OK(xbuf_decref(view));
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static void test_views_far_larger_than_their_memory(void) {
    /* One byte of data seen 2^40 times (every stride 0): accepted, since every item lies in
     * the data. Size queries are arithmetic; a text that cannot fit fails, never aborts. */
    unsigned char byte = 0xAB;
    ptrdiff_t shape[2] = {1, (ptrdiff_t)1 << 40}, strides[2] = {0, 0};
    xbuf_object *a = NULL, *v = NULL;
    size_t needed = 0;
    CHECK_OK(xbuf_ndarray_new(&byte, 1, "B", 2, shape, strides, 0, XBUF_NDARRAY_READONLY, &a));
    CHECK_OK(xbuf_view_new(a, XBUF_FULL_RO, &v));
    CHECK_OK(xbuf_view_hex(v, NULL, 0, &needed));
    CHECK_EQ(needed, ((size_t)1 << 41) + 1);
    CHECK_OK(xbuf_view_tobytes(v, 'C', NULL, 0, &needed));
    CHECK_EQ(needed, (size_t)1 << 40);
    CHECK_ERR(xbuf_view_tolist(v, NULL, 0, &needed), XBUF_ERR_NO_MEMORY, "cannot grow the text");
    CHECK_OK(xbuf_decref(v));
    CHECK_OK(xbuf_decref(a));
}

static void test_overflowing_strides_without_items(void) {
    /* No items, so any strides are accepted; no operation may multiply them into an overflow. */
    unsigned char data[4] = {0};
    ptrdiff_t shape[2] = {3, 0}, strides[2] = {PTRDIFF_MAX, 1}, idx[2] = {2, 0};
    xbuf_object *a = NULL, *v = NULL, *sub = NULL;
    void *p = NULL;
    char text[32];
    CHECK_OK(xbuf_ndarray_new(data, sizeof data, "B", 2, shape, strides, 0, 0, &a));
    CHECK_OK(xbuf_view_new(a, XBUF_FULL_RO, &v));
    CHECK_OK(xbuf_view_index(v, idx, 1, &sub));
    CHECK_OK(xbuf_view_tolist(v, text, sizeof text, NULL));
    CHECK_STR(text, "[[], [], []]");
    CHECK_ERR(xbuf_view_item_pointer(v, idx, 2, &p), XBUF_ERR_OUT_OF_BOUNDS, "extent 0");
    CHECK_OK(xbuf_decref(sub));
    CHECK_OK(xbuf_decref(v));
    CHECK_OK(xbuf_decref(a));
    /* The same strides PIL-style. */
    CHECK_OK(xbuf_ndarray_new(data, sizeof data, "B", 2, shape, strides, 0, XBUF_NDARRAY_PIL, &a));
    CHECK_OK(xbuf_decref(a));
}

/* A thread-exit destructor that calls the library after the thread's own storage is gone. */
static pthread_key_t late_key;
static int late_status = -1;

static void late_destructor(void *arg) {
    (void)arg;
    late_status = xbuf_incref(NULL);
    (void)xbuf_last_error_message();
    (void)xbuf_last_error_status();
    xbuf_clear_error();
}

static void *late_thread(void *arg) {
    (void)arg;
    /* Record an error first, so the thread's error storage exists and is destroyed at exit. */
    (void)xbuf_incref(NULL);
    pthread_setspecific(late_key, &late_key);
    return NULL;
}

static void test_calls_from_an_exiting_thread(void) {
    pthread_t t;
    CHECK_EQ(pthread_key_create(&late_key, late_destructor), 0);
    CHECK_EQ(pthread_create(&t, NULL, late_thread, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    /* The call still failed cleanly (its message had nowhere to go). */
    CHECK_EQ(late_status, XBUF_ERR_NULL_ARGUMENT);
    pthread_key_delete(late_key);
}

XBUF_TEST_MAIN(XT_CASE(test_empty_indirect_layout), XT_CASE(test_views_far_larger_than_their_memory),
               XT_CASE(test_overflowing_strides_without_items), XT_CASE(test_calls_from_an_exiting_thread))
