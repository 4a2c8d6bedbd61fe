/*
 * The protocol core through the C API: errors and versions, objects and references, getting
 * and releasing views, the checks the library makes of a user-written exporter's answer, and
 * the layout helpers (fill_info, is_contiguous, fill_contiguous_strides, get_pointer). Every
 * function on success, on each error path, and with NULL for every pointer argument.
 */
#include "xbuf_test.h"

/* ---- A configurable exporter written in C ------------------------------------------------ */

/* How the exporter misbehaves, if at all. */
enum grid_fault {
    GRID_OK,
    GRID_FAIL_READONLY,   /* fails with XBUF_ERR_READONLY and a message */
    GRID_FAIL_NO_MESSAGE, /* fails with XBUF_ERR_REQUEST without setting a message */
    GRID_FAIL_MINUS_ONE,  /* fails with -1, as CPython exporters do */
    GRID_NDIM_65,
    GRID_BAD_LEN,
    GRID_ITEMSIZE_0,
    GRID_NULL_BUF,
    GRID_WRONG_FORMAT,
    GRID_HUGE_STRIDE,
    GRID_BAD_RELEASER
};

typedef struct {
    unsigned char data[256];
    int ndim;
    ptrdiff_t shape[3], strides[3], suboffsets[3];
    int use_strides, use_suboffsets;
    ptrdiff_t itemsize;
    const char *format;
    int readonly;
    enum grid_fault fault;
    int gets, releases, locks, unlocks, deallocs_seen;
    int last_internal;
    int *dealloc_counter;
    xbuf_object *releaser; /* if not NULL, named as the view's releaser */
} grid_state;

static int grid_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    grid_state *g = (grid_state *)xbuf_object_state(self);
    ptrdiff_t n = 1;
    int i;
    (void)flags;
    switch (g->fault) {
    case GRID_FAIL_READONLY:
        return xbuf_set_error(XBUF_ERR_READONLY, "grid says: read-only today");
    case GRID_FAIL_NO_MESSAGE:
        return XBUF_ERR_REQUEST;
    case GRID_FAIL_MINUS_ONE:
        return -1;
    default:
        break;
    }
    for (i = 0; i < g->ndim; i++) n *= g->shape[i];
    view->buf = g->data;
    view->itemsize = g->itemsize;
    view->len = n * g->itemsize;
    view->readonly = g->readonly;
    view->ndim = g->ndim;
    view->format = (char *)g->format;
    view->shape = g->shape;
    view->strides = g->use_strides ? g->strides : NULL;
    view->suboffsets = g->use_suboffsets ? g->suboffsets : NULL;
    view->internal = &g->last_internal;
    if (g->releaser != NULL) view->releaser = g->releaser;
    g->gets++;
    switch (g->fault) {
    case GRID_NDIM_65: view->ndim = 65; break;
    case GRID_BAD_LEN: view->len += 1; break;
    case GRID_ITEMSIZE_0: view->itemsize = 0; break;
    case GRID_NULL_BUF: view->buf = NULL; break;
    case GRID_WRONG_FORMAT: view->format = "d"; break;
    case GRID_HUGE_STRIDE: view->strides = g->strides; g->strides[0] = PTRDIFF_MAX; break;
    case GRID_BAD_RELEASER: view->releaser = (xbuf_object *)(void *)g->data; break;
    default: break;
    }
    return XBUF_OK;
}

static void grid_releasebuffer(xbuf_object *self, xbuf_bufferinfo *view) {
    grid_state *g = (grid_state *)xbuf_object_state(self);
    if (view == NULL) {
        g->unlocks++;
    } else {
        g->releases++;
        CHECK(view->internal == &g->last_internal);
    }
}

static int grid_lockbuffer(xbuf_object *self) {
    grid_state *g = (grid_state *)xbuf_object_state(self);
    g->locks++;
    return XBUF_OK;
}

static void grid_dealloc(void *state) {
    grid_state *g = (grid_state *)state;
    if (g->dealloc_counter) (*g->dealloc_counter)++;
}

static xbuf_type grid_type(void) {
    xbuf_type t;
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = "grid";
    t.getbuffer = grid_getbuffer;
    t.releasebuffer = grid_releasebuffer;
    t.lockbuffer = grid_lockbuffer;
    t.dealloc = grid_dealloc;
    return t;
}

/* A 2-D, C-contiguous 3x4 grid of 4-byte ints. */
static void grid_init_2d(grid_state *g) {
    int i;
    memset(g, 0, sizeof *g);
    for (i = 0; i < 256; i++) g->data[i] = (unsigned char)i;
    g->ndim = 2;
    g->shape[0] = 3;
    g->shape[1] = 4;
    g->strides[0] = 16;
    g->strides[1] = 4;
    g->use_strides = 1;
    g->itemsize = 4;
    g->format = "i";
}

static xbuf_object *grid_new(grid_state *g) {
    xbuf_type t = grid_type();
    xbuf_object *obj = NULL;
    CHECK_OK(xbuf_object_new(&t, g, &obj));
    return obj;
}

/* ---- Errors and versions ------------------------------------------------------------------ */

