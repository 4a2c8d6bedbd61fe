/*
 * Device memory through structsize growth. A test exporter declares memory on a device (CUDA
 * code 2, id 3) at an address inside a PROT_NONE mapping, so that any read or write of it
 * crashes the test (and the sanitizer and valgrind presets report it): the library may pass the
 * pointer on and do arithmetic with it, never touch it. Callers of the older, shorter struct
 * (guard bytes around it) never receive device memory; callers of today's struct get
 * device_type/device_id; layout operations keep the device, item operations refuse it.
 */
#define _DEFAULT_SOURCE
#include <sys/mman.h>

#include "dlpack.h"
#include "xbuf_test.h"

/* ---- the device exporter --------------------------------------------------------------------- */

/* 4 x 6 floats, C order, at 64 bytes into a mapping nobody may touch. */
static unsigned char *untouchable;
static ptrdiff_t dev_shape[2] = {4, 6};
static ptrdiff_t dev_strides[2] = {24, 4};
static ptrdiff_t dev_subs[2] = {0, -1};

typedef struct {
    int device_type, device_id;
    int readonly;
    int with_suboffsets;
    int gets, releases;
} dev_state;

static int dev_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    dev_state *s = xbuf_object_state(self);
    (void)flags;
    s->gets++;
    view->buf = untouchable + 64;
    view->len = 4 * 6 * 4;
    view->itemsize = 4;
    view->readonly = s->readonly;
    view->ndim = 2;
    view->format = "f";
    view->shape = dev_shape;
    view->strides = dev_strides;
    if (s->with_suboffsets) view->suboffsets = dev_subs;
    view->device_type = s->device_type;
    view->device_id = s->device_id;
    view->internal = s; /* marks the views this exporter filled (it also sees its delegates') */
    return XBUF_OK;
}

static void dev_releasebuffer(xbuf_object *self, xbuf_bufferinfo *view) {
    dev_state *s = xbuf_object_state(self);
    if (view != NULL && view->internal == s) s->releases++;
}

static xbuf_object *make_device(dev_state *s, int device_type, int device_id, int readonly) {
    xbuf_type t;
    xbuf_object *obj = NULL;
    memset(s, 0, sizeof *s);
    s->device_type = device_type;
    s->device_id = device_id;
    s->readonly = readonly;
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = "device";
    t.getbuffer = dev_getbuffer;
    t.releasebuffer = dev_releasebuffer;
    CHECK_OK(xbuf_object_new(&t, s, &obj));
    return obj;
}

/* A view of device memory for the functions that take consumer views. */
static void get_device_view(xbuf_object *obj, xbuf_bufferinfo *v) {
    xbuf_bufferinfo empty = XBUF_BUFFERINFO_INIT;
    *v = empty;
    CHECK_OK(xbuf_get_buffer(obj, v, XBUF_FULL_RO | XBUF_DEVICE));
}

/* ---- requests -------------------------------------------------------------------------------- */

static void test_flag_value_is_unused_by_pep3118(void) {
    CHECK_EQ(XBUF_DEVICE, 0x10000);
    CHECK_EQ(XBUF_DEVICE & (XBUF_FULL | XBUF_C_CONTIGUOUS | XBUF_F_CONTIGUOUS | XBUF_ANY_CONTIGUOUS), 0);
    CHECK_EQ(XBUF_DEVICE_CPU, kDLCPU);
    CHECK_EQ(XBUF_BUFFERINFO_SIZE_NODEVICE, offsetof(xbuf_bufferinfo, device_type));
    CHECK_EQ(sizeof(xbuf_bufferinfo), offsetof(xbuf_bufferinfo, device_id) + sizeof(int32_t));
}

