// Exporters written in C++: export_vector (zero-copy, shapes, bad shapes that leave the vector
// untouched) and the xbuf::exporter base class (instances counted: deleted exactly when the
// last reference and the last view are gone, on whichever thread that happens; release()
// called once per view and for locks; failures and exceptions from get() reach the consumer
// as statuses).
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "xbuf_cpp_test.hpp"

namespace {

void test_export_vector() {
    std::vector<double> v{0.5, 1.5, 2.5, 3.5, 4.5, 5.5};
    const double *storage = v.data();
    xbuf::object obj = xbuf::export_vector(std::move(v), {2, 3});
    CHECK(v.empty()); // moved, never copied
    CHECK_EQ(std::string(obj.type_name()), "std::vector");
    {
        xbuf::buffer b(obj, XBUF_RECORDS);
        CHECK(b.data() == storage);
        CHECK_EQ(std::string(b.format()), "d");
        CHECK_EQ(b.shape()[0], 2);
        CHECK_EQ(b.shape()[1], 3);
        CHECK_EQ(b.strides()[0], 24);
        CHECK(!b.readonly());
        auto s = b.as_strided<double, 2>();
        CHECK_EQ(s(1, 2), 5.5);
        s(0, 0) = -1;
        CHECK_EQ(xbuf::view(obj).tolist(), "[[-1.0, 1.5, 2.5], [3.5, 4.5, 5.5]]");
        // The library checks requests against the answer.
        CHECK_THROWS(xbuf::buffer(obj, XBUF_F_CONTIGUOUS), XBUF_ERR_NOT_CONTIGUOUS, "");
    }
    // One dimension by default; the view outlives the handle.
    std::vector<std::int16_t> w{1, 2, 3};
    xbuf::object o1 = xbuf::export_vector(std::move(w));
    xbuf::buffer kept(o1);
    o1.reset();
    CHECK_EQ(kept.as_span<const std::int16_t>().size(), 3u);
    CHECK_EQ(kept.as_span<const std::int16_t>()[2], 3);
    CHECK_EQ(std::string(kept.format()), "h");
    kept.reset();
    // Zero dimensions: one item.
    xbuf::object scalar = xbuf::export_vector(std::vector<float>{2.5f}, {});
    CHECK_EQ(xbuf::view(scalar).tolist(), "2.5");
    CHECK_EQ(xbuf::buffer(scalar).ndim(), 0);
    // An empty vector.
    xbuf::object nothing = xbuf::export_vector(std::vector<int>{});
    CHECK_EQ(xbuf::buffer(nothing).len(), 0);
    CHECK_EQ(xbuf::view(nothing).tolist(), "[]");
    // Complex numbers and a user-chosen shape of many dimensions.
    std::vector<std::complex<double>> z(8, {1, -2});
    CHECK_EQ(xbuf::view(xbuf::export_vector(std::move(z), {2, 2, 2})).index({1, 1, 1}).tolist(), "[1.0, -2.0]");

    // Bad shapes fail and leave the vector where it was.
    std::vector<int> five{1, 2, 3, 4, 5};
    const int *five_data = five.data();
    CHECK_THROWS(xbuf::export_vector(std::move(five), {2, 2}), XBUF_ERR_INVALID_ARGUMENT,
                 "holds 4 items but the vector has 5");
    CHECK_EQ(five.size(), 5u);
    CHECK(five.data() == five_data);
    xbuf::object out = xbuf::bytes("x", 1);
    CHECK_STATUS(xbuf::try_export_vector(std::move(five), {-1, -5}, out), XBUF_ERR_INVALID_ARGUMENT,
                 "negative");
    CHECK(!out);
    CHECK_EQ(five.size(), 5u);
    std::vector<std::ptrdiff_t> many(65, 1);
    CHECK_STATUS(xbuf::try_export_vector(std::move(five), many, out), XBUF_ERR_INVALID_ARGUMENT,
                 "65 dimensions");
    std::vector<std::ptrdiff_t> huge{std::ptrdiff_t(1) << 40, std::ptrdiff_t(1) << 40};
    CHECK_STATUS(xbuf::try_export_vector(std::move(five), huge, out), XBUF_ERR_INVALID_ARGUMENT,
                 "the vector has 5");
    CHECK(five.data() == five_data);
    CHECK_OK(xbuf::try_export_vector(std::move(five), {5}, out));
    CHECK(five.empty());
    CHECK_EQ(xbuf::view(out).tolist(), "[1, 2, 3, 4, 5]");
}

std::atomic<int> alive{0};
std::atomic<int> releases{0};
std::atomic<int> lock_returns{0};

// A 2 x 2 grid of int32 with counted instances; its views carry `this` in internal.
class grid : public xbuf::exporter {
public:
    explicit grid(int first) {
        for (int k = 0; k < 4; k++) cells[k] = first + k;
        alive++;
    }
    ~grid() override { alive--; }
    xbuf::status get(xbuf_bufferinfo &view, int flags) override {
        if ((flags & XBUF_WRITABLE) == XBUF_WRITABLE) return xbuf::status(XBUF_ERR_READONLY, "grid: read-only");
        view.buf = cells;
        view.len = sizeof cells;
        view.itemsize = sizeof(int);
        view.readonly = 1;
        view.ndim = 2;
        view.format = "i";
        view.shape = shape;
        view.internal = this;
        return {};
    }
    void release(xbuf_bufferinfo *view) noexcept override {
        if (view == nullptr) {
            lock_returns++;
        } else if (view->internal == this) {
            releases++;
        }
    }
    const char *name() const noexcept override { return "grid"; }

