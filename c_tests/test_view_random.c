/*
 * Randomized tests of xbuf_view against a reference model written here, as CPython's
 * test_buffer checks memoryview against nested lists. Each case draws a random layout
 * (ndim 0..5, zero-length dimensions, gaps, negative strides, Fortran order, PIL-style
 * suboffsets, with row pointers at each row's lowest address or at its first item, item sizes 1
 * to 16) over bytes whose values say where they came from, then checks
 * against the model: tobytes in C, F and A order, contiguity, slicing, indexing, permutation,
 * cast, copies between views (overlapping ones included) and from_contiguous.
 *
 * The model of a view is the list of its items' byte offsets into the ndarray's data, in C
 * order, plus its shape. Every case is reproducible from its seed: set XBUF_SEED to replay a
 * run, XBUF_CASES to change the number of cases (default 10000 per operation).
 */
#include "xbuf_test.h"

#define MAXD 5
#define MAXITEMS 1024

/* ---- Random numbers (xorshift64*) -------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [lo, hi]. */
static ptrdiff_t rnd_in(ptrdiff_t lo, ptrdiff_t hi) {
    return lo + (ptrdiff_t)(rnd() % (uint64_t)(hi - lo + 1));
}

/* ---- The model --------------------------------------------------------------------------- */

typedef struct {
    int ndim;
    ptrdiff_t shape[MAXD];
    ptrdiff_t count;
    ptrdiff_t itemsize;
    int pil; /* indirect: never contiguous, by the protocol's rule */
    ptrdiff_t off[MAXITEMS * 16]; /* byte offset of each item in the data, C order (a byte cast has up to 16 per item) */
} model;

/* The data bytes: byte k holds a value derived from k, so every item is distinguishable. */
static unsigned char pattern(ptrdiff_t k) {
    return (unsigned char)(k * 7 + (k >> 8) * 13 + 1);
}

/* Row-major index of `idx` in `shape`. */
static ptrdiff_t c_index(int ndim, const ptrdiff_t *shape, const ptrdiff_t *idx) {
    ptrdiff_t k = 0;
    int d;
    for (d = 0; d < ndim; d++) k = k * shape[d] + idx[d];
    return k;
}

/* Advances a multi-index in C order; returns 0 after the last one. */
static int next_index(int ndim, const ptrdiff_t *shape, ptrdiff_t *idx) {
    int d;
    for (d = ndim - 1; d >= 0; d--) {
        if (++idx[d] < shape[d]) return 1;
        idx[d] = 0;
    }
    return 0;
}

/* Advances a multi-index in Fortran order. */
static int next_index_f(int ndim, const ptrdiff_t *shape, ptrdiff_t *idx) {
    int d;
    for (d = 0; d < ndim; d++) {
        if (++idx[d] < shape[d]) return 1;
        idx[d] = 0;
    }
    return 0;
}

/* The expected bytes of `m` in order 'C' or 'F', gathered from `data`. */
static void model_bytes(const model *m, const unsigned char *data, char order, unsigned char *out) {
    ptrdiff_t idx[MAXD] = {0};
    ptrdiff_t n = 0;
    if (m->count == 0) return;
    do {
        ptrdiff_t k = c_index(m->ndim, m->shape, idx);
        memcpy(out + n * m->itemsize, data + m->off[k], (size_t)m->itemsize);
        n++;
    } while (order == 'C' ? next_index(m->ndim, m->shape, idx) : next_index_f(m->ndim, m->shape, idx));
}

/* Contiguity by definition: the items, enumerated in `order`, lie one after another. */
static int model_contiguous(const model *m, char order, int pil) {
    ptrdiff_t idx[MAXD] = {0};
    ptrdiff_t n = 0, first;
    if (pil) return 0; /* by the protocol's rule, indirect layouts never are */
    if (m->count == 0) return 1;
    if (order == 'A') return model_contiguous(m, 'C', 0) || model_contiguous(m, 'F', 0);
    first = m->off[0];
    do {
        ptrdiff_t k = c_index(m->ndim, m->shape, idx);
        if (m->off[k] != first + n * m->itemsize) return 0;
        n++;
    } while (order == 'C' ? next_index(m->ndim, m->shape, idx) : next_index_f(m->ndim, m->shape, idx));
    return 1;
}

/* Python's slice(start, stop, step).indices(n), written out here independently: the selected
 * positions of a dimension of extent n. Returns how many. */
static ptrdiff_t py_slice(ptrdiff_t n, ptrdiff_t start, ptrdiff_t stop, ptrdiff_t step, ptrdiff_t *pos) {
    ptrdiff_t count = 0, i;
    if (step == XBUF_SLICE_OMIT) step = 1;
    if (step > 0) {
        ptrdiff_t lo = start == XBUF_SLICE_OMIT ? 0 : start < 0 ? start + n : start;
        ptrdiff_t hi = stop == XBUF_SLICE_OMIT ? n : stop < 0 ? stop + n : stop;
        if (lo < 0) lo = 0;
        if (hi > n) hi = n;
        for (i = lo; i < hi; i += step) pos[count++] = i;
    } else {
        ptrdiff_t hi = start == XBUF_SLICE_OMIT ? n - 1 : start < 0 ? start + n : start;
        ptrdiff_t lo = stop == XBUF_SLICE_OMIT ? -1 : stop < 0 ? stop + n : stop;
        if (hi > n - 1) hi = n - 1;
        if (lo < -1) lo = -1;
        for (i = hi; i > lo; i += step) pos[count++] = i;
    }
    return count;
}

