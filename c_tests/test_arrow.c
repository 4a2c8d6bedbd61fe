/*
 * The Arrow C Data Interface: xbuf_arrow_export and xbuf_arrow_import with hand-built structs.
 * Every type mapping, the tensor extension both ways (with a permutation), the binary fallback
 * with its format metadata, move semantics, and every refusal with its ownership rule (what
 * was released, and how often, counted).
 */
#include <pthread.h>

#include "../tests/c/arrow/arrow_c_data.h"
#include "xbuf_test.h"

/* ---- metadata ------------------------------------------------------------------------- */

static int32_t read_i32(const char **p) {
    int32_t n;
    memcpy(&n, *p, 4);
    *p += 4;
    return n;
}

/* The value of `key` in a metadata blob, copied NUL-terminated into `out`; 0 if absent. */
static int meta_get(const char *meta, const char *key, char *out, size_t cap) {
    const char *p = meta;
    int32_t pairs, i;
    if (meta == NULL) return 0;
    pairs = read_i32(&p);
    for (i = 0; i < pairs; i++) {
        int32_t kn = read_i32(&p);
        const char *k = p;
        int32_t vn;
        p += kn;
        vn = read_i32(&p);
        if ((size_t)kn == strlen(key) && memcmp(k, key, (size_t)kn) == 0 && (size_t)vn < cap) {
            memcpy(out, p, (size_t)vn);
            out[vn] = '\0';
            return 1;
        }
        p += vn;
    }
    return 0;
}

/* Writes a metadata blob of `n` pairs into `out`; returns it. */
static const char *meta_make(char *out, int n, const char *const *kv) {
    char *p = out;
    int32_t len = n;
    int i;
    memcpy(p, &len, 4);
    p += 4;
    for (i = 0; i < 2 * n; i++) {
        len = (int32_t)strlen(kv[i]);
        memcpy(p, &len, 4);
        memcpy(p + 4, kv[i], (size_t)len);
        p += 4 + len;
    }
    return out;
}

/* ---- an exporter whose memory is freed by a counted destructor ------------------------ */

static int freed;
static void count_free(void *data, size_t len, void *ctx) {
    (void)len;
    (void)ctx;
    freed++;
    free(data);
}

static xbuf_object *ndarray(const void *data, size_t len, const char *fmt, int ndim,
                            const ptrdiff_t *shape, const ptrdiff_t *strides, int flags) {
    xbuf_object *obj = NULL;
    CHECK_OK(xbuf_ndarray_new(data, len, fmt, ndim, shape, strides, 0, flags, &obj));
    return obj;
}

static const int32_t ints[24] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};

/* ---- export --------------------------------------------------------------------------- */

static void test_export_primitive_and_lifetime(void) {
    struct ArrowSchema s;
    struct ArrowArray a, moved;
    xbuf_object *obj, *view;
    int32_t *mem = malloc(sizeof ints);
    memcpy(mem, ints, sizeof ints);
    freed = 0;
    CHECK_OK(xbuf_wrap_new(mem, sizeof ints, 1, count_free, NULL, &obj));
    /* A cast of the 96 bytes to 24 int32, then the items 2..6. */
    CHECK_OK(xbuf_view_new(obj, XBUF_FULL_RO, &view));
    {
        xbuf_object *ints_view, *part;
        xbuf_range r = {2, 6, 1};
        CHECK_OK(xbuf_view_cast(view, "i", 0, NULL, &ints_view));
        CHECK_OK(xbuf_view_slice(ints_view, &r, 1, &part));
        CHECK_OK(xbuf_decref(ints_view));
        CHECK_OK(xbuf_decref(view));
        view = part;
    }
    CHECK_OK(xbuf_arrow_export(view, &s, &a));
    CHECK_STR(s.format, "i");
    CHECK(s.name == NULL);
    CHECK(s.metadata == NULL);
    CHECK_EQ(s.flags, ARROW_FLAG_NULLABLE);
    CHECK_EQ(s.n_children, 0);
    CHECK(s.dictionary == NULL);
    CHECK_EQ(a.length, 4);
    CHECK_EQ(a.null_count, 0);
    CHECK_EQ(a.offset, 0);
    CHECK_EQ(a.n_buffers, 2);
    CHECK_EQ(a.n_children, 0);
    CHECK(a.buffers[0] == NULL);
    CHECK(a.buffers[1] == (const void *)(mem + 2));
    s.release(&s);
    CHECK(s.release == NULL);
    /* The array holds one export: the object and its view may go, the memory stays. */
    CHECK_EQ(xbuf_exports(obj), 2);
    CHECK_OK(xbuf_decref(view));
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(freed, 0);
    CHECK_EQ(((const int32_t *)a.buffers[1])[3], 5);
    /* Move semantics: the bytes move, the source is marked released. */
    moved = a;
    a.release = NULL;
    CHECK_EQ(freed, 0);
    moved.release(&moved);
    CHECK(moved.release == NULL);
    CHECK_EQ(freed, 1);

    /* A 0-d view: an array of one item. */
    {
        double d = 2.5;
        xbuf_object *scalar = ndarray(&d, sizeof d, "d", 0, NULL, NULL, 0);
        CHECK_OK(xbuf_arrow_export(scalar, &s, &a));
        CHECK_STR(s.format, "g");
        CHECK_EQ(a.length, 1);
        CHECK(*(const double *)a.buffers[1] == 2.5);
        a.release(&a);
        s.release(&s);
        CHECK_EQ(xbuf_exports(scalar), 0);
        CHECK_OK(xbuf_decref(scalar));
    }
}

