// A tour of xbuf.hpp, the C++17 interface: a std::vector lent as a matrix without a copy,
// views sliced in every dimension, typed access through span, a strided accessor and (C++23)
// std::mdspan, an exporter written as a C++ class, buffers that move, and errors both as
// exceptions and as statuses.
#include <cstdio>
#include <string>
#include <vector>

#include "xbuf.hpp"

namespace {

// An exporter in a few lines: a read-only 3 x 3 identity matrix of floats.
class identity : public xbuf::exporter {
public:
    xbuf::status get(xbuf_bufferinfo &view, int flags) override {
        (void)flags; // the library checks the request against this answer
        view.buf = cells;
        view.len = sizeof cells;
        view.itemsize = sizeof(float);
        view.readonly = 1;
        view.ndim = 2;
        view.format = xbuf::format_of<float>();
        view.shape = shape;
        return {};
    }
    const char *name() const noexcept override { return "identity"; }

private:
    float cells[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    std::ptrdiff_t shape[2] = {3, 3};
};

} // namespace

int main() {
    // 1. A vector becomes an object: 2 x 4 doubles, moved in, never copied.
    std::vector<double> data{1, 2, 3, 4, 5, 6, 7, 8};
    xbuf::object matrix = xbuf::export_vector(std::move(data), {2, 4});
    std::printf("exported a %s: %s\n", matrix.type_name(), xbuf::view(matrix).tolist().c_str());

    // 2. Views: the memoryview of C, sliced in every dimension.
    xbuf::view v(matrix);
    xbuf::view corner = v.slice({{0, 2}, {xbuf::omit, 1, -1}}); // v[0:2, :1:-1]
    std::printf("v[0:2, :1:-1] = %s, transposed %s\n", corner.tolist().c_str(),
                corner.transpose().tolist().c_str());

    // 3. Typed access. A row is contiguous: a span.
    xbuf::buffer row(v.index({1}), XBUF_RECORDS);
    double sum = 0;
    for (double x : row.as_span<double>()) sum += x;
    std::printf("sum of row 1: %g\n", sum);

    // Negative strides: a strided accessor.
    xbuf::buffer rev(v.slice({{xbuf::omit, xbuf::omit, -1}, {xbuf::omit, xbuf::omit, -1}}));
    auto r = rev.as_strided<const double, 2>();
    std::printf("reversed: first %g, last %g, strides %td and %td bytes\n", r(0, 0), r(1, 3),
                r.stride(0), r.stride(1));

#if XBUF_HPP_MDSPAN
    // std::mdspan where the library has it (C++23).
    xbuf::buffer whole(matrix);
    auto m = whole.as_mdspan<const double, 2, std::layout_right>();
    std::printf("mdspan: m[1, 2] = %g\n", m[1, 2]);
#endif

    // 4. An exporter written as a class; its views outlive every handle to it.
    xbuf::buffer eye;
    {
        xbuf::object obj = xbuf::make_object<identity>();
        eye = xbuf::buffer(obj);
    }
    std::printf("%s: diagonal %g %g %g\n", xbuf::format_of<float>(),
                eye.as_strided<const float, 2>()(0, 0), eye.as_strided<const float, 2>()(1, 1),
                eye.as_strided<const float, 2>()(2, 2));

    // 5. Buffers move (the view's layout moves with them), so containers may hold them.
    const std::ptrdiff_t before = matrix.exports();
    std::vector<xbuf::buffer> held;
    for (int k = 0; k < 8; k++) held.push_back(xbuf::buffer(matrix));
    std::printf("8 buffers in a std::vector: %td more exports\n", matrix.exports() - before);
    held.clear();

    // 6. Errors: exceptions carry the status and the library's message...
    try {
        (void)row.as_span<float>();
    } catch (const xbuf::error &e) {
        std::printf("as_span<float>: %s\n", e.name());
    }
    try {
        xbuf::buffer fortran(matrix, XBUF_F_CONTIGUOUS);
    } catch (const xbuf::error &e) {
        std::printf("Fortran order: %s: %s\n", e.name(), e.what());
    }
    // ... and the try_ forms return it, for code built without exceptions.
    xbuf::view bad;
    xbuf::status s = v.try_slice({{0, 2, 0}}, bad);
    std::printf("zero step: %s (%s)\n", s.name(), s.ok() ? "ok" : "refused");

    std::printf("cpp tour complete\n");
    return 0;
}