/* ---- Random layouts ---------------------------------------------------------------------- */

static const char *const formats[] = {"B", "<h", "<i", "<d", "3s", "<Q", "16s", "2i"};
static const ptrdiff_t format_sizes[] = {1, 2, 4, 8, 3, 8, 16, 8};

typedef struct {
    xbuf_object *array; /* the ndarray */
    xbuf_object *rows;  /* NULL, or the array re-exported with its row pointers at first items */
    xbuf_object *view;  /* a view of it */
    model m;
    unsigned char *data; /* a copy of the ndarray's data as it was made */
    ptrdiff_t data_len;
    int pil;
    const char *format;
} sample;

/* A PIL-style ndarray re-exported with each row pointer at its row's first item and
 * suboffsets[0] = 0 (the ndarray's point at the row's lowest address): a row that runs
 * backwards then lies below its pointer, and slicing it needs a suboffset below 0, which a
 * view answers with a row-pointer table of its own. */
typedef struct {
    xbuf_bufferinfo base; /* the ndarray's view, held until dealloc */
    unsigned char **table;
    ptrdiff_t suboffsets[MAXD];
} first_item_rows;

static int first_item_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    first_item_rows *r = (first_item_rows *)xbuf_object_state(self);
    (void)flags;
    view->buf = r->table;
    view->len = r->base.len;
    view->itemsize = r->base.itemsize;
    view->readonly = r->base.readonly;
    view->ndim = r->base.ndim;
    view->format = r->base.format;
    view->shape = r->base.shape;
    view->strides = r->base.strides;
    view->suboffsets = r->suboffsets;
    return XBUF_OK;
}

static void first_item_dealloc(void *state) {
    first_item_rows *r = (first_item_rows *)state;
    CHECK_OK(xbuf_release(&r->base));
    free(r->table);
    free(r);
}

static xbuf_object *first_item_rows_of(xbuf_object *array) {
    static const xbuf_type type = {sizeof(xbuf_type), "first_item_rows", first_item_getbuffer, NULL, NULL,
                                   first_item_dealloc};
    first_item_rows *r = (first_item_rows *)calloc(1, sizeof *r);
    xbuf_object *obj = NULL;
    ptrdiff_t i;
    int d;
    r->base.structsize = sizeof r->base;
    CHECK_OK(xbuf_get_buffer(array, &r->base, XBUF_FULL));
    r->table = (unsigned char **)malloc(sizeof(void *) * (size_t)(r->base.shape[0] + 1));
    for (i = 0; i < r->base.shape[0]; i++)
        r->table[i] = (unsigned char *)((uintptr_t)((unsigned char **)r->base.buf)[i] + (uintptr_t)r->base.suboffsets[0]);
    for (d = 0; d < r->base.ndim; d++) r->suboffsets[d] = r->base.suboffsets[d];
    r->suboffsets[0] = 0;
    CHECK_OK(xbuf_object_new(&type, r, &obj));
    return obj;
}

/* Draws a random layout and builds the ndarray, its view and the model. */
static int draw(sample *s) {
    ptrdiff_t strides[MAXD], step, lo = 0, hi, offset;
    ptrdiff_t idx[MAXD] = {0};
    int order[MAXD];
    int d, f, flags = 0;
    memset(s, 0, sizeof *s);
    f = (int)rnd_in(0, 7);
    s->format = formats[f];
    s->m.itemsize = format_sizes[f];
    s->m.ndim = (int)rnd_in(0, MAXD);
    s->m.count = 1;
    for (d = 0; d < s->m.ndim; d++) {
        s->m.shape[d] = rnd_in(0, 9) == 0 ? 0 : rnd_in(1, 4);
        s->m.count *= s->m.shape[d];
        order[d] = d;
    }
    /* Strides: dimensions nested in a random order (C, F or any), with random gaps and signs. */
    if (rnd_in(0, 2) == 0) {
        for (d = s->m.ndim - 1; d > 0; d--) {
            int j = (int)rnd_in(0, d), t = order[d];
            order[d] = order[j];
            order[j] = t;
        }
    } else if (rnd_in(0, 1)) {
        for (d = 0; d < s->m.ndim; d++) order[d] = s->m.ndim - 1 - d; /* Fortran */
    }
    step = s->m.itemsize * rnd_in(1, 2);
    for (d = s->m.ndim - 1; d >= 0; d--) {
        int dim = order[d];
        ptrdiff_t extent = s->m.shape[dim] > 0 ? s->m.shape[dim] : 1;
        strides[dim] = rnd_in(0, 3) == 0 ? -step : step;
        step *= extent * rnd_in(1, 2);
    }
    /* Offset: just enough that the lowest item starts at byte `pad`. */
    hi = s->m.itemsize;
    for (d = 0; d < s->m.ndim; d++) {
        ptrdiff_t reach = (s->m.shape[d] > 0 ? s->m.shape[d] - 1 : 0) * strides[d];
        if (reach < 0) lo += reach; else hi += reach;
    }
    offset = -lo + rnd_in(0, 3);
    s->data_len = offset + hi + rnd_in(0, 3);
    s->data = (unsigned char *)malloc((size_t)s->data_len + 1);
    for (d = 0; d < s->data_len; d++) s->data[d] = pattern(d);
    if (s->m.count > 0) {
        do {
            ptrdiff_t k = c_index(s->m.ndim, s->m.shape, idx), o = offset;
            for (d = 0; d < s->m.ndim; d++) o += idx[d] * strides[d];
            s->m.off[k] = o;
        } while (next_index(s->m.ndim, s->m.shape, idx));
    }
    s->pil = s->m.pil = s->m.ndim > 0 && rnd_in(0, 4) == 0;
    if (s->pil) flags |= XBUF_NDARRAY_PIL;
    if (xbuf_ndarray_new(s->data, (size_t)s->data_len, s->format, s->m.ndim, s->m.shape, strides, offset,
                         flags, &s->array) != XBUF_OK) {
        XT_FAIL("ndarray_new: %s", xbuf_last_error_message());
        return 0;
    }
    if (s->pil && rnd_in(0, 1)) s->rows = first_item_rows_of(s->array);
    if (xbuf_view_new(s->rows ? s->rows : s->array, XBUF_FULL, &s->view) != XBUF_OK) {
        XT_FAIL("view_new: %s", xbuf_last_error_message());
        return 0;
    }
    return 1;
}

