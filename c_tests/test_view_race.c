/*
 * Views derived from views while those are released on other threads.
 *
 * A derived view counts its export on the object that owns the memory without pinning its
 * parent first, and checks the parent's released flag afterwards; a released view keeps the
 * owner's slot (not the owner) so that such a late derive can fail cleanly. These tests race
 * slices against explicit releases on several threads and check what every call returns, the
 * bytes every successful slice reads, and that the owner goes exactly once, as soon as the last
 * export is gone (while the released view objects are still referenced). The owner is either
 * the library's own (memory wrapped with a destructor) or a C exporter with a `releasebuffer`,
 * whose every derived view holds a filled struct that its release hands back through that
 * callback (not a bare export); there every struct must reach `releasebuffer` exactly once.
 * Run under ThreadSanitizer and valgrind by the tsan and memcheck presets.
 */
#include <pthread.h>
#include <sched.h>

#include "xbuf_test.h"

#define THREADS 4
#define N 64

/* How one race runs: the rounds, each thread's tries, and when each thread releases its view. */
typedef struct {
    int rounds;
    int tries;
    int release_after, release_step; /* thread i releases after try release_after + step * i */
    int release_each_slice; /* release every slice explicitly while a slice of it lives */
} race_plan;

typedef struct {
    int id;
    const race_plan *plan;
    xbuf_object *mine;  /* released by this thread part-way */
    xbuf_object *other; /* sliced by this thread until it is released */
    pthread_barrier_t *start;
    int tried;    /* set after the first try on `other` (atomic) */
    int released; /* set after `mine` was released (atomic) */
    const int *neighbour_tried, *neighbour_released;
    long sliced; /* successful slices of `other` */
    long made;   /* views made: those slices and a slice of each */
    long refused, bad;
} worker;

static void wait_for(const int *flag) {
    while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) sched_yield();
}

/* Whether `s` holds the N/2 bytes 1, 3, 5, ... (the slice [1:N:2] of 0..N-1). */
static int reads_odd_bytes(xbuf_object *s) {
    unsigned char got[N];
    size_t needed = 0;
    int i;
    if (xbuf_view_tobytes(s, 'C', got, sizeof got, &needed) != XBUF_OK) return 0;
    if (needed != N / 2) return 0;
    for (i = 0; i < N / 2; i++)
        if (got[i] != (unsigned char)(1 + 2 * i)) return 0;
    return 1;
}

static void *run(void *p) {
    worker *w = (worker *)p;
    const race_plan *plan = w->plan;
    xbuf_range r = {1, N, 2};
    int k, released_seen = 0;
    pthread_barrier_wait(w->start);
    for (k = 0; k < plan->tries; k++) {
        xbuf_object *s = NULL, *junk = NULL;
        int rc = xbuf_view_slice(w->other, &r, 1, &s);
        if (rc == XBUF_OK) {
            xbuf_object *s2 = NULL;
            xbuf_range all = {0, N / 2, 1};
            w->sliced++;
            w->made++;
            /* Once refused, a view stays released. */
            if (released_seen || !s || !reads_odd_bytes(s)) w->bad++;
            /* A slice of the slice, from a view nobody releases. */
            if (s && xbuf_view_slice(s, &all, 1, &s2) == XBUF_OK) {
                w->made++;
                if (!reads_odd_bytes(s2)) w->bad++;
            } else {
                w->bad++;
            }
            /* The slice released while its own slice lives on and still reads right. */
            if (plan->release_each_slice && s) {
                if (xbuf_view_release(s) != XBUF_OK) w->bad++;
                if (s2 && !reads_odd_bytes(s2)) w->bad++;
            }
            if (s2) xbuf_decref(s2);
            if (s) xbuf_decref(s);
        } else if (rc == XBUF_ERR_RELEASED) {
            if (s != NULL) w->bad++;
            released_seen = 1;
            w->refused++;
        } else {
            w->bad++;
        }
        /* Objects made and freed meanwhile, so that a freed slot would be reused at once. */
        if (xbuf_bytearray_new(NULL, 8, &junk) == XBUF_OK) xbuf_decref(junk);
        __atomic_store_n(&w->tried, 1, __ATOMIC_RELEASE);
        if (k == plan->release_after + plan->release_step * w->id) {
            /* Not before the thread that slices it has had one go (so each slices once). */
            wait_for(w->neighbour_tried);
            if (xbuf_view_release(w->mine) != XBUF_OK) w->bad++;
            __atomic_store_n(&w->released, 1, __ATOMIC_RELEASE);
        }
    }
    /* Once the neighbour released its view, a slice of it is refused (maybe racing with the
     * owner's end, when the other threads drop their last slices). */
    wait_for(w->neighbour_released);
    {
        xbuf_object *s = NULL;
        if (xbuf_view_slice(w->other, &r, 1, &s) != XBUF_ERR_RELEASED || s != NULL) w->bad++;
        w->refused++;
    }
    return NULL;
}

