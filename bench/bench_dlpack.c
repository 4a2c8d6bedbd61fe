/*
 * DLPack per-call costs, as medians of batches, with baselines measured in the same run (every
 * case timed in turn within each repetition):
 *   - export + import + release: xbuf_dlpack_export of an object, xbuf_dlpack_import of the
 *     tensor, xbuf_decref of the new object (which runs the tensor's deleter, which hands the
 *     export back): the whole exchange, for a 1-D bytearray and, with the versioned and the
 *     legacy structs, a 2-D float32 ndarray;
 *   - its parts: export + deleter, and import + decref of a producer's tensor;
 *   - export + deleter of an xbuf_view of the ndarray (the tensor made from the view's layout);
 *   - baselines: xbuf_get_buffer + xbuf_release of the same object (XBUF_FULL_RO), malloc +
 *     free of the 80 bytes a managed tensor takes, and memcpy of those 80 bytes.
 * Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that other processes on a
 * shared machine do not count. Not a test: it never fails on slowness.
 * Usage: bench_dlpack [--quick | --profile] [--case K]  (--profile: 1000 calls of each case, for
 * callgrind; --case K: only row K, counted from 0, so that `callgrind --toggle-collect=run`
 * divided by 1000 is the instructions per call of that case)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlpack.h"
#include "bench_util.h"

static int quick = 0;
static xbuf_object *bytes_obj; /* a 4096-byte bytearray */
static xbuf_object *view_obj;  /* an xbuf_view of the ndarray */

typedef enum { ROUND_TRIP_BYTES, ROUND_TRIP, ROUND_TRIP_LEGACY, EXPORT_DELETE, EXPORT_DELETE_VIEW, IMPORT_DECREF, GET_RELEASE, MALLOC_FREE, MEMCPY } bench_case;

static DLManagedTensorVersioned producer;
static int64_t producer_shape[2] = {64, 64};
static float producer_data[64 * 64];
static long producer_deleted;

static void producer_delete(DLManagedTensorVersioned *t) {
    (void)t;
    producer_deleted++;
}