static void drop(sample *s) {
    CHECK_OK(xbuf_decref(s->view));
    if (s->rows) {
        CHECK_EQ(xbuf_exports(s->rows), 0);
        CHECK_OK(xbuf_decref(s->rows));
    }
    CHECK_EQ(xbuf_exports(s->array), 0);
    CHECK_OK(xbuf_decref(s->array));
    free(s->data);
}

/* ---- Checks ------------------------------------------------------------------------------ */

static unsigned char got[MAXITEMS * 16], want[MAXITEMS * 16];

/* The view's bytes in `order` equal the model's over `data`. */
static int check_bytes(xbuf_object *view, const model *m, const unsigned char *data, char order) {
    size_t needed = 0, len = (size_t)(m->count * m->itemsize);
    char eff = order;
    if (xbuf_view_tobytes(view, order, NULL, 0, &needed) != XBUF_OK || needed != len) {
        XT_FAIL("tobytes size query: %s (needed %zu, model %zu)", xbuf_last_error_message(), needed, len);
        return 0;
    }
    if (xbuf_view_tobytes(view, order, got, sizeof got, &needed) != XBUF_OK) {
        XT_FAIL("tobytes('%c'): %s", order, xbuf_last_error_message());
        return 0;
    }
    if (order == 'A') eff = model_contiguous(m, 'F', m->pil) && !model_contiguous(m, 'C', m->pil) ? 'F' : 'C';
    model_bytes(m, data, eff, want);
    if (memcmp(got, want, len) != 0) {
        XT_FAIL("tobytes('%c') differs from the model (ndim %d, %td items of %td bytes)", order, m->ndim,
                m->count, m->itemsize);
        return 0;
    }
    return 1;
}

/* The view's own layout, read back through the protocol. */
static int shape_of(xbuf_object *view, ptrdiff_t *shape) {
    xbuf_bufferinfo info = XBUF_BUFFERINFO_INIT;
    int d, ndim;
    if (xbuf_get_buffer(view, &info, XBUF_FULL_RO) != XBUF_OK) return -1;
    ndim = info.ndim;
    for (d = 0; d < ndim; d++) shape[d] = info.shape[d];
    xbuf_release(&info);
    return ndim;
}

static int check_shape(xbuf_object *view, const model *m) {
    ptrdiff_t shape[64];
    int d, ndim = shape_of(view, shape);
    if (ndim != m->ndim) {
        XT_FAIL("ndim %d, model %d", ndim, m->ndim);
        return 0;
    }
    for (d = 0; d < ndim; d++)
        if (shape[d] != m->shape[d]) {
            XT_FAIL("shape[%d] = %td, model %td", d, shape[d], m->shape[d]);
            return 0;
        }
    return 1;
}

static long long n_own_table, n_bytes, n_contig, n_slice, n_index, n_permute, n_cast, n_copy, n_overlap, n_from, n_equal,
    n_tolist;

static void op_tobytes(sample *s) {
    check_shape(s->view, &s->m);
    if (check_bytes(s->view, &s->m, s->data, 'C') && check_bytes(s->view, &s->m, s->data, 'F') &&
        check_bytes(s->view, &s->m, s->data, 'A'))
        n_bytes++;
}

static void op_contiguity(sample *s) {
    xbuf_bufferinfo info = XBUF_BUFFERINFO_INIT;
    const char *orders = "CFA";
    int k;
    CHECK_OK(xbuf_get_buffer(s->view, &info, XBUF_FULL_RO));
    for (k = 0; k < 3; k++) {
        int got_c = xbuf_is_contiguous(&info, orders[k]);
        int want_c = model_contiguous(&s->m, orders[k], s->pil);
        if (got_c != want_c) XT_FAIL("is_contiguous('%c') = %d, model %d", orders[k], got_c, want_c);
    }
    /* A C-contiguous request succeeds exactly when the model says C-contiguous. */
    {
        xbuf_bufferinfo c = XBUF_BUFFERINFO_INIT;
        int rc = xbuf_get_buffer(s->view, &c, XBUF_C_CONTIGUOUS | XBUF_FORMAT);
        int want_ok = model_contiguous(&s->m, 'C', s->pil);
        if ((rc == XBUF_OK) != want_ok) XT_FAIL("C_CONTIGUOUS request gave %s", xbuf_status_str(rc));
        if (rc != XBUF_OK && rc != (s->pil ? XBUF_ERR_REQUEST : XBUF_ERR_NOT_CONTIGUOUS))
            XT_FAIL("C_CONTIGUOUS request failed with %s", xbuf_status_str(rc));
        xbuf_release(&c);
    }
    CHECK_OK(xbuf_release(&info));
    n_contig++;
}

