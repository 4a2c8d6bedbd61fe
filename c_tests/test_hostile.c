/*
 * Inputs at the edges of what the protocol allows, each of which once crashed, aborted or
 * leaked: layouts without items whose pointer tables are absent, views far larger than their
 * memory, failing calls from a thread that is exiting, and strides that overflow when
 * multiplied by an index; size queries of tolist; and misuse: a released view written back
 * and released again, a get into a view still filled, an exporter changing the structsize of
 * the library's view, exclusive access ended by another thread.
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
    CHECK_ERR(xbuf_view_tolist(v, NULL, 0, &needed), XBUF_ERR_NO_MEMORY, "cannot hold the text");
    CHECK_OK(xbuf_decref(v));
    CHECK_OK(xbuf_decref(a));
}

/* The text of a view without items, from its shape alone: "[]" nested, and its size query
 * answers at once (the shape {2^40, 0} used to render 2^40 "[]" before failing). */
static void test_tolist_of_views_without_items(void) {
    static const struct {
        int ndim;
        ptrdiff_t shape[4];
        size_t needed; /* with the NUL */
        const char *text;  /* when short enough to write out */
    } cases[] = {
        {1, {0}, 3, "[]"},
        {2, {3, 0}, 13, "[[], [], []]"},
        {2, {0, 5}, 3, "[]"},
        {3, {1, 2, 0}, 11, "[[[], []]]"},
        {4, {2, 1, 0, 7}, 13, "[[[]], [[]]]"},
        /* 2^40 "[]" joined by ", " in one list: 4 * 2^40 bytes and a NUL. */
        {2, {(ptrdiff_t)1 << 40, 0}, ((size_t)4 << 40) + 1, NULL},
        /* Three of those: 2 + 3 * 4 * 2^40 + 2 * 2 bytes and a NUL. */
        {3, {3, (ptrdiff_t)1 << 40, 0}, ((size_t)12 << 40) + 7, NULL},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xbuf_object *a = NULL, *v = NULL;
        size_t needed = 0;
        char text[64];
        CHECK_OK(xbuf_ndarray_new(NULL, 0, "<d", cases[i].ndim, cases[i].shape, NULL, 0, 0, &a));
        CHECK_OK(xbuf_view_new(a, XBUF_FULL_RO, &v));
        CHECK_OK(xbuf_view_tolist(v, NULL, 0, &needed));
        CHECK_EQ(needed, cases[i].needed);
        /* A buffer too small is told the same size and left holding "". */
        needed = 0;
        memset(text, 'x', sizeof text);
        CHECK_ERR(xbuf_view_tolist(v, text, 2, &needed), XBUF_ERR_BUFFER_TOO_SMALL, "needs");
        CHECK_EQ(needed, cases[i].needed);
        CHECK_STR(text, "");
        if (cases[i].text != NULL) {
            needed = 0;
            CHECK_OK(xbuf_view_tolist(v, text, cases[i].needed, &needed));
            CHECK_STR(text, cases[i].text);
            CHECK_EQ(needed, strlen(cases[i].text) + 1);
        }
        CHECK_OK(xbuf_decref(v));
        CHECK_OK(xbuf_decref(a));
    }
    {
        /* A text longer than any size (4 * 2^62 bytes): refused, not wrapped. */
        ptrdiff_t shape[2] = {(ptrdiff_t)1 << 62, 0};
        xbuf_object *a = NULL, *v = NULL;
        size_t needed = 7;
        CHECK_OK(xbuf_ndarray_new(NULL, 0, "B", 2, shape, NULL, 0, 0, &a));
        CHECK_OK(xbuf_view_new(a, XBUF_FULL_RO, &v));
        CHECK_ERR(xbuf_view_tolist(v, NULL, 0, &needed), XBUF_ERR_OVERFLOW, "overflows");
        CHECK_EQ(needed, 7);
        CHECK_OK(xbuf_decref(v));
        CHECK_OK(xbuf_decref(a));
    }
}

/* A size query is measured, not stored: it must equal the length of the text itself on every
 * kind of layout and format. Also checks the buffer-too-small path on each. */
