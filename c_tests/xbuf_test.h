/*
 * A tiny test harness for the C tests: each test_*.c file is one executable registered with
 * CTest. CHECK_* macros print the failing expression with file and line and count failures;
 * XBUF_TEST_MAIN runs the listed test functions and exits non-zero if any check failed.
 */
#ifndef XBUF_TEST_H
#define XBUF_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xbuf.h"
#include "xbuf_describe.h"

static int xt_failures = 0;
static int xt_checks = 0;

/* Checks may run on several threads at once (the thread tests), so the counts are atomic. */
#define XT_COUNT(counter) __atomic_fetch_add(&(counter), 1, __ATOMIC_RELAXED)

#define XT_FAIL(...)                                                                  \
    do {                                                                              \
        fprintf(stderr, "%s:%d: check failed: ", __FILE__, __LINE__);                 \
        fprintf(stderr, __VA_ARGS__);                                                 \
        fprintf(stderr, "\n");                                                        \
        XT_COUNT(xt_failures);                                                        \
    } while (0)

/* A boolean condition. */
#define CHECK(cond)                                                                   \
    do {                                                                              \
        XT_COUNT(xt_checks);                                                          \
        if (!(cond)) XT_FAIL("%s", #cond);                                            \
    } while (0)

/* Two integers (compared as long long) must be equal. */
#define CHECK_EQ(a, b)                                                                \
    do {                                                                              \
        long long xt_a = (long long)(a), xt_b = (long long)(b);                       \
        XT_COUNT(xt_checks);                                                          \
        if (xt_a != xt_b) XT_FAIL("%s == %s (%lld != %lld)", #a, #b, xt_a, xt_b);     \
    } while (0)

/* Two C strings must be equal (NULL only equals NULL). */
#define CHECK_STR(a, b)                                                               \
    do {                                                                              \
        const char *xt_a = (a), *xt_b = (b);                                          \
        XT_COUNT(xt_checks);                                                          \
        if (!((xt_a == NULL && xt_b == NULL) ||                                       \
              (xt_a != NULL && xt_b != NULL && strcmp(xt_a, xt_b) == 0)))             \
            XT_FAIL("%s == %s (\"%s\" != \"%s\")", #a, #b, xt_a ? xt_a : "(null)",     \
                    xt_b ? xt_b : "(null)");                                          \
    } while (0)

/* A call must return XBUF_OK; on failure the library's message is printed. */
#define CHECK_OK(call)                                                                \
    do {                                                                              \
        int xt_rc = (call);                                                           \
        XT_COUNT(xt_checks);                                                          \
        if (xt_rc != XBUF_OK)                                                         \
            XT_FAIL("%s returned %s: %s", #call, xbuf_status_str(xt_rc),              \
                    xbuf_last_error_message());                                       \
    } while (0)

/* A call must fail with `status` and leave a message containing `needle` (may be ""). */
#define CHECK_ERR(call, status, needle)                                               \
    do {                                                                              \
        int xt_rc = (call);                                                           \
        XT_COUNT(xt_checks);                                                          \
        if (xt_rc != (status))                                                        \
            XT_FAIL("%s returned %s, expected %s (message: %s)", #call,               \
                    xbuf_status_str(xt_rc), xbuf_status_str(status),                  \
                    xbuf_last_error_message());                                       \
        else if (strstr(xbuf_last_error_message(), (needle)) == NULL)                 \
            XT_FAIL("%s: message \"%s\" lacks \"%s\"", #call, xbuf_last_error_message(), \
                    (needle));                                                        \
    } while (0)

typedef void (*xt_fn)(void);
typedef struct {
    const char *name;
    xt_fn fn;
} xt_case;

#define XT_CASE(f) {#f, f}

/* Runs every case; prints one line per case and a closing summary line. */
static int xt_run(const xt_case *cases, size_t n) {
    size_t passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        int before = xt_failures;
        cases[i].fn();
        if (xt_failures == before) {
            passed++;
            printf("ok   %s\n", cases[i].name);
        } else {
            failed++;
            printf("FAIL %s\n", cases[i].name);
        }
    }
    printf("checks: %d\n", xt_checks);
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

#define XBUF_TEST_MAIN(...)                                                           \
    int main(void) {                                                                  \
        static const xt_case xt_cases[] = {__VA_ARGS__};                              \
        return xt_run(xt_cases, sizeof xt_cases / sizeof xt_cases[0]);                \
    }


/* ---- a view struct of `size` bytes with guard bytes on both sides (structsize tests) ------------ */

#define GUARD 64
#define GUARD_BYTE 0xA5

typedef struct {
    unsigned char mem[GUARD + 512 + GUARD];
    size_t size;
} guarded;

/* Fills the guards and `size` bytes of `fill`, sets structsize, returns the struct. mem starts
 * the struct (8-byte aligned) and GUARD is a multiple of 8: the view is aligned. */
static inline xbuf_bufferinfo *guarded_init(guarded *g, size_t size, unsigned char fill) {
    memset(g->mem, GUARD_BYTE, sizeof g->mem);
    memset(g->mem + GUARD, fill, size);
    g->size = size;
    ((xbuf_bufferinfo *)(void *)(g->mem + GUARD))->structsize = size;
    return (xbuf_bufferinfo *)(void *)(g->mem + GUARD);
}

/* Number of guard bytes (before the struct, and after its structsize) that changed. */
static inline int guard_damage(const guarded *g) {
    int bad = 0;
    size_t i;
    for (i = 0; i < GUARD; i++) bad += g->mem[i] != GUARD_BYTE;
    for (i = GUARD + g->size; i < sizeof g->mem; i++) bad += g->mem[i] != GUARD_BYTE;
    return bad;
}

#endif /* XBUF_TEST_H */