static void test_status_names(void) {
    CHECK_STR(xbuf_status_str(XBUF_OK), "XBUF_OK");
    CHECK_STR(xbuf_status_str(XBUF_ERR_INVALID_ARGUMENT), "XBUF_ERR_INVALID_ARGUMENT");
    CHECK_STR(xbuf_status_str(XBUF_ERR_NULL_ARGUMENT), "XBUF_ERR_NULL_ARGUMENT");
    CHECK_STR(xbuf_status_str(XBUF_ERR_REQUEST), "XBUF_ERR_REQUEST");
    CHECK_STR(xbuf_status_str(XBUF_ERR_READONLY), "XBUF_ERR_READONLY");
    CHECK_STR(xbuf_status_str(XBUF_ERR_NOT_CONTIGUOUS), "XBUF_ERR_NOT_CONTIGUOUS");
    CHECK_STR(xbuf_status_str(XBUF_ERR_FORMAT), "XBUF_ERR_FORMAT");
    CHECK_STR(xbuf_status_str(XBUF_ERR_BUSY), "XBUF_ERR_BUSY");
    CHECK_STR(xbuf_status_str(XBUF_ERR_OUT_OF_BOUNDS), "XBUF_ERR_OUT_OF_BOUNDS");
    CHECK_STR(xbuf_status_str(XBUF_ERR_OVERFLOW), "XBUF_ERR_OVERFLOW");
    CHECK_STR(xbuf_status_str(XBUF_ERR_NO_MEMORY), "XBUF_ERR_NO_MEMORY");
    CHECK_STR(xbuf_status_str(XBUF_ERR_STRUCT_TOO_NEW), "XBUF_ERR_STRUCT_TOO_NEW");
    CHECK_STR(xbuf_status_str(XBUF_ERR_STRUCT_TOO_OLD), "XBUF_ERR_STRUCT_TOO_OLD");
    CHECK_STR(xbuf_status_str(XBUF_ERR_RELEASED), "XBUF_ERR_RELEASED");
    CHECK_STR(xbuf_status_str(XBUF_ERR_IO), "XBUF_ERR_IO");
    CHECK_STR(xbuf_status_str(XBUF_ERR_UNSUPPORTED), "XBUF_ERR_UNSUPPORTED");
    CHECK_STR(xbuf_status_str(XBUF_ERR_PANIC), "XBUF_ERR_PANIC");
    CHECK_STR(xbuf_status_str(XBUF_ERR_BUFFER_TOO_SMALL), "XBUF_ERR_BUFFER_TOO_SMALL");
    CHECK_STR(xbuf_status_str(XBUF_ERR_BAD_EXPORTER), "XBUF_ERR_BAD_EXPORTER");
    CHECK_STR(xbuf_status_str(19), "XBUF_ERR_UNKNOWN");
    CHECK_STR(xbuf_status_str(-1), "XBUF_ERR_UNKNOWN");
}

static void test_last_error(void) {
    xbuf_clear_error();
    CHECK_EQ(xbuf_last_error_status(), XBUF_OK);
    CHECK_STR(xbuf_last_error_message(), "");
    CHECK_EQ(xbuf_set_error(XBUF_ERR_BUSY, "custom message"), XBUF_ERR_BUSY);
    CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_BUSY);
    CHECK_STR(xbuf_last_error_message(), "custom message");
    /* A successful call leaves the last error alone. */
    CHECK_EQ(xbuf_version(), XBUF_VERSION);
    CHECK_STR(xbuf_last_error_message(), "custom message");
    CHECK_EQ(xbuf_set_error(XBUF_ERR_IO, NULL), XBUF_ERR_IO);
    CHECK_STR(xbuf_last_error_message(), "");
    /* Messages name the function and the argument. */
    CHECK_ERR(xbuf_incref(NULL), XBUF_ERR_NULL_ARGUMENT, "xbuf_incref: argument 'obj' is NULL");
    xbuf_clear_error();
    CHECK_EQ(xbuf_last_error_status(), XBUF_OK);
}

static void test_version(void) {
    char expect[32];
    CHECK_EQ(xbuf_version(), XBUF_VERSION);
    snprintf(expect, sizeof expect, "%d.%d.%d", XBUF_VERSION_MAJOR, XBUF_VERSION_MINOR, XBUF_VERSION_PATCH);
    CHECK_STR(xbuf_version_string(), expect);
}

/* ---- Objects ------------------------------------------------------------------------------ */

static void test_object_lifecycle(void) {
    int deallocs = 0;
    grid_state g;
    xbuf_object *obj;
    grid_init_2d(&g);
    g.dealloc_counter = &deallocs;
    obj = grid_new(&g);
    CHECK(xbuf_object_state(obj) == &g);
    CHECK_STR(xbuf_object_type_name(obj), "grid");
    CHECK_EQ(xbuf_refcount(obj), 1);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_incref(obj));
    CHECK_EQ(xbuf_refcount(obj), 2);
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(deallocs, 0);
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(deallocs, 1);
    /* decref(NULL) is accepted, like free(NULL). */
    CHECK_OK(xbuf_decref(NULL));
}

static void test_object_new_errors(void) {
    xbuf_type t = grid_type();
    xbuf_object *obj = (xbuf_object *)(void *)&t; /* must be reset to NULL on failure */
    grid_state g;
    grid_init_2d(&g);
    CHECK_ERR(xbuf_object_new(NULL, &g, &obj), XBUF_ERR_NULL_ARGUMENT, "'ty'");
    CHECK(obj == NULL);
    CHECK_ERR(xbuf_object_new(&t, &g, NULL), XBUF_ERR_NULL_ARGUMENT, "'out'");
    t.structsize = sizeof t - 8;
    CHECK_ERR(xbuf_object_new(&t, &g, &obj), XBUF_ERR_STRUCT_TOO_OLD, "structsize is 40");
    t.structsize = 100000;
    CHECK_ERR(xbuf_object_new(&t, &g, &obj), XBUF_ERR_INVALID_ARGUMENT, "initialised");
    /* A type without a name works; messages call it "<unnamed>". */
    t = grid_type();
    t.name = NULL;
    t.getbuffer = NULL;
    CHECK_OK(xbuf_object_new(&t, &g, &obj));
    CHECK_STR(xbuf_object_type_name(obj), "<unnamed>");
    {
        xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
        CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_SIMPLE), XBUF_ERR_UNSUPPORTED, "no getbuffer");
        CHECK(v.releaser == NULL);
        CHECK_EQ(xbuf_exports(obj), 0);
        /* Lock-only objects still take locks. */
        CHECK_OK(xbuf_lock(obj));
        CHECK_EQ(g.locks, 1);
        CHECK_OK(xbuf_unlock(obj));
        CHECK_EQ(g.unlocks, 1);
    }
    CHECK_OK(xbuf_decref(obj));
}

