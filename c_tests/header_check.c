/*
 * Compiles xbuf.h alone (it is the first include) in the language mode CMake selects: C99,
 * C11, C++11 or C++17 (header_check.cpp includes this file), with -Wall -Wextra -Wpedantic
 * -Werror. At run time it checks that the header's version macros equal the library's
 * version, and that the published struct layout is what the header says.
 */
#include "xbuf.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* A compile-time assertion usable in C99 and C++11 alike. */
#define XBUF_STATIC_CHECK(name, cond) typedef char xbuf_static_check_##name[(cond) ? 1 : -1]

#if UINTPTR_MAX == 0xffffffffffffffffu
XBUF_STATIC_CHECK(structsize_at_0, offsetof(xbuf_bufferinfo, structsize) == 0);
XBUF_STATIC_CHECK(buf_at_8, offsetof(xbuf_bufferinfo, buf) == 8);
XBUF_STATIC_CHECK(releaser_at_16, offsetof(xbuf_bufferinfo, releaser) == 16);
XBUF_STATIC_CHECK(len_at_24, offsetof(xbuf_bufferinfo, len) == 24);
XBUF_STATIC_CHECK(itemsize_at_32, offsetof(xbuf_bufferinfo, itemsize) == 32);
XBUF_STATIC_CHECK(readonly_at_40, offsetof(xbuf_bufferinfo, readonly) == 40);
XBUF_STATIC_CHECK(ndim_at_44, offsetof(xbuf_bufferinfo, ndim) == 44);
XBUF_STATIC_CHECK(format_at_48, offsetof(xbuf_bufferinfo, format) == 48);
XBUF_STATIC_CHECK(shape_at_56, offsetof(xbuf_bufferinfo, shape) == 56);
XBUF_STATIC_CHECK(strides_at_64, offsetof(xbuf_bufferinfo, strides) == 64);
XBUF_STATIC_CHECK(suboffsets_at_72, offsetof(xbuf_bufferinfo, suboffsets) == 72);
XBUF_STATIC_CHECK(internal_at_80, offsetof(xbuf_bufferinfo, internal) == 80);
XBUF_STATIC_CHECK(private_at_88, offsetof(xbuf_bufferinfo, _private) == 88);
XBUF_STATIC_CHECK(min_size_104, XBUF_BUFFERINFO_SIZE_MIN == 104);
XBUF_STATIC_CHECK(bufferinfo_size_176, sizeof(xbuf_bufferinfo) == 176);
XBUF_STATIC_CHECK(nodevice_size_168, XBUF_BUFFERINFO_SIZE_NODEVICE == 168);
XBUF_STATIC_CHECK(device_type_at_168, offsetof(xbuf_bufferinfo, device_type) == 168);
XBUF_STATIC_CHECK(device_id_at_172, offsetof(xbuf_bufferinfo, device_id) == 172);
XBUF_STATIC_CHECK(type_name_at_8, offsetof(xbuf_type, name) == 8);
XBUF_STATIC_CHECK(type_getbuffer_at_16, offsetof(xbuf_type, getbuffer) == 16);
XBUF_STATIC_CHECK(type_releasebuffer_at_24, offsetof(xbuf_type, releasebuffer) == 24);
XBUF_STATIC_CHECK(type_lockbuffer_at_32, offsetof(xbuf_type, lockbuffer) == 32);
XBUF_STATIC_CHECK(type_dealloc_at_40, offsetof(xbuf_type, dealloc) == 40);
XBUF_STATIC_CHECK(type_size_48, sizeof(xbuf_type) == 48);
XBUF_STATIC_CHECK(field_info_name_at_8, offsetof(xbuf_format_field_info, name) == 8);
XBUF_STATIC_CHECK(field_info_offset_at_16, offsetof(xbuf_format_field_info, offset) == 16);
XBUF_STATIC_CHECK(field_info_stride_at_24, offsetof(xbuf_format_field_info, stride) == 24);
XBUF_STATIC_CHECK(field_info_format_at_32, offsetof(xbuf_format_field_info, format) == 32);
XBUF_STATIC_CHECK(field_info_ndim_at_40, offsetof(xbuf_format_field_info, ndim) == 40);
XBUF_STATIC_CHECK(field_info_shape_at_48, offsetof(xbuf_format_field_info, shape) == 48);
XBUF_STATIC_CHECK(field_info_size_56, sizeof(xbuf_format_field_info) == 56);
XBUF_STATIC_CHECK(leaf_info_offset_at_8, offsetof(xbuf_format_leaf_info, offset) == 8);
XBUF_STATIC_CHECK(leaf_info_count_at_16, offsetof(xbuf_format_leaf_info, count) == 16);
XBUF_STATIC_CHECK(leaf_info_size_at_24, offsetof(xbuf_format_leaf_info, size) == 24);
XBUF_STATIC_CHECK(leaf_info_kind_at_32, offsetof(xbuf_format_leaf_info, kind) == 32);
XBUF_STATIC_CHECK(leaf_info_code_at_36, offsetof(xbuf_format_leaf_info, code) == 36);
XBUF_STATIC_CHECK(leaf_info_byteorder_at_37, offsetof(xbuf_format_leaf_info, byteorder) == 37);
XBUF_STATIC_CHECK(leaf_info_size_40, sizeof(xbuf_format_leaf_info) == 40);
XBUF_STATIC_CHECK(value_kind_at_8, offsetof(xbuf_value, kind) == 8);
XBUF_STATIC_CHECK(value_width_at_12, offsetof(xbuf_value, width) == 12);
XBUF_STATIC_CHECK(value_i_at_16, offsetof(xbuf_value, i) == 16);
XBUF_STATIC_CHECK(value_u_at_24, offsetof(xbuf_value, u) == 24);
XBUF_STATIC_CHECK(value_real_at_32, offsetof(xbuf_value, real) == 32);
XBUF_STATIC_CHECK(value_imag_at_40, offsetof(xbuf_value, imag) == 40);
XBUF_STATIC_CHECK(value_data_at_48, offsetof(xbuf_value, data) == 48);
XBUF_STATIC_CHECK(value_len_at_56, offsetof(xbuf_value, len) == 56);
XBUF_STATIC_CHECK(value_byteorder_at_64, offsetof(xbuf_value, byteorder) == 64);
XBUF_STATIC_CHECK(value_size_72, sizeof(xbuf_value) == 72);
XBUF_STATIC_CHECK(range_stop_at_8, offsetof(xbuf_range, stop) == 8);
XBUF_STATIC_CHECK(range_step_at_16, offsetof(xbuf_range, step) == 16);
XBUF_STATIC_CHECK(range_size_24, sizeof(xbuf_range) == 24);
#endif

