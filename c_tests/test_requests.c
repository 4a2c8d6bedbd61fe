/*
 * Every request against every kind of exporter, table-driven as CPython's test_buffer is.
 *
 * The subjects are the built-in exporters (bytes, bytearray, wrap read-only and writable,
 * slices, mmap in read, read-write and copy-on-write modes, empty objects) and a C exporter
 * serving many layouts (2-D C, Fortran, strided, negative strides, 0-dim, zero-length,
 * PIL-style suboffsets, 3-D, ...), each read-only and writable, and once more written in
 * CPython's style (it fills only what the request asks for and refuses what it cannot meet,
 * so the library sees minimal answers and the exporter's own errors). Every subject is asked with
 * every flag value from 0 to 0x1ff plus a few out-of-range ones through a full-size view, and
 * with every well-formed one (72 of them) again through a view of the smallest published size,
 * which keeps its whole layout on the heap. A small model written here from the
 * PEP 3118 rules (DESIGN.md "Requests") predicts the outcome: either every field of the view
 * (buf, len, itemsize, readonly, ndim, format, shape, strides, suboffsets, releaser, internal,
 * the export and reference counts, and every item read through the view) or the exact status
 * and a message naming the reason. Every view is released and the counts must return.
 */
#include <limits.h>
#include <unistd.h>

#include "xbuf_test.h"

/* ---- The model ----------------------------------------------------------------------------- */

/* The PEP 3118 flag values, spelled out so that the model does not lean on the header. */
enum {
    M_WRITABLE = 0x1,
    M_FORMAT = 0x4,
    M_ND = 0x8,
    M_STRIDES = 0x10 | M_ND,
    M_C_CONTIGUOUS = 0x20 | M_STRIDES,
    M_F_CONTIGUOUS = 0x40 | M_STRIDES,
    M_ANY_CONTIGUOUS = 0x80 | M_STRIDES,
    M_INDIRECT = 0x100 | M_STRIDES
};

static int has(int flags, int f) { return (flags & f) == f; }

/* A request is well-formed when it carries only known bits and each compound flag's own bit
 * comes with the flags it builds on (STRIDES needs ND; C/F/ANY_CONTIGUOUS and INDIRECT need
 * STRIDES). */
static int model_flags_valid(int f) {
    if (f & ~(0x1 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100)) return 0;
    if ((f & 0x10) && !(f & M_ND)) return 0;
    if ((f & (0x20 | 0x40 | 0x80 | 0x100)) && !has(f, M_STRIDES)) return 0;
    return 1;
}

/* What the memory is, written down by hand for each subject (not computed by the library). */
typedef struct {
    int readonly;
    int indirect; /* needs suboffsets */
    int c_contig; /* contiguous in C order (never with suboffsets) */
    int f_contig; /* contiguous in Fortran order */
} mem_facts;

typedef struct {
    int status;
    const char *needle; /* what the message must name */
} outcome;

/* The outcome of a request. When several rules fail, the library reports the first in this
 * order: flags, indirection, writability, strides, then C, F and ANY contiguity. */
static outcome model_outcome(int flags, const mem_facts *m) {
    outcome o = {XBUF_OK, ""};
    if (!model_flags_valid(flags)) {
        o.status = XBUF_ERR_INVALID_ARGUMENT;
        o.needle = "request flags 0x";
    } else if (m->indirect && !has(flags, M_INDIRECT)) {
        o.status = XBUF_ERR_REQUEST;
        o.needle = "lacks XBUF_INDIRECT";
    } else if (has(flags, M_WRITABLE) && m->readonly) {
        o.status = XBUF_ERR_READONLY;
        o.needle = "asks for XBUF_WRITABLE";
    } else if (!has(flags, M_STRIDES) && !m->c_contig) {
        o.status = XBUF_ERR_NOT_CONTIGUOUS;
        o.needle = "lacks XBUF_STRIDES";
    } else if (has(flags, M_C_CONTIGUOUS) && !m->c_contig) {
        o.status = XBUF_ERR_NOT_CONTIGUOUS;
        o.needle = "asks for XBUF_C_CONTIGUOUS";
    } else if (has(flags, M_F_CONTIGUOUS) && !m->f_contig) {
        o.status = XBUF_ERR_NOT_CONTIGUOUS;
        o.needle = "asks for XBUF_F_CONTIGUOUS";
    } else if (has(flags, M_ANY_CONTIGUOUS) && !m->c_contig && !m->f_contig) {
        o.status = XBUF_ERR_NOT_CONTIGUOUS;
        o.needle = "asks for XBUF_ANY_CONTIGUOUS";
    }
    return o;
}

/* The flag values every subject is asked with. */
static int all_flags[0x200 + 8];
static int n_flags, n_valid_flags;

