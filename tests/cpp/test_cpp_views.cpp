// xbuf::view: every operation compared with the C function it wraps (the same arguments given
// to xbuf_view_* directly must give the same bytes, text, hash or pointer), with values written
// out by hand, and every error path in its throwing and try_ forms.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "xbuf_cpp_test.hpp"

namespace {

// 3 x 4 doubles, item (i, j) = i + j / 10.
xbuf::object matrix() {
    std::vector<double> cells;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) cells.push_back(i + j / 10.0);
    return xbuf::ndarray(cells.data(), cells.size() * sizeof(double), "d", {3, 4});
}

// The C-order bytes of a view object through the C API.
std::vector<unsigned char> c_bytes(xbuf_object *v, char order = 'C') {
    std::size_t n = 0;
    if (xbuf_view_tobytes(v, order, nullptr, 0, &n) != XBUF_OK) return {};
    std::vector<unsigned char> out(n);
    if (xbuf_view_tobytes(v, order, out.empty() ? nullptr : out.data(), n, &n) != XBUF_OK) return {};
    return out;
}

std::vector<double> doubles(const std::vector<unsigned char> &bytes) {
    std::vector<double> d(bytes.size() / sizeof(double));
    if (!d.empty()) std::memcpy(d.data(), bytes.data(), d.size() * sizeof(double));
    return d;
}

void test_make_and_copy() {
    xbuf::object obj = matrix();
    xbuf::view v(obj);
    CHECK_EQ(std::string(v.type_name()), "view");
    CHECK_EQ(obj.exports(), 1);
    CHECK_EQ(v.ndim(), 2);
    CHECK(v.shape() == std::vector<std::ptrdiff_t>({3, 4}));
    CHECK_EQ(v.format(), "d");
    CHECK_EQ(v.itemsize(), 8);
    CHECK(!v.readonly());
    // Copying the handle shares the view; view(v, flags) makes a new view of it.
    xbuf::view same = v;
    CHECK(same.get() == v.get());
    xbuf::view again(v, XBUF_FULL_RO);
    CHECK(again.get() != v.get());
    CHECK(again.equal(v));
    // A view is an object: a buffer of it reads the same memory.
    xbuf::buffer b(v);
    CHECK_EQ(b.ndim(), 2);
    CHECK(b.releaser() == obj.get());
    // Requests the base cannot meet.
    xbuf::object ro = xbuf::bytes("abc", 3);
    CHECK_THROWS(xbuf::view(ro, XBUF_FULL), XBUF_ERR_READONLY, "");
    xbuf::view out(obj);
    CHECK_STATUS(xbuf::view::try_from(ro, XBUF_FULL, out), XBUF_ERR_READONLY, "");
    CHECK(!out);
    CHECK_STATUS(xbuf::view::try_from(xbuf::object(), XBUF_FULL, out), XBUF_ERR_NULL_ARGUMENT, "'obj'");
    // adopt() takes a reference made by C.
    xbuf_object *raw = nullptr;
    CHECK_EQ(xbuf_view_new(obj.get(), XBUF_FULL_RO, &raw), XBUF_OK);
    xbuf::view adopted = xbuf::view::adopt(raw);
    CHECK_EQ(adopted.refcount(), 1);
    CHECK(adopted.equal(v));
}