static void test_not_an_object(void) {
    /* Memory that is not a live object is refused, not used. */
    uint64_t fake[8];
    xbuf_object *p = (xbuf_object *)(void *)fake;
    memset(fake, 0, sizeof fake);
    CHECK_ERR(xbuf_incref(p), XBUF_ERR_INVALID_ARGUMENT, "not a live xbuf object");
    CHECK_ERR(xbuf_decref(p), XBUF_ERR_INVALID_ARGUMENT, "not a live xbuf object");
    CHECK_ERR(xbuf_lock(p), XBUF_ERR_INVALID_ARGUMENT, "not a live xbuf object");
    CHECK_EQ(xbuf_exports(p), -1);
}

static void test_object_getters_null(void) {
    CHECK(xbuf_object_state(NULL) == NULL);
    CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_NULL_ARGUMENT);
    CHECK(xbuf_object_type_name(NULL) == NULL);
    CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_NULL_ARGUMENT);
    CHECK_EQ(xbuf_exports(NULL), -1);
    CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_NULL_ARGUMENT);
    CHECK_EQ(xbuf_refcount(NULL), -1);
    CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_NULL_ARGUMENT);
    CHECK_ERR(xbuf_incref(NULL), XBUF_ERR_NULL_ARGUMENT, "'obj'");
    CHECK_ERR(xbuf_lock(NULL), XBUF_ERR_NULL_ARGUMENT, "'obj'");
    CHECK_ERR(xbuf_unlock(NULL), XBUF_ERR_NULL_ARGUMENT, "'obj'");
    CHECK_ERR(xbuf_exclusive_begin(NULL), XBUF_ERR_NULL_ARGUMENT, "'obj'");
    CHECK_ERR(xbuf_exclusive_end(NULL), XBUF_ERR_NULL_ARGUMENT, "'obj'");
}

static void test_built_in_state_is_null(void) {
    xbuf_object *obj = NULL;
    CHECK_OK(xbuf_bytes_new("ab", 2, &obj));
    CHECK(xbuf_object_state(obj) == NULL);
    CHECK_STR(xbuf_object_type_name(obj), "bytes");
    CHECK_OK(xbuf_decref(obj));
}

static void test_double_decref_refused_while_exported(void) {
    int deallocs = 0;
    grid_state g;
    xbuf_object *obj;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    grid_init_2d(&g);
    g.dealloc_counter = &deallocs;
    obj = grid_new(&g);
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK_EQ(xbuf_refcount(obj), 2);
    CHECK_OK(xbuf_decref(obj));
    /* Only the view's reference is left: one more decref is a caller bug, refused. */
    CHECK_ERR(xbuf_decref(obj), XBUF_ERR_INVALID_ARGUMENT, "no reference left");
    CHECK_EQ(deallocs, 0);
    CHECK_EQ(xbuf_refcount(obj), 1);
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(deallocs, 1);
}

/* ---- Getting and releasing ---------------------------------------------------------------- */

static void test_get_full_2d(void) {
    grid_state g;
    xbuf_object *obj;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    grid_init_2d(&g);
    obj = grid_new(&g);
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK(v.buf == g.data);
    CHECK(v.releaser == obj);
    CHECK_EQ(v.len, 48);
    CHECK_EQ(v.itemsize, 4);
    CHECK_EQ(v.readonly, 0);
    CHECK_EQ(v.ndim, 2);
    CHECK_STR(v.format, "i");
    CHECK(v.format != g.format); /* a copy owned by the view */
    CHECK(v.shape != NULL && v.shape != g.shape);
    CHECK_EQ(v.shape[0], 3);
    CHECK_EQ(v.shape[1], 4);
    CHECK(v.strides != NULL && v.strides != g.strides);
    CHECK_EQ(v.strides[0], 16);
    CHECK_EQ(v.strides[1], 4);
    CHECK(v.suboffsets == NULL);
    CHECK(v.internal == &g.last_internal);
    CHECK_EQ(xbuf_exports(obj), 1);
    CHECK_EQ(xbuf_refcount(obj), 2);
    CHECK_EQ(g.gets, 1);
    /* The exporter's arrays may change; the view's copies do not. */
    g.shape[0] = 99;
    g.strides[1] = 77;
    CHECK_EQ(v.shape[0], 3);
    CHECK_EQ(v.strides[1], 4);
    CHECK_EQ(xbuf_is_contiguous(&v, 'C'), 1);
    CHECK_EQ(xbuf_is_contiguous(&v, 'F'), 0);
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(g.releases, 1);
    CHECK(v.releaser == NULL && v.buf == NULL && v.shape == NULL && v.format == NULL);
    CHECK_EQ(v.structsize, sizeof v);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_EQ(xbuf_refcount(obj), 1);
    CHECK_OK(xbuf_decref(obj));
}