/* ns per call of `c` on `obj`, over one batch of `iters` calls. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static double run(bench_case c, xbuf_object *obj, int iters) {
    int i;
    unsigned char src[80], dst[80];
    memset(src, 1, sizeof src);
    {
        double t0 = cpu_ns();
        for (i = 0; i < iters; i++) {
            DLManagedTensorVersioned *vt;
            DLManagedTensor *lt;
            xbuf_object *back;
            xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
            void *p;
            switch (c) {
            case ROUND_TRIP_BYTES:
                if (xbuf_dlpack_export(bytes_obj, 0, &vt) != XBUF_OK) must(1, "export");
                if (xbuf_dlpack_import(vt, &back) != XBUF_OK) must(1, "import");
                xbuf_decref(back);
                break;
            case ROUND_TRIP:
                if (xbuf_dlpack_export(obj, 0, &vt) != XBUF_OK) must(1, "export");
                if (xbuf_dlpack_import(vt, &back) != XBUF_OK) must(1, "import");
                xbuf_decref(back);
                break;
            case ROUND_TRIP_LEGACY:
                if (xbuf_dlpack_export_unversioned(obj, 0, &lt) != XBUF_OK) must(1, "export");
                if (xbuf_dlpack_import_unversioned(lt, &back) != XBUF_OK) must(1, "import");
                xbuf_decref(back);
                break;
            case EXPORT_DELETE:
                if (xbuf_dlpack_export(obj, 0, &vt) != XBUF_OK) must(1, "export");
                vt->deleter(vt);
                break;
            case EXPORT_DELETE_VIEW:
                if (xbuf_dlpack_export(view_obj, 0, &vt) != XBUF_OK) must(1, "export");
                vt->deleter(vt);
                break;
            case IMPORT_DECREF:
                if (xbuf_dlpack_import(&producer, &back) != XBUF_OK) must(1, "import");
                xbuf_decref(back);
                break;
            case GET_RELEASE:
                if (xbuf_get_buffer(obj, &v, XBUF_FULL_RO) != XBUF_OK) must(1, "get");
                xbuf_release(&v);
                break;
            case MALLOC_FREE:
                p = malloc(80);
                __asm__ __volatile__("" : : "r"(p) : "memory");
                free(p);
                break;
            case MEMCPY:
                memcpy(dst, src, sizeof dst);
                __asm__ __volatile__("" : : "r"(dst) : "memory");
                break;
            }
        }
        return (cpu_ns() - t0) / iters;
    }
}

int main(int argc, char **argv) {
    ptrdiff_t shape[2] = {64, 64};
    xbuf_object *nd;
    int k, iters, samples;
    static const struct {
        const char *name;
        bench_case c;
    } rows[] = {
        {"export + import + release, 4 KiB bytearray", ROUND_TRIP_BYTES},
        {"export + import + release (versioned)", ROUND_TRIP},
        {"export + import + release (legacy)", ROUND_TRIP_LEGACY},
        {"export + deleter", EXPORT_DELETE},
        {"export + deleter of an xbuf_view of it", EXPORT_DELETE_VIEW},
        {"import + decref of a producer's tensor", IMPORT_DECREF},
        {"baseline: get + release, XBUF_FULL_RO", GET_RELEASE},
        {"baseline: malloc + free of 80 bytes", MALLOC_FREE},
        {"baseline: memcpy of 80 bytes", MEMCPY},
    };
    enum { ROWS = sizeof rows / sizeof rows[0] };
    double ns[ROWS], t[ROWS][64];
    int s, only = -1;
    for (k = 1; k < argc; k++)
        if (strcmp(argv[k], "--quick") == 0) quick = 1;
    iters = quick ? 100000 : 1000000;
    samples = quick ? 5 : 15;
    /* --profile: a few calls of each case, for instruction counts under callgrind. */
    for (k = 1; k < argc; k++)
        if (strcmp(argv[k], "--profile") == 0) iters = 1000, samples = 1;
    for (k = 1; k + 1 < argc; k++)
        if (strcmp(argv[k], "--case") == 0) only = atoi(argv[k + 1]);
    must(xbuf_ndarray_zeros("f", 2, shape, 'C', 0, &nd), "ndarray");
    must(xbuf_bytearray_new(NULL, 4096, &bytes_obj), "bytearray");
    must(xbuf_view_new(nd, XBUF_FULL_RO, &view_obj), "view");
    producer.version.major = 1;
    producer.deleter = producer_delete;
    producer.dl_tensor.data = producer_data;
    producer.dl_tensor.device.device_type = kDLCPU;
    producer.dl_tensor.ndim = 2;
    producer.dl_tensor.dtype.code = kDLFloat;
    producer.dl_tensor.dtype.bits = 32;
    producer.dl_tensor.dtype.lanes = 1;
    producer.dl_tensor.shape = producer_shape;
    /* Every case in turn within each repetition, so that a slow moment hits them all. */
    for (s = 0; s < samples; s++)
        for (k = 0; k < ROWS; k++) t[k][s] = only < 0 || only == k ? run(rows[k].c, nd, iters) : 0;
    for (k = 0; k < ROWS; k++) ns[k] = median(t[k], samples);
    printf("xbuf %s DLPack benchmarks%s (2-D float32 64x64 ndarray unless said)\n", xbuf_version_string(), quick ? " (quick)" : "");
    printf("\n== DLPack per call (median ns)\n");
    printf("%-44s %10s %12s\n", "case", "ns", "vs get+rel");
    for (k = 0; k < ROWS; k++)
        printf("%-44s %10.1f %11.2fx\n", rows[k].name, ns[k], ns[k] / ns[ROWS - 3]);
    /* The view's own export of the ndarray is the only one left. */
    if (xbuf_exports(nd) != 1 || (only < 0 && producer_deleted != (long)samples * iters)) {
        fprintf(stderr, "bench_dlpack: exports %ld, deleter calls %ld (expected 1 and %ld)\n",
                (long)xbuf_exports(nd), producer_deleted, (long)samples * iters);
        return 1;
    }
    must(xbuf_decref(view_obj), "decref");
    if (xbuf_exports(nd) != 0) {
        fprintf(stderr, "bench_dlpack: exports %ld after the view went\n", (long)xbuf_exports(nd));
        return 1;
    }
    must(xbuf_decref(nd), "decref");
    must(xbuf_decref(bytes_obj), "decref");
    return 0;
}
