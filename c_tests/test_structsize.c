/*
 * structsize: the library accepts any size from the first published one up. An older, shorter
 * xbuf_bufferinfo (a prefix of today's) gets only the fields it has, and nothing is written
 * past its structsize; a newer, longer one gets its unknown tail zeroed; a too-small size is
 * rejected. An xbuf_type larger than the library knows is accepted with a zero unknown tail
 * and rejected ("struct too new") with a non-zero one.
 */
#include "xbuf_test.h"

static xbuf_object *make_bytearray(void) {
    xbuf_object *obj = NULL;
    CHECK_OK(xbuf_bytearray_new("abcdef", 6, &obj));
    return obj;
}

/* An exporter with a 3-D layout of 2-byte items and a long format, so that a full-size view
 * would keep part of it inline while a short one must put all of it elsewhere. */
static ptrdiff_t cube_shape[3] = {2, 3, 4};
static ptrdiff_t cube_strides[3] = {24, 8, 2};
static unsigned char cube_data[48];

static int cube_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    (void)self;
    (void)flags;
    view->buf = cube_data;
    view->len = 48;
    view->itemsize = 2;
    view->ndim = 3;
    view->format = "<h";
    view->shape = cube_shape;
    view->strides = cube_strides;
    return XBUF_OK;
}

static xbuf_object *make_cube(const char *name) {
    xbuf_type t;
    xbuf_object *obj = NULL;
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = name;
    t.getbuffer = cube_getbuffer;
    CHECK_OK(xbuf_object_new(&t, NULL, &obj));
    return obj;
}

static void test_published_sizes(void) {
    CHECK_EQ(XBUF_BUFFERINFO_SIZE_MIN, offsetof(xbuf_bufferinfo, _inline_layout));
    CHECK_EQ(XBUF_TYPE_SIZE_MIN, sizeof(xbuf_type));
    CHECK(XBUF_BUFFERINFO_SIZE_MIN < sizeof(xbuf_bufferinfo));
    CHECK_EQ(XBUF_BUFFERINFO_SIZE_MIN, offsetof(xbuf_bufferinfo, _private) + 2 * sizeof(size_t));
    CHECK_EQ(offsetof(xbuf_bufferinfo, structsize), 0);
    CHECK_EQ(offsetof(xbuf_type, structsize), 0);
}

static void test_older_shorter_view(void) {
    static guarded g;
    xbuf_object *objs[2];
    int k;
    objs[0] = make_bytearray();
    objs[1] = make_cube("cube");
    for (k = 0; k < 2; k++) {
        xbuf_bufferinfo *v = guarded_init(&g, XBUF_BUFFERINFO_SIZE_MIN, 0);
        CHECK_OK(xbuf_get_buffer(objs[k], v, XBUF_FULL));
        CHECK_EQ(guard_damage(&g), 0);
        CHECK_EQ(v->structsize, XBUF_BUFFERINFO_SIZE_MIN);
        if (k == 0) {
            CHECK_EQ(v->len, 6);
            CHECK_EQ(v->ndim, 1);
            CHECK_EQ(v->shape[0], 6);
            CHECK_EQ(v->strides[0], 1);
            CHECK_STR(v->format, "B");
            CHECK(memcmp(v->buf, "abcdef", 6) == 0);
        } else {
            CHECK_EQ(v->ndim, 3);
            CHECK_EQ(v->shape[2], 4);
            CHECK_EQ(v->strides[0], 24);
            CHECK_STR(v->format, "<h");
            /* Nothing may point into the bytes this struct does not have. */
            CHECK((unsigned char *)v->shape < (unsigned char *)v || (unsigned char *)v->shape >= g.mem + sizeof g.mem);
            CHECK((unsigned char *)v->format < (unsigned char *)v || (unsigned char *)v->format >= g.mem + sizeof g.mem);
        }
        CHECK_OK(xbuf_release(v));
        CHECK_EQ(guard_damage(&g), 0);
        CHECK(v->releaser == NULL);
        CHECK_OK(xbuf_decref(objs[k]));
    }
}

static void test_sizes_between_min_and_full(void) {
    /* A struct that ends a few bytes into the inline area: the library uses only the fields it
     * has whole (the layout goes elsewhere), empties the rest within structsize, and writes
     * nothing past it. */
    static guarded g;
    xbuf_object *obj = make_cube("cube");
    xbuf_bufferinfo *v = guarded_init(&g, XBUF_BUFFERINFO_SIZE_MIN + 8, 0x5C);
    CHECK_OK(xbuf_get_buffer(obj, v, XBUF_FULL_RO));
    CHECK_EQ(guard_damage(&g), 0);
    CHECK_EQ(g.mem[GUARD + XBUF_BUFFERINFO_SIZE_MIN], 0);
    CHECK((unsigned char *)v->shape < g.mem || (unsigned char *)v->shape >= g.mem + sizeof g.mem);
    CHECK_EQ(v->shape[1], 3);
    CHECK_OK(xbuf_release(v));
    CHECK_EQ(guard_damage(&g), 0);
    CHECK_OK(xbuf_decref(obj));
}

