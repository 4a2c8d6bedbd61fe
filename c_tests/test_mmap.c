/*
 * The mmap exporter: views read the file's bytes; writes reach the file in XBUF_MMAP_WRITE
 * mode (seen by stdio after a flush, after close and after the last reference) and never in
 * XBUF_MMAP_COPY mode; XBUF_MMAP_READ refuses writable views; close and resize are refused
 * while the object is exported or locked and allowed after; resize grows (new bytes zero) and
 * shrinks the file, and a resize that fails (forced with RLIMIT_AS in a child process)
 * changes neither the file nor the mapping; a closed mapping refuses everything; only regular
 * files are opened (a FIFO is refused at once, in a child that an alarm would kill if it
 * blocked); and every error path (missing file, directory, unreadable file, bad mode, NULL
 * arguments, objects of another kind). Files live in a fresh mkdtemp directory that is
 * removed at the end.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xbuf_test.h"

static char dir[] = "/tmp/xbuf-mmap-XXXXXX";
static int have_dir;

/* A path inside the test directory. */
static const char *path_of(const char *name) {
    static char buf[4][128];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

static void make_dir(void) {
    if (!have_dir) {
        CHECK(mkdtemp(dir) != NULL);
        have_dir = 1;
    }
}

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f == NULL) return;
    if (len > 0) CHECK_EQ(fwrite(data, 1, len, f), len);
    CHECK_EQ(fclose(f), 0);
}

/* Reads the whole file with stdio into buf (at most cap bytes); returns its length or -1. */
static long read_file(const char *path, void *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    size_t n;
    if (f == NULL) return -1;
    n = fread(buf, 1, cap, f);
    fclose(f);
    return (long)n;
}

static long file_size(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    return (long)st.st_size;
}

static const char text[] = "0123456789abcdefghijklmnopqrstuvwxyz"; /* 36 bytes */
#define TEXT_LEN 36

/* ---- Reading --------------------------------------------------------------------------------- */

static void test_read_mode(void) {
    const char *path;
    xbuf_object *obj = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT, w = XBUF_BUFFERINFO_INIT;
    make_dir();
    path = path_of("read");
    write_file(path, text, TEXT_LEN);
    CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_READ, &obj));
    CHECK_STR(xbuf_object_type_name(obj), "mmap");
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
    CHECK_EQ(v.len, TEXT_LEN);
    CHECK_EQ(v.itemsize, 1);
    CHECK_EQ(v.readonly, 1);
    CHECK_EQ(v.ndim, 1);
    CHECK_STR(v.format, "B");
    CHECK_EQ(v.shape[0], TEXT_LEN);
    CHECK_EQ(v.strides[0], 1);
    CHECK(v.suboffsets == NULL);
    CHECK(v.releaser == obj);
    CHECK(memcmp(v.buf, text, TEXT_LEN) == 0);
    /* Read-only mapping: every writable request is refused, and says why. */
    CHECK_ERR(xbuf_get_buffer(obj, &w, XBUF_WRITABLE), XBUF_ERR_READONLY, "XBUF_WRITABLE");
    CHECK_ERR(xbuf_get_buffer(obj, &w, XBUF_FULL), XBUF_ERR_READONLY, "'mmap' has read-only memory");
    CHECK(w.releaser == NULL);
    CHECK_EQ(xbuf_exports(obj), 1);
    /* Flushing a read-only mapping is a no-op; it is not resizable. */
    CHECK_OK(xbuf_mmap_flush(obj));
    CHECK_ERR(xbuf_mmap_resize(obj, 4), XBUF_ERR_READONLY, "only a read-write mapping can be resized");
    /* The view outlives the caller's reference; the mapping stays until it is released. */
    CHECK_OK(xbuf_decref(obj));
    CHECK(memcmp(v.buf, text, TEXT_LEN) == 0);
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(unlink(path), 0);
}

