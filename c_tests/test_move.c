/*
 * xbuf_bufferinfo_move: a filled view changes address. Every place a view's layout can live
 * (at len/itemsize, in the inline storage, on the heap, mixed), every struct size (older,
 * between, full, newer), views delegated to another releaser, a move to another thread, and
 * every bad input, each checked to change neither struct.
 */
#include <pthread.h>

#include "xbuf_test.h"

/* Whether `p` points into the struct at `v` of `size` bytes. */
static int inside(const void *p, const xbuf_bufferinfo *v, size_t size) {
    const unsigned char *a = (const unsigned char *)p, *b = (const unsigned char *)v;
    return a >= b && a < b + size;
}

/* Every byte after structsize is zero: the struct is empty. */
static int all_zero_after_size(const xbuf_bufferinfo *v) {
    const unsigned char *b = (const unsigned char *)v;
    size_t i;
    for (i = sizeof(size_t); i < v->structsize; i++)
        if (b[i]) return 0;
    return 1;
}

/* An ndarray of int16 in `shape`, with item k holding k * 3 + 1 (C order). */
static xbuf_object *make_array(const char *format, int ndim, const ptrdiff_t *shape) {
    short data[720];
    ptrdiff_t n = 1;
    int k;
    xbuf_object *obj = NULL;
    for (k = 0; k < ndim; k++) n *= shape[k];
    for (k = 0; k < n; k++) data[k] = (short)(k * 3 + 1);
    CHECK_OK(xbuf_ndarray_new(data, (size_t)n * sizeof(short), format, ndim, shape, NULL, 0, 0, &obj));
    return obj;
}

/* The value of the item at `idx` read through the view's own layout (get_pointer). */
static int item_at(const xbuf_bufferinfo *v, const ptrdiff_t *idx) {
    void *p = NULL;
    short s;
    CHECK_OK(xbuf_get_pointer(v, idx, &p));
    if (p == NULL) return -1;
    memcpy(&s, p, sizeof s);
    return s;
}

static void test_flat_bytes(void) {
    /* A 1-D byte view points shape at len and strides at itemsize, as CPython does. */
    xbuf_object *obj = NULL;
    xbuf_bufferinfo a = XBUF_BUFFERINFO_INIT, b = XBUF_BUFFERINFO_INIT;
    CHECK_OK(xbuf_bytearray_new("abcdef", 6, &obj));
    CHECK_OK(xbuf_get_buffer(obj, &a, XBUF_FULL_RO));
    CHECK(a.shape == &a.len && a.strides == &a.itemsize);
    CHECK_OK(xbuf_bufferinfo_move(&b, &a));
    CHECK(b.shape == &b.len);
    CHECK(b.strides == &b.itemsize);
    CHECK_EQ(b.shape[0], 6);
    CHECK_EQ(b.strides[0], 1);
    CHECK_STR(b.format, "B");
    CHECK(memcmp(b.buf, "abcdef", 6) == 0);
    CHECK(b.releaser == obj);
    CHECK_EQ(b.readonly, 0);
    CHECK_EQ(b.ndim, 1);
    CHECK(all_zero_after_size(&a));
    CHECK_EQ(a.structsize, sizeof a);
    /* The export and the reference moved with the view; the emptied source owes nothing. */
    CHECK_EQ(xbuf_exports(obj), 1);
    CHECK_EQ(xbuf_refcount(obj), 2);
    CHECK_OK(xbuf_release(&a));
    CHECK_EQ(xbuf_exports(obj), 1);
    CHECK_EQ(xbuf_is_contiguous(&b, 'C'), 1);
    CHECK_OK(xbuf_release(&b));
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_EQ(xbuf_refcount(obj), 1);
    CHECK_OK(xbuf_decref(obj));
}

