// xbuf.hpp: statuses and errors, object handles, the built-in exporters, and buffers (their
// accessors against the C view they hold, their moves through xbuf_bufferinfo_move, also in
// containers that reallocate and across threads). Every error path is checked both ways: the
// throwing form throws xbuf::error with the status, the try_ form returns it and empties its
// out-parameter.
#include <cstdio>
#include <atomic>
#include <cstdlib>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

#include "xbuf_cpp_test.hpp"

namespace {

xbuf::object int_matrix() {
    // 3 x 4 int32, item (i, j) = 10 * i + j.
    std::vector<int> cells;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) cells.push_back(10 * i + j);
    return xbuf::ndarray(cells.data(), cells.size() * sizeof(int), "i", {3, 4});
}

int int_at(const xbuf_bufferinfo *v, std::ptrdiff_t i, std::ptrdiff_t j) {
    std::ptrdiff_t idx[2] = {i, j};
    void *p = nullptr;
    if (xbuf_get_pointer(v, idx, &p) != XBUF_OK) return -1;
    int x;
    std::memcpy(&x, p, sizeof x);
    return x;
}

void test_status_and_error() {
    xbuf::status ok;
    CHECK(ok.ok());
    CHECK_EQ(ok.code(), XBUF_OK);
    CHECK_EQ(std::string(ok.name()), "XBUF_OK");
    CHECK(ok.message().empty());
    xbuf::status bad(XBUF_ERR_FORMAT, "the format 'Q?' is odd");
    CHECK(!bad.ok());
    CHECK_EQ(std::string(bad.name()), "XBUF_ERR_FORMAT");
    CHECK_EQ(bad.message(), "the format 'Q?' is odd");
    xbuf::status copy = bad;
    CHECK_EQ(copy.code(), XBUF_ERR_FORMAT);
    CHECK(xbuf::status(XBUF_ERR_IO, nullptr).message().empty());

    xbuf::error e(bad);
    CHECK_EQ(e.code(), XBUF_ERR_FORMAT);
    CHECK_EQ(std::string(e.name()), "XBUF_ERR_FORMAT");
    CHECK_EQ(std::string(e.what()), "the format 'Q?' is odd");
    CHECK_EQ(e.to_status().code(), XBUF_ERR_FORMAT);
    const std::runtime_error &base = e;
    CHECK_EQ(std::string(base.what()), "the format 'Q?' is odd");

    // A library failure carries the library's message, which names the C function.
    try {
        (void)xbuf::ndarray_zeros("T{i", {2});
        CHECK(!"no throw");
    } catch (const xbuf::error &x) {
        CHECK_EQ(x.code(), XBUF_ERR_FORMAT);
        CHECK(std::strstr(x.what(), "xbuf_ndarray_zeros") != nullptr);
        CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_FORMAT);
    }
    // A failure the header finds itself is recorded for the thread too.
    xbuf::buffer b(int_matrix());
    xbuf::span<const float> s;
    CHECK_STATUS(b.try_as_span<const float>(s), XBUF_ERR_FORMAT, "not 'f'");
    CHECK_EQ(xbuf_last_error_status(), XBUF_ERR_FORMAT);
    CHECK(std::strstr(xbuf_last_error_message(), "xbuf::buffer::as_span") != nullptr);
}