    int cells[4];
    std::ptrdiff_t shape[2] = {2, 2};
};

void test_exporter_lifetimes() {
    alive = 0;
    releases = 0;
    lock_returns = 0;
    xbuf::object obj = xbuf::make_object<grid>(10);
    CHECK_EQ(alive.load(), 1);
    CHECK_EQ(std::string(obj.type_name()), "grid");
    grid *g = static_cast<grid *>(static_cast<xbuf::exporter *>(obj.state()));
    CHECK_EQ(g->cells[3], 13);
    {
        xbuf::buffer a(obj);
        xbuf::buffer b(obj);
        CHECK_EQ(obj.exports(), 2);
        CHECK(a.info().internal == g);
        CHECK_EQ((a.as_strided<const int, 2>()(1, 0)), 12);
        CHECK_EQ(xbuf::view(obj).tolist(), "[[10, 11], [12, 13]]");
        // Buffers move; each release reaches the exporter once.
        std::vector<xbuf::buffer> moved;
        moved.push_back(std::move(a));
        moved.push_back(std::move(b));
        CHECK_EQ(releases.load(), 1); // the temporary view made by xbuf::view above
    }
    CHECK_EQ(releases.load(), 3);
    obj.lock();
    obj.unlock();
    CHECK_EQ(lock_returns.load(), 1);

    // The instance lives while any view does, and goes with the last of them.
    xbuf::buffer last(obj);
    xbuf::view v(obj);
    xbuf::view row = v.index({1});
    obj.reset();
    v.reset();
    CHECK_EQ(alive.load(), 1);
    CHECK_EQ(xbuf::buffer(row).as_span<const int>()[1], 13);
    row.reset();
    CHECK_EQ(alive.load(), 1);
    std::thread t([owned = std::move(last)]() mutable { owned.reset(); });
    t.join();
    CHECK_EQ(alive.load(), 0);

    // unique_ptr form; a null exporter is refused.
    xbuf::object o2 = xbuf::make_object(std::unique_ptr<xbuf::exporter>(new grid(0)));
    CHECK_EQ(alive.load(), 1);
    o2.reset();
    CHECK_EQ(alive.load(), 0);
    CHECK_THROWS(xbuf::make_object(std::unique_ptr<xbuf::exporter>()), XBUF_ERR_NULL_ARGUMENT, "no exporter");
    std::unique_ptr<xbuf::exporter> kept;
    xbuf::object out = xbuf::bytes("x", 1);
    CHECK_STATUS(xbuf::try_make_object(std::move(kept), out), XBUF_ERR_NULL_ARGUMENT, "no exporter");
    CHECK(!out);
    CHECK_OK(xbuf::try_make_object<grid>(out, 5));
    CHECK_EQ(alive.load(), 1);
    out.reset();
    CHECK_EQ(alive.load(), 0);
}

// An exporter whose get() fails in every way an exporter can.
class failing : public xbuf::exporter {
public:
    explicit failing(int mode) : mode_(mode) {}
    xbuf::status get(xbuf_bufferinfo &view, int) override {
        switch (mode_) {
        case 0:
            return xbuf::status(XBUF_ERR_IO, "failing: the device is gone");
        case 1:
            throw xbuf::error(XBUF_ERR_BUSY, "failing: busy right now");
        case 2:
            throw std::runtime_error("failing: a plain exception");
        case 3:
            throw std::bad_alloc();
        case 4:
            throw 42;
        default:
            view.buf = &mode_;
            view.len = 3; // not a multiple of itemsize: a broken answer
            view.itemsize = 2;
            return {};
        }
    }

private:
    int mode_;
};

struct throws_on_construction : xbuf::exporter {
    throws_on_construction() { throw std::runtime_error("no construction today"); }
    xbuf::status get(xbuf_bufferinfo &, int) override { return {}; }
};

void test_exporter_failures() {
    CHECK_THROWS(xbuf::buffer(xbuf::make_object<failing>(0)), XBUF_ERR_IO, "the device is gone");
    CHECK_THROWS(xbuf::buffer(xbuf::make_object<failing>(1)), XBUF_ERR_BUSY, "busy right now");
    CHECK_THROWS(xbuf::buffer(xbuf::make_object<failing>(2)), XBUF_ERR_BAD_EXPORTER, "a plain exception");
    CHECK_THROWS(xbuf::buffer(xbuf::make_object<failing>(3)), XBUF_ERR_NO_MEMORY, "out of memory");
    CHECK_THROWS(xbuf::buffer(xbuf::make_object<failing>(4)), XBUF_ERR_BAD_EXPORTER, "exception");
    CHECK_THROWS(xbuf::buffer(xbuf::make_object<failing>(5)), XBUF_ERR_BAD_EXPORTER, "");
    xbuf::buffer out(xbuf::bytes("x", 1));
    CHECK_STATUS(xbuf::buffer::try_get(xbuf::make_object<failing>(0), XBUF_SIMPLE, out), XBUF_ERR_IO, "gone");
    CHECK(out.empty());
    // A request the exporter refuses by its own rule.
    alive = 0;
    CHECK_THROWS(xbuf::buffer(xbuf::make_object<grid>(1), XBUF_WRITABLE), XBUF_ERR_READONLY, "grid: read-only");
    CHECK_EQ(alive.load(), 0);
    // A constructor that throws: the exception as such, or a status from the try_ form.
    bool thrown = false;
    try {
        (void)xbuf::make_object<throws_on_construction>();
    } catch (const std::runtime_error &e) {
        thrown = std::string(e.what()) == "no construction today";
    }
    CHECK(thrown);
    xbuf::object o = xbuf::bytes("x", 1);
    CHECK_STATUS(xbuf::try_make_object<throws_on_construction>(o), XBUF_ERR_PANIC, "no construction today");
    CHECK(!o);
}

} // namespace

XBUF_TEST_MAIN(XT_CASE(test_export_vector), XT_CASE(test_exporter_lifetimes), XT_CASE(test_exporter_failures))