static void build_flag_list(void) {
    static const int extra[] = {0x200, 0x200 | 0x11d, 0x400, 0x8000, 0x40000 | M_FORMAT, INT_MAX, -1, INT_MIN};
    int f;
    size_t i;
    n_flags = n_valid_flags = 0;
    for (f = 0; f < 0x200; f++) {
        all_flags[n_flags++] = f;
        n_valid_flags += model_flags_valid(f);
    }
    for (i = 0; i < sizeof extra / sizeof extra[0]; i++) all_flags[n_flags++] = extra[i];
}

/* ---- Subjects -------------------------------------------------------------------------------- */

#define MAXD 3
#define MAX_ITEMS 64

/* An exporter together with the view the model expects from it for a full request. */
typedef struct {
    char name[64];
    xbuf_object *obj;      /* the object asked */
    xbuf_object *releaser; /* the object the view must name */
    mem_facts facts;
    unsigned char *buf;
    ptrdiff_t itemsize;
    int ndim;
    ptrdiff_t shape[MAXD];
    ptrdiff_t strides[MAXD];    /* the true strides, also when the exporter gives none */
    ptrdiff_t suboffsets[MAXD]; /* meaningful when facts.indirect */
    const char *format;         /* as the consumer reads it ("B" when the exporter gives none) */
    const unsigned char *items; /* every item's bytes, in C order of the logical indices */
    void *internal;
    struct layout_state *st; /* the C exporter's state, or NULL for a built-in exporter */
} subject;

static ptrdiff_t item_count(int ndim, const ptrdiff_t *shape) {
    ptrdiff_t n = 1;
    int d;
    for (d = 0; d < ndim; d++) n *= shape[d];
    return n;
}

static void c_strides(int ndim, const ptrdiff_t *shape, ptrdiff_t itemsize, ptrdiff_t *out) {
    ptrdiff_t step = itemsize;
    int d;
    for (d = ndim - 1; d >= 0; d--) {
        out[d] = step;
        step *= shape[d] > 0 ? shape[d] : 1;
    }
}

/* The logical indices of the k-th item in C order. */
static void unravel(ptrdiff_t k, int ndim, const ptrdiff_t *shape, ptrdiff_t *idx) {
    int d;
    for (d = ndim - 1; d >= 0; d--) {
        idx[d] = k % shape[d];
        k /= shape[d];
    }
}

/* ---- A C exporter serving one layout -------------------------------------------------------- */

typedef struct {
    const char *name;
    int ndim;
    ptrdiff_t shape[MAXD];
    ptrdiff_t strides[MAXD];
    int give_strides; /* else the exporter leaves strides NULL (C order) */
    int indirect;     /* row pointers in buf; items at *row + sub0 */
    ptrdiff_t sub0;
    ptrdiff_t itemsize;
    const char *format; /* NULL: the exporter leaves it NULL, meaning "B" */
    ptrdiff_t start;    /* offset of buf in the data block */
    int c_contig, f_contig;
} layout_case;

#define PTR ((ptrdiff_t)sizeof(void *))

static const layout_case layouts[] = {
    /* name                         ndim shape      strides       gs ind sub0 isz fmt  start C  F */
    {"2-D C 'i'",                     2, {3, 4},    {16, 4},       1, 0, 0, 4, "i",    0,   1, 0},
    {"2-D C 'i', strides implied",    2, {3, 4},    {0, 0},        0, 0, 0, 4, "i",    0,   1, 0},
    {"2-D Fortran 'i'",               2, {3, 4},    {4, 12},       1, 0, 0, 4, "i",    0,   0, 1},
    {"2-D every second column",       2, {3, 2},    {16, 8},       1, 0, 0, 4, "i",    0,   0, 0},
    {"2-D negative strides",          2, {3, 4},    {-16, -4},     1, 0, 0, 4, "i",    44,  0, 0},
    {"2-D rows reversed",             2, {3, 4},    {-16, 4},      1, 0, 0, 4, "=i",   32,  0, 0},
    {"2-D one row, odd stride",       2, {1, 4},    {1000, 4},     1, 0, 0, 4, "i",    0,   1, 1},
    {"2-D one column, odd stride",    2, {4, 1},    {4, 7},        1, 0, 0, 4, "<i",   0,   1, 1},
    {"0-dim 'd'",                     0, {0},       {0},           0, 0, 0, 8, "d",    0,   1, 1},
    {"zero-length dimension",         2, {3, 0},    {-8, 4},       1, 0, 0, 4, "i",    64,  1, 1},
    {"1-D bytes, no format",          1, {6},       {1},           0, 0, 0, 1, NULL,   0,   1, 1},
    {"1-D strided '<q'",              1, {3},       {16},          1, 0, 0, 8, "<q",   0,   0, 0},
    {"1-D reversed 'B'",              1, {5},       {-1},          1, 0, 0, 1, "B",    4,   0, 0},
    {"PIL-style suboffsets",          2, {3, 4},    {PTR, 4},      1, 1, 4, 4, "i",    0,   0, 0},
    {"PIL-style, rows reversed",      2, {3, 4},    {-PTR, 4},     1, 1, 0, 4, "i",    2 * PTR, 0, 0},
    {"3-D C 'h'",                     3, {2, 3, 4}, {24, 8, 2},    1, 0, 0, 2, "h",    0,   1, 0},
    {"3-D Fortran 'h'",               3, {2, 3, 4}, {2, 4, 12},    1, 0, 0, 2, "h",    0,   0, 1},
    {"3-D strided '<h'",              3, {2, 3, 2}, {24, 8, 4},    1, 0, 0, 2, "<h",   0,   0, 0},
    {"3-D C, strides implied",        3, {2, 2, 2}, {0, 0, 0},     0, 0, 0, 8, "<ii",  0,   1, 0},
};