void test_slice_index_transpose_permute() {
    xbuf::view v(matrix());
    // v[1:3, ::-1] against the C function with the same ranges.
    xbuf::view s = v.slice({{1, 3}, {xbuf::omit, xbuf::omit, -1}});
    xbuf_range r[2] = {{1, 3, XBUF_SLICE_OMIT}, {XBUF_SLICE_OMIT, XBUF_SLICE_OMIT, -1}};
    xbuf_object *cs = nullptr;
    CHECK_EQ(xbuf_view_slice(v.get(), r, 2, &cs), XBUF_OK);
    CHECK(s.tobytes() == c_bytes(cs));
    xbuf_decref(cs);
    CHECK(s.shape() == std::vector<std::ptrdiff_t>({2, 4}));
    std::vector<double> d = doubles(s.tobytes());
    CHECK_EQ(d[0], 1.3);
    CHECK_EQ(d[3], 1.0);
    CHECK_EQ(d[4], 2.3);
    // Fewer ranges than dimensions keep the rest whole; xbuf::all is a[:].
    CHECK(v.slice({{0, 1}}).shape() == std::vector<std::ptrdiff_t>({1, 4}));
    CHECK(v.slice({xbuf::all, {xbuf::omit, xbuf::omit, 2}}).shape() == std::vector<std::ptrdiff_t>({3, 2}));
    CHECK(v.slice({}).equal(v));
    CHECK_THROWS(v.slice({{0, 3, 0}}), XBUF_ERR_INVALID_ARGUMENT, "step");
    CHECK_THROWS(v.slice({xbuf::all, xbuf::all, xbuf::all}), XBUF_ERR_INVALID_ARGUMENT, "");
    std::vector<xbuf::range> too_many(65);
    xbuf::view out = v;
    CHECK_STATUS(v.try_slice(too_many, out), XBUF_ERR_INVALID_ARGUMENT, "65 ranges");
    CHECK(!out);
    // The out-parameter may be the view itself.
    xbuf::view self = v;
    CHECK_OK(self.try_slice({{2, 3}}, self));
    CHECK(self.shape() == std::vector<std::ptrdiff_t>({1, 4}));

    // index: a row, then one item (zero-dimensional).
    xbuf::view row = v.index({1});
    CHECK(row.shape() == std::vector<std::ptrdiff_t>({4}));
    CHECK(doubles(row.tobytes()) == std::vector<double>({1.0, 1.1, 1.2, 1.3}));
    xbuf::view item = v.index({-1, 2});
    CHECK_EQ(item.ndim(), 0);
    CHECK(doubles(item.tobytes()) == std::vector<double>({2.2}));
    CHECK_THROWS(v.index({3}), XBUF_ERR_OUT_OF_BOUNDS, "");
    CHECK_THROWS(v.index({0, 0, 0}), XBUF_ERR_INVALID_ARGUMENT, "");
    out = v;
    CHECK_STATUS(v.try_index({0, 9}, out), XBUF_ERR_OUT_OF_BOUNDS, "");
    CHECK(!out);

    // transpose == permute({1, 0}); its C order is the original's Fortran order.
    xbuf::view t = v.transpose();
    CHECK(t.shape() == std::vector<std::ptrdiff_t>({4, 3}));
    CHECK(t.tobytes('C') == v.tobytes('F'));
    CHECK(t.equal(v.permute({1, 0})));
    xbuf_object *ct = nullptr;
    CHECK_EQ(xbuf_view_transpose(v.get(), &ct), XBUF_OK);
    CHECK(t.tobytes() == c_bytes(ct));
    xbuf_decref(ct);
    CHECK_THROWS(v.permute({0, 0}), XBUF_ERR_INVALID_ARGUMENT, "");
    CHECK_THROWS(v.permute({1}), XBUF_ERR_INVALID_ARGUMENT, "");
    out = v;
    CHECK_STATUS(v.try_permute({2, 0}, out), XBUF_ERR_INVALID_ARGUMENT, "");
    CHECK(!out);
    // Transposing an indirect layout is refused.
    unsigned char cells[6] = {1, 2, 3, 4, 5, 6};
    xbuf::view pil(xbuf::ndarray(cells, 6, "B", {2, 3}, {}, 0, XBUF_NDARRAY_PIL));
    CHECK_THROWS(pil.transpose(), XBUF_ERR_UNSUPPORTED, "suboffsets");
    out = v;
    CHECK_STATUS(pil.try_transpose(out), XBUF_ERR_UNSUPPORTED, "suboffsets");
    CHECK(!out);
}

