/*
 * A walk through xbuf: an exporter written in C, a consumer asking with different flags, a view
 * that outlives the object that lent it (the releaser field), a lock without a view, a resize
 * refused while exported, and a slice.
 *
 * Build and run:  cmake --preset default && cmake --build --preset default && build/default/tour
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xbuf.h"

/* Stops the tour with the library's message if a call that should succeed fails. */
#define MUST(call)                                                                       \
    do {                                                                                 \
        int rc_ = (call);                                                                \
        if (rc_ != XBUF_OK) {                                                            \
            fprintf(stderr, "%s failed: %s: %s\n", #call, xbuf_status_str(rc_),          \
                    xbuf_last_error_message());                                          \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

/* ---- 1. An exporter written in C: a read-only 3x4 matrix of floats -------------------- */

typedef struct {
    float cells[3][4];
    ptrdiff_t shape[2];
    ptrdiff_t strides[2];
} matrix;

static int matrix_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    matrix *m = (matrix *)xbuf_object_state(self);
    if (flags & XBUF_WRITABLE) {
        return xbuf_set_error(XBUF_ERR_READONLY, "the matrix is read-only");
    }
    /* Describe the whole layout; the library hands the consumer what its flags ask for, and
     * refuses requests the layout cannot meet. */
    view->buf = m->cells;
    view->len = sizeof m->cells;
    view->itemsize = sizeof(float);
    view->readonly = 1;
    view->ndim = 2;
    view->format = "f";
    view->shape = m->shape;
    view->strides = m->strides;
    return XBUF_OK;
}

static void matrix_dealloc(void *state) {
    printf("  (matrix dealloc: its memory is freed)\n");
    free(state);
}

static xbuf_object *matrix_new(void) {
    static const xbuf_type type = {sizeof(xbuf_type), "matrix", matrix_getbuffer, NULL, NULL, matrix_dealloc};
    matrix *m = (matrix *)malloc(sizeof *m);
    xbuf_object *obj = NULL;
    int r, c;
    for (r = 0; r < 3; r++)
        for (c = 0; c < 4; c++) m->cells[r][c] = (float)(10 * r + c);
    m->shape[0] = 3;
    m->shape[1] = 4;
    m->strides[0] = 4 * sizeof(float);
    m->strides[1] = sizeof(float);
    MUST(xbuf_object_new(&type, m, &obj));
    return obj;
}

static void print_view(const char *label, const xbuf_bufferinfo *v) {
    int i;
    printf("  %-22s len=%td itemsize=%td readonly=%d ndim=%d format=%s", label, v->len, v->itemsize,
           v->readonly, v->ndim, v->format ? v->format : "NULL (means \"B\")");
    if (v->shape) {
        printf(" shape=(");
        for (i = 0; i < v->ndim; i++) printf(i ? ",%td" : "%td", v->shape[i]);
        printf(")");
    } else {
        printf(" shape=NULL");
    }
    if (v->strides) {
        printf(" strides=(");
        for (i = 0; i < v->ndim; i++) printf(i ? ",%td" : "%td", v->strides[i]);
        printf(")");
    } else {
        printf(" strides=NULL");
    }
    printf("\n");
}

static void ask(xbuf_object *obj, const char *label, int flags) {
    xbuf_bufferinfo view = XBUF_BUFFERINFO_INIT;
    int rc = xbuf_get_buffer(obj, &view, flags);
    if (rc == XBUF_OK) {
        print_view(label, &view);
        MUST(xbuf_release(&view));
    } else {
        printf("  %-22s refused: %s\n  %-22s   %s\n", label, xbuf_status_str(rc), "", xbuf_last_error_message());
    }
}

static void tour_flags(void) {
    xbuf_object *m = matrix_new();
    xbuf_bufferinfo view = XBUF_BUFFERINFO_INIT;
    ptrdiff_t idx[2] = {2, 3};
    void *p = NULL;
    printf("1. A C exporter (a 3x4 float matrix) asked with different request flags:\n");
    ask(m, "XBUF_SIMPLE", XBUF_SIMPLE);
    ask(m, "XBUF_ND", XBUF_ND);
    ask(m, "XBUF_STRIDED_RO", XBUF_STRIDED_RO);
    ask(m, "XBUF_FULL_RO", XBUF_FULL_RO);
    ask(m, "XBUF_F_CONTIGUOUS", XBUF_F_CONTIGUOUS | XBUF_FORMAT);
    ask(m, "XBUF_FULL (writable)", XBUF_FULL);
    MUST(xbuf_get_buffer(m, &view, XBUF_FULL_RO));
    MUST(xbuf_get_pointer(&view, idx, &p));
    printf("  item [2][3] read through xbuf_get_pointer: %g\n", *(float *)p);
    printf("  C-contiguous: %d, Fortran-contiguous: %d\n", xbuf_is_contiguous(&view, 'C'),
           xbuf_is_contiguous(&view, 'F'));
    MUST(xbuf_release(&view));
    MUST(xbuf_decref(m));
}

/* ---- 2. The releaser field: A delegates to R, B's view outlives A --------------------- */

static int r_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    return xbuf_fill_info(view, NULL, xbuf_object_state(self), 16, 0, flags);
}
static void r_releasebuffer(xbuf_object *self, xbuf_bufferinfo *view) {
    (void)self;
    if (view) printf("  (R's releasebuffer: the view came back to R)\n");
}
static void r_dealloc(void *state) {
    printf("  (R's dealloc: the memory is freed)\n");
    free(state);
}

