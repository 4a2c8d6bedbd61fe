/*
 * Threads: bounded stress tests (each scenario stops after a fixed number of iterations or a
 * wall-clock deadline, whichever comes first, so that they stay short under valgrind too).
 *
 * 1. Several threads get and release views (with various flags) of one bytearray and read
 *    every byte they were promised, while another thread keeps resizing it (most attempts get
 *    XBUF_ERR_BUSY), another takes and returns locks and another takes and drops references.
 *    The bytearray's contents only change under exclusive access, and in a way a reader can
 *    verify: its length stays in [BASE_LEN, BASE_LEN + GROW], byte i < BASE_LEN is pattern(i)
 *    and every byte past BASE_LEN is zero. A reader holding a view also checks that a second
 *    view sees the same memory (nothing moved it) and that a resize from its own thread is
 *    refused.
 * 2. Several threads create slices (and slices of slices) of one base, read through them and
 *    drop them in either order, while another thread tries to resize the base.
 * 3. Several threads slice and lock one shared slice.
 * 4. Several threads slice a PIL-style view where each slice needs a row-pointer table of its
 *    own, read views taken of those slices after the slices are gone, and read views of one
 *    shared such slice (whose table every view copies).
 * Each ends with every export returned and the reference counts back where they started.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "xbuf_test.h"

#define BASE_LEN 256
#define GROW 256
#define READERS 3
#define SLICERS 3
#define MIN_ITERATIONS 32

static unsigned char pattern(ptrdiff_t i) { return (unsigned char)(i * 7 + 3); }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A small per-thread generator, so that no state is shared. */
static unsigned next_rand(unsigned *state) {
    *state = *state * 1103515245u + 12345u;
    return (*state >> 8) & 0xffffffu;
}

static const int request_flags[] = {XBUF_SIMPLE,     XBUF_CONTIG_RO, XBUF_STRIDED_RO, XBUF_RECORDS_RO,
                                    XBUF_FULL_RO,    XBUF_CONTIG,    XBUF_FULL,       XBUF_ANY_CONTIGUOUS,
                                    XBUF_C_CONTIGUOUS | XBUF_FORMAT, XBUF_F_CONTIGUOUS};
#define N_REQUEST_FLAGS ((unsigned)(sizeof request_flags / sizeof request_flags[0]))

/* Everything a worker reports; each worker owns its own, read by main after the join. */
typedef struct {
    xbuf_object *obj;  /* the shared object (bytearray, base or shared slice) */
    xbuf_object *base; /* the object that owns the memory */
    double deadline;
    long max_iterations;
    unsigned seed;
    long iterations;
    long views, busy, resizes_ok, locks_ok, slices_ok;
    long bad_status;  /* a status the contract does not allow here */
    long torn;        /* bytes that differ from what the object promised */
    long moved;       /* a second view saw different memory while the first was held */
    long bad_fields;  /* a view field that disagrees with the request */
    long bad_counts;  /* export or reference counts that cannot be */
    long resize_while_held; /* a resize that succeeded while this thread held an export */
    pthread_barrier_t *start; /* every worker of a scenario starts at once */
} worker;

static int keep_going(worker *w) {
    if (w->start != NULL) {
        pthread_barrier_wait(w->start);
        w->start = NULL;
    }
    if (w->iterations >= w->max_iterations) return 0;
    /* Every thread does a few iterations even if it starts late (valgrind runs one thread at a
     * time), then stops at the deadline. */
    if (w->iterations >= MIN_ITERATIONS && (w->iterations & 15) == 0 && now() > w->deadline) return 0;
    w->iterations++;
    return 1;
}

/* Checks the bytearray contents promised by a view of scenario 1. */
static long check_contents(const xbuf_bufferinfo *v) {
    const unsigned char *p = (const unsigned char *)v->buf;
    ptrdiff_t i;
    long bad = 0;
    if (v->len < BASE_LEN || v->len > BASE_LEN + GROW) return 1;
    for (i = 0; i < BASE_LEN; i++) bad += p[i] != pattern(i);
    for (i = BASE_LEN; i < v->len; i++) bad += p[i] != 0;
    return bad;
}