static void test_export_formats(void) {
    static const struct {
        const char *format;
        const char *arrow;
    } table[] = {
        {"b", "c"},  {"B", "C"},  {"h", "s"},  {"H", "S"},  {"i", "i"},  {"I", "I"},
        {"q", "l"},  {"Q", "L"},  {"=l", "i"}, {"e", "e"},  {"f", "f"},  {"d", "g"},
        {"<d", "g"}, {"@q", "l"}, {">b", "c"}, {"?", "c"},  {">i", "w:4"}, {"g", "w:16"},
        {"Zf", "w:8"}, {"T{i:a:h:b:}", "w:8"}, {"2h", "w:4"}, {"c", "w:1"}, {"3s", "w:3"},
    };
    unsigned char data[64] = {0};
    size_t i;
    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        struct ArrowSchema s;
        struct ArrowArray a;
        char meta[64];
        ptrdiff_t itemsize = 0;
        ptrdiff_t shape[1];
        xbuf_object *obj;
        CHECK_OK(xbuf_size_from_format(table[i].format, &itemsize));
        shape[0] = 32 / itemsize;
        obj = ndarray(data, sizeof data, table[i].format, 1, shape, NULL, 0);
        CHECK_OK(xbuf_arrow_export(obj, &s, &a));
        CHECK_STR(s.format, table[i].arrow);
        CHECK_EQ(a.length, shape[0]);
        if (table[i].arrow[0] == 'w') {
            CHECK(meta_get(s.metadata, "xbuf:format", meta, sizeof meta));
            CHECK_STR(meta, table[i].format);
        } else if (strcmp(table[i].format, "?") == 0) {
            CHECK(meta_get(s.metadata, "ARROW:extension:name", meta, sizeof meta));
            CHECK_STR(meta, "arrow.bool8");
            CHECK(meta_get(s.metadata, "ARROW:extension:metadata", meta, sizeof meta));
            CHECK_STR(meta, "");
        } else {
            CHECK(s.metadata == NULL);
        }
        a.release(&a);
        s.release(&s);
        CHECK_EQ(xbuf_exports(obj), 0);
        CHECK_OK(xbuf_decref(obj));
    }
}

static void test_export_tensor(void) {
    struct ArrowSchema s;
    struct ArrowArray a, child;
    char meta[128];
    /* 2 tensors of 3x4, C order. */
    ptrdiff_t shape[3] = {2, 3, 4};
    /* Each tensor in Fortran order: logical (3, 4), physical (4, 3). */
    ptrdiff_t fstrides[3] = {48, 4, 12};
    xbuf_object *obj = ndarray(ints, sizeof ints, "i", 3, shape, NULL, 0);
    CHECK_OK(xbuf_arrow_export(obj, &s, &a));
    CHECK_STR(s.format, "+w:12");
    CHECK(meta_get(s.metadata, "ARROW:extension:name", meta, sizeof meta));
    CHECK_STR(meta, "arrow.fixed_shape_tensor");
    CHECK(meta_get(s.metadata, "ARROW:extension:metadata", meta, sizeof meta));
    CHECK_STR(meta, "{\"shape\":[3,4]}");
    CHECK_EQ(s.n_children, 1);
    CHECK_STR(s.children[0]->format, "i");
    CHECK_STR(s.children[0]->name, "item");
    CHECK_EQ(a.length, 2);
    CHECK_EQ(a.n_buffers, 1);
    CHECK(a.buffers[0] == NULL);
    CHECK_EQ(a.n_children, 1);
    CHECK_EQ(a.children[0]->length, 24);
    CHECK_EQ(a.children[0]->n_buffers, 2);
    CHECK_EQ(((const int32_t *)a.children[0]->buffers[1])[23], 23);
    /* The consumer moves the child out, releases the parent, then the child. */
    child = *a.children[0];
    a.children[0]->release = NULL;
    a.release(&a);
    CHECK(a.release == NULL);
    CHECK_EQ(xbuf_exports(obj), 1);
    child.release(&child);
    CHECK_EQ(xbuf_exports(obj), 0);
    s.release(&s);
    CHECK(s.release == NULL);
    CHECK_OK(xbuf_decref(obj));

    obj = ndarray(ints, sizeof ints, "i", 3, shape, fstrides, 0);
    CHECK_OK(xbuf_arrow_export(obj, &s, &a));
    CHECK(meta_get(s.metadata, "ARROW:extension:metadata", meta, sizeof meta));
    CHECK_STR(meta, "{\"shape\":[4,3],\"permutation\":[1,0]}");
    /* Released in the usual order: the parent releases the child too. */
    a.release(&a);
    s.release(&s);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static void test_export_refusals(void) {
    struct ArrowSchema s;
    struct ArrowArray a;
    ptrdiff_t shape1[1] = {6}, step2[1] = {8};
    ptrdiff_t shape2[2] = {2, 3}, fortran[2] = {4, 8}, gaps[2] = {16, 4};
    xbuf_object *obj;

    obj = ndarray(ints, sizeof ints, "i", 1, shape1, step2, 0);
    memset(&s, 0x5a, sizeof s);
    memset(&a, 0x5a, sizeof a);
    CHECK_ERR(xbuf_arrow_export(obj, &s, &a), XBUF_ERR_NOT_CONTIGUOUS, "8 bytes apart");
    CHECK(s.release == NULL && a.release == NULL && s.format == NULL && a.buffers == NULL);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));

    obj = ndarray(ints, sizeof ints, "i", 2, shape2, fortran, 0);
    CHECK_ERR(xbuf_arrow_export(obj, &s, &a), XBUF_ERR_NOT_CONTIGUOUS, "axis 0 is not the outermost");
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));

    obj = ndarray(ints, sizeof ints, "i", 2, shape2, gaps, 0);
    CHECK_ERR(xbuf_arrow_export(obj, &s, &a), XBUF_ERR_NOT_CONTIGUOUS, "not contiguous in any order");
    CHECK_OK(xbuf_decref(obj));

    obj = ndarray(ints, sizeof ints, "i", 2, shape2, NULL, XBUF_NDARRAY_PIL);
    CHECK_ERR(xbuf_arrow_export(obj, &s, &a), XBUF_ERR_NOT_CONTIGUOUS, "suboffsets");
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_ERR(xbuf_arrow_export(NULL, &s, &a), XBUF_ERR_NULL_ARGUMENT, "obj");
    CHECK_ERR(xbuf_arrow_export(obj, NULL, &a), XBUF_ERR_NULL_ARGUMENT, "schema");
    CHECK_ERR(xbuf_arrow_export(obj, &s, NULL), XBUF_ERR_NULL_ARGUMENT, "array");
    CHECK_ERR(xbuf_arrow_export(obj, &s, (struct ArrowArray *)(void *)&s),
              XBUF_ERR_INVALID_ARGUMENT, "same address");
    CHECK_ERR(xbuf_arrow_export((xbuf_object *)(void *)&a, &s, &a), XBUF_ERR_INVALID_ARGUMENT,
              "not a live xbuf object");
    CHECK_OK(xbuf_decref(obj));
}