#define N_LAYOUTS (sizeof layouts / sizeof layouts[0])
#define ROW_BYTES 64

typedef struct layout_state {
    const layout_case *lc;
    int readonly;
    int honour; /* answers only what the request asks for and refuses what it cannot meet */
    mem_facts facts;
    union {
        long long align;
        unsigned char bytes[1024];
    } block; /* the memory (or the row pointers of an indirect layout) */
    union {
        long long align;
        unsigned char bytes[MAXD * ROW_BYTES + 64];
    } rows; /* the rows of an indirect layout */
    unsigned char *buf;
    unsigned char items[MAX_ITEMS * 8];
    /* the arrays getbuffer hands out; scribbled over after each get */
    ptrdiff_t shape[MAXD], strides[MAXD], suboffsets[MAXD];
    int gets, releases, bad_internal;
    int token;
} layout_state;

/*
 * Two styles of exporter: a plain one describes everything whatever the request and leaves
 * trimming and checking to the library; an honouring one (as CPython's exporters are written)
 * refuses a request it cannot meet itself and fills only the fields asked for: ndim 1 and no
 * shape without XBUF_ND, no strides without XBUF_STRIDES, no format without XBUF_FORMAT.
 */
static int layout_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    layout_state *st = (layout_state *)xbuf_object_state(self);
    const layout_case *lc = st->lc;
    st->gets++;
    if (st->honour) {
        outcome o = model_outcome(flags, &st->facts);
        if (o.status != XBUF_OK) {
            char msg[80];
            snprintf(msg, sizeof msg, "layout exporter refuses request 0x%x", (unsigned)flags);
            return xbuf_set_error(o.status, msg);
        }
    }
    memcpy(st->shape, lc->shape, sizeof st->shape);
    memcpy(st->strides, lc->strides, sizeof st->strides);
    st->suboffsets[0] = lc->sub0;
    st->suboffsets[1] = -1;
    st->suboffsets[2] = -1;
    view->buf = st->buf;
    view->len = item_count(lc->ndim, lc->shape) * lc->itemsize;
    view->itemsize = lc->itemsize;
    view->readonly = st->readonly;
    view->ndim = lc->ndim;
    view->format = lc->format;
    view->shape = lc->ndim > 0 ? st->shape : NULL;
    view->strides = lc->give_strides ? st->strides : NULL;
    view->suboffsets = lc->indirect ? st->suboffsets : NULL;
    view->internal = &st->token;
    if (st->honour) {
        if (!has(flags, M_ND)) {
            view->ndim = 1;
            view->shape = NULL;
        }
        if (!has(flags, M_STRIDES)) view->strides = NULL;
        if (!has(flags, M_FORMAT)) view->format = NULL;
    }
    return XBUF_OK;
}

static void layout_releasebuffer(xbuf_object *self, xbuf_bufferinfo *view) {
    layout_state *st = (layout_state *)xbuf_object_state(self);
    if (view == NULL) return;
    st->releases++;
    if (view->internal != &st->token) st->bad_internal++;
}

/* The bytes of the k-th item (distinct for neighbouring items and for each byte). */
static void item_bytes(ptrdiff_t k, ptrdiff_t itemsize, unsigned char *out) {
    ptrdiff_t b;
    for (b = 0; b < itemsize; b++) out[b] = (unsigned char)(k * 11 + b * 3 + 1);
}