static void test_inline_layout(void) {
    /* 2-D with a short format: shape, strides and format all live inside the struct. */
    static const ptrdiff_t shape[2] = {3, 4};
    xbuf_object *obj = make_array("<h", 2, shape);
    xbuf_bufferinfo a = XBUF_BUFFERINFO_INIT, b = XBUF_BUFFERINFO_INIT;
    ptrdiff_t idx[2] = {2, 3};
    short out[12];
    int k;
    CHECK_OK(xbuf_get_buffer(obj, &a, XBUF_FULL_RO));
    CHECK(inside(a.shape, &a, sizeof a) && inside(a.strides, &a, sizeof a));
    CHECK(inside(a.format, &a, sizeof a));
    CHECK_OK(xbuf_bufferinfo_move(&b, &a));
    CHECK(inside(b.shape, &b, sizeof b));
    CHECK(inside(b.strides, &b, sizeof b));
    CHECK(inside(b.format, &b, sizeof b));
    /* Same offsets inside the new struct as in the old one. */
    CHECK_EQ((char *)b.shape - (char *)&b, offsetof(xbuf_bufferinfo, _inline_layout));
    CHECK_EQ((char *)b.format - (char *)&b, offsetof(xbuf_bufferinfo, _inline_format));
    CHECK_EQ(b.shape[0], 3);
    CHECK_EQ(b.shape[1], 4);
    CHECK_EQ(b.strides[0], 8);
    CHECK_EQ(b.strides[1], 2);
    CHECK_STR(b.format, "<h");
    CHECK_EQ(b.len, 24);
    CHECK_EQ(b.itemsize, 2);
    CHECK_EQ(item_at(&b, idx), 11 * 3 + 1);
    /* The source's storage is wiped: a stale pointer into it reads zeros, not the layout. */
    CHECK(all_zero_after_size(&a));
    CHECK_OK(xbuf_to_contiguous(out, sizeof out, &b, 'C'));
    for (k = 0; k < 12; k++) CHECK_EQ(out[k], k * 3 + 1);
    CHECK_EQ(xbuf_exports(obj), 1);
    CHECK_OK(xbuf_release(&b));
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

/* Moves a view of `obj` through `n` structs one after another, checks it each time, then
 * releases it from the last one. */
static void move_chain(xbuf_object *obj, int flags, const char *format, int n) {
    xbuf_bufferinfo chain[8];
    ptrdiff_t idx[4] = {1, 1, 1, 1};
    int k, expect;
    void *heap_shape;
    for (k = 0; k < 8; k++) {
        memset(&chain[k], 0x3C, sizeof chain[k]); /* garbage: dst need not be initialised */
        chain[k].structsize = sizeof chain[k];
    }
    CHECK_OK(xbuf_get_buffer(obj, &chain[0], flags));
    heap_shape = chain[0].shape;
    expect = item_at(&chain[0], idx);
    for (k = 1; k < n; k++) {
        CHECK_OK(xbuf_bufferinfo_move(&chain[k], &chain[k - 1]));
        CHECK(chain[k - 1].releaser == NULL);
        CHECK(all_zero_after_size(&chain[k - 1]));
        CHECK_STR(chain[k].format, format);
        CHECK_EQ(item_at(&chain[k], idx), expect);
        CHECK_EQ(xbuf_exports(obj), 1);
        /* Layout on the heap does not move. */
        if (!inside(heap_shape, &chain[0], sizeof chain)) CHECK(chain[k].shape == heap_shape);
        /* Releasing a stale source is a no-op, never a double release. */
        CHECK_OK(xbuf_release(&chain[k - 1]));
    }
    CHECK_OK(xbuf_release(&chain[n - 1]));
    CHECK_EQ(xbuf_exports(obj), 0);
}

static void test_heap_and_mixed_layouts(void) {
    static const ptrdiff_t shape4[4] = {2, 3, 4, 5};
    static const ptrdiff_t shape2[2] = {4, 5};
    static const char long_format[] = "<h:a_long_field_name:";
    xbuf_object *obj;
    /* Layout on the heap (4-D: 8 words > XBUF_INLINE_LAYOUT), format inline. */
    obj = make_array("<h", 4, shape4);
    move_chain(obj, XBUF_FULL_RO, "<h", 8);
    CHECK_OK(xbuf_decref(obj));
    /* Layout and a long format on the heap. */
    obj = make_array("=h:a_long_field_name:", 4, shape4);
    move_chain(obj, XBUF_FULL_RO, "=h:a_long_field_name:", 5);
    CHECK_OK(xbuf_decref(obj));
    /* Layout inline, long format on the heap. */
    CHECK(strlen(long_format) >= XBUF_INLINE_FORMAT);
    obj = make_array(long_format, 2, shape2);
    move_chain(obj, XBUF_FULL_RO, long_format, 3);
    CHECK_OK(xbuf_decref(obj));
}

static void test_zero_dim_and_simple(void) {
    /* A 0-D view points shape and strides at len; a SIMPLE one has neither. */
    static const ptrdiff_t none[1] = {0};
    short one = 77;
    xbuf_object *obj = NULL;
    xbuf_bufferinfo a = XBUF_BUFFERINFO_INIT, b = XBUF_BUFFERINFO_INIT;
    CHECK_OK(xbuf_ndarray_new(&one, sizeof one, "h", 0, none, NULL, 0, 0, &obj));
    CHECK_OK(xbuf_get_buffer(obj, &a, XBUF_FULL_RO));
    CHECK_EQ(a.ndim, 0);
    CHECK_OK(xbuf_bufferinfo_move(&b, &a));
    CHECK(b.shape == NULL || inside(b.shape, &b, sizeof b));
    CHECK(b.strides == NULL || inside(b.strides, &b, sizeof b));
    CHECK_EQ(item_at(&b, NULL), 77);
    CHECK_OK(xbuf_release(&b));
    CHECK_OK(xbuf_get_buffer(obj, &a, XBUF_SIMPLE));
    CHECK_OK(xbuf_bufferinfo_move(&b, &a));
    CHECK(b.shape == NULL && b.strides == NULL && b.format == NULL);
    CHECK_EQ(b.len, 2);
    CHECK_EQ(*(short *)b.buf, 77);
    CHECK_OK(xbuf_release(&b));
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static void test_struct_sizes(void) {
    static guarded gs, gd;
    static const ptrdiff_t shape[2] = {3, 4};
    static const ptrdiff_t shape4[4] = {2, 3, 4, 5};
    xbuf_object *bytes = NULL, *small = make_array("<h", 2, shape), *big = make_array("<h", 4, shape4);
    xbuf_bufferinfo full = XBUF_BUFFERINFO_INIT;
    xbuf_bufferinfo *src, *dst;
    ptrdiff_t idx[2] = {1, 2};
    size_t newer = sizeof(xbuf_bufferinfo) + 40, i;
    int nonzero;
    CHECK_OK(xbuf_bytearray_new("xyz", 3, &bytes));

    /* An older, shorter dst takes a flat view (its layout is at len/itemsize)... */
    CHECK_OK(xbuf_get_buffer(bytes, &full, XBUF_FULL_RO));
    dst = guarded_init(&gd, XBUF_BUFFERINFO_SIZE_MIN, 0x77);
    CHECK_OK(xbuf_bufferinfo_move(dst, &full));
    CHECK_EQ(guard_damage(&gd), 0);
    CHECK(dst->shape == &dst->len && dst->strides == &dst->itemsize);
    CHECK(memcmp(dst->buf, "xyz", 3) == 0);
    /* ... and gives it back to a full-size struct. */
    CHECK_OK(xbuf_bufferinfo_move(&full, dst));
    CHECK_EQ(guard_damage(&gd), 0);
    CHECK(all_zero_after_size(dst));
    CHECK(full.shape == &full.len);
    CHECK_OK(xbuf_release(&full));

    /* An older dst cannot hold a layout that lives in the inline storage: refused, nothing
     * written, the view still valid where it was. */
    CHECK_OK(xbuf_get_buffer(small, &full, XBUF_FULL_RO));
    dst = guarded_init(&gd, XBUF_BUFFERINFO_SIZE_MIN, 0x77);
    CHECK_ERR(xbuf_bufferinfo_move(dst, &full), XBUF_ERR_STRUCT_TOO_OLD, "inline storage");
    CHECK_EQ(guard_damage(&gd), 0);
    for (i = sizeof(size_t); i < XBUF_BUFFERINFO_SIZE_MIN; i++) CHECK_EQ(gd.mem[GUARD + i], 0x77);
    CHECK_EQ(item_at(&full, idx), 6 * 3 + 1);
    /* Nor can one that ends part-way into the inline storage. */
    dst = guarded_init(&gd, XBUF_BUFFERINFO_SIZE_MIN + 8, 0x77);
    CHECK_ERR(xbuf_bufferinfo_move(dst, &full), XBUF_ERR_STRUCT_TOO_OLD, "structsize");
    CHECK_EQ(guard_damage(&gd), 0);
    /* A newer, longer dst takes it and gets its unknown tail zeroed. */
    dst = guarded_init(&gd, newer, 0xEE);
    CHECK_OK(xbuf_bufferinfo_move(dst, &full));
    CHECK_EQ(guard_damage(&gd), 0);
    nonzero = 0;
    for (i = sizeof(xbuf_bufferinfo); i < newer; i++) nonzero += gd.mem[GUARD + i] != 0;
    CHECK_EQ(nonzero, 0);
    CHECK(inside(dst->shape, dst, sizeof(xbuf_bufferinfo)));
    CHECK_EQ(item_at(dst, idx), 6 * 3 + 1);
    CHECK_OK(xbuf_release(dst));

    /* An older src (its layout on the heap) into a full-size dst: the inline storage of dst
     * ends up zero, the heap layout is kept. */
    src = guarded_init(&gs, XBUF_BUFFERINFO_SIZE_MIN, 0);
    CHECK_OK(xbuf_get_buffer(small, src, XBUF_FULL_RO));
    memset(&full, 0x55, sizeof full);
    full.structsize = sizeof full;
    CHECK_OK(xbuf_bufferinfo_move(&full, src));
    CHECK_EQ(guard_damage(&gs), 0);
    CHECK(!inside(full.shape, &full, sizeof full));
    nonzero = 0;
    for (i = 0; i < XBUF_INLINE_LAYOUT; i++) nonzero += full._inline_layout[i] != 0;
    for (i = 0; i < XBUF_INLINE_FORMAT; i++) nonzero += full._inline_format[i] != 0;
    CHECK_EQ(nonzero, 0);
    CHECK_EQ(item_at(&full, idx), 6 * 3 + 1);
    CHECK_OK(xbuf_release(&full));

    /* An older src with a heap layout into an older dst. */
    src = guarded_init(&gs, XBUF_BUFFERINFO_SIZE_MIN, 0);
    CHECK_OK(xbuf_get_buffer(big, src, XBUF_FULL_RO));
    dst = guarded_init(&gd, XBUF_BUFFERINFO_SIZE_MIN, 0x21);
    CHECK_OK(xbuf_bufferinfo_move(dst, src));
    CHECK_EQ(guard_damage(&gs) + guard_damage(&gd), 0);
    CHECK_EQ(dst->shape[3], 5);
    CHECK_OK(xbuf_release(dst));

    /* A newer src whose unknown tail was scribbled on: fields this library cannot honour. */
    src = guarded_init(&gs, newer, 0);
    CHECK_OK(xbuf_get_buffer(small, src, XBUF_FULL_RO));
    gs.mem[GUARD + sizeof(xbuf_bufferinfo) + 3] = 9;
    memset(&full, 0, sizeof full);
    full.structsize = sizeof full;
    CHECK_ERR(xbuf_bufferinfo_move(&full, src), XBUF_ERR_STRUCT_TOO_NEW, "is not zero");
    CHECK(full.releaser == NULL);
    gs.mem[GUARD + sizeof(xbuf_bufferinfo) + 3] = 0;
    CHECK_OK(xbuf_bufferinfo_move(&full, src));
    CHECK(all_zero_after_size(src));
    CHECK_OK(xbuf_release(&full));

    CHECK_EQ(xbuf_exports(bytes) + xbuf_exports(small) + xbuf_exports(big), 0);
    CHECK_OK(xbuf_decref(bytes));
    CHECK_OK(xbuf_decref(small));
    CHECK_OK(xbuf_decref(big));
}

static void test_bad_input(void) {
    static const ptrdiff_t shape[2] = {3, 4};
    xbuf_object *obj = make_array("<h", 2, shape);
    xbuf_bufferinfo a = XBUF_BUFFERINFO_INIT, b = XBUF_BUFFERINFO_INIT, copy, before_a, before_b;
    union {
        xbuf_bufferinfo v[3];
        unsigned char bytes[3 * sizeof(xbuf_bufferinfo)];
    } pool;
    xbuf_bufferinfo *shifted;
    ptrdiff_t idx[2] = {2, 1};

    CHECK_OK(xbuf_get_buffer(obj, &a, XBUF_FULL_RO));
    CHECK_ERR(xbuf_bufferinfo_move(NULL, &a), XBUF_ERR_NULL_ARGUMENT, "'dst'");
    CHECK_ERR(xbuf_bufferinfo_move(&b, NULL), XBUF_ERR_NULL_ARGUMENT, "'src'");
    CHECK_ERR(xbuf_bufferinfo_move(NULL, NULL), XBUF_ERR_NULL_ARGUMENT, "is NULL");

    /* Bad structsizes on either side. */
    b.structsize = 0;
    CHECK_ERR(xbuf_bufferinfo_move(&b, &a), XBUF_ERR_STRUCT_TOO_OLD, "structsize is 0");
    b.structsize = 100000;
    CHECK_ERR(xbuf_bufferinfo_move(&b, &a), XBUF_ERR_INVALID_ARGUMENT, "is the struct initialised");
    b.structsize = sizeof b;
    a.structsize = 8;
    CHECK_ERR(xbuf_bufferinfo_move(&b, &a), XBUF_ERR_STRUCT_TOO_OLD, "structsize is 8");
    a.structsize = sizeof a;
    CHECK(b.releaser == NULL);

    /* dst holds a live view: refused (it would leak), both unchanged. */
    CHECK_OK(xbuf_get_buffer(obj, &b, XBUF_FULL_RO));
    memcpy(&before_a, &a, sizeof a);
    memcpy(&before_b, &b, sizeof b);
    CHECK_ERR(xbuf_bufferinfo_move(&b, &a), XBUF_ERR_INVALID_ARGUMENT, "holds a view");
    CHECK(memcmp(&a, &before_a, sizeof a) == 0);
    CHECK(memcmp(&b, &before_b, sizeof b) == 0);
    CHECK_EQ(xbuf_exports(obj), 2);
    CHECK_OK(xbuf_release(&b));

    /* A byte copy of a filled view is not a view: refused as a source, and changes nothing. */
    memcpy(&copy, &a, sizeof a);
    CHECK_ERR(xbuf_bufferinfo_move(&b, &copy), XBUF_ERR_INVALID_ARGUMENT, "not filled by xbuf_get_buffer");
    CHECK(b.releaser == NULL && copy.releaser == a.releaser);
    /* Its seal scribbled on: same. */
    a._private[1] ^= 1;
    CHECK_ERR(xbuf_bufferinfo_move(&b, &a), XBUF_ERR_INVALID_ARGUMENT, "moved, copied or overwritten");
    CHECK(b.releaser == NULL && a.releaser == obj);
    a._private[1] ^= 1;
    /* A view filled by hand (an exporter's scratch answer) is not the library's to move. */
    CHECK_OK(xbuf_fill_info(&copy, obj, "abc", 3, 1, XBUF_SIMPLE));
    CHECK_ERR(xbuf_bufferinfo_move(&b, &copy), XBUF_ERR_INVALID_ARGUMENT, "not filled");

    /* Overlapping structs: a dst that starts 32 bytes before the source's struct. */
    memset(&pool, 0, sizeof pool);
    pool.v[1].structsize = sizeof(xbuf_bufferinfo);
    CHECK_OK(xbuf_bufferinfo_move(&pool.v[1], &a));
    shifted = (xbuf_bufferinfo *)(void *)(pool.bytes + sizeof(xbuf_bufferinfo) - 32);
    shifted->structsize = sizeof(xbuf_bufferinfo);
    memcpy(&before_a, &pool.v[1], sizeof before_a);
    CHECK_ERR(xbuf_bufferinfo_move(shifted, &pool.v[1]), XBUF_ERR_INVALID_ARGUMENT, "overlap");
    CHECK(memcmp(&pool.v[1], &before_a, sizeof before_a) == 0);
    CHECK_EQ(shifted->structsize, sizeof(xbuf_bufferinfo));
    CHECK_EQ(item_at(&pool.v[1], idx), 9 * 3 + 1);
    /* The other way round: the source starts inside dst. */
    pool.v[2].structsize = sizeof(xbuf_bufferinfo);
    CHECK_OK(xbuf_bufferinfo_move(&pool.v[2], &pool.v[1]));
    memset(&pool.v[1], 0, sizeof pool.v[1]);
    shifted = (xbuf_bufferinfo *)(void *)(pool.bytes + 2 * sizeof(xbuf_bufferinfo) - 8);
    shifted->structsize = 16 + sizeof(xbuf_bufferinfo); /* reaches 8 bytes into v[2] */
    CHECK_ERR(xbuf_bufferinfo_move(shifted, &pool.v[2]), XBUF_ERR_INVALID_ARGUMENT, "overlap");
    CHECK_EQ(item_at(&pool.v[2], idx), 9 * 3 + 1);
    /* Adjacent but not overlapping is fine. */
    memset(&pool.v[1], 0, sizeof pool.v[1]);
    pool.v[1].structsize = sizeof(xbuf_bufferinfo);
    CHECK_OK(xbuf_bufferinfo_move(&pool.v[1], &pool.v[2]));
    CHECK_EQ(item_at(&pool.v[1], idx), 9 * 3 + 1);

    /* dst == src: a no-op that keeps the view. */
    CHECK_OK(xbuf_bufferinfo_move(&pool.v[1], &pool.v[1]));
    CHECK_EQ(item_at(&pool.v[1], idx), 9 * 3 + 1);
    CHECK_EQ(xbuf_exports(obj), 1);
    CHECK_OK(xbuf_release(&pool.v[1]));
    CHECK_EQ(xbuf_exports(obj), 0);

    /* An empty source empties dst (whatever it held that was not a view). */
    memset(&b, 0xAB, sizeof b);
    b.structsize = sizeof b;
    memset(&a, 0, sizeof a);
    a.structsize = sizeof a;
    CHECK_OK(xbuf_bufferinfo_move(&b, &a));
    CHECK(all_zero_after_size(&b));
    CHECK(all_zero_after_size(&a));
    CHECK_OK(xbuf_bufferinfo_move(&a, &a));
    CHECK_OK(xbuf_decref(obj));
}

/* An exporter that records what its releasebuffer receives. */
typedef struct {
    short cells[6];
    int gets, releases;
    xbuf_bufferinfo *last_released;
    void *last_internal;
} recorder;

static int recorder_get(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    static ptrdiff_t shape[2] = {2, 3};
    recorder *r = (recorder *)xbuf_object_state(self);
    (void)flags;
    view->buf = r->cells;
    view->len = sizeof r->cells;
    view->itemsize = sizeof(short);
    view->ndim = 2;
    view->format = "h";
    view->shape = shape;
    view->internal = &r->gets;
    r->gets++;
    return XBUF_OK;
}

static void recorder_release(xbuf_object *self, xbuf_bufferinfo *view) {
    recorder *r = (recorder *)xbuf_object_state(self);
    r->releases++;
    r->last_released = view;
    r->last_internal = view ? view->internal : NULL;
}

static void test_releaser_sees_the_new_struct(void) {
    recorder r;
    xbuf_type t;
    xbuf_object *obj = NULL, *slice = NULL;
    xbuf_bufferinfo a = XBUF_BUFFERINFO_INIT, b = XBUF_BUFFERINFO_INIT;
    memset(&r, 0, sizeof r);
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = "recorder";
    t.getbuffer = recorder_get;
    t.releasebuffer = recorder_release;
    CHECK_OK(xbuf_object_new(&t, &r, &obj));
    CHECK_OK(xbuf_get_buffer(obj, &a, XBUF_RECORDS_RO));
    CHECK_OK(xbuf_bufferinfo_move(&b, &a));
    CHECK(b.internal == &r.gets);
    CHECK_OK(xbuf_release(&a));
    CHECK_EQ(r.releases, 0);
    CHECK_OK(xbuf_release(&b));
    CHECK_EQ(r.releases, 1);
    CHECK(r.last_released == &b);
    CHECK(r.last_internal == &r.gets);

    /* A view of a slice names the base as its releaser; moved, it still goes back there. */
    CHECK_OK(xbuf_slice_new(obj, 2, 6, &slice));
    CHECK_OK(xbuf_get_buffer(slice, &a, XBUF_SIMPLE));
    CHECK(a.releaser == obj);
    CHECK_OK(xbuf_decref(slice)); /* the view outlives the slice */
    CHECK_OK(xbuf_bufferinfo_move(&b, &a));
    CHECK_EQ(b.len, 6);
    CHECK(b.buf == (char *)r.cells + 2);
    r.releases = 0;
    CHECK_OK(xbuf_release(&b));
    CHECK_EQ(r.releases, 1);
    CHECK(r.last_released == &b);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static xbuf_bufferinfo thread_view = XBUF_BUFFERINFO_INIT;

static void *take_and_release(void *arg) {
    xbuf_bufferinfo mine = XBUF_BUFFERINFO_INIT;
    int *ok = (int *)arg;
    ptrdiff_t idx[2] = {1, 3};
    *ok = xbuf_bufferinfo_move(&mine, &thread_view) == XBUF_OK && mine.shape[1] == 4 &&
          item_at(&mine, idx) == 7 * 3 + 1 && xbuf_release(&mine) == XBUF_OK;
    return NULL;
}

static void test_move_to_another_thread(void) {
    static const ptrdiff_t shape[2] = {3, 4};
    xbuf_object *obj = make_array("<h", 2, shape);
    pthread_t t;
    int ok = 0;
    CHECK_OK(xbuf_get_buffer(obj, &thread_view, XBUF_FULL_RO));
    CHECK_EQ(pthread_create(&t, NULL, take_and_release, &ok), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(ok, 1);
    CHECK(thread_view.releaser == NULL);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

XBUF_TEST_MAIN(XT_CASE(test_flat_bytes), XT_CASE(test_inline_layout),
               XT_CASE(test_heap_and_mixed_layouts), XT_CASE(test_zero_dim_and_simple),
               XT_CASE(test_struct_sizes), XT_CASE(test_bad_input),
               XT_CASE(test_releaser_sees_the_new_struct), XT_CASE(test_move_to_another_thread))
