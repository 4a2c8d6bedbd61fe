/*
 * The thread cap of large copies and comparisons: xbuf_set_max_threads / xbuf_get_max_threads
 * (bad input, round trips, 0 restoring the default), XBUF_NUM_THREADS (read once, invalid
 * values ignored, the explicit call winning; checked in child processes of this program, since
 * the variable is read once per process), and large copies and comparisons giving the same
 * bytes and answers with 1, 2, 3 and more threads than the machine has cores.
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xbuf_test.h"

/* The caps the large cases run under; the last is filled in with cores + 2. A case picks some
 * of them with a mask of their indices. */
static int caps[4] = {1, 2, 3, 0};
#define ALL_CAPS 0xF
#define ONE_AND_MOST 0x9 /* 1 thread, cores + 2 */
#define MOST 0x8

static int default_cap;

static void test_set_and_get(void) {
    int d = xbuf_get_max_threads();
    CHECK(d >= 1);
    CHECK_ERR(xbuf_set_max_threads(-1), XBUF_ERR_INVALID_ARGUMENT, "-1");
    CHECK_EQ(xbuf_get_max_threads(), d);
    CHECK_ERR(xbuf_set_max_threads(INT_MIN), XBUF_ERR_INVALID_ARGUMENT, "at least 1");
    CHECK_EQ(xbuf_get_max_threads(), d);
    CHECK_OK(xbuf_set_max_threads(3));
    CHECK_EQ(xbuf_get_max_threads(), 3);
    CHECK_ERR(xbuf_set_max_threads(-5), XBUF_ERR_INVALID_ARGUMENT, "-5");
    CHECK_EQ(xbuf_get_max_threads(), 3);
    CHECK_OK(xbuf_set_max_threads(1));
    CHECK_EQ(xbuf_get_max_threads(), 1);
    CHECK_OK(xbuf_set_max_threads(d + 100));
    CHECK_EQ(xbuf_get_max_threads(), d + 100);
    CHECK_OK(xbuf_set_max_threads(INT_MAX));
    CHECK_EQ(xbuf_get_max_threads(), INT_MAX);
    /* 0 restores the default, every time. */
    CHECK_OK(xbuf_set_max_threads(0));
    CHECK_EQ(xbuf_get_max_threads(), d);
    CHECK_OK(xbuf_set_max_threads(0));
    CHECK_EQ(xbuf_get_max_threads(), d);
    default_cap = d;
    caps[3] = d + 2;
}

/* ---- Large copies ------------------------------------------------------------------------ */

/* Copies `sv` (float32, 1-D or 2-D) into C order under the caps in `mask`, with
 * xbuf_to_contiguous or (`into_view`) with xbuf_copy into a C-ordered view, and compares every
 * result with `want`. */
static void copy_under_caps(const char *name, xbuf_bufferinfo *sv, const float *want, int mask, int into_view) {
    size_t bytes = (size_t)sv->len;
    float *got = (float *)malloc(bytes);
    ptrdiff_t cstrides[2];
    xbuf_bufferinfo dv;
    int c;
    CHECK_OK(xbuf_fill_contiguous_strides(sv->ndim, sv->shape, 4, cstrides, 'C'));
    dv = describe(got, "f", 4, sv->ndim, sv->shape, cstrides);
    for (c = 0; c < 4; c++) {
        if (!(mask >> c & 1)) continue;
        CHECK_OK(xbuf_set_max_threads(caps[c]));
        memset(got, 0xEE, bytes);
        if (into_view) CHECK_OK(xbuf_copy(&dv, sv));
        else CHECK_OK(xbuf_to_contiguous(got, bytes, sv, 'C'));
        if (memcmp(got, want, bytes) != 0) XT_FAIL("%s: the copy differs with %d threads", name, caps[c]);
    }
    CHECK_OK(xbuf_set_max_threads(0));
    free(got);
}

/* Distinct, reproducible float bit patterns (no NaN). */
static float value(ptrdiff_t k) {
    return (float)(k % 1000003) * 0.25f + (float)(k / 1000003);
}

/* The sizes below are just large enough for the splits they test (pieces of at least 4 MiB:
 * 16 MiB makes four, 8 MiB two), so that the test stays short under valgrind. */

static void test_contiguous_copy(void) {
    ptrdiff_t n = (4 << 20) + 16, k, shape[1], strides[1] = {4}; /* 16 MiB + 64 bytes */
    float *src = (float *)malloc((size_t)n * 4);
    xbuf_bufferinfo sv;
    for (k = 0; k < n; k++) src[k] = value(k);
    shape[0] = n;
    sv = describe(src, "f", 4, 1, shape, strides);
    copy_under_caps("contiguous", &sv, src, ALL_CAPS, 1);
    free(src);
}