/* A random slice in every dimension (sometimes fewer), checked against py_slice. */
static void op_slice(sample *s) {
    xbuf_range r[MAXD];
    ptrdiff_t pos[MAXD][16], npos[MAXD];
    int nsl = s->m.ndim == 0 ? 0 : (int)rnd_in(0, s->m.ndim), d;
    model sub;
    ptrdiff_t idx[MAXD] = {0};
    xbuf_object *v = NULL;
    sub.ndim = s->m.ndim;
    sub.itemsize = s->m.itemsize;
    sub.pil = s->m.pil;
    sub.count = 1;
    for (d = 0; d < s->m.ndim; d++) {
        ptrdiff_t n = s->m.shape[d];
        if (d < nsl) {
            r[d].start = rnd_in(0, 3) == 0 ? XBUF_SLICE_OMIT : rnd_in(-n - 2, n + 2);
            r[d].stop = rnd_in(0, 3) == 0 ? XBUF_SLICE_OMIT : rnd_in(-n - 2, n + 2);
            do r[d].step = rnd_in(0, 4) == 0 ? XBUF_SLICE_OMIT : rnd_in(-3, 3);
            while (r[d].step == 0);
        } else {
            r[d].start = r[d].stop = r[d].step = XBUF_SLICE_OMIT;
        }
        npos[d] = py_slice(n, r[d].start, r[d].stop, r[d].step, pos[d]);
        sub.shape[d] = npos[d];
        sub.count *= npos[d];
    }
    if (sub.count > 0) {
        do {
            ptrdiff_t src[MAXD] = {0};
            for (d = 0; d < sub.ndim; d++) src[d] = pos[d][idx[d]];
            sub.off[c_index(sub.ndim, sub.shape, idx)] = s->m.off[c_index(s->m.ndim, s->m.shape, src)];
        } while (next_index(sub.ndim, sub.shape, idx));
    }
    if (xbuf_view_slice(s->view, nsl ? r : NULL, nsl, &v) != XBUF_OK) {
        XT_FAIL("view_slice: %s", xbuf_last_error_message());
        return;
    }
    if (check_shape(v, &sub) && check_bytes(v, &sub, s->data, 'C') && check_bytes(v, &sub, s->data, 'F'))
        n_slice++;
    /* Count the slices that needed a row-pointer table of their own. */
    if (s->rows) {
        const first_item_rows *r = (const first_item_rows *)xbuf_object_state(s->rows);
        xbuf_bufferinfo info = XBUF_BUFFERINFO_INIT;
        CHECK_OK(xbuf_get_buffer(v, &info, XBUF_FULL_RO));
        uintptr_t at = (uintptr_t)info.buf, table = (uintptr_t)r->table;
        if (at < table || at >= table + sizeof(void *) * (size_t)r->base.shape[0]) n_own_table++;
        CHECK_OK(xbuf_release(&info));
    }
    /* A slice of a slice: slicing the result whole again changes nothing. */
    {
        xbuf_object *w = NULL;
        CHECK_OK(xbuf_view_slice(v, NULL, 0, &w));
        check_bytes(w, &sub, s->data, 'C');
        CHECK_OK(xbuf_decref(w));
    }
    CHECK_OK(xbuf_decref(v));
    /* A zero step is refused. */
    if (s->m.ndim > 0) {
        r[0].step = 0;
        CHECK_ERR(xbuf_view_slice(s->view, r, 1, &v), XBUF_ERR_INVALID_ARGUMENT, "step is zero");
    }
}

/* Indexing the first k dimensions with random (possibly negative) in-range indices. */
static void op_index(sample *s) {
    ptrdiff_t ind[MAXD], fixed[MAXD];
    int k = (int)rnd_in(0, s->m.ndim), d;
    model sub;
    ptrdiff_t idx[MAXD] = {0};
    xbuf_object *v = NULL;
    for (d = 0; d < k; d++) {
        if (s->m.shape[d] == 0) {
            ind[d] = rnd_in(-1, 1);
            CHECK_ERR(xbuf_view_index(s->view, ind, d + 1, &v), XBUF_ERR_OUT_OF_BOUNDS, "out of bounds");
            return;
        }
        fixed[d] = rnd_in(0, s->m.shape[d] - 1);
        ind[d] = rnd_in(0, 1) ? fixed[d] : fixed[d] - s->m.shape[d];
    }
    sub.ndim = s->m.ndim - k;
    sub.itemsize = s->m.itemsize;
    sub.pil = s->m.pil && k == 0; /* indexing the indirect dimension dereferences it */
    sub.count = 1;
    for (d = 0; d < sub.ndim; d++) {
        sub.shape[d] = s->m.shape[k + d];
        sub.count *= sub.shape[d];
    }
    if (sub.count > 0) {
        do {
            ptrdiff_t src[MAXD] = {0};
            for (d = 0; d < k; d++) src[d] = fixed[d];
            for (d = 0; d < sub.ndim; d++) src[k + d] = idx[d];
            sub.off[c_index(sub.ndim, sub.shape, idx)] = s->m.off[c_index(s->m.ndim, s->m.shape, src)];
        } while (next_index(sub.ndim, sub.shape, idx));
    }
    if (xbuf_view_index(s->view, k ? ind : NULL, k, &v) != XBUF_OK) {
        XT_FAIL("view_index: %s", xbuf_last_error_message());
        return;
    }
    if (check_shape(v, &sub) && check_bytes(v, &sub, s->data, 'C')) n_index++;
    /* With every index given, the item pointer is the model's item. */
    if (k == s->m.ndim) {
        void *p = NULL;
        CHECK_OK(xbuf_view_item_pointer(s->view, k ? ind : NULL, k, &p));
        CHECK(p != NULL && memcmp(p, s->data + sub.off[0], (size_t)s->m.itemsize) == 0);
    }
    CHECK_OK(xbuf_decref(v));
    if (s->m.ndim > 0 && s->m.shape[0] > 0) {
        ind[0] = s->m.shape[0];
        CHECK_ERR(xbuf_view_index(s->view, ind, 1, &v), XBUF_ERR_OUT_OF_BOUNDS, "out of bounds");
    }
}

