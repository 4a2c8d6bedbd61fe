// Typed access: format_of<T>() checked against the library's own reading of each format (item
// size and alignment equal to sizeof and alignof), as_span, as_strided (negative and zero
// strides) and, where std::mdspan exists, as_mdspan with every layout. Every value read
// through an accessor is compared with the item the C API points at for the same indices.
#include <complex>
#include <cstdint>
#include <string>
#include <vector>

#include "xbuf_cpp_test.hpp"

#if defined(XBUF_TEST_EXPECT_MDSPAN) && !XBUF_HPP_MDSPAN
#error "this build must have std::mdspan (XBUF_HPP_MDSPAN)"
#endif
#if __cplusplus >= 202002L && defined(__cpp_lib_span)
static_assert(std::is_same<xbuf::span<int>, std::span<int>>::value, "C++20: xbuf::span is std::span");
#endif

namespace {

struct point {
    double x, y;
};

} // namespace

template <>
struct xbuf::format_traits<point> {
    static constexpr const char *value = "T{d:x:d:y:}";
};

namespace {

// format_of<T>() names the type, and the library agrees on its size and alignment.
template <class T>
void check_format(const char *expect) {
    const char *f = xbuf::format_of<T>();
    CHECK_EQ(std::string(f), expect);
    CHECK(std::string(xbuf::format_of<const volatile T>()) == f);
    std::ptrdiff_t size = 0;
    CHECK_EQ(xbuf_size_from_format(f, &size), XBUF_OK);
    CHECK_EQ(size, sizeof(T));
    xbuf_format *parsed = nullptr;
    CHECK_EQ(xbuf_format_parse(f, &parsed), XBUF_OK);
    CHECK_EQ(xbuf_format_alignment(parsed), alignof(T));
    xbuf_format_free(parsed);
}

void test_format_of() {
    check_format<bool>("?");
    check_format<char>("c");
    check_format<signed char>("b");
    check_format<unsigned char>("B");
    check_format<short>("h");
    check_format<unsigned short>("H");
    check_format<int>("i");
    check_format<unsigned int>("I");
    check_format<long>("l");
    check_format<unsigned long>("L");
    check_format<long long>("q");
    check_format<unsigned long long>("Q");
    check_format<float>("f");
    check_format<double>("d");
    check_format<long double>("g");
    check_format<char16_t>("u");
    check_format<char32_t>("w");
    check_format<wchar_t>(sizeof(wchar_t) == 2 ? "u" : "w");
    check_format<std::byte>("B");
    check_format<std::complex<float>>("Zf");
    check_format<std::complex<double>>("Zd");
    check_format<std::complex<long double>>("Zg");
    check_format<point>("T{d:x:d:y:}");
#if defined(__cpp_char8_t)
    check_format<char8_t>("c");
#endif
    // The fixed-width types are aliases of the above.
    CHECK_EQ(std::string(xbuf::format_of<std::int8_t>()), "b");
    CHECK_EQ(std::string(xbuf::format_of<std::uint16_t>()), "H");
    static_assert(xbuf::has_format_v<const int>, "cv-qualified types have formats");
    static_assert(!xbuf::has_format_v<int *>, "pointers have none");
    static_assert(!xbuf::has_format_v<std::string>, "class types need a specialization");
}

template <class T>
T item_at(const xbuf::buffer &b, std::initializer_list<std::ptrdiff_t> idx) {
    void *p = nullptr;
    std::vector<std::ptrdiff_t> v(idx);
    if (xbuf_get_pointer(b.get(), v.data(), &p) != XBUF_OK) return T();
    T x;
    std::memcpy(&x, p, sizeof x);
    return x;
}

void test_as_span() {
    std::vector<double> d{1.5, 2.5, 3.5, 4.5};
    xbuf::object obj = xbuf::ndarray(d.data(), d.size() * sizeof(double), "<d", {4});
    xbuf::buffer b(obj, XBUF_RECORDS);
    xbuf::span<double> s = b.as_span<double>();
    CHECK_EQ(s.size(), 4u);
    CHECK(s.data() == b.data());
    for (std::ptrdiff_t i = 0; i < 4; i++) CHECK_EQ(s[static_cast<std::size_t>(i)], item_at<double>(b, {i}));
    s[2] = -1; // writes reach the memory
    CHECK_EQ(item_at<double>(b, {2}), -1.0);
    double sum = 0;
    for (double x : b.as_span<const double>()) sum += x;
    CHECK_EQ(sum, 7.5);

    // The format must hold T: equivalent spellings pass, others fail.
    CHECK_THROWS(b.as_span<float>(), XBUF_ERR_FORMAT, "'<d' (8 bytes), not 'f' (4 bytes)");
    CHECK_THROWS(b.as_span<std::int64_t>(), XBUF_ERR_FORMAT, "not 'l'");
    xbuf::buffer q(xbuf::ndarray_zeros("<q", {3}));
    CHECK_EQ(q.as_span<const long>().size(), 3u);
    CHECK_EQ(q.as_span<const long long>().size(), 3u);
    CHECK_THROWS(q.as_span<const unsigned long>(), XBUF_ERR_FORMAT, "");
    xbuf::buffer big(xbuf::ndarray_zeros(">d", {3}));
    CHECK_THROWS(big.as_span<const double>(), XBUF_ERR_FORMAT, "'>d'");
    // A SIMPLE request is bytes.
    xbuf::buffer raw(obj, XBUF_SIMPLE);
    CHECK_EQ(raw.as_span<const unsigned char>().size(), 32u);
    CHECK_EQ(raw.as_span<const std::byte>().size(), 32u);
    CHECK_THROWS(raw.as_span<const double>(), XBUF_ERR_FORMAT, "'B'");
    // Without a format but strided, the bytes are not contiguous.
    xbuf::buffer raw_gap(xbuf::view(obj).slice({{xbuf::omit, xbuf::omit, 2}}), XBUF_STRIDES);
    CHECK(raw_gap.info().format == nullptr);
    CHECK_THROWS(raw_gap.as_span<const unsigned char>(), XBUF_ERR_NOT_CONTIGUOUS, "16 bytes apart");

    // Read-only memory needs a const T.
    xbuf::buffer ro(xbuf::ndarray(d.data(), 32, "d", {4}, {}, 0, XBUF_NDARRAY_READONLY));
    CHECK_EQ(ro.as_span<const double>()[3], 4.5);
    CHECK_THROWS(ro.as_span<double>(), XBUF_ERR_READONLY, "const");
    // One dimension, contiguous, direct, aligned.
    xbuf::buffer two(xbuf::ndarray_zeros("d", {2, 2}));
    CHECK_THROWS(two.as_span<const double>(), XBUF_ERR_INVALID_ARGUMENT, "2 dimensions, not 1");
    xbuf::view every_other = xbuf::view(obj).slice({{xbuf::omit, xbuf::omit, 2}});
    xbuf::buffer gap(every_other);
    CHECK_THROWS(gap.as_span<const double>(), XBUF_ERR_NOT_CONTIGUOUS, "16 bytes apart, not 8");
    unsigned char bytes[17] = {0};
    xbuf::buffer odd(xbuf::ndarray(bytes, 17, "d", {2}, {8}, 1));
    CHECK_THROWS(odd.as_span<const double>(), XBUF_ERR_UNSUPPORTED, "not aligned");
    xbuf::buffer pil(xbuf::ndarray(bytes, 6, "B", {2, 3}, {}, 0, XBUF_NDARRAY_PIL), XBUF_FULL_RO);
    CHECK_THROWS((pil.as_strided<const unsigned char, 2>()), XBUF_ERR_UNSUPPORTED, "suboffsets");
    xbuf::buffer empty;
    CHECK_THROWS(empty.as_span<const double>(), XBUF_ERR_RELEASED, "empty");
    // try_ form: out unchanged on failure.
    xbuf::span<const double> keep = ro.as_span<const double>();
    CHECK_STATUS(gap.try_as_span<const double>(keep), XBUF_ERR_NOT_CONTIGUOUS, "");
    CHECK(keep.data() == ro.data());
    // A user type through its format_traits specialization.
    std::vector<point> pts{{1, 2}, {3, 4}};
    xbuf::buffer pb(xbuf::ndarray(pts.data(), sizeof(point) * 2, "T{d:x:d:y:}", {2}));
    CHECK_EQ(pb.as_span<const point>()[1].y, 4.0);
    xbuf::buffer pb2(xbuf::ndarray(pts.data(), sizeof(point) * 2, "T{<d:a:<d:b:}", {2}));
    CHECK_EQ(pb2.as_span<const point>()[1].x, 3.0); // names do not matter, the layout does
    // An empty array: a span of no items.
    xbuf::buffer none(xbuf::ndarray_zeros("i", {0}));
    CHECK(none.as_span<const int>().empty());
}

// 3 x 4 int32, item (i, j) = 10 * i + j.
xbuf::object int_matrix() {
    std::vector<int> cells;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) cells.push_back(10 * i + j);
    return xbuf::ndarray(cells.data(), cells.size() * sizeof(int), "i", {3, 4});
}