static void test_get_simple_and_strided_requests(void) {
    grid_state g;
    xbuf_object *obj;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    grid_init_2d(&g);
    obj = grid_new(&g);
    /* SIMPLE on a C-contiguous grid: bytes, no format, no shape, ndim 1, true itemsize. */
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_SIMPLE));
    CHECK_EQ(v.ndim, 1);
    CHECK(v.format == NULL && v.shape == NULL && v.strides == NULL && v.suboffsets == NULL);
    CHECK_EQ(v.itemsize, 4);
    CHECK_EQ(v.len, 48);
    CHECK_OK(xbuf_release(&v));
    /* Exporter gives no strides: the library computes C strides for a STRIDES request. */
    g.use_strides = 0;
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_STRIDED_RO));
    CHECK_EQ(v.strides[0], 16);
    CHECK_EQ(v.strides[1], 4);
    CHECK_OK(xbuf_release(&v));
    /* Fortran order: STRIDES needed; C_CONTIGUOUS refused; F_CONTIGUOUS met. */
    g.use_strides = 1;
    g.strides[0] = 4;
    g.strides[1] = 12;
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_CONTIG_RO), XBUF_ERR_NOT_CONTIGUOUS, "lacks XBUF_STRIDES");
    CHECK(v.releaser == NULL);
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_C_CONTIGUOUS), XBUF_ERR_NOT_CONTIGUOUS, "XBUF_C_CONTIGUOUS");
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_F_CONTIGUOUS));
    CHECK_EQ(xbuf_is_contiguous(&v, 'F'), 1);
    CHECK_EQ(xbuf_is_contiguous(&v, 'A'), 1);
    CHECK_EQ(xbuf_is_contiguous(&v, 'C'), 0);
    CHECK_OK(xbuf_release(&v));
    /* Read-only memory refuses WRITABLE. */
    g.readonly = 1;
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_STRIDED), XBUF_ERR_READONLY, "XBUF_WRITABLE");
    CHECK_EQ(xbuf_exports(obj), 0);
    /* Every failed get above was handed back to the exporter. */
    CHECK_EQ(g.gets, g.releases);
    CHECK_OK(xbuf_decref(obj));
}

static void test_get_suboffsets(void) {
    /* A PIL-style 2x3 byte image: two row pointers, rows stored elsewhere. */
    grid_state g;
    xbuf_object *obj;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    unsigned char rows[2][3] = {{1, 2, 3}, {4, 5, 6}};
    unsigned char *ptrs[2];
    ptrdiff_t idx[2];
    void *p = NULL;
    grid_init_2d(&g);
    ptrs[0] = rows[1];
    ptrs[1] = rows[0];
    memcpy(g.data, ptrs, sizeof ptrs);
    g.shape[0] = 2;
    g.shape[1] = 3;
    g.strides[0] = sizeof(unsigned char *);
    g.strides[1] = 1;
    g.suboffsets[0] = 0;
    g.suboffsets[1] = -1;
    g.use_suboffsets = 1;
    g.itemsize = 1;
    g.format = "B";
    obj = grid_new(&g);
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_RECORDS_RO), XBUF_ERR_REQUEST, "XBUF_INDIRECT");
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK(v.suboffsets != NULL && v.suboffsets != g.suboffsets);
    CHECK_EQ(v.suboffsets[0], 0);
    CHECK_EQ(v.suboffsets[1], -1);
    CHECK_EQ(xbuf_is_contiguous(&v, 'A'), 0);
    idx[0] = 0;
    idx[1] = 2;
    CHECK_OK(xbuf_get_pointer(&v, idx, &p));
    CHECK_EQ(*(unsigned char *)p, 6);
    idx[0] = -1;
    idx[1] = -3;
    CHECK_OK(xbuf_get_pointer(&v, idx, &p));
    CHECK_EQ(*(unsigned char *)p, 1);
    CHECK_OK(xbuf_release(&v));
    /* All-negative suboffsets are no indirection at all: INDIRECT is then not needed. */
    g.suboffsets[0] = -1;
    g.strides[0] = 3;
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_RECORDS_RO));
    CHECK(v.suboffsets == NULL);
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_decref(obj));
}

static void test_get_zero_dim_and_empty(void) {
    grid_state g;
    xbuf_object *obj;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    void *p = NULL;
    grid_init_2d(&g);
    g.ndim = 0;
    obj = grid_new(&g);
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK_EQ(v.ndim, 0);
    CHECK_EQ(v.len, 4);
    CHECK(v.shape != NULL); /* requested, so present, with no entries */
    CHECK_EQ(xbuf_is_contiguous(&v, 'C'), 1);
    CHECK_EQ(xbuf_is_contiguous(&v, 'F'), 1);
    CHECK_OK(xbuf_get_pointer(&v, NULL, &p));
    CHECK(p == g.data);
    CHECK_OK(xbuf_release(&v));
    /* A zero-length dimension: no items, contiguous in every order. */
    g.ndim = 2;
    g.shape[0] = 0;
    g.strides[0] = -1000;
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK_EQ(v.len, 0);
    CHECK_EQ(xbuf_is_contiguous(&v, 'C'), 1);
    CHECK_EQ(xbuf_is_contiguous(&v, 'F'), 1);
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_decref(obj));
}