/* A random permutation of the dimensions (refused for indirect layouts). */
static void op_permute(sample *s) {
    int axes[MAXD], d;
    model sub;
    ptrdiff_t idx[MAXD] = {0};
    xbuf_object *v = NULL;
    for (d = 0; d < s->m.ndim; d++) axes[d] = d;
    for (d = s->m.ndim - 1; d > 0; d--) {
        int j = (int)rnd_in(0, d), t = axes[d];
        axes[d] = axes[j];
        axes[j] = t;
    }
    if (s->pil) {
        CHECK_ERR(xbuf_view_permute(s->view, axes, s->m.ndim, &v), XBUF_ERR_UNSUPPORTED, "indirect");
        return;
    }
    sub = s->m;
    for (d = 0; d < s->m.ndim; d++) sub.shape[d] = s->m.shape[axes[d]];
    if (sub.count > 0) {
        do {
            ptrdiff_t src[MAXD] = {0};
            for (d = 0; d < sub.ndim; d++) src[axes[d]] = idx[d];
            sub.off[c_index(sub.ndim, sub.shape, idx)] = s->m.off[c_index(s->m.ndim, s->m.shape, src)];
        } while (next_index(sub.ndim, sub.shape, idx));
    }
    if (xbuf_view_permute(s->view, axes, s->m.ndim, &v) != XBUF_OK) {
        XT_FAIL("view_permute: %s", xbuf_last_error_message());
        return;
    }
    if (check_shape(v, &sub) && check_bytes(v, &sub, s->data, 'C') && check_bytes(v, &sub, s->data, 'F'))
        n_permute++;
    CHECK_OK(xbuf_decref(v));
}

/* Cast: refused unless C-contiguous; otherwise to bytes (1-D) and back to the original shape,
 * the bytes unchanged. */
static void op_cast(sample *s) {
    xbuf_object *b = NULL, *back = NULL, *bad = NULL;
    model flat;
    ptrdiff_t k;
    int ok;
    if (!model_contiguous(&s->m, 'C', s->pil)) {
        CHECK_ERR(xbuf_view_cast(s->view, "B", 0, NULL, &b), XBUF_ERR_NOT_CONTIGUOUS, "not C-contiguous");
        n_cast++;
        return;
    }
    CHECK_OK(xbuf_view_cast(s->view, "B", 0, NULL, &b));
    flat.ndim = 1;
    flat.itemsize = 1;
    flat.pil = 0;
    flat.count = flat.shape[0] = s->m.count * s->m.itemsize;
    for (k = 0; k < flat.count; k++) flat.off[k] = (s->m.count ? s->m.off[0] : 0) + k;
    ok = check_shape(b, &flat) && check_bytes(b, &flat, s->data, 'C');
    CHECK_OK(xbuf_view_cast(b, s->format, s->m.ndim, s->m.shape, &back));
    ok = ok && check_shape(back, &s->m) && check_bytes(back, &s->m, s->data, 'C');
    /* The byte size must be preserved. */
    if (flat.count > 0) {
        ptrdiff_t wrong = flat.count + 1;
        CHECK_ERR(xbuf_view_cast(b, "B", 1, &wrong, &bad), XBUF_ERR_INVALID_ARGUMENT, "needs");
        CHECK(bad == NULL);
    }
    CHECK_OK(xbuf_decref(back));
    CHECK_OK(xbuf_decref(b));
    if (ok) n_cast++;
}

/* Copies: into a fresh C-ordered ndarray of the same shape and format; and within the same
 * memory (overlapping), from the view into a random permutation or reversal of itself. */