static void test_newer_longer_view(void) {
    static guarded g;
    xbuf_object *obj = make_cube("cube");
    size_t size = sizeof(xbuf_bufferinfo) + 40;
    size_t i;
    int nonzero = 0;
    xbuf_bufferinfo *v = guarded_init(&g, size, 0xEE);
    CHECK_OK(xbuf_get_buffer(obj, v, XBUF_FULL_RO));
    CHECK_EQ(guard_damage(&g), 0);
    for (i = sizeof(xbuf_bufferinfo); i < size; i++) nonzero += g.mem[GUARD + i] != 0;
    CHECK_EQ(nonzero, 0);
    CHECK_EQ(v->structsize, size);
    CHECK_EQ(v->shape[0], 2);
    /* The library reads the struct too (is_contiguous, get_pointer): a zero tail is fine, a
     * non-zero one means fields from a newer header that this library cannot honour. */
    CHECK_EQ(xbuf_is_contiguous(v, 'C'), 1);
    g.mem[GUARD + sizeof(xbuf_bufferinfo) + 7] = 1;
    CHECK_EQ(xbuf_is_contiguous(v, 'C'), 0);
    CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_STRUCT_TOO_NEW);
    CHECK(strstr(xbuf_last_error_message(), "is not zero") != NULL);
    g.mem[GUARD + sizeof(xbuf_bufferinfo) + 7] = 0;
    CHECK_OK(xbuf_release(v));
    CHECK_EQ(guard_damage(&g), 0);
    /* A failed get also empties the struct within its structsize, and only there. */
    guarded_init(&g, size, 0xEE);
    CHECK_ERR(xbuf_get_buffer(obj, v, XBUF_WRITABLE | 0x400), XBUF_ERR_INVALID_ARGUMENT, "unknown bits");
    CHECK(v->releaser == NULL && v->buf == NULL);
    CHECK_EQ(guard_damage(&g), 0);
    CHECK_OK(xbuf_decref(obj));
}

static void test_too_small_view_rejected(void) {
    static guarded g;
    xbuf_object *obj = make_bytearray();
    xbuf_bufferinfo *v = guarded_init(&g, XBUF_BUFFERINFO_SIZE_MIN - 8, 0x11);
    CHECK_ERR(xbuf_get_buffer(obj, v, XBUF_SIMPLE), XBUF_ERR_STRUCT_TOO_OLD, "smallest published size is 104");
    CHECK_EQ(guard_damage(&g), 0);
    CHECK_EQ(g.mem[GUARD + 8], 0x11); /* nothing written */
    CHECK_ERR(xbuf_release(v), XBUF_ERR_STRUCT_TOO_OLD, "structsize");
    v->structsize = 0;
    CHECK_ERR(xbuf_get_buffer(obj, v, XBUF_SIMPLE), XBUF_ERR_STRUCT_TOO_OLD, "structsize is 0");
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static int noop_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    static char byte = 7;
    (void)self;
    return xbuf_fill_info(view, NULL, &byte, 1, 1, flags);
}

static void test_type_struct_sizes(void) {
    /* A type struct from a newer header: today's fields, then fields this library lacks. */
    struct {
        xbuf_type t;
        void *future_slot;
        void *future_slot2;
    } newer;
    xbuf_object *obj = (xbuf_object *)(void *)&newer;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    memset(&newer, 0, sizeof newer);
    newer.t.structsize = sizeof newer;
    newer.t.name = "newer";
    newer.t.getbuffer = noop_getbuffer;
    /* Zero unknown tail: accepted, and works. */
    CHECK_OK(xbuf_object_new(&newer.t, NULL, &obj));
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_SIMPLE));
    CHECK_EQ(*(char *)v.buf, 7);
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_decref(obj));
    /* Non-zero unknown tail: the type uses slots this library cannot honour. */
    newer.future_slot2 = (void *)(uintptr_t)1; /* little-endian: byte 56 becomes 1 */
    CHECK_ERR(xbuf_object_new(&newer.t, NULL, &obj), XBUF_ERR_STRUCT_TOO_NEW, "byte 56 is not zero");
    CHECK(obj == NULL);
    /* Older than the first published size: rejected. */
    newer.t.structsize = XBUF_TYPE_SIZE_MIN - 1;
    CHECK_ERR(xbuf_object_new(&newer.t, NULL, &obj), XBUF_ERR_STRUCT_TOO_OLD, "smallest published size is 48");
    newer.t.structsize = 0;
    CHECK_ERR(xbuf_object_new(&newer.t, NULL, &obj), XBUF_ERR_STRUCT_TOO_OLD, "structsize is 0");
}

XBUF_TEST_MAIN(XT_CASE(test_published_sizes), XT_CASE(test_older_shorter_view),
               XT_CASE(test_sizes_between_min_and_full), XT_CASE(test_newer_longer_view),
               XT_CASE(test_too_small_view_rejected), XT_CASE(test_type_struct_sizes))