static void test_transpose(void) {
    ptrdiff_t rows = 2048, cols = 2049, i, j, shape[2], strides[2]; /* 16 MiB + 8 KiB */
    float *src = (float *)malloc((size_t)(rows * cols) * 4), *want = (float *)malloc((size_t)(rows * cols) * 4);
    xbuf_bufferinfo sv;
    for (i = 0; i < rows * cols; i++) src[i] = value(i);
    /* The source is a C-ordered (cols, rows) array read as its transpose, shape (rows, cols). */
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++) want[i * cols + j] = src[j * rows + i];
    shape[0] = rows;
    shape[1] = cols;
    strides[0] = 4;
    strides[1] = rows * 4;
    sv = describe(src, "f", 4, 2, shape, strides);
    copy_under_caps("transpose", &sv, want, ALL_CAPS, 0);
    free(src);
    free(want);
}

static void test_every_second_float(void) {
    ptrdiff_t rows = 1025, cols = 2049, i, j, shape[2], strides[2], rstrides[2]; /* 8 MiB + 12 KiB */
    float *src = (float *)malloc((size_t)(rows * cols * 2) * 4), *want = (float *)malloc((size_t)(rows * cols) * 4);
    xbuf_bufferinfo sv;
    for (i = 0; i < rows * cols * 2; i++) src[i] = value(i);
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++) want[i * cols + j] = src[i * cols * 2 + j * 2];
    shape[0] = rows;
    shape[1] = cols;
    strides[0] = cols * 2 * 4;
    strides[1] = 8;
    sv = describe(src, "f", 4, 2, shape, strides);
    /* At most two pieces of 8 MiB: one thread and the most threads cover every split. */
    copy_under_caps("every second float", &sv, want, ONE_AND_MOST, 0);
    /* Rows and items reversed, the most threads: the pieces walk the destination forwards. */
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++) want[i * cols + j] = src[(rows - 1 - i) * cols * 2 + (cols - 1 - j) * 2];
    rstrides[0] = -strides[0];
    rstrides[1] = -strides[1];
    sv = describe(src + (rows - 1) * cols * 2 + (cols - 1) * 2, "f", 4, 2, shape, rstrides);
    copy_under_caps("every second float, reversed", &sv, want, MOST, 1);
    free(src);
    free(want);
}

static void test_self_overlapping_destination(void) {
    /* 64 rows written over one another, each one byte further on (destination strides {1, 1}),
     * 8 MiB in all, which two threads would share if they could: with any cap they are written
     * in C order by one thread, so byte j < 63 ends as row j's and every later byte as the last
     * row's. (Pieces written at once would leave bytes of a first piece's late rows over a
     * second piece's early ones.) */
    enum { ROWS = 64 };
    ptrdiff_t n = (128 << 10) + 1, shape[2] = {ROWS, 0}, dstrides[2] = {1, 1}, sstrides[2] = {0, 1}, k, wrong;
    unsigned char *src = (unsigned char *)malloc((size_t)(ROWS * n)), *dst = (unsigned char *)malloc((size_t)n + ROWS);
    xbuf_bufferinfo sv, dv;
    int c;
    shape[1] = n;
    sstrides[0] = n;
    for (k = 0; k < ROWS; k++) memset(src + k * n, 0x40 + (int)k, (size_t)n);
    sv = describe(src, "B", 1, 2, shape, sstrides);
    dv = describe(dst, "B", 1, 2, shape, dstrides);
    for (c = 0; c < 4; c++) {
        CHECK_OK(xbuf_set_max_threads(caps[c]));
        memset(dst, 0, (size_t)n + ROWS);
        CHECK_OK(xbuf_copy(&dv, &sv));
        wrong = 0;
        for (k = 0; k < ROWS - 1; k++) wrong += dst[k] != 0x40 + k;
        for (k = ROWS - 1; k < n + ROWS - 1; k++) wrong += dst[k] != 0x40 + ROWS - 1;
        if (wrong) XT_FAIL("self-overlapping destination: %td bytes wrong with %d threads", wrong, caps[c]);
        CHECK_EQ(dst[n + ROWS - 1], 0);
    }
    CHECK_OK(xbuf_set_max_threads(0));
    free(src);
    free(dst);
}

/* ---- Large comparisons ------------------------------------------------------------------- */

/* A view of `mem` (`len` bytes, caller memory) as `rows` x `cols` items of `format`, taking
 * every `step`-th row. */