static void op_copy(sample *s) {
    xbuf_object *dst = NULL, *rev = NULL;
    xbuf_bufferinfo d = XBUF_BUFFERINFO_INIT, src = XBUF_BUFFERINFO_INIT;
    model cm;
    ptrdiff_t k;
    CHECK_OK(xbuf_ndarray_zeros(s->format, s->m.ndim, s->m.shape, rnd_in(0, 1) ? 'C' : 'F', 0, &dst));
    CHECK_OK(xbuf_get_buffer(dst, &d, XBUF_FULL));
    CHECK_OK(xbuf_get_buffer(s->view, &src, XBUF_FULL_RO));
    CHECK_OK(xbuf_copy(&d, &src));
    CHECK_OK(xbuf_release(&src));
    /* The copy's C-order bytes are the model's. */
    model_bytes(&s->m, s->data, 'C', want);
    CHECK_OK(xbuf_to_contiguous(got, (size_t)(s->m.count * s->m.itemsize), &d, 'C'));
    if (memcmp(got, want, (size_t)(s->m.count * s->m.itemsize)) != 0) XT_FAIL("copy into a fresh array differs");
    else n_copy++;
    CHECK_OK(xbuf_release(&d));
    CHECK_OK(xbuf_decref(dst));

    /* Overlap: dst = the view, src = the view with every dimension reversed (same memory). */
    if (s->m.ndim > 0) {
        xbuf_range r[MAXD];
        int dd;
        ptrdiff_t idx[MAXD] = {0};
        unsigned char *before = (unsigned char *)malloc((size_t)s->data_len + 1);
        for (dd = 0; dd < s->m.ndim; dd++) {
            r[dd].start = r[dd].stop = XBUF_SLICE_OMIT;
            r[dd].step = -1;
        }
        /* The expected result: item at idx gets the old value of item at reversed idx. */
        memcpy(before, s->data, (size_t)s->data_len);
        cm = s->m;
        if (cm.count > 0) {
            do {
                ptrdiff_t ri[MAXD];
                for (dd = 0; dd < cm.ndim; dd++) ri[dd] = cm.shape[dd] - 1 - idx[dd];
                cm.off[c_index(cm.ndim, cm.shape, idx)] = s->m.off[c_index(cm.ndim, cm.shape, ri)];
            } while (next_index(cm.ndim, cm.shape, idx));
        }
        model_bytes(&cm, before, 'C', want);
        CHECK_OK(xbuf_view_slice(s->view, r, s->m.ndim, &rev));
        CHECK_OK(xbuf_get_buffer(s->view, &d, XBUF_FULL));
        CHECK_OK(xbuf_get_buffer(rev, &src, XBUF_FULL_RO));
        CHECK_OK(xbuf_copy(&d, &src));
        CHECK_OK(xbuf_release(&src));
        CHECK_OK(xbuf_release(&d));
        CHECK_OK(xbuf_decref(rev));
        /* The view now reads as the reversed original. */
        CHECK_OK(xbuf_view_tobytes(s->view, 'C', got, sizeof got, NULL));
        if (memcmp(got, want, (size_t)(cm.count * cm.itemsize)) != 0) { XT_FAIL("overlapping reversed copy differs");
            { ptrdiff_t q; fprintf(stderr, "shape"); for (q=0;q<cm.ndim;q++) fprintf(stderr," %td", cm.shape[q]); fprintf(stderr,"\n got"); for (q=0;q<cm.count*cm.itemsize;q++) fprintf(stderr," %d", got[q]); fprintf(stderr,"\nwant"); for (q=0;q<cm.count*cm.itemsize;q++) fprintf(stderr," %d", want[q]); fprintf(stderr,"\n"); } }
        else n_overlap++;
        /* Restore the data for later operations: write the original C-order bytes back. */
        model_bytes(&s->m, before, 'C', want);
        CHECK_OK(xbuf_get_buffer(s->view, &d, XBUF_FULL));
        CHECK_OK(xbuf_from_contiguous(&d, want, (size_t)(s->m.count * s->m.itemsize), 'C'));
        CHECK_OK(xbuf_release(&d));
        free(before);
    }
    (void)k;
}

/* from_contiguous in a random order writes the items where the model says. */
static void op_from_contiguous(sample *s) {
    xbuf_bufferinfo d = XBUF_BUFFERINFO_INIT;
    const char order = "CFA"[rnd_in(0, 2)];
    char eff;
    size_t len = (size_t)(s->m.count * s->m.itemsize), k;
    unsigned char *fresh = (unsigned char *)malloc(len + 1);
    unsigned char *data2 = (unsigned char *)malloc((size_t)s->data_len + 1);
    for (k = 0; k < len; k++) fresh[k] = (unsigned char)rnd();
    CHECK_OK(xbuf_get_buffer(s->view, &d, XBUF_FULL));
    CHECK_ERR(xbuf_from_contiguous(&d, fresh, len + 1, order), XBUF_ERR_INVALID_ARGUMENT, "bytes but the view holds");
    CHECK_OK(xbuf_from_contiguous(&d, fresh, len, order));
    CHECK_OK(xbuf_release(&d));
    /* Scatter `fresh` over a copy of the data by the model, then compare C-order bytes. */
    eff = order == 'A' ? (model_contiguous(&s->m, 'F', s->pil) && !model_contiguous(&s->m, 'C', s->pil) ? 'F' : 'C') : order;
    memcpy(data2, s->data, (size_t)s->data_len);
    if (s->m.count > 0) {
        ptrdiff_t idx[MAXD] = {0}, n = 0;
        do {
            ptrdiff_t c = c_index(s->m.ndim, s->m.shape, idx);
            memcpy(data2 + s->m.off[c], fresh + n * s->m.itemsize, (size_t)s->m.itemsize);
            n++;
        } while (eff == 'C' ? next_index(s->m.ndim, s->m.shape, idx) : next_index_f(s->m.ndim, s->m.shape, idx));
    }
    if (check_bytes(s->view, &s->m, data2, 'C')) n_from++;
    free(fresh);
    free(data2);
}

/* ---- Values: equality and tolist ---------------------------------------------------------- */

/* Whether two items of the sample's format are equal by value: doubles as doubles (NaN never
 * equal, -0.0 == 0.0), every other format of this test byte by byte. */
static int item_equal(const char *format, const unsigned char *a, const unsigned char *b, ptrdiff_t size) {
    if (strcmp(format, "<d") == 0) {
        double x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        return x == y;
    }
    return memcmp(a, b, (size_t)size) == 0;
}

static unsigned char equal_buf[MAXITEMS * 16];