void test_object_handles() {
    xbuf::object a = xbuf::bytearray("hello", 5);
    CHECK(static_cast<bool>(a));
    CHECK_EQ(a.refcount(), 1);
    CHECK_EQ(std::string(a.type_name()), "bytearray");
    CHECK_EQ(a.exports(), 0);
    CHECK(a.state() == nullptr);
    {
        xbuf::object b = a; // copy: another reference
        CHECK(b.get() == a.get());
        CHECK_EQ(a.refcount(), 2);
        xbuf::object c = std::move(b); // move: the same reference
        CHECK(!b);
        CHECK(b.get() == nullptr);
        CHECK_EQ(a.refcount(), 2);
        xbuf::object d;
        d = c; // copy assignment
        CHECK_EQ(a.refcount(), 3);
        xbuf::object &same = d; // (through a reference: compilers warn about d = d)
        d = same;               // self-assignment keeps it
        CHECK_EQ(a.refcount(), 3);
        d = std::move(c);
        CHECK_EQ(a.refcount(), 2);
        d = std::move(same);
        CHECK_EQ(a.refcount(), 2);
        CHECK(d.get() == a.get());
    }
    CHECK_EQ(a.refcount(), 1);

    // release() hands the reference to C; adopt() takes it back.
    xbuf_object *raw = a.release();
    CHECK(!a);
    CHECK_EQ(xbuf_refcount(raw), 1);
    xbuf::object back = xbuf::object::adopt(raw);
    CHECK_EQ(back.refcount(), 1);
    // borrow() takes a new reference and leaves the caller's alone.
    xbuf::object borrowed = xbuf::object::borrow(back.get());
    CHECK_EQ(back.refcount(), 2);
    borrowed.reset();
    CHECK(!borrowed);
    CHECK_EQ(back.refcount(), 1);

    xbuf::object filled = xbuf::bytes("x", 1);
    CHECK_STATUS(xbuf::object::try_borrow(nullptr, filled), XBUF_ERR_NULL_ARGUMENT, "'obj' is NULL");
    CHECK(!filled);
    CHECK_THROWS(xbuf::object::borrow(nullptr), XBUF_ERR_NULL_ARGUMENT, "NULL");

    // An empty handle answers without touching the library, and fails where an object is
    // needed.
    xbuf::object none;
    CHECK_EQ(none.refcount(), -1);
    CHECK_EQ(none.exports(), -1);
    CHECK(none.type_name() == nullptr);
    CHECK_THROWS(xbuf::buffer(none), XBUF_ERR_NULL_ARGUMENT, "'obj' is NULL");
    CHECK_THROWS(none.lock(), XBUF_ERR_NULL_ARGUMENT, "NULL");

    // Locks count as exports.
    back.lock();
    CHECK_EQ(back.exports(), 1);
    CHECK_THROWS(xbuf::bytearray_resize(back, 9), XBUF_ERR_BUSY, "1");
    back.unlock();
    CHECK_EQ(back.exports(), 0);
    CHECK_THROWS(back.unlock(), XBUF_ERR_INVALID_ARGUMENT, "lock");
    CHECK_STATUS(back.try_unlock(), XBUF_ERR_INVALID_ARGUMENT, "lock");
    xbuf::bytearray_resize(back, 9);
    CHECK_EQ(xbuf::buffer(back, XBUF_SIMPLE).len(), 9);
}

std::atomic<int> wrap_destroyed{0};
void count_destroy(void *data, std::size_t len, void *ctx) {
    (void)len;
    (void)ctx;
    std::free(data);
    wrap_destroyed++;
}