/* Lays the items out in memory as the layout describes and fills in the subject. */
static void layout_build(layout_state *st, const layout_case *lc, int readonly, int honour, subject *s) {
    ptrdiff_t n = item_count(lc->ndim, lc->shape), k, idx[MAXD];
    ptrdiff_t strides[MAXD];
    int d;
    memset(st, 0, sizeof *st);
    st->lc = lc;
    st->readonly = readonly;
    st->honour = honour;
    st->facts.readonly = readonly;
    st->facts.indirect = lc->indirect;
    st->facts.c_contig = lc->c_contig;
    st->facts.f_contig = lc->f_contig;
    memset(st->block.bytes, 0xEE, sizeof st->block.bytes);
    memset(st->rows.bytes, 0xDD, sizeof st->rows.bytes);
    st->buf = st->block.bytes + lc->start;
    if (lc->give_strides)
        memcpy(strides, lc->strides, sizeof strides);
    else
        c_strides(lc->ndim, lc->shape, lc->itemsize, strides);
    if (lc->indirect) {
        /* Row r's pointer points at rows[shape0 - 1 - r], sub0 bytes before its first item. */
        ptrdiff_t r;
        for (r = 0; r < lc->shape[0]; r++) {
            unsigned char *row = st->rows.bytes + (lc->shape[0] - 1 - r) * ROW_BYTES;
            memcpy(st->buf + r * strides[0], &row, sizeof row);
        }
    }
    for (k = 0; k < n; k++) {
        unsigned char *p;
        unravel(k, lc->ndim, lc->shape, idx);
        if (lc->indirect) {
            p = st->rows.bytes + (lc->shape[0] - 1 - idx[0]) * ROW_BYTES + lc->sub0;
            for (d = 1; d < lc->ndim; d++) p += idx[d] * strides[d];
        } else {
            p = st->buf;
            for (d = 0; d < lc->ndim; d++) p += idx[d] * strides[d];
        }
        item_bytes(k, lc->itemsize, st->items + k * lc->itemsize);
        memcpy(p, st->items + k * lc->itemsize, (size_t)lc->itemsize);
    }

    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "C exporter: %s, %s%s", lc->name, readonly ? "read-only" : "writable",
             honour ? ", honouring the flags" : "");
    s->facts = st->facts;
    s->buf = st->buf;
    s->itemsize = lc->itemsize;
    s->ndim = lc->ndim;
    memcpy(s->shape, lc->shape, sizeof s->shape);
    memcpy(s->strides, strides, sizeof s->strides);
    s->suboffsets[0] = lc->sub0;
    s->suboffsets[1] = s->suboffsets[2] = -1;
    s->format = lc->format ? lc->format : "B";
    s->items = st->items;
    s->internal = &st->token;
    s->st = st;
}

/* ---- Checking one request ------------------------------------------------------------------- */

/* Reads every item through the view, as a consumer would, and compares it with the model. */
static void check_items(const xbuf_bufferinfo *v, const subject *s) {
    ptrdiff_t one, shape_c[MAXD], strides_c[MAXD], idx[MAXD], k, n;
    const ptrdiff_t *shape, *strides;
    int nd, d, wrong_items = 0, wrong_pointers = 0;
    if (v->shape != NULL) {
        nd = v->ndim;
        shape = v->shape;
    } else {
        nd = 1;
        one = v->len / v->itemsize;
        shape = &one;
    }
    if (nd > MAXD) {
        XT_FAIL("view of %d dimensions", nd);
        return;
    }
    if (v->strides != NULL && v->shape != NULL) {
        strides = v->strides;
    } else {
        memcpy(shape_c, shape, sizeof(ptrdiff_t) * (size_t)nd);
        c_strides(nd, shape_c, v->itemsize, strides_c);
        strides = strides_c;
    }
    n = item_count(nd, shape);
    CHECK_EQ(n, item_count(s->ndim, s->shape));
    for (k = 0; k < n && k < MAX_ITEMS; k++) {
        unsigned char *p = (unsigned char *)v->buf;
        void *q = NULL;
        unravel(k, nd, shape, idx);
        for (d = 0; d < nd; d++) {
            p += idx[d] * strides[d];
            if (v->suboffsets != NULL && v->suboffsets[d] >= 0) {
                unsigned char *row;
                memcpy(&row, p, sizeof row);
                p = row + v->suboffsets[d];
            }
        }
        if (memcmp(p, s->items + k * s->itemsize, (size_t)s->itemsize) != 0) wrong_items++;
        if (xbuf_get_pointer(v, idx, &q) != XBUF_OK || q != (void *)p) wrong_pointers++;
    }
    CHECK_EQ(wrong_items, 0);
    CHECK_EQ(wrong_pointers, 0);
}

/* The view holds every field the model predicts (and, with `deep`, the library's contiguity
 * answers and every item agree too). */