/* ---- import --------------------------------------------------------------------------- */

static int array_releases, schema_releases;
static void release_array(struct ArrowArray *a) {
    array_releases++;
    a->release = NULL;
}
static void release_schema(struct ArrowSchema *s) {
    schema_releases++;
    s->release = NULL;
}

static struct ArrowSchema make_schema(const char *format, const char *metadata) {
    struct ArrowSchema s;
    memset(&s, 0, sizeof s);
    s.format = format;
    s.metadata = metadata;
    s.flags = ARROW_FLAG_NULLABLE;
    s.release = release_schema;
    return s;
}

static struct ArrowArray make_array(int64_t length, int64_t offset, const void **buffers) {
    struct ArrowArray a;
    memset(&a, 0, sizeof a);
    a.length = length;
    a.offset = offset;
    a.n_buffers = 2;
    a.buffers = buffers;
    a.release = release_array;
    return a;
}

/* The view of an imported object, for its layout. */
static void check_layout(xbuf_object *obj, const char *format, int ndim, const ptrdiff_t *shape,
                         const ptrdiff_t *strides, const void *buf) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    int d;
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK_STR(v.format, format);
    CHECK_EQ(v.ndim, ndim);
    CHECK_EQ(v.readonly, 1);
    CHECK(v.buf == buf);
    for (d = 0; d < ndim && d < v.ndim; d++) {
        CHECK_EQ(v.shape[d], shape[d]);
        CHECK_EQ(v.strides[d], strides[d]);
    }
    CHECK_OK(xbuf_release(&v));
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_FULL), XBUF_ERR_READONLY, "");
}

static void test_import_primitives(void) {
    static const struct {
        const char *arrow;
        const char *format;
        ptrdiff_t size;
    } table[] = {{"c", "b", 1}, {"C", "B", 1}, {"s", "h", 2}, {"S", "H", 2},
                 {"i", "i", 4}, {"I", "I", 4}, {"l", "q", 8}, {"L", "Q", 8},
                 {"e", "e", 2}, {"f", "f", 4}, {"g", "d", 8}, {"w:3", "3s", 3}};
    size_t i;
    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        const void *buffers[2] = {NULL, ints};
        struct ArrowSchema s = make_schema(table[i].arrow, NULL);
        struct ArrowArray a = make_array(4, 3, buffers);
        xbuf_object *obj = NULL;
        ptrdiff_t shape[1] = {4}, strides[1];
        strides[0] = table[i].size;
        array_releases = 0;
        CHECK_OK(xbuf_arrow_import(&s, &a, &obj));
        CHECK(a.release == NULL);
        CHECK(s.release != NULL);
        check_layout(obj, table[i].format, 1, shape, strides,
                     (const char *)ints + 3 * table[i].size);
        CHECK_EQ(array_releases, 0);
        CHECK_OK(xbuf_decref(obj));
        CHECK_EQ(array_releases, 1);
    }
    CHECK_EQ(schema_releases, 0);
}