static void test_tolist_size_equals_text(void) {
    static const char *formats[] = {"B", "b", "<h", ">H", "i", "<q", "?", "c", "e", "<f", ">d", "3s", "2p",
                                    "Zf", "<Zd", "<2hi", "xB", "T{<i:a:>d:b:}", "T{B:x:2h:y:}", "(2,2)B", "<u",
                                    "2w", "T{i:a:(2)T{h:b:c:c:}:s:}", "=xI", "P"};
    static const struct {
        int ndim;
        ptrdiff_t shape[3];
        int negative, pil, fortran;
    } layouts[] = {
        {0, {0}, 0, 0, 0}, {1, {1}, 0, 0, 0}, {1, {7}, 0, 0, 0}, {1, {7}, 1, 0, 0}, {2, {3, 4}, 0, 0, 0},
        {2, {3, 4}, 0, 0, 1}, {2, {3, 4}, 1, 0, 0}, {2, {3, 4}, 0, 1, 0}, {3, {2, 3, 2}, 0, 1, 0},
        {3, {2, 1, 3}, 1, 0, 1},
    };
    unsigned char data[4096];
    unsigned state = 12345;
    size_t f, l, k;
    for (k = 0; k < sizeof data; k++) {
        state = state * 1103515245u + 12345u;
        data[k] = (unsigned char)(state >> 16);
    }
    for (f = 0; f < sizeof formats / sizeof formats[0]; f++) {
        ptrdiff_t itemsize = 0;
        CHECK_OK(xbuf_size_from_format(formats[f], &itemsize));
        for (l = 0; l < sizeof layouts / sizeof layouts[0]; l++) {
            int ndim = layouts[l].ndim, d;
            ptrdiff_t strides[3], offset = 0, step = itemsize;
            xbuf_object *a = NULL, *v = NULL;
            size_t needed = 0, again = 0;
            char *text;
            /* Contiguous strides in C or F order, optionally every one negated. */
            for (d = 0; d < ndim; d++) {
                int at = layouts[l].fortran ? d : ndim - 1 - d;
                strides[at] = step;
                step *= layouts[l].shape[at];
            }
            if (layouts[l].negative) {
                for (d = 0; d < ndim; d++) {
                    offset += (layouts[l].shape[d] - 1) * strides[d];
                    strides[d] = -strides[d];
                }
            }
            CHECK_OK(xbuf_ndarray_new(data, sizeof data, formats[f], ndim, layouts[l].shape, strides, offset,
                                      layouts[l].pil ? XBUF_NDARRAY_PIL : 0, &a));
            CHECK_OK(xbuf_view_new(a, XBUF_FULL_RO, &v));
            CHECK_OK(xbuf_view_tolist(v, NULL, 0, &needed));
            CHECK(needed > 1);
            text = (char *)malloc(needed + 16);
            CHECK(text != NULL);
            if (text == NULL) return;
            /* Exactly the size told: the whole text, whose length agrees. */
            memset(text, 'x', needed + 16);
            CHECK_OK(xbuf_view_tolist(v, text, needed, &again));
            CHECK_EQ(again, needed);
            CHECK_EQ(strlen(text) + 1, needed);
            CHECK(text[needed] == 'x');
            if (strlen(text) + 1 != needed)
                printf("format %s layout %zu: told %zu, text (%zu) %s\n", formats[f], l, needed, strlen(text), text);
            /* One byte less: too small, told the same size, left holding "". */
            again = 0;
            memset(text, 'x', needed + 16);
            CHECK_ERR(xbuf_view_tolist(v, text, needed - 1, &again), XBUF_ERR_BUFFER_TOO_SMALL, "needs");
            CHECK_EQ(again, needed);
            CHECK_EQ(text[0], 0);
            CHECK(text[needed - 1] == 'x');
            free(text);
            CHECK_OK(xbuf_decref(v));
            CHECK_OK(xbuf_decref(a));
        }
    }
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

/* ---- Misuse of views and exclusive access ------------------------------------------------- */

/* An exporter of 4 bytes that counts its releasebuffer calls and can misbehave with the
 * library's view: change its structsize, then fill it (with fill_info or by asking `other`). */
typedef struct {
    unsigned char data[4];
    int releases;
    size_t set_structsize;  /* if not 0, written into view->structsize first */
    xbuf_object *other;     /* if not NULL, answered with xbuf_get_buffer(other, ...) */
    int inner_status;       /* what fill_info / the nested get returned */
    int read_status;        /* the status xbuf_is_contiguous left, reading the view first */
} misuse_state;

static int misuse_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    misuse_state *st = (misuse_state *)xbuf_object_state(self);
    if (st->set_structsize != 0) view->structsize = st->set_structsize;
    xbuf_clear_error();
    (void)xbuf_is_contiguous(view, 'C');
    st->read_status = xbuf_last_error_status();
    if (st->other != NULL)
        st->inner_status = xbuf_get_buffer(st->other, view, flags);
    else
        st->inner_status = xbuf_fill_info(view, NULL, st->data, sizeof st->data, 1, flags);
    return st->inner_status;
}