/* The fields a request asked for are there (or absent) and describe len bytes. */
static long check_fields(const xbuf_bufferinfo *v, int flags, ptrdiff_t len, xbuf_object *releaser) {
    long bad = 0;
    bad += v->releaser != releaser;
    bad += v->len != len;
    bad += v->itemsize != 1;
    bad += v->ndim != 1;
    bad += v->readonly != 0;
    bad += (flags & XBUF_FORMAT) ? (v->format == NULL || strcmp(v->format, "B") != 0) : v->format != NULL;
    bad += (flags & XBUF_ND) ? (v->shape == NULL || v->shape[0] != len) : v->shape != NULL;
    bad += ((flags & XBUF_STRIDES) == XBUF_STRIDES) ? (v->strides == NULL || v->strides[0] != 1)
                                                     : v->strides != NULL;
    bad += v->suboffsets != NULL;
    return bad;
}

/* ---- Scenario 1: one bytearray, readers, a resizer, lockers, reference takers ---------------- */

static void *reader_main(void *arg) {
    worker *w = (worker *)arg;
    while (keep_going(w)) {
        int flags = request_flags[next_rand(&w->seed) % N_REQUEST_FLAGS];
        xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT, second = XBUF_BUFFERINFO_INIT;
        int rc = xbuf_get_buffer(w->obj, &v, flags);
        if (rc == XBUF_ERR_BUSY) { /* a resize holds exclusive access right now */
            w->busy++;
            continue;
        }
        if (rc != XBUF_OK) {
            w->bad_status++;
            continue;
        }
        w->views++;
        w->torn += check_contents(&v);
        w->bad_fields += check_fields(&v, flags, v.len, w->obj);
        /* While this view lives nothing can move the memory: a second view must succeed and
         * see the same bytes, and a resize must be refused. */
        rc = xbuf_get_buffer(w->obj, &second, XBUF_SIMPLE);
        if (rc != XBUF_OK) {
            w->bad_status++;
        } else {
            w->moved += second.buf != v.buf || second.len != v.len;
            w->torn += check_contents(&second);
            if (xbuf_exports(w->obj) < 2) w->bad_counts++;
            if (xbuf_release(&second) != XBUF_OK) w->bad_status++;
        }
        if ((w->iterations & 7) == 0) {
            rc = xbuf_bytearray_resize(w->obj, BASE_LEN);
            if (rc == XBUF_OK) w->resize_while_held++;
            else if (rc != XBUF_ERR_BUSY) w->bad_status++;
        }
        w->torn += check_contents(&v);
        if (xbuf_release(&v) != XBUF_OK) w->bad_status++;
    }
    return NULL;
}

static void *resizer_main(void *arg) {
    worker *w = (worker *)arg;
    while (keep_going(w)) {
        size_t len = BASE_LEN + next_rand(&w->seed) % (GROW + 1);
        int rc = xbuf_bytearray_resize(w->obj, len);
        if (rc == XBUF_OK)
            w->resizes_ok++;
        else if (rc == XBUF_ERR_BUSY)
            w->busy++;
        else
            w->bad_status++;
        if ((w->iterations & 3) == 0) sched_yield();
    }
    return NULL;
}

static void *locker_main(void *arg) {
    worker *w = (worker *)arg;
    while (keep_going(w)) {
        int rc = xbuf_lock(w->obj);
        if (rc == XBUF_ERR_BUSY) {
            w->busy++;
            continue;
        }
        if (rc != XBUF_OK) {
            w->bad_status++;
            continue;
        }
        w->locks_ok++;
        if (xbuf_exports(w->obj) < 1 || xbuf_refcount(w->obj) < 2) w->bad_counts++;
        rc = xbuf_bytearray_resize(w->obj, BASE_LEN + GROW);
        if (rc == XBUF_OK) w->resize_while_held++;
        else if (rc != XBUF_ERR_BUSY) w->bad_status++;
        if (xbuf_unlock(w->obj) != XBUF_OK) w->bad_status++;
    }
    return NULL;
}

