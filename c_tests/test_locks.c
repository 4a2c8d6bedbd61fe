/*
 * Locks (xbuf_lock / xbuf_unlock) on every kind of object: the export and reference counts
 * they add are visible through xbuf_exports and xbuf_refcount; an unlock without a lock is
 * XBUF_ERR_INVALID_ARGUMENT and never an underflow (the counts stay right and the object stays
 * usable); a lock keeps its object alive; a slice keeps its base locked, and a lock on a slice
 * is forwarded to the memory's owner; a resize is refused while any lock is held and allowed
 * once the last one is returned.
 */
#include <unistd.h>

#include "xbuf_test.h"

/* Takes n locks, checks the counts, returns them, checks the counts again. */
static void lock_cycle(xbuf_object *obj, int n) {
    ptrdiff_t exports = xbuf_exports(obj), refs = xbuf_refcount(obj);
    int i;
    for (i = 0; i < n; i++) CHECK_OK(xbuf_lock(obj));
    CHECK_EQ(xbuf_exports(obj), exports + n);
    CHECK_EQ(xbuf_refcount(obj), refs + n);
    for (i = 0; i < n; i++) CHECK_OK(xbuf_unlock(obj));
    CHECK_EQ(xbuf_exports(obj), exports);
    CHECK_EQ(xbuf_refcount(obj), refs);
}

/* An unlock without a lock is refused and changes nothing. */
static void unlock_refused(xbuf_object *obj) {
    ptrdiff_t exports = xbuf_exports(obj), refs = xbuf_refcount(obj);
    CHECK_ERR(xbuf_unlock(obj), XBUF_ERR_INVALID_ARGUMENT, "xbuf_unlock on a");
    CHECK(strstr(xbuf_last_error_message(), "holds no lock") != NULL);
    CHECK_EQ(xbuf_exports(obj), exports);
    CHECK_EQ(xbuf_refcount(obj), refs);
}

static void test_every_kind_counts_locks(void) {
    char dir[] = "/tmp/xbuf-locks-XXXXXX", path[64];
    xbuf_object *objs[6];
    FILE *f;
    int i, n = 0;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/file", dir);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs("mapped", f);
        fclose(f);
    }
    CHECK_OK(xbuf_bytes_new("bytes", 5, &objs[n++]));
    CHECK_OK(xbuf_bytearray_new("bytearray", 9, &objs[n++]));
    CHECK_OK(xbuf_wrap_new((void *)"wrap", 4, 1, NULL, NULL, &objs[n++]));
    CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_READ, &objs[n++]));
    CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_WRITE, &objs[n++]));
    CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_COPY, &objs[n++]));
    for (i = 0; i < n; i++) {
        xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT, w = XBUF_BUFFERINFO_INIT;
        unlock_refused(objs[i]);
        lock_cycle(objs[i], 1);
        lock_cycle(objs[i], 3);
        /* Views and locks add up; the busy message tells them apart. */
        CHECK_OK(xbuf_get_buffer(objs[i], &v, XBUF_SIMPLE));
        CHECK_OK(xbuf_get_buffer(objs[i], &w, XBUF_FULL_RO));
        CHECK_OK(xbuf_lock(objs[i]));
        CHECK_EQ(xbuf_exports(objs[i]), 3);
        CHECK_EQ(xbuf_refcount(objs[i]), 4);
        CHECK_ERR(xbuf_exclusive_begin(objs[i]), XBUF_ERR_BUSY, "has 3 exports (1 of them lock)");
        /* An unlock too many with views alive: refused, the views' exports are not taken. */
        CHECK_OK(xbuf_unlock(objs[i]));
        unlock_refused(objs[i]);
        CHECK_EQ(xbuf_exports(objs[i]), 2);
        CHECK_OK(xbuf_release(&w));
        CHECK_OK(xbuf_release(&v));
        unlock_refused(objs[i]);
        CHECK_EQ(xbuf_exports(objs[i]), 0);
        CHECK_EQ(xbuf_refcount(objs[i]), 1);
        /* Not an underflow: exclusive access is still available. */
        CHECK_OK(xbuf_exclusive_begin(objs[i]));
        CHECK_ERR(xbuf_lock(objs[i]), XBUF_ERR_BUSY, "exclusive access is held");
        CHECK_EQ(xbuf_exports(objs[i]), 0);
        CHECK_EQ(xbuf_refcount(objs[i]), 1);
        CHECK_OK(xbuf_exclusive_end(objs[i]));
    }
    for (i = 0; i < n; i++) CHECK_OK(xbuf_decref(objs[i]));
    CHECK_EQ(unlink(path), 0);
    CHECK_EQ(rmdir(dir), 0);
}