static void misuse_releasebuffer(xbuf_object *self, xbuf_bufferinfo *view) {
    misuse_state *st = (misuse_state *)xbuf_object_state(self);
    if (view != NULL) st->releases++;
}

static xbuf_object *misuse_new(misuse_state *st) {
    xbuf_type t;
    xbuf_object *obj = NULL;
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = "misuse";
    t.getbuffer = misuse_getbuffer;
    t.releasebuffer = misuse_releasebuffer;
    memset(st, 0, sizeof *st);
    memcpy(st->data, "wxyz", 4);
    CHECK_OK(xbuf_object_new(&t, st, &obj));
    return obj;
}

/* The saved bytes of a released view, written back at the same address, are refused: the
 * releaser's releasebuffer does not run again, the layout block is not freed twice and the
 * export count never wraps. */
static void test_restored_view_is_not_released_twice(void) {
    misuse_state st;
    xbuf_object *obj = misuse_new(&st), *nd = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT, saved;
    ptrdiff_t shape[4] = {1, 2, 1, 2};
    unsigned char data[4] = {1, 2, 3, 4};
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    memcpy(&saved, &v, sizeof v);
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(st.releases, 1);
    memcpy(&v, &saved, sizeof v);
    CHECK_ERR(xbuf_release(&v), XBUF_ERR_INVALID_ARGUMENT, "already released");
    CHECK_EQ(st.releases, 1);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_EQ(xbuf_refcount(obj), 1);
    /* A lock's export is not taken for the view's either. */
    CHECK_OK(xbuf_lock(obj));
    memcpy(&v, &saved, sizeof v);
    CHECK_ERR(xbuf_release(&v), XBUF_ERR_INVALID_ARGUMENT, "already released");
    CHECK_EQ(st.releases, 1);
    CHECK_EQ(xbuf_exports(obj), 1);
    CHECK_OK(xbuf_unlock(obj));
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_EQ(xbuf_refcount(obj), 1);
    /* A view whose layout lives on the heap (4 dimensions): its block is not freed twice. */
    CHECK_OK(xbuf_ndarray_new(data, sizeof data, "B", 4, shape, NULL, 0, 0, &nd));
    memset(&v, 0, sizeof v);
    v.structsize = sizeof v;
    CHECK_OK(xbuf_get_buffer(nd, &v, XBUF_FULL_RO));
    CHECK(v._private[0] != 0); /* a heap block */
    memcpy(&saved, &v, sizeof v);
    CHECK_OK(xbuf_release(&v));
    memcpy(&v, &saved, sizeof v);
    CHECK_ERR(xbuf_release(&v), XBUF_ERR_INVALID_ARGUMENT, "already released");
    CHECK_EQ(xbuf_exports(nd), 0);
    CHECK_EQ(xbuf_refcount(nd), 1);
    memset(&v, 0, sizeof v);
    CHECK_OK(xbuf_decref(nd));
    CHECK_OK(xbuf_decref(obj));
}

/* Getting into a view that is still filled is refused and leaves that view as it was (it used
 * to be overwritten, losing its export for ever). */
static void test_get_into_a_filled_view_is_refused(void) {
    misuse_state st;
    xbuf_object *obj = misuse_new(&st), *ba = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    CHECK_OK(xbuf_bytearray_new("abc", 3, &ba));
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_SIMPLE));
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_SIMPLE), XBUF_ERR_INVALID_ARGUMENT, "still holds a view");
    CHECK_ERR(xbuf_get_buffer(ba, &v, XBUF_FULL_RO), XBUF_ERR_INVALID_ARGUMENT, "release it first");
    CHECK(v.releaser == obj);
    CHECK(v.buf == st.data);
    CHECK_EQ(v.len, 4);
    CHECK_EQ(xbuf_exports(obj), 1);
    CHECK_EQ(xbuf_exports(ba), 0);
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_EQ(st.releases, 1);
    /* Released: the struct takes a new view. */
    CHECK_OK(xbuf_get_buffer(ba, &v, XBUF_FULL_RO));
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_decref(ba));
    CHECK_OK(xbuf_decref(obj));
}