static void test_requests_without_the_flag_are_refused(void) {
    dev_state s;
    xbuf_object *obj = make_device(&s, kDLCUDA, 3, 0);
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_FULL_RO), XBUF_ERR_REQUEST, "lacks XBUF_DEVICE");
    CHECK(strstr(xbuf_last_error_message(), "device 2 (id 3)") != NULL);
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_SIMPLE), XBUF_ERR_REQUEST, "lacks XBUF_DEVICE");
    CHECK(v.buf == NULL && v.releaser == NULL);
    CHECK_EQ(s.gets, 2);
    CHECK_EQ(s.releases, 2); /* each refused answer went back to the exporter */
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static void test_new_structsize_callers_receive_the_device(void) {
    dev_state s;
    xbuf_object *obj = make_device(&s, kDLCUDA, 3, 0);
    guarded g;
    xbuf_bufferinfo *v = guarded_init(&g, sizeof(xbuf_bufferinfo), 0x5C);
    size_t i, newer = sizeof(xbuf_bufferinfo) + 24;
    int nonzero = 0;
    CHECK_OK(xbuf_get_buffer(obj, v, XBUF_FULL | XBUF_DEVICE));
    CHECK(v->buf == untouchable + 64);
    CHECK_EQ(v->device_type, kDLCUDA);
    CHECK_EQ(v->device_id, 3);
    CHECK_EQ(v->shape[1], 6);
    CHECK_EQ(guard_damage(&g), 0);
    CHECK_OK(xbuf_release(v));
    CHECK_EQ(v->device_type, 0);
    CHECK_EQ(v->device_id, 0);
    CHECK_EQ(guard_damage(&g), 0);

    /* A newer, larger struct: the fields, and zeros over the tail this library does not know. */
    v = guarded_init(&g, newer, 0x5C);
    CHECK_OK(xbuf_get_buffer(obj, v, XBUF_STRIDED_RO | XBUF_DEVICE));
    CHECK_EQ(v->device_type, kDLCUDA);
    CHECK_EQ(v->device_id, 3);
    for (i = sizeof(xbuf_bufferinfo); i < newer; i++) nonzero += g.mem[GUARD + i] != 0;
    CHECK_EQ(nonzero, 0);
    CHECK_EQ(guard_damage(&g), 0);
    CHECK_OK(xbuf_release(v));
    CHECK_EQ(s.gets, s.releases);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static void test_old_structsize_callers_never_receive_device_memory(void) {
    dev_state s;
    xbuf_object *obj = make_device(&s, kDLCUDA, 0, 0), *cpu = NULL;
    guarded g;
    xbuf_bufferinfo *v;
    static const size_t sizes[] = {XBUF_BUFFERINFO_SIZE_NODEVICE, XBUF_BUFFERINFO_SIZE_MIN,
                                   XBUF_BUFFERINFO_SIZE_NODEVICE + 4};
    size_t k;
    CHECK_OK(xbuf_bytearray_new("abcdef", 6, &cpu));
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int gets = s.gets;
        /* Asking for devices with a struct that cannot hold one: refused before the exporter runs. */
        v = guarded_init(&g, sizes[k], 0);
        CHECK_ERR(xbuf_get_buffer(obj, v, XBUF_FULL_RO | XBUF_DEVICE), XBUF_ERR_STRUCT_TOO_OLD, "device_type");
        CHECK_EQ(s.gets, gets);
        CHECK(v->buf == NULL && v->releaser == NULL);
        CHECK_EQ(guard_damage(&g), 0);
        CHECK_ERR(xbuf_get_buffer(cpu, v, XBUF_SIMPLE | XBUF_DEVICE), XBUF_ERR_STRUCT_TOO_OLD, "device_type");
        /* Not asking: device memory is refused, CPU memory is given. */
        CHECK_ERR(xbuf_get_buffer(obj, v, XBUF_FULL_RO), XBUF_ERR_REQUEST, "lacks XBUF_DEVICE");
        CHECK(v->buf == NULL);
        CHECK_EQ(guard_damage(&g), 0);
        CHECK_OK(xbuf_get_buffer(cpu, v, XBUF_FULL_RO));
        CHECK(memcmp(v->buf, "abcdef", 6) == 0);
        CHECK_EQ(guard_damage(&g), 0);
        CHECK_OK(xbuf_release(v));
        CHECK_EQ(guard_damage(&g), 0);
    }
    CHECK_EQ(s.gets, s.releases);
    CHECK_EQ(xbuf_exports(obj) + xbuf_exports(cpu), 0);
    CHECK_OK(xbuf_decref(obj));
    CHECK_OK(xbuf_decref(cpu));
}

static int fill_info_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    static char data[4] = "wxyz";
    return xbuf_fill_info(view, self, data, 4, 1, flags);
}

