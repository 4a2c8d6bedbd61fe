/*
 * Item formats through the C API: sizes, parsed formats and their fields and leaves,
 * canonical text, equivalence, decoding every type at unaligned addresses in both byte
 * orders, JSON rendering, value equality; every error path and NULL for every pointer.
 */
#include <math.h>
#include <stddef.h>

#include "xbuf_test.h"

static ptrdiff_t size_of_format(const char *fmt) {
    ptrdiff_t n = -7;
    int rc = xbuf_size_from_format(fmt, &n);
    return rc == XBUF_OK ? n : -(ptrdiff_t)rc;
}

static xbuf_format *parse(const char *fmt) {
    xbuf_format *f = NULL;
    CHECK_OK(xbuf_format_parse(fmt, &f));
    return f;
}

/* C's own layout of the same structs, as the native mode must reproduce it. */
struct s_bi { signed char b; int i; };
struct s_cd { char c; double d; short h; };
struct s_nested { char c; struct s_bi inner[2]; long l; };
struct align_nested { char c; struct s_nested x; };

static void test_size_from_format(void) {
    ptrdiff_t n = 0;
    CHECK_EQ(size_of_format("B"), 1);
    CHECK_EQ(size_of_format("@bi"), sizeof(struct s_bi));
    CHECK_EQ(size_of_format("T{cdh}"), sizeof(struct s_cd));
    CHECK_EQ(size_of_format("T{c (2)T{bi} l}"), sizeof(struct s_nested));
    CHECK_EQ(size_of_format("=bi"), 5);
    CHECK_EQ(size_of_format("<2k"), -XBUF_ERR_FORMAT);
    CHECK_EQ(size_of_format("l"), sizeof(long));
    CHECK_EQ(size_of_format("g"), sizeof(long double));
    CHECK_EQ(size_of_format("P"), sizeof(void *));
    CHECK_EQ(size_of_format("n"), sizeof(ptrdiff_t));

    n = 42;
    CHECK_ERR(xbuf_size_from_format("<2k", &n), XBUF_ERR_FORMAT,
              "xbuf_size_from_format: unexpected 'k' at offset 2 in format '<2k'");
    CHECK_EQ(n, 42);
    CHECK_ERR(xbuf_size_from_format("99999999999999999999999b", &n), XBUF_ERR_OVERFLOW,
              "repeat count at offset 0");
    CHECK_ERR(xbuf_size_from_format("9223372036854775807q", &n), XBUF_ERR_OVERFLOW,
              "the item size");
    CHECK_ERR(xbuf_size_from_format("T{i", &n), XBUF_ERR_FORMAT, "without its closing '}'");
    CHECK_ERR(xbuf_size_from_format("<g", &n), XBUF_ERR_FORMAT, "no standard size");
    CHECK_ERR(xbuf_size_from_format(NULL, &n), XBUF_ERR_NULL_ARGUMENT, "'fmt'");
    CHECK_ERR(xbuf_size_from_format("i", NULL), XBUF_ERR_NULL_ARGUMENT, "'itemsize'");
    CHECK_EQ(n, 42);
}

static void test_hostile(void) {
    static char deep[4096];
    ptrdiff_t n;
    size_t i, k = 0;
    for (i = 0; i < 200; i++) { deep[k++] = 'T'; deep[k++] = '{'; }
    deep[k++] = 'i';
    for (i = 0; i < 200; i++) deep[k++] = '}';
    deep[k] = 0;
    CHECK_ERR(xbuf_size_from_format(deep, &n), XBUF_ERR_FORMAT, "nesting deeper than 64");
    CHECK_ERR(xbuf_size_from_format("(70000)T{bi}", &n), XBUF_ERR_FORMAT, "separate runs");
    CHECK_OK(xbuf_size_from_format("(1000000000,1000000000)0s", &n));
    CHECK_EQ(n, 0);
    {
        /* It parses (its size is 0), but would render 10^18 empty strings: refused. */
        xbuf_format *f = parse("(1000000000,1000000000)0s");
        char buf[16];
        size_t needed;
        CHECK_ERR(xbuf_format_to_json(f, NULL, buf, sizeof buf, &needed), XBUF_ERR_UNSUPPORTED,
                  "values and arrays from 0 bytes");
        xbuf_format_free(f);
    }
    CHECK_ERR(xbuf_size_from_format("(4294967296,4294967296,4294967296)b", &n),
              XBUF_ERR_OVERFLOW, "sub-array shape");
    CHECK_OK(xbuf_size_from_format("(1000000000)T{ii}", &n));
    CHECK_EQ(n, 8000000000LL);
}

