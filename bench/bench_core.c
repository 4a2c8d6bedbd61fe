/*
 * Benchmarks of the protocol core and the copy kernels, as medians and as ratios against
 * baselines measured in the same run:
 *   - per-call costs: get + release (SIMPLE on a bytearray, FULL_RO on a strided 2-D ndarray and
 *     through an xbuf_view of it, two threads on one object), slicing a 2-D view, 8x8 and
 *     64-item copies, against CPython's PyObject_GetBuffer + PyBuffer_Release on a bytearray
 *     and on the equivalent NumPy array, and memoryview's m[1:30:2], when built with Python
 *     embedded (NumPy from the site directory of the Python CMake found);
 *   - copies: transposes, gathers, permutations, negative strides and small arrays through
 *     xbuf_to_contiguous and xbuf_copy, against memcpy of the same bytes; equality against
 *     memcmp;
 *   - thread scaling: the large copies and the large comparison with the thread cap
 *     (xbuf_set_max_threads) at 1, 2, ... up to the default cap, against single-thread memcpy
 *     and memcmp of the same bytes, every configuration timed in turn within each repetition.
 * Not a test: it never fails on slowness. Usage: bench_core [--quick] [--scaling | --calls]
 * (--scaling: the thread-scaling table only; --calls: the per-call costs only), or bench_core --case NAME N: N calls of one
 * per-call case and nothing else, for instruction counts under callgrind (NAME: simple, full,
 * view_full, slice, t8x8, copy64, xcopy_t8x8, xcopy64, floor, checked, cpy_simple, cpy_full, cpy_slice,
 * cpy_mv_simple). floor and checked are the SIMPLE round-trip prototypes of floor.h.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../c_tests/xbuf_describe.h"
#include "bench_util.h"
#include "floor.h"

#ifdef XBUF_BENCH_CPYTHON
#include <Python.h>
#endif

static int quick = 0;

/* ---- Per-call costs -------------------------------------------------------------------- */

/* One per-call case: `run(ctx, iters)` performs `iters` calls. */
typedef struct {
    const char *name;
    void (*run)(void *ctx, int iters);
    void *ctx;
} call_case;

/* Median ns per call of each case over `samples` rounds; every round times each case once, in
 * turn (interleaved), so that a slow phase of the machine falls on all of them alike. */
static void time_interleaved(call_case *cases, int ncases, double *out, int samples, int iters) {
    static double t[16][64];
    int s, c;
    for (s = 0; s < samples; s++)
        for (c = 0; c < ncases; c++) {
            double t0 = wall_ns();
            cases[c].run(cases[c].ctx, iters);
            t[c][s] = (wall_ns() - t0) / iters;
        }
    for (c = 0; c < ncases; c++) out[c] = median(t[c], samples);
}

typedef struct {
    xbuf_object *obj;
    int flags;
} get_ctx;

static void run_get_release(void *p, int iters) {
    get_ctx *g = (get_ctx *)p;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    int i;
    for (i = 0; i < iters; i++) {
        if (xbuf_get_buffer(g->obj, &v, g->flags) != XBUF_OK) must(1, "get_buffer");
        xbuf_release(&v);
    }
}

/* The prototypes of bench/floor.h, on an object of their own. */
typedef struct {
    proto_cell cell;
    proto_object obj;
    int (*get)(proto_object *, xbuf_bufferinfo *, int);
    int (*release)(xbuf_bufferinfo *);
} proto_ctx;

static void run_proto(void *p, int iters) {
    proto_ctx *g = (proto_ctx *)p;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    int i;
    for (i = 0; i < iters; i++) {
        if (g->get(&g->obj, &v, XBUF_SIMPLE) != 0) must(1, "prototype get");
        g->release(&v);
    }
}

typedef struct {
    xbuf_object *view;
    xbuf_range range;
} slice_ctx;

static void run_slice(void *p, int iters) {
    slice_ctx *c = (slice_ctx *)p;
    xbuf_object *out;
    int i;
    for (i = 0; i < iters; i++) {
        if (xbuf_view_slice(c->view, &c->range, 1, &out) != XBUF_OK) must(1, "slice");
        xbuf_decref(out);
    }
}

typedef struct {
    void *dst;
    size_t len;
    xbuf_bufferinfo src;
} copy_ctx;

