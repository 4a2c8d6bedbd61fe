// xbuf.hpp in a program built without exceptions (-fno-exceptions): only the noexcept try_
// forms exist, and they report every failure as an xbuf::status.
#include <vector>

#include "xbuf_cpp_test.hpp"

#if XBUF_HPP_EXCEPTIONS
#error "this test is built with -fno-exceptions"
#endif

namespace {

class counter : public xbuf::exporter {
public:
    explicit counter(int *alive) : alive_(alive) { ++*alive_; }
    ~counter() override { --*alive_; }
    xbuf::status get(xbuf_bufferinfo &view, int) override {
        if (fail) return xbuf::status(XBUF_ERR_IO, "counter: told to fail");
        view.buf = bytes;
        view.len = sizeof bytes;
        view.itemsize = 1;
        view.readonly = 1;
        view.ndim = 1;
        view.shape = &view.len;
        return {};
    }
    bool fail = false;
    unsigned char bytes[3] = {1, 2, 3};

private:
    int *alive_;
};

void test_try_forms() {
    xbuf::object obj;
    CHECK_OK(xbuf::try_bytearray("abcdef", 6, obj));
    CHECK_EQ(obj.refcount(), 1);
    xbuf::object copy = obj; // copy = incref, no exception needed
    CHECK_EQ(obj.refcount(), 2);

    xbuf::buffer b;
    CHECK_OK(xbuf::buffer::try_get(obj, XBUF_RECORDS_RO, b));
    xbuf::span<const unsigned char> s;
    CHECK_OK(b.try_as_span<const unsigned char>(s));
    CHECK_EQ(s.size(), 6u);
    CHECK_EQ(s[5], 'f');
    xbuf::span<const int> wrong;
    CHECK_STATUS(b.try_as_span<const int>(wrong), XBUF_ERR_FORMAT, "not 'i'");
    std::vector<xbuf::buffer> many;
    for (int k = 0; k < 20; k++) {
        many.emplace_back();
        CHECK_OK(xbuf::buffer::try_get(obj, XBUF_SIMPLE, many.back()));
    }
    CHECK_EQ(obj.exports(), 21);
    CHECK_EQ(static_cast<const char *>(many[3].data())[2], 'c');
    many.clear();

    xbuf::view v;
    CHECK_OK(xbuf::view::try_from(obj, XBUF_FULL_RO, v));
    xbuf::view tail;
    CHECK_OK(v.try_slice({{3, xbuf::omit}}, tail));
    std::string text;
    CHECK_OK(tail.try_tolist(text));
    CHECK_EQ(text, "[100, 101, 102]");
    CHECK_STATUS(v.try_slice({{0, 1, 0}}, tail), XBUF_ERR_INVALID_ARGUMENT, "step");
    CHECK(!tail);
    std::vector<unsigned char> bytes;
    CHECK_OK(v.try_tobytes('C', bytes));
    CHECK_EQ(bytes.size(), 6u);
    std::uint64_t h = 0;
    CHECK_STATUS(v.try_hash(h), XBUF_ERR_UNSUPPORTED, "");
    CHECK_STATUS(xbuf::try_bytearray_resize(obj, 10), XBUF_ERR_BUSY, "");

    xbuf::object vec;
    CHECK_OK(xbuf::try_export_vector(std::vector<double>{1, 2, 3, 4}, {2, 2}, vec));
    xbuf::buffer vb;
    CHECK_OK(xbuf::buffer::try_get(vec, XBUF_RECORDS_RO, vb));
    xbuf::strided<const double, 2> m;
    CHECK_OK((vb.try_as_strided<const double, 2>(m)));
    CHECK_EQ(m(1, 0), 3.0);
    CHECK(m.find(2, 0) == nullptr);

    int alive = 0;
    xbuf::object c;
    CHECK_OK(xbuf::try_make_object<counter>(c, &alive));
    CHECK_EQ(alive, 1);
    xbuf::buffer cb;
    CHECK_OK(xbuf::buffer::try_get(c, XBUF_SIMPLE, cb));
    static_cast<counter *>(static_cast<xbuf::exporter *>(c.state()))->fail = true;
    xbuf::buffer cb2;
    CHECK_STATUS(xbuf::buffer::try_get(c, XBUF_SIMPLE, cb2), XBUF_ERR_IO, "told to fail");
    c.reset();
    CHECK_EQ(alive, 1);
    cb.reset();
    CHECK_EQ(alive, 0);
}

} // namespace

XBUF_TEST_MAIN(XT_CASE(test_try_forms))
