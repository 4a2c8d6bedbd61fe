/*
 * DLPack both ways, with hand-built tensors and a real DLPack header: what an export holds and
 * hands back (deleters exactly once, from any thread), what an import reads (shape, strides,
 * byte_offset, read-only, formats), every refusal, and the ownership rules on failure (a
 * refused tensor is untouched and its deleter never called).
 */
#include <pthread.h>

#include "dlpack.h"
#include "xbuf_test.h"

/* ---- helpers --------------------------------------------------------------------------------- */

/* A destructor for wrapped memory that counts its calls. */
static void count_destructor(void *data, size_t len, void *ctx) {
    (void)data;
    (void)len;
    ++*(int *)ctx;
}

/* A hand-built producer's tensor with its own shape/strides storage and a counting deleter. */
typedef struct {
    DLManagedTensorVersioned t;
    DLManagedTensor legacy;
    int64_t shape[4];
    int64_t strides[4];
    int deleted;
} producer;

static void producer_delete(DLManagedTensorVersioned *t) {
    ((producer *)t->manager_ctx)->deleted++;
}

static void producer_delete_legacy(DLManagedTensor *t) {
    ((producer *)t->manager_ctx)->deleted++;
}

/* A 2x3 tensor of int32 over `data`, C order with explicit strides. */
static void producer_init(producer *p, void *data) {
    memset(p, 0, sizeof *p);
    p->shape[0] = 2;
    p->shape[1] = 3;
    p->strides[0] = 3;
    p->strides[1] = 1;
    p->t.version.major = 1;
    p->t.version.minor = 0;
    p->t.manager_ctx = p;
    p->t.deleter = producer_delete;
    p->t.flags = 0;
    p->t.dl_tensor.data = data;
    p->t.dl_tensor.device.device_type = kDLCPU;
    p->t.dl_tensor.device.device_id = 0;
    p->t.dl_tensor.ndim = 2;
    p->t.dl_tensor.dtype.code = kDLInt;
    p->t.dl_tensor.dtype.bits = 32;
    p->t.dl_tensor.dtype.lanes = 1;
    p->t.dl_tensor.shape = p->shape;
    p->t.dl_tensor.strides = p->strides;
    p->t.dl_tensor.byte_offset = 0;
    p->legacy.dl_tensor = p->t.dl_tensor;
    p->legacy.manager_ctx = p;
    p->legacy.deleter = producer_delete_legacy;
}

/* An int32 ndarray of shape {2, 3} holding 0..5, in `order`. */
static xbuf_object *int_matrix(char order) {
    int32_t data[6] = {0, 1, 2, 3, 4, 5};
    ptrdiff_t shape[2] = {2, 3};
    ptrdiff_t c_strides[2] = {12, 4};
    ptrdiff_t f_strides[2] = {4, 8};
    int32_t f_data[6] = {0, 3, 1, 4, 2, 5};
    xbuf_object *obj = NULL;
    if (order == 'F')
        CHECK_OK(xbuf_ndarray_new(f_data, sizeof f_data, "i", 2, shape, f_strides, 0, 0, &obj));
    else
        CHECK_OK(xbuf_ndarray_new(data, sizeof data, "i", 2, shape, c_strides, 0, 0, &obj));
    return obj;
}

/* ---- export ---------------------------------------------------------------------------------- */

