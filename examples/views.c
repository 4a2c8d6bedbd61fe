/*
 * xbuf_view, the memoryview of C: a 3x4 matrix of int32 sliced in both dimensions, transposed,
 * printed as JSON, cast to bytes, copied into Fortran order and compared by value, and finally
 * released while a sub-view of it lives on.
 *
 * Build and run:  cmake --preset default && cmake --build --preset default && build/default/views
 */
#include <stdio.h>
#include <stdlib.h>

#include "xbuf.h"

/* Stops with the library's message if a call that should succeed fails. */
#define MUST(call)                                                                       \
    do {                                                                                 \
        int rc_ = (call);                                                                \
        if (rc_ != XBUF_OK) {                                                            \
            fprintf(stderr, "%s failed: %s: %s\n", #call, xbuf_status_str(rc_),          \
                    xbuf_last_error_message());                                          \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

/* Prints a view's items as JSON (tolist), with a label. */
static void show(const char *label, xbuf_object *view) {
    size_t needed = 0;
    char *text;
    MUST(xbuf_view_tolist(view, NULL, 0, &needed));
    text = (char *)malloc(needed);
    MUST(xbuf_view_tolist(view, text, needed, NULL));
    printf("%-34s %s\n", label, text);
    free(text);
}

int main(void) {
    int cells[12], i;
    ptrdiff_t shape[2] = {3, 4};
    xbuf_object *matrix, *view, *part, *t, *bytes, *fortran, *fview;
    xbuf_range ranges[2] = {{XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, 2}, {1, 3, XBUF_SLICE_OMIT}};
    xbuf_bufferinfo dst = XBUF_BUFFERINFO_INIT, src = XBUF_BUFFERINFO_INIT;
    char hex[2 * sizeof cells + 1];
    int equal = 0;

    for (i = 0; i < 12; i++) cells[i] = i;
    /* An ndarray owns a copy of the data; a view holds one export of it. */
    MUST(xbuf_ndarray_new(cells, sizeof cells, "i", 2, shape, NULL, 0, 0, &matrix));
    MUST(xbuf_view_new(matrix, XBUF_FULL_RO, &view));
    show("the matrix", view);

    /* m[::2, 1:3]: memoryview slices only one dimension; xbuf slices them all. */
    MUST(xbuf_view_slice(view, ranges, 2, &part));
    show("m[::2, 1:3]", part);
    MUST(xbuf_view_transpose(part, &t));
    show("its transpose", t);

    /* Any C-contiguous view can be read as another format; here as bytes. */
    MUST(xbuf_view_cast(view, "B", 0, NULL, &bytes));
    MUST(xbuf_view_hex(bytes, hex, sizeof hex, NULL));
    printf("%-34s %.32s...\n", "the first 16 bytes, as hex", hex);

    /* Copy into a Fortran-ordered array: a different layout, the same values. */
    MUST(xbuf_ndarray_zeros("i", 2, shape, 'F', 0, &fortran));
    MUST(xbuf_get_buffer(fortran, &dst, XBUF_FULL));
    MUST(xbuf_get_buffer(view, &src, XBUF_FULL_RO));
    MUST(xbuf_copy(&dst, &src));
    printf("%-34s strides (%td, %td) vs (%td, %td)\n", "Fortran copy", dst.strides[0], dst.strides[1],
           src.strides[0], src.strides[1]);
    MUST(xbuf_release(&src));
    MUST(xbuf_release(&dst));
    MUST(xbuf_view_new(fortran, XBUF_FULL_RO, &fview));
    MUST(xbuf_view_equal(view, fview, &equal));
    printf("%-34s %s\n", "equal by value to the original?", equal ? "yes" : "no");

    /* Releasing the view hands its export back; the sub-views hold their own. */
    MUST(xbuf_view_release(view));
    printf("%-34s %s\n", "after the view's release", xbuf_view_tobytes(view, 'C', NULL, 0, NULL) ==
                                                              XBUF_ERR_RELEASED ? "its operations fail" : "?");
    show("the slice still reads", part);

    xbuf_decref(fview);
    xbuf_decref(fortran);
    xbuf_decref(bytes);
    xbuf_decref(t);
    xbuf_decref(part);
    xbuf_decref(view);
    printf("%-34s %td\n", "exports left on the matrix", xbuf_exports(matrix));
    xbuf_decref(matrix);
    printf("views tour complete\n");
    return 0;
}