static xbuf_object *rows_view(void *mem, size_t len, const char *format, ptrdiff_t rows, ptrdiff_t cols,
                              ptrdiff_t step) {
    xbuf_object *w = NULL, *bytes = NULL, *cast = NULL, *out = NULL;
    xbuf_range r[2] = {{XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, 0}, {XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, XBUF_SLICE_OMIT}};
    ptrdiff_t shape[2];
    shape[0] = rows * step;
    shape[1] = cols;
    CHECK_OK(xbuf_wrap_new(mem, len, 1, NULL, NULL, &w));
    CHECK_OK(xbuf_view_new(w, XBUF_FULL_RO, &bytes));
    CHECK_OK(xbuf_view_cast(bytes, format, 2, shape, &cast));
    r[0].step = step;
    CHECK_OK(xbuf_view_slice(cast, r, 2, &out));
    xbuf_decref(cast);
    xbuf_decref(bytes);
    xbuf_decref(w);
    return out;
}

/* xbuf_view_equal of the two views under the caps in `mask` must be `want`. */
static void equal_under_caps(const char *what, xbuf_object *va, xbuf_object *vb, int mask, int want) {
    int c, eq;
    for (c = 0; c < 4; c++) {
        if (!(mask >> c & 1)) continue;
        CHECK_OK(xbuf_set_max_threads(caps[c]));
        eq = -1;
        CHECK_OK(xbuf_view_equal(va, vb, &eq));
        if (eq != want) XT_FAIL("%s: equal = %d with %d threads, expected %d", what, eq, caps[c], want);
    }
    CHECK_OK(xbuf_set_max_threads(0));
}

static void test_equality(void) {
    /* 4097 rows of 1024 uint32 (16 MiB + 4 KiB): a contiguous view against every second row of
     * a buffer twice as large (the two views step differently through their rows). */
    ptrdiff_t rows = 4097, cols = 1024, k, s;
    size_t len = (size_t)(rows * cols) * 4;
    uint32_t *a = (uint32_t *)malloc(len), *b = (uint32_t *)malloc(2 * len);
    xbuf_object *va, *vb;
    ptrdiff_t spots[4];
    for (k = 0; k < rows * cols; k++) a[k] = (uint32_t)(k * 2654435761u);
    for (k = 0; k < rows; k++) {
        memcpy(b + 2 * k * cols, a + k * cols, (size_t)cols * 4);
        memset(b + (2 * k + 1) * cols, 0x5A, (size_t)cols * 4);
    }
    va = rows_view(a, len, "I", rows, cols, 1);
    vb = rows_view(b, 2 * len, "I", rows, cols, 2);
    equal_under_caps("uint32 rows", va, vb, ALL_CAPS, 1);
    /* One difference: in the very last item (every cap), in the first piece, a middle one and
     * the last piece (the most threads). */
    spots[0] = rows * cols - 1;
    spots[1] = 1;
    spots[2] = rows / 2 * cols + 3;
    spots[3] = (rows - rows / 8) * cols + 5;
    for (s = 0; s < 4; s++) {
        ptrdiff_t at = spots[s] / cols * 2 * cols + spots[s] % cols;
        b[at] ^= 1;
        equal_under_caps("uint32 rows, one difference", va, vb, s == 0 ? ALL_CAPS : MOST, 0);
        b[at] ^= 1;
    }
    /* A difference in the rows the second view skips changes nothing. */
    b[(2 * rows - 1) * cols] ^= 1;
    equal_under_caps("uint32 rows, skipped row differs", va, vb, MOST, 1);
    xbuf_decref(va);
    xbuf_decref(vb);
    free(b);

    /* Float values over two pieces (the first half of `a`, 8 MiB + 4 KiB), the most threads:
     * -0.0 equals 0.0; a NaN never equals. */
    {
        ptrdiff_t half = rows / 2 + 1, last = half * cols - 1;
        float *fa = (float *)a, *fb = (float *)malloc((size_t)(half * cols) * 4);
        for (k = 0; k < half * cols; k++) fa[k] = fb[k] = value(k);
        fa[last] = 0.0f;
        fb[last] = -0.0f;
        va = rows_view(fa, (size_t)(half * cols) * 4, "f", half, cols, 1);
        vb = rows_view(fb, (size_t)(half * cols) * 4, "f", half, cols, 1);
        equal_under_caps("float32, -0.0 and 0.0", va, vb, MOST, 1);
        fa[last] = fb[last] = (float)NAN;
        equal_under_caps("float32, NaN", va, vb, MOST, 0);
        xbuf_decref(va);
        xbuf_decref(vb);
        free(fb);
    }
    free(a);
}