static void test_parse_and_fields(void) {
    xbuf_format *f = parse("T{b:a: (2,3)<i:b: T{?:c: d:d:}:s: 10s:t:}");
    xbuf_format *inner, *again;
    xbuf_format_field_info info;
    CHECK_EQ(xbuf_format_itemsize(f), 1 + 24 + 9 + 10);
    CHECK_EQ(xbuf_format_alignment(f), 1);
    CHECK_EQ(xbuf_format_byteorder(f), '*');
    /* One unnamed T{...}: its fields are the item's. */
    CHECK_EQ(xbuf_format_field_count(f), 4);

    memset(&info, 0xab, sizeof info);
    info.structsize = sizeof info;
    CHECK_OK(xbuf_format_field(f, 0, &info));
    CHECK_STR(info.name, "a");
    CHECK_EQ(info.offset, 0);
    CHECK_EQ(info.ndim, 0);
    CHECK(info.shape == NULL);
    CHECK_STR(info.format, "@b");
    CHECK_EQ(info.stride, 1);
    CHECK_OK(xbuf_format_field(f, 1, &info));
    CHECK_STR(info.name, "b");
    CHECK_EQ(info.offset, 1);
    CHECK_EQ(info.stride, 4);
    CHECK_STR(info.format, "<i");
    CHECK_EQ(info.ndim, 2);
    CHECK_EQ(info.shape[0], 2);
    CHECK_EQ(info.shape[1], 3);
    CHECK_OK(xbuf_format_field(f, 3, &info));
    CHECK_STR(info.format, "<10s");
    CHECK_EQ(info.ndim, 0);
    CHECK_EQ(info.offset, 34);
    CHECK_OK(xbuf_format_field(f, 2, &info));
    CHECK_STR(info.name, "s");
    CHECK_EQ(info.offset, 25);
    CHECK_STR(info.format, "<T{?:c: d:d:}");
    /* A struct field's text parses to that struct. */
    inner = parse(info.format);
    CHECK_EQ(xbuf_format_field_count(inner), 2);
    CHECK_OK(xbuf_format_field(inner, 1, &info));
    CHECK_STR(info.name, "d");
    CHECK_EQ(info.offset, 1);

    /* The cache hands back the same handle, with its own reference. */
    again = parse("T{b:a: (2,3)<i:b: T{?:c: d:d:}:s: 10s:t:}");
    CHECK(again == f);
    xbuf_format_free(again);

    /* Native layout as the C compiler makes it. */
    {
        xbuf_format *n = parse("T{c:c: (2)T{b:b: i:i:}:inner: l:l:}");
        CHECK_EQ(xbuf_format_itemsize(n), sizeof(struct s_nested));
        CHECK_EQ(xbuf_format_alignment(n), offsetof(struct align_nested, x));
        CHECK_EQ(xbuf_format_byteorder(n), '@');
        CHECK_EQ(xbuf_format_field_count(n), 3);
        CHECK_OK(xbuf_format_field(n, 1, &info));
        CHECK_EQ(info.offset, offsetof(struct s_nested, inner));
        CHECK_EQ(info.stride, sizeof(struct s_bi));
        CHECK_EQ(info.ndim, 1);
        CHECK_OK(xbuf_format_field(n, 2, &info));
        CHECK_EQ(info.offset, offsetof(struct s_nested, l));
        xbuf_format_free(n);
    }
    {
        xbuf_format *m = parse("<i>i");
        CHECK_EQ(xbuf_format_byteorder(m), '*');
        CHECK_EQ(xbuf_format_field_count(m), 2);
        xbuf_format_free(m);
    }

    /* Errors. */
    CHECK_ERR(xbuf_format_field(f, 4, &info), XBUF_ERR_OUT_OF_BOUNDS, "field index 4 >= the field count 4");
    info.structsize = sizeof info - 1;
    CHECK_ERR(xbuf_format_field(inner, 0, &info), XBUF_ERR_STRUCT_TOO_OLD, "xbuf_format_field_info.structsize");
    info.structsize = 1 << 20;
    CHECK_ERR(xbuf_format_field(inner, 0, &info), XBUF_ERR_INVALID_ARGUMENT, "plausible");
    CHECK_ERR(xbuf_format_field(NULL, 0, &info), XBUF_ERR_NULL_ARGUMENT, "'fmt'");
    CHECK_ERR(xbuf_format_field(inner, 0, NULL), XBUF_ERR_NULL_ARGUMENT, "'info'");
    {
        /* A newer, larger struct gets its unknown tail zeroed. */
        struct { xbuf_format_field_info info; unsigned char tail[16]; } big;
        size_t i;
        memset(&big, 0xcd, sizeof big);
        big.info.structsize = sizeof big;
        CHECK_OK(xbuf_format_field(inner, 0, &big.info));
        CHECK_STR(big.info.name, "c");
        for (i = 0; i < sizeof big.tail; i++) CHECK_EQ(big.tail[i], 0);
        CHECK_EQ(big.info.structsize, sizeof big);
    }
    {
        xbuf_format *out = (xbuf_format *)&info;
        CHECK_ERR(xbuf_format_parse("<2k", &out), XBUF_ERR_FORMAT, "unexpected 'k' at offset 2");
        CHECK(out == NULL);
        CHECK_ERR(xbuf_format_parse(NULL, &out), XBUF_ERR_NULL_ARGUMENT, "'fmt'");
        CHECK_ERR(xbuf_format_parse("i", NULL), XBUF_ERR_NULL_ARGUMENT, "'out'");
    }
    CHECK_EQ(xbuf_format_itemsize(NULL), -1);
    CHECK(strstr(xbuf_last_error_message(), "xbuf_format_itemsize") != NULL);
    CHECK_EQ(xbuf_format_alignment(NULL), -1);
    CHECK_EQ(xbuf_format_byteorder(NULL), 0);
    CHECK_EQ(xbuf_format_field_count(NULL), -1);
    CHECK_EQ(xbuf_format_leaf_count(NULL), -1);
    {
        /* Something that is not a format handle. */
        uint64_t junk[8] = {0};
        CHECK_EQ(xbuf_format_itemsize((const xbuf_format *)(void *)junk), -1);
        CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_INVALID_ARGUMENT);
    }
    {
        /* A heap block smaller than any format: only its first 8 bytes may be read to refuse
         * it (valgrind and AddressSanitizer see any read past its 16 bytes). */
        void *small = calloc(1, 16);
        CHECK(small != NULL);
        CHECK_EQ(xbuf_format_itemsize((const xbuf_format *)small), -1);
        CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_INVALID_ARGUMENT);
        CHECK_EQ(xbuf_format_field_count((const xbuf_format *)small), -1);
        CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_INVALID_ARGUMENT);
        xbuf_format_free((xbuf_format *)small);
        CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_INVALID_ARGUMENT);
        free(small);
    }
    xbuf_format_free(NULL);
    xbuf_format_free(inner);
    xbuf_format_free(f);
}