static void *referrer_main(void *arg) {
    worker *w = (worker *)arg;
    while (keep_going(w)) {
        int i, n = 1 + (int)(next_rand(&w->seed) % 4);
        for (i = 0; i < n; i++)
            if (xbuf_incref(w->obj) != XBUF_OK) w->bad_status++;
        if (xbuf_refcount(w->obj) < 1 + n) w->bad_counts++;
        for (i = 0; i < n; i++)
            if (xbuf_decref(w->obj) != XBUF_OK) w->bad_status++;
    }
    return NULL;
}

typedef void *(*thread_fn)(void *);

/* Starts one thread per worker, waits for all of them, and adds their reports into *sum. */
static void run_workers(worker *ws, thread_fn *fns, int n, worker *sum) {
    pthread_t th[16];
    pthread_barrier_t start;
    int i, started = 0;
    CHECK_EQ(pthread_barrier_init(&start, NULL, (unsigned)n), 0);
    for (i = 0; i < n; i++) {
        ws[i].start = &start;
        if (pthread_create(&th[i], NULL, fns[i], &ws[i]) != 0) break;
        started++;
    }
    CHECK_EQ(started, n);
    if (started != n) abort(); /* the started threads would wait at the barrier forever */
    memset(sum, 0, sizeof *sum);
    for (i = 0; i < n; i++) {
        CHECK_EQ(pthread_join(th[i], NULL), 0);
        sum->iterations += ws[i].iterations;
        sum->views += ws[i].views;
        sum->busy += ws[i].busy;
        sum->resizes_ok += ws[i].resizes_ok;
        sum->locks_ok += ws[i].locks_ok;
        sum->slices_ok += ws[i].slices_ok;
        sum->bad_status += ws[i].bad_status;
        sum->torn += ws[i].torn;
        sum->moved += ws[i].moved;
        sum->bad_fields += ws[i].bad_fields;
        sum->bad_counts += ws[i].bad_counts;
        sum->resize_while_held += ws[i].resize_while_held;
    }
    CHECK_EQ(pthread_barrier_destroy(&start), 0);
}

static void init_workers(worker *ws, int n, xbuf_object *obj, xbuf_object *base, double seconds,
                         long max_iterations) {
    double deadline = now() + seconds;
    int i;
    memset(ws, 0, sizeof(worker) * (size_t)n);
    for (i = 0; i < n; i++) {
        ws[i].obj = obj;
        ws[i].base = base;
        ws[i].deadline = deadline;
        ws[i].max_iterations = max_iterations;
        ws[i].seed = 12345u + 977u * (unsigned)i;
    }
}

static xbuf_object *new_patterned(void) {
    unsigned char data[BASE_LEN];
    xbuf_object *obj = NULL;
    ptrdiff_t i;
    for (i = 0; i < BASE_LEN; i++) data[i] = pattern(i);
    CHECK_OK(xbuf_bytearray_new(data, BASE_LEN, &obj));
    return obj;
}

