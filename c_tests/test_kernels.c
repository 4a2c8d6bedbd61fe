/*
 * The copy kernels against a naive item-by-item reference written here: every item size the
 * kernels specialise (1, 2, 4, 8, 16) and some they do not (3, 12), positive and negative
 * strides in every dimension, odd extents (tiles with ragged edges), 2-D transposes, 3-D
 * permutations, gathers with gaps, and copies large enough to be split across threads.
 */
#include "xbuf_test.h"

static const char *format_of(ptrdiff_t size) {
    switch (size) {
    case 1: return "B";
    case 2: return "H";
    case 3: return "3s";
    case 4: return "I";
    case 8: return "Q";
    case 12: return "12s";
    default: return "16s";
    }
}

/* Copies `src` (ndim, shape, strides from base + offset) into a C-ordered buffer, naively. */
static void reference(unsigned char *out, const unsigned char *base, ptrdiff_t offset, ptrdiff_t size, int ndim,
                      const ptrdiff_t *shape, const ptrdiff_t *strides) {
    ptrdiff_t idx[8] = {0}, n = 1, k;
    int d;
    for (d = 0; d < ndim; d++) n *= shape[d];
    for (k = 0; k < n; k++) {
        ptrdiff_t rem = k, o = offset;
        for (d = ndim - 1; d >= 0; d--) {
            idx[d] = rem % shape[d];
            rem /= shape[d];
        }
        for (d = 0; d < ndim; d++) o += idx[d] * strides[d];
        memcpy(out + k * size, base + o, (size_t)size);
    }
}

static long cases;

/* Checks xbuf_to_contiguous and xbuf_copy (into C and into Fortran order) for one layout.
 * `order[d]` gives the nesting of the source's dimensions (0 = outermost in memory), `gap` the
 * extra items between neighbours, `sign[d]` the direction of each dimension. */
static void check_layout(ptrdiff_t size, int ndim, const ptrdiff_t *shape, const int *order, ptrdiff_t gap,
                         const int *sign) {
    ptrdiff_t strides[8], step = size * (1 + gap), lo = 0, hi = size, count = 1, k;
    ptrdiff_t cstrides[8], fstrides[8];
    int d, j;
    unsigned char *mem, *want, *got, *fmem;
    xbuf_bufferinfo sv, dv, fv;
    for (d = 0; d < ndim; d++) count *= shape[d];
    for (j = ndim - 1; j >= 0; j--) {
        d = order[j];
        strides[d] = sign[d] < 0 ? -step : step;
        step *= shape[d] * (1 + (gap > 0));
    }
    for (d = 0; d < ndim; d++) {
        ptrdiff_t reach = (shape[d] - 1) * strides[d];
        if (reach < 0) lo += reach; else hi += reach;
    }
    mem = (unsigned char *)malloc((size_t)(hi - lo));
    want = (unsigned char *)malloc((size_t)(count * size) + 1);
    got = (unsigned char *)malloc((size_t)(count * size) + 1);
    fmem = (unsigned char *)malloc((size_t)(count * size) + 1);
    for (k = 0; k < hi - lo; k++) mem[k] = (unsigned char)(k * 131 + (k >> 9) * 7 + 3);
    reference(want, mem, -lo, size, ndim, shape, strides);
    sv = describe(mem - lo, format_of(size), size, ndim, (ptrdiff_t *)shape, strides);

    memset(got, 0, (size_t)(count * size));
    CHECK_OK(xbuf_to_contiguous(got, (size_t)(count * size), &sv, 'C'));
    if (memcmp(got, want, (size_t)(count * size)) != 0)
        XT_FAIL("to_contiguous differs: item size %td, ndim %d, first extent %td, gap %td", size, ndim, shape[0], gap);

    /* Into a C-ordered view, then into a Fortran-ordered one read back in C order. */
    CHECK_OK(xbuf_fill_contiguous_strides(ndim, shape, size, cstrides, 'C'));
    memset(got, 0, (size_t)(count * size));
    dv = describe(got, format_of(size), size, ndim, (ptrdiff_t *)shape, cstrides);
    CHECK_OK(xbuf_copy(&dv, &sv));
    if (memcmp(got, want, (size_t)(count * size)) != 0) XT_FAIL("copy into C order differs (item size %td)", size);
    CHECK_OK(xbuf_fill_contiguous_strides(ndim, shape, size, fstrides, 'F'));
    fv = describe(fmem, format_of(size), size, ndim, (ptrdiff_t *)shape, fstrides);
    CHECK_OK(xbuf_copy(&fv, &sv));
    CHECK_OK(xbuf_to_contiguous(got, (size_t)(count * size), &fv, 'C'));
    if (memcmp(got, want, (size_t)(count * size)) != 0) XT_FAIL("copy into Fortran order differs (item size %td)", size);
    cases++;
    free(mem);
    free(want);
    free(got);
    free(fmem);
}