static void test_get_buffer_errors(void) {
    grid_state g;
    xbuf_object *obj;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    grid_init_2d(&g);
    obj = grid_new(&g);
    CHECK_ERR(xbuf_get_buffer(NULL, &v, XBUF_SIMPLE), XBUF_ERR_NULL_ARGUMENT, "'obj'");
    CHECK_ERR(xbuf_get_buffer(obj, NULL, XBUF_SIMPLE), XBUF_ERR_NULL_ARGUMENT, "'view'");
    CHECK_ERR(xbuf_get_buffer(obj, &v, 0x200), XBUF_ERR_INVALID_ARGUMENT, "unknown bits 0x200");
    CHECK_ERR(xbuf_get_buffer(obj, &v, 0x20), XBUF_ERR_INVALID_ARGUMENT, "XBUF_C_CONTIGUOUS");
    CHECK_ERR(xbuf_get_buffer(obj, &v, 0x10), XBUF_ERR_INVALID_ARGUMENT, "XBUF_STRIDES");
    v.structsize = 8;
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_SIMPLE), XBUF_ERR_STRUCT_TOO_OLD, "structsize is 8");
    v.structsize = 1u << 20;
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_SIMPLE), XBUF_ERR_INVALID_ARGUMENT, "initialised");
    v.structsize = sizeof v;
    CHECK_EQ(g.gets, 0);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static void test_exporter_failures_propagate(void) {
    grid_state g;
    xbuf_object *obj;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    grid_init_2d(&g);
    obj = grid_new(&g);
    g.fault = GRID_FAIL_READONLY;
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_SIMPLE), XBUF_ERR_READONLY, "grid says: read-only today");
    g.fault = GRID_FAIL_NO_MESSAGE;
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_SIMPLE), XBUF_ERR_REQUEST, "getbuffer of 'grid' failed with XBUF_ERR_REQUEST");
    g.fault = GRID_FAIL_MINUS_ONE;
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_SIMPLE), XBUF_ERR_BAD_EXPORTER, "returned -1");
    CHECK(v.releaser == NULL);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_EQ(g.releases, 0); /* a failed getbuffer owes no release */
    CHECK_OK(xbuf_decref(obj));
}

static void test_broken_answers_are_refused(void) {
    static const struct {
        enum grid_fault fault;
        int status;
        const char *needle;
    } cases[] = {
        {GRID_NDIM_65, XBUF_ERR_BAD_EXPORTER, "ndim 65"},
        {GRID_BAD_LEN, XBUF_ERR_BAD_EXPORTER, "returned len 49 but shape [3, 4] with itemsize 4 makes 48"},
        {GRID_ITEMSIZE_0, XBUF_ERR_BAD_EXPORTER, "itemsize 0"},
        {GRID_NULL_BUF, XBUF_ERR_BAD_EXPORTER, "NULL buf"},
        {GRID_WRONG_FORMAT, XBUF_ERR_FORMAT, "format 'd' of size 8 with itemsize 4"},
        {GRID_HUGE_STRIDE, XBUF_ERR_BAD_EXPORTER, "overflows"},
        {GRID_BAD_RELEASER, XBUF_ERR_BAD_EXPORTER, "releaser that is not a live object"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        grid_state g;
        xbuf_object *obj;
        xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
        grid_init_2d(&g);
        obj = grid_new(&g);
        g.fault = cases[i].fault;
        CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_FULL_RO), cases[i].status, cases[i].needle);
        CHECK(v.releaser == NULL && v.buf == NULL);
        CHECK_EQ(xbuf_exports(obj), 0);
        CHECK_EQ(xbuf_refcount(obj), 1);
        /* The abandoned view went back to the exporter, also when its releaser was garbage. */
        CHECK_EQ(g.releases, 1);
        CHECK_OK(xbuf_decref(obj));
    }
}

/* An object that only receives views other exporters name it the releaser of. */
typedef struct {
    int releases;
    void *last_internal;
} sink_state;

static void sink_releasebuffer(xbuf_object *self, xbuf_bufferinfo *view) {
    sink_state *st = (sink_state *)xbuf_object_state(self);
    if (view != NULL) {
        st->releases++;
        st->last_internal = view->internal;
    }
}

static xbuf_object *sink_new(sink_state *st) {
    xbuf_type t;
    xbuf_object *obj = NULL;
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = "sink";
    t.releasebuffer = sink_releasebuffer;
    memset(st, 0, sizeof *st);
    CHECK_OK(xbuf_object_new(&t, st, &obj));
    return obj;
}

static void test_named_releasers(void) {
    grid_state g;
    sink_state st;
    xbuf_object *obj, *sink, *gone = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    grid_init_2d(&g);
    obj = grid_new(&g);
    sink = sink_new(&st);

    /* A live releaser takes the export; the view goes back to it. */
    g.releaser = sink;
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK(v.releaser == sink);
    CHECK_EQ(xbuf_exports(sink), 1);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(st.releases, 1);
    CHECK(st.last_internal == &g.last_internal);
    CHECK_EQ(g.releases, 0);
    CHECK_EQ(xbuf_exports(sink), 0);

    /* A broken answer (ndim out of range) goes back to the object asked, not to the releaser
     * it names. */
    g.fault = GRID_NDIM_65;
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_FULL_RO), XBUF_ERR_BAD_EXPORTER, "ndim 65");
    CHECK_EQ(g.releases, 1);
    CHECK_EQ(st.releases, 1);
    CHECK_EQ(xbuf_exports(sink), 0);
    CHECK_EQ(xbuf_exports(obj), 0);
    g.fault = GRID_OK;

    /* A releaser that refuses the export (exclusive access held) gets the view back. */
    CHECK_OK(xbuf_exclusive_begin(sink));
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_FULL_RO), XBUF_ERR_BUSY, "exclusive access");
    CHECK_OK(xbuf_exclusive_end(sink));
    CHECK_EQ(st.releases, 2);
    CHECK_EQ(g.releases, 1);
    CHECK_EQ(xbuf_exports(sink), 0);
    CHECK_EQ(xbuf_exports(obj), 0);

    /* A releaser that was freed is recognised without reading it (valgrind sees any read), and
     * the view goes back to the exporter so that its setup does not leak. No object is made
     * between the free and the get, so that the address is not reused. */
    CHECK_OK(xbuf_bytearray_new("abc", 3, &gone));
    CHECK_OK(xbuf_decref(gone));
    g.releaser = gone;
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_FULL_RO), XBUF_ERR_BAD_EXPORTER, "not a live object");
    CHECK(v.releaser == NULL && v.buf == NULL);
    CHECK_EQ(g.releases, 2);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_EQ(xbuf_refcount(obj), 1);
    g.releaser = NULL;

    CHECK_OK(xbuf_decref(sink));
    CHECK_OK(xbuf_decref(obj));
}