/* ---- XBUF_NUM_THREADS, in child processes ------------------------------------------------ */

static const char *self_path;

/* Runs this program as `self --child explicit` with XBUF_NUM_THREADS set to `env` (unset when
 * NULL) and reads the four numbers it prints into `out`. */
static int run_child(const char *env, int explicit_cap, long out[4]) {
    int fds[2], status = 0, n;
    pid_t pid;
    char arg[32], text[256];
    ssize_t got, total = 0;
    if (pipe(fds) != 0) return 0;
    snprintf(arg, sizeof arg, "%d", explicit_cap);
    pid = fork();
    if (pid == 0) {
        char *argv[4];
        argv[0] = (char *)self_path;
        argv[1] = (char *)"--child";
        argv[2] = arg;
        argv[3] = NULL;
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (env) setenv("XBUF_NUM_THREADS", env, 1);
        else unsetenv("XBUF_NUM_THREADS");
        execv(self_path, argv);
        _exit(127);
    }
    close(fds[1]);
    while (pid > 0 && total < (ssize_t)sizeof text - 1 && (got = read(fds[0], text + total, sizeof text - 1 - (size_t)total)) > 0)
        total += got;
    close(fds[0]);
    text[total] = 0;
    if (pid <= 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 0;
    n = sscanf(text, "%ld %ld %ld %ld", &out[0], &out[1], &out[2], &out[3]);
    return n == 4;
}

/* The child: the cap before any set (the default, reading the variable), the cap after the
 * variable changed (still the first reading), after xbuf_set_max_threads(explicit) and after
 * xbuf_set_max_threads(0). */
static int child(int explicit_cap) {
    long first = xbuf_get_max_threads(), again, set, restored;
    setenv("XBUF_NUM_THREADS", "1", 1);
    again = xbuf_get_max_threads();
    if (xbuf_set_max_threads(explicit_cap) != XBUF_OK) return 1;
    set = xbuf_get_max_threads();
    if (xbuf_set_max_threads(0) != XBUF_OK) return 1;
    restored = xbuf_get_max_threads();
    printf("%ld %ld %ld %ld\n", first, again, set, restored);
    return 0;
}

static void test_environment(void) {
    static const struct {
        const char *env;
        long want; /* 0: the default without the variable */
    } cases[] = {
        {"3", 3},       {" 5 ", 5},    {"007", 7},  {"64", 64}, {"2147483647", 2147483647L},
        {"", 0},        {"0", 0},      {"-2", 0},   {"+3", 0},  {"4x", 0},
        {"abc", 0},     {"1.5", 0},    {"2147483648", 0},        {"99999999999999999999", 0},
    };
    long plain[4], got[4], cores = sysconf(_SC_NPROCESSORS_CONF);
    size_t k;
    if (!run_child(NULL, 2, plain)) {
        XT_FAIL("cannot run %s --child", self_path);
        return;
    }
    /* Without the variable: the machine's parallelism, read once, the explicit cap winning. */
    CHECK(plain[0] >= 1);
    if (cores > 0) CHECK(plain[0] <= cores);
    CHECK_EQ(plain[1], plain[0]);
    CHECK_EQ(plain[2], 2);
    CHECK_EQ(plain[3], plain[0]);
    /* This process's own default, when it has no variable either, is the same. */
    if (getenv("XBUF_NUM_THREADS") == NULL) CHECK_EQ(plain[0], default_cap);
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        long want = cases[k].want ? cases[k].want : plain[0];
        if (!run_child(cases[k].env, 5, got)) {
            XT_FAIL("child with XBUF_NUM_THREADS=\"%s\" failed", cases[k].env);
            continue;
        }
        if (got[0] != want) XT_FAIL("XBUF_NUM_THREADS=\"%s\": cap %ld, expected %ld", cases[k].env, got[0], want);
        CHECK_EQ(got[1], want);
        CHECK_EQ(got[2], 5);
        CHECK_EQ(got[3], want);
    }
}

int main(int argc, char **argv) {
    static const xt_case all[] = {
        XT_CASE(test_set_and_get),        XT_CASE(test_contiguous_copy), XT_CASE(test_transpose),
        XT_CASE(test_every_second_float), XT_CASE(test_self_overlapping_destination),
        XT_CASE(test_equality),           XT_CASE(test_environment),
    };
    self_path = argv[0];
    if (argc == 3 && strcmp(argv[1], "--child") == 0) return child(atoi(argv[2]));
    return xt_run(all, sizeof all / sizeof all[0]);
}
