/* A minimal program built against an installed xbuf: gets a view of a bytearray. */
#include <stdio.h>
#include <string.h>
#include <xbuf.h>

int main(void) {
    xbuf_object *obj = NULL;
    xbuf_bufferinfo view = XBUF_BUFFERINFO_INIT;
    if (xbuf_version() != XBUF_VERSION) {
        fprintf(stderr, "header version %d, library version %u\n", XBUF_VERSION, xbuf_version());
        return 1;
    }
    if (xbuf_bytearray_new("hello", 5, &obj) != XBUF_OK) return 1;
    if (xbuf_get_buffer(obj, &view, XBUF_SIMPLE) != XBUF_OK) return 1;
    int ok = view.len == 5 && memcmp(view.buf, "hello", 5) == 0 && xbuf_exports(obj) == 1;
    if (xbuf_release(&view) != XBUF_OK || xbuf_decref(obj) != XBUF_OK) return 1;
    printf("xbuf %s: %s\n", xbuf_version_string(), ok ? "ok" : "wrong view");
    return ok ? 0 : 1;
}