static void test_empty_file(void) {
    const char *path;
    xbuf_object *obj = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    int mode;
    make_dir();
    path = path_of("empty");
    write_file(path, NULL, 0);
    for (mode = XBUF_MMAP_READ; mode <= XBUF_MMAP_COPY; mode++) {
        CHECK_OK(xbuf_mmap_open(path, mode, &obj));
        CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL_RO));
        CHECK_EQ(v.len, 0);
        CHECK_EQ(v.ndim, 1);
        CHECK_EQ(v.shape[0], 0);
        CHECK_EQ(v.readonly, mode == XBUF_MMAP_READ);
        CHECK_OK(xbuf_release(&v));
        CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_SIMPLE));
        CHECK_EQ(v.len, 0);
        CHECK_OK(xbuf_release(&v));
        CHECK_OK(xbuf_mmap_flush(obj));
        CHECK_OK(xbuf_mmap_close(obj));
        CHECK_OK(xbuf_decref(obj));
    }
    /* An empty read-write mapping grows, and shrinks back to nothing. */
    CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_WRITE, &obj));
    CHECK_OK(xbuf_mmap_resize(obj, 5));
    CHECK_EQ(file_size(path), 5);
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_CONTIG));
    CHECK_EQ(v.len, 5);
    CHECK(memcmp(v.buf, "\0\0\0\0\0", 5) == 0);
    memcpy(v.buf, "hi", 2);
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_mmap_resize(obj, 0));
    CHECK_EQ(file_size(path), 0);
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_CONTIG));
    CHECK_EQ(v.len, 0);
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(file_size(path), 0);
    CHECK_EQ(unlink(path), 0);
}

/* ---- Writing ----------------------------------------------------------------------------------- */

static void test_write_mode_reaches_the_file(void) {
    const char *path;
    xbuf_object *obj = NULL, *reader = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT, r = XBUF_BUFFERINFO_INIT;
    char back[64];
    make_dir();
    path = path_of("write");
    write_file(path, text, TEXT_LEN);
    CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_WRITE, &obj));
    CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_READ, &reader));
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL));
    CHECK_EQ(v.readonly, 0);
    CHECK_EQ(v.len, TEXT_LEN);
    CHECK(memcmp(v.buf, text, TEXT_LEN) == 0);
    memcpy(v.buf, "ABC", 3);
    /* A shared mapping: another mapping of the same file sees the write at once. */
    CHECK_OK(xbuf_get_buffer(reader, &r, XBUF_SIMPLE));
    CHECK(memcmp(r.buf, "ABC3456789", 10) == 0);
    CHECK_OK(xbuf_release(&r));
    /* After a flush (with the view still held) stdio reads the new bytes. */
    CHECK_OK(xbuf_mmap_flush(obj));
    CHECK_EQ(read_file(path, back, sizeof back), TEXT_LEN);
    CHECK(memcmp(back, "ABC3456789abcdefghijklmnopqrstuvwxyz", TEXT_LEN) == 0);
    /* Close is refused while the view lives; after release it is allowed, and the last
     * write (never flushed explicitly) is in the file. */
    ((char *)v.buf)[TEXT_LEN - 1] = 'Z';
    CHECK_ERR(xbuf_mmap_close(obj), XBUF_ERR_BUSY, "'mmap' has 1 export (0 of them locks)");
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_mmap_close(obj));
    CHECK_EQ(read_file(path, back, sizeof back), TEXT_LEN);
    CHECK(memcmp(back, "ABC3456789abcdefghijklmnopqrstuvwxyZ", TEXT_LEN) == 0);
    CHECK_OK(xbuf_decref(obj));
    CHECK_OK(xbuf_decref(reader));

    /* Writes that are never flushed or closed explicitly reach the file when the last
     * reference and the last view are gone. */
    CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_WRITE, &obj));
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_SIMPLE | XBUF_WRITABLE));
    CHECK_OK(xbuf_decref(obj));
    memcpy((char *)v.buf + 10, "XYZ", 3);
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(read_file(path, back, sizeof back), TEXT_LEN);
    CHECK(memcmp(back, "ABC3456789XYZdefghijklmnopqrstuvwxyZ", TEXT_LEN) == 0);
    CHECK_EQ(unlink(path), 0);
}