static void check_filled(const xbuf_bufferinfo *v, const subject *s, int flags, int deep) {
    int nd = has(flags, M_ND), st = has(flags, M_STRIDES), d;
    int flat = s->ndim == 1 && s->itemsize == 1 && !s->facts.indirect && s->strides[0] == 1;
    CHECK(v->buf == s->buf);
    CHECK(v->releaser == s->releaser);
    CHECK_EQ(v->len, item_count(s->ndim, s->shape) * s->itemsize);
    CHECK_EQ(v->itemsize, s->itemsize);
    CHECK_EQ(v->readonly, s->facts.readonly);
    CHECK_EQ(v->ndim, nd ? s->ndim : 1);
    CHECK(v->internal == s->internal);
    if (has(flags, M_FORMAT))
        CHECK_STR(v->format, s->format);
    else
        CHECK(v->format == NULL);
    if (nd) {
        CHECK(v->shape != NULL);
        if (v->shape != NULL)
            for (d = 0; d < s->ndim; d++) CHECK_EQ(v->shape[d], s->shape[d]);
        if (flat) CHECK(v->shape == &v->len); /* 1-D bytes: shape points at len */
    } else {
        CHECK(v->shape == NULL);
    }
    if (st) {
        CHECK(v->strides != NULL);
        if (v->strides != NULL)
            for (d = 0; d < s->ndim; d++) CHECK_EQ(v->strides[d], s->strides[d]);
        if (flat) CHECK(v->strides == &v->itemsize); /* and strides at itemsize */
    } else {
        CHECK(v->strides == NULL);
    }
    if (s->facts.indirect) {
        CHECK(v->suboffsets != NULL);
        if (v->suboffsets != NULL)
            for (d = 0; d < s->ndim; d++) CHECK_EQ(v->suboffsets[d], s->suboffsets[d]);
    } else {
        CHECK(v->suboffsets == NULL);
    }
    if (!deep) return;
    /* The library's contiguity answers agree with the facts written down by hand. */
    if (nd) {
        CHECK_EQ(xbuf_is_contiguous(v, 'C'), s->facts.c_contig);
        CHECK_EQ(xbuf_is_contiguous(v, 'F'), s->facts.f_contig);
        CHECK_EQ(xbuf_is_contiguous(v, 'A'), s->facts.c_contig || s->facts.f_contig);
    } else {
        CHECK_EQ(xbuf_is_contiguous(v, 'C'), 1);
        CHECK_EQ(xbuf_is_contiguous(v, 'A'), 1);
    }
    check_items(v, s);
}

/* The struct holds no view: every byte up to structsize is zero except structsize itself, and
 * nothing past structsize was touched. */
static void check_empty(const xbuf_bufferinfo *v, size_t structsize) {
    const unsigned char *p = (const unsigned char *)v;
    size_t i, nonzero = 0, touched = 0;
    CHECK_EQ(v->structsize, structsize);
    for (i = sizeof v->structsize; i < structsize; i++) nonzero += p[i] != 0;
    for (i = structsize; i < sizeof *v; i++) touched += p[i] != 0x5A;
    CHECK_EQ(nonzero, 0);
    CHECK_EQ(touched, 0);
}

static long combinations;