void test_builtin_exporters() {
    // bytes: a read-only copy.
    char text[] = "abc";
    xbuf::object b = xbuf::bytes(text, 3);
    text[0] = 'z';
    {
        xbuf::buffer v(b, XBUF_SIMPLE);
        CHECK_EQ(std::string(static_cast<const char *>(v.data()), 3), "abc");
        CHECK(v.readonly());
    }
    CHECK_THROWS(xbuf::buffer(b, XBUF_WRITABLE), XBUF_ERR_READONLY, "XBUF_WRITABLE");

    // bytearray of zeros, writable, resizable only while not exported.
    xbuf::object ba = xbuf::bytearray(4);
    {
        xbuf::buffer v(ba, XBUF_WRITABLE);
        CHECK_EQ(v.len(), 4);
        CHECK_EQ(static_cast<const unsigned char *>(v.data())[3], 0);
        CHECK_THROWS(xbuf::bytearray_resize(ba, 8), XBUF_ERR_BUSY, "export");
        CHECK_STATUS(xbuf::try_bytearray_resize(ba, 8), XBUF_ERR_BUSY, "export");
    }
    CHECK_OK(xbuf::try_bytearray_resize(ba, 8));

    // wrap: caller memory with a destructor that runs once, after the last view.
    wrap_destroyed = 0;
    void *mem = std::malloc(16);
    std::memset(mem, 7, 16);
    xbuf::object w = xbuf::wrap(mem, 16, false, count_destroy, nullptr);
    xbuf::buffer wv(w, XBUF_WRITABLE);
    w.reset();
    CHECK_EQ(wrap_destroyed.load(), 0);
    CHECK(wv.data() == mem);
    wv.reset();
    CHECK_EQ(wrap_destroyed.load(), 1);
    xbuf::object out = xbuf::bytes("x", 1);
    CHECK_STATUS(xbuf::try_wrap(nullptr, 4, true, nullptr, nullptr, out), XBUF_ERR_INVALID_ARGUMENT, "NULL");
    CHECK(!out);

    // slice_of: a window that locks its base.
    xbuf::object base = xbuf::bytearray("0123456789", 10);
    xbuf::object win = xbuf::slice_of(base, 2, 5);
    CHECK_EQ(base.exports(), 2); // the slice's lock and its view
    {
        xbuf::buffer v(win, XBUF_SIMPLE);
        CHECK_EQ(std::string(static_cast<const char *>(v.data()), 5), "23456");
        CHECK(v.releaser() == base.get());
    }
    CHECK_THROWS(xbuf::slice_of(base, 8, 5), XBUF_ERR_OUT_OF_BOUNDS, "");
    out = xbuf::bytes("x", 1);
    CHECK_STATUS(xbuf::try_slice_of(base, 8, 5, out), XBUF_ERR_OUT_OF_BOUNDS, "");
    CHECK(!out);
    win.reset();
    CHECK_EQ(base.exports(), 0);

    // mmap_open: a file mapped read-only.
    char path[] = "/tmp/xbuf_cpp_core_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "mapped!", 7), 7);
    close(fd);
    {
        xbuf::object m = xbuf::mmap_open(path);
        xbuf::buffer v(m, XBUF_SIMPLE);
        CHECK_EQ(std::string(static_cast<const char *>(v.data()), 7), "mapped!");
        CHECK(v.readonly());
        CHECK_THROWS(xbuf::buffer(m, XBUF_WRITABLE), XBUF_ERR_READONLY, "");
    }
    unlink(path);
    CHECK_THROWS(xbuf::mmap_open(path), XBUF_ERR_IO, path);
    out = xbuf::bytes("x", 1);
    CHECK_STATUS(xbuf::try_mmap_open(path, XBUF_MMAP_READ, out), XBUF_ERR_IO, path);
    CHECK(!out);

    // ndarray with explicit strides and offset: the last row first.
    short cells[6] = {1, 2, 3, 4, 5, 6};
    xbuf::object nd = xbuf::ndarray(cells, sizeof cells, "h", {2, 3}, {-6, 2}, 6);
    {
        xbuf::buffer v(nd);
        CHECK_EQ(v.strides()[0], -6);
        short first;
        std::memcpy(&first, v.pointer({0, 0}), sizeof first);
        CHECK_EQ(first, 4);
        std::vector<unsigned char> c = v.to_contiguous('C');
        short got[6];
        std::memcpy(got, c.data(), sizeof got);
        CHECK_EQ(got[0], 4);
        CHECK_EQ(got[5], 3);
    }
    CHECK_THROWS(xbuf::ndarray(cells, sizeof cells, "h", {2, 3}, {6}), XBUF_ERR_INVALID_ARGUMENT,
                 "1 strides for 2 dimensions");
    CHECK_THROWS(xbuf::ndarray(cells, sizeof cells, "h", {3, 3}), XBUF_ERR_OUT_OF_BOUNDS, "");
    std::vector<std::ptrdiff_t> many(65, 1);
    out = xbuf::bytes("x", 1);
    CHECK_STATUS(xbuf::try_ndarray(cells, sizeof cells, "h", many, {}, 0, 0, out), XBUF_ERR_INVALID_ARGUMENT,
                 "65 dimensions");
    CHECK(!out);

    // ndarray_zeros in Fortran order.
    xbuf::object z = xbuf::ndarray_zeros("<d", {2, 3}, 'F');
    {
        xbuf::buffer v(z);
        CHECK(v.is_contiguous('F'));
        CHECK(!v.is_contiguous('C'));
        CHECK_EQ(v.strides()[0], 8);
        CHECK_EQ(v.strides()[1], 16);
    }
    out = xbuf::bytes("x", 1);
    CHECK_STATUS(xbuf::try_ndarray_zeros("<d", {2, 3}, 'X', 0, out), XBUF_ERR_INVALID_ARGUMENT, "order");
    CHECK(!out);
    CHECK_STATUS(xbuf::try_bytes(nullptr, 3, out), XBUF_ERR_NULL_ARGUMENT, "'data'");
    CHECK_STATUS(xbuf::try_bytearray(nullptr, std::size_t(1) << 63, out), XBUF_ERR_OVERFLOW, "");
}