// Every item of a 2-D strided accessor equals what the C API points at, and `expect(i, j)`.
template <class T, class F>
void check_all(const xbuf::buffer &b, const xbuf::strided<T, 2> &s, F expect) {
    CHECK_EQ(s.extent(0), b.shape()[0]);
    CHECK_EQ(s.extent(1), b.shape()[1]);
    for (std::ptrdiff_t i = 0; i < s.extent(0); i++)
        for (std::ptrdiff_t j = 0; j < s.extent(1); j++) {
            CHECK_EQ(s(i, j), item_at<int>(b, {i, j}));
            CHECK_EQ(s(i, j), expect(i, j));
        }
}

void test_as_strided() {
    xbuf::object obj = int_matrix();
    xbuf::view v(obj);
    // Negative strides in both dimensions: v[::-1, ::-2].
    xbuf::buffer neg(v.slice({{xbuf::omit, xbuf::omit, -1}, {xbuf::omit, xbuf::omit, -2}}));
    CHECK_EQ(neg.strides()[0], -16);
    CHECK_EQ(neg.strides()[1], -8);
    auto s = neg.as_strided<const int, 2>();
    CHECK_EQ(s.rank(), 2u);
    CHECK_EQ(s.size(), 6);
    CHECK_EQ(s.stride(1), -8);
    check_all(neg, s, [](std::ptrdiff_t i, std::ptrdiff_t j) { return 10 * (2 - i) + (3 - 2 * j); });
    CHECK(s.data() == neg.data());
    CHECK(s.find(2, 1) == &s(2, 1));
    CHECK(s.find(3, 0) == nullptr);
    CHECK(s.find(0, -1) == nullptr);
    CHECK_THROWS(s.at(0, 2), XBUF_ERR_OUT_OF_BOUNDS, "outside");
    CHECK_EQ(s.at(1, 1), 11);

    // Zero strides: a row broadcast three times, the column of one item broadcast four times.
    int row[4] = {7, 8, 9, 10};
    xbuf::buffer bc(xbuf::ndarray(row, sizeof row, "i", {3, 4}, {0, 4}));
    check_all(bc, bc.as_strided<const int, 2>(),
              [](std::ptrdiff_t, std::ptrdiff_t j) { return 7 + static_cast<int>(j); });
    xbuf::buffer bc2(xbuf::ndarray(row, sizeof row, "i", {2, 5}, {4, 0}, 4));
    check_all(bc2, bc2.as_strided<const int, 2>(),
              [](std::ptrdiff_t i, std::ptrdiff_t) { return 8 + static_cast<int>(i); });

    // Writes through a writable accessor reach the memory (seen through tobytes).
    xbuf::buffer w(v.transpose(), XBUF_RECORDS);
    auto ws = w.as_strided<int, 2>();
    ws(3, 2) = -5;
    std::vector<unsigned char> c = v.tobytes();
    int last;
    std::memcpy(&last, c.data() + 11 * sizeof(int), sizeof last);
    CHECK_EQ(last, -5);
    // operator[] for one dimension, a zero-dimensional accessor for one item.
    xbuf::buffer col(v.slice({xbuf::all, {1, 2}}).transpose().index({0}));
    auto cs = col.as_strided<const int, 1>();
    CHECK_EQ(cs[2], 21);
    CHECK_EQ(cs.extent(0), 3);
    xbuf::buffer one(v.index({2, 1}));
    auto os = one.as_strided<const int, 0>();
    CHECK_EQ(os(), 21);
    CHECK_EQ(os.size(), 1);

    // Refusals: the rank, the format, a stride that is not a multiple of the alignment.
    CHECK_THROWS((neg.as_strided<const int, 3>()), XBUF_ERR_INVALID_ARGUMENT, "2 dimensions, not 3");
    CHECK_THROWS((neg.as_strided<const float, 2>()), XBUF_ERR_FORMAT, "");
    xbuf::buffer ro(xbuf::ndarray(row, sizeof row, "i", {2, 2}, {}, 0, XBUF_NDARRAY_READONLY));
    CHECK_THROWS((ro.as_strided<int, 2>()), XBUF_ERR_READONLY, "read-only");
    CHECK_EQ((ro.as_strided<const int, 2>()(1, 0)), 9);
    unsigned char packed[16] = {0};
    xbuf::buffer pk(xbuf::ndarray(packed, 16, "i", {2}, {6}));
    CHECK_THROWS((pk.as_strided<const int, 1>()), XBUF_ERR_UNSUPPORTED, "stride 6 of dimension 0");
    xbuf::strided<const int, 1> kept = cs;
    CHECK_STATUS((pk.try_as_strided<const int, 1>(kept)), XBUF_ERR_UNSUPPORTED, "alignment");
    CHECK(kept.data() == cs.data());
    // A view without strides (ND only) is read as C-contiguous.
    xbuf::buffer nd(int_matrix(), XBUF_ND | XBUF_FORMAT);
    CHECK(nd.strides().empty());
    check_all(nd, nd.as_strided<const int, 2>(), [](std::ptrdiff_t i, std::ptrdiff_t j) {
        return 10 * static_cast<int>(i) + static_cast<int>(j);
    });
    // An accessor of nothing.
    xbuf::strided<double, 2> nothing;
    CHECK(nothing.empty());
    CHECK(nothing.find(0, 0) == nullptr);
}