static void test_views_resize_locks_refs(void) {
    enum { N = READERS + 3 };
    worker ws[N], sum;
    thread_fn fns[N];
    xbuf_object *obj = new_patterned();
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    int i;
    double t0 = now();
    init_workers(ws, N, obj, obj, 1.0, 200000);
    for (i = 0; i < READERS; i++) fns[i] = reader_main;
    fns[READERS] = resizer_main;
    fns[READERS + 1] = locker_main;
    fns[READERS + 2] = referrer_main;
    run_workers(ws, fns, N, &sum);
    printf("views, resize, locks, refs: %ld iterations in %.2f s: %ld views, %ld locks, "
           "%ld resizes done, %ld refused as busy\n",
           sum.iterations, now() - t0, sum.views, sum.locks_ok, sum.resizes_ok, sum.busy);
    CHECK_EQ(sum.bad_status, 0);
    CHECK_EQ(sum.torn, 0);
    CHECK_EQ(sum.moved, 0);
    CHECK_EQ(sum.bad_fields, 0);
    CHECK_EQ(sum.bad_counts, 0);
    CHECK_EQ(sum.resize_while_held, 0);
    /* Each get, lock and slice either succeeded or met a resize; nothing else happened. */
    CHECK_EQ(ws[READERS + 1].locks_ok + ws[READERS + 1].busy, ws[READERS + 1].iterations);
    CHECK_EQ(ws[READERS].resizes_ok + ws[READERS].busy, ws[READERS].iterations);
    for (i = 0; i < READERS; i++) CHECK_EQ(ws[i].views + ws[i].busy, ws[i].iterations);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_EQ(xbuf_refcount(obj), 1);
    /* The object is whole: contents as promised, and it resizes again now that it is free. */
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK_EQ(check_contents(&v), 0);
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_bytearray_resize(obj, BASE_LEN));
    CHECK_OK(xbuf_decref(obj));
}

/* ---- Scenario 2: slices of one base while it is being resized -------------------------------- */

/* Reads a slice's view: releaser, length and every byte (the window starts at `off`). */
static void read_slice_view(worker *w, const xbuf_bufferinfo *v, int flags, size_t off, size_t len) {
    const unsigned char *p = (const unsigned char *)v->buf;
    size_t i;
    w->bad_fields += check_fields(v, flags, (ptrdiff_t)len, w->base);
    for (i = 0; i < len && (ptrdiff_t)i < v->len; i++) w->torn += p[i] != pattern((ptrdiff_t)(off + i));
}

static void *slicer_main(void *arg) {
    worker *w = (worker *)arg;
    while (keep_going(w)) {
        size_t off = next_rand(&w->seed) % (BASE_LEN - 1);
        size_t len = 1 + next_rand(&w->seed) % (BASE_LEN - off);
        int flags = request_flags[next_rand(&w->seed) % N_REQUEST_FLAGS];
        xbuf_object *s = NULL, *s2 = NULL;
        xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT, v2 = XBUF_BUFFERINFO_INIT;
        int rc = xbuf_slice_new(w->obj, off, len, &s);
        if (rc == XBUF_ERR_BUSY) { /* the base is being resized right now */
            w->busy++;
            continue;
        }
        if (rc != XBUF_OK) {
            w->bad_status++;
            continue;
        }
        w->slices_ok++;
        /* The slice locks the base: it cannot be resized, every request is met. */
        if (xbuf_exports(w->base) < 1) w->bad_counts++;
        if ((w->iterations & 3) == 0) {
            rc = xbuf_bytearray_resize(w->base, BASE_LEN);
            if (rc == XBUF_OK) w->resize_while_held++;
            else if (rc != XBUF_ERR_BUSY) w->bad_status++;
        }
        if (xbuf_get_buffer(s, &v, flags) != XBUF_OK) {
            w->bad_status++;
        } else {
            w->views++;
            read_slice_view(w, &v, flags, off, len);
            if (xbuf_exports(s) != 0) w->bad_counts++; /* the view counts on the base */
        }
        /* A slice of the slice: its views name the base too. */
        if (len > 1) {
            if (xbuf_slice_new(s, 1, len - 1, &s2) != XBUF_OK) {
                w->bad_status++;
            } else {
                if (xbuf_get_buffer(s2, &v2, XBUF_FULL_RO) != XBUF_OK) {
                    w->bad_status++;
                } else {
                    read_slice_view(w, &v2, XBUF_FULL_RO, off + 1, len - 1);
                    w->bad_fields += v2.readonly != 0;
                }
                if (xbuf_exports(s) != 1) w->bad_counts++; /* s2's lock on s */
                if (xbuf_decref(s2) != XBUF_OK) w->bad_status++;
                if (v2.releaser != NULL) {
                    read_slice_view(w, &v2, XBUF_FULL_RO, off + 1, len - 1); /* outlives s2 */
                    if (xbuf_release(&v2) != XBUF_OK) w->bad_status++;
                }
            }
        }
        if (xbuf_lock(s) != XBUF_OK) {
            w->bad_status++;
        } else {
            if (xbuf_exports(s) != 1) w->bad_counts++;
            if (xbuf_unlock(s) != XBUF_OK) w->bad_status++;
        }
        /* Drop the slice and the view in either order: the view outlives the slice. */
        if (w->iterations & 1) {
            if (xbuf_decref(s) != XBUF_OK) w->bad_status++;
            if (v.releaser != NULL) read_slice_view(w, &v, flags, off, len);
            if (xbuf_release(&v) != XBUF_OK) w->bad_status++;
        } else {
            if (xbuf_release(&v) != XBUF_OK) w->bad_status++;
            if (xbuf_decref(s) != XBUF_OK) w->bad_status++;
        }
        if ((w->iterations & 7) == 0) sched_yield(); /* leave the resizer a gap now and then */
    }
    return NULL;
}