typedef struct {
    xbuf_bufferinfo dst, src;
} view_copy_ctx;

static void run_view_copy(void *p, int iters) {
    view_copy_ctx *c = (view_copy_ctx *)p;
    int i;
    for (i = 0; i < iters; i++)
        if (xbuf_copy(&c->dst, &c->src) != XBUF_OK) must(1, "copy");
}

static void run_to_contiguous(void *p, int iters) {
    copy_ctx *c = (copy_ctx *)p;
    int i;
    for (i = 0; i < iters; i++)
        if (xbuf_to_contiguous(c->dst, c->len, &c->src, 'C') != XBUF_OK) must(1, "to_contiguous");
}

typedef struct {
    xbuf_object *obj;
    int iters;
    double ns;
} thread_arg;

static void *thread_round_trip(void *p) {
    thread_arg *a = (thread_arg *)p;
    get_ctx g;
    call_case c;
    g.obj = a->obj;
    g.flags = XBUF_SIMPLE;
    c.name = "thread";
    c.run = run_get_release;
    c.ctx = &g;
    time_interleaved(&c, 1, &a->ns, 9, a->iters);
    return NULL;
}

#ifdef XBUF_BENCH_CPYTHON
typedef struct {
    PyObject *obj;
    int flags;
} cpy_get_ctx;

static void run_cpy_get_release(void *p, int iters) {
    cpy_get_ctx *g = (cpy_get_ctx *)p;
    Py_buffer v;
    int i;
    for (i = 0; i < iters; i++) {
        if (PyObject_GetBuffer(g->obj, &v, g->flags) != 0) exit(1);
        PyBuffer_Release(&v);
    }
}

typedef struct {
    PyObject *mv;
    PyObject *key;
} cpy_slice_ctx;

static void run_cpy_slice(void *p, int iters) {
    cpy_slice_ctx *c = (cpy_slice_ctx *)p;
    int i;
    for (i = 0; i < iters; i++) {
        PyObject *r = PyObject_GetItem(c->mv, c->key);
        if (!r) exit(1);
        Py_DECREF(r);
    }
}

/* The interpreter with the site directory of the Python CMake found (a virtual environment's,
 * with NumPy), so that NumPy's own exporter can be measured. NULL when NumPy is missing. */
static PyObject *numpy_strided(void) {
    PyObject *r;
    Py_Initialize();
#ifdef XBUF_BENCH_SITEARCH
    {
        PyObject *site = PyImport_ImportModule("site");
        if (site) {
            PyObject *x = PyObject_CallMethod(site, "addsitedir", "s", XBUF_BENCH_SITEARCH);
            Py_XDECREF(x);
            Py_DECREF(site);
        }
        PyErr_Clear();
    }
#endif
    {
        PyObject *np = PyImport_ImportModule("numpy"), *zeros, *key;
        if (!np) {
            PyErr_Clear();
            return NULL;
        }
        /* (64, 128) float64, every second column: shape (64, 64), strides (1024, 16). */
        zeros = PyObject_CallMethod(np, "zeros", "((ii))", 64, 128);
        key = Py_BuildValue("(NN)", PySlice_New(NULL, NULL, NULL),
                            PySlice_New(NULL, NULL, PyLong_FromLong(2)));
        r = PyObject_GetItem(zeros, key);
        Py_DECREF(key);
        Py_DECREF(zeros);
        Py_DECREF(np);
    }
    return r;
}
#endif

enum {
    CASE_SIMPLE,
    CASE_FULL,
    CASE_VIEW_FULL,
    CASE_SLICE,
    CASE_T8X8,
    CASE_COPY64,
    CASE_XCOPY_T8X8,
    CASE_XCOPY64,
    CASE_FLOOR,
    CASE_CHECKED,
    XBUF_CASES,
    CASE_CPY_SIMPLE = XBUF_CASES,
    CASE_CPY_FULL,
    CASE_CPY_SLICE,
    CASE_CPY_MV_SIMPLE,
    ALL_CASES
};
static const char *case_names[ALL_CASES] = {"simple", "full", "view_full", "slice", "t8x8", "copy64",
                                            "xcopy_t8x8", "xcopy64", "floor", "checked",
                                            "cpy_simple", "cpy_full", "cpy_slice", "cpy_mv_simple"};