static void test_many_locks(void) {
    xbuf_object *obj = NULL;
    int i;
    CHECK_OK(xbuf_bytearray_new(NULL, 8, &obj));
    for (i = 0; i < 1000; i++) CHECK_OK(xbuf_lock(obj));
    CHECK_EQ(xbuf_exports(obj), 1000);
    CHECK_EQ(xbuf_refcount(obj), 1001);
    CHECK_ERR(xbuf_bytearray_resize(obj, 1), XBUF_ERR_BUSY, "has 1000 exports (1000 of them locks)");
    for (i = 0; i < 999; i++) CHECK_OK(xbuf_unlock(obj));
    CHECK_ERR(xbuf_bytearray_resize(obj, 1), XBUF_ERR_BUSY, "has 1 export (1 of them lock)");
    CHECK_OK(xbuf_unlock(obj));
    unlock_refused(obj);
    CHECK_OK(xbuf_bytearray_resize(obj, 1));
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_EQ(xbuf_refcount(obj), 1);
    CHECK_OK(xbuf_decref(obj));
}

/* ---- A lock keeps its object alive ---------------------------------------------------------- */

static int deallocs;
static void count_dealloc(void *state) {
    (void)state;
    deallocs++;
}

static int wrap_destroyed;
static void count_destructor(void *data, size_t len, void *ctx) {
    (void)data;
    (void)len;
    (void)ctx;
    wrap_destroyed++;
}

static void test_lock_keeps_object_alive(void) {
    xbuf_type t;
    xbuf_object *obj = NULL;
    static char mem[4] = "abc";
    memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = "lockonly";
    t.dealloc = count_dealloc;
    CHECK_OK(xbuf_object_new(&t, NULL, &obj));
    CHECK_OK(xbuf_lock(obj));
    CHECK_OK(xbuf_decref(obj)); /* the caller's reference goes; the lock's remains */
    CHECK_EQ(deallocs, 0);
    CHECK_EQ(xbuf_exports(obj), 1);
    CHECK_EQ(xbuf_refcount(obj), 1);
    /* The lock's own reference cannot be dropped with decref. */
    CHECK_ERR(xbuf_decref(obj), XBUF_ERR_INVALID_ARGUMENT, "no reference left");
    CHECK_EQ(deallocs, 0);
    CHECK_OK(xbuf_unlock(obj)); /* the last export and reference: freed now */
    CHECK_EQ(deallocs, 1);

    CHECK_OK(xbuf_wrap_new(mem, 3, 0, count_destructor, NULL, &obj));
    CHECK_OK(xbuf_lock(obj));
    CHECK_OK(xbuf_lock(obj));
    CHECK_OK(xbuf_decref(obj));
    CHECK_OK(xbuf_unlock(obj));
    CHECK_EQ(wrap_destroyed, 0);
    CHECK_OK(xbuf_unlock(obj));
    CHECK_EQ(wrap_destroyed, 1);
}

/* ---- Slices and locks -------------------------------------------------------------------------- */