void test_cast_bytes_text() {
    xbuf::view v(matrix());
    // cast: to bytes in one dimension, and back to 4 x 3 doubles.
    xbuf::view raw = v.cast("B");
    CHECK(raw.shape() == std::vector<std::ptrdiff_t>({96}));
    CHECK_EQ(raw.nbytes(), 96u);
    CHECK(raw.tobytes() == v.tobytes());
    xbuf::view back = raw.cast("d", {4, 3});
    CHECK(back.shape() == std::vector<std::ptrdiff_t>({4, 3}));
    CHECK(back.tobytes() == v.tobytes());
    xbuf_object *cc = nullptr;
    std::ptrdiff_t shape[2] = {4, 3};
    CHECK_EQ(xbuf_view_cast(raw.get(), "d", 2, shape, &cc), XBUF_OK);
    CHECK(back.tobytes() == c_bytes(cc));
    xbuf_decref(cc);
    CHECK_THROWS(v.transpose().cast("B"), XBUF_ERR_NOT_CONTIGUOUS, "");
    CHECK_THROWS(v.cast("d", {5, 3}), XBUF_ERR_INVALID_ARGUMENT, "");
    CHECK_THROWS(v.cast("T{"), XBUF_ERR_FORMAT, "");
    xbuf::view out = v;
    CHECK_STATUS(v.try_cast("T{", out), XBUF_ERR_FORMAT, "");
    CHECK(!out);
    out = v;
    CHECK_STATUS(v.try_cast("d", {7}, out), XBUF_ERR_INVALID_ARGUMENT, "");
    CHECK(!out);

    // tolist, hex and tobytes against the C functions and against literal text.
    int small[4] = {1, -2, 300, 4};
    xbuf::view s(xbuf::ndarray(small, sizeof small, "<i", {2, 2}));
    CHECK_EQ(s.tolist(), "[[1, -2], [300, 4]]");
    char text[64];
    CHECK_EQ(xbuf_view_tolist(s.get(), text, sizeof text, nullptr), XBUF_OK);
    CHECK_EQ(s.tolist(), std::string(text));
    CHECK_EQ(s.hex(), "01000000feffffff2c01000004000000");
    CHECK_EQ(xbuf_view_hex(s.get(), text, sizeof text, nullptr), XBUF_OK);
    CHECK_EQ(s.hex(), std::string(text));
    CHECK_EQ(s.transpose().tolist(), "[[1, 300], [-2, 4]]");
    CHECK_EQ(s.index({1, 0}).tolist(), "300");
    std::vector<unsigned char> fb = s.tobytes('F');
    CHECK(fb == c_bytes(s.get(), 'F'));
    CHECK_EQ(fb[4], 0x2c);
    CHECK_THROWS(s.tobytes('X'), XBUF_ERR_INVALID_ARGUMENT, "order");
    std::vector<unsigned char> bytes_out(3, 1);
    CHECK_STATUS(s.try_tobytes('X', bytes_out), XBUF_ERR_INVALID_ARGUMENT, "order");
    CHECK(bytes_out.empty());
    // A view of no items.
    xbuf::view none = v.slice({{1, 1}});
    CHECK(none.tobytes().empty());
    CHECK_EQ(none.tolist(), "[]");
    CHECK_EQ(none.hex(), "");
    CHECK_EQ(none.nbytes(), 0u);
    // Text of every kind renders as JSON strings and numbers.
    xbuf::view rec(xbuf::ndarray("ab\x01\x00\x00\x00", 6, "T{2s:name:<i:n:}", {1}));
    CHECK_EQ(rec.tolist(), "[{\"name\": \"ab\", \"n\": 1}]");
}