/* The per-call cases, made once. */
typedef struct {
    xbuf_object *ba, *nd, *view;
    get_ctx simple, full, view_full;
    slice_ctx slice;
    copy_ctx t8x8, copy64;
    view_copy_ctx xcopy_t8x8, xcopy64;
    proto_ctx floor, checked;
    char proto_mem[4096];
    float src[64], dst[64];
    ptrdiff_t t_shape[2], t_strides[2], d_strides[2], c_shape[1], c_strides[1];
    call_case cases[ALL_CASES];
    int ncases;
#ifdef XBUF_BENCH_CPYTHON
    PyObject *pba, *pmv, *pnd, *pndmv;
    cpy_get_ctx cpy_simple, cpy_full, cpy_mv_simple;
    cpy_slice_ctx cpy_slice;
#endif
} call_cases;

static void make_cases(call_cases *k, int with_python) {
    /* (64, 128) float64, every second column: shape (64, 64), strides (1024, 16). */
    ptrdiff_t shape[2] = {64, 64}, strides[2] = {128 * 8, 16};
    int c;
    (void)with_python;
    memset(k, 0, sizeof *k);
    must(xbuf_bytearray_new(NULL, 4096, &k->ba), "bytearray");
    {
        static double zeros[64 * 128];
        must(xbuf_ndarray_new(zeros, sizeof zeros, "d", 2, shape, strides, 0, 0, &k->nd), "ndarray");
    }
    must(xbuf_view_new(k->nd, XBUF_FULL_RO, &k->view), "view");
    k->simple.obj = k->ba;
    k->simple.flags = XBUF_SIMPLE;
    k->full.obj = k->nd;
    k->full.flags = XBUF_FULL_RO;
    k->view_full.obj = k->view;
    k->view_full.flags = XBUF_FULL_RO;
    k->slice.view = k->view;
    k->slice.range.start = 1;
    k->slice.range.stop = 30;
    k->slice.range.step = 2;
    k->t_shape[0] = k->t_shape[1] = 8;
    k->t_strides[0] = 4;
    k->t_strides[1] = 32;
    k->t8x8.dst = k->dst;
    k->t8x8.len = sizeof k->dst;
    k->t8x8.src = describe(k->src, "f", 4, 2, k->t_shape, k->t_strides);
    k->c_shape[0] = 64;
    k->c_strides[0] = 4;
    k->copy64.dst = k->dst;
    k->copy64.len = sizeof k->dst;
    k->copy64.src = describe(k->src, "f", 4, 1, k->c_shape, k->c_strides);
    k->cases[CASE_SIMPLE] = (call_case){"xbuf bytearray, XBUF_SIMPLE", run_get_release, &k->simple};
    k->cases[CASE_FULL] = (call_case){"xbuf strided 2-D float64, XBUF_FULL_RO", run_get_release, &k->full};
    k->cases[CASE_VIEW_FULL] = (call_case){"xbuf view of it, XBUF_FULL_RO", run_get_release, &k->view_full};
    k->cases[CASE_SLICE] = (call_case){"xbuf view [1:30:2], new view + drop", run_slice, &k->slice};
    k->xcopy_t8x8.src = k->t8x8.src;
    k->d_strides[0] = 32;
    k->d_strides[1] = 4;
    k->xcopy_t8x8.dst = describe(k->dst, "f", 4, 2, k->t_shape, k->d_strides);
    k->xcopy64.src = k->copy64.src;
    k->xcopy64.dst = describe(k->dst, "f", 4, 1, k->c_shape, k->c_strides);
    k->cases[CASE_T8X8] = (call_case){"xbuf 8x8 float32 transpose, to C order", run_to_contiguous, &k->t8x8};
    k->cases[CASE_COPY64] = (call_case){"xbuf 64 float32 contiguous, to C order", run_to_contiguous, &k->copy64};
    k->cases[CASE_XCOPY_T8X8] = (call_case){"xbuf 8x8 float32 transpose, xbuf_copy", run_view_copy, &k->xcopy_t8x8};
    k->cases[CASE_XCOPY64] = (call_case){"xbuf 64 float32 contiguous, xbuf_copy", run_view_copy, &k->xcopy64};
    {
        proto_ctx *p[2] = {&k->floor, &k->checked};
        for (c = 0; c < 2; c++) {
            p[c]->cell.ptr = k->proto_mem;
            p[c]->cell.len = sizeof k->proto_mem;
            p[c]->obj.magic = PROTO_LIVE;
            p[c]->obj.word = 1;
            p[c]->obj.cell = &p[c]->cell;
            p[c]->obj.ignores_views = 1;
        }
        k->floor.get = floor_get;
        k->floor.release = floor_release;
        k->checked.get = checked_get;
        k->checked.release = checked_release;
    }
    k->cases[CASE_FLOOR] =
        (call_case){"C prototype: 2 atomics + fill (floor.h)", run_proto, &k->floor};
    k->cases[CASE_CHECKED] =
        (call_case){"C prototype: + the header's checks", run_proto, &k->checked};
    k->ncases = XBUF_CASES;
#ifdef XBUF_BENCH_CPYTHON
    if (with_python) {
        k->pnd = numpy_strided();
        k->pba = PyByteArray_FromStringAndSize(NULL, 4096);
        k->pmv = PyMemoryView_FromObject(k->pba);
        k->cpy_simple.obj = k->pba;
        k->cpy_simple.flags = PyBUF_SIMPLE;
        k->cpy_mv_simple.obj = k->pmv;
        k->cpy_mv_simple.flags = PyBUF_SIMPLE;
        k->cases[CASE_CPY_SIMPLE] = (call_case){"CPython bytearray, PyBUF_SIMPLE", run_cpy_get_release, &k->cpy_simple};
        k->cases[CASE_CPY_MV_SIMPLE] =
            (call_case){"CPython memoryview, PyBUF_SIMPLE", run_cpy_get_release, &k->cpy_mv_simple};
        if (k->pnd) {
            k->pndmv = PyMemoryView_FromObject(k->pnd);
            k->cpy_full.obj = k->pnd;
            k->cpy_full.flags = PyBUF_FULL_RO;
            k->cpy_slice.mv = k->pndmv;
            k->cpy_slice.key = PySlice_New(PyLong_FromLong(1), PyLong_FromLong(30), PyLong_FromLong(2));
            k->cases[CASE_CPY_FULL] =
                (call_case){"NumPy strided 2-D float64, PyBUF_FULL_RO", run_cpy_get_release, &k->cpy_full};
            k->cases[CASE_CPY_SLICE] =
                (call_case){"memoryview of it, m[1:30:2] (PyObject_GetItem)", run_cpy_slice, &k->cpy_slice};
        }
        k->ncases = ALL_CASES;
    }
#endif
    for (c = 0; c < ALL_CASES; c++)
        if (!k->cases[c].run) k->cases[c].name = NULL;
}