#if XBUF_HPP_MDSPAN
void test_as_mdspan() {
    xbuf::object obj = int_matrix();
    xbuf::view v(obj);
    xbuf::buffer b(obj, XBUF_RECORDS);
    // layout_right on C-contiguous memory.
    auto m = b.as_mdspan<int, 2, std::layout_right>();
    static_assert(std::is_same<decltype(m)::layout_type, std::layout_right>::value);
    CHECK_EQ(m.extent(0), 3u);
    CHECK_EQ(m.extent(1), 4u);
    for (std::size_t i = 0; i < 3; i++)
        for (std::size_t j = 0; j < 4; j++) {
            const std::ptrdiff_t ii = static_cast<std::ptrdiff_t>(i), jj = static_cast<std::ptrdiff_t>(j);
            CHECK_EQ((m[i, j]), item_at<int>(b, {ii, jj}));
            CHECK_EQ((m[i, j]), static_cast<int>(10 * i + j));
        }
    m[2, 3] = 99;
    CHECK_EQ(item_at<int>(b, {2, 3}), 99);
    CHECK_THROWS((b.as_mdspan<int, 2, std::layout_left>()), XBUF_ERR_NOT_CONTIGUOUS, "layout_left");

    // layout_left on Fortran-contiguous memory (a transpose of C memory).
    xbuf::buffer t(v.transpose());
    auto ml = t.as_mdspan<const int, 2, std::layout_left>();
    CHECK_EQ(ml.extent(0), 4u);
    CHECK_EQ((ml[3, 2]), 99);
    CHECK_EQ((ml[1, 2]), 21);
    CHECK_THROWS((t.as_mdspan<const int, 2, std::layout_right>()), XBUF_ERR_NOT_CONTIGUOUS, "layout_right");

    // layout_stride: positive multiples of sizeof(T), in any order.
    xbuf::buffer sl(v.slice({{0, 3, 2}, {1, 4, 2}}));
    auto ms = sl.as_mdspan<const int, 2>();
    static_assert(std::is_same<decltype(ms)::layout_type, std::layout_stride>::value);
    CHECK_EQ(ms.stride(0), 8u);
    CHECK_EQ(ms.stride(1), 2u);
    for (std::size_t i = 0; i < 2; i++)
        for (std::size_t j = 0; j < 2; j++) {
            const std::ptrdiff_t ii = static_cast<std::ptrdiff_t>(i), jj = static_cast<std::ptrdiff_t>(j);
            CHECK_EQ((ms[i, j]), item_at<int>(sl, {ii, jj}));
        }
    CHECK_EQ((ms[1, 0]), 21);
    CHECK_EQ((ms[1, 1]), 99); // written through m above
    auto mt = t.as_mdspan<const int, 2>(); // strides (1, 4) elements
    CHECK_EQ((mt[1, 2]), 21);
    CHECK(mt.is_unique());

    // Refused: negative, zero, unaligned and overlapping strides, with as_strided as the way out.
    xbuf::buffer neg(v.slice({{xbuf::omit, xbuf::omit, -1}}));
    CHECK_THROWS((neg.as_mdspan<const int, 2>()), XBUF_ERR_UNSUPPORTED, "stride -16 of dimension 0");
    CHECK_EQ((neg.as_strided<const int, 2>()(0, 0)), 20);
    int row[4] = {7, 8, 9, 10};
    xbuf::buffer bc(xbuf::ndarray(row, sizeof row, "i", {3, 4}, {0, 4}));
    CHECK_THROWS((bc.as_mdspan<const int, 2>()), XBUF_ERR_UNSUPPORTED, "stride 0");
    unsigned char packed[16] = {0};
    xbuf::buffer pk(xbuf::ndarray(packed, 16, "i", {2}, {6}));
    CHECK_THROWS((pk.as_mdspan<const int, 1>()), XBUF_ERR_UNSUPPORTED, "not a positive multiple");
    int cells[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    xbuf::buffer sliding(xbuf::ndarray(cells, sizeof cells, "i", {3, 4}, {4, 4}));
    CHECK_THROWS((sliding.as_mdspan<const int, 2>()), XBUF_ERR_UNSUPPORTED, "overlap");
    CHECK_EQ((sliding.as_strided<const int, 2>()(2, 3)), 5);
    std::mdspan<const int, std::dextents<std::size_t, 2>, std::layout_stride> kept = mt;
    CHECK_STATUS((sliding.try_as_mdspan<const int, 2>(kept)), XBUF_ERR_UNSUPPORTED, "overlap");
    CHECK(kept.data_handle() == mt.data_handle());

    // Dimensions of one item may have any stride; arrays without items always qualify.
    xbuf::buffer thin(xbuf::ndarray(cells, sizeof cells, "i", {1, 4}, {-12, 4}, 12));
    auto mthin = thin.as_mdspan<const int, 2>();
    CHECK_EQ((mthin[0, 3]), 6);
    xbuf::buffer none(xbuf::ndarray_zeros("i", {0, 3}));
    auto mnone = none.as_mdspan<const int, 2>();
    CHECK_EQ(mnone.size(), 0u);
    CHECK_EQ(mnone.extent(1), 3u);
    // Rank 0: one item.
    xbuf::buffer one(v.index({1, 2}));
    CHECK_EQ((one.as_mdspan<const int, 0>()[]), 12);
    CHECK_EQ((one.as_mdspan<const int, 0, std::layout_right>()[]), 12);
    // The format and rank checks are the same as for every accessor.
    CHECK_THROWS((b.as_mdspan<const double, 2>()), XBUF_ERR_FORMAT, "");
    CHECK_THROWS((b.as_mdspan<const int, 1>()), XBUF_ERR_INVALID_ARGUMENT, "2 dimensions, not 1");
}
#endif

} // namespace

#if XBUF_HPP_MDSPAN
#define MDSPAN_CASES , XT_CASE(test_as_mdspan)
#else
#define MDSPAN_CASES
#endif
XBUF_TEST_MAIN(XT_CASE(test_format_of), XT_CASE(test_as_span), XT_CASE(test_as_strided) MDSPAN_CASES)