void test_buffer_accessors() {
    xbuf::object obj = int_matrix();
    xbuf::buffer b(obj);
    const xbuf_bufferinfo &v = b.info();
    CHECK(!b.empty());
    CHECK(static_cast<bool>(b));
    CHECK(b.get() == &v);
    CHECK(b.data() == v.buf);
    CHECK_EQ(b.len(), 48);
    CHECK_EQ(b.itemsize(), 4);
    CHECK_EQ(b.size(), 12);
    CHECK_EQ(b.ndim(), 2);
    CHECK(!b.readonly());
    CHECK_EQ(std::string(b.format()), "i");
    CHECK_EQ(b.shape().size(), 2u);
    CHECK_EQ(b.shape()[0], 3);
    CHECK_EQ(b.shape()[1], 4);
    CHECK(b.shape().data() == v.shape);
    CHECK_EQ(b.strides()[0], 16);
    CHECK_EQ(b.strides()[1], 4);
    CHECK(b.suboffsets().empty());
    CHECK(b.releaser() == obj.get());
    CHECK(b.is_contiguous('C'));
    CHECK(b.is_contiguous('A'));
    CHECK(!b.is_contiguous('F'));
    CHECK_EQ(obj.exports(), 1);

    // pointer() is xbuf_get_pointer, with the index count checked first.
    for (std::ptrdiff_t i = 0; i < 3; i++)
        for (std::ptrdiff_t j = 0; j < 4; j++) {
            int x;
            std::memcpy(&x, b.pointer({i, j}), sizeof x);
            CHECK_EQ(x, 10 * i + j);
            CHECK_EQ(x, int_at(b.get(), i, j));
        }
    CHECK(b.pointer({-1, -1}) == b.pointer({2, 3}));
    CHECK_THROWS(b.pointer({1}), XBUF_ERR_INVALID_ARGUMENT, "1 indices for 2 dimensions");
    CHECK_THROWS(b.pointer({3, 0}), XBUF_ERR_OUT_OF_BOUNDS, "");
    void *p = &b;
    CHECK_STATUS(b.try_pointer({0, 4}, p), XBUF_ERR_OUT_OF_BOUNDS, "");
    CHECK(p == nullptr);

    // to_contiguous / from_contiguous against the C functions.
    std::vector<unsigned char> f = b.to_contiguous('F');
    std::vector<unsigned char> expect(48);
    CHECK_EQ(xbuf_to_contiguous(expect.data(), expect.size(), b.get(), 'F'), XBUF_OK);
    CHECK(f == expect);
    int fcol[3];
    std::memcpy(fcol, f.data(), sizeof fcol);
    CHECK_EQ(fcol[1], 10);
    CHECK_THROWS(b.to_contiguous('Q'), XBUF_ERR_INVALID_ARGUMENT, "order");
    std::vector<int> ones(12, 1);
    b.from_contiguous(ones.data(), 48);
    CHECK_EQ(int_at(b.get(), 2, 3), 1);
    CHECK_THROWS(b.from_contiguous(ones.data(), 47), XBUF_ERR_INVALID_ARGUMENT, "47");

    // copy() between buffers; into a read-only one it fails.
    xbuf::object other = int_matrix();
    xbuf::buffer src(other);
    xbuf::copy(b, src);
    CHECK_EQ(int_at(b.get(), 2, 3), 23);
    xbuf::object ro = xbuf::ndarray_zeros("i", {3, 4}, 'C', XBUF_NDARRAY_READONLY);
    xbuf::buffer rb(ro);
    CHECK_THROWS(xbuf::copy(rb, src), XBUF_ERR_READONLY, "read-only");
    CHECK_STATUS(xbuf::try_copy(rb, src), XBUF_ERR_READONLY, "read-only");
    xbuf::buffer wrong(xbuf::ndarray_zeros("i", {4, 3}));
    CHECK_THROWS(xbuf::copy(wrong, src), XBUF_ERR_INVALID_ARGUMENT, "shapes differ");

    // reset() releases now; an empty buffer answers with zeros.
    b.reset();
    CHECK(b.empty());
    CHECK_EQ(obj.exports(), 0);
    CHECK(b.data() == nullptr);
    CHECK_EQ(b.len(), 0);
    CHECK_EQ(b.size(), 0);
    CHECK_EQ(std::string(b.format()), "");
    CHECK(b.shape().empty());
    CHECK(!b.is_contiguous());
    CHECK_THROWS(b.pointer({}), XBUF_ERR_RELEASED, "empty");
    b.reset(); // twice is harmless

    // A SIMPLE request has no shape, strides or format.
    xbuf::buffer s(obj, XBUF_SIMPLE);
    CHECK(s.shape().empty());
    CHECK(s.strides().empty());
    CHECK_EQ(std::string(s.format()), "B");
    CHECK_EQ(s.ndim(), 1);
    CHECK_EQ(s.len(), 48);

    // try_get: on failure the out-buffer is empty (its old view released).
    xbuf::buffer out(obj);
    CHECK_EQ(obj.exports(), 2);
    CHECK_STATUS(xbuf::buffer::try_get(ro, XBUF_WRITABLE, out), XBUF_ERR_READONLY, "");
    CHECK(out.empty());
    CHECK_EQ(obj.exports(), 1);
    CHECK_OK(xbuf::buffer::try_get(obj, XBUF_FULL_RO, out));
    CHECK_EQ(obj.exports(), 2);
}