static const ptrdiff_t sizes[] = {1, 2, 3, 4, 8, 12, 16};

static void test_transposes(void) {
    static const ptrdiff_t extents[][2] = {{1, 1}, {4, 4}, {5, 3}, {8, 8}, {37, 70}, {64, 64}, {129, 33}, {3, 300}};
    int s, e, signs;
    for (s = 0; s < 7; s++)
        for (e = 0; e < 8; e++)
            for (signs = 0; signs < 4; signs++) {
                int order[2] = {1, 0}; /* the source is the transpose: dimension 1 outermost */
                int sign[2];
                sign[0] = signs & 1 ? -1 : 1;
                sign[1] = signs & 2 ? -1 : 1;
                check_layout(sizes[s], 2, extents[e], order, 0, sign);
                check_layout(sizes[s], 2, extents[e], order, 1, sign);
            }
    printf("transposes: %ld layouts\n", cases);
}

static void test_permutations_3d(void) {
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    ptrdiff_t shape[3] = {7, 12, 9};
    int s, p, signs;
    long before = cases;
    for (s = 0; s < 7; s++)
        for (p = 0; p < 6; p++)
            for (signs = 0; signs < 8; signs++) {
                int sign[3];
                sign[0] = signs & 1 ? -1 : 1;
                sign[1] = signs & 2 ? -1 : 1;
                sign[2] = signs & 4 ? -1 : 1;
                check_layout(sizes[s], 3, shape, perms[p], signs & 1, sign);
            }
    printf("3-D permutations: %ld layouts\n", cases - before);
}

static void test_gathers(void) {
    /* Every second item, every second row, and a 1-D reversal, of odd lengths. */
    ptrdiff_t one[1] = {1001}, two[2] = {33, 65};
    int order1[1] = {0}, order2[2] = {0, 1}, plus[2] = {1, 1}, minus[2] = {-1, -1};
    int s;
    long before = cases;
    for (s = 0; s < 7; s++) {
        check_layout(sizes[s], 1, one, order1, 1, plus);
        check_layout(sizes[s], 1, one, order1, 0, minus);
        check_layout(sizes[s], 2, two, order2, 1, plus);
        check_layout(sizes[s], 2, two, order2, 2, minus);
    }
    printf("gathers: %ld layouts\n", cases - before);
}

static void test_large_copies(void) {
    /* Large enough (8 MiB and more) that the kernels split them across threads. */
    ptrdiff_t square[2] = {1024, 1024 + 3}, rows[2] = {2048, 1024};
    int t[2] = {1, 0}, c[2] = {0, 1}, plus[2] = {1, 1}, minus[2] = {1, -1};
    long before = cases;
    check_layout(8, 2, square, t, 0, plus);
    check_layout(4, 2, rows, c, 1, minus);
    check_layout(4, 2, rows, c, 0, plus);
    printf("large copies: %ld layouts\n", cases - before);
}

static void test_self_overlapping_destination(void) {
    /* A destination whose rows overlap (shape {2, N}, strides {1, 1}): large enough to be
     * split across threads if it were allowed; its items are written in C order, so the
     * second row's bytes win everywhere but at byte 0. */
    ptrdiff_t n = 8 << 20, shape[2], dstrides[2] = {1, 1}, sstrides[2];
    unsigned char *src = (unsigned char *)malloc((size_t)(2 * n)), *dst = (unsigned char *)calloc((size_t)n + 1, 1);
    xbuf_bufferinfo sv, dv;
    ptrdiff_t k, wrong = 0;
    shape[0] = 2;
    shape[1] = n;
    sstrides[0] = n;
    sstrides[1] = 1;
    memset(src, 0xAA, (size_t)n);
    memset(src + n, 0xBB, (size_t)n);
    sv = describe(src, "B", 1, 2, shape, sstrides);
    dv = describe(dst, "B", 1, 2, shape, dstrides);
    CHECK_OK(xbuf_copy(&dv, &sv));
    CHECK_EQ(dst[0], 0xAA);
    for (k = 1; k <= n; k++) wrong += dst[k] != 0xBB;
    CHECK_EQ(wrong, 0);
    free(src);
    free(dst);
}

XBUF_TEST_MAIN(XT_CASE(test_transposes), XT_CASE(test_permutations_3d), XT_CASE(test_gathers),
               XT_CASE(test_large_copies), XT_CASE(test_self_overlapping_destination))