static void free_cases(call_cases *k) {
    must(xbuf_decref(k->view), "decref");
    must(xbuf_decref(k->nd), "decref");
    must(xbuf_decref(k->ba), "decref");
}

/* `bench_core --case NAME N`: one case, N calls, nothing else (for callgrind). */
static int run_one_case(const char *name, int iters) {
    call_cases k;
    int c;
    make_cases(&k, strncmp(name, "cpy_", 4) == 0);
    for (c = 0; c < ALL_CASES; c++)
        if (strcmp(case_names[c], name) == 0 && k.cases[c].run) {
            k.cases[c].run(k.cases[c].ctx, iters);
            free_cases(&k);
            return 0;
        }
    fprintf(stderr, "unknown or unavailable case '%s'\n", name);
    return 2;
}

static void bench_calls(void) {
    static const int pairs[][2] = {
        {CASE_SIMPLE, CASE_CPY_SIMPLE}, {CASE_FULL, CASE_CPY_FULL}, {CASE_VIEW_FULL, CASE_CPY_FULL},
        {CASE_SLICE, CASE_CPY_SLICE},   {CASE_T8X8, -1},             {CASE_COPY64, -1},
        {CASE_XCOPY_T8X8, -1},          {CASE_XCOPY64, -1},          {CASE_FLOOR, CASE_CPY_SIMPLE},
        {CASE_CHECKED, CASE_CPY_SIMPLE},
    };
    int iters = quick ? 100000 : 1000000, samples = quick ? 5 : 15;
    double ns[ALL_CASES];
    call_cases k;
    pthread_t th[2];
    thread_arg args[2];
    int c, j;
    make_cases(&k, 1);
    time_interleaved(k.cases, k.ncases, ns, samples, iters);
    for (c = 0; c < 2; c++) {
        args[c].obj = k.ba;
        args[c].iters = iters;
        pthread_create(&th[c], NULL, thread_round_trip, &args[c]);
    }
    for (c = 0; c < 2; c++) pthread_join(th[c], NULL);

    printf("\n== per-call costs (median ns per call; baselines measured in the same rounds)\n");
    printf("%-46s %8s   %-48s %8s %7s\n", "case", "ns", "baseline", "ns", "ratio");
    for (j = 0; j < (int)(sizeof pairs / sizeof pairs[0]); j++) {
        int a = pairs[j][0], b = pairs[j][1];
        if (b >= 0 && b < k.ncases && k.cases[b].name)
            printf("%-46s %8.1f   %-48s %8.1f %6.2fx\n", k.cases[a].name, ns[a], k.cases[b].name, ns[b],
                   ns[a] / ns[b]);
        else
            printf("%-46s %8.1f   %-48s %8s %7s\n", k.cases[a].name, ns[a], "-", "-", "-");
    }
    if (k.ncases > CASE_CPY_MV_SIMPLE && k.cases[CASE_CPY_MV_SIMPLE].name)
        printf("%-46s %8s   %-48s %8.1f\n", "", "", k.cases[CASE_CPY_MV_SIMPLE].name, ns[CASE_CPY_MV_SIMPLE]);
    printf("%-46s %8.1f\n", "xbuf bytearray, 2 threads at once (thread 1)", args[0].ns);
    printf("%-46s %8.1f\n", "xbuf bytearray, 2 threads at once (thread 2)", args[1].ns);
    free_cases(&k);
}

