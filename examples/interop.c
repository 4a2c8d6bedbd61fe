/*
 * A NumPy-style tensor in, a slice, an Arrow array out: a batch of four 3x2 float32 images
 * arrives as a DLPack tensor (as NumPy's __dlpack__ hands one over), the middle two images are
 * taken and each transposed (all without copying), handed to Arrow as an
 * arrow.fixed_shape_tensor whose permutation records the transposition, read back through the
 * Arrow structs, then imported again and compared with the slice. A slice with gaps is refused
 * (xbuf never copies silently); copying it first makes it exportable. The producer's deleter
 * runs once, when the last view of its memory is gone.
 *
 * Build and run:  cmake --preset default && cmake --build --preset default && build/default/interop
 * A program of your own includes DLPack's dlpack.h and the Arrow C Data Interface header of its
 * Arrow library (nanoarrow.h, arrow/c/abi.h); this one uses the copies the tests use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow_c_data.h"
#include "dlpack.h"
#include "xbuf.h"

#define MUST(call)                                                                       \
    do {                                                                                 \
        int rc_ = (call);                                                                \
        if (rc_ != XBUF_OK) {                                                            \
            fprintf(stderr, "%s failed: %s: %s\n", #call, xbuf_status_str(rc_),          \
                    xbuf_last_error_message());                                          \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

/* The value of `key` in an Arrow metadata blob (printed with its length). */
static void print_metadata(const char *meta, const char *key) {
    int32_t pairs, i, n;
    const char *p = meta;
    if (meta == NULL) return;
    memcpy(&pairs, p, 4);
    p += 4;
    for (i = 0; i < pairs; i++) {
        int match;
        memcpy(&n, p, 4);
        match = (size_t)n == strlen(key) && memcmp(p + 4, key, (size_t)n) == 0;
        p += 4 + n;
        memcpy(&n, p, 4);
        if (match) printf("  %s = %.*s\n", key, (int)n, p + 4);
        p += 4 + n;
    }
}

static float pixels[24];
static int64_t batch_shape[3] = {4, 3, 2};
static int producer_deletes = 0;

static void producer_deleter(DLManagedTensorVersioned *self) {
    (void)self;
    producer_deletes++;
}

int main(void) {
    /* The producer's tensor: C order (strides NULL), read-only to the consumer or not. */
    DLManagedTensorVersioned tensor = {{1, 0}, NULL, producer_deleter, 0,
                                       {pixels, {kDLCPU, 0}, 3, {kDLFloat, 32, 1}, batch_shape,
                                        NULL, 0}};
    int axes[3] = {0, 2, 1}, i, equal = 0;
    xbuf_range middle[1] = {{1, 3, 1}}, gaps[2] = {{XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, 1}, {0, 3, 2}};
    xbuf_object *batch, *view, *two, *images, *gappy, *back, *back_view;
    struct ArrowSchema schema;
    struct ArrowArray array;
    const float *values;
    char *copy;
    size_t needed = 0;

    for (i = 0; i < 24; i++) pixels[i] = (float)i;
    /* The tensor in: the object owns it now; xbuf_view slices and transposes it without
     * copying. */
    MUST(xbuf_dlpack_import(&tensor, &batch));
    MUST(xbuf_view_new(batch, XBUF_FULL_RO, &view));
    MUST(xbuf_view_slice(view, middle, 1, &two));
    MUST(xbuf_view_permute(two, axes, 3, &images));
    MUST(xbuf_decref(view));
    MUST(xbuf_decref(batch)); /* the views keep the memory */

    /* Arrow out: two tensors of logical shape (2, 3), stored row-major as (3, 2). */
    MUST(xbuf_arrow_export(images, &schema, &array));
    printf("schema %s with child %s, %lld tensors of %lld items\n", schema.format,
           schema.children[0]->format, (long long)array.length,
           (long long)array.children[0]->length / array.length);
    print_metadata(schema.metadata, "ARROW:extension:name");
    print_metadata(schema.metadata, "ARROW:extension:metadata");
    printf("  producer's deleter calls while the array lives: %d\n", producer_deletes);
    values = (const float *)array.children[0]->buffers[1];
    printf("  first item %g, last item %g\n", values[0], values[array.children[0]->length - 1]);

    /* And back: the array moves into a new object with the permuted strides. */
    MUST(xbuf_arrow_import(&schema, &array, &back));
    schema.release(&schema);
    MUST(xbuf_view_new(back, XBUF_FULL_RO, &back_view));
    MUST(xbuf_view_equal(back_view, images, &equal));
    printf("imported back, equal to the slice: %s\n", equal ? "yes" : "no");
    MUST(xbuf_decref(back_view));
    MUST(xbuf_decref(back)); /* runs the array's release, which hands the export back */

    /* Every second row: not contiguous in any order, so Arrow cannot describe it. */
    MUST(xbuf_view_slice(two, gaps, 2, &gappy));
    printf("every second row: %s\n", xbuf_status_str(xbuf_arrow_export(gappy, &schema, &array)));
    /* Copy it (C order) into a new tensor, which exports. */
    MUST(xbuf_view_tobytes(gappy, 'C', NULL, 0, &needed));
    copy = (char *)malloc(needed);
    MUST(xbuf_view_tobytes(gappy, 'C', copy, needed, NULL));
    {
        ptrdiff_t copied_shape[3] = {2, 2, 2};
        xbuf_object *copied;
        MUST(xbuf_ndarray_new(copy, needed, "f", 3, copied_shape, NULL, 0, 0, &copied));
        MUST(xbuf_arrow_export(copied, &schema, &array));
        printf("its copy: %s, %lld tensors\n", schema.format, (long long)array.length);
        array.release(&array);
        schema.release(&schema);
        MUST(xbuf_decref(copied));
    }
    free(copy);
    MUST(xbuf_decref(gappy));
    MUST(xbuf_decref(images));
    MUST(xbuf_decref(two));
    printf("producer's deleter calls: %d\n", producer_deletes);
    printf("interop tour complete\n");
    return equal && producer_deletes == 1 ? 0 : 1;
}
