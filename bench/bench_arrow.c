/*
 * The Arrow C Data Interface per call: xbuf_arrow_export + xbuf_arrow_import + both releases
 * (the object made by the import dropped, which runs the array's release, which hands the
 * export back), as medians of batches, next to baselines measured in the same run: a plain
 * get + release of a view of the same object (what any zero-copy export must at least do),
 * and making and dropping an object (what any import must at least do). Times are the calling
 * thread's CPU time, so that other processes on a busy machine inflate them less than they
 * would wall-clock time. The last row exports an xbuf_view of the 1-D array (the arrays made
 * from the view's layout); its get+release is a get + release of the view.
 * Usage: bench_arrow [--quick], or bench_arrow --case K N: N round trips of case K (0-4, in
 * the table's order) and nothing else, for instruction counts under callgrind.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/c/arrow/arrow_c_data.h"
#include "bench_util.h"

#define SAMPLES 31

static int iters = 200000;

typedef void (*op_fn)(xbuf_object *obj);

static void op_get_release(xbuf_object *obj) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    must(xbuf_get_buffer(obj, &v, XBUF_FULL_RO), "get_buffer");
    xbuf_release(&v);
}

static char wrap_mem[64];
static void op_object_new_free(xbuf_object *obj) {
    xbuf_object *w;
    (void)obj;
    must(xbuf_wrap_new(wrap_mem, sizeof wrap_mem, 1, NULL, NULL, &w), "wrap_new");
    xbuf_decref(w);
}

static void op_export_release(xbuf_object *obj) {
    struct ArrowSchema s;
    struct ArrowArray a;
    must(xbuf_arrow_export(obj, &s, &a), "export");
    a.release(&a);
    s.release(&s);
}

static void op_round_trip(xbuf_object *obj) {
    struct ArrowSchema s;
    struct ArrowArray a;
    xbuf_object *back;
    must(xbuf_arrow_export(obj, &s, &a), "export");
    must(xbuf_arrow_import(&s, &a, &back), "import");
    s.release(&s);
    xbuf_decref(back);
}

static double measure(op_fn op, xbuf_object *obj) {
    double t[SAMPLES];
    int s, i;
    for (i = 0; i < iters / 10; i++) op(obj); /* warm up */
    for (s = 0; s < SAMPLES; s++) {
        double t0 = cpu_ns();
        for (i = 0; i < iters; i++) op(obj);
        t[s] = (cpu_ns() - t0) / iters;
    }
    return median(t, SAMPLES);
}

int main(int argc, char **argv) {
    static float data[4096];
    ptrdiff_t flat[1] = {4096}, tensor[3] = {16, 16, 16}, fstrides[3] = {1024, 4, 64};
    xbuf_object *objs[5];
    const char *names[5] = {"1-D float32 (4096 items)", "1-D struct T{i:a:f:b:} (w:8)",
                            "3-D float32 tensor, C order", "3-D float32 tensor, permuted",
                            "xbuf_view of the 1-D float32"};
    int k;
    int only = -1, n_only = 0;
    if (argc > 1 && strcmp(argv[1], "--quick") == 0) iters = 20000;
    if (argc > 3 && strcmp(argv[1], "--case") == 0) {
        only = atoi(argv[2]);
        n_only = atoi(argv[3]);
        if (only < 0 || only > 4 || n_only < 0) {
            fprintf(stderr, "usage: bench_arrow --case K N (K in 0..4, N >= 0)\n");
            return 2;
        }
    }
    must(xbuf_ndarray_new(data, sizeof data, "f", 1, flat, NULL, 0, 0, &objs[0]), "ndarray");
    {
        ptrdiff_t n[1] = {2048};
        must(xbuf_ndarray_new(data, sizeof data, "T{i:a:f:b:}", 1, n, NULL, 0, 0, &objs[1]), "ndarray");
    }
    must(xbuf_ndarray_new(data, sizeof data, "f", 3, tensor, NULL, 0, 0, &objs[2]), "ndarray");
    must(xbuf_ndarray_new(data, sizeof data, "f", 3, tensor, fstrides, 0, 0, &objs[3]), "ndarray");
    must(xbuf_view_new(objs[0], XBUF_FULL_RO, &objs[4]), "view");
    if (only >= 0) {
        int i;
        for (i = 0; i < n_only; i++) op_round_trip(objs[only]);
        for (k = 4; k >= 0; k--) xbuf_decref(objs[k]);
        return 0;
    }
    printf("xbuf %s: Arrow C Data Interface, median thread-CPU ns per call (%d batches of %d)\n",
           xbuf_version_string(), SAMPLES, iters);
    printf("%-32s %12s %12s %12s %12s\n", "case", "get+release", "new+free", "export+rel",
           "round trip");
    for (k = 0; k < 5; k++) {
        double base = measure(op_get_release, objs[k]);
        double obj = measure(op_object_new_free, objs[k]);
        double exp = measure(op_export_release, objs[k]);
        double rt = measure(op_round_trip, objs[k]);
        printf("%-32s %12.1f %12.1f %12.1f %12.1f\n", names[k], base, obj, exp, rt);
    }
    for (k = 4; k >= 0; k--) xbuf_decref(objs[k]);
    printf("round trip = xbuf_arrow_export + xbuf_arrow_import + schema release + xbuf_decref "
           "(which runs the array's release); target < 150 ns\n");
    return 0;
}