static void test_import_extensions_and_lists(void) {
    const void *buffers[2] = {NULL, ints};
    const void *list_buffers[1] = {NULL};
    char meta[256];
    const char *bool8[] = {"ARROW:extension:name", "arrow.bool8", "ARROW:extension:metadata", ""};
    const char *fmt[] = {"xbuf:format", "T{<i:a:<h:b:}2x"};
    /* Physical (4, 5, 3)... of 60 items would need more data: use physical (2, 3, 2). */
    const char *tensor[] = {"ARROW:extension:name", "arrow.fixed_shape_tensor",
                            "ARROW:extension:metadata",
                            "{\"shape\": [2, 3, 2], \"permutation\": [2, 0, 1], \"dim_names\": [\"x\", \"y\", \"z\"]}"};
    struct ArrowSchema s, cs, *schildren[1];
    struct ArrowArray a, ca, *achildren[1];
    xbuf_object *obj = NULL;
    array_releases = 0;

    s = make_schema("c", meta_make(meta, 2, bool8));
    a = make_array(5, 0, buffers);
    CHECK_OK(xbuf_arrow_import(&s, &a, &obj));
    {
        ptrdiff_t shape[1] = {5}, strides[1] = {1};
        check_layout(obj, "?", 1, shape, strides, ints);
    }
    CHECK_OK(xbuf_decref(obj));

    {
        const char *other[] = {"ARROW:extension:name", "example.unknown",
                                "ARROW:extension:metadata", "anything"};
        ptrdiff_t shape[1] = {2}, strides[1] = {2};
        s = make_schema("S", meta_make(meta, 2, other));
        a = make_array(2, 0, buffers);
        CHECK_OK(xbuf_arrow_import(&s, &a, &obj));
        check_layout(obj, "H", 1, shape, strides, ints);
        CHECK_OK(xbuf_decref(obj));
    }
    s = make_schema("w:8", meta_make(meta, 1, fmt));
    a = make_array(3, 1, buffers);
    CHECK_OK(xbuf_arrow_import(&s, &a, &obj));
    {
        ptrdiff_t shape[1] = {3}, strides[1] = {8};
        check_layout(obj, "T{<i:a:<h:b:}2x", 1, shape, strides, (const char *)ints + 8);
    }
    CHECK_OK(xbuf_decref(obj));

    /* A plain fixed-size list of fixed-size lists: (length, 2, 3) of int16, child offsets. */
    {
        struct ArrowSchema gs, *gchildren[1];
        struct ArrowArray ga, *gachildren[1];
        ptrdiff_t shape[3] = {2, 2, 3}, strides[3] = {12, 6, 2};
        gs = make_schema("s", NULL);
        cs = make_schema("+w:3", NULL);
        gchildren[0] = &gs;
        cs.n_children = 1;
        cs.children = gchildren;
        s = make_schema("+w:2", NULL);
        schildren[0] = &cs;
        s.n_children = 1;
        s.children = schildren;
        /* Top: offset 1, length 2 → lists 1..3 → child slots 2..6 (+ child offset 1 → 3..7)
         * → grandchild items 9..21 (+ offset 2 → 11..23). */
        ga = make_array(21, 2, buffers);
        ca = make_array(6, 1, list_buffers);
        ca.n_buffers = 1;
        ca.n_children = 1;
        gachildren[0] = &ga;
        ca.children = gachildren;
        a = make_array(2, 1, list_buffers);
        a.n_buffers = 1;
        a.n_children = 1;
        achildren[0] = &ca;
        a.children = achildren;
        CHECK_OK(xbuf_arrow_import(&s, &a, &obj));
        check_layout(obj, "h", 3, shape, strides, (const int16_t *)(const void *)ints + 11);
        CHECK_OK(xbuf_decref(obj));
        /* One slot short in the grandchild. */
        ga = make_array(20, 2, buffers);
        a.release = release_array;
        CHECK_ERR(xbuf_arrow_import(&s, &a, &obj), XBUF_ERR_INVALID_ARGUMENT, "fewer than the 21");
        CHECK(a.release != NULL);
        a.release = NULL;
    }

    /* The tensor extension with a three-cycle permutation: physical (2, 3, 2), logical axis i
     * is physical axis permutation[i] → logical shape (2, 2, 3), strides from the physical
     * row-major strides (24, 8, 4) → (4, 24, 8). */
    {
        ptrdiff_t shape[4] = {2, 2, 2, 3}, strides[4] = {48, 4, 24, 8};
        cs = make_schema("i", NULL);
        s = make_schema("+w:12", meta_make(meta, 2, tensor));
        schildren[0] = &cs;
        s.n_children = 1;
        s.children = schildren;
        ca = make_array(24, 0, buffers);
        a = make_array(2, 0, list_buffers);
        a.n_buffers = 1;
        a.n_children = 1;
        achildren[0] = &ca;
        a.children = achildren;
        CHECK_OK(xbuf_arrow_import(&s, &a, &obj));
        check_layout(obj, "i", 4, shape, strides, ints);
        {
            /* Element [1][1][0][2]: physical index (0, 2, 1) of tensor 1 → 12 + 0*6 + 2*2 + 1. */
            ptrdiff_t idx[4] = {1, 1, 0, 2};
            xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
            void *p = NULL;
            CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
            CHECK_OK(xbuf_get_pointer(&v, idx, &p));
            CHECK_EQ(*(const int32_t *)p, 17);
            CHECK_OK(xbuf_release(&v));
        }
        CHECK_OK(xbuf_decref(obj));
    }
    CHECK_EQ(array_releases, 5);
    CHECK_EQ(schema_releases, 0);
}