static void test_release_paths(void) {
    grid_state g;
    xbuf_object *obj;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT, copy;
    grid_init_2d(&g);
    obj = grid_new(&g);
    CHECK_ERR(xbuf_release(NULL), XBUF_ERR_NULL_ARGUMENT, "'view'");
    CHECK_OK(xbuf_release(&v)); /* empty: no-op */
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    /* A copy of a filled view is refused (its inline pointers would point into the original). */
    memcpy(&copy, &v, sizeof v);
    CHECK_ERR(xbuf_release(&copy), XBUF_ERR_INVALID_ARGUMENT, "moved, copied or overwritten");
    CHECK_EQ(xbuf_exports(obj), 1);
    v.structsize = 4;
    CHECK_ERR(xbuf_release(&v), XBUF_ERR_STRUCT_TOO_OLD, "structsize is 4");
    v.structsize = sizeof v;
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_release(&v)); /* double release: no-op */
    CHECK_EQ(g.releases, 1);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

/* ---- Locks and exclusive access ----------------------------------------------------------- */

static void test_locks_and_exclusive(void) {
    grid_state g;
    xbuf_object *obj;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    grid_init_2d(&g);
    obj = grid_new(&g);
    CHECK_ERR(xbuf_unlock(obj), XBUF_ERR_INVALID_ARGUMENT, "holds no lock");
    CHECK_OK(xbuf_lock(obj));
    CHECK_OK(xbuf_lock(obj));
    CHECK_EQ(g.locks, 2);
    CHECK_EQ(xbuf_exports(obj), 2);
    CHECK_EQ(xbuf_refcount(obj), 3);
    CHECK_ERR(xbuf_exclusive_begin(obj), XBUF_ERR_BUSY, "has 2 exports (2 of them locks)");
    CHECK_OK(xbuf_unlock(obj));
    CHECK_OK(xbuf_unlock(obj));
    CHECK_EQ(g.unlocks, 2);
    CHECK_ERR(xbuf_unlock(obj), XBUF_ERR_INVALID_ARGUMENT, "holds no lock");
    CHECK_EQ(xbuf_exports(obj), 0);
    /* A view is an export too, but not a lock: unlock does not steal it. */
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_SIMPLE));
    CHECK_ERR(xbuf_unlock(obj), XBUF_ERR_INVALID_ARGUMENT, "holds no lock");
    CHECK_ERR(xbuf_exclusive_begin(obj), XBUF_ERR_BUSY, "has 1 export (0 of them locks)");
    CHECK_OK(xbuf_release(&v));
    /* Exclusive access blocks new exports until it ends. */
    CHECK_ERR(xbuf_exclusive_end(obj), XBUF_ERR_INVALID_ARGUMENT, "not held exclusively");
    CHECK_OK(xbuf_exclusive_begin(obj));
    CHECK_ERR(xbuf_exclusive_begin(obj), XBUF_ERR_BUSY, "already being changed");
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_SIMPLE), XBUF_ERR_BUSY, "exclusive access is held");
    CHECK_ERR(xbuf_lock(obj), XBUF_ERR_BUSY, "exclusive access is held");
    CHECK_OK(xbuf_exclusive_end(obj));
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_SIMPLE));
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static int failing_lock(xbuf_object *self) {
    (void)self;
    return xbuf_set_error(XBUF_ERR_UNSUPPORTED, "this object refuses locks");
}

static void test_lockbuffer_failure(void) {
    grid_state g;
    xbuf_type t = grid_type();
    xbuf_object *obj = NULL;
    grid_init_2d(&g);
    t.lockbuffer = failing_lock;
    CHECK_OK(xbuf_object_new(&t, &g, &obj));
    CHECK_ERR(xbuf_lock(obj), XBUF_ERR_UNSUPPORTED, "this object refuses locks");
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_EQ(xbuf_refcount(obj), 1);
    CHECK_OK(xbuf_decref(obj));
}

/* ---- Helpers ------------------------------------------------------------------------------ */

static void test_fill_info(void) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    char mem[10] = "abcdefghi";
    CHECK_OK(xbuf_fill_info(&v, NULL, mem, 9, 0, XBUF_FULL));
    CHECK(v.buf == mem);
    CHECK_EQ(v.len, 9);
    CHECK_EQ(v.itemsize, 1);
    CHECK_EQ(v.ndim, 1);
    CHECK_STR(v.format, "B");
    CHECK(v.shape == &v.len);
    CHECK(v.strides == &v.itemsize);
    CHECK(v.suboffsets == NULL && v.releaser == NULL);
    CHECK_OK(xbuf_fill_info(&v, NULL, mem, 9, 1, XBUF_SIMPLE));
    CHECK(v.format == NULL && v.shape == NULL && v.strides == NULL);
    CHECK_EQ(v.readonly, 1);
    CHECK_ERR(xbuf_fill_info(&v, NULL, mem, 9, 1, XBUF_WRITABLE), XBUF_ERR_READONLY, "read-only");
    CHECK_ERR(xbuf_fill_info(NULL, NULL, mem, 9, 0, XBUF_SIMPLE), XBUF_ERR_NULL_ARGUMENT, "'view'");
    CHECK_ERR(xbuf_fill_info(&v, NULL, mem, -1, 0, XBUF_SIMPLE), XBUF_ERR_INVALID_ARGUMENT, "len is -1");
    CHECK_ERR(xbuf_fill_info(&v, NULL, NULL, 3, 0, XBUF_SIMPLE), XBUF_ERR_INVALID_ARGUMENT, "buf is NULL");
    CHECK_ERR(xbuf_fill_info(&v, NULL, mem, 3, 0, 0x400), XBUF_ERR_INVALID_ARGUMENT, "unknown bits");
    v.structsize = 16;
    CHECK_ERR(xbuf_fill_info(&v, NULL, mem, 3, 0, XBUF_SIMPLE), XBUF_ERR_STRUCT_TOO_OLD, "structsize is 16");
}