void test_equal_hash_pointer_copy() {
    xbuf::view v(matrix());
    // equal: by value across formats; NaN never equal.
    std::vector<float> f;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) f.push_back(static_cast<float>(i + j / 10.0));
    xbuf::view vf(xbuf::ndarray(f.data(), f.size() * sizeof(float), "f", {3, 4}));
    // 0.1 is not exact in float: only the exact items agree.
    CHECK(!v.equal(vf));
    CHECK(v.index({0, 0}).equal(vf.index({0, 0})));
    CHECK(v.slice({xbuf::all, {0, 1}}).equal(vf.slice({xbuf::all, {0, 1}})));
    int ints[3] = {0, 1, 2};
    xbuf::view vi(xbuf::ndarray(ints, sizeof ints, "i", {3}));
    CHECK(vi.equal(v.transpose().index({0})));
    CHECK(!v.equal(v.transpose()));
    double nan = std::numeric_limits<double>::quiet_NaN();
    xbuf::view vn(xbuf::ndarray(&nan, sizeof nan, "d", {1}));
    CHECK(!vn.equal(vn));
    int c_eq = -1;
    CHECK_EQ(xbuf_view_equal(vn.get(), vn.get(), &c_eq), XBUF_OK);
    CHECK_EQ(c_eq, 0);
    bool eq = true;
    CHECK_STATUS(v.try_equal(xbuf::view(), eq), XBUF_ERR_NULL_ARGUMENT, "'b'");
    CHECK(!eq);

    // hash: read-only views only, equal to the C function.
    xbuf::view ro(matrix(), XBUF_FULL_RO);
    xbuf::view rov(xbuf::ndarray_zeros("d", {2}, 'C', XBUF_NDARRAY_READONLY));
    std::uint64_t h = rov.hash(), ch = 0;
    CHECK_EQ(xbuf_view_hash(rov.get(), &ch), XBUF_OK);
    CHECK_EQ(h, ch);
    // FNV-1a of 16 zero bytes.
    std::uint64_t expect = 0xcbf29ce484222325ull;
    for (int k = 0; k < 16; k++) expect = (expect ^ 0u) * 0x100000001b3ull;
    CHECK_EQ(h, expect);
    CHECK_THROWS(ro.hash(), XBUF_ERR_UNSUPPORTED, "writable");
    std::uint64_t hout = 5;
    CHECK_STATUS(ro.try_hash(hout), XBUF_ERR_UNSUPPORTED, "writable");

    // item_pointer against the C function and against the buffer's own pointer.
    xbuf::buffer b(v);
    for (std::ptrdiff_t i = -3; i < 3; i++)
        for (std::ptrdiff_t j = -4; j < 4; j++) {
            std::ptrdiff_t idx[2] = {i, j};
            void *cp = nullptr;
            CHECK_EQ(xbuf_view_item_pointer(v.get(), idx, 2, &cp), XBUF_OK);
            CHECK(v.item_pointer({i, j}) == cp);
            CHECK(b.pointer({i, j}) == cp);
        }
    CHECK_THROWS(v.item_pointer({3, 0}), XBUF_ERR_OUT_OF_BOUNDS, "");
    CHECK_THROWS(v.item_pointer({0}), XBUF_ERR_INVALID_ARGUMENT, "");
    void *p = &b;
    CHECK_STATUS(v.try_item_pointer({0, 4}, p), XBUF_ERR_OUT_OF_BOUNDS, "");
    CHECK(p == nullptr);

    // copy_from: into a writable view of the same shape, also between overlapping parts.
    xbuf::view dst(xbuf::ndarray_zeros("d", {3, 4}));
    dst.copy_from(v);
    CHECK(dst.equal(v));
    dst.slice({{0, 2}}).copy_from(dst.slice({{1, 3}}));
    CHECK(doubles(dst.tobytes())[0] == 1.0);
    CHECK(doubles(dst.tobytes())[4] == 2.0);
    CHECK_THROWS(dst.copy_from(v.transpose()), XBUF_ERR_INVALID_ARGUMENT, "shapes differ");
    CHECK_THROWS(rov.copy_from(v.index({0}).slice({{0, 2}})), XBUF_ERR_READONLY, "");
    CHECK_STATUS(rov.try_copy_from(rov), XBUF_ERR_READONLY, "");
}

void test_release_base() {
    xbuf::object obj = matrix();
    xbuf::view v(obj);
    xbuf::buffer kept(v); // holds its own export of obj
    CHECK_EQ(obj.exports(), 2);
    v.lock();
    CHECK_THROWS(v.release_base(), XBUF_ERR_BUSY, "");
    CHECK_STATUS(v.try_release_base(), XBUF_ERR_BUSY, "");
    v.unlock();
    v.release_base();
    CHECK_EQ(obj.exports(), 1);
    v.release_base(); // again: a no-op
    CHECK_THROWS(v.tolist(), XBUF_ERR_RELEASED, "");
    CHECK_THROWS(v.ndim(), XBUF_ERR_RELEASED, "");
    CHECK_THROWS(v.slice({}), XBUF_ERR_RELEASED, "");
    std::string text = "x";
    CHECK_STATUS(v.try_tolist(text), XBUF_ERR_RELEASED, "");
    CHECK(text.empty());
    CHECK_STATUS(v.try_hex(text), XBUF_ERR_RELEASED, "");
    std::size_t n = 1;
    CHECK_STATUS(v.try_nbytes(n), XBUF_ERR_RELEASED, "");
    // The buffer taken earlier is still valid.
    CHECK_EQ(kept.shape()[1], 4);
    double x;
    std::memcpy(&x, kept.pointer({2, 3}), sizeof x);
    CHECK_EQ(x, 2.3);
    kept.reset();
    CHECK_EQ(obj.exports(), 0);
    // Operations on an empty handle.
    xbuf::view empty;
    CHECK_THROWS(empty.transpose(), XBUF_ERR_NULL_ARGUMENT, "'view'");
    CHECK_THROWS(empty.hash(), XBUF_ERR_NULL_ARGUMENT, "'view'");
}

} // namespace

XBUF_TEST_MAIN(XT_CASE(test_make_and_copy), XT_CASE(test_slice_index_transpose_permute),
               XT_CASE(test_cast_bytes_text), XT_CASE(test_equal_hash_pointer_copy),
               XT_CASE(test_release_base))