static void test_concurrent_slices(void) {
    enum { N = SLICERS + 1 };
    worker ws[N], sum;
    thread_fn fns[N];
    xbuf_object *base = new_patterned();
    int i;
    double t0 = now();
    init_workers(ws, N, base, base, 0.7, 50000);
    for (i = 0; i < SLICERS; i++) fns[i] = slicer_main;
    fns[SLICERS] = resizer_main;
    run_workers(ws, fns, N, &sum);
    printf("slices of one base: %ld iterations in %.2f s: %ld slices, %ld views, %ld resizes done, "
           "%ld refused as busy\n",
           sum.iterations, now() - t0, sum.slices_ok, sum.views, sum.resizes_ok, sum.busy);
    CHECK_EQ(sum.bad_status, 0);
    CHECK_EQ(sum.torn, 0);
    CHECK_EQ(sum.bad_fields, 0);
    CHECK_EQ(sum.bad_counts, 0);
    CHECK_EQ(sum.resize_while_held, 0);
    for (i = 0; i < SLICERS; i++) CHECK_EQ(ws[i].slices_ok + ws[i].busy, ws[i].iterations);
    CHECK_EQ(xbuf_exports(base), 0);
    CHECK_EQ(xbuf_refcount(base), 1);
    CHECK_OK(xbuf_bytearray_resize(base, 1));
    CHECK_OK(xbuf_decref(base));
}

/* ---- Scenario 3: sub-slices and locks of one shared slice ---------------------------------- */

#define SHARED_OFF 8
#define SHARED_LEN 128

static void *subslicer_main(void *arg) {
    worker *w = (worker *)arg;
    while (keep_going(w)) {
        size_t off = next_rand(&w->seed) % SHARED_LEN;
        size_t len = next_rand(&w->seed) % (SHARED_LEN - off + 1);
        xbuf_object *s = NULL;
        xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
        if (xbuf_slice_new(w->obj, off, len, &s) != XBUF_OK) {
            w->bad_status++;
            continue;
        }
        w->slices_ok++;
        if (xbuf_get_buffer(s, &v, XBUF_RECORDS) != XBUF_OK) {
            w->bad_status++;
        } else {
            w->views++;
            read_slice_view(w, &v, XBUF_RECORDS, SHARED_OFF + off, len);
            if (xbuf_release(&v) != XBUF_OK) w->bad_status++;
        }
        /* A lock on the shared slice is forwarded to the base, which the shared slice itself
         * also keeps locked: at least two exports there while this lock is held. */
        if (xbuf_lock(w->obj) != XBUF_OK) {
            w->bad_status++;
        } else {
            w->locks_ok++;
            if (xbuf_exports(w->obj) < 1 || xbuf_exports(w->base) < 2) w->bad_counts++;
            if (xbuf_bytearray_resize(w->base, BASE_LEN) != XBUF_ERR_BUSY) w->resize_while_held++;
            if (xbuf_unlock(w->obj) != XBUF_OK) w->bad_status++;
        }
        if (xbuf_decref(s) != XBUF_OK) w->bad_status++;
    }
    return NULL;
}