/* PEP 3118's values, so code ported from CPython reads the same. */
XBUF_STATIC_CHECK(flag_values,
                  XBUF_SIMPLE == 0 && XBUF_WRITABLE == 0x1 && XBUF_FORMAT == 0x4 &&
                      XBUF_ND == 0x8 && XBUF_STRIDES == 0x18 && XBUF_C_CONTIGUOUS == 0x38 &&
                      XBUF_F_CONTIGUOUS == 0x58 && XBUF_ANY_CONTIGUOUS == 0x98 &&
                      XBUF_INDIRECT == 0x118 && XBUF_CONTIG == 0x9 && XBUF_CONTIG_RO == 0x8 &&
                      XBUF_STRIDED == 0x19 && XBUF_STRIDED_RO == 0x18 && XBUF_RECORDS == 0x1d &&
                      XBUF_RECORDS_RO == 0x1c && XBUF_FULL == 0x11d && XBUF_FULL_RO == 0x11c);

int main(void) {
    int failures = 0;
    xbuf_bufferinfo view = XBUF_BUFFERINFO_INIT;
    char expect[32];

    if (xbuf_version() != (uint32_t)XBUF_VERSION) {
        fprintf(stderr, "xbuf_version() = %u but the header says %d\n", xbuf_version(), XBUF_VERSION);
        failures++;
    }
    if (XBUF_VERSION != XBUF_MAKE_VERSION(XBUF_VERSION_MAJOR, XBUF_VERSION_MINOR, XBUF_VERSION_PATCH)) {
        failures++;
    }
    snprintf(expect, sizeof expect, "%d.%d.%d", XBUF_VERSION_MAJOR, XBUF_VERSION_MINOR, XBUF_VERSION_PATCH);
    if (strcmp(xbuf_version_string(), expect) != 0 || strcmp(XBUF_VERSION_STRING, expect) != 0) {
        fprintf(stderr, "xbuf_version_string() = %s, XBUF_VERSION_STRING = %s, macros say %s\n",
                xbuf_version_string(), XBUF_VERSION_STRING, expect);
        failures++;
    }
    if (view.structsize != sizeof(xbuf_bufferinfo) || view.releaser != NULL || view.buf != NULL) {
        fprintf(stderr, "XBUF_BUFFERINFO_INIT does not give an empty full-size view\n");
        failures++;
    }
    if (xbuf_release(&view) != XBUF_OK) {
        fprintf(stderr, "releasing an empty view failed: %s\n", xbuf_last_error_message());
        failures++;
    }
    printf("header check (%s): %s\n",
#ifdef __cplusplus
           "C++",
#else
           "C",
#endif
           failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
