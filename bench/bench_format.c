/*
 * Format benchmark (not a test): medians, in nanoseconds per call, of
 *   1. a cached lookup: xbuf_size_from_format on a format string seen before (the path a
 *      view's format check takes);
 *   2. a fresh parse: xbuf_format_parse + xbuf_format_free of a 10-field T{} format never
 *      seen before (every text differs in one field name, so each call parses, lays out,
 *      flattens and inserts into the cache).
 * Build: cmake --build <dir> --target bench_format; run <dir>/bench_format.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

#define SAMPLES 201
#define CACHED_BATCH 2000
#define FRESH_BATCH 50

static const char *TEN_FIELDS =
    "T{b:a%07d: h:b: i:c: q:d: f:e: d:f: 10s:g: ?:h: (2,3)H:i: Zd:j:}";

int main(void) {
    static double samples[SAMPLES];
    char fmt[128];
    char **fresh;
    ptrdiff_t itemsize = 0;
    volatile ptrdiff_t sink = 0;
    int s, i, next = 0;

    /* 1. Cached lookup. */
    snprintf(fmt, sizeof fmt, TEN_FIELDS, 0);
    if (xbuf_size_from_format(fmt, &itemsize) != XBUF_OK) {
        fprintf(stderr, "%s\n", xbuf_last_error_message());
        return 1;
    }
    for (s = 0; s < SAMPLES; s++) {
        double t0 = wall_ns();
        for (i = 0; i < CACHED_BATCH; i++) {
            xbuf_size_from_format(fmt, &itemsize);
            sink += itemsize;
        }
        samples[s] = (wall_ns() - t0) / CACHED_BATCH;
    }
    printf("cached lookup (xbuf_size_from_format, %zu-byte text): median %.1f ns\n",
           strlen(fmt), median(samples, SAMPLES));

    /* 2. Fresh parse of 10-field T{} formats, each text new. */
    fresh = malloc(sizeof *fresh * SAMPLES * FRESH_BATCH);
    if (!fresh) return 1;
    for (i = 0; i < SAMPLES * FRESH_BATCH; i++) {
        fresh[i] = malloc(128);
        if (!fresh[i]) return 1;
        snprintf(fresh[i], 128, TEN_FIELDS, i + 1);
    }
    for (s = 0; s < SAMPLES; s++) {
        double t0 = wall_ns();
        for (i = 0; i < FRESH_BATCH; i++) {
            xbuf_format *f = NULL;
            if (xbuf_format_parse(fresh[next++], &f) != XBUF_OK) {
                fprintf(stderr, "%s\n", xbuf_last_error_message());
                return 1;
            }
            sink += xbuf_format_field_count(f);
            xbuf_format_free(f);
        }
        samples[s] = (wall_ns() - t0) / FRESH_BATCH;
    }
    printf("fresh parse (xbuf_format_parse + free, 10-field T{}): median %.1f ns\n",
           median(samples, SAMPLES));
    for (i = 0; i < SAMPLES * FRESH_BATCH; i++) free(fresh[i]);
    free(fresh);
    return sink == 0;
}