// Three objects whose views keep their layout in the three places a view can: at len and
// itemsize (flat bytes), in the struct's inline storage (2-D, short format), on the heap (4-D,
// long format).
struct layouts {
    xbuf::object flat = xbuf::bytearray("0123456789", 10);
    xbuf::object inline_ = int_matrix();
    xbuf::object heap = xbuf::ndarray_zeros("=i:a_long_field_name:", {2, 3, 4, 5});
};

// Checks that `b` (the k-th buffer made by push_layout) still describes its memory correctly.
void check_moved(const xbuf::buffer &b, int k, const layouts &L) {
    const xbuf_bufferinfo *v = b.get();
    const char *self = reinterpret_cast<const char *>(v);
    auto inside = [&](const void *p) {
        const char *c = static_cast<const char *>(p);
        return c >= self && c < self + sizeof *v;
    };
    switch (k % 3) {
    case 0:
        CHECK(v->shape == &v->len);
        CHECK(v->strides == &v->itemsize);
        CHECK_EQ(b.shape()[0], 10);
        CHECK_EQ(static_cast<const char *>(b.data())[7], '7');
        CHECK(b.releaser() == L.flat.get());
        break;
    case 1:
        CHECK(inside(v->shape) && inside(v->strides) && inside(v->format));
        CHECK_EQ(std::string(b.format()), "i");
        CHECK_EQ(int_at(v, 2, 1), 21);
        CHECK(b.releaser() == L.inline_.get());
        break;
    default:
        CHECK(!inside(v->shape) && !inside(v->format));
        CHECK_EQ(b.shape()[3], 5);
        CHECK_EQ(b.strides()[0], 240);
        CHECK_EQ(std::string(b.format()), "=i:a_long_field_name:");
        CHECK(b.releaser() == L.heap.get());
        break;
    }
    CHECK(xbuf_is_contiguous(v, 'C') == 1);
}