/* ---- Copies ------------------------------------------------------------------------------ */

/* Median ns of one memcpy of n bytes (batches of `inner` copies for small sizes). */
static double time_memcpy(void *dst, const void *src, size_t n, int reps, int inner) {
    double t[64];
    int r, i;
    for (r = 0; r < reps; r++) {
        double t0 = wall_ns();
        for (i = 0; i < inner; i++) {
            memcpy(dst, src, n);
            __asm__ __volatile__("" : : "r"(dst) : "memory");
        }
        t[r] = (wall_ns() - t0) / inner;
    }
    return median(t, reps);
}

typedef enum { TO_CONTIGUOUS, VIEW_TO_VIEW } copy_kind;

static void copy_case(const char *name, copy_kind kind, const char *fmt, ptrdiff_t itemsize, int ndim,
                      ptrdiff_t *shape, ptrdiff_t *src_strides, ptrdiff_t src_offset, size_t src_bytes) {
    int reps = quick ? 5 : 11, r, d, i, inner;
    ptrdiff_t n = itemsize, dst_strides[8];
    char *src_mem, *dst;
    double t[64], base, ours;
    xbuf_bufferinfo sv, dv;
    for (d = 0; d < ndim; d++) n *= shape[d];
    src_mem = (char *)aligned_alloc(64, (src_bytes + 63) / 64 * 64);
    dst = (char *)aligned_alloc(64, ((size_t)n + 63) / 64 * 64 + 64);
    memset(src_mem, 1, src_bytes);
    memset(dst, 0, (size_t)n);
    sv = describe(src_mem + src_offset, fmt, itemsize, ndim, shape, src_strides);
    must(xbuf_fill_contiguous_strides(ndim, shape, itemsize, dst_strides, 'C'), "strides");
    dv = describe(dst, fmt, itemsize, ndim, shape, dst_strides);
    inner = n < (1 << 20) ? (int)((1 << 20) / n) : 1;
    base = time_memcpy(dst, src_mem, (size_t)n, reps, inner);
    for (r = 0; r < reps; r++) {
        double t0 = wall_ns();
        for (i = 0; i < inner; i++) {
            if (kind == TO_CONTIGUOUS) must(xbuf_to_contiguous(dst, (size_t)n, &sv, 'C'), name);
            else must(xbuf_copy(&dv, &sv), name);
        }
        t[r] = (wall_ns() - t0) / inner;
    }
    ours = median(t, reps);
    printf("%-48s %9.0f %9.2f %9.2f %8.2f\n", name, (double)n / 1024.0, base / 1e3, ours / 1e3, base / ours);
    free(src_mem);
    free(dst);
}