static void run_request(const subject *s, int flags, size_t structsize) {
    int failures_before = xt_failures;
    outcome o = model_outcome(flags, &s->facts);
    xbuf_bufferinfo v;
    ptrdiff_t rel_exports = xbuf_exports(s->releaser), rel_refs = xbuf_refcount(s->releaser);
    ptrdiff_t obj_exports = xbuf_exports(s->obj), obj_refs = xbuf_refcount(s->obj);
    int gets = s->st ? s->st->gets : 0, releases = s->st ? s->st->releases : 0;
    int rc, called = model_flags_valid(flags);
    size_t i, touched = 0;

    memset(&v, 0x5A, sizeof v); /* garbage that the library must overwrite or leave alone */
    v.structsize = structsize;
    rc = xbuf_get_buffer(s->obj, &v, flags);
    combinations++;
    if (o.status != XBUF_OK && called && s->st != NULL && s->st->honour) {
        /* Refused by the exporter itself: its status and message reach the consumer, and a
         * failed getbuffer owes no release. */
        char needle[80];
        snprintf(needle, sizeof needle, "layout exporter refuses request 0x%x", (unsigned)flags);
        CHECK_ERR(rc, o.status, needle);
        check_empty(&v, structsize);
        CHECK_EQ(xbuf_exports(s->releaser), rel_exports);
        CHECK_EQ(xbuf_refcount(s->releaser), rel_refs);
        CHECK_EQ(s->st->gets, gets + 1);
        CHECK_EQ(s->st->releases, releases);
    } else if (o.status != XBUF_OK) {
        CHECK_ERR(rc, o.status, o.needle);
        if (o.status == XBUF_ERR_INVALID_ARGUMENT) {
            char needle[40];
            snprintf(needle, sizeof needle, "request flags 0x%x", (unsigned)flags);
            CHECK(strstr(xbuf_last_error_message(), needle) != NULL);
        }
        check_empty(&v, structsize);
        CHECK_EQ(xbuf_exports(s->releaser), rel_exports);
        CHECK_EQ(xbuf_refcount(s->releaser), rel_refs);
        if (s->st) {
            /* The exporter was asked only for a well-formed request, and its refused answer
             * was handed back to it. */
            CHECK_EQ(s->st->gets, gets + called);
            CHECK_EQ(s->st->releases, releases + called);
        }
    } else {
        CHECK_OK(rc);
        if (rc == XBUF_OK) {
            check_filled(&v, s, flags, 1);
            for (i = structsize; i < sizeof v; i++) touched += ((unsigned char *)&v)[i] != 0x5A;
            CHECK_EQ(touched, 0);
            if (s->st) {
                /* The view's layout is its own: the exporter's arrays may change. */
                memset(s->st->shape, 0x7F, sizeof s->st->shape);
                memset(s->st->strides, 0x7F, sizeof s->st->strides);
                memset(s->st->suboffsets, 0x7F, sizeof s->st->suboffsets);
                check_filled(&v, s, flags, 0);
                CHECK_EQ(s->st->gets, gets + 1);
                CHECK_EQ(s->st->releases, releases);
            }
            CHECK_EQ(xbuf_exports(s->releaser), rel_exports + 1);
            CHECK_EQ(xbuf_refcount(s->releaser), rel_refs + 1);
            if (s->obj != s->releaser) {
                CHECK_EQ(xbuf_exports(s->obj), obj_exports);
                CHECK_EQ(xbuf_refcount(s->obj), obj_refs);
            }
            CHECK_OK(xbuf_release(&v));
            check_empty(&v, structsize);
            CHECK_OK(xbuf_release(&v)); /* a second release is a no-op */
            if (s->st) CHECK_EQ(s->st->releases, releases + 1);
        }
        CHECK_EQ(xbuf_exports(s->releaser), rel_exports);
        CHECK_EQ(xbuf_refcount(s->releaser), rel_refs);
    }
    CHECK_EQ(xbuf_exports(s->obj), obj_exports);
    CHECK_EQ(xbuf_refcount(s->obj), obj_refs);
    if (xt_failures != failures_before)
        fprintf(stderr, "  ... while asking '%s' with flags 0x%x (structsize %zu), expected %s\n",
                s->name, (unsigned)flags, structsize, xbuf_status_str(o.status));
}

static void run_subject(const subject *s) {
    int i;
    for (i = 0; i < n_flags; i++) {
        run_request(s, all_flags[i], sizeof(xbuf_bufferinfo));
        /* The smallest struct keeps every layout on the heap; malformed flags are refused
         * before any layout is written, so they are asked only once. */
        if (model_flags_valid(all_flags[i])) run_request(s, all_flags[i], XBUF_BUFFERINFO_SIZE_MIN);
    }
}

/* ---- Cases ------------------------------------------------------------------------------------ */

static void test_flag_values(void) {
    /* The header's flags are PEP 3118's, and the model agrees with the library about which
     * requests are well-formed. */
    CHECK_EQ(XBUF_SIMPLE, 0);
    CHECK_EQ(XBUF_WRITABLE, M_WRITABLE);
    CHECK_EQ(XBUF_FORMAT, M_FORMAT);
    CHECK_EQ(XBUF_ND, M_ND);
    CHECK_EQ(XBUF_STRIDES, M_STRIDES);
    CHECK_EQ(XBUF_C_CONTIGUOUS, M_C_CONTIGUOUS);
    CHECK_EQ(XBUF_F_CONTIGUOUS, M_F_CONTIGUOUS);
    CHECK_EQ(XBUF_ANY_CONTIGUOUS, M_ANY_CONTIGUOUS);
    CHECK_EQ(XBUF_INDIRECT, M_INDIRECT);
    CHECK_EQ(XBUF_CONTIG, 0x9);
    CHECK_EQ(XBUF_CONTIG_RO, 0x8);
    CHECK_EQ(XBUF_STRIDED, 0x19);
    CHECK_EQ(XBUF_STRIDED_RO, 0x18);
    CHECK_EQ(XBUF_RECORDS, 0x1d);
    CHECK_EQ(XBUF_RECORDS_RO, 0x1c);
    CHECK_EQ(XBUF_FULL, 0x11d);
    CHECK_EQ(XBUF_FULL_RO, 0x11c);
    build_flag_list();
    /* WRITABLE x FORMAT x (none, ND, ND+STRIDES with any of C/F/ANY/INDIRECT) = 2*2*18. */
    CHECK_EQ(n_valid_flags, 72);
    CHECK(model_flags_valid(XBUF_FULL) && model_flags_valid(XBUF_RECORDS_RO) &&
          model_flags_valid(XBUF_CONTIG) && model_flags_valid(XBUF_SIMPLE));
}