/* Equality against a copy in another layout, then with one item changed. */
static void op_equal(sample *s) {
    xbuf_object *copy = NULL, *cv = NULL;
    xbuf_bufferinfo d = XBUF_BUFFERINFO_INIT, src = XBUF_BUFFERINFO_INIT;
    ptrdiff_t k;
    int got = -1, want = 1;
    CHECK_OK(xbuf_ndarray_zeros(s->format, s->m.ndim, s->m.shape, rnd_in(0, 1) ? 'C' : 'F', 0, &copy));
    CHECK_OK(xbuf_get_buffer(copy, &d, XBUF_FULL));
    CHECK_OK(xbuf_get_buffer(s->view, &src, XBUF_FULL_RO));
    CHECK_OK(xbuf_copy(&d, &src));
    CHECK_OK(xbuf_release(&src));
    CHECK_OK(xbuf_view_new(copy, XBUF_FULL_RO, &cv));
    /* Same values, unless an item is NaN (never equal, not even to itself). */
    model_bytes(&s->m, s->data, 'C', equal_buf);
    for (k = 0; k < s->m.count; k++) {
        const unsigned char *item = equal_buf + k * s->m.itemsize;
        if (!item_equal(s->format, item, item, s->m.itemsize)) want = 0;
    }
    CHECK_OK(xbuf_view_equal(s->view, cv, &got));
    if (got != want) XT_FAIL("equal to its copy: %d, model %d (format %s)", got, want, s->format);
    CHECK_OK(xbuf_view_equal(s->view, s->view, &got));
    if (got != want) XT_FAIL("equal to itself: %d, model %d", got, want);
    /* One byte of one item changed: unequal unless the values still compare equal. */
    if (s->m.count > 0) {
        ptrdiff_t victim = rnd_in(0, s->m.count - 1), byte = rnd_in(0, s->m.itemsize - 1);
        unsigned char changed[16];
        ptrdiff_t idx[MAXD] = {0}, rem = victim;
        void *p = NULL;
        int dd;
        for (dd = s->m.ndim - 1; dd >= 0; dd--) {
            idx[dd] = rem % s->m.shape[dd];
            rem /= s->m.shape[dd];
        }
        CHECK_OK(xbuf_get_pointer(&d, idx, &p));
        memcpy(changed, p, (size_t)s->m.itemsize);
        changed[byte] ^= (unsigned char)(1u << rnd_in(0, 7));
        memcpy(p, changed, (size_t)s->m.itemsize);
        want = 1;
        for (k = 0; k < s->m.count; k++) {
            const unsigned char *a = equal_buf + k * s->m.itemsize;
            const unsigned char *b = k == victim ? changed : a;
            if (!item_equal(s->format, a, b, s->m.itemsize)) want = 0;
        }
        CHECK_OK(xbuf_view_equal(s->view, cv, &got));
        if (got != want) XT_FAIL("equal after a change: %d, model %d (format %s)", got, want, s->format);
    }
    /* A different shape is never equal. */
    if (s->m.ndim > 0 && s->m.shape[0] > 1) {
        xbuf_object *part = NULL;
        xbuf_range r = {0, 1, XBUF_SLICE_OMIT};
        CHECK_OK(xbuf_view_slice(cv, &r, 1, &part));
        CHECK_OK(xbuf_view_equal(s->view, part, &got));
        CHECK_EQ(got, 0);
        CHECK_OK(xbuf_decref(part));
    }
    CHECK_OK(xbuf_release(&d));
    CHECK_OK(xbuf_decref(cv));
    CHECK_OK(xbuf_decref(copy));
    n_equal++;
}

/* Appends the JSON of one item of the sample's format to `out`; a double is written as '#'
 * (compared by value below). */
static size_t json_item(const char *format, const unsigned char *p, char *out) {
    size_t n = 0;
    int k;
    if (strcmp(format, "B") == 0) return (size_t)sprintf(out, "%u", p[0]);
    if (strcmp(format, "<h") == 0) return (size_t)sprintf(out, "%d", (int)(int16_t)(p[0] | p[1] << 8));
    if (strcmp(format, "<i") == 0 || strcmp(format, "2i") == 0) {
        int32_t v[2];
        memcpy(v, p, strcmp(format, "2i") == 0 ? 8 : 4);
        if (strcmp(format, "<i") == 0) return (size_t)sprintf(out, "%d", v[0]);
        return (size_t)sprintf(out, "[%d, %d]", v[0], v[1]);
    }
    if (strcmp(format, "<Q") == 0) {
        uint64_t v = 0;
        for (k = 7; k >= 0; k--) v = v << 8 | p[k];
        return (size_t)sprintf(out, "%llu", (unsigned long long)v);
    }
    if (strcmp(format, "<d") == 0) {
        out[0] = '#';
        return 1;
    }
    /* 3s, 16s: a string of Latin-1 code points, escaped as Python's json.dumps does. */
    out[n++] = '"';
    for (k = 0; k < (strcmp(format, "3s") == 0 ? 3 : 16); k++) {
        unsigned c = p[k];
        if (c == '"' || c == '\\') n += (size_t)sprintf(out + n, "\\%c", c);
        else if (c == '\n') n += (size_t)sprintf(out + n, "\\n");
        else if (c == '\r') n += (size_t)sprintf(out + n, "\\r");
        else if (c == '\t') n += (size_t)sprintf(out + n, "\\t");
        else if (c == '\b') n += (size_t)sprintf(out + n, "\\b");
        else if (c == '\f') n += (size_t)sprintf(out + n, "\\f");
        else if (c >= 0x20 && c < 0x7f) out[n++] = (char)c;
        else n += (size_t)sprintf(out + n, "\\u%04x", c);
    }
    out[n++] = '"';
    return n;
}