static void test_copy_mode_leaves_the_file(void) {
    const char *path;
    xbuf_object *obj = NULL, *reader = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT, w = XBUF_BUFFERINFO_INIT;
    char back[64];
    make_dir();
    path = path_of("copy");
    write_file(path, text, TEXT_LEN);
    CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_COPY, &obj));
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL));
    CHECK_EQ(v.readonly, 0);
    CHECK(memcmp(v.buf, text, TEXT_LEN) == 0);
    memcpy(v.buf, "copy", 4);
    /* Other views of the same object share the private copy ... */
    CHECK_OK(xbuf_get_buffer(obj, &w, XBUF_CONTIG_RO));
    CHECK(memcmp(w.buf, "copy456789", 10) == 0);
    CHECK_OK(xbuf_release(&w));
    /* ... but other mappings and the file do not see it, even after flush and close. */
    CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_READ, &reader));
    CHECK_OK(xbuf_get_buffer(reader, &w, XBUF_SIMPLE));
    CHECK(memcmp(w.buf, text, TEXT_LEN) == 0);
    CHECK_OK(xbuf_release(&w));
    CHECK_OK(xbuf_decref(reader));
    CHECK_OK(xbuf_mmap_flush(obj));
    CHECK_EQ(read_file(path, back, sizeof back), TEXT_LEN);
    CHECK(memcmp(back, text, TEXT_LEN) == 0);
    CHECK_ERR(xbuf_mmap_resize(obj, 100), XBUF_ERR_READONLY, "copy-on-write");
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_mmap_close(obj));
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(read_file(path, back, sizeof back), TEXT_LEN);
    CHECK(memcmp(back, text, TEXT_LEN) == 0);
    CHECK_EQ(file_size(path), TEXT_LEN);
    CHECK_EQ(unlink(path), 0);
}

/* ---- Resize and close ------------------------------------------------------------------------ */

static void test_resize(void) {
    const char *path;
    xbuf_object *obj = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    char back[128];
    static const char zeros[64];
    make_dir();
    path = path_of("resize");
    write_file(path, text, TEXT_LEN);
    CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_WRITE, &obj));

    /* Refused while a view lives. */
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_SIMPLE));
    CHECK_ERR(xbuf_mmap_resize(obj, 100), XBUF_ERR_BUSY, "'mmap' has 1 export (0 of them locks)");
    CHECK_EQ(file_size(path), TEXT_LEN);
    CHECK(memcmp(v.buf, text, TEXT_LEN) == 0); /* still mapped where it was */
    CHECK_OK(xbuf_release(&v));
    /* Refused while locked, allowed after. */
    CHECK_OK(xbuf_lock(obj));
    CHECK_EQ(xbuf_exports(obj), 1);
    CHECK_ERR(xbuf_mmap_resize(obj, 100), XBUF_ERR_BUSY, "1 export (1 of them lock)");
    CHECK_ERR(xbuf_mmap_close(obj), XBUF_ERR_BUSY, "1 export (1 of them lock)");
    CHECK_OK(xbuf_mmap_flush(obj)); /* flushing does not change the mapping */
    CHECK_OK(xbuf_unlock(obj));
    CHECK_EQ(xbuf_exports(obj), 0);

    /* Grow: the old bytes stay, the new ones are zero, in the view and in the file. */
    CHECK_OK(xbuf_mmap_resize(obj, 100));
    CHECK_EQ(file_size(path), 100);
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_FULL));
    CHECK_EQ(v.len, 100);
    CHECK_EQ(v.shape[0], 100);
    CHECK(memcmp(v.buf, text, TEXT_LEN) == 0);
    CHECK(memcmp((char *)v.buf + TEXT_LEN, zeros, 100 - TEXT_LEN) == 0);
    memcpy((char *)v.buf + 98, "!?", 2);
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_mmap_flush(obj));
    CHECK_EQ(read_file(path, back, sizeof back), 100);
    CHECK(memcmp(back, text, TEXT_LEN) == 0);
    CHECK(memcmp(back + TEXT_LEN, zeros, 98 - TEXT_LEN) == 0);
    CHECK(memcmp(back + 98, "!?", 2) == 0);

    /* Shrink: the file is cut, the view shows what is left. */
    CHECK_OK(xbuf_mmap_resize(obj, 10));
    CHECK_EQ(file_size(path), 10);
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_CONTIG_RO));
    CHECK_EQ(v.len, 10);
    CHECK(memcmp(v.buf, "0123456789", 10) == 0);
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(read_file(path, back, sizeof back), 10);
    CHECK(memcmp(back, "0123456789", 10) == 0);
    /* Grow again: what was cut off does not come back. */
    CHECK_OK(xbuf_mmap_resize(obj, 20));
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_CONTIG_RO));
    CHECK(memcmp(v.buf, "0123456789\0\0\0\0\0\0\0\0\0\0", 20) == 0);
    CHECK_OK(xbuf_release(&v));

    /* Exclusive access held by someone else: resize, close, flush and get are all refused. */
    CHECK_OK(xbuf_exclusive_begin(obj));
    CHECK_ERR(xbuf_mmap_resize(obj, 30), XBUF_ERR_BUSY, "already being changed");
    CHECK_ERR(xbuf_mmap_close(obj), XBUF_ERR_BUSY, "already being changed");
    CHECK_ERR(xbuf_mmap_flush(obj), XBUF_ERR_BUSY, "exclusive access is held");
    CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_SIMPLE), XBUF_ERR_BUSY, "exclusive access is held");
    CHECK_OK(xbuf_exclusive_end(obj));
    CHECK_EQ(file_size(path), 20);

    /* Sizes beyond what a view can describe. */
    CHECK_ERR(xbuf_mmap_resize(obj, (size_t)PTRDIFF_MAX + 1), XBUF_ERR_OVERFLOW, "exceeds");
    CHECK_ERR(xbuf_mmap_resize(obj, SIZE_MAX), XBUF_ERR_OVERFLOW, "exceeds");
    CHECK_EQ(file_size(path), 20);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_EQ(xbuf_refcount(obj), 1);
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(unlink(path), 0);
}