/* A lends R's memory as 4 int32 and names R as the releaser. */
static int a_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    static ptrdiff_t shape[1] = {4};
    xbuf_object *r = (xbuf_object *)xbuf_object_state(self);
    (void)flags;
    view->buf = xbuf_object_state(r);
    view->releaser = r;
    view->len = 16;
    view->itemsize = 4;
    view->ndim = 1;
    view->format = "=i";
    view->shape = shape;
    return XBUF_OK;
}
static void a_dealloc(void *state) {
    printf("  (A's dealloc: A is gone)\n");
    xbuf_unlock((xbuf_object *)state);
    xbuf_decref((xbuf_object *)state);
}

static void tour_releaser(void) {
    static const xbuf_type r_type = {sizeof(xbuf_type), "R", r_getbuffer, r_releasebuffer, NULL, r_dealloc};
    static const xbuf_type a_type = {sizeof(xbuf_type), "A", a_getbuffer, NULL, NULL, a_dealloc};
    int32_t *mem = (int32_t *)calloc(4, sizeof(int32_t));
    xbuf_object *R = NULL, *A = NULL;
    xbuf_bufferinfo B = XBUF_BUFFERINFO_INIT;
    printf("\n2. The releaser field: A keeps its memory in a hidden object R.\n");
    MUST(xbuf_object_new(&r_type, mem, &R));
    MUST(xbuf_lock(R)); /* A pins R's memory while it lends it; A's reference is R's creator's */
    MUST(xbuf_object_new(&a_type, R, &A));
    MUST(xbuf_get_buffer(A, &B, XBUF_FULL));
    printf("  B got a view from A; its releaser is %s; exports: A=%td, R=%td\n",
           xbuf_object_type_name(B.releaser), xbuf_exports(A), xbuf_exports(R));
    printf("  A's last reference goes:\n");
    MUST(xbuf_decref(A));
    ((int32_t *)B.buf)[3] = 1234;
    printf("  B still writes and reads R's memory: item 3 = %d, format \"%s\", shape (%td)\n",
           ((int32_t *)B.buf)[3], B.format, B.shape[0]);
    printf("  B releases its view:\n");
    MUST(xbuf_release(&B));
}

/* ---- 3. Locks, resizes and slices ---------------------------------------------------- */

static void tour_locks(void) {
    xbuf_object *ba = NULL, *slice = NULL;
    xbuf_bufferinfo view = XBUF_BUFFERINFO_INIT;
    int rc;
    printf("\n3. A lock needs no view; a resize waits for every export.\n");
    MUST(xbuf_bytearray_new("hello, world", 12, &ba));
    MUST(xbuf_lock(ba));
    printf("  locked the bytearray: exports = %td\n", xbuf_exports(ba));
    rc = xbuf_bytearray_resize(ba, 5);
    printf("  resize while locked: %s (%s)\n", xbuf_status_str(rc), xbuf_last_error_message());
    MUST(xbuf_unlock(ba));
    MUST(xbuf_get_buffer(ba, &view, XBUF_CONTIG));
    rc = xbuf_bytearray_resize(ba, 5);
    printf("  resize while a view lives: %s\n", xbuf_status_str(rc));
    MUST(xbuf_release(&view));
    MUST(xbuf_bytearray_resize(ba, 5));
    MUST(xbuf_get_buffer(ba, &view, XBUF_SIMPLE));
    printf("  resize after release: ok, now \"%.*s\"\n", (int)view.len, (char *)view.buf);
    MUST(xbuf_release(&view));

    printf("\n4. A slice: a window on a base that locks the base for its lifetime.\n");
    MUST(xbuf_bytearray_resize(ba, 12));
    MUST(xbuf_get_buffer(ba, &view, XBUF_CONTIG));
    memcpy(view.buf, "hello, world", 12);
    MUST(xbuf_release(&view));
    MUST(xbuf_slice_new(ba, 7, 5, &slice));
    MUST(xbuf_get_buffer(slice, &view, XBUF_CONTIG));
    printf("  slice [7, 12) reads \"%.*s\"; its view's releaser is the %s; base exports = %td\n",
           (int)view.len, (char *)view.buf, xbuf_object_type_name(view.releaser), xbuf_exports(ba));
    MUST(xbuf_decref(slice));
    memcpy(view.buf, "WORLD", 5);
    printf("  the slice is gone, its view lives and writes: base exports = %td\n", xbuf_exports(ba));
    MUST(xbuf_release(&view));
    MUST(xbuf_get_buffer(ba, &view, XBUF_SIMPLE));
    printf("  base now reads \"%.*s\"\n", (int)view.len, (char *)view.buf);
    MUST(xbuf_release(&view));
    MUST(xbuf_decref(ba));
}

int main(void) {
    printf("xbuf %s\n\n", xbuf_version_string());
    tour_flags();
    tour_releaser();
    tour_locks();
    printf("\ntour complete\n");
    return 0;
}
