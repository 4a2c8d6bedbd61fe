/*
 * Views derived from views while those are released on other threads.
 *
 * A derived view counts its export on the object that owns the memory without pinning its
 * parent first, and checks the parent's released flag afterwards; a released view keeps the
 * owner's slot (not the owner) so that such a late derive can fail cleanly. These tests race
 * slices against explicit releases on several threads and check what every call returns, the
 * bytes every successful slice reads, and that the owner's destructor runs exactly once, as
 * soon as the last export is gone (while the released view objects are still referenced).
 * Run under ThreadSanitizer and valgrind by the tsan and memcheck presets.
 */
#include <pthread.h>
#include <sched.h>

#include "xbuf_test.h"

#define THREADS 4
#define ROUNDS 30
#define N 64

static int destroyed; /* destructor calls in the current round (atomic) */

static void count_and_free(void *data, size_t len, void *ctx) {
    (void)len;
    (void)ctx;
    free(data);
    __atomic_fetch_add(&destroyed, 1, __ATOMIC_SEQ_CST);
}

typedef struct {
    int id;
    xbuf_object *mine;  /* released by this thread part-way */
    xbuf_object *other; /* sliced by this thread until it is released */
    pthread_barrier_t *start;
    int tried;         /* set after the first try on `other` (atomic) */
    int released;      /* set after `mine` was released (atomic) */
    const int *neighbour_tried, *neighbour_released;
    long sliced, refused, bad;
} worker;

static void wait_for(const int *flag) {
    while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) sched_yield();
}

/* Reads the slice [1:N:2] of a view of bytes 0..N-1 and checks every byte. */
static int slice_reads_right(xbuf_object *s) {
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
    xbuf_range r = {1, N, 2};
    int k, released_seen = 0;
    pthread_barrier_wait(w->start);
    for (k = 0; k < 200; k++) {
        xbuf_object *s = NULL, *junk = NULL;
        int rc = xbuf_view_slice(w->other, &r, 1, &s);
        if (rc == XBUF_OK) {
            /* Once refused, a view stays released. */
            if (released_seen || !s || !slice_reads_right(s)) w->bad++;
            /* A slice of the slice, from a view nobody releases. */
            {
                xbuf_object *s2 = NULL;
                xbuf_range all = {0, N / 2, 1};
                if (xbuf_view_slice(s, &all, 1, &s2) != XBUF_OK || !slice_reads_right(s2)) w->bad++;
                if (s2) xbuf_decref(s2);
            }
            w->sliced++;
            xbuf_decref(s);
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
        if (k == 20 + 7 * w->id) {
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

static void test_slices_race_releases(void) {
    int round, i;
    long sliced = 0, refused = 0;
    for (round = 0; round < ROUNDS; round++) {
        unsigned char *data = malloc(N);
        xbuf_object *owner = NULL, *root = NULL;
        worker ws[THREADS];
        pthread_t th[THREADS];
        pthread_barrier_t start;
        xbuf_range whole = {XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, XBUF_SLICE_OMIT};
        for (i = 0; i < N; i++) data[i] = (unsigned char)i;
        __atomic_store_n(&destroyed, 0, __ATOMIC_SEQ_CST);
        CHECK_OK(xbuf_wrap_new(data, N, 1, count_and_free, NULL, &owner));
        CHECK_OK(xbuf_view_new(owner, XBUF_FULL_RO, &root));
        CHECK_OK(xbuf_decref(owner)); /* the owner lives through the views' exports only */
        memset(ws, 0, sizeof ws);
        for (i = 0; i < THREADS; i++) {
            ws[i].id = i;
            ws[i].start = &start;
            CHECK_OK(xbuf_view_slice(root, &whole, 1, &ws[i].mine));
        }
        CHECK_EQ(xbuf_exports(owner), THREADS + 1);
        CHECK_OK(xbuf_view_release(root));
        CHECK_EQ(xbuf_exports(owner), THREADS);
        for (i = 0; i < THREADS; i++) {
            worker *n = &ws[(i + 1) % THREADS];
            ws[i].other = n->mine;
            /* `n` releases what this worker slices. */
            n->neighbour_tried = &ws[i].tried;
            ws[i].neighbour_released = &n->released;
        }
        pthread_barrier_init(&start, NULL, THREADS);
        for (i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, run, &ws[i]);
        for (i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
        pthread_barrier_destroy(&start);
        /* Every view released, every slice dropped: the owner is gone, once, although the
         * released view objects are still referenced. */
        CHECK_EQ(__atomic_load_n(&destroyed, __ATOMIC_SEQ_CST), 1);
        for (i = 0; i < THREADS; i++) {
            xbuf_object *late = NULL;
            CHECK_EQ(ws[i].bad, 0);
            CHECK(ws[i].sliced > 0);
            CHECK(ws[i].refused > 0);
            /* A released view whose owner is gone still refuses cleanly. */
            CHECK_ERR(xbuf_view_slice(ws[i].mine, &whole, 1, &late), XBUF_ERR_RELEASED, "released");
            CHECK(late == NULL);
            sliced += ws[i].sliced;
            refused += ws[i].refused;
        }
        for (i = 0; i < THREADS; i++) CHECK_OK(xbuf_decref(ws[i].mine));
        CHECK_OK(xbuf_decref(root));
        CHECK_EQ(__atomic_load_n(&destroyed, __ATOMIC_SEQ_CST), 1);
    }
    printf("slices racing releases: %ld slices made, %ld refused after a release\n", sliced, refused);
    CHECK(sliced > 0);
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

XBUF_TEST_MAIN(XT_CASE(test_released_parent_keeps_counts), XT_CASE(test_slices_race_releases))