static void test_close(void) {
    const char *path;
    xbuf_object *obj = NULL, *s = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    int mode;
    make_dir();
    path = path_of("close");
    write_file(path, text, TEXT_LEN);
    for (mode = XBUF_MMAP_READ; mode <= XBUF_MMAP_COPY; mode++) {
        CHECK_OK(xbuf_mmap_open(path, mode, &obj));
        CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_SIMPLE));
        CHECK_ERR(xbuf_mmap_close(obj), XBUF_ERR_BUSY, "'mmap' has 1 export (0 of them locks)");
        CHECK(memcmp(v.buf, text, TEXT_LEN) == 0);
        CHECK_OK(xbuf_release(&v));
        CHECK_OK(xbuf_lock(obj));
        CHECK_ERR(xbuf_mmap_close(obj), XBUF_ERR_BUSY, "1 of them lock");
        CHECK_OK(xbuf_unlock(obj));
        CHECK_OK(xbuf_mmap_close(obj));
        /* Closed: every request fails, naming the file; the object stays valid until the
         * last reference goes. */
        CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_SIMPLE), XBUF_ERR_RELEASED, "was closed");
        CHECK(strstr(xbuf_last_error_message(), path) != NULL);
        CHECK(v.releaser == NULL);
        CHECK_ERR(xbuf_get_buffer(obj, &v, XBUF_FULL_RO), XBUF_ERR_RELEASED, "was closed");
        CHECK_ERR(xbuf_mmap_flush(obj), XBUF_ERR_RELEASED, "was closed");
        CHECK_ERR(xbuf_slice_new(obj, 0, 1, &s), XBUF_ERR_RELEASED, "cannot slice 'mmap'");
        CHECK(s == NULL);
        CHECK_ERR(xbuf_mmap_close(obj), XBUF_ERR_RELEASED, "was already closed");
        if (mode == XBUF_MMAP_WRITE)
            CHECK_ERR(xbuf_mmap_resize(obj, 4), XBUF_ERR_RELEASED, "was closed");
        else
            CHECK_ERR(xbuf_mmap_resize(obj, 4), XBUF_ERR_READONLY, "only a read-write mapping");
        CHECK_EQ(xbuf_exports(obj), 0);
        CHECK_EQ(xbuf_refcount(obj), 1);
        CHECK_STR(xbuf_object_type_name(obj), "mmap");
        CHECK_OK(xbuf_decref(obj));
    }
    /* A closed read-write mapping left the file as it was. */
    CHECK_EQ(file_size(path), TEXT_LEN);
    CHECK_EQ(unlink(path), 0);
}

/* ---- Opening: errors --------------------------------------------------------------------------- */

