/*
 * Views derived from views while those are released on other threads, when the memory's owner
 * is a C exporter with a `releasebuffer`: every derived view then holds a filled struct that
 * its release hands back through that callback (not a bare export). The test races slices
 * against explicit releases and checks that every struct a view held reaches `releasebuffer`
 * exactly once (the callback count equals the views made), that every successful slice reads
 * the right bytes, and that the exporter's `dealloc` runs once, when the last of them is gone.
 * Run under ThreadSanitizer and valgrind by the tsan and memcheck presets.
 */
#include <pthread.h>
#include <sched.h>

#include "xbuf_test.h"

#define THREADS 4
#define ROUNDS 20
#define N 64

/* A C exporter of N bytes 0..N-1 that counts its callbacks (atomically). */
typedef struct {
    unsigned char data[N];
    ptrdiff_t shape[1];
    long gets, releases, deallocs;
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

typedef struct {
    int id;
    xbuf_object *mine;  /* released by this thread part-way */
    xbuf_object *other; /* sliced by this thread until it is released */
    pthread_barrier_t *start;
    int tried, released; /* atomic flags */
    const int *neighbour_tried, *neighbour_released;
    long made, refused, bad;
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
    xbuf_range r = {1, N, 2};
    int k, released_seen = 0;
    pthread_barrier_wait(w->start);
    for (k = 0; k < 150; k++) {
        xbuf_object *s = NULL;
        int rc = xbuf_view_slice(w->other, &r, 1, &s);
        if (rc == XBUF_OK) {
            xbuf_object *s2 = NULL;
            xbuf_range all = {0, N / 2, 1};
            w->made++;
            /* Once refused, a view stays released. */
            if (released_seen || !reads_odd_bytes(s)) w->bad++;
            /* A view of the new view, which nobody releases, then the new view released. */
            if (xbuf_view_slice(s, &all, 1, &s2) == XBUF_OK) {
                w->made++;
                if (!reads_odd_bytes(s2)) w->bad++;
            } else {
                w->bad++;
            }
            if (xbuf_view_release(s) != XBUF_OK) w->bad++;
            if (s2 && !reads_odd_bytes(s2)) w->bad++;
            if (s2) xbuf_decref(s2);
            xbuf_decref(s);
        } else if (rc == XBUF_ERR_RELEASED) {
            if (s != NULL) w->bad++;
            released_seen = 1;
            w->refused++;
        } else {
            w->bad++;
        }
        /* Objects made and freed meanwhile, so that a freed slot would be reused at once. */
        {
            xbuf_object *junk = NULL;
            if (xbuf_bytearray_new(NULL, 8, &junk) == XBUF_OK) xbuf_decref(junk);
        }
        __atomic_store_n(&w->tried, 1, __ATOMIC_RELEASE);
        if (k == 15 + 9 * w->id) {
            wait_for(w->neighbour_tried);
            if (xbuf_view_release(w->mine) != XBUF_OK) w->bad++;
            __atomic_store_n(&w->released, 1, __ATOMIC_RELEASE);
        }
    }
    wait_for(w->neighbour_released);
    {
        xbuf_object *s = NULL;
        if (xbuf_view_slice(w->other, &r, 1, &s) != XBUF_ERR_RELEASED || s != NULL) w->bad++;
        w->refused++;
    }
    return NULL;
}

static void test_releaser_sees_every_struct_once(void) {
    int round, i;
    long made_total = 0, refused_total = 0;
    for (round = 0; round < ROUNDS; round++) {
        counted c;
        xbuf_type t;
        xbuf_object *owner = NULL, *root = NULL;
        worker ws[THREADS];
        pthread_t th[THREADS];
        pthread_barrier_t start;
        xbuf_range whole = {XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, XBUF_SLICE_OMIT};
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
        memset(ws, 0, sizeof ws);
        for (i = 0; i < THREADS; i++) {
            ws[i].id = i;
            ws[i].start = &start;
            CHECK_OK(xbuf_view_slice(root, &whole, 1, &ws[i].mine));
        }
        CHECK_EQ(xbuf_exports(owner), THREADS + 1);
        CHECK_OK(xbuf_view_release(root));
        CHECK_EQ(xbuf_exports(owner), THREADS);
        /* The root's struct came from `getbuffer` and went back through `releasebuffer`. */
        CHECK_EQ(__atomic_load_n(&c.gets, __ATOMIC_SEQ_CST), 1);
        CHECK_EQ(__atomic_load_n(&c.releases, __ATOMIC_SEQ_CST), 1);
        for (i = 0; i < THREADS; i++) {
            worker *n = &ws[(i + 1) % THREADS];
            ws[i].other = n->mine;
            n->neighbour_tried = &ws[i].tried;
            ws[i].neighbour_released = &n->released;
        }
        pthread_barrier_init(&start, NULL, THREADS);
        for (i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, run, &ws[i]);
        for (i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
        pthread_barrier_destroy(&start);
        for (i = 0; i < THREADS; i++) {
            CHECK_EQ(ws[i].bad, 0);
            CHECK(ws[i].made > 0);
            CHECK(ws[i].refused > 0);
            made += ws[i].made;
            refused_total += ws[i].refused;
        }
        /* Every view released or dropped: each struct handed back once, the owner gone once,
         * although the released view objects are still referenced. */
        CHECK_EQ(__atomic_load_n(&c.deallocs, __ATOMIC_SEQ_CST), 1);
        CHECK_EQ(__atomic_load_n(&c.gets, __ATOMIC_SEQ_CST), 1);
        CHECK_EQ(__atomic_load_n(&c.releases, __ATOMIC_SEQ_CST), 1 + THREADS + made);
        for (i = 0; i < THREADS; i++) {
            xbuf_object *late = NULL;
            CHECK_ERR(xbuf_view_slice(ws[i].mine, &whole, 1, &late), XBUF_ERR_RELEASED, "released");
            CHECK(late == NULL);
        }
        for (i = 0; i < THREADS; i++) CHECK_OK(xbuf_decref(ws[i].mine));
        CHECK_OK(xbuf_decref(root));
        CHECK_EQ(__atomic_load_n(&c.releases, __ATOMIC_SEQ_CST), 1 + THREADS + made);
        CHECK_EQ(__atomic_load_n(&c.deallocs, __ATOMIC_SEQ_CST), 1);
        made_total += made;
    }
    printf("slices racing releases (C releaser): %ld views made, %ld refused\n", made_total,
           refused_total);
    CHECK(made_total > 0);
}

XBUF_TEST_MAIN(XT_CASE(test_releaser_sees_every_struct_once))