static void bench_copies(void) {
    ptrdiff_t big = quick ? 1024 : 4096;
    printf("\n== copies (median us; ratio = memcpy time / xbuf time, 1.00 = memcpy speed)\n");
    printf("%-48s %9s %9s %9s %8s\n", "case", "KiB", "memcpy", "xbuf", "ratio");
    {
        ptrdiff_t shape[1] = {big * big}, strides[1] = {4};
        copy_case("contiguous float32, to_contiguous", TO_CONTIGUOUS, "f", 4, 1, shape, strides, 0,
                  (size_t)(big * big * 4));
        copy_case("contiguous float32, view to view", VIEW_TO_VIEW, "f", 4, 1, shape, strides, 0,
                  (size_t)(big * big * 4));
    }
    {
        static const struct { const char *fmt; ptrdiff_t size; const char *name; } t[] = {
            {"B", 1, "2-D transpose uint8, to C order"},
            {"f", 4, "2-D transpose float32, to C order"},
            {"d", 8, "2-D transpose float64, to C order"},
        };
        int k;
        for (k = 0; k < 3; k++) {
            ptrdiff_t shape[2] = {big, big}, strides[2] = {t[k].size, big * t[k].size};
            copy_case(t[k].name, TO_CONTIGUOUS, t[k].fmt, t[k].size, 2, shape, strides, 0,
                      (size_t)(big * big * t[k].size));
        }
        {
            ptrdiff_t shape[2] = {big, big}, strides[2] = {4, big * 4};
            copy_case("2-D transpose float32, view to view", VIEW_TO_VIEW, "f", 4, 2, shape, strides, 0,
                      (size_t)(big * big * 4));
        }
    }
    {
        ptrdiff_t shape[2] = {big, big}, strides[2] = {big * 2 * 4, 8};
        copy_case("every second float32 of 4096x8192", TO_CONTIGUOUS, "f", 4, 2, shape, strides, 0,
                  (size_t)(big * big * 2 * 4));
    }
    {
        ptrdiff_t shape[2] = {big / 2, big}, strides[2] = {big * 2 * 4, 4};
        copy_case("every second row float32", TO_CONTIGUOUS, "f", 4, 2, shape, strides, 0,
                  (size_t)(big * big * 4));
    }
    {
        ptrdiff_t n = quick ? 128 : 256;
        /* Source C-ordered (n, n, n); the result's dimensions are its axes (2, 0, 1). */
        ptrdiff_t shape[3] = {n, n, n}, strides[3] = {8, n * n * 8, n * 8};
        copy_case("3-D float64 permuted (2,0,1), to C order", TO_CONTIGUOUS, "d", 8, 3, shape, strides, 0,
                  (size_t)(n * n * n * 8));
    }
    {
        ptrdiff_t shape[2] = {big, big}, strides[2] = {-big * 4, -4};
        copy_case("2-D float32 both strides negative", TO_CONTIGUOUS, "f", 4, 2, shape, strides,
                  (big * big - 1) * 4, (size_t)(big * big * 4));
    }
    {
        ptrdiff_t shape[2] = {8, 8}, strides[2] = {4, 32};
        copy_case("small: 8x8 float32 transpose", TO_CONTIGUOUS, "f", 4, 2, shape, strides, 0, 256);
    }
    {
        ptrdiff_t shape[1] = {64}, strides[1] = {4};
        copy_case("small: 64 float32 contiguous", TO_CONTIGUOUS, "f", 4, 1, shape, strides, 0, 256);
    }
}

/* ---- Equality -------------------------------------------------------------------------- */

/* A float32 view of `n` floats at `mem` taken every `step`-th (caller memory, no destructor). */
static xbuf_object *float_view(float *mem, ptrdiff_t n, ptrdiff_t step) {
    xbuf_object *w, *bytes, *f, *out;
    xbuf_range r = {XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, 0};
    must(xbuf_wrap_new(mem, (size_t)(n * step) * sizeof(float), 1, NULL, NULL, &w), "wrap");
    must(xbuf_view_new(w, XBUF_FULL_RO, &bytes), "view");
    must(xbuf_view_cast(bytes, "f", 0, NULL, &f), "cast");
    r.step = step;
    must(xbuf_view_slice(f, &r, 1, &out), "slice");
    xbuf_decref(f);
    xbuf_decref(bytes);
    xbuf_decref(w);
    return out;
}