static const xbuf_range whole = {XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, XBUF_SLICE_OMIT};

/* A round's start on `root`, a full read-only view of bytes 0..N-1 whose owner lives through
 * the views' exports only: one whole-view slice per thread, then `root` released. */
static void race_prepare(const race_plan *plan, xbuf_object *owner, xbuf_object *root,
                         worker ws[]) {
    int i;
    memset(ws, 0, THREADS * sizeof *ws);
    for (i = 0; i < THREADS; i++) {
        ws[i].id = i;
        ws[i].plan = plan;
        CHECK_OK(xbuf_view_slice(root, &whole, 1, &ws[i].mine));
    }
    CHECK_EQ(xbuf_exports(owner), THREADS + 1);
    CHECK_OK(xbuf_view_release(root));
    CHECK_EQ(xbuf_exports(owner), THREADS);
}

/* The race: each thread slices its neighbour's view while releasing its own. Checks each
 * thread's counts. */
static void race_run(worker ws[]) {
    pthread_t th[THREADS];
    pthread_barrier_t start;
    int i;
    for (i = 0; i < THREADS; i++) {
        worker *n = &ws[(i + 1) % THREADS];
        ws[i].start = &start;
        ws[i].other = n->mine;
        /* `n` releases what this worker slices. */
        n->neighbour_tried = &ws[i].tried;
        ws[i].neighbour_released = &n->released;
    }
    pthread_barrier_init(&start, NULL, THREADS);
    for (i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, run, &ws[i]);
    for (i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (i = 0; i < THREADS; i++) {
        CHECK_EQ(ws[i].bad, 0);
        CHECK(ws[i].sliced > 0);
        CHECK(ws[i].refused > 0);
    }
}

/* After the owner is gone: a released view still refuses cleanly; then every view dropped. */
static void race_finish(xbuf_object *root, worker ws[]) {
    int i;
    for (i = 0; i < THREADS; i++) {
        xbuf_object *late = NULL;
        CHECK_ERR(xbuf_view_slice(ws[i].mine, &whole, 1, &late), XBUF_ERR_RELEASED, "released");
        CHECK(late == NULL);
    }
    for (i = 0; i < THREADS; i++) CHECK_OK(xbuf_decref(ws[i].mine));
    CHECK_OK(xbuf_decref(root));
}

/* --- The library's own owner: memory wrapped with a counting destructor. --- */

static int destroyed; /* destructor calls in the current round (atomic) */

static void count_and_free(void *data, size_t len, void *ctx) {
    (void)len;
    (void)ctx;
    free(data);
    __atomic_fetch_add(&destroyed, 1, __ATOMIC_SEQ_CST);
}

static void test_slices_race_releases(void) {
    static const race_plan plan = {30, 200, 20, 7, 0};
    int round, i;
    long sliced = 0, refused = 0;
    for (round = 0; round < plan.rounds; round++) {
        unsigned char *data = malloc(N);
        xbuf_object *owner = NULL, *root = NULL;
        worker ws[THREADS];
        for (i = 0; i < N; i++) data[i] = (unsigned char)i;
        __atomic_store_n(&destroyed, 0, __ATOMIC_SEQ_CST);
        CHECK_OK(xbuf_wrap_new(data, N, 1, count_and_free, NULL, &owner));
        CHECK_OK(xbuf_view_new(owner, XBUF_FULL_RO, &root));
        CHECK_OK(xbuf_decref(owner)); /* the owner lives through the views' exports only */
        race_prepare(&plan, owner, root, ws);
        race_run(ws);
        /* Every view released, every slice dropped: the owner is gone, once, although the
         * released view objects are still referenced. */
        CHECK_EQ(__atomic_load_n(&destroyed, __ATOMIC_SEQ_CST), 1);
        for (i = 0; i < THREADS; i++) {
            sliced += ws[i].sliced;
            refused += ws[i].refused;
        }
        race_finish(root, ws);
        CHECK_EQ(__atomic_load_n(&destroyed, __ATOMIC_SEQ_CST), 1);
    }
    printf("slices racing releases: %ld slices made, %ld refused after a release\n", sliced, refused);
    CHECK(sliced > 0);
}

/* --- A C exporter with a `releasebuffer`, of N bytes 0..N-1, counting its callbacks. --- */

typedef struct {
    unsigned char data[N];
    ptrdiff_t shape[1];
    long gets, releases, deallocs; /* atomic */
} counted;

static int counted_getbuffer(xbuf_object *self, xbuf_bufferinfo *view, int flags) {
    counted *c = (counted *)xbuf_object_state(self);
    (void)flags;
    view->buf = c->data;
    view->len = N;
    view->itemsize = 1;
    view->readonly = 1;
    view->ndim = 1;
    view->format = "B";
    view->shape = c->shape;
    view->strides = NULL;
    __atomic_fetch_add(&c->gets, 1, __ATOMIC_SEQ_CST);
    return XBUF_OK;
}

static void counted_releasebuffer(xbuf_object *self, xbuf_bufferinfo *view) {
    counted *c = (counted *)xbuf_object_state(self);
    if (view != NULL) __atomic_fetch_add(&c->releases, 1, __ATOMIC_SEQ_CST);
}

static void counted_dealloc(void *state) {
    __atomic_fetch_add(&((counted *)state)->deallocs, 1, __ATOMIC_SEQ_CST);
}

static void test_releaser_sees_every_struct_once(void) {
    static const race_plan plan = {20, 150, 15, 9, 1};
    int round, i;
    long made_total = 0, refused_total = 0;
    for (round = 0; round < plan.rounds; round++) {
        counted c;
        xbuf_type t;
        xbuf_object *owner = NULL, *root = NULL;
        worker ws[THREADS];
        long made = 0;
        memset(&c, 0, sizeof c);
        for (i = 0; i < N; i++) c.data[i] = (unsigned char)i;
        c.shape[0] = N;
        memset(&t, 0, sizeof t);
        t.structsize = sizeof t;
        t.name = "counted";
        t.getbuffer = counted_getbuffer;
        t.releasebuffer = counted_releasebuffer;
        t.dealloc = counted_dealloc;
        CHECK_OK(xbuf_object_new(&t, &c, &owner));
        CHECK_OK(xbuf_view_new(owner, XBUF_FULL_RO, &root));
        CHECK_OK(xbuf_decref(owner)); /* the owner lives through the views' exports only */
        race_prepare(&plan, owner, root, ws);
        /* The root's struct came from `getbuffer` and went back through `releasebuffer`. */
        CHECK_EQ(__atomic_load_n(&c.gets, __ATOMIC_SEQ_CST), 1);
        CHECK_EQ(__atomic_load_n(&c.releases, __ATOMIC_SEQ_CST), 1);
        race_run(ws);
        for (i = 0; i < THREADS; i++) {
            CHECK(ws[i].made > 0);
            made += ws[i].made;
            refused_total += ws[i].refused;
        }
        /* Every view released or dropped: each struct handed back once (the root's, which came
         * from `getbuffer`, each thread's whole view, and every view the threads made), the
         * owner gone once, although the released view objects are still referenced. */
        CHECK_EQ(__atomic_load_n(&c.deallocs, __ATOMIC_SEQ_CST), 1);
        CHECK_EQ(__atomic_load_n(&c.gets, __ATOMIC_SEQ_CST), 1);
        CHECK_EQ(__atomic_load_n(&c.releases, __ATOMIC_SEQ_CST), 1 + THREADS + made);
        race_finish(root, ws);
        CHECK_EQ(__atomic_load_n(&c.releases, __ATOMIC_SEQ_CST), 1 + THREADS + made);
        CHECK_EQ(__atomic_load_n(&c.deallocs, __ATOMIC_SEQ_CST), 1);
        made_total += made;
    }
    printf("slices racing releases (C releaser): %ld views made, %ld refused\n", made_total,
           refused_total);
    CHECK(made_total > 0);
}

/* Without threads: the export counts a derived view holds and gives back, and a derive from a
 * released view while the owner lives on through another view. */
static void test_released_parent_keeps_counts(void) {
    unsigned char *data = malloc(N);
    xbuf_object *owner = NULL, *root = NULL, *a = NULL, *b = NULL, *c = NULL;
    xbuf_range r = {1, N, 2};
    memset(data, 7, N);
    __atomic_store_n(&destroyed, 0, __ATOMIC_SEQ_CST);
    CHECK_OK(xbuf_wrap_new(data, N, 1, count_and_free, NULL, &owner));
    CHECK_OK(xbuf_view_new(owner, XBUF_FULL_RO, &root));
    CHECK_OK(xbuf_view_slice(root, &r, 1, &a));
    CHECK_OK(xbuf_view_slice(a, &r, 1, &b));
    CHECK_EQ(xbuf_exports(owner), 3);
    CHECK_EQ(xbuf_refcount(owner), 4);
    CHECK_OK(xbuf_view_release(a));
    CHECK_EQ(xbuf_exports(owner), 2);
    CHECK_ERR(xbuf_view_slice(a, &r, 1, &c), XBUF_ERR_RELEASED, "released");
    CHECK(c == NULL);
    CHECK_EQ(xbuf_exports(owner), 2);
    CHECK_EQ(xbuf_refcount(owner), 3);
    CHECK_OK(xbuf_view_slice(b, &r, 1, &c));
    CHECK_EQ(xbuf_exports(owner), 3);
    CHECK_OK(xbuf_decref(c));
    CHECK_OK(xbuf_decref(b));
    CHECK_OK(xbuf_view_release(root));
    CHECK_EQ(xbuf_exports(owner), 0);
    CHECK_EQ(xbuf_refcount(owner), 1);
    CHECK_OK(xbuf_decref(owner));
    CHECK_EQ(__atomic_load_n(&destroyed, __ATOMIC_SEQ_CST), 1);
    CHECK_ERR(xbuf_view_slice(a, &r, 1, &c), XBUF_ERR_RELEASED, "released");
    CHECK_ERR(xbuf_view_slice(root, &r, 1, &c), XBUF_ERR_RELEASED, "released");
    CHECK_OK(xbuf_decref(a));
    CHECK_OK(xbuf_decref(root));
}

/* --- Sole references: dropped without a read-modify-write when nothing else can count. --- */

typedef struct {
    xbuf_object *view;
    pthread_barrier_t *start;
    int tries;
    long bad; /* calls that answered anything but what the test expects */
} sole_worker;

/* Slices of a released view: each must fail with XBUF_ERR_RELEASED and make nothing, whatever
 * the owner does meanwhile (a failed slice may have counted an export on the owner's slot and
 * given it back). */
static void *slice_released(void *p) {
    sole_worker *w = (sole_worker *)p;
    int k;
    pthread_barrier_wait(w->start);
    for (k = 0; k < w->tries; k++) {
        xbuf_object *out = NULL;
        if (xbuf_view_slice(w->view, &whole, 1, &out) != XBUF_ERR_RELEASED || out != NULL) w->bad++;
    }
    return NULL;
}

/* The owner's sole reference dropped while another thread derives from a released view of it:
 * that view pins the owner's slot, so the drop must not skip the read-modify-write (a late
 * derive may count an export there at any moment). The owner goes exactly once. */
static void test_sole_drop_races_late_derives(void) {
    int round;
    for (round = 0; round < 200; round++) {
        unsigned char *data = malloc(N);
        xbuf_object *owner = NULL, *root = NULL;
        pthread_barrier_t start;
        pthread_t th;
        sole_worker w;
        memset(data, 3, N);
        __atomic_store_n(&destroyed, 0, __ATOMIC_SEQ_CST);
        CHECK_OK(xbuf_wrap_new(data, N, 1, count_and_free, NULL, &owner));
        CHECK_OK(xbuf_view_new(owner, XBUF_FULL_RO, &root));
        CHECK_OK(xbuf_view_release(root));
        CHECK_EQ(xbuf_exports(owner), 0);
        CHECK_EQ(xbuf_refcount(owner), 1);
        w.view = root;
        w.start = &start;
        w.tries = 50;
        w.bad = 0;
        pthread_barrier_init(&start, NULL, 2);
        pthread_create(&th, NULL, slice_released, &w);
        pthread_barrier_wait(&start);
        CHECK_OK(xbuf_decref(owner));
        pthread_join(th, NULL);
        pthread_barrier_destroy(&start);
        CHECK_EQ(w.bad, 0);
        CHECK_EQ(__atomic_load_n(&destroyed, __ATOMIC_SEQ_CST), 1);
        CHECK_OK(xbuf_decref(root));
        CHECK_EQ(__atomic_load_n(&destroyed, __ATOMIC_SEQ_CST), 1);
    }
}

/* References of one slice taken and dropped by two threads that each hold one of their own,
 * with slices of it made and dropped (sole references, freed without a read-modify-write);
 * then both drop theirs at once. */
static void *hold_and_slice(void *p) {
    sole_worker *w = (sole_worker *)p;
    xbuf_range r = {0, N / 2, 2};
    int k;
    pthread_barrier_wait(w->start);
    for (k = 0; k < w->tries; k++) {
        xbuf_object *out = NULL;
        if (xbuf_incref(w->view) != XBUF_OK) w->bad++;
        if (xbuf_view_slice(w->view, &r, 1, &out) != XBUF_OK || !out) {
            w->bad++;
        } else {
            if (xbuf_refcount(out) != 1 || xbuf_exports(out) != 0) w->bad++;
            if (xbuf_decref(out) != XBUF_OK) w->bad++;
        }
        if (xbuf_refcount(w->view) < 3) w->bad++; /* the test's and both threads' */
        if (xbuf_decref(w->view) != XBUF_OK) w->bad++;
    }
    pthread_barrier_wait(w->start);
    if (xbuf_decref(w->view) != XBUF_OK) w->bad++;
    return NULL;
}

static void test_own_references_race_sole_drops(void) {
    int round, i;
    for (round = 0; round < 50; round++) {
        unsigned char *data = malloc(N);
        xbuf_object *owner = NULL, *root = NULL, *s = NULL;
        pthread_barrier_t start;
        pthread_t th[2];
        sole_worker w[2];
        memset(data, 5, N);
        __atomic_store_n(&destroyed, 0, __ATOMIC_SEQ_CST);
        CHECK_OK(xbuf_wrap_new(data, N, 1, count_and_free, NULL, &owner));
        CHECK_OK(xbuf_view_new(owner, XBUF_FULL_RO, &root));
        CHECK_OK(xbuf_decref(owner));
        CHECK_OK(xbuf_view_slice(root, &whole, 1, &s));
        CHECK_OK(xbuf_decref(root)); /* the owner lives through the slice's export */
        pthread_barrier_init(&start, NULL, 3);
        for (i = 0; i < 2; i++) {
            w[i].view = s;
            w[i].start = &start;
            w[i].tries = 200;
            w[i].bad = 0;
            CHECK_OK(xbuf_incref(s)); /* the thread's own */
            pthread_create(&th[i], NULL, hold_and_slice, &w[i]);
        }
        pthread_barrier_wait(&start);
        pthread_barrier_wait(&start);
        CHECK_OK(xbuf_decref(s)); /* the test's, as the threads drop theirs */
        for (i = 0; i < 2; i++) pthread_join(th[i], NULL);
        pthread_barrier_destroy(&start);
        for (i = 0; i < 2; i++) CHECK_EQ(w[i].bad, 0);
        CHECK_EQ(__atomic_load_n(&destroyed, __ATOMIC_SEQ_CST), 1);
    }
}

XBUF_TEST_MAIN(XT_CASE(test_released_parent_keeps_counts), XT_CASE(test_slices_race_releases),
               XT_CASE(test_releaser_sees_every_struct_once), XT_CASE(test_sole_drop_races_late_derives),
               XT_CASE(test_own_references_race_sole_drops))