static void test_export_describes_the_memory_and_holds_one_export(void) {
    int freed = 0;
    int32_t *mem = malloc(6 * sizeof(int32_t));
    xbuf_object *wrap = NULL, *view = NULL, *cast = NULL;
    ptrdiff_t shape[2] = {3, 2};
    DLManagedTensorVersioned *t = NULL;
    int i;
    for (i = 0; i < 6; i++) mem[i] = 10 * i;
    CHECK_OK(xbuf_wrap_new(mem, 6 * sizeof(int32_t), 0, count_destructor, &freed, &wrap));
    CHECK_OK(xbuf_view_new(wrap, XBUF_FULL_RO, &view));
    CHECK_OK(xbuf_view_cast(view, "i", 2, shape, &cast));
    CHECK_OK(xbuf_dlpack_export(cast, 0, &t));
    CHECK(t != NULL);
    if (t == NULL) return;
    CHECK_EQ(t->version.major, 1);
    CHECK_EQ(t->version.minor, 1);
    CHECK_EQ(t->flags, 0);
    CHECK(t->deleter != NULL);
    CHECK(t->dl_tensor.data == (void *)mem);
    CHECK_EQ(t->dl_tensor.device.device_type, kDLCPU);
    CHECK_EQ(t->dl_tensor.device.device_id, 0);
    CHECK_EQ(t->dl_tensor.ndim, 2);
    CHECK_EQ(t->dl_tensor.dtype.code, kDLInt);
    CHECK_EQ(t->dl_tensor.dtype.bits, 32);
    CHECK_EQ(t->dl_tensor.dtype.lanes, 1);
    CHECK_EQ(t->dl_tensor.shape[0], 3);
    CHECK_EQ(t->dl_tensor.shape[1], 2);
    CHECK_EQ(t->dl_tensor.strides[0], 2);
    CHECK_EQ(t->dl_tensor.strides[1], 1);
    CHECK_EQ(t->dl_tensor.byte_offset, 0);
    /* One export of the memory's owner (the wrap: views delegate to it). */
    CHECK_EQ(xbuf_exports(wrap), 3);
    /* Every object may go: the tensor keeps the memory. */
    CHECK_OK(xbuf_decref(cast));
    CHECK_OK(xbuf_decref(view));
    CHECK_OK(xbuf_decref(wrap));
    CHECK_EQ(freed, 0);
    CHECK_EQ(((int32_t *)t->dl_tensor.data)[5], 50);
    t->deleter(t);
    CHECK_EQ(freed, 1);
    free(mem);
}

static void test_export_layouts_and_formats(void) {
    static const struct {
        const char *fmt;
        ptrdiff_t itemsize;
        uint8_t code, bits;
    } cases[] = {
        {"b", 1, kDLInt, 8},     {"B", 1, kDLUInt, 8},     {"h", 2, kDLInt, 16},
        {"H", 2, kDLUInt, 16},   {"i", 4, kDLInt, 32},     {"I", 4, kDLUInt, 32},
        {"l", sizeof(long), kDLInt, 8 * sizeof(long)},      {"L", sizeof(long), kDLUInt, 8 * sizeof(long)},
        {"q", 8, kDLInt, 64},    {"Q", 8, kDLUInt, 64},    {"n", sizeof(size_t), kDLInt, 8 * sizeof(size_t)},
        {"N", sizeof(size_t), kDLUInt, 8 * sizeof(size_t)}, {"e", 2, kDLFloat, 16},
        {"f", 4, kDLFloat, 32},  {"d", 8, kDLFloat, 64},   {"Zf", 8, kDLComplex, 64},
        {"Zd", 16, kDLComplex, 128}, {"?", 1, kDLBool, 8}, {"=i", 4, kDLInt, 32},
        {"@d", 8, kDLFloat, 64},
    };
    size_t i;
    xbuf_object *f;
    DLManagedTensorVersioned *t = NULL;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ptrdiff_t shape[1] = {4};
        xbuf_object *obj = NULL;
        CHECK_OK(xbuf_ndarray_zeros(cases[i].fmt, 1, shape, 'C', 0, &obj));
        t = NULL;
        CHECK_OK(xbuf_dlpack_export(obj, 0, &t));
        if (t == NULL) continue;
        CHECK_EQ(t->dl_tensor.dtype.code, cases[i].code);
        CHECK_EQ(t->dl_tensor.dtype.bits, cases[i].bits);
        CHECK_EQ(t->dl_tensor.strides[0], 1);
        CHECK_EQ(xbuf_exports(obj), 1);
        t->deleter(t);
        CHECK_EQ(xbuf_exports(obj), 0);
        CHECK_OK(xbuf_decref(obj));
    }
    /* Fortran order: strides in items, as they are. */
    f = int_matrix('F');
    CHECK_OK(xbuf_dlpack_export(f, XBUF_F_CONTIGUOUS, &t));
    CHECK_EQ(t->dl_tensor.strides[0], 1);
    CHECK_EQ(t->dl_tensor.strides[1], 2);
    t->deleter(t);
    /* A request flag demands what it demands. */
    t = (DLManagedTensorVersioned *)1;
    CHECK_ERR(xbuf_dlpack_export(f, XBUF_C_CONTIGUOUS, &t), XBUF_ERR_NOT_CONTIGUOUS, "XBUF_C_CONTIGUOUS");
    CHECK(t == NULL);
    CHECK_EQ(xbuf_exports(f), 0);
    CHECK_OK(xbuf_decref(f));
}