/* An exporter built on xbuf_fill_info, the way CPython's bytes-like objects are. */
static int fill_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    return xbuf_fill_info(view, NULL, xbuf_object_state(self), 5, 1, flags);
}

static void test_fill_info_exporter(void) {
    static char text[] = "hello";
    xbuf_type t;
    xbuf_object *obj = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = "filler";
    t.getbuffer = fill_getbuffer;
    CHECK_OK(xbuf_object_new(&t, text, &obj));
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK_EQ(v.len, 5);
    CHECK_EQ(v.shape[0], 5);
    CHECK_EQ(v.strides[0], 1);
    CHECK_STR(v.format, "B");
    CHECK(memcmp(v.buf, "hello", 5) == 0);
    CHECK_OK(xbuf_release(&v));
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_WRITABLE), XBUF_ERR_READONLY, "xbuf_get_buffer: ");
    CHECK_OK(xbuf_decref(obj));
}

static void test_is_contiguous_hand_built(void) {
    /* Consumers may describe memory by hand and ask the helpers about it. */
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    ptrdiff_t shape[2] = {2, 3}, strides[2] = {24, 8};
    double mem[6];
    v.buf = mem;
    v.itemsize = 8;
    v.len = 48;
    v.ndim = 2;
    v.shape = shape;
    v.strides = strides;
    CHECK_EQ(xbuf_is_contiguous(&v, 'C'), 1);
    CHECK_EQ(xbuf_is_contiguous(&v, 'F'), 0);
    strides[0] = 8;
    strides[1] = 16;
    CHECK_EQ(xbuf_is_contiguous(&v, 'F'), 1);
    CHECK_EQ(xbuf_is_contiguous(&v, 'C'), 0);
    strides[1] = 32; /* gaps */
    CHECK_EQ(xbuf_is_contiguous(&v, 'A'), 0);
    v.strides = NULL; /* no strides means C order */
    CHECK_EQ(xbuf_is_contiguous(&v, 'C'), 1);
    CHECK_EQ(xbuf_is_contiguous(&v, 'F'), 0);
    /* Bad input answers 0 and says why. */
    CHECK_EQ(xbuf_is_contiguous(&v, 'X'), 0);
    CHECK(strstr(xbuf_last_error_message(), "order must be 'C', 'F' or 'A', got 'X'") != NULL);
    CHECK_EQ(xbuf_is_contiguous(NULL, 'C'), 0);
    CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_NULL_ARGUMENT);
    v.len = 47;
    CHECK_EQ(xbuf_is_contiguous(&v, 'C'), 0);
    CHECK(strstr(xbuf_last_error_message(), "disagrees with shape") != NULL);
    {
        xbuf_bufferinfo empty = XBUF_BUFFERINFO_INIT;
        CHECK_EQ(xbuf_is_contiguous(&empty, 'C'), 0);
        CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_RELEASED);
    }
    v.len = 48;
    v.ndim = 65;
    CHECK_EQ(xbuf_is_contiguous(&v, 'C'), 0);
    CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_INVALID_ARGUMENT);
}

static void test_fill_contiguous_strides(void) {
    ptrdiff_t shape[3] = {2, 3, 4}, strides[3] = {-1, -1, -1};
    ptrdiff_t huge[2] = {PTRDIFF_MAX / 2, 3};
    CHECK_OK(xbuf_fill_contiguous_strides(3, shape, 8, strides, 'C'));
    CHECK_EQ(strides[0], 96);
    CHECK_EQ(strides[1], 32);
    CHECK_EQ(strides[2], 8);
    CHECK_OK(xbuf_fill_contiguous_strides(3, shape, 8, strides, 'F'));
    CHECK_EQ(strides[0], 8);
    CHECK_EQ(strides[1], 16);
    CHECK_EQ(strides[2], 48);
    CHECK_OK(xbuf_fill_contiguous_strides(3, shape, 2, strides, 'A'));
    CHECK_EQ(strides[0], 24);
    CHECK_OK(xbuf_fill_contiguous_strides(0, NULL, 2, NULL, 'C'));
    CHECK_ERR(xbuf_fill_contiguous_strides(3, NULL, 8, strides, 'C'), XBUF_ERR_NULL_ARGUMENT, "'shape'");
    CHECK_ERR(xbuf_fill_contiguous_strides(3, shape, 8, NULL, 'C'), XBUF_ERR_NULL_ARGUMENT, "'strides'");
    CHECK_ERR(xbuf_fill_contiguous_strides(65, shape, 8, strides, 'C'), XBUF_ERR_INVALID_ARGUMENT, "ndim is 65");
    CHECK_ERR(xbuf_fill_contiguous_strides(-1, shape, 8, strides, 'C'), XBUF_ERR_INVALID_ARGUMENT, "ndim is -1");
    CHECK_ERR(xbuf_fill_contiguous_strides(3, shape, 0, strides, 'C'), XBUF_ERR_INVALID_ARGUMENT, "itemsize is 0");
    CHECK_ERR(xbuf_fill_contiguous_strides(3, shape, 8, strides, 'Q'), XBUF_ERR_INVALID_ARGUMENT, "got 'Q'");
    strides[0] = 5;
    CHECK_ERR(xbuf_fill_contiguous_strides(2, huge, 8, strides, 'C'), XBUF_ERR_OVERFLOW, "overflows");
    CHECK_EQ(strides[0], 5); /* unchanged on failure */
    /* Without items the strides are never used: beside a zero extent an overflowing one is
     * PTRDIFF_MAX instead of an error. */
    {
        ptrdiff_t empty[3] = {0, PTRDIFF_MAX, 1};
        CHECK_OK(xbuf_fill_contiguous_strides(3, empty, 8, strides, 'C'));
        CHECK(strides[0] == PTRDIFF_MAX && strides[1] == 8 && strides[2] == 8);
    }
    shape[1] = -3;
    CHECK_ERR(xbuf_fill_contiguous_strides(3, shape, 8, strides, 'C'), XBUF_ERR_INVALID_ARGUMENT, "shape[1] is -3");
}