/* Each refusal: the status, a word of the message, and the array untouched (not released,
 * release still set). */
static void expect_refused(struct ArrowSchema *s, struct ArrowArray *a, int flags, int status,
                           const char *needle) {
    struct ArrowArray before = *a;
    xbuf_object *obj = (xbuf_object *)(void *)s;
    int releases = array_releases;
    CHECK_ERR(xbuf_arrow_import_flags(s, a, flags, &obj), status, needle);
    CHECK(obj == NULL);
    CHECK(memcmp(&before, a, sizeof before) == 0);
    CHECK_EQ(array_releases, releases);
}

static void test_import_refusals(void) {
    const void *buffers[2] = {NULL, ints};
    unsigned char validity[1] = {0xF7}; /* slot 3 null */
    const void *vbuffers[2] = {validity, ints};
    const void *nodata[2] = {NULL, NULL};
    const void *list_buffers[1] = {NULL};
    char meta[256];
    struct ArrowSchema s, cs, dict, *schildren[1];
    struct ArrowArray a, ca, *achildren[1];
    xbuf_object *obj = NULL;
    const char *badfmt[] = {"xbuf:format", "<q"};
    const char *badperm[] = {"ARROW:extension:name", "arrow.fixed_shape_tensor",
                             "ARROW:extension:metadata", "{\"shape\":[3,4],\"permutation\":[0,0]}"};
    const char *badshape[] = {"ARROW:extension:name", "arrow.fixed_shape_tensor",
                              "ARROW:extension:metadata", "{\"shape\":[5,2]}"};
    static const struct {
        const char *format;
        int status;
        const char *needle;
    } types[] = {
        {"b", XBUF_ERR_UNSUPPORTED, "bit-packed"},   {"u", XBUF_ERR_UNSUPPORTED, "variable-length"},
        {"z", XBUF_ERR_UNSUPPORTED, "variable-length"}, {"+l", XBUF_ERR_UNSUPPORTED, "variable-length"},
        {"vu", XBUF_ERR_UNSUPPORTED, "variable-length"}, {"tdD", XBUF_ERR_UNSUPPORTED, "'tdD'"},
        {"n", XBUF_ERR_UNSUPPORTED, "'n'"},           {"d:10,2", XBUF_ERR_UNSUPPORTED, "'d:10,2'"},
        {"+s", XBUF_ERR_UNSUPPORTED, "'+s'"},         {"w:0", XBUF_ERR_UNSUPPORTED, "w:0"},
        {"w:", XBUF_ERR_INVALID_ARGUMENT, "no valid size"}, {"w:x", XBUF_ERR_INVALID_ARGUMENT, "no valid size"},
        {"+w:2", XBUF_ERR_INVALID_ARGUMENT, "children"},
    };
    size_t i;
    array_releases = 0;
    schema_releases = 0;

    a = make_array(4, 0, buffers);
    for (i = 0; i < sizeof types / sizeof types[0]; i++) {
        s = make_schema(types[i].format, NULL);
        expect_refused(&s, &a, 0, types[i].status, types[i].needle);
    }
    /* Dictionary-encoded. */
    s = make_schema("i", NULL);
    dict = make_schema("u", NULL);
    s.dictionary = &dict;
    expect_refused(&s, &a, 0, XBUF_ERR_UNSUPPORTED, "dictionary");
    /* Released schema or array. */
    s = make_schema("i", NULL);
    s.release = NULL;
    expect_refused(&s, &a, 0, XBUF_ERR_RELEASED, "ArrowSchema is released");
    s = make_schema("i", NULL);
    a.release = NULL;
    expect_refused(&s, &a, 0, XBUF_ERR_RELEASED, "ArrowArray is released");
    a.release = release_array;
    /* Structure. */
    a.n_buffers = 3;
    expect_refused(&s, &a, 0, XBUF_ERR_INVALID_ARGUMENT, "3 buffers");
    a.n_buffers = 2;
    a.length = -1;
    expect_refused(&s, &a, 0, XBUF_ERR_INVALID_ARGUMENT, "length -1");
    a.length = 4;
    a.buffers = nodata;
    expect_refused(&s, &a, 0, XBUF_ERR_INVALID_ARGUMENT, "data buffer is NULL");
    a.buffers = buffers;
    expect_refused(&s, &a, 2, XBUF_ERR_INVALID_ARGUMENT, "unknown bits");
    /* Nulls: counted, or read from the bitmap when the count is unknown. */
    a.buffers = vbuffers;
    a.null_count = 1;
    expect_refused(&s, &a, 0, XBUF_ERR_INVALID_ARGUMENT, "XBUF_ARROW_IGNORE_VALIDITY");
    a.null_count = -1;
    expect_refused(&s, &a, 0, XBUF_ERR_INVALID_ARGUMENT, "1 null slot");
    a.buffers = buffers;
    a.null_count = 2;
    expect_refused(&s, &a, 0, XBUF_ERR_INVALID_ARGUMENT, "no validity bitmap");
    /* Bad format metadata for a fixed-size binary. */
    s = make_schema("w:4", meta_make(meta, 1, badfmt));
    a.null_count = 0;
    expect_refused(&s, &a, 0, XBUF_ERR_FORMAT, "item size 8");
    /* Tensors: a bad permutation, a shape that does not match the list size. */
    cs = make_schema("i", NULL);
    schildren[0] = &cs;
    s = make_schema("+w:12", meta_make(meta, 2, badperm));
    s.n_children = 1;
    s.children = schildren;
    ca = make_array(24, 0, buffers);
    achildren[0] = &ca;
    a = make_array(2, 0, list_buffers);
    a.n_buffers = 1;
    a.n_children = 1;
    a.children = achildren;
    expect_refused(&s, &a, 0, XBUF_ERR_INVALID_ARGUMENT, "not a permutation");
    s.metadata = meta_make(meta, 2, badshape);
    expect_refused(&s, &a, 0, XBUF_ERR_INVALID_ARGUMENT, "has 10 items");
    /* A child with nulls; a released child. */
    s.metadata = NULL;
    ca.buffers = vbuffers;
    ca.null_count = 1;
    expect_refused(&s, &a, 0, XBUF_ERR_INVALID_ARGUMENT, "child array at depth 1 has 1 null");
    ca.null_count = 0;
    ca.release = NULL;
    expect_refused(&s, &a, 0, XBUF_ERR_RELEASED, "child array at depth 1 is released");
    ca.release = release_array;
    /* A NULL child array, a NULL child schema, malformed tensor metadata. */
    achildren[0] = NULL;
    expect_refused(&s, &a, 0, XBUF_ERR_INVALID_ARGUMENT, "NULL child");
    achildren[0] = &ca;
    schildren[0] = NULL;
    expect_refused(&s, &a, 0, XBUF_ERR_INVALID_ARGUMENT, "NULL child schema");
    schildren[0] = &cs;
    {
        const char *bad_json[] = {"ARROW:extension:name", "arrow.fixed_shape_tensor",
                                  "ARROW:extension:metadata", "{\"shape\": [3, 4"};
        s.metadata = meta_make(meta, 2, bad_json);
        expect_refused(&s, &a, 0, XBUF_ERR_INVALID_ARGUMENT, "metadata is not valid");
        s.metadata = NULL;
    }
    /* An array with a dictionary its schema does not have; NULL buffers. */
    {
        struct ArrowArray d = make_array(1, 0, buffers);
        struct ArrowSchema ps = make_schema("i", NULL);
        struct ArrowArray pa_ = make_array(4, 0, buffers);
        pa_.dictionary = &d;
        expect_refused(&ps, &pa_, 0, XBUF_ERR_INVALID_ARGUMENT, "dictionary its schema");
        pa_.dictionary = NULL;
        pa_.buffers = NULL;
        expect_refused(&ps, &pa_, 0, XBUF_ERR_INVALID_ARGUMENT, "NULL buffers");
    }
    /* NULL arguments. */
    CHECK_ERR(xbuf_arrow_import(NULL, &a, &obj), XBUF_ERR_NULL_ARGUMENT, "schema");
    CHECK_ERR(xbuf_arrow_import(&s, NULL, &obj), XBUF_ERR_NULL_ARGUMENT, "array");
    CHECK_ERR(xbuf_arrow_import(&s, &a, NULL), XBUF_ERR_NULL_ARGUMENT, "out");
    CHECK_ERR(xbuf_arrow_import(&s, (struct ArrowArray *)(void *)&s, &obj), XBUF_ERR_INVALID_ARGUMENT,
              "same address");
    CHECK(a.release != NULL);
    CHECK_EQ(array_releases, 0);
    CHECK_EQ(schema_releases, 0);

    /* With XBUF_ARROW_IGNORE_VALIDITY the null slots are read as they lie. */
    s = make_schema("i", NULL);
    a = make_array(4, 0, vbuffers);
    a.null_count = 1;
    CHECK_OK(xbuf_arrow_import_flags(&s, &a, XBUF_ARROW_IGNORE_VALIDITY, &obj));
    CHECK(a.release == NULL);
    {
        xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
        CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
        CHECK_EQ(((const int32_t *)v.buf)[3], 3);
        /* The release waits for the last view. */
        CHECK_OK(xbuf_decref(obj));
        CHECK_EQ(array_releases, 0);
        CHECK_OK(xbuf_release(&v));
        CHECK_EQ(array_releases, 1);
    }
}