static void test_slice_locks(void) {
    xbuf_object *base = NULL, *s = NULL, *s2 = NULL;
    CHECK_OK(xbuf_bytearray_new("0123456789", 10, &base));
    CHECK_OK(xbuf_slice_new(base, 2, 6, &s));
    /* The slice's lock on its base and the view it holds are visible, and refuse a resize. */
    CHECK_EQ(xbuf_exports(base), 2);
    CHECK_EQ(xbuf_refcount(base), 4); /* ours, the slice's, its lock's, its view's */
    CHECK_EQ(xbuf_exports(s), 0);
    CHECK_ERR(xbuf_bytearray_resize(base, 20), XBUF_ERR_BUSY, "2 exports (1 of them lock)");
    /* The slice holds no lock of its own to return; the base's lock is not taken from it. */
    unlock_refused(s);
    CHECK_EQ(xbuf_exports(base), 2);
    CHECK_ERR(xbuf_bytearray_resize(base, 20), XBUF_ERR_BUSY, "2 exports (1 of them lock)");

    /* A lock on the slice counts on the slice and is forwarded to the base. */
    CHECK_OK(xbuf_lock(s));
    CHECK_EQ(xbuf_exports(s), 1);
    CHECK_EQ(xbuf_exports(base), 3);
    CHECK_ERR(xbuf_bytearray_resize(base, 20), XBUF_ERR_BUSY, "3 exports (2 of them locks)");
    /* Dropping the slice's reference while the lock is held: the lock keeps the slice, which
     * keeps the base locked. */
    CHECK_OK(xbuf_decref(s));
    CHECK_EQ(xbuf_exports(s), 1);
    CHECK_EQ(xbuf_refcount(s), 1);
    CHECK_EQ(xbuf_exports(base), 3);
    CHECK_ERR(xbuf_bytearray_resize(base, 20), XBUF_ERR_BUSY, "3 exports");
    /* Returning the lock frees the slice, which returns its own lock and view of the base. */
    CHECK_OK(xbuf_unlock(s));
    CHECK_EQ(xbuf_exports(base), 0);
    CHECK_EQ(xbuf_refcount(base), 1);
    CHECK_OK(xbuf_bytearray_resize(base, 20));

    /* A slice of a slice locks the middle slice (a lock forwarded to the base) and holds a view
     * of it (whose releaser is the base); a lock on it reaches the base, not the middle slice. */
    CHECK_OK(xbuf_slice_new(base, 1, 15, &s));
    CHECK_OK(xbuf_slice_new(s, 2, 5, &s2));
    CHECK_EQ(xbuf_exports(s), 1);
    CHECK_EQ(xbuf_exports(base), 4);
    CHECK_OK(xbuf_lock(s2));
    CHECK_EQ(xbuf_exports(s2), 1);
    CHECK_EQ(xbuf_exports(s), 1);
    CHECK_EQ(xbuf_exports(base), 5);
    CHECK_OK(xbuf_unlock(s2));
    unlock_refused(s2);
    CHECK_EQ(xbuf_exports(base), 4);
    /* The middle slice's reference goes first: the inner one still holds its lock and view. */
    CHECK_OK(xbuf_decref(s));
    CHECK_EQ(xbuf_exports(s), 1);
    CHECK_EQ(xbuf_exports(base), 4);
    CHECK_ERR(xbuf_bytearray_resize(base, 1), XBUF_ERR_BUSY, "4 exports (2 of them locks)");
    CHECK_OK(xbuf_decref(s2));
    CHECK_EQ(xbuf_exports(base), 0);
    CHECK_EQ(xbuf_refcount(base), 1);
    CHECK_OK(xbuf_bytearray_resize(base, 1));
    CHECK_OK(xbuf_decref(base));
}

XBUF_TEST_MAIN(XT_CASE(test_every_kind_counts_locks), XT_CASE(test_many_locks),
               XT_CASE(test_lock_keeps_object_alive), XT_CASE(test_slice_locks))