static void bench_equality(void) {
    ptrdiff_t n = quick ? (1 << 20) : (16 << 20), k;
    int reps = quick ? 5 : 11, r, step, eq = 0;
    printf("\n== equality of two float32 views (median us; ratio = memcmp time / xbuf time)\n");
    printf("%-48s %9s %9s %9s %8s\n", "case", "KiB", "memcmp", "xbuf", "ratio");
    for (step = 1; step <= 2; step++) {
        float *a = (float *)malloc((size_t)(n * step) * sizeof(float));
        float *b = (float *)malloc((size_t)(n * step) * sizeof(float));
        double tm[64], tx[64];
        xbuf_object *va, *vb;
        for (k = 0; k < n * step; k++) a[k] = b[k] = (float)k * 0.5f;
        va = float_view(a, n, step);
        vb = float_view(b, n, step);
        for (r = 0; r < reps; r++) {
            double t0 = wall_ns();
            volatile int c = memcmp(a, b, (size_t)n * sizeof(float));
            (void)c;
            tm[r] = wall_ns() - t0;
            t0 = wall_ns();
            must(xbuf_view_equal(va, vb, &eq), "equal");
            tx[r] = wall_ns() - t0;
            if (!eq) must(1, "views unexpectedly unequal");
        }
        {
            double m = median(tm, reps), x = median(tx, reps);
            printf("%-48s %9.0f %9.2f %9.2f %8.2f\n",
                   step == 1 ? "16M float32, contiguous" : "16M float32, every second of 32M",
                   (double)n * 4 / 1024.0, m / 1e3, x / 1e3, m / x);
        }
        xbuf_decref(va);
        xbuf_decref(vb);
        free(a);
        free(b);
    }
}

/* ---- Thread scaling --------------------------------------------------------------------- */

/* The thread caps of the scaling table: 1, 2, ... up to `most` (at least 1 and 2), every
 * count up to 8, then 12, 16, 24, 32, 48, ... and `most` itself. Returns how many. */
static int scaling_caps(int most, int *caps, int room) {
    int n = 0, c = 1;
    if (most < 2) most = 2;
    while (c <= most && n < room - 1) {
        caps[n++] = c;
        if (c < 8) c++;
        else if ((c & (c - 1)) == 0) c += c / 2;
        else c = c / 3 * 4;
    }
    if (caps[n - 1] != most) caps[n++] = most;
    return n;
}

enum { SCALE_CONTIGUOUS, SCALE_TRANSPOSE, SCALE_EVERY_SECOND, SCALE_EQUAL, SCALE_CASES };