static void test_cpu_memory_reports_the_cpu(void) {
    dev_state s;
    xbuf_object *ba = NULL, *legacy = make_device(&s, 0, 7, 0), *filled = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    xbuf_type t;
    CHECK_OK(xbuf_bytearray_new("abc", 3, &ba));
    CHECK_OK(xbuf_get_buffer(ba, &v, XBUF_SIMPLE));
    CHECK_EQ(v.device_type, XBUF_DEVICE_CPU);
    CHECK_EQ(v.device_id, 0);
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_get_buffer(ba, &v, XBUF_FULL | XBUF_DEVICE));
    CHECK_EQ(v.device_type, XBUF_DEVICE_CPU);
    CHECK_OK(xbuf_release(&v));
    /* An exporter that leaves device_type 0 (written before the field existed) lends CPU memory:
     * the pointer is never read here either, as a request of a layout reads no item. */
    CHECK_OK(xbuf_get_buffer(legacy, &v, XBUF_FULL_RO));
    CHECK_EQ(v.device_type, XBUF_DEVICE_CPU);
    CHECK_EQ(v.device_id, 0);
    CHECK_OK(xbuf_release(&v));
    /* xbuf_fill_info says CPU. */
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.getbuffer = fill_info_getbuffer;
    CHECK_OK(xbuf_object_new(&t, NULL, &filled));
    CHECK_OK(xbuf_get_buffer(filled, &v, XBUF_FULL_RO | XBUF_DEVICE));
    CHECK_EQ(v.device_type, XBUF_DEVICE_CPU);
    CHECK(memcmp(v.buf, "wxyz", 4) == 0);
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_decref(filled));
    CHECK_OK(xbuf_decref(legacy));
    CHECK_OK(xbuf_decref(ba));
}

static void test_broken_device_answers_are_refused(void) {
    dev_state s;
    xbuf_object *obj = make_device(&s, -2, 0, 0);
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_FULL_RO | XBUF_DEVICE), XBUF_ERR_BAD_EXPORTER, "device_type -2");
    s.device_type = kDLCUDA;
    s.with_suboffsets = 1;
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_FULL_RO | XBUF_DEVICE), XBUF_ERR_BAD_EXPORTER, "suboffsets");
    CHECK_EQ(s.gets, s.releases);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

/* ---- views ----------------------------------------------------------------------------------- */

/* `obj` lends device memory at `expect` with the shape given (first two extents). */
static void check_derived(xbuf_object *obj, void *expect, ptrdiff_t d0) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_FULL_RO), XBUF_ERR_REQUEST, "lacks XBUF_DEVICE");
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO | XBUF_DEVICE));
    CHECK_EQ(v.device_type, kDLCUDA);
    CHECK_EQ(v.device_id, 3);
    CHECK(v.buf == expect);
    if (v.ndim > 0) CHECK_EQ(v.shape[0], d0);
    CHECK_OK(xbuf_release(&v));
}