static void test_c_exporter_layouts(void) {
    size_t i;
    int variant;
    xbuf_type t;
    long before = combinations;
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = "layout";
    t.getbuffer = layout_getbuffer;
    t.releasebuffer = layout_releasebuffer;
    for (i = 0; i < N_LAYOUTS; i++) {
        /* plain writable, plain read-only, honouring writable */
        for (variant = 0; variant < 3; variant++) {
            layout_state *st = (layout_state *)malloc(sizeof *st);
            subject s;
            xbuf_object *obj = NULL;
            layout_build(st, &layouts[i], variant == 1, variant == 2, &s);
            CHECK_OK(xbuf_object_new(&t, st, &obj));
            s.obj = s.releaser = obj;
            run_subject(&s);
            if (!st->honour) CHECK_EQ(st->gets, st->releases);
            CHECK_EQ(st->bad_internal, 0);
            CHECK_EQ(xbuf_exports(obj), 0);
            CHECK_EQ(xbuf_refcount(obj), 1);
            CHECK_OK(xbuf_decref(obj));
            free(st);
        }
    }
    printf("C exporter: %d layouts x 3 (writable, read-only, honouring the flags) x (%d flag values + %d well-formed ones again "
           "with the smallest struct) = %ld requests\n",
           (int)N_LAYOUTS, n_flags, n_valid_flags, combinations - before);
}

/* ---- Built-in exporters: one dimension of bytes -------------------------------------------- */

static unsigned char pattern[32];

static int wrap_frees;
static void free_wrapped(void *data, size_t len, void *ctx) {
    (void)len;
    (void)ctx;
    wrap_frees++;
    free(data);
}

/* The address an object's views start at (asked once, then released). */
static unsigned char *peek_buf(xbuf_object *obj) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    unsigned char *p = NULL;
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_SIMPLE));
    p = (unsigned char *)v.buf;
    CHECK_OK(xbuf_release(&v));
    return p;
}

static void bytes_subject(subject *s, const char *name, xbuf_object *obj, xbuf_object *releaser,
                          unsigned char *buf, const unsigned char *content, ptrdiff_t len, int readonly) {
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->obj = obj;
    s->releaser = releaser;
    s->facts.readonly = readonly;
    s->facts.c_contig = s->facts.f_contig = 1;
    s->buf = buf;
    s->itemsize = 1;
    s->ndim = 1;
    s->shape[0] = len;
    s->strides[0] = 1;
    s->suboffsets[0] = -1;
    s->format = "B";
    s->items = content;
}

static int write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) return -1;
    if (len > 0 && fwrite(data, 1, len, f) != len) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