/* ---- hostile sizes, empty arrays, threads ---------------------------------------------- */

static void test_import_sizes_and_depth(void) {
    const void *buffers[2] = {NULL, ints};
    const void *nodata[2] = {NULL, NULL};
    const void *list_buffers[1] = {NULL};
    struct ArrowSchema s, levels[70], *links[70];
    struct ArrowArray a;
    xbuf_object *obj = NULL;
    char meta[256];
    const char *huge[] = {"ARROW:extension:name", "arrow.fixed_shape_tensor",
                          "ARROW:extension:metadata",
                          "{\"shape\":[4294967296,4294967296,4294967296]}"};
    const char *negative = "\xff\xff\xff\xff";
    int i;
    array_releases = 0;

    /* 2^40 items of 2^31 - 1 bytes: the byte size overflows. */
    s = make_schema("w:2147483647", NULL);
    a = make_array(INT64_C(1) << 40, 0, buffers);
    expect_refused(&s, &a, 0, XBUF_ERR_OVERFLOW, "byte size");
    s = make_schema("i", NULL);
    a = make_array(4, INT64_MAX, buffers);
    expect_refused(&s, &a, 0, XBUF_ERR_OVERFLOW, "");
    /* A tensor shape whose item count overflows. */
    s = make_schema("+w:8", meta_make(meta, 2, huge));
    levels[0] = make_schema("i", NULL);
    links[0] = &levels[0];
    s.n_children = 1;
    s.children = links;
    a = make_array(1, 0, list_buffers);
    a.n_buffers = 1;
    expect_refused(&s, &a, 0, XBUF_ERR_OVERFLOW, "");
    /* Metadata with a negative count. */
    s = make_schema("i", negative);
    a = make_array(4, 0, buffers);
    expect_refused(&s, &a, 0, XBUF_ERR_INVALID_ARGUMENT, "negative length");
    /* 65 nested fixed-size lists: more dimensions than a view may have. */
    for (i = 0; i < 65; i++) {
        levels[i] = make_schema("+w:1", NULL);
        links[i] = &levels[i + 1];
        levels[i].n_children = 1;
        levels[i].children = &links[i];
    }
    levels[65] = make_schema("i", NULL);
    a = make_array(1, 0, list_buffers);
    a.n_buffers = 1;
    expect_refused(&levels[0], &a, 0, XBUF_ERR_UNSUPPORTED, "more than 64 dimensions");
    /* Empty arrays: a NULL data buffer is fine without items. */
    s = make_schema("g", NULL);
    a = make_array(0, 0, nodata);
    CHECK_OK(xbuf_arrow_import(&s, &a, &obj));
    {
        ptrdiff_t shape[1] = {0}, strides[1] = {8};
        check_layout(obj, "d", 1, shape, strides, NULL);
    }
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(array_releases, 1);
}