static void test_views_keep_the_device(void) {
    dev_state s;
    xbuf_object *obj = make_device(&s, kDLCUDA, 3, 0), *view = NULL, *d = NULL;
    struct xbuf_range r[2] = {{1, 3, 1}, {XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, -2}};
    ptrdiff_t idx[1] = {2}, shape[1] = {24}, at[2] = {1, 2};
    int axes[2] = {1, 0};
    void *p = NULL;
    CHECK_ERR(xbuf_view_new(obj, XBUF_FULL_RO, &view), XBUF_ERR_REQUEST, "lacks XBUF_DEVICE");
    CHECK(view == NULL);
    CHECK_OK(xbuf_view_new(obj, XBUF_FULL_RO | XBUF_DEVICE, &view));
    check_derived(view, untouchable + 64, 4);

    CHECK_OK(xbuf_view_slice(view, r, 2, &d));
    check_derived(d, untouchable + 64 + 24 + 20, 2);
    CHECK_OK(xbuf_decref(d));
    CHECK_OK(xbuf_view_index(view, idx, 1, &d));
    check_derived(d, untouchable + 64 + 48, 6);
    CHECK_OK(xbuf_decref(d));
    CHECK_OK(xbuf_view_permute(view, axes, 2, &d));
    check_derived(d, untouchable + 64, 6);
    CHECK_OK(xbuf_decref(d));
    CHECK_OK(xbuf_view_transpose(view, &d));
    check_derived(d, untouchable + 64, 6);
    CHECK_OK(xbuf_decref(d));
    CHECK_OK(xbuf_view_cast(view, "i", 1, shape, &d));
    check_derived(d, untouchable + 64, 24);
    CHECK_OK(xbuf_decref(d));
    /* Pointer arithmetic only. */
    CHECK_OK(xbuf_view_item_pointer(view, at, 2, &p));
    CHECK(p == untouchable + 64 + 24 + 8);

    CHECK_OK(xbuf_decref(view));
    CHECK_EQ(s.gets, s.releases);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static void test_item_operations_refuse_device_memory(void) {
    dev_state s;
    xbuf_object *obj = make_device(&s, kDLCUDA, 3, 1), *view = NULL, *cpu = NULL, *cpu_view = NULL;
    xbuf_bufferinfo dv, cv = XBUF_BUFFERINFO_INIT;
    unsigned char out[256];
    char text[512];
    size_t needed = 0;
    uint64_t h = 0;
    int eq = -1;
    ptrdiff_t shape[2] = {4, 6};
    CHECK_OK(xbuf_view_new(obj, XBUF_FULL_RO | XBUF_DEVICE, &view));
    CHECK_OK(xbuf_ndarray_zeros("f", 2, shape, 'C', 0, &cpu));
    CHECK_OK(xbuf_view_new(cpu, XBUF_FULL_RO, &cpu_view));
    CHECK_ERR(xbuf_view_tobytes(view, 'C', out, sizeof out, &needed), XBUF_ERR_UNSUPPORTED, "not the CPU");
    CHECK_ERR(xbuf_view_hex(view, text, sizeof text, &needed), XBUF_ERR_UNSUPPORTED, "not the CPU");
    CHECK_ERR(xbuf_view_tolist(view, text, sizeof text, &needed), XBUF_ERR_UNSUPPORTED, "not the CPU");
    CHECK_ERR(xbuf_view_equal(view, cpu_view, &eq), XBUF_ERR_UNSUPPORTED, "not the CPU");
    CHECK_ERR(xbuf_view_equal(cpu_view, view, &eq), XBUF_ERR_UNSUPPORTED, "not the CPU");
    CHECK_ERR(xbuf_view_hash(view, &h), XBUF_ERR_UNSUPPORTED, "not the CPU");

    get_device_view(obj, &dv);
    CHECK_OK(xbuf_get_buffer(cpu, &cv, XBUF_FULL));
    CHECK_ERR(xbuf_copy(&cv, &dv), XBUF_ERR_UNSUPPORTED, "xbuf_copy");
    CHECK_ERR(xbuf_copy(&dv, &cv), XBUF_ERR_UNSUPPORTED, "");
    CHECK_ERR(xbuf_to_contiguous(out, 96, &dv, 'C'), XBUF_ERR_UNSUPPORTED, "xbuf_to_contiguous");
    CHECK_ERR(xbuf_from_contiguous(&dv, out, 96, 'C'), XBUF_ERR_UNSUPPORTED, "xbuf_from_contiguous");
    /* Layout questions are answered. */
    CHECK_EQ(xbuf_is_contiguous(&dv, 'C'), 1);
    CHECK_OK(xbuf_release(&dv));
    CHECK_OK(xbuf_release(&cv));

    CHECK_OK(xbuf_decref(view));
    CHECK_OK(xbuf_decref(cpu_view));
    CHECK_OK(xbuf_decref(cpu));
    CHECK_EQ(s.gets, s.releases);
    CHECK_OK(xbuf_decref(obj));
}

static void test_hand_described_views(void) {
    ptrdiff_t shape[1] = {4}, strides[1] = {1};
    unsigned char out[4];
    xbuf_bufferinfo v = describe(untouchable + 64, "B", 1, 1, shape, strides);
    v.device_type = kDLROCM;
    CHECK_ERR(xbuf_to_contiguous(out, 4, &v, 'C'), XBUF_ERR_UNSUPPORTED, "device 10");
    /* Following suboffsets would read the memory; plain pointer arithmetic does not. */
    {
        ptrdiff_t subs[1] = {0}, at[1] = {2};
        void *p = NULL;
        CHECK_OK(xbuf_get_pointer(&v, at, &p));
        CHECK(p == untouchable + 66);
        v.suboffsets = subs;
        CHECK_ERR(xbuf_get_pointer(&v, at, &p), XBUF_ERR_UNSUPPORTED, "following suboffsets");
        CHECK(p == NULL);
    }
    /* device_type 0: CPU memory, read. */
    v = describe((void *)"pqrs", "B", 1, 1, shape, strides);
    CHECK_OK(xbuf_to_contiguous(out, 4, &v, 'C'));
    CHECK(memcmp(out, "pqrs", 4) == 0);
}

static void test_move_keeps_or_refuses_the_device(void) {
    dev_state s;
    xbuf_object *obj = make_device(&s, kDLCUDA, 3, 0);
    xbuf_bufferinfo a = XBUF_BUFFERINFO_INIT, b = XBUF_BUFFERINFO_INIT;
    guarded g;
    xbuf_bufferinfo *old = guarded_init(&g, XBUF_BUFFERINFO_SIZE_NODEVICE, 0);
    CHECK_OK(xbuf_get_buffer(obj, &a, XBUF_FULL_RO | XBUF_DEVICE));
    CHECK_ERR(xbuf_bufferinfo_move(old, &a), XBUF_ERR_STRUCT_TOO_OLD, "device 2");
    CHECK(old->releaser == NULL);
    CHECK_EQ(guard_damage(&g), 0);
    CHECK_OK(xbuf_bufferinfo_move(&b, &a));
    CHECK_EQ(b.device_type, kDLCUDA);
    CHECK_EQ(b.device_id, 3);
    CHECK_EQ(a.device_type, 0);
    CHECK(b.buf == untouchable + 64);
    CHECK_OK(xbuf_release(&b));
    CHECK_EQ(s.gets, s.releases);
    CHECK_OK(xbuf_decref(obj));
}

/* ---- DLPack ---------------------------------------------------------------------------------- */

static int deleted;
static void count_delete(DLManagedTensorVersioned *t) {
    (void)t;
    deleted++;
}

static void test_dlpack_carries_the_device(void) {
    dev_state s;
    xbuf_object *obj = make_device(&s, kDLCUDA, 3, 0), *back = NULL, *view = NULL;
    DLManagedTensorVersioned *t = NULL, mine;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    int64_t shape[1] = {1000};
    char text[8];
    CHECK_OK(xbuf_dlpack_export(obj, 0, &t));
    CHECK_EQ(t->dl_tensor.device.device_type, kDLCUDA);
    CHECK_EQ(t->dl_tensor.device.device_id, 3);
    CHECK(t->dl_tensor.data == untouchable + 64);
    CHECK_EQ(t->dl_tensor.strides[0], 6);
    CHECK_EQ(t->dl_tensor.dtype.code, kDLFloat);
    CHECK_OK(xbuf_dlpack_import(t, &back));
    CHECK_ERR(xbuf_get_buffer(back, &v, XBUF_FULL_RO), XBUF_ERR_REQUEST, "lacks XBUF_DEVICE");
    CHECK_OK(xbuf_get_buffer(back, &v, XBUF_FULL_RO | XBUF_DEVICE));
    CHECK_EQ(v.device_type, kDLCUDA);
    CHECK_EQ(v.device_id, 3);
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_decref(back));
    CHECK_EQ(s.gets, s.releases);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));

    /* A producer's CUDA tensor (pinned host, managed and ROCm memory alike) passes through. */
    memset(&mine, 0, sizeof mine);
    mine.version.major = 1;
    mine.deleter = count_delete;
    mine.dl_tensor.data = untouchable + 128;
    mine.dl_tensor.device.device_type = kDLCUDAManaged;
    mine.dl_tensor.device.device_id = 1;
    mine.dl_tensor.ndim = 1;
    mine.dl_tensor.dtype.code = kDLUInt;
    mine.dl_tensor.dtype.bits = 8;
    mine.dl_tensor.dtype.lanes = 1;
    mine.dl_tensor.shape = shape;
    deleted = 0;
    CHECK_OK(xbuf_dlpack_import(&mine, &back));
    CHECK_ERR(xbuf_view_new(back, XBUF_FULL_RO, &view), XBUF_ERR_REQUEST, "lacks XBUF_DEVICE");
    CHECK_OK(xbuf_view_new(back, XBUF_FULL_RO | XBUF_DEVICE, &view));
    CHECK_ERR(xbuf_view_tolist(view, text, sizeof text, NULL), XBUF_ERR_UNSUPPORTED, "device 13 (id 1)");
    CHECK_OK(xbuf_dlpack_export(view, 0, &t));
    CHECK_EQ(t->dl_tensor.device.device_type, kDLCUDAManaged);
    CHECK_EQ(t->dl_tensor.device.device_id, 1);
    CHECK_OK(xbuf_decref(view));
    CHECK_OK(xbuf_decref(back));
    CHECK_EQ(deleted, 0);
    t->deleter(t);
    CHECK_EQ(deleted, 1);
}

static void setup(void) {
    void *m = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    untouchable = m;
}

static void teardown(void) {
    CHECK_EQ(munmap(untouchable, 4096), 0);
}

XBUF_TEST_MAIN(XT_CASE(setup),
               XT_CASE(test_flag_value_is_unused_by_pep3118),
               XT_CASE(test_requests_without_the_flag_are_refused),
               XT_CASE(test_new_structsize_callers_receive_the_device),
               XT_CASE(test_old_structsize_callers_never_receive_device_memory),
               XT_CASE(test_cpu_memory_reports_the_cpu),
               XT_CASE(test_broken_device_answers_are_refused),
               XT_CASE(test_views_keep_the_device),
               XT_CASE(test_item_operations_refuse_device_memory),
               XT_CASE(test_hand_described_views),
               XT_CASE(test_move_keeps_or_refuses_the_device),
               XT_CASE(test_dlpack_carries_the_device),
               XT_CASE(teardown))