static void test_open_errors(void) {
    const char *missing, *path, *sub;
    xbuf_object *obj = (xbuf_object *)(void *)&have_dir; /* must be reset to NULL */
    make_dir();
    missing = path_of("does-not-exist");
    CHECK_ERR(xbuf_mmap_open(missing, XBUF_MMAP_READ, &obj), XBUF_ERR_IO, "cannot open");
    CHECK(strstr(xbuf_last_error_message(), missing) != NULL);
    CHECK(obj == NULL);
    CHECK_ERR(xbuf_mmap_open(missing, XBUF_MMAP_WRITE, &obj), XBUF_ERR_IO, missing);
    CHECK_ERR(xbuf_mmap_open(missing, XBUF_MMAP_COPY, &obj), XBUF_ERR_IO, missing);
    CHECK_ERR(xbuf_mmap_open("", XBUF_MMAP_READ, &obj), XBUF_ERR_IO, "cannot open ''");

    /* A directory is not a file to map, in any mode. */
    sub = path_of("a-directory");
    CHECK_EQ(mkdir(sub, 0700), 0);
    CHECK_ERR(xbuf_mmap_open(sub, XBUF_MMAP_READ, &obj), XBUF_ERR_IO, sub);
    CHECK_ERR(xbuf_mmap_open(sub, XBUF_MMAP_WRITE, &obj), XBUF_ERR_IO, sub);
    CHECK_ERR(xbuf_mmap_open(sub, XBUF_MMAP_COPY, &obj), XBUF_ERR_IO, sub);
    CHECK_ERR(xbuf_mmap_open(dir, XBUF_MMAP_READ, &obj), XBUF_ERR_IO, "not a regular file");
    CHECK(obj == NULL);
    /* A path through a regular file. */
    path = path_of("plain");
    write_file(path, text, TEXT_LEN);
    {
        char through[160];
        snprintf(through, sizeof through, "%s/inside", path);
        CHECK_ERR(xbuf_mmap_open(through, XBUF_MMAP_READ, &obj), XBUF_ERR_IO, through);
    }

    /* A file this process may not read (root may read anything, so only when not root). */
    CHECK_EQ(chmod(path, 0), 0);
    if (geteuid() != 0) {
        CHECK_ERR(xbuf_mmap_open(path, XBUF_MMAP_READ, &obj), XBUF_ERR_IO, path);
        CHECK(strstr(xbuf_last_error_message(), "ermission denied") != NULL);
        CHECK(obj == NULL);
        CHECK_EQ(chmod(path, 0400), 0);
        /* Readable but not writable: READ and COPY work, WRITE is refused. */
        CHECK_ERR(xbuf_mmap_open(path, XBUF_MMAP_WRITE, &obj), XBUF_ERR_IO, path);
        CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_COPY, &obj));
        CHECK_OK(xbuf_decref(obj));
    } else {
        printf("note: running as root, the unreadable-file checks are skipped\n");
    }
    CHECK_EQ(chmod(path, 0600), 0);

    /* Bad modes. */
    CHECK_ERR(xbuf_mmap_open(path, 3, &obj), XBUF_ERR_INVALID_ARGUMENT, "mmap mode 3 is not");
    CHECK_ERR(xbuf_mmap_open(path, -1, &obj), XBUF_ERR_INVALID_ARGUMENT, "mmap mode -1");
    CHECK(obj == NULL);
    /* NULL arguments. */
    CHECK_ERR(xbuf_mmap_open(NULL, XBUF_MMAP_READ, &obj), XBUF_ERR_NULL_ARGUMENT, "'path'");
    CHECK(obj == NULL);
    CHECK_ERR(xbuf_mmap_open(path, XBUF_MMAP_READ, NULL), XBUF_ERR_NULL_ARGUMENT, "'out'");
    CHECK_ERR(xbuf_mmap_resize(NULL, 4), XBUF_ERR_NULL_ARGUMENT, "xbuf_mmap_resize: argument 'obj' is NULL");
    CHECK_ERR(xbuf_mmap_flush(NULL), XBUF_ERR_NULL_ARGUMENT, "xbuf_mmap_flush: argument 'obj' is NULL");
    CHECK_ERR(xbuf_mmap_close(NULL), XBUF_ERR_NULL_ARGUMENT, "xbuf_mmap_close: argument 'obj' is NULL");
    CHECK_EQ(unlink(path), 0);
    CHECK_EQ(rmdir(sub), 0);
}

/* ---- A resize that fails changes nothing --------------------------------------------------------- */

#define BIG_LEN ((size_t)64 << 20)
#define SHRUNK_LEN ((size_t)32 << 20)
#define GROWN_LEN ((size_t)128 << 20)
static const size_t marks[] = {0, SHRUNK_LEN, SHRUNK_LEN + 4096, BIG_LEN - TEXT_LEN};