static void test_export_empty(void) {
    struct ArrowSchema s;
    struct ArrowArray a;
    ptrdiff_t shape1[1] = {0}, shape3[3] = {2, 0, 3};
    xbuf_object *obj = ndarray(NULL, 0, "i", 1, shape1, NULL, 0);
    CHECK_OK(xbuf_arrow_export(obj, &s, &a));
    CHECK_EQ(a.length, 0);
    CHECK(a.buffers[1] != NULL);
    a.release(&a);
    s.release(&s);
    CHECK_OK(xbuf_decref(obj));
    obj = ndarray(NULL, 0, "i", 3, shape3, NULL, 0);
    CHECK_OK(xbuf_arrow_export(obj, &s, &a));
    CHECK_STR(s.format, "+w:0");
    CHECK_EQ(a.length, 2);
    CHECK_EQ(a.children[0]->length, 0);
    a.release(&a);
    s.release(&s);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static struct ArrowArray thread_array;
static xbuf_object *thread_obj;
static void *release_elsewhere(void *arg) {
    (void)arg;
    if (thread_array.release) thread_array.release(&thread_array);
    if (thread_obj) xbuf_decref(thread_obj);
    return NULL;
}

/* The release callbacks and the last reference may be dropped on another thread. */
static void test_release_on_another_thread(void) {
    struct ArrowSchema s;
    struct ArrowArray a;
    const void *buffers[2] = {NULL, ints};
    pthread_t t;
    ptrdiff_t n[1] = {24};
    xbuf_object *obj = ndarray(ints, sizeof ints, "i", 1, n, NULL, 0);
    CHECK_OK(xbuf_arrow_export(obj, &s, &thread_array));
    s.release(&s);
    thread_obj = NULL;
    CHECK_EQ(pthread_create(&t, NULL, release_elsewhere, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK(thread_array.release == NULL);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));

    array_releases = 0;
    s = make_schema("i", NULL);
    a = make_array(24, 0, buffers);
    CHECK_OK(xbuf_arrow_import(&s, &a, &thread_obj));
    CHECK_EQ(pthread_create(&t, NULL, release_elsewhere, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_EQ(array_releases, 1);
    thread_obj = NULL;
}

/* ---- device memory: Arrow's C Data Interface is CPU memory -------------------------------- */

static int dev_gets, dev_releases;
static ptrdiff_t dev_shape[1] = {16};
static ptrdiff_t dev_strides[1] = {4};

/* Answers 16 floats on device 2 of kind 2 (CUDA in DLPack's codes) at an address that must
 * never be read. */
static int dev_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    (void)self;
    (void)flags;
    dev_gets++;
    view->buf = (void *)(uintptr_t)0x1000;
    view->len = 64;
    view->itemsize = 4;
    view->readonly = 1;
    view->ndim = 1;
    view->format = "f";
    view->shape = dev_shape;
    view->strides = dev_strides;
    view->device_type = 2;
    view->device_id = 2;
    view->internal = &dev_gets;
    return XBUF_OK;
}

static void dev_releasebuffer(xbuf_object *self, xbuf_bufferinfo *view) {
    (void)self;
    if (view != NULL && view->internal == &dev_gets) dev_releases++;
}

static void test_export_refuses_device_memory(void) {
    struct ArrowSchema s;
    struct ArrowArray a;
    xbuf_type t;
    xbuf_object *dev = NULL, *view = NULL;
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = "device";
    t.getbuffer = dev_getbuffer;
    t.releasebuffer = dev_releasebuffer;
    CHECK_OK(xbuf_object_new(&t, NULL, &dev));
    dev_gets = dev_releases = 0;
    /* The export asks without XBUF_DEVICE: the device answer is refused and handed back. */
    CHECK_ERR(xbuf_arrow_export(dev, &s, &a), XBUF_ERR_REQUEST, "XBUF_DEVICE");
    CHECK(s.release == NULL && a.release == NULL);
    CHECK_EQ(dev_gets, 1);
    CHECK_EQ(dev_releases, 1);
    CHECK_EQ(xbuf_exports(dev), 0);
    /* A view that keeps the device refuses the same way. */
    CHECK_OK(xbuf_view_new(dev, XBUF_FULL_RO | XBUF_DEVICE, &view));
    CHECK_ERR(xbuf_arrow_export(view, &s, &a), XBUF_ERR_REQUEST, "XBUF_DEVICE");
    CHECK(s.release == NULL && a.release == NULL);
    CHECK_EQ(xbuf_exports(view), 0);
    CHECK_OK(xbuf_decref(view));
    CHECK_EQ(xbuf_exports(dev), 0);
    CHECK_EQ(dev_releases, dev_gets);
    CHECK_OK(xbuf_decref(dev));
}

/* ---- round trips ---------------------------------------------------------------------- */

static void test_round_trip(void) {
    struct {
        char tag;
        double x;
    } recs[3] = {{'a', 1.5}, {'b', -2.0}, {'c', 4.25}};
    ptrdiff_t shape[1] = {3};
    ptrdiff_t shape3[3] = {2, 3, 4}, fstrides[3] = {48, 4, 12};
    struct ArrowSchema s;
    struct ArrowArray a;
    xbuf_object *obj = ndarray(recs, sizeof recs, "T{c:tag:d:x:}", 1, shape, NULL, 0);
    xbuf_object *back = NULL;
    char text[128];
    size_t needed = 0;
    CHECK_OK(xbuf_arrow_export(obj, &s, &a));
    CHECK_OK(xbuf_decref(obj));
    CHECK_OK(xbuf_arrow_import(&s, &a, &back));
    s.release(&s);
    {
        xbuf_object *bv = NULL;
        CHECK_OK(xbuf_view_new(back, XBUF_FULL_RO, &bv));
        CHECK_OK(xbuf_view_tolist(bv, text, sizeof text, &needed));
        CHECK_OK(xbuf_decref(bv));
    }
    CHECK_STR(text, "[{\"tag\": \"a\", \"x\": 1.5}, {\"tag\": \"b\", \"x\": -2.0}, {\"tag\": \"c\", \"x\": 4.25}]");
    CHECK_OK(xbuf_decref(back));

    obj = ndarray(ints, sizeof ints, "i", 3, shape3, fstrides, 0);
    CHECK_OK(xbuf_arrow_export(obj, &s, &a));
    CHECK_OK(xbuf_arrow_import(&s, &a, &back));
    s.release(&s);
    {
        xbuf_object *x = NULL, *y = NULL;
        int equal = 0;
        CHECK_OK(xbuf_view_new(obj, XBUF_FULL_RO, &x));
        CHECK_OK(xbuf_view_new(back, XBUF_FULL_RO, &y));
        CHECK_OK(xbuf_view_equal(x, y, &equal));
        CHECK_EQ(equal, 1);
        {
            xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
            CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
            check_layout(back, "i", 3, shape3, fstrides, v.buf);
            CHECK_OK(xbuf_release(&v));
        }
        CHECK_OK(xbuf_decref(x));
        CHECK_OK(xbuf_decref(y));
    }
    CHECK_EQ(xbuf_exports(obj), 1);
    CHECK_OK(xbuf_decref(back));
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

XBUF_TEST_MAIN(XT_CASE(test_export_primitive_and_lifetime), XT_CASE(test_export_formats),
               XT_CASE(test_export_tensor), XT_CASE(test_export_refusals),
               XT_CASE(test_import_primitives), XT_CASE(test_import_extensions_and_lists),
               XT_CASE(test_import_refusals), XT_CASE(test_import_sizes_and_depth),
               XT_CASE(test_export_empty), XT_CASE(test_release_on_another_thread),
               XT_CASE(test_export_refuses_device_memory),
               XT_CASE(test_round_trip))