static void canonical_of(const char *fmt, char *buf, size_t cap) {
    xbuf_format *f = parse(fmt);
    size_t needed = 0;
    CHECK_OK(xbuf_format_canonical(f, buf, cap, &needed));
    CHECK_EQ(needed, strlen(buf) + 1);
    xbuf_format_free(f);
}

static void test_canonical_and_equivalence(void) {
    static const char *same[][2] = {
        {"<l", "<i"}, {"ii", "<2i"}, {"T{i:a: i:b:}", "<2i"}, {"(2,3)d", "<6d"},
        {"@bi", "<b3xi"}, {"T{ib}", "<ib3x"}, {">h!h", ">2h"}, {"q", "n"},
        {"g", "^g"}, {"&i", "^&<i"}, {"10s10s", "<(2)10s"},
    };
    static const char *differ[][2] = {
        {"i", "f"}, {"<i", ">i"}, {"?", "B"}, {"c", "B"}, {"4s", "4c"}, {"i", "ix"},
        {"&i", "&f"}, {"Zf", "2f"},
    };
    char buf[128], buf2[128];
    size_t i, needed = 0;
    for (i = 0; i < sizeof same / sizeof same[0]; i++) {
        xbuf_format *a = parse(same[i][0]), *b = parse(same[i][1]);
        CHECK_EQ(xbuf_format_equivalent(a, b), 1);
        CHECK_EQ(xbuf_format_equivalent(b, a), 1);
        canonical_of(same[i][0], buf, sizeof buf);
        canonical_of(same[i][1], buf2, sizeof buf2);
        CHECK_STR(buf, buf2);
        /* The canonical text round-trips. */
        canonical_of(buf, buf2, sizeof buf2);
        CHECK_STR(buf, buf2);
        xbuf_format_free(a);
        xbuf_format_free(b);
    }
    canonical_of("@bi", buf, sizeof buf);
    CHECK_STR(buf, "<b3xi");
    for (i = 0; i < sizeof differ / sizeof differ[0]; i++) {
        xbuf_format *a = parse(differ[i][0]), *b = parse(differ[i][1]);
        CHECK_EQ(xbuf_format_equivalent(a, b), 0);
        CHECK_EQ(xbuf_format_equivalent(b, a), 0);
        xbuf_format_free(a);
        xbuf_format_free(b);
    }
    {
        xbuf_format *f = parse("@bi");
        /* Size query, too small, exact. */
        CHECK_OK(xbuf_format_canonical(f, NULL, 0, &needed));
        CHECK_EQ(needed, 6);
        strcpy(buf, "junk");
        CHECK_ERR(xbuf_format_canonical(f, buf, 5, &needed), XBUF_ERR_BUFFER_TOO_SMALL,
                  "needs 6 bytes");
        CHECK_EQ(needed, 6);
        CHECK_STR(buf, "");
        CHECK_OK(xbuf_format_canonical(f, buf, 6, NULL));
        CHECK_STR(buf, "<b3xi");
        CHECK_ERR(xbuf_format_canonical(f, NULL, 0, NULL), XBUF_ERR_NULL_ARGUMENT, "both NULL");
        CHECK_ERR(xbuf_format_canonical(f, NULL, 4, &needed), XBUF_ERR_NULL_ARGUMENT, "'buf'");
        CHECK_ERR(xbuf_format_canonical(NULL, buf, sizeof buf, &needed), XBUF_ERR_NULL_ARGUMENT, "'fmt'");
        CHECK_EQ(xbuf_format_equivalent(f, NULL), 0);
        CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_NULL_ARGUMENT);
        CHECK_EQ(xbuf_format_equivalent(NULL, f), 0);
        xbuf_format_free(f);
    }
}