void test_buffer_moves() {
    layouts L;
    {
        std::vector<xbuf::buffer> all;
        const xbuf::object *objs[3] = {&L.flat, &L.inline_, &L.heap};
        for (int k = 0; k < 150; k++) {
            all.push_back(xbuf::buffer(*objs[k % 3], XBUF_RECORDS_RO)); // reallocates often
            if (k % 37 == 0)
                for (int j = 0; j <= k; j++) check_moved(all[j], j, L);
        }
        CHECK(all.capacity() > 0);
        for (int k = 0; k < 150; k++) check_moved(all[k], k, L);
        CHECK_EQ(L.flat.exports(), 50);
        CHECK_EQ(L.inline_.exports(), 50);
        CHECK_EQ(L.heap.exports(), 50);
        // Erasing from the front moves every later buffer down one place.
        all.erase(all.begin());
        for (std::size_t k = 0; k < all.size(); k++) check_moved(all[k], static_cast<int>(k) + 1, L);
        CHECK_EQ(L.flat.exports(), 49);
        // Swapping goes through moves too.
        std::swap(all[0], all[1]);
        check_moved(all[0], 2, L);
        check_moved(all[1], 1, L);
    }
    CHECK_EQ(L.flat.exports() + L.inline_.exports() + L.heap.exports(), 0);

    // A moved-from buffer is empty and owes nothing; move assignment releases the target's view.
    xbuf::buffer a(L.inline_);
    xbuf::buffer b(L.heap);
    xbuf::buffer c(std::move(a));
    CHECK(a.empty());
    check_moved(c, 1, L);
    a.reset();
    CHECK_EQ(L.inline_.exports(), 1);
    c = std::move(b);
    CHECK_EQ(L.inline_.exports(), 0);
    CHECK_EQ(L.heap.exports(), 1);
    check_moved(c, 2, L);
    xbuf::buffer &alias = c;
    c = std::move(alias); // self-move keeps the view
    check_moved(c, 2, L);
    CHECK_EQ(L.heap.exports(), 1);
    xbuf::buffer empty;
    c = std::move(empty); // moving an empty buffer in releases and empties
    CHECK(c.empty());
    CHECK_EQ(L.heap.exports(), 0);

    // A buffer returned from a function and handed to another thread, released there.
    auto make = [&]() { return xbuf::buffer(L.inline_); };
    xbuf::buffer moved = make();
    check_moved(moved, 1, L);
    int seen = 0;
    std::thread t([&seen, owned = std::move(moved)]() mutable {
        seen = int_at(owned.get(), 1, 2);
        owned.reset();
    });
    t.join();
    CHECK_EQ(seen, 12);
    CHECK(moved.empty());
    CHECK_EQ(L.inline_.exports(), 0);
}

} // namespace

XBUF_TEST_MAIN(XT_CASE(test_status_and_error), XT_CASE(test_object_handles),
               XT_CASE(test_builtin_exporters), XT_CASE(test_buffer_accessors),
               XT_CASE(test_buffer_moves))