static void test_built_in_exporters(void) {
    enum { N = 13 };
    char dir[] = "/tmp/xbuf-requests-XXXXXX", file[64], empty_file[64];
    subject s[N];
    xbuf_object *owned[N + 4];
    int n_owned = 0, i, n = 0;
    long before = combinations;
    xbuf_object *obj, *base_rw, *base_ro;
    unsigned char *mem, *p;
    static const unsigned char ro_mem[32] = "read-only memory, 32 bytes long";

    for (i = 0; i < 32; i++) pattern[i] = (unsigned char)(i * 37 + 11);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(file, sizeof file, "%s/data", dir);
    snprintf(empty_file, sizeof empty_file, "%s/empty", dir);
    CHECK_EQ(write_file(file, pattern, sizeof pattern), 0);
    CHECK_EQ(write_file(empty_file, NULL, 0), 0);

    CHECK_OK(xbuf_bytes_new(pattern, 32, &obj));
    owned[n_owned++] = obj;
    bytes_subject(&s[n++], "bytes", obj, obj, peek_buf(obj), pattern, 32, 1);

    CHECK_OK(xbuf_bytes_new(NULL, 0, &obj));
    owned[n_owned++] = obj;
    bytes_subject(&s[n++], "bytes (empty)", obj, obj, peek_buf(obj), pattern, 0, 1);

    CHECK_OK(xbuf_bytearray_new(pattern, 32, &obj));
    owned[n_owned++] = obj;
    bytes_subject(&s[n++], "bytearray", obj, obj, peek_buf(obj), pattern, 32, 0);

    CHECK_OK(xbuf_bytearray_new(NULL, 0, &obj));
    owned[n_owned++] = obj;
    bytes_subject(&s[n++], "bytearray (empty)", obj, obj, peek_buf(obj), pattern, 0, 0);

    mem = (unsigned char *)malloc(32);
    memcpy(mem, pattern, 32);
    CHECK_OK(xbuf_wrap_new(mem, 32, 0, free_wrapped, NULL, &obj));
    owned[n_owned++] = obj;
    bytes_subject(&s[n++], "wrap (writable)", obj, obj, mem, pattern, 32, 0);

    CHECK_OK(xbuf_wrap_new((void *)ro_mem, 32, 1, NULL, NULL, &obj));
    owned[n_owned++] = obj;
    bytes_subject(&s[n++], "wrap (read-only)", obj, obj, (unsigned char *)ro_mem, ro_mem, 32, 1);

    /* Slices: the view names the base, which the slice keeps locked and holds a view of (two
     * exports). */
    CHECK_OK(xbuf_bytearray_new(pattern, 32, &base_rw));
    owned[n_owned++] = base_rw;
    p = peek_buf(base_rw);
    CHECK_OK(xbuf_slice_new(base_rw, 5, 20, &obj));
    owned[n_owned++] = obj;
    bytes_subject(&s[n++], "slice of a bytearray", obj, base_rw, p + 5, pattern + 5, 20, 0);
    CHECK_EQ(xbuf_exports(base_rw), 2);

    CHECK_OK(xbuf_bytes_new(pattern, 32, &base_ro));
    owned[n_owned++] = base_ro;
    p = peek_buf(base_ro);
    CHECK_OK(xbuf_slice_new(base_ro, 31, 1, &obj));
    owned[n_owned++] = obj;
    bytes_subject(&s[n++], "slice of bytes", obj, base_ro, p + 31, pattern + 31, 1, 1);

    CHECK_OK(xbuf_mmap_open(file, XBUF_MMAP_READ, &obj));
    owned[n_owned++] = obj;
    bytes_subject(&s[n++], "mmap (read)", obj, obj, peek_buf(obj), pattern, 32, 1);

    CHECK_OK(xbuf_mmap_open(file, XBUF_MMAP_WRITE, &obj));
    owned[n_owned++] = obj;
    bytes_subject(&s[n++], "mmap (read-write)", obj, obj, peek_buf(obj), pattern, 32, 0);

    CHECK_OK(xbuf_mmap_open(file, XBUF_MMAP_COPY, &obj));
    owned[n_owned++] = obj;
    bytes_subject(&s[n++], "mmap (copy-on-write)", obj, obj, peek_buf(obj), pattern, 32, 0);

    CHECK_OK(xbuf_mmap_open(empty_file, XBUF_MMAP_READ, &obj));
    owned[n_owned++] = obj;
    bytes_subject(&s[n++], "mmap (read, empty file)", obj, obj, peek_buf(obj), pattern, 0, 1);

    CHECK_OK(xbuf_mmap_open(empty_file, XBUF_MMAP_WRITE, &obj));
    owned[n_owned++] = obj;
    bytes_subject(&s[n++], "mmap (read-write, empty file)", obj, obj, peek_buf(obj), pattern, 0, 0);

    CHECK_EQ(n, N);
    for (i = 0; i < n; i++) run_subject(&s[i]);
    printf("built-in exporters: %d subjects x (%d flag values + %d well-formed ones again with the "
           "smallest struct) = %ld requests\n",
           n, n_flags, n_valid_flags, combinations - before);

    /* Nothing is left exported; the slices still hold their bases' locks and views until they
     * go. */
    CHECK_EQ(xbuf_exports(base_rw), 2);
    CHECK_EQ(xbuf_exports(base_ro), 2);
    for (i = n_owned - 1; i >= 0; i--) {
        if (owned[i] != base_rw && owned[i] != base_ro) {
            CHECK_EQ(xbuf_exports(owned[i]), 0);
            CHECK_EQ(xbuf_refcount(owned[i]), 1);
        }
    }
    for (i = n_owned - 1; i >= 0; i--) CHECK_OK(xbuf_decref(owned[i]));
    CHECK_EQ(wrap_frees, 1);

    /* The requests read the file and never changed it. */
    {
        unsigned char back[40];
        FILE *f = fopen(file, "rb");
        CHECK(f != NULL);
        if (f != NULL) {
            CHECK_EQ(fread(back, 1, sizeof back, f), 32);
            CHECK(memcmp(back, pattern, 32) == 0);
            fclose(f);
        }
    }
    CHECK_EQ(unlink(file), 0);
    CHECK_EQ(unlink(empty_file), 0);
    CHECK_EQ(rmdir(dir), 0);
}

static void test_summary(void) {
    printf("request combinations checked: %ld (%d well-formed flag sets among %d flag values)\n",
           combinations, n_valid_flags, n_flags);
    CHECK(combinations > 0);
}

XBUF_TEST_MAIN(XT_CASE(test_flag_values), XT_CASE(test_c_exporter_layouts),
               XT_CASE(test_built_in_exporters), XT_CASE(test_summary))