static void bench_scaling(void) {
    ptrdiff_t big = quick ? 1024 : 4096, n = big * big;
    size_t bytes = (size_t)n * sizeof(float);
    int reps = quick ? 5 : 11, r, c, k, ncaps, caps[40], most, eq = 0;
    float *src = (float *)aligned_alloc(64, bytes), *dst = (float *)aligned_alloc(64, bytes);
    float *wide = (float *)aligned_alloc(64, 2 * bytes), *same = (float *)aligned_alloc(64, bytes);
    ptrdiff_t cshape[1], cstrides[1] = {4}, tshape[2], tstrides[2], wshape[2], wstrides[2];
    xbuf_bufferinfo contiguous, transposed, every_second;
    xbuf_object *va, *vb;
    double *t[SCALE_CASES], tm[64], tc[64], memcpy_ns, memcmp_ns;
    static const char *names[SCALE_CASES] = {"contiguous", "transpose", "every 2nd", "equality"};
    ptrdiff_t k2;
    for (k2 = 0; k2 < n; k2++) src[k2] = same[k2] = (float)k2 * 0.5f;
    for (k2 = 0; k2 < 2 * n; k2++) wide[k2] = (float)k2;
    memset(dst, 0, bytes);
    cshape[0] = n;
    contiguous = describe(src, "f", 4, 1, cshape, cstrides);
    tshape[0] = tshape[1] = big;
    tstrides[0] = 4;
    tstrides[1] = big * 4;
    transposed = describe(src, "f", 4, 2, tshape, tstrides);
    wshape[0] = wshape[1] = big;
    wstrides[0] = big * 2 * 4;
    wstrides[1] = 8;
    every_second = describe(wide, "f", 4, 2, wshape, wstrides);
    va = float_view(src, n, 1);
    vb = float_view(same, n, 1);

    must(xbuf_set_max_threads(0), "set_max_threads");
    most = xbuf_get_max_threads();
    ncaps = scaling_caps(most, caps, 40);
    for (k = 0; k < SCALE_CASES; k++) t[k] = (double *)calloc((size_t)(ncaps * reps), sizeof(double));
    for (r = 0; r < reps; r++) {
        double t0 = wall_ns();
        memcpy(dst, src, bytes);
        __asm__ __volatile__("" : : "r"(dst) : "memory");
        tm[r] = wall_ns() - t0;
        t0 = wall_ns();
        {
            volatile int d = memcmp(src, same, bytes);
            (void)d;
        }
        tc[r] = wall_ns() - t0;
        for (c = 0; c < ncaps; c++) {
            must(xbuf_set_max_threads(caps[c]), "set_max_threads");
            t0 = wall_ns();
            must(xbuf_to_contiguous(dst, bytes, &contiguous, 'C'), "contiguous");
            t[SCALE_CONTIGUOUS][c * reps + r] = wall_ns() - t0;
            t0 = wall_ns();
            must(xbuf_to_contiguous(dst, bytes, &transposed, 'C'), "transpose");
            t[SCALE_TRANSPOSE][c * reps + r] = wall_ns() - t0;
            t0 = wall_ns();
            must(xbuf_to_contiguous(dst, bytes, &every_second, 'C'), "every second");
            t[SCALE_EVERY_SECOND][c * reps + r] = wall_ns() - t0;
            t0 = wall_ns();
            must(xbuf_view_equal(va, vb, &eq), "equal");
            t[SCALE_EQUAL][c * reps + r] = wall_ns() - t0;
            if (!eq) must(1, "views unexpectedly unequal");
        }
    }
    must(xbuf_set_max_threads(0), "set_max_threads");
    memcpy_ns = median(tm, reps);
    memcmp_ns = median(tc, reps);
    printf("\n== thread scaling (GB/s of result bytes, medians of %d; the default cap here is %d threads)\n", reps,
           most);
    printf("%.0f MiB each: contiguous float32 copy, %tdx%td float32 transpose to C order, every second float32\n",
           (double)bytes / (1 << 20), big, big);
    printf("of %tdx%td, equality of two %tdM float32 views; (x) = memcpy (memcmp) time / xbuf time\n", big,
           2 * big, n >> 20);
    printf("%-12s", "threads");
    for (k = 0; k < SCALE_CASES; k++) printf(" %17s", names[k]);
    printf("\n%-12s %9.2f (1.00) %9.2f (1.00) %9.2f (1.00) %9.2f (1.00)\n", "memcpy/cmp 1",
           (double)bytes / memcpy_ns, (double)bytes / memcpy_ns, (double)bytes / memcpy_ns,
           (double)bytes / memcmp_ns);
    for (c = 0; c < ncaps; c++) {
        printf("xbuf %-7d", caps[c]);
        for (k = 0; k < SCALE_CASES; k++) {
            double m = median(t[k] + c * reps, reps), base = k == SCALE_EQUAL ? memcmp_ns : memcpy_ns;
            printf(" %9.2f (%4.2f)", (double)bytes / m, base / m);
        }
        printf("\n");
    }
    for (k = 0; k < SCALE_CASES; k++) free(t[k]);
    xbuf_decref(va);
    xbuf_decref(vb);
    free(src);
    free(dst);
    free(wide);
    free(same);
}

int main(int argc, char **argv) {
    int k, only_scaling = 0, only_calls = 0;
    for (k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--case") == 0 && k + 2 < argc) return run_one_case(argv[k + 1], atoi(argv[k + 2]));
        if (strcmp(argv[k], "--quick") == 0) quick = 1;
        else if (strcmp(argv[k], "--scaling") == 0) only_scaling = 1;
        else if (strcmp(argv[k], "--calls") == 0) only_calls = 1;
    }
    printf("xbuf %s benchmarks%s\n", xbuf_version_string(), quick ? " (quick)" : "");
    if (only_calls) {
        bench_calls();
        return 0;
    }
    if (!only_scaling) {
        bench_calls();
        bench_copies();
        bench_equality();
    }
    bench_scaling();
    return 0;
}