static void test_shared_slice(void) {
    enum { N = SLICERS };
    worker ws[N], sum;
    thread_fn fns[N];
    xbuf_object *base = new_patterned(), *shared = NULL;
    int i;
    double t0 = now();
    CHECK_OK(xbuf_slice_new(base, SHARED_OFF, SHARED_LEN, &shared));
    init_workers(ws, N, shared, base, 0.4, 50000);
    for (i = 0; i < N; i++) fns[i] = subslicer_main;
    run_workers(ws, fns, N, &sum);
    printf("one shared slice: %ld iterations in %.2f s: %ld sub-slices, %ld views, %ld locks\n",
           sum.iterations, now() - t0, sum.slices_ok, sum.views, sum.locks_ok);
    CHECK_EQ(sum.bad_status, 0);
    CHECK_EQ(sum.torn, 0);
    CHECK_EQ(sum.bad_fields, 0);
    CHECK_EQ(sum.bad_counts, 0);
    CHECK_EQ(sum.resize_while_held, 0);
    /* The shared slice keeps the base locked: no sub-slice, view or lock can be refused. */
    CHECK_EQ(sum.slices_ok, sum.iterations);
    CHECK_EQ(sum.views, sum.iterations);
    CHECK_EQ(sum.locks_ok, sum.iterations);
    CHECK_EQ(xbuf_exports(shared), 0);
    CHECK_EQ(xbuf_refcount(shared), 1);
    CHECK_EQ(xbuf_exports(base), 2);  /* the shared slice's lock and view */
    CHECK_EQ(xbuf_refcount(base), 4); /* ours, the shared slice's, its lock's and view's */
    CHECK_OK(xbuf_decref(shared));
    CHECK_EQ(xbuf_exports(base), 0);
    CHECK_EQ(xbuf_refcount(base), 1);
    CHECK_OK(xbuf_bytearray_resize(base, 1));
    CHECK_OK(xbuf_decref(base));
}

/* ---- Scenario 4: slices of a PIL-style view that need row-pointer tables of their own -------- */

/* ROWS rows of 4 bytes read backwards: row pointer i points at byte 4i + 3, the row's first
 * item and highest address, so item (i, j) is byte 4i + 3 - j. Slicing the columns from 1 on
 * needs a suboffset below 0: such slices get a table of their own. */
#define ROWS 16

typedef struct {
    unsigned char data[4 * ROWS];
    unsigned char *rows[ROWS];
    ptrdiff_t shape[2], strides[2], suboffsets[2];
} backward_rows;

static int backward_rows_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    backward_rows *r = (backward_rows *)xbuf_object_state(self);
    (void)flags;
    view->buf = r->rows;
    view->len = 4 * ROWS;
    view->itemsize = 1;
    view->readonly = 1;
    view->ndim = 2;
    view->format = "B";
    view->shape = r->shape;
    view->strides = r->strides;
    view->suboffsets = r->suboffsets;
    return XBUF_OK;
}

/* The bytes of rows r0.. and columns c0.. of the array, in C order, read through `v`
 * (a filled view); the number of wrong bytes. */
static long check_rows(const xbuf_bufferinfo *v, ptrdiff_t r0, ptrdiff_t c0) {
    unsigned char out[4 * ROWS];
    ptrdiff_t i, j, n = 0;
    long bad = 0;
    size_t len = (size_t)((ROWS - r0) * (4 - c0));
    if (xbuf_to_contiguous(out, len, v, 'C') != XBUF_OK) return 1;
    for (i = r0; i < ROWS; i++)
        for (j = c0; j < 4; j++) bad += out[n++] != (unsigned char)(4 * i + 3 - j);
    return bad;
}

/* Slices the shared view (each slice builds a table), reads them and views taken of them after
 * the slice is gone; and reads the shared slice made by main, whose table every thread copies. */