/* The process's current address-space size in bytes, or 0. */
static size_t vm_size(void) {
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return 0;
    if (fscanf(f, "%lu", &pages) != 1) pages = 0;
    fclose(f);
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* Checks that the file and the object's mapping are still BIG_LEN bytes with every mark. */
static void check_unchanged(const char *path, xbuf_object *obj) {
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    char back[TEXT_LEN];
    size_t i;
    int fd;
    CHECK_EQ(file_size(path), BIG_LEN);
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_SIMPLE));
    CHECK_EQ(v.len, BIG_LEN);
    for (i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        CHECK_EQ(pread(fd, back, TEXT_LEN, (off_t)marks[i]), TEXT_LEN);
        CHECK(memcmp(back, text, TEXT_LEN) == 0);
        if (v.buf != NULL && (size_t)v.len == BIG_LEN) CHECK(memcmp((char *)v.buf + marks[i], text, TEXT_LEN) == 0);
    }
    CHECK_OK(xbuf_release(&v));
    if (fd >= 0) close(fd);
}

/* The child: maps the file, forbids any new mapping of SHRUNK_LEN bytes with RLIMIT_AS, and
 * resizes. Returns its number of failed checks. */
static int failed_resize_child(const char *path) {
    xbuf_object *obj = NULL;
    struct rlimit lim;
    size_t vm;
    int rc;
    CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_WRITE, &obj));
    if (obj == NULL) return xt_failures;
    check_unchanged(path, obj);
    vm = vm_size();
    CHECK(vm > 0);
    lim.rlim_cur = lim.rlim_max = (rlim_t)(vm + ((size_t)16 << 20));
    CHECK_EQ(setrlimit(RLIMIT_AS, &lim), 0);
    /* A shrink must map the new size before it cuts the file: refused, it changes nothing. */
    rc = xbuf_mmap_resize(obj, SHRUNK_LEN);
    CHECK_EQ(rc, XBUF_ERR_IO);
    if (rc == XBUF_ERR_IO) CHECK(strstr(xbuf_last_error_message(), "cannot map") != NULL);
    check_unchanged(path, obj);
    /* So does a refused grow. */
    CHECK_EQ(xbuf_mmap_resize(obj, GROWN_LEN), XBUF_ERR_IO);
    check_unchanged(path, obj);
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
    return xt_failures;
}

static void test_failed_resize_changes_nothing(void) {
    const char *path;
    size_t i;
    int fd, status = 0;
    pid_t pid;
    make_dir();
    path = path_of("failed-resize");
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    if (fd < 0) return;
    CHECK_EQ(ftruncate(fd, (off_t)BIG_LEN), 0);
    for (i = 0; i < sizeof marks / sizeof marks[0]; i++) CHECK_EQ(pwrite(fd, text, TEXT_LEN, (off_t)marks[i]), TEXT_LEN);
    CHECK_EQ(close(fd), 0);
    fflush(NULL);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(failed_resize_child(path) == 0 ? 0 : 1);
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ(unlink(path), 0);
}

/* ---- Only regular files are opened ------------------------------------------------------------- */

/* The child: every mode refuses the FIFO at once (a regression would block in open(2) until
 * the alarm kills the child). */
static int fifo_child(const char *fifo) {
    xbuf_object *obj = NULL;
    int mode;
    alarm(30);
    for (mode = XBUF_MMAP_READ; mode <= XBUF_MMAP_COPY; mode++) {
        CHECK_ERR(xbuf_mmap_open(fifo, mode, &obj), XBUF_ERR_IO, "not a regular file");
        CHECK(strstr(xbuf_last_error_message(), fifo) != NULL);
        CHECK(obj == NULL);
    }
    return xt_failures;
}

static void test_only_regular_files(void) {
    const char *fifo;
    const char *devices[] = {"/dev/null", "/dev/zero"};
    xbuf_object *obj = NULL;
    int status = 0, mode;
    size_t i;
    pid_t pid;
    make_dir();
    fifo = path_of("fifo");
    CHECK_EQ(mkfifo(fifo, 0600), 0);
    fflush(NULL);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(fifo_child(fifo) == 0 ? 0 : 1);
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (WIFSIGNALED(status)) printf("the child opening a FIFO was killed by signal %d\n", WTERMSIG(status));
    CHECK_EQ(unlink(fifo), 0);
    /* Device nodes are refused too, in every mode. */
    for (i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        if (access(devices[i], R_OK) != 0) continue;
        for (mode = XBUF_MMAP_READ; mode <= XBUF_MMAP_COPY; mode++) {
            CHECK_ERR(xbuf_mmap_open(devices[i], mode, &obj), XBUF_ERR_IO, "not a regular file");
            CHECK(obj == NULL);
        }
    }
}