static void put(unsigned char *dst, const void *src, size_t n, int swap) {
    const unsigned char *s = (const unsigned char *)src;
    size_t i;
    for (i = 0; i < n; i++) dst[i] = swap ? s[n - 1 - i] : s[i];
}

static int little_endian(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static void test_decode(void) {
    int order;
    for (order = 0; order < 2; order++) {
        const char *pre = order == 0 ? "<" : ">";
        int swap = (order == 0) != little_endian();
        size_t shift;
        for (shift = 0; shift < 8; shift++) {
            unsigned char mem[64 + 8];
            unsigned char *item = mem + shift; /* deliberately unaligned */
            char text[64];
            xbuf_format *f;
            xbuf_value v;
            xbuf_format_leaf_info leaf;
            int16_t h = -12345;
            uint32_t I = 4000000000u;
            int64_t q = -5000000000LL;
            uint64_t Q = 18446744073709551615ULL;
            float fl = 1.5f;
            double d = -0.1;
            uint16_t half = 0x3c00; /* 1.0 */
            uint16_t u2 = 0x20ac;
            uint32_t w4 = 0x1f600;

            memset(mem, 0x55, sizeof mem);
            snprintf(text, sizeof text, "%sb h I q Q f d e ? c 2s 2u w 12t Zf", pre);
            f = parse(text);
            CHECK_EQ(xbuf_format_itemsize(f), 1 + 2 + 4 + 8 + 8 + 4 + 8 + 2 + 1 + 1 + 2 + 4 + 4 + 2 + 8);
            item[0] = 0xfe;
            put(item + 1, &h, 2, swap);
            put(item + 3, &I, 4, swap);
            put(item + 7, &q, 8, swap);
            put(item + 15, &Q, 8, swap);
            put(item + 23, &fl, 4, swap);
            put(item + 27, &d, 8, swap);
            put(item + 35, &half, 2, swap);
            item[37] = 2;
            item[38] = 0xe9;
            item[39] = 'o';
            item[40] = 'k';
            put(item + 41, &u2, 2, swap);
            put(item + 43, &u2, 2, swap);
            put(item + 45, &w4, 4, swap);
            {
                uint16_t bits = 0xfabc;
                put(item + 49, &bits, 2, swap);
            }
            {
                float re = 2.0f, im = -3.0f;
                put(item + 51, &re, 4, swap);
                put(item + 55, &im, 4, swap);
            }
            CHECK_EQ(xbuf_format_leaf_count(f), 15);

            v.structsize = sizeof v;
            leaf.structsize = sizeof leaf;
            CHECK_OK(xbuf_format_decode(f, 0, 0, item, &v));
            CHECK_EQ(v.kind, XBUF_VALUE_INT);
            CHECK_EQ(v.i, -2);
            CHECK_OK(xbuf_format_decode(f, 1, 0, item, &v));
            CHECK_EQ(v.i, -12345);
            CHECK_OK(xbuf_format_leaf(f, 1, &leaf));
            CHECK_EQ(leaf.offset, 1);
            CHECK_EQ(leaf.size, 2);
            CHECK_EQ(leaf.count, 1);
            CHECK_EQ(leaf.code, 'h');
            CHECK_EQ(leaf.kind, XBUF_VALUE_INT);
            CHECK_EQ(leaf.byteorder, pre[0]);
            CHECK_OK(xbuf_format_decode(f, 2, 0, item, &v));
            CHECK_EQ(v.kind, XBUF_VALUE_UINT);
            CHECK(v.u == 4000000000u);
            CHECK_OK(xbuf_format_decode(f, 3, 0, item, &v));
            CHECK(v.i == -5000000000LL);
            CHECK_OK(xbuf_format_decode(f, 4, 0, item, &v));
            CHECK(v.u == 18446744073709551615ULL);
            CHECK_OK(xbuf_format_decode(f, 5, 0, item, &v));
            CHECK_EQ(v.kind, XBUF_VALUE_FLOAT);
            CHECK(v.real == 1.5);
            CHECK_OK(xbuf_format_decode(f, 6, 0, item, &v));
            CHECK(v.real == -0.1);
            CHECK_OK(xbuf_format_decode(f, 7, 0, item, &v));
            CHECK(v.real == 1.0);
            CHECK_OK(xbuf_format_decode(f, 8, 0, item, &v));
            CHECK_EQ(v.kind, XBUF_VALUE_BOOL);
            CHECK_EQ(v.u, 1);
            CHECK_OK(xbuf_format_decode(f, 9, 0, item, &v));
            CHECK_EQ(v.kind, XBUF_VALUE_CHAR);
            CHECK_EQ(v.u, 0xe9);
            CHECK_OK(xbuf_format_decode(f, 10, 0, item, &v));
            CHECK_EQ(v.kind, XBUF_VALUE_BYTES);
            CHECK_EQ(v.len, 2);
            CHECK(v.data == item + 39);
            CHECK_OK(xbuf_format_decode(f, 11, 0, item, &v));
            CHECK_EQ(v.kind, XBUF_VALUE_TEXT);
            CHECK_EQ(v.len, 2);
            CHECK_EQ(v.width, 2);
            CHECK_EQ(v.byteorder, pre[0]);
            CHECK_OK(xbuf_format_decode(f, 12, 0, item, &v));
            CHECK_EQ(v.width, 4);
            CHECK_EQ(v.len, 1);
            CHECK_OK(xbuf_format_decode(f, 13, 0, item, &v));
            CHECK_EQ(v.kind, XBUF_VALUE_BITS);
            CHECK_EQ(v.u, 0xabc);
            CHECK_OK(xbuf_format_decode(f, 14, 0, item, &v));
            CHECK_EQ(v.kind, XBUF_VALUE_COMPLEX);
            CHECK(v.real == 2.0 && v.imag == -3.0);
            CHECK_OK(xbuf_format_leaf(f, 14, &leaf));
            CHECK_EQ(leaf.code, 'Z');

            if (shift == 0) {
                char json[512];
                size_t needed;
                CHECK_OK(xbuf_format_to_json(f, item, json, sizeof json, &needed));
                CHECK_STR(json, "[-2, -12345, 4000000000, -5000000000, 18446744073709551615, 1.5, "
                                "-0.1, 1.0, true, \"\\u00e9\", \"ok\", \"\\u20ac\\u20ac\", "
                                "\"\\ud83d\\ude00\", 2748, [2.0, -3.0]]");
            }
            xbuf_format_free(f);
        }
    }
    {
        /* Native types, element indices, errors. */
        struct { long double g; void *p; ptrdiff_t n; int arr[3]; } nat;
        xbuf_format *f = parse("T{g P n 3i}"); /* T{} pads the end as C does */
        xbuf_value v;
        memset(&nat, 0, sizeof nat);
        nat.g = 0.1L;
        nat.p = &nat;
        nat.n = -77;
        nat.arr[2] = 99;
        CHECK_EQ(xbuf_format_itemsize(f), sizeof nat);
        v.structsize = sizeof v;
        CHECK_OK(xbuf_format_decode(f, 0, 0, &nat, &v));
        CHECK(v.real == (double)nat.g);
        CHECK_OK(xbuf_format_decode(f, 1, 0, &nat, &v));
        CHECK_EQ(v.kind, XBUF_VALUE_POINTER);
        CHECK(v.u == (uint64_t)(uintptr_t)&nat);
        CHECK_OK(xbuf_format_decode(f, 2, 0, &nat, &v));
        CHECK_EQ(v.i, -77);
        CHECK_OK(xbuf_format_decode(f, 3, 2, &nat, &v));
        CHECK_EQ(v.i, 99);
        CHECK_ERR(xbuf_format_decode(f, 3, 3, &nat, &v), XBUF_ERR_OUT_OF_BOUNDS, "element index 3 >= the leaf's count 3");
        CHECK_ERR(xbuf_format_decode(f, 4, 0, &nat, &v), XBUF_ERR_OUT_OF_BOUNDS, "leaf index 4 >= the leaf count 4");
        CHECK_ERR(xbuf_format_decode(f, 0, 0, NULL, &v), XBUF_ERR_NULL_ARGUMENT, "'item'");
        CHECK_ERR(xbuf_format_decode(f, 0, 0, &nat, NULL), XBUF_ERR_NULL_ARGUMENT, "'out'");
        CHECK_ERR(xbuf_format_decode(NULL, 0, 0, &nat, &v), XBUF_ERR_NULL_ARGUMENT, "'fmt'");
        v.structsize = 8;
        CHECK_ERR(xbuf_format_decode(f, 0, 0, &nat, &v), XBUF_ERR_STRUCT_TOO_OLD, "xbuf_value.structsize is 8");
        {
            xbuf_format_leaf_info leaf;
            leaf.structsize = sizeof leaf;
            CHECK_ERR(xbuf_format_leaf(f, 9, &leaf), XBUF_ERR_OUT_OF_BOUNDS, "leaf index 9");
            CHECK_ERR(xbuf_format_leaf(f, 0, NULL), XBUF_ERR_NULL_ARGUMENT, "'info'");
            CHECK_ERR(xbuf_format_leaf(NULL, 0, &leaf), XBUF_ERR_NULL_ARGUMENT, "'fmt'");
            leaf.structsize = 4;
            CHECK_ERR(xbuf_format_leaf(f, 0, &leaf), XBUF_ERR_STRUCT_TOO_OLD, "xbuf_format_leaf_info");
        }
        xbuf_format_free(f);
    }
}

static void json_of(const char *fmt, const void *item, const char *want) {
    xbuf_format *f = parse(fmt);
    char buf[256];
    size_t needed = 0;
    CHECK_OK(xbuf_format_to_json(f, item, buf, sizeof buf, &needed));
    CHECK_STR(buf, want);
    CHECK_EQ(needed, strlen(want) + 1);
    xbuf_format_free(f);
}

static void test_json(void) {
    double nan_ = NAN, inf = INFINITY, ninf = -INFINITY, nz = -0.0, big = 1e22, tiny = 1.5e-7;
    const unsigned char bytes[] = {'a', 0, 0xff, '"', '\\', '\n'};
    struct { signed char a; unsigned char pad[3]; int b; } named = {-1, {0, 0, 0}, 7};
    unsigned char two[2] = {1, 2};
    json_of("d", &nan_, "NaN");
    json_of("d", &inf, "Infinity");
    json_of("d", &ninf, "-Infinity");
    json_of("d", &nz, "-0.0");
    json_of("d", &big, "1e+22");
    json_of("d", &tiny, "1.5e-07");
    json_of("6s", bytes, "\"a\\u0000\\u00ff\\\"\\\\\\n\"");
    json_of("b:x: i:y:", &named, "{\"x\": -1, \"y\": 7}");
    json_of("T{b:x: 3x i:y:}", &named, "{\"x\": -1, \"y\": 7}");
    json_of("BB", two, "[1, 2]");
    json_of("(2)?", two, "[true, true]");
    json_of("2B", two, "[1, 2]");
    json_of("", NULL, "[]");
    {
        xbuf_format *f = parse("6s");
        char small[4];
        size_t needed = 0;
        CHECK_OK(xbuf_format_to_json(f, bytes, NULL, 0, &needed));
        CHECK_EQ(needed, strlen("\"a\\u0000\\u00ff\\\"\\\\\\n\"") + 1);
        CHECK_ERR(xbuf_format_to_json(f, bytes, small, sizeof small, &needed),
                  XBUF_ERR_BUFFER_TOO_SMALL, "but the buffer holds 4");
        CHECK_ERR(xbuf_format_to_json(f, NULL, small, sizeof small, &needed),
                  XBUF_ERR_NULL_ARGUMENT, "'item'");
        CHECK_ERR(xbuf_format_to_json(NULL, bytes, small, sizeof small, &needed),
                  XBUF_ERR_NULL_ARGUMENT, "'fmt'");
        CHECK_ERR(xbuf_format_to_json(f, bytes, NULL, 0, NULL), XBUF_ERR_NULL_ARGUMENT, "both NULL");
        xbuf_format_free(f);
    }
}

static void test_items_equal(void) {
    xbuf_format *a = parse("<ih"), *b = parse(">qd"), *c = parse("<i");
    xbuf_format *d = parse("d");
    unsigned char ia[6] = {7, 0, 0, 0, 0xfe, 0xff};     /* 7, -2 */
    unsigned char ib[16] = {0, 0, 0, 0, 0, 0, 0, 7,   /* 7 */
                            0xc0, 0, 0, 0, 0, 0, 0, 0}; /* -2.0 */
    double nan_ = NAN;
    CHECK_EQ(xbuf_format_items_equal(a, ia, b, ib), 1);
    ib[9] = 1;
    CHECK_EQ(xbuf_format_items_equal(a, ia, b, ib), 0);
    CHECK_EQ(xbuf_format_items_equal(a, ia, c, ia), 0);
    CHECK_EQ(xbuf_format_items_equal(d, &nan_, d, &nan_), 0);
    CHECK_EQ(xbuf_format_items_equal(NULL, ia, b, ib), 0);
    CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_NULL_ARGUMENT);
    CHECK_EQ(xbuf_format_items_equal(a, NULL, b, ib), 0);
    CHECK(strstr(xbuf_last_error_message(), "'item_a'") != NULL);
    xbuf_format_free(a);
    xbuf_format_free(b);
    xbuf_format_free(c);
    xbuf_format_free(d);
}

XBUF_TEST_MAIN(XT_CASE(test_size_from_format), XT_CASE(test_hostile),
               XT_CASE(test_parse_and_fields), XT_CASE(test_canonical_and_equivalence),
               XT_CASE(test_decode), XT_CASE(test_json), XT_CASE(test_items_equal))