/* The model's JSON text of the whole view (nested lists in C order). */
static size_t json_model(const model *m, const unsigned char *data, const char *format, int d, ptrdiff_t *k,
                         char *out) {
    size_t n = 0;
    ptrdiff_t i;
    if (d == m->ndim) {
        n = json_item(format, data + m->off[*k], out);
        (*k)++;
        return n;
    }
    out[n++] = '[';
    for (i = 0; i < m->shape[d]; i++) {
        if (i > 0) {
            out[n++] = ',';
            out[n++] = ' ';
        }
        n += json_model(m, data, format, d + 1, k, out + n);
    }
    out[n++] = ']';
    return n;
}

static char json_got[1 << 18], json_want[1 << 18];

static void op_tolist(sample *s) {
    size_t needed = 0, n;
    ptrdiff_t k = 0, item = 0;
    const char *g, *w;
    CHECK_OK(xbuf_view_tolist(s->view, NULL, 0, &needed));
    if (needed > sizeof json_got) {
        XT_FAIL("tolist needs %zu bytes", needed);
        return;
    }
    CHECK_OK(xbuf_view_tolist(s->view, json_got, sizeof json_got, NULL));
    CHECK_EQ(strlen(json_got) + 1, needed);
    n = json_model(&s->m, s->data, s->format, 0, &k, json_want);
    json_want[n] = 0;
    /* Walk both texts; '#' in the model is a double, read back from the text and compared. */
    for (g = json_got, w = json_want; *w; w++) {
        if (*w == '#' && strcmp(s->format, "<d") == 0) {
            char *end;
            double want_v, got_v;
            memcpy(&want_v, s->data + s->m.off[item++], 8);
            if (strncmp(g, "NaN", 3) == 0) {
                end = (char *)g + 3;
                if (want_v == want_v) XT_FAIL("tolist wrote NaN for %.17g", want_v);
            } else if (strncmp(g, "Infinity", 8) == 0 || strncmp(g, "-Infinity", 9) == 0) {
                got_v = g[0] == '-' ? -1.0 / 0.0 : 1.0 / 0.0;
                end = (char *)g + (g[0] == '-' ? 9 : 8);
                if (got_v != want_v) XT_FAIL("tolist wrote %.9s for %.17g", g, want_v);
            } else {
                got_v = strtod(g, &end);
                if (end == g || memcmp(&got_v, &want_v, 8) != 0) {
                    XT_FAIL("tolist number '%.24s' does not read back as %.17g", g, want_v);
                    return;
                }
            }
            g = end;
            continue;
        }
        if (*g != *w) {
            XT_FAIL("tolist differs from the model at offset %td: '%.40s' vs '%.40s'", g - json_got, g, w);
            return;
        }
        g++;
    }
    if (*g) XT_FAIL("tolist has extra text: '%.40s'", g);
    else n_tolist++;
}

static void test_random_views(void) {
    const char *env_seed = getenv("XBUF_SEED"), *env_cases = getenv("XBUF_CASES"), *env_only = getenv("XBUF_CASE");
    uint64_t seed = env_seed ? strtoull(env_seed, NULL, 0) : 0x5eed2026ULL;
    long cases = env_cases ? strtol(env_cases, NULL, 0) : 10000, c;
    int before = xt_failures;
    printf("seed 0x%llx, %ld cases (replay with XBUF_SEED=0x%llx)\n", (unsigned long long)seed, cases,
           (unsigned long long)seed);
    for (c = 0; c < cases && xt_failures - before < 10; c++) {
        sample s;
        int fails = xt_failures;
        if (env_only && strtol(env_only, NULL, 0) != c) continue;
        rng_state = seed + (uint64_t)c * 0x9E3779B97F4A7C15ULL;
        if (rng_state == 0) rng_state = 1;
        if (!draw(&s)) break;
        op_tobytes(&s);
        op_contiguity(&s);
        op_slice(&s);
        op_index(&s);
        op_permute(&s);
        op_cast(&s);
        op_copy(&s);
        op_equal(&s);
        op_tolist(&s);
        op_from_contiguous(&s); /* last: it overwrites the array's items */
        drop(&s);
        if (xt_failures != fails)
            fprintf(stderr, "  in case %ld (ndim %d, format %s, pil %d): replay with XBUF_SEED=0x%llx\n", c,
                    s.m.ndim, s.format, s.pil, (unsigned long long)seed);
    }
    printf("checked: tobytes %lld, contiguity %lld, slice %lld (%lld with a row-pointer table of their own), "
           "index %lld, permute %lld, cast %lld, copy %lld, overlapping copy %lld, from_contiguous %lld, "
           "equal %lld, tolist %lld\n",
           n_bytes, n_contig, n_slice, n_own_table, n_index, n_permute, n_cast, n_copy, n_overlap, n_from, n_equal,
           n_tolist);
    if (env_only) return;
    /* Every case must have reached every check (a case without dimensions has no overlap). */
    CHECK_EQ(n_bytes, cases);
    CHECK_EQ(n_slice, cases);
    CHECK_EQ(n_copy, cases);
    CHECK_EQ(n_from, cases);
    CHECK_EQ(n_cast, cases);
    CHECK_EQ(n_equal, cases);
    CHECK_EQ(n_tolist, cases);
    if (cases >= 1000) CHECK(n_own_table > 0);
}

XBUF_TEST_MAIN(XT_CASE(test_random_views))