/* An exporter that changes the structsize of the library's view cannot make the library write
 * past it (the library's own storage), and its answer is refused and handed back. */
static void test_exporter_changing_structsize(void) {
    static const size_t sizes[] = {4096, sizeof(xbuf_bufferinfo) + 8, 104};
    misuse_state st;
    xbuf_object *obj = misuse_new(&st), *ba = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    size_t i;
    int nested;
    CHECK_OK(xbuf_bytearray_new("abc", 3, &ba));
    for (nested = 0; nested < 2; nested++) {
        for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            st.set_structsize = sizes[i];
            st.other = nested ? ba : NULL;
            st.releases = 0;
            st.inner_status = -1;
            CHECK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO) != XBUF_OK);
            if (sizes[i] > sizeof(xbuf_bufferinfo)) {
                /* Growing it: fill_info and get_buffer refuse to write past the real struct,
                 * and reading it refuses to read past it. */
                CHECK_EQ(st.inner_status, XBUF_ERR_INVALID_ARGUMENT);
                CHECK_EQ(st.read_status, XBUF_ERR_INVALID_ARGUMENT);
            } else {
                /* Shrinking it: the filling works, the answer is refused. */
                CHECK_EQ(st.inner_status, XBUF_OK);
                CHECK_EQ(st.read_status, XBUF_ERR_RELEASED); /* an empty view */
                CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_BAD_EXPORTER);
                CHECK(strstr(xbuf_last_error_message(), "structsize") != NULL);
                /* What it set up goes back: to the exporter, or to the object it asked. */
                CHECK_EQ(st.releases, nested ? 0 : 1);
            }
            CHECK(v.releaser == NULL && v.buf == NULL);
            CHECK_EQ(v.structsize, sizeof v);
            CHECK_EQ(xbuf_exports(obj), 0);
            CHECK_EQ(xbuf_exports(ba), 0);
            CHECK_EQ(xbuf_refcount(ba), 1);
        }
    }
    /* Behaving again, it works. */
    st.set_structsize = 0;
    st.other = NULL;
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_decref(ba));
    CHECK_OK(xbuf_decref(obj));
}

static void *end_exclusive_elsewhere(void *arg) {
    static int status;
    status = xbuf_exclusive_end((xbuf_object *)arg);
    if (status != XBUF_OK && strstr(xbuf_last_error_message(), "another thread") == NULL) status = -1;
    return &status;
}

/* Exclusive access is ended only by the thread that took it. */
static void test_exclusive_end_checks_the_owner(void) {
    xbuf_object *ba = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    pthread_t t;
    void *result = NULL;
    CHECK_OK(xbuf_bytearray_new("abc", 3, &ba));
    CHECK_OK(xbuf_exclusive_begin(ba));
    CHECK_EQ(pthread_create(&t, NULL, end_exclusive_elsewhere, ba), 0);
    CHECK_EQ(pthread_join(t, &result), 0);
    CHECK_EQ(*(int *)result, XBUF_ERR_INVALID_ARGUMENT);
    /* Still held: exports are refused until the owner ends it. */
    CHECK_ERR(xbuf_get_buffer(ba, &v, XBUF_SIMPLE), XBUF_ERR_BUSY, "exclusive access is held");
    CHECK_ERR(xbuf_bytearray_resize(ba, 8), XBUF_ERR_BUSY, "already being changed");
    CHECK_OK(xbuf_exclusive_end(ba));
    CHECK_ERR(xbuf_exclusive_end(ba), XBUF_ERR_INVALID_ARGUMENT, "not held exclusively");
    CHECK_OK(xbuf_get_buffer(ba, &v, XBUF_SIMPLE));
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_decref(ba));
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
               XT_CASE(test_tolist_of_views_without_items), XT_CASE(test_tolist_size_equals_text),
               XT_CASE(test_overflowing_strides_without_items), XT_CASE(test_restored_view_is_not_released_twice),
               XT_CASE(test_get_into_a_filled_view_is_refused), XT_CASE(test_exporter_changing_structsize),
               XT_CASE(test_exclusive_end_checks_the_owner), XT_CASE(test_calls_from_an_exiting_thread))
