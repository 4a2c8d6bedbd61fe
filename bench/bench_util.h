/*
 * What every benchmark program needs: clocks, the median of samples, and a check that stops
 * the program on a failed call (a benchmark measures only calls that succeed).
 */
#ifndef XBUF_BENCH_UTIL_H
#define XBUF_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "xbuf.h"

/* Wall-clock time in ns (CLOCK_MONOTONIC). */
static inline double wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The calling thread's CPU time in ns: other processes on a loaded machine do not count. */
static inline double cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of n samples (sorts them). */
static inline double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Stops the program with the library's message when a call failed. */
static inline void must(int rc, const char *what) {
    if (rc != XBUF_OK) {
        fprintf(stderr, "%s: %s: %s\n", what, xbuf_status_str(rc), xbuf_last_error_message());
        exit(1);
    }
}

#endif /* XBUF_BENCH_UTIL_H */