static void test_get_pointer(void) {
    grid_state g;
    xbuf_object *obj;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    ptrdiff_t idx[2] = {2, 3};
    void *p = (void *)&g;
    grid_init_2d(&g);
    obj = grid_new(&g);
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK_OK(xbuf_get_pointer(&v, idx, &p));
    CHECK(p == g.data + 2 * 16 + 3 * 4);
    idx[0] = -3;
    idx[1] = -4;
    CHECK_OK(xbuf_get_pointer(&v, idx, &p));
    CHECK(p == g.data);
    idx[0] = 3;
    CHECK_ERR(xbuf_get_pointer(&v, idx, &p), XBUF_ERR_OUT_OF_BOUNDS, "index 3 is out of bounds for dimension 0 of extent 3");
    CHECK(p == NULL);
    idx[0] = 0;
    idx[1] = -5;
    CHECK_ERR(xbuf_get_pointer(&v, idx, &p), XBUF_ERR_OUT_OF_BOUNDS, "index -5");
    CHECK_ERR(xbuf_get_pointer(NULL, idx, &p), XBUF_ERR_NULL_ARGUMENT, "'view'");
    CHECK_ERR(xbuf_get_pointer(&v, NULL, &p), XBUF_ERR_NULL_ARGUMENT, "'indices'");
    CHECK_ERR(xbuf_get_pointer(&v, idx, NULL), XBUF_ERR_NULL_ARGUMENT, "'out'");
    CHECK_OK(xbuf_release(&v));
    CHECK_ERR(xbuf_get_pointer(&v, idx, &p), XBUF_ERR_RELEASED, "empty");
    /* Without strides (a CONTIG request) the C layout is implied. */
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_CONTIG_RO));
    CHECK(v.strides == NULL);
    idx[0] = 1;
    idx[1] = 2;
    CHECK_OK(xbuf_get_pointer(&v, idx, &p));
    CHECK(p == g.data + 16 + 8);
    CHECK_OK(xbuf_release(&v));
    /* Without shape: one dimension of len / itemsize items. */
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_SIMPLE));
    idx[0] = 11;
    CHECK_OK(xbuf_get_pointer(&v, idx, &p));
    CHECK(p == g.data + 44);
    idx[0] = 12;
    CHECK_ERR(xbuf_get_pointer(&v, idx, &p), XBUF_ERR_OUT_OF_BOUNDS, "extent 12");
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_decref(obj));
}

static void test_layout_storage_kinds(void) {
    /* Long formats and many dimensions use heap storage; everything still reads back and is
     * freed on release (checked by the sanitizer and valgrind runs). */
    grid_state g;
    xbuf_object *obj;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    grid_init_2d(&g);
    g.ndim = 3;
    g.shape[0] = 2;
    g.shape[1] = 2;
    g.shape[2] = 2;
    g.strides[0] = 32;
    g.strides[1] = 16;
    g.strides[2] = 8;
    g.itemsize = 8;
    g.format = "<ii";
    obj = grid_new(&g);
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK_STR(v.format, "<ii");
    CHECK_EQ(v.shape[2], 2);
    CHECK_EQ(v.strides[0], 32);
    CHECK_OK(xbuf_release(&v));
    g.format = "<iiiiiiiiiiiiiiiiiiiiiiii"; /* too long to keep inline */
    g.itemsize = 96;
    g.strides[0] = 384;
    g.strides[1] = 192;
    g.strides[2] = 96;
    g.shape[0] = 1;
    g.shape[1] = 1;
    g.shape[2] = 1;
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK_STR(v.format, "<iiiiiiiiiiiiiiiiiiiiiiii");
    CHECK_EQ(v.shape[0], 1);
    CHECK_EQ(v.strides[2], 96);
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_decref(obj));
}

XBUF_TEST_MAIN(XT_CASE(test_status_names), XT_CASE(test_last_error), XT_CASE(test_version),
               XT_CASE(test_object_lifecycle), XT_CASE(test_object_new_errors),
               XT_CASE(test_not_an_object), XT_CASE(test_object_getters_null),
               XT_CASE(test_built_in_state_is_null), XT_CASE(test_double_decref_refused_while_exported),
               XT_CASE(test_get_full_2d), XT_CASE(test_get_simple_and_strided_requests),
               XT_CASE(test_get_suboffsets), XT_CASE(test_get_zero_dim_and_empty),
               XT_CASE(test_get_buffer_errors), XT_CASE(test_exporter_failures_propagate),
               XT_CASE(test_broken_answers_are_refused), XT_CASE(test_named_releasers),
               XT_CASE(test_release_paths),
               XT_CASE(test_locks_and_exclusive), XT_CASE(test_lockbuffer_failure),
               XT_CASE(test_fill_info), XT_CASE(test_fill_info_exporter),
               XT_CASE(test_is_contiguous_hand_built), XT_CASE(test_fill_contiguous_strides),
               XT_CASE(test_get_pointer), XT_CASE(test_layout_storage_kinds))