static void test_export_zero_dimensions_and_negative_strides(void) {
    double x = 2.5;
    xbuf_object *obj = NULL, *view = NULL, *rev = NULL;
    DLManagedTensorVersioned *t = NULL;
    struct xbuf_range r = {XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, -1};
    ptrdiff_t shape[1] = {5};
    CHECK_OK(xbuf_ndarray_new(&x, sizeof x, "d", 0, NULL, NULL, 0, 0, &obj));
    CHECK_OK(xbuf_dlpack_export(obj, 0, &t));
    CHECK_EQ(t->dl_tensor.ndim, 0);
    CHECK_EQ(*(double *)t->dl_tensor.data, 2.5);
    t->deleter(t);
    CHECK_OK(xbuf_decref(obj));

    CHECK_OK(xbuf_ndarray_zeros("h", 1, shape, 'C', 0, &obj));
    CHECK_OK(xbuf_view_new(obj, XBUF_FULL_RO, &view));
    CHECK_OK(xbuf_view_slice(view, &r, 1, &rev));
    CHECK_OK(xbuf_dlpack_export(rev, 0, &t));
    CHECK_EQ(t->dl_tensor.strides[0], -1);
    CHECK_EQ(t->dl_tensor.shape[0], 5);
    t->deleter(t);
    CHECK_OK(xbuf_decref(rev));
    CHECK_OK(xbuf_decref(view));
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static void test_export_many_dimensions(void) {
    ptrdiff_t shape[12] = {1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 3};
    xbuf_object *obj = NULL;
    DLManagedTensorVersioned *t = NULL;
    int d;
    CHECK_OK(xbuf_ndarray_zeros("f", 12, shape, 'F', 0, &obj));
    CHECK_OK(xbuf_dlpack_export(obj, 0, &t));
    CHECK_EQ(t->dl_tensor.ndim, 12);
    for (d = 0; d < 12; d++) CHECK_EQ(t->dl_tensor.shape[d], shape[d]);
    CHECK_EQ(t->dl_tensor.strides[0], 1);
    CHECK_EQ(t->dl_tensor.strides[11], 32);
    t->deleter(t);
    CHECK_OK(xbuf_decref(obj));
}

static void test_export_read_only(void) {
    xbuf_object *b = NULL, *ba = NULL;
    DLManagedTensorVersioned *t = NULL;
    DLManagedTensor *u = NULL;
    CHECK_OK(xbuf_bytes_new("abcd", 4, &b));
    CHECK_OK(xbuf_bytearray_new("abcd", 4, &ba));
    CHECK_OK(xbuf_dlpack_export(b, 0, &t));
    CHECK_EQ(t->flags & DLPACK_FLAG_BITMASK_READ_ONLY, DLPACK_FLAG_BITMASK_READ_ONLY);
    CHECK_EQ(t->dl_tensor.dtype.code, kDLUInt);
    t->deleter(t);
    t = (DLManagedTensorVersioned *)1;
    CHECK_ERR(xbuf_dlpack_export(b, XBUF_WRITABLE, &t), XBUF_ERR_READONLY, "XBUF_WRITABLE");
    CHECK(t == NULL);
    CHECK_OK(xbuf_dlpack_export(ba, XBUF_WRITABLE, &t));
    CHECK_EQ(t->flags, 0);
    t->deleter(t);

    /* Legacy: read-only memory only with the flag that accepts the missing mark. */
    u = (DLManagedTensor *)1;
    CHECK_ERR(xbuf_dlpack_export_unversioned(b, 0, &u), XBUF_ERR_READONLY, "XBUF_DLPACK_UNMARKED_READONLY");
    CHECK(u == NULL);
    CHECK_EQ(xbuf_exports(b), 0);
    CHECK_OK(xbuf_dlpack_export_unversioned(b, XBUF_DLPACK_UNMARKED_READONLY, &u));
    CHECK(memcmp(u->dl_tensor.data, "abcd", 4) == 0);
    CHECK_EQ(xbuf_exports(b), 1);
    u->deleter(u);
    CHECK_EQ(xbuf_exports(b), 0);
    CHECK_OK(xbuf_dlpack_export_unversioned(ba, 0, &u));
    CHECK_EQ(u->dl_tensor.shape[0], 4);
    u->deleter(u);
    /* The legacy flag means nothing to the versioned export. */
    CHECK_ERR(xbuf_dlpack_export(b, XBUF_DLPACK_UNMARKED_READONLY, &t), XBUF_ERR_INVALID_ARGUMENT, "unknown bits");
    CHECK_EQ(xbuf_exports(b) + xbuf_exports(ba), 0);
    CHECK_OK(xbuf_decref(b));
    CHECK_OK(xbuf_decref(ba));
}

static void test_export_refusals_say_why_and_hold_nothing(void) {
    static const struct {
        const char *fmt;
        int status;
        const char *needle;
    } cases[] = {
        {"T{i:a:d:b:}", XBUF_ERR_FORMAT, "struct"},
        {"i:x:", XBUF_ERR_FORMAT, "named fields"},
        {"(2)i", XBUF_ERR_FORMAT, "sub-array"},
        {"g", XBUF_ERR_FORMAT, "long double"},
        {"Zg", XBUF_ERR_FORMAT, "long double"},
        {"2i", XBUF_ERR_FORMAT, "repeat count"},
        {"ii", XBUF_ERR_FORMAT, "only the integer codes"},
        {"c", XBUF_ERR_FORMAT, "only the integer codes"},
        {"4s", XBUF_ERR_FORMAT, "repeat count"},
        {"P", XBUF_ERR_FORMAT, "only the integer codes"},
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        {">i", XBUF_ERR_FORMAT, "non-native byte order"},
        {"!d", XBUF_ERR_FORMAT, "non-native byte order"},
#else
        {"<i", XBUF_ERR_FORMAT, "non-native byte order"},
#endif
    };
    size_t i;
    ptrdiff_t shape[1] = {2}, strides[1] = {5}, pil_shape[2] = {2, 2};
    unsigned char data[16] = {0};
    xbuf_object *obj = NULL;
    DLManagedTensorVersioned *t;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_OK(xbuf_ndarray_zeros(cases[i].fmt, 1, shape, 'C', 0, &obj));
        t = (DLManagedTensorVersioned *)1;
        CHECK_ERR(xbuf_dlpack_export(obj, 0, &t), cases[i].status, cases[i].needle);
        CHECK(t == NULL);
        CHECK_EQ(xbuf_exports(obj), 0);
        CHECK_EQ(xbuf_refcount(obj), 1);
        CHECK_OK(xbuf_decref(obj));
    }
    /* Strides that are not a multiple of the item size. */
    CHECK_OK(xbuf_ndarray_new(data, 9, "i", 1, shape, strides, 0, 0, &obj));
    CHECK_ERR(xbuf_dlpack_export(obj, 0, &t), XBUF_ERR_UNSUPPORTED, "not a multiple of the item size");
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
    /* Suboffsets. */
    CHECK_OK(xbuf_ndarray_zeros("i", 2, pil_shape, 'C', XBUF_NDARRAY_PIL, &obj));
    CHECK_ERR(xbuf_dlpack_export(obj, 0, &t), XBUF_ERR_UNSUPPORTED, "suboffsets");
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
    /* Bad arguments. */
    CHECK_OK(xbuf_ndarray_zeros("i", 1, shape, 'C', 0, &obj));
    CHECK_ERR(xbuf_dlpack_export(NULL, 0, &t), XBUF_ERR_NULL_ARGUMENT, "'obj'");
    CHECK_ERR(xbuf_dlpack_export(obj, 0, NULL), XBUF_ERR_NULL_ARGUMENT, "'out'");
    CHECK_ERR(xbuf_dlpack_export_unversioned(obj, 0, NULL), XBUF_ERR_NULL_ARGUMENT, "'out'");
    CHECK_ERR(xbuf_dlpack_export(obj, 0x40000, &t), XBUF_ERR_INVALID_ARGUMENT, "unknown bits");
    CHECK_ERR(xbuf_dlpack_export(obj, 0x20, &t), XBUF_ERR_INVALID_ARGUMENT, "without the rest");
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static void *delete_on_thread(void *t) {
    ((DLManagedTensorVersioned *)t)->deleter((DLManagedTensorVersioned *)t);
    return NULL;
}

static void test_deleters_run_on_other_threads(void) {
    enum { N = 8 };
    pthread_t th[N];
    DLManagedTensorVersioned *t[N];
    xbuf_object *obj = int_matrix('C');
    int i;
    for (i = 0; i < N; i++) CHECK_OK(xbuf_dlpack_export(obj, 0, &t[i]));
    CHECK_EQ(xbuf_exports(obj), N);
    for (i = 0; i < N; i++) CHECK_EQ(pthread_create(&th[i], NULL, delete_on_thread, t[i]), 0);
    for (i = 0; i < N; i++) pthread_join(th[i], NULL);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

/* ---- import ---------------------------------------------------------------------------------- */

static void test_import_reads_the_tensor_and_deletes_it_last(void) {
    int32_t data[8] = {-1, 0, 1, 2, 3, 4, 5, -1};
    producer p;
    xbuf_object *obj = (xbuf_object *)1, *v = NULL;
    xbuf_bufferinfo view = XBUF_BUFFERINFO_INIT;
    char text[64];
    producer_init(&p, data);
    p.t.dl_tensor.byte_offset = 4;
    CHECK_OK(xbuf_dlpack_import(&p.t, &obj));
    CHECK_STR(xbuf_object_type_name(obj), "dlpack");
    CHECK_OK(xbuf_get_buffer(obj, &view, XBUF_FULL));
    CHECK(view.buf == (void *)(data + 1));
    CHECK_EQ(view.readonly, 0);
    CHECK_STR(view.format, "i");
    CHECK_EQ(view.itemsize, 4);
    CHECK_EQ(view.ndim, 2);
    CHECK_EQ(view.shape[0], 2);
    CHECK_EQ(view.shape[1], 3);
    CHECK_EQ(view.strides[0], 12);
    CHECK_EQ(view.strides[1], 4);
    CHECK_EQ(view.len, 24);
    CHECK_EQ(view.device_type, kDLCPU);
    CHECK_EQ(view.device_id, 0);
    CHECK_OK(xbuf_view_new(obj, XBUF_FULL_RO, &v));
    CHECK_OK(xbuf_view_tolist(v, text, sizeof text, NULL));
    CHECK_STR(text, "[[0, 1, 2], [3, 4, 5]]");
    CHECK_OK(xbuf_decref(v));
    /* The object's last reference goes first; the view still reads the tensor. */
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(p.deleted, 0);
    CHECK_EQ(((int32_t *)view.buf)[5], 5);
    CHECK_OK(xbuf_release(&view));
    CHECK_EQ(p.deleted, 1);
}

static void test_import_flags_strides_and_formats(void) {
    int32_t data[6] = {0, 1, 2, 3, 4, 5};
    producer p;
    xbuf_object *obj = NULL, *v = NULL;
    xbuf_bufferinfo view = XBUF_BUFFERINFO_INIT;
    char text[64];
    static const struct {
        uint8_t code, bits;
        const char *fmt;
    } types[] = {
        {kDLInt, 8, "b"},       {kDLInt, 16, "h"},    {kDLInt, 32, "i"},    {kDLInt, 64, "q"},
        {kDLUInt, 8, "B"},      {kDLUInt, 16, "H"},   {kDLUInt, 32, "I"},   {kDLUInt, 64, "Q"},
        {kDLFloat, 16, "e"},    {kDLFloat, 32, "f"},  {kDLFloat, 64, "d"},  {kDLComplex, 64, "Zf"},
        {kDLComplex, 128, "Zd"}, {kDLBool, 8, "?"},
    };
    size_t i;

    /* Read-only flag: a read-only object. NULL strides: C order. */
    producer_init(&p, data);
    p.t.flags = DLPACK_FLAG_BITMASK_READ_ONLY | DLPACK_FLAG_BITMASK_IS_COPIED;
    p.t.dl_tensor.strides = NULL;
    CHECK_OK(xbuf_dlpack_import(&p.t, &obj));
    CHECK_ERR(xbuf_get_buffer(obj, &view, XBUF_FULL), XBUF_ERR_READONLY, "XBUF_WRITABLE");
    CHECK_OK(xbuf_get_buffer(obj, &view, XBUF_FULL_RO));
    CHECK_EQ(view.readonly, 1);
    CHECK_EQ(view.strides[0], 12);
    CHECK_EQ(view.strides[1], 4);
    CHECK_OK(xbuf_release(&view));
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(p.deleted, 1);

    /* Transposed strides. */
    producer_init(&p, data);
    p.shape[0] = 3;
    p.shape[1] = 2;
    p.strides[0] = 1;
    p.strides[1] = 3;
    CHECK_OK(xbuf_dlpack_import(&p.t, &obj));
    CHECK_OK(xbuf_view_new(obj, XBUF_FULL_RO, &v));
    CHECK_OK(xbuf_view_tolist(v, text, sizeof text, NULL));
    CHECK_STR(text, "[[0, 3], [1, 4], [2, 5]]");
    CHECK_OK(xbuf_decref(v));
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(p.deleted, 1);

    /* Every data type with a format; a later minor version; a NULL deleter. */
    for (i = 0; i < sizeof types / sizeof types[0]; i++) {
        producer_init(&p, data);
        p.t.version.minor = 7;
        p.t.dl_tensor.ndim = 1;
        p.shape[0] = 1;
        p.t.dl_tensor.dtype.code = types[i].code;
        p.t.dl_tensor.dtype.bits = types[i].bits;
        if (i == 0) p.t.deleter = NULL;
        CHECK_OK(xbuf_dlpack_import(&p.t, &obj));
        CHECK_OK(xbuf_get_buffer(obj, &view, XBUF_FULL_RO));
        CHECK_STR(view.format, types[i].fmt);
        CHECK_EQ(view.itemsize, types[i].bits / 8);
        CHECK_OK(xbuf_release(&view));
        CHECK_OK(xbuf_decref(obj));
        CHECK_EQ(p.deleted, i == 0 ? 0 : 1);
    }

    /* Empty tensors may have NULL data; zero dimensions need no shape. */
    producer_init(&p, NULL);
    p.shape[0] = 0;
    CHECK_OK(xbuf_dlpack_import(&p.t, &obj));
    CHECK_OK(xbuf_get_buffer(obj, &view, XBUF_FULL_RO));
    CHECK_EQ(view.len, 0);
    CHECK_OK(xbuf_release(&view));
    CHECK_OK(xbuf_decref(obj));
    producer_init(&p, data + 2);
    p.t.dl_tensor.ndim = 0;
    p.t.dl_tensor.shape = NULL;
    p.t.dl_tensor.strides = NULL;
    CHECK_OK(xbuf_dlpack_import(&p.t, &obj));
    CHECK_OK(xbuf_view_new(obj, XBUF_FULL_RO, &v));
    CHECK_OK(xbuf_view_tolist(v, text, sizeof text, NULL));
    CHECK_STR(text, "2");
    CHECK_OK(xbuf_decref(v));
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(p.deleted, 1);
}

static void test_import_unversioned_is_read_only(void) {
    int32_t data[6] = {0, 1, 2, 3, 4, 5};
    producer p;
    xbuf_object *obj = NULL;
    xbuf_bufferinfo view = XBUF_BUFFERINFO_INIT;
    producer_init(&p, data);
    CHECK_OK(xbuf_dlpack_import_unversioned(&p.legacy, &obj));
    CHECK_ERR(xbuf_get_buffer(obj, &view, XBUF_FULL), XBUF_ERR_READONLY, "read-only");
    CHECK_OK(xbuf_get_buffer(obj, &view, XBUF_FULL_RO));
    CHECK_EQ(view.readonly, 1);
    CHECK(view.buf == (void *)data);
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(p.deleted, 0);
    CHECK_OK(xbuf_release(&view));
    CHECK_EQ(p.deleted, 1);
}

/* A refused import leaves every byte of the tensor as it was and never calls the deleter. */
static void refused(producer *p, int status, const char *needle) {
    producer before;
    xbuf_object *obj = (xbuf_object *)1;
    memcpy(&before, p, sizeof before);
    CHECK_ERR(xbuf_dlpack_import(&p->t, &obj), status, needle);
    CHECK(obj == NULL);
    CHECK(memcmp(&before, p, sizeof before) == 0);
    CHECK_EQ(p->deleted, 0);
}

static void refused_legacy(producer *p, int status, const char *needle) {
    producer before;
    xbuf_object *obj = (xbuf_object *)1;
    p->legacy.dl_tensor = p->t.dl_tensor;
    memcpy(&before, p, sizeof before);
    CHECK_ERR(xbuf_dlpack_import_unversioned(&p->legacy, &obj), status, needle);
    CHECK(obj == NULL);
    CHECK(memcmp(&before, p, sizeof before) == 0);
    CHECK_EQ(p->deleted, 0);
}

static void test_import_refusals_leave_the_tensor_untouched(void) {
    int32_t data[6] = {0};
    producer p;
    xbuf_object *obj = NULL;
    static const int opaque_devices[] = {kDLOpenCL, kDLVulkan, kDLMetal, kDLWebGPU};
    static const int unknown_devices[] = {0, -3, 5, 6, kDLExtDev, 18, 1000};
    size_t i;

#define REFUSE(setup, status, needle)       \
    do {                                    \
        producer_init(&p, data);            \
        setup;                              \
        refused(&p, status, needle);        \
        refused_legacy(&p, status, needle); \
    } while (0)

    producer_init(&p, data);
    p.t.version.major = 2;
    refused(&p, XBUF_ERR_UNSUPPORTED, "version 2.0");
    p.t.version.major = 0;
    refused(&p, XBUF_ERR_UNSUPPORTED, "major version 1");

    REFUSE(p.t.dl_tensor.dtype.lanes = 4, XBUF_ERR_UNSUPPORTED, "4 lanes");
    REFUSE(p.t.dl_tensor.dtype.lanes = 0, XBUF_ERR_UNSUPPORTED, "0 lanes");
    REFUSE(p.t.dl_tensor.dtype.bits = 4, XBUF_ERR_UNSUPPORTED, "sub-byte");
    REFUSE((p.t.dl_tensor.dtype.code = kDLBool, p.t.dl_tensor.dtype.bits = 1), XBUF_ERR_UNSUPPORTED, "sub-byte");
    REFUSE((p.t.dl_tensor.dtype.code = kDLBfloat, p.t.dl_tensor.dtype.bits = 16), XBUF_ERR_UNSUPPORTED, "bfloat");
    REFUSE((p.t.dl_tensor.dtype.code = kDLOpaqueHandle, p.t.dl_tensor.dtype.bits = 64), XBUF_ERR_UNSUPPORTED,
           "opaque handle");
    REFUSE((p.t.dl_tensor.dtype.code = 10, p.t.dl_tensor.dtype.bits = 8), XBUF_ERR_UNSUPPORTED, "unknown");
    REFUSE(p.t.dl_tensor.dtype.bits = 128, XBUF_ERR_UNSUPPORTED, "no PEP 3118 format");
    REFUSE((p.t.dl_tensor.dtype.code = kDLFloat, p.t.dl_tensor.dtype.bits = 8), XBUF_ERR_UNSUPPORTED,
           "no PEP 3118 format");
    for (i = 0; i < sizeof opaque_devices / sizeof opaque_devices[0]; i++)
        REFUSE(p.t.dl_tensor.device.device_type = (DLDeviceType)opaque_devices[i], XBUF_ERR_UNSUPPORTED,
               "opaque handle");
    for (i = 0; i < sizeof unknown_devices / sizeof unknown_devices[0]; i++)
        REFUSE(p.t.dl_tensor.device.device_type = (DLDeviceType)unknown_devices[i], XBUF_ERR_UNSUPPORTED,
               "device type");
    REFUSE(p.t.dl_tensor.ndim = -1, XBUF_ERR_INVALID_ARGUMENT, "ndim is -1");
    REFUSE(p.t.dl_tensor.ndim = 65, XBUF_ERR_INVALID_ARGUMENT, "ndim is 65");
    REFUSE(p.t.dl_tensor.shape = NULL, XBUF_ERR_INVALID_ARGUMENT, "shape is NULL");
    REFUSE(p.shape[1] = -3, XBUF_ERR_INVALID_ARGUMENT, "shape[1] is -3");
    REFUSE(p.t.dl_tensor.data = NULL, XBUF_ERR_INVALID_ARGUMENT, "data is NULL");
    REFUSE(p.strides[0] = INT64_MAX / 2, XBUF_ERR_OVERFLOW, "strides[0]");
    REFUSE(p.shape[0] = INT64_MAX / 2, XBUF_ERR_OVERFLOW, "");
    REFUSE(p.t.dl_tensor.byte_offset = UINT64_MAX - 3, XBUF_ERR_OVERFLOW, "byte_offset");
    REFUSE((p.t.dl_tensor.data = (void *)(uintptr_t)(UINTPTR_MAX - 15)), XBUF_ERR_OVERFLOW, "");
#undef REFUSE

    producer_init(&p, data);
    CHECK_ERR(xbuf_dlpack_import(NULL, &obj), XBUF_ERR_NULL_ARGUMENT, "'t'");
    CHECK_ERR(xbuf_dlpack_import(&p.t, NULL), XBUF_ERR_NULL_ARGUMENT, "'out'");
    CHECK_ERR(xbuf_dlpack_import_unversioned(NULL, &obj), XBUF_ERR_NULL_ARGUMENT, "'t'");
    CHECK_ERR(xbuf_dlpack_import_unversioned(&p.legacy, NULL), XBUF_ERR_NULL_ARGUMENT, "'out'");
    CHECK_EQ(p.deleted, 0);
}

/* ---- both ways ------------------------------------------------------------------------------- */

static void test_round_trips(void) {
    xbuf_object *src = int_matrix('F'), *back = NULL, *a = NULL, *b = NULL;
    DLManagedTensorVersioned *t = NULL;
    DLManagedTensor *u = NULL;
    xbuf_bufferinfo view = XBUF_BUFFERINFO_INIT;
    int eq = 0;
    CHECK_OK(xbuf_dlpack_export(src, 0, &t));
    CHECK_OK(xbuf_dlpack_import(t, &back));
    CHECK_OK(xbuf_view_new(src, XBUF_FULL_RO, &a));
    CHECK_OK(xbuf_view_new(back, XBUF_FULL_RO, &b));
    CHECK_OK(xbuf_view_equal(a, b, &eq));
    CHECK_EQ(eq, 1);
    CHECK_OK(xbuf_get_buffer(back, &view, XBUF_FULL_RO));
    CHECK_EQ(view.strides[0], 4);
    CHECK_EQ(view.strides[1], 8);
    CHECK_EQ(view.readonly, 0);
    CHECK_OK(xbuf_release(&view));
    CHECK_OK(xbuf_decref(a));
    CHECK_OK(xbuf_decref(b));
    /* src's export is held by the tensor, which `back` owns. */
    CHECK_EQ(xbuf_exports(src), 1);
    CHECK_OK(xbuf_decref(back));
    CHECK_EQ(xbuf_exports(src), 0);

    CHECK_OK(xbuf_dlpack_export_unversioned(src, 0, &u));
    CHECK_OK(xbuf_dlpack_import_unversioned(u, &back));
    CHECK_OK(xbuf_get_buffer(back, &view, XBUF_FULL_RO));
    CHECK_EQ(view.readonly, 1);
    CHECK_OK(xbuf_release(&view));
    CHECK_OK(xbuf_decref(back));
    CHECK_EQ(xbuf_exports(src), 0);
    CHECK_OK(xbuf_decref(src));
}

XBUF_TEST_MAIN(XT_CASE(test_export_describes_the_memory_and_holds_one_export),
               XT_CASE(test_export_layouts_and_formats),
               XT_CASE(test_export_zero_dimensions_and_negative_strides),
               XT_CASE(test_export_many_dimensions),
               XT_CASE(test_export_read_only),
               XT_CASE(test_export_refusals_say_why_and_hold_nothing),
               XT_CASE(test_deleters_run_on_other_threads),
               XT_CASE(test_import_reads_the_tensor_and_deletes_it_last),
               XT_CASE(test_import_flags_strides_and_formats),
               XT_CASE(test_import_unversioned_is_read_only),
               XT_CASE(test_import_refusals_leave_the_tensor_untouched),
               XT_CASE(test_round_trips))