static void test_other_objects_refused(void) {
    xbuf_object *obj = NULL;
    CHECK_OK(xbuf_bytearray_new("abc", 3, &obj));
    CHECK_ERR(xbuf_mmap_resize(obj, 1), XBUF_ERR_INVALID_ARGUMENT, "object is a 'bytearray', not a 'mmap'");
    CHECK_ERR(xbuf_mmap_flush(obj), XBUF_ERR_INVALID_ARGUMENT, "not a 'mmap'");
    CHECK_ERR(xbuf_mmap_close(obj), XBUF_ERR_INVALID_ARGUMENT, "not a 'mmap'");
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_decref(obj));
}

static void test_raw_byte_path(void) {
    /* File names are raw bytes, not necessarily UTF-8. */
    char name[16];
    const char *path;
    xbuf_object *obj = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    make_dir();
    snprintf(name, sizeof name, "raw-%c%c", (char)0xff, (char)0xfe);
    path = path_of(name);
    write_file(path, "raw", 3);
    CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_READ, &obj));
    CHECK_OK(xbuf_get_buffer(obj, &v, XBUF_SIMPLE));
    CHECK_EQ(v.len, 3);
    CHECK(memcmp(v.buf, "raw", 3) == 0);
    CHECK_OK(xbuf_release(&v));
    CHECK_OK(xbuf_decref(obj));
    CHECK_EQ(unlink(path), 0);
}

static void test_slice_of_mmap(void) {
    /* A slice locks the mapping: close and resize are refused until the slice goes. */
    const char *path;
    xbuf_object *obj = NULL, *s = NULL;
    xbuf_bufferinfo v = XBUF_BUFFERINFO_INIT;
    make_dir();
    path = path_of("sliced");
    write_file(path, text, TEXT_LEN);
    CHECK_OK(xbuf_mmap_open(path, XBUF_MMAP_WRITE, &obj));
    CHECK_OK(xbuf_slice_new(obj, 10, 5, &s));
    CHECK_EQ(xbuf_exports(obj), 2); /* the slice's lock and the view it holds */
    CHECK_ERR(xbuf_mmap_resize(obj, 4), XBUF_ERR_BUSY, "2 exports (1 of them lock)");
    CHECK_ERR(xbuf_mmap_close(obj), XBUF_ERR_BUSY, "2 exports (1 of them lock)");
    CHECK_OK(xbuf_get_buffer(s, &v, XBUF_CONTIG));
    CHECK(v.releaser == obj);
    CHECK(memcmp(v.buf, "abcde", 5) == 0);
    memcpy(v.buf, "ABCDE", 5);
    CHECK_OK(xbuf_decref(s)); /* the view keeps the mapping, not the slice */
    CHECK_EQ(xbuf_exports(obj), 1);
    CHECK_ERR(xbuf_mmap_close(obj), XBUF_ERR_BUSY, "1 export (0 of them locks)");
    CHECK_OK(xbuf_release(&v));
    CHECK_EQ(xbuf_exports(obj), 0);
    CHECK_OK(xbuf_mmap_resize(obj, 15));
    CHECK_OK(xbuf_mmap_close(obj));
    CHECK_OK(xbuf_decref(obj));
    {
        char back[64];
        CHECK_EQ(read_file(path, back, sizeof back), 15);
        CHECK(memcmp(back, "0123456789ABCDE", 15) == 0);
    }
    CHECK_EQ(unlink(path), 0);
}

static void test_cleanup(void) {
    /* Every test removed its files; the directory must now be empty. */
    if (have_dir) CHECK_EQ(rmdir(dir), 0);
}

XBUF_TEST_MAIN(XT_CASE(test_read_mode), XT_CASE(test_empty_file), XT_CASE(test_write_mode_reaches_the_file),
               XT_CASE(test_copy_mode_leaves_the_file), XT_CASE(test_resize), XT_CASE(test_close),
               XT_CASE(test_open_errors), XT_CASE(test_other_objects_refused), XT_CASE(test_raw_byte_path),
               XT_CASE(test_slice_of_mmap), XT_CASE(test_failed_resize_changes_nothing),
               XT_CASE(test_only_regular_files), XT_CASE(test_cleanup))