static void *pil_slicer_main(void *arg) {
    worker *w = (worker *)arg;
    xbuf_object *shared = w->base; /* main's v[:, 1:] */
    while (keep_going(w)) {
        ptrdiff_t r0 = (ptrdiff_t)(next_rand(&w->seed) % ROWS), c0 = 1 + (ptrdiff_t)(next_rand(&w->seed) % 3);
        xbuf_range r[2] = {{r0, XBUF_SLICE_OMIT, XBUF_SLICE_OMIT}, {c0, XBUF_SLICE_OMIT, XBUF_SLICE_OMIT}};
        xbuf_object *s = NULL;
        xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT, t = XBUF_BUFFERINFO_INIT;
        if (xbuf_view_slice(w->obj, r, 2, &s) != XBUF_OK) {
            w->bad_status++;
            continue;
        }
        w->slices_ok++;
        if (xbuf_get_buffer(s, &v, XBUF_FULL_RO) != XBUF_OK || xbuf_get_buffer(shared, &t, XBUF_FULL_RO) != XBUF_OK) {
            w->bad_status++;
        } else {
            w->views++;
            if (xbuf_decref(s) != XBUF_OK) w->bad_status++;
            s = NULL;
            w->torn += check_rows(&v, r0, c0) + check_rows(&t, 0, 1);
        }
        if (xbuf_release(&v) != XBUF_OK || xbuf_release(&t) != XBUF_OK) w->bad_status++;
        if (s != NULL && xbuf_decref(s) != XBUF_OK) w->bad_status++;
    }
    return NULL;
}

static void test_pil_slices(void) {
    enum { N = SLICERS };
    static backward_rows r;
    const xbuf_type type = {sizeof(xbuf_type), "backward_rows", backward_rows_getbuffer, NULL, NULL, NULL};
    xbuf_range cols = {1, XBUF_SLICE_OMIT, XBUF_SLICE_OMIT}, all = {XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, XBUF_SLICE_OMIT};
    xbuf_range both[2];
    worker ws[N], sum;
    thread_fn fns[N];
    xbuf_object *obj = NULL, *v = NULL, *shared = NULL;
    int i;
    double t0 = now();
    for (i = 0; i < 4 * ROWS; i++) r.data[i] = (unsigned char)i;
    for (i = 0; i < ROWS; i++) r.rows[i] = r.data + 4 * i + 3;
    r.shape[0] = ROWS;
    r.shape[1] = 4;
    r.strides[0] = (ptrdiff_t)sizeof(void *);
    r.strides[1] = -1;
    r.suboffsets[0] = 0;
    r.suboffsets[1] = -1;
    CHECK_OK(xbuf_object_new(&type, &r, &obj));
    CHECK_OK(xbuf_view_new(obj, XBUF_FULL_RO, &v));
    both[0] = all;
    both[1] = cols;
    CHECK_OK(xbuf_view_slice(v, both, 2, &shared));
    init_workers(ws, N, v, shared, 0.4, 50000);
    for (i = 0; i < N; i++) fns[i] = pil_slicer_main;
    run_workers(ws, fns, N, &sum);
    printf("slices of a PIL-style view with tables of their own: %ld iterations in %.2f s, %ld views\n",
           sum.iterations, now() - t0, sum.views);
    CHECK_EQ(sum.bad_status, 0);
    CHECK_EQ(sum.torn, 0);
    CHECK_EQ(sum.slices_ok, sum.iterations);
    CHECK_EQ(sum.views, sum.iterations);
    CHECK_OK(xbuf_decref(shared));
    CHECK_OK(xbuf_decref(v));
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_EQ(xbuf_refcount(obj), 1);
    CHECK_OK(xbuf_decref(obj));
}

XBUF_TEST_MAIN(XT_CASE(test_views_resize_locks_refs), XT_CASE(test_concurrent_slices),
               XT_CASE(test_shared_slice), XT_CASE(test_pil_slices))
