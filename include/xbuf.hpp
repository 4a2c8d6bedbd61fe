/*
 * xbuf.hpp: the extended buffer protocol (PEP 3118) for C++17, header-only, over xbuf.h.
 *
 * What it gives:
 *  - xbuf::object   a reference-counted handle to an xbuf_object (copy = xbuf_incref);
 *  - xbuf::buffer   a filled xbuf_bufferinfo owned for its lifetime (move-only; moves through
 *                   xbuf_bufferinfo_move, so it may live in containers that reallocate);
 *  - xbuf::view     an xbuf_view (the memoryview of C) with its operations as methods;
 *  - typed access   format_of<T>(), buffer::as_span<T>(), buffer::as_strided<T, Rank>() (any
 *                   strides, negative and zero included) and, where the standard library has
 *                   std::mdspan (C++23), buffer::as_mdspan<T, Rank, Layout>();
 *  - exporters      xbuf::export_vector() and the xbuf::exporter base class.
 *
 * Conventions used throughout:
 *  - Errors. Every fallible operation exists twice: a throwing form (xbuf::error, carrying the
 *    status and the library's message) and a noexcept form named try_..., which takes the same
 *    arguments (without defaults) followed by an out-parameter, and returns an xbuf::status.
 *    On failure the out-parameter of a try_ form is left empty (objects, views, buffers,
 *    strings, vectors) or unchanged (span, strided and mdspan accessors). The throwing forms
 *    are compiled only when exceptions are enabled (XBUF_HPP_EXCEPTIONS is 1); code built with
 *    -fno-exceptions uses the try_ forms. Failures that this header detects itself (a format
 *    that does not match T, an unaligned buffer, ...) are also recorded for the thread, as the
 *    C functions do (xbuf_last_error_message()). Statuses are the XBUF_ERR_* codes of xbuf.h;
 *    each function names the ones specific to it, or the C function whose errors it shares.
 *  - Ownership. Handles own what they hold and give it back in their destructors: an object
 *    handle one reference, a buffer one view (hence one export and one reference of its
 *    releaser). Raw pointers returned by get()/data() are borrowed from the handle.
 *  - Threads. Distinct handles may be used on distinct threads, also when they refer to the
 *    same object (counts are atomic), like std::shared_ptr. One handle (object, view, buffer)
 *    must not be modified by two threads at once; const operations on a shared object or view
 *    handle are safe from any thread. Memory reached through a writable view is shared: its
 *    writers coordinate among themselves.
 *  - Allocation. Functions that build a std::string or std::vector report std::bad_alloc as
 *    XBUF_ERR_NO_MEMORY in their try_ form; without exceptions an allocation failure
 *    terminates the program, as it does in any -fno-exceptions code.
 */
#ifndef XBUF_HPP
#define XBUF_HPP

#include "xbuf.h"

#include <array>
#include <cstdarg>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if __has_include(<version>)
#include <version>
#endif

/** 1 when the throwing API is compiled (exceptions enabled); define it to 0 to hide it. */
#ifndef XBUF_HPP_EXCEPTIONS
#if defined(__cpp_exceptions)
#define XBUF_HPP_EXCEPTIONS 1
#else
#define XBUF_HPP_EXCEPTIONS 0
#endif
#endif

/** 1 when xbuf::span<T> is std::span<T> (C++20 libraries), 0 when it is the header's own. */
#if defined(__cpp_lib_span) && __cpp_lib_span >= 202002L
#include <span>
#define XBUF_HPP_STD_SPAN 1
#else
#define XBUF_HPP_STD_SPAN 0
#endif

/** 1 when std::mdspan exists (C++23 libraries) and buffer::as_mdspan is available. */
#if __cplusplus > 202002L && __has_include(<mdspan>)
#include <mdspan>
#include <optional>
#endif
#if defined(__cpp_lib_mdspan) && __cpp_lib_mdspan >= 202207L
#define XBUF_HPP_MDSPAN 1
#else
#define XBUF_HPP_MDSPAN 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define XBUF_HPP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define XBUF_HPP_PRINTF(f, a)
#endif

namespace xbuf {

// ---------------------------------------------------------------------------------------------
// Status and errors
// ---------------------------------------------------------------------------------------------

namespace detail {
/* Copies a C string into s; never throws (on allocation failure s is left empty). */
inline void assign_message(std::string &s, const char *text) noexcept {
    if (text == nullptr) return;
#if XBUF_HPP_EXCEPTIONS
    try {
        s.assign(text);
    } catch (...) {
        s.clear();
    }
#else
    s.assign(text);
#endif
}
} // namespace detail

/**
 * The outcome of a try_ operation: XBUF_OK, or an XBUF_ERR_* code with the message that says
 * what was asked and what was found. A value type: copy it, keep it, pass it between threads.
 * [[nodiscard]]: a status that is ignored is a warning.
 */
class [[nodiscard]] status {
public:
    /** Success (XBUF_OK, empty message). Never fails. */
    status() noexcept = default;
    /** A status with `code` and a copy of `message` (NULL means empty). Never fails. */
    status(int code, const char *message) noexcept : code_(code) {
        detail::assign_message(message_, message);
    }
    /** Whether the status is XBUF_OK. */
    bool ok() const noexcept { return code_ == XBUF_OK; }
    /** The status code: XBUF_OK or an XBUF_ERR_* constant. */
    int code() const noexcept { return code_; }
    /** The code's name ("XBUF_ERR_FORMAT", ...): static storage, never NULL. */
    const char *name() const noexcept { return xbuf_status_str(code_); }
    /** The message (empty for XBUF_OK). Borrowed from the status. */
    const std::string &message() const noexcept { return message_; }

private:
    int code_ = XBUF_OK;
    std::string message_;
};

namespace detail {
/* The status of a C call: success, or the code with the thread's last message. */
inline status last_status(int rc) noexcept {
    if (rc == XBUF_OK) return status();
    return status(rc, xbuf_last_error_message());
}

/* A failure found by this header: recorded for the thread as the C functions record theirs. */
XBUF_HPP_PRINTF(2, 3)
inline status fail(int code, const char *fmt, ...) noexcept {
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    (void)xbuf_set_error(code, text);
    return status(code, text);
}
} // namespace detail

#if XBUF_HPP_EXCEPTIONS
/**
 * What every throwing function of this header throws: the status code (code(), name()) and
 * the message (what(), which names the function, what was asked and what was found).
 */
class error : public std::runtime_error {
public:
    /** An error with `code` and `message`. Throws std::bad_alloc only. */
    error(int code, const std::string &message) : std::runtime_error(message), code_(code) {}
    /** The error of a failed status. */
    explicit error(const status &s) : std::runtime_error(s.message()), code_(s.code()) {}
    /** The XBUF_ERR_* code. */
    int code() const noexcept { return code_; }
    /** The code's name ("XBUF_ERR_FORMAT", ...): static storage. */
    const char *name() const noexcept { return xbuf_status_str(code_); }
    /** The same failure as a status. */
    status to_status() const noexcept { return status(code_, what()); }

private:
    int code_;
};
#endif

namespace detail {
#if XBUF_HPP_EXCEPTIONS
inline void throw_if(const status &s) {
    if (!s.ok()) throw error(s);
}
#endif

/* Runs f (which returns a status) and turns exceptions into statuses, so that a try_ form
 * can use the standard library's containers and stay noexcept. */
template <class F>
status guard(F &&f) noexcept {
#if XBUF_HPP_EXCEPTIONS
    try {
        return f();
    } catch (const error &e) {
        return e.to_status();
    } catch (const std::bad_alloc &) {
        return fail(XBUF_ERR_NO_MEMORY, "xbuf: out of memory");
    } catch (const std::length_error &e) {
        return fail(XBUF_ERR_OVERFLOW, "xbuf: %s", e.what());
    } catch (const std::exception &e) {
        return fail(XBUF_ERR_PANIC, "xbuf: unexpected exception: %s", e.what());
    } catch (...) {
        return fail(XBUF_ERR_PANIC, "xbuf: unexpected exception");
    }
#else
    return f();
#endif
}
} // namespace detail

// ---------------------------------------------------------------------------------------------
// Small value types for arguments
// ---------------------------------------------------------------------------------------------

/**
 * A read-only, non-owning view of a contiguous array of T, for arguments: it binds to a braced
 * list ({2, 3}), a std::vector, a std::array, a C array, or (pointer, count). It does not
 * extend the lifetime of what it refers to: use it only as a function parameter.
 */
template <class T>
class array_ref {
public:
    /** An empty list. */
    constexpr array_ref() noexcept = default;
    /** `size` elements at `data` (NULL allowed when `size` is 0). */
    constexpr array_ref(const T *data, std::size_t size) noexcept : data_(data), size_(size) {}
    /** The elements of a braced list (valid until the end of the full expression). */
    constexpr array_ref(std::initializer_list<T> list) noexcept
        : data_(std::data(list)), size_(list.size()) {}
    /** The elements of a C array. */
    template <std::size_t N>
    constexpr array_ref(const T (&a)[N]) noexcept : data_(a), size_(N) {}
    /** The elements of a std::array. */
    template <std::size_t N>
    constexpr array_ref(const std::array<T, N> &a) noexcept : data_(a.data()), size_(N) {}
    /** The elements of a std::vector. */
    array_ref(const std::vector<T> &v) noexcept : data_(v.data()), size_(v.size()) {}

    /** The first element (NULL or dangling when empty). */
    constexpr const T *data() const noexcept { return data_; }
    /** The number of elements. */
    constexpr std::size_t size() const noexcept { return size_; }
    /** Whether there are no elements. */
    constexpr bool empty() const noexcept { return size_ == 0; }
    /** Element `i` (unchecked). */
    constexpr const T &operator[](std::size_t i) const noexcept { return data_[i]; }
    /** Iteration. */
    constexpr const T *begin() const noexcept { return data_; }
    /** Iteration. */
    constexpr const T *end() const noexcept { return data_ + size_; }

private:
    const T *data_ = nullptr;
    std::size_t size_ = 0;
};

/** In a range: this bound or step is omitted, as in Python's a[::2] (XBUF_SLICE_OMIT). */
inline constexpr std::ptrdiff_t omit = XBUF_SLICE_OMIT;

/**
 * One dimension's range for view::slice, with Python's semantics: negative bounds count from
 * the end, out-of-range bounds are clamped, the step may be negative but not zero. range{}
 * is the whole dimension (a[:]); range{1, 5} is a[1:5]; range{omit, omit, -1} is a[::-1].
 */
struct range {
    /** First index (omit: from the start, or from the end for a negative step). */
    std::ptrdiff_t start = omit;
    /** Index to stop before (omit: to the end). */
    std::ptrdiff_t stop = omit;
    /** Step (omit means 1). */
    std::ptrdiff_t step = omit;

    /** The whole dimension. */
    constexpr range() noexcept = default;
    /** start:stop:step. */
    constexpr range(std::ptrdiff_t start_, std::ptrdiff_t stop_,
                    std::ptrdiff_t step_ = omit) noexcept
        : start(start_), stop(stop_), step(step_) {}
};

/** The whole dimension, as a named constant. */
inline constexpr range all{};

// ---------------------------------------------------------------------------------------------
// Formats of C++ types
// ---------------------------------------------------------------------------------------------

/**
 * The PEP 3118 format of a C++ type, as `static constexpr const char *value`. Specialized for
 * the arithmetic types (native size and byte order: "b" for signed char, "i" for int, "d" for
 * double, "c" for char, "u"/"w" for char16_t/char32_t/wchar_t, ...), bool ("?"),
 * std::complex<float|double|long double> ("Zf", "Zd", "Zg") and std::byte ("B"). Specialize
 * it for your own trivially copyable types, for example
 *     template <> struct xbuf::format_traits<point> {
 *         static constexpr const char *value = "T{d:x:d:y:}"; };
 * so that export_vector, as_span, as_strided and as_mdspan accept them.
 */
template <class T>
struct format_traits {};

#define XBUF_HPP_FORMAT(type, text)                                                            \
    template <>                                                                                \
    struct format_traits<type> {                                                               \
        static constexpr const char *value = text;                                             \
    };
XBUF_HPP_FORMAT(bool, "?")
XBUF_HPP_FORMAT(char, "c")
XBUF_HPP_FORMAT(signed char, "b")
XBUF_HPP_FORMAT(unsigned char, "B")
XBUF_HPP_FORMAT(short, "h")
XBUF_HPP_FORMAT(unsigned short, "H")
XBUF_HPP_FORMAT(int, "i")
XBUF_HPP_FORMAT(unsigned int, "I")
XBUF_HPP_FORMAT(long, "l")
XBUF_HPP_FORMAT(unsigned long, "L")
XBUF_HPP_FORMAT(long long, "q")
XBUF_HPP_FORMAT(unsigned long long, "Q")
XBUF_HPP_FORMAT(float, "f")
XBUF_HPP_FORMAT(double, "d")
XBUF_HPP_FORMAT(long double, "g")
XBUF_HPP_FORMAT(char16_t, "u")
XBUF_HPP_FORMAT(char32_t, "w")
XBUF_HPP_FORMAT(wchar_t, sizeof(wchar_t) == 2 ? "u" : "w")
#if defined(__cpp_char8_t)
XBUF_HPP_FORMAT(char8_t, "c")
#endif
XBUF_HPP_FORMAT(std::byte, "B")
XBUF_HPP_FORMAT(std::complex<float>, "Zf")
XBUF_HPP_FORMAT(std::complex<double>, "Zd")
XBUF_HPP_FORMAT(std::complex<long double>, "Zg")
#undef XBUF_HPP_FORMAT

namespace detail {
template <class T, class = void>
struct has_format : std::false_type {};
template <class T>
struct has_format<T, std::void_t<decltype(format_traits<T>::value)>> : std::true_type {};
} // namespace detail

/** Whether format_of<T>() exists (cv-qualifiers ignored). */
template <class T>
constexpr bool has_format_v = detail::has_format<std::remove_cv_t<T>>::value;

/**
 * The PEP 3118 format of T (cv-qualifiers ignored): static storage, never NULL. A type
 * without a format_traits specialization is a compile-time error.
 */
template <class T>
constexpr const char *format_of() noexcept {
    static_assert(has_format_v<T>,
                  "xbuf::format_of<T>: T has no PEP 3118 format; "
                  "specialize xbuf::format_traits<T>");
    return format_traits<std::remove_cv_t<T>>::value;
}

namespace detail {
/* Whether two format texts describe the same item layout (xbuf_format_equivalent). */
inline bool same_format(const char *a, const char *b) noexcept {
    if (std::strcmp(a, b) == 0) return true;
    xbuf_format *fa = nullptr, *fb = nullptr;
    bool same = xbuf_format_parse(a, &fa) == XBUF_OK && xbuf_format_parse(b, &fb) == XBUF_OK &&
                xbuf_format_equivalent(fa, fb) == 1;
    xbuf_format_free(fa);
    xbuf_format_free(fb);
    return same;
}

/* A count of arguments for a C function that takes an int. */
inline status int_count(std::size_t n, const char *who, const char *what, int &out) noexcept {
    if (n > static_cast<std::size_t>(XBUF_MAX_NDIM))
        return fail(XBUF_ERR_INVALID_ARGUMENT, "%s: %zu %s (at most %d allowed)", who, n, what,
                    XBUF_MAX_NDIM);
    out = static_cast<int>(n);
    return status();
}
} // namespace detail

// ---------------------------------------------------------------------------------------------
// object
// ---------------------------------------------------------------------------------------------

/**
 * A handle owning one reference to an xbuf_object (or nothing). Copying it takes another
 * reference (xbuf_incref), destroying it drops its reference (xbuf_decref), moving it moves the
 * reference. Operations on an empty handle fail with XBUF_ERR_NULL_ARGUMENT.
 * Thread safety: as std::shared_ptr (see the conventions at the top).
 */
class object {
public:
    /** An empty handle. */
    object() noexcept = default;

    /**
     * Takes ownership of one reference the caller owns (from a C function that returns an
     * owned reference, or from release()). NULL gives an empty handle. Never fails.
     */
    static object adopt(xbuf_object *p) noexcept {
        object o;
        o.p_ = p;
        return o;
    }

    /**
     * A new handle with its own reference to `p`, which the caller keeps (xbuf_incref).
     * On failure `out` is empty. Errors: as xbuf_incref.
     */
    static status try_borrow(xbuf_object *p, object &out) noexcept {
        int rc = xbuf_incref(p);
        out = adopt(rc == XBUF_OK ? p : nullptr);
        return detail::last_status(rc);
    }
#if XBUF_HPP_EXCEPTIONS
    /** As try_borrow; throws xbuf::error. */
    static object borrow(xbuf_object *p) {
        object o;
        detail::throw_if(try_borrow(p, o));
        return o;
    }
#endif

    /**
     * Another handle to the same object (xbuf_incref). Fails only for more than 2^36
     * references or a corrupted object: throws xbuf::error, or aborts without exceptions.
     */
    object(const object &o) : p_(o.p_) {
        if (p_ != nullptr) {
            int rc = xbuf_incref(p_);
            if (rc != XBUF_OK) {
                p_ = nullptr;
#if XBUF_HPP_EXCEPTIONS
                throw error(detail::last_status(rc));
#else
                std::abort();
#endif
            }
        }
    }
    /** Takes `o`'s reference; `o` becomes empty. */
    object(object &&o) noexcept : p_(o.p_) { o.p_ = nullptr; }
    /** Copy assignment (as the copy constructor). */
    object &operator=(const object &o) {
        if (this != &o) {
            object copy(o);
            swap(copy);
        }
        return *this;
    }
    /** Move assignment: drops this handle's reference, takes `o`'s. */
    object &operator=(object &&o) noexcept {
        if (this != &o) {
            reset();
            p_ = o.p_;
            o.p_ = nullptr;
        }
        return *this;
    }
    /** Drops the reference (the object is freed when its last reference and export go). */
    ~object() { reset(); }

    /** The raw pointer, borrowed (NULL when empty): for C calls. */
    xbuf_object *get() const noexcept { return p_; }
    /** Gives up ownership: returns the reference (the caller must xbuf_decref it) and
     * leaves the handle empty. */
    [[nodiscard]] xbuf_object *release() noexcept {
        xbuf_object *p = p_;
        p_ = nullptr;
        return p;
    }
    /** Drops the reference now; the handle becomes empty. */
    void reset() noexcept {
        if (p_ != nullptr) (void)xbuf_decref(p_);
        p_ = nullptr;
    }
    /** Exchanges two handles. */
    void swap(object &o) noexcept { std::swap(p_, o.p_); }
    /** Whether the handle holds an object. */
    explicit operator bool() const noexcept { return p_ != nullptr; }

    /** The object's type name ("bytearray", "view", an exporter's name), borrowed from the
     * object; NULL for an empty handle. */
    const char *type_name() const noexcept {
        return p_ != nullptr ? xbuf_object_type_name(p_) : nullptr;
    }
    /** The reference count, or -1 for an empty handle (a snapshot: it may change at once). */
    std::ptrdiff_t refcount() const noexcept { return p_ != nullptr ? xbuf_refcount(p_) : -1; }
    /** The export count (live views whose releaser it is, plus locks), or -1 when empty. */
    std::ptrdiff_t exports() const noexcept { return p_ != nullptr ? xbuf_exports(p_) : -1; }
    /** The `state` of an object made with xbuf_object_new (NULL otherwise). Borrowed. */
    void *state() const noexcept { return p_ != nullptr ? xbuf_object_state(p_) : nullptr; }

    /** Takes an export lock (xbuf_lock); return it with unlock(). Errors: as xbuf_lock. */
    status try_lock() const noexcept { return detail::last_status(xbuf_lock(p_)); }
    /** Returns a lock taken with lock() (xbuf_unlock). Errors: as xbuf_unlock. */
    status try_unlock() const noexcept { return detail::last_status(xbuf_unlock(p_)); }
#if XBUF_HPP_EXCEPTIONS
    /** As try_lock; throws xbuf::error. */
    void lock() const { detail::throw_if(try_lock()); }
    /** As try_unlock; throws xbuf::error. */
    void unlock() const { detail::throw_if(try_unlock()); }
#endif

private:
    xbuf_object *p_ = nullptr;
};

// ---------------------------------------------------------------------------------------------
// Built-in exporters
// ---------------------------------------------------------------------------------------------

/** An immutable bytes object holding a copy of `len` bytes at `data` (xbuf_bytes_new). On
 * failure `out` is empty. Errors: as xbuf_bytes_new. */
inline status try_bytes(const void *data, std::size_t len, object &out) noexcept {
    xbuf_object *p = nullptr;
    int rc = xbuf_bytes_new(data, len, &p);
    out = object::adopt(p);
    return detail::last_status(rc);
}
/** A resizable bytearray: a copy of `len` bytes at `data`, or `len` zeros when `data` is NULL
 * (xbuf_bytearray_new). On failure `out` is empty. Errors: as xbuf_bytearray_new. */
inline status try_bytearray(const void *data, std::size_t len, object &out) noexcept {
    xbuf_object *p = nullptr;
    int rc = xbuf_bytearray_new(data, len, &p);
    out = object::adopt(p);
    return detail::last_status(rc);
}
/** Resizes a bytearray (xbuf_bytearray_resize; XBUF_ERR_BUSY while it is exported). */
inline status try_bytearray_resize(const object &obj, std::size_t len) noexcept {
    return detail::last_status(xbuf_bytearray_resize(obj.get(), len));
}
/** Lends `len` bytes of caller memory (xbuf_wrap_new): `destructor(data, len, ctx)`, if not
 * NULL, runs once when the last reference and view are gone, on that thread. On failure `out`
 * is empty and the caller keeps `data`. Errors: as xbuf_wrap_new. */
inline status try_wrap(void *data, std::size_t len, bool readonly, xbuf_wrap_destructor destructor,
                       void *ctx, object &out) noexcept {
    xbuf_object *p = nullptr;
    int rc = xbuf_wrap_new(data, len, readonly ? 1 : 0, destructor, ctx, &p);
    out = object::adopt(p);
    return detail::last_status(rc);
}
/** A window of `length` bytes at `offset` into `base`'s memory that locks `base` for its
 * lifetime (xbuf_slice_new). On failure `out` is empty. Errors: as xbuf_slice_new. */
inline status try_slice_of(const object &base, std::size_t offset, std::size_t length,
                           object &out) noexcept {
    xbuf_object *p = nullptr;
    int rc = xbuf_slice_new(base.get(), offset, length, &p);
    out = object::adopt(p);
    return detail::last_status(rc);
}
/** The file at `path` mapped whole, with `mode` XBUF_MMAP_READ, _WRITE or _COPY
 * (xbuf_mmap_open). On failure `out` is empty. Errors: as xbuf_mmap_open. */
inline status try_mmap_open(const char *path, int mode, object &out) noexcept {
    xbuf_object *p = nullptr;
    int rc = xbuf_mmap_open(path, mode, &p);
    out = object::adopt(p);
    return detail::last_status(rc);
}
/** An ndarray: a copy of `len` bytes at `data` read as `format` items in `shape` with byte
 * `strides` (empty: C-contiguous; else one per dimension), item 0 at byte `offset`, `flags`
 * XBUF_NDARRAY_* (xbuf_ndarray_new). On failure `out` is empty. Errors: as xbuf_ndarray_new,
 * and XBUF_ERR_INVALID_ARGUMENT when `strides` is neither empty nor as long as `shape`. */
inline status try_ndarray(const void *data, std::size_t len, const char *format,
                          array_ref<std::ptrdiff_t> shape, array_ref<std::ptrdiff_t> strides,
                          std::ptrdiff_t offset, int flags, object &out) noexcept {
    out.reset();
    int n = 0;
    status s = detail::int_count(shape.size(), "xbuf::ndarray", "dimensions", n);
    if (!s.ok()) return s;
    if (!strides.empty() && strides.size() != shape.size())
        return detail::fail(XBUF_ERR_INVALID_ARGUMENT,
                            "xbuf::ndarray: %zu strides for %zu dimensions", strides.size(),
                            shape.size());
    xbuf_object *p = nullptr;
    int rc = xbuf_ndarray_new(data, len, format, n, shape.data(),
                              strides.empty() ? nullptr : strides.data(), offset, flags, &p);
    out = object::adopt(p);
    return detail::last_status(rc);
}
/** A zero-filled ndarray of `format` items in `shape`, contiguous in `order` ('C' or 'F')
 * (xbuf_ndarray_zeros). On failure `out` is empty. Errors: as xbuf_ndarray_zeros. */
inline status try_ndarray_zeros(const char *format, array_ref<std::ptrdiff_t> shape, char order,
                                int flags, object &out) noexcept {
    out.reset();
    int n = 0;
    status s = detail::int_count(shape.size(), "xbuf::ndarray_zeros", "dimensions", n);
    if (!s.ok()) return s;
    xbuf_object *p = nullptr;
    int rc = xbuf_ndarray_zeros(format, n, shape.data(), order, flags, &p);
    out = object::adopt(p);
    return detail::last_status(rc);
}

#if XBUF_HPP_EXCEPTIONS
/** As try_bytes; throws xbuf::error. */
inline object bytes(const void *data, std::size_t len) {
    object o;
    detail::throw_if(try_bytes(data, len, o));
    return o;
}
/** As try_bytearray; throws xbuf::error. */
inline object bytearray(const void *data, std::size_t len) {
    object o;
    detail::throw_if(try_bytearray(data, len, o));
    return o;
}
/** A bytearray of `len` zeros; throws xbuf::error. */
inline object bytearray(std::size_t len) { return bytearray(nullptr, len); }
/** As try_bytearray_resize; throws xbuf::error. */
inline void bytearray_resize(const object &obj, std::size_t len) {
    detail::throw_if(try_bytearray_resize(obj, len));
}
/** As try_wrap; throws xbuf::error (the caller then keeps `data`). */
inline object wrap(void *data, std::size_t len, bool readonly,
                   xbuf_wrap_destructor destructor = nullptr, void *ctx = nullptr) {
    object o;
    detail::throw_if(try_wrap(data, len, readonly, destructor, ctx, o));
    return o;
}
/** As try_slice_of; throws xbuf::error. */
inline object slice_of(const object &base, std::size_t offset, std::size_t length) {
    object o;
    detail::throw_if(try_slice_of(base, offset, length, o));
    return o;
}
/** As try_mmap_open; throws xbuf::error. */
inline object mmap_open(const char *path, int mode = XBUF_MMAP_READ) {
    object o;
    detail::throw_if(try_mmap_open(path, mode, o));
    return o;
}
/** As try_ndarray; throws xbuf::error. */
inline object ndarray(const void *data, std::size_t len, const char *format,
                      array_ref<std::ptrdiff_t> shape, array_ref<std::ptrdiff_t> strides = {},
                      std::ptrdiff_t offset = 0, int flags = 0) {
    object o;
    detail::throw_if(try_ndarray(data, len, format, shape, strides, offset, flags, o));
    return o;
}
/** As try_ndarray_zeros; throws xbuf::error. */
inline object ndarray_zeros(const char *format, array_ref<std::ptrdiff_t> shape, char order = 'C',
                            int flags = 0) {
    object o;
    detail::throw_if(try_ndarray_zeros(format, shape, order, flags, o));
    return o;
}
#endif

// ---------------------------------------------------------------------------------------------
// Typed access: span and strided
// ---------------------------------------------------------------------------------------------

#if XBUF_HPP_STD_SPAN
/** A contiguous run of T: std::span<T> where the library has it. */
template <class T>
using span = std::span<T>;
#else
/**
 * A contiguous run of T (the subset of C++20's std::span that buffer::as_span needs):
 * non-owning, valid while the buffer it came from holds its view.
 */
template <class T>
class span {
public:
    using element_type = T;
    using value_type = std::remove_cv_t<T>;
    using size_type = std::size_t;
    using pointer = T *;
    using reference = T &;
    using iterator = T *;

    /** An empty span. */
    constexpr span() noexcept = default;
    /** `size` elements at `data`. */
    constexpr span(T *data, std::size_t size) noexcept : data_(data), size_(size) {}

    /** The first element. */
    constexpr T *data() const noexcept { return data_; }
    /** The number of elements. */
    constexpr std::size_t size() const noexcept { return size_; }
    /** The number of bytes. */
    constexpr std::size_t size_bytes() const noexcept { return size_ * sizeof(T); }
    /** Whether there are no elements. */
    constexpr bool empty() const noexcept { return size_ == 0; }
    /** Element `i` (unchecked). */
    constexpr T &operator[](std::size_t i) const noexcept { return data_[i]; }
    /** The first element (the span must not be empty). */
    constexpr T &front() const noexcept { return data_[0]; }
    /** The last element (the span must not be empty). */
    constexpr T &back() const noexcept { return data_[size_ - 1]; }
    /** Iteration. */
    constexpr T *begin() const noexcept { return data_; }
    /** Iteration. */
    constexpr T *end() const noexcept { return data_ + size_; }

private:
    T *data_ = nullptr;
    std::size_t size_ = 0;
};
#endif

/**
 * An N-dimensional accessor over items of T at any byte strides: positive, negative or zero
 * (broadcast), the case std::mdspan cannot express. s(i, j) is the item at indices i, j (each
 * from 0 to extent - 1, unchecked); find() and at() check them. Non-owning: valid while the
 * buffer it came from holds its view. T may be const (read-only access). Copyable; usable from
 * any thread as the memory allows.
 */
template <class T, std::size_t Rank>
class strided {
    using byte_pointer =
        std::conditional_t<std::is_const<T>::value, const unsigned char *, unsigned char *>;

public:
    using element_type = T;
    using value_type = std::remove_cv_t<T>;
    using index_type = std::ptrdiff_t;

    /** The number of dimensions. */
    static constexpr std::size_t rank() noexcept { return Rank; }

    /** An accessor of no items. */
    constexpr strided() noexcept = default;
    /** Items of T: the one with all indices 0 at `origin`, `extents` items per dimension,
     * `byte_strides` bytes from one index to the next (any sign; each a multiple of
     * alignof(T), which the caller guarantees). */
    strided(T *origin, const std::array<std::ptrdiff_t, Rank> &extents,
            const std::array<std::ptrdiff_t, Rank> &byte_strides) noexcept
        : origin_(origin), extents_(extents), strides_(byte_strides) {}

    /** The item at the given indices (one per dimension; unchecked). */
    template <class... I>
    T &operator()(I... idx) const noexcept {
        static_assert(sizeof...(I) == Rank, "xbuf::strided: one index per dimension");
        static_assert((std::is_integral<I>::value && ...), "xbuf::strided: integer indices");
        const std::ptrdiff_t ix[] = {static_cast<std::ptrdiff_t>(idx)..., 0};
        byte_pointer p = reinterpret_cast<byte_pointer>(origin_);
        for (std::size_t k = 0; k < Rank; k++) p += ix[k] * strides_[k];
        return *reinterpret_cast<T *>(p);
    }
    /** The item at index `i` of a one-dimensional accessor (unchecked). */
    T &operator[](std::ptrdiff_t i) const noexcept {
        static_assert(Rank == 1, "xbuf::strided: operator[] needs Rank 1");
        return (*this)(i);
    }
    /** The item at the given indices, or NULL when one of them is outside its extent. */
    template <class... I>
    T *find(I... idx) const noexcept {
        static_assert(sizeof...(I) == Rank, "xbuf::strided: one index per dimension");
        const std::ptrdiff_t ix[] = {static_cast<std::ptrdiff_t>(idx)..., 0};
        for (std::size_t k = 0; k < Rank; k++)
            if (ix[k] < 0 || ix[k] >= extents_[k]) return nullptr;
        return &(*this)(idx...);
    }
#if XBUF_HPP_EXCEPTIONS
    /** The item at the given indices; XBUF_ERR_OUT_OF_BOUNDS (xbuf::error) when one of them
     * is outside its extent. */
    template <class... I>
    T &at(I... idx) const {
        T *p = find(idx...);
        if (p == nullptr)
            throw error(detail::fail(XBUF_ERR_OUT_OF_BOUNDS,
                                     "xbuf::strided::at: an index is outside its extent"));
        return *p;
    }
#endif

    /** Items along dimension `k`. */
    std::ptrdiff_t extent(std::size_t k) const noexcept { return extents_[k]; }
    /** Bytes from one index to the next along dimension `k` (any sign). */
    std::ptrdiff_t stride(std::size_t k) const noexcept { return strides_[k]; }
    /** The number of items (the product of the extents; 1 for Rank 0). */
    std::ptrdiff_t size() const noexcept {
        std::ptrdiff_t n = 1;
        for (std::size_t k = 0; k < Rank; k++) n *= extents_[k];
        return n;
    }
    /** Whether there are no items. */
    bool empty() const noexcept { return size() == 0; }
    /** The item with all indices 0 (not the lowest address when a stride is negative). */
    T *data() const noexcept { return origin_; }

private:
    T *origin_ = nullptr;
    std::array<std::ptrdiff_t, Rank> extents_{};
    std::array<std::ptrdiff_t, Rank> strides_{};
};

#if XBUF_HPP_MDSPAN
/** The std::mdspan that buffer::as_mdspan returns: dynamic extents of std::size_t. */
template <class T, std::size_t Rank, class Layout = std::layout_stride>
using mdspan = std::mdspan<T, std::dextents<std::size_t, Rank>, Layout>;
#endif

namespace detail {
/* The checks every typed accessor makes: a filled view of T items in `rank` dimensions,
 * writable if T is not const, without suboffsets, aligned for T. */
template <class T>
status check_access(const xbuf_bufferinfo &v, std::size_t rank, const char *who,
                    bool raw_bytes = false) noexcept {
    using U = std::remove_cv_t<T>;
    if (v.releaser == nullptr) return fail(XBUF_ERR_RELEASED, "%s: the buffer is empty", who);
    const char *have = v.format != nullptr ? v.format : "B";
    const bool size_ok = v.itemsize == static_cast<std::ptrdiff_t>(sizeof(U)) || raw_bytes;
    if (!size_ok || !same_format(have, format_of<U>()))
        return fail(XBUF_ERR_FORMAT,
                    "%s: the buffer holds items of format '%s' (%td bytes), not '%s' (%zu bytes)",
                    who, have, v.itemsize, format_of<U>(), sizeof(U));
    if (v.ndim < 0 || static_cast<std::size_t>(v.ndim) != rank)
        return fail(XBUF_ERR_INVALID_ARGUMENT, "%s: the buffer has %d dimensions, not %zu", who,
                    v.ndim, rank);
    if (!std::is_const<T>::value && v.readonly != 0)
        return fail(XBUF_ERR_READONLY,
                    "%s: the buffer is read-only; ask for a const element type", who);
    if (v.suboffsets != nullptr)
        for (int k = 0; k < v.ndim; k++)
            if (v.suboffsets[k] >= 0)
                return fail(XBUF_ERR_UNSUPPORTED,
                            "%s: dimension %d is indirect (suboffsets); use pointer()", who, k);
    if (reinterpret_cast<std::uintptr_t>(v.buf) % alignof(U) != 0)
        return fail(XBUF_ERR_UNSUPPORTED,
                    "%s: the memory at %p is not aligned for '%s' (alignment %zu)", who, v.buf,
                    format_of<U>(), alignof(U));
    return status();
}

/* The view's extents and byte strides, with the defaults for a missing shape (one dimension
 * of len / itemsize) or missing strides (C-contiguous). */
inline void layout_of(const xbuf_bufferinfo &v, std::ptrdiff_t *shape, std::ptrdiff_t *strides) {
    if (v.shape == nullptr) {
        shape[0] = v.itemsize > 0 ? v.len / v.itemsize : 0;
        strides[0] = v.itemsize;
        return;
    }
    for (int k = 0; k < v.ndim; k++) shape[k] = v.shape[k];
    if (v.strides != nullptr) {
        for (int k = 0; k < v.ndim; k++) strides[k] = v.strides[k];
    } else {
        (void)xbuf_fill_contiguous_strides(v.ndim, shape, v.itemsize, strides, 'C');
    }
}
} // namespace detail

// ---------------------------------------------------------------------------------------------
// buffer
// ---------------------------------------------------------------------------------------------

/**
 * One view of an object's memory (a filled xbuf_bufferinfo), owned for the buffer's lifetime
 * and released (xbuf_release) by its destructor. Move-only: a move relocates the view with
 * xbuf_bufferinfo_move, so a buffer may be returned, stored in containers, and moved across
 * threads. The memory stays valid while the buffer holds the view, even if every handle to the
 * object that lent it is gone. Accessors are noexcept and read the view as filled; on an empty
 * buffer they give zeros and NULLs. Thread safety: one thread at a time.
 */
class buffer {
public:
    /** An empty buffer. */
    buffer() noexcept = default;

    /**
     * Asks `obj` for a view meeting `flags` (xbuf_get_buffer). On failure `out` is empty.
     * Errors: as xbuf_get_buffer (XBUF_ERR_NULL_ARGUMENT for an empty handle).
     */
    static status try_get(const object &obj, int flags, buffer &out) noexcept {
        buffer b;
        int rc = xbuf_get_buffer(obj.get(), &b.info_, flags);
        out = std::move(b);
        return detail::last_status(rc);
    }
#if XBUF_HPP_EXCEPTIONS
    /** As try_get; throws xbuf::error. The default request gives strides and the format
     * (XBUF_RECORDS_RO); add XBUF_WRITABLE to write, use XBUF_FULL_RO to accept suboffsets. */
    explicit buffer(const object &obj, int flags = XBUF_RECORDS_RO) {
        detail::throw_if(detail::last_status(xbuf_get_buffer(obj.get(), &info_, flags)));
    }
#endif

    /** Takes `o`'s view (xbuf_bufferinfo_move); `o` becomes empty. */
    buffer(buffer &&o) noexcept { take(o); }
    /** Releases this buffer's view, then takes `o`'s; `o` becomes empty. */
    buffer &operator=(buffer &&o) noexcept {
        if (this != &o) {
            reset();
            take(o);
        }
        return *this;
    }
    buffer(const buffer &) = delete;
    buffer &operator=(const buffer &) = delete;
    /** Releases the view. */
    ~buffer() { reset(); }

    /** Releases the view now (xbuf_release); the buffer becomes empty. */
    void reset() noexcept { (void)xbuf_release(&info_); }
    /** Whether the buffer holds no view. */
    bool empty() const noexcept { return info_.releaser == nullptr; }
    /** Whether the buffer holds a view. */
    explicit operator bool() const noexcept { return !empty(); }

    /** The view, borrowed: read it, pass it to C functions that read views. Do not release,
     * move or copy the struct itself. */
    const xbuf_bufferinfo &info() const noexcept { return info_; }
    /** A pointer to the view, borrowed (as info()). */
    const xbuf_bufferinfo *get() const noexcept { return &info_; }

    /** The address of the item with all indices 0. */
    void *data() const noexcept { return info_.buf; }
    /** The logical size in bytes (product(shape) * itemsize). */
    std::ptrdiff_t len() const noexcept { return info_.len; }
    /** The size of one item in bytes. */
    std::ptrdiff_t itemsize() const noexcept { return info_.itemsize; }
    /** The number of items (len / itemsize). */
    std::ptrdiff_t size() const noexcept {
        return info_.itemsize > 0 ? info_.len / info_.itemsize : 0;
    }
    /** The number of dimensions. */
    int ndim() const noexcept { return info_.ndim; }
    /** Whether the memory must not be written. */
    bool readonly() const noexcept { return info_.readonly != 0; }
    /** The item format: "B" when the view has none, "" when the buffer is empty. Borrowed. */
    const char *format() const noexcept {
        return info_.format != nullptr ? info_.format : (empty() ? "" : "B");
    }
    /** The extents (empty when the request did not ask for XBUF_ND). Borrowed. */
    array_ref<std::ptrdiff_t> shape() const noexcept { return dims(info_.shape); }
    /** The byte strides (empty when the request did not ask for XBUF_STRIDES). Borrowed. */
    array_ref<std::ptrdiff_t> strides() const noexcept { return dims(info_.strides); }
    /** The suboffsets (empty when the view has none). Borrowed. */
    array_ref<std::ptrdiff_t> suboffsets() const noexcept { return dims(info_.suboffsets); }
    /** The object the view will be handed back to, borrowed (NULL when empty). */
    xbuf_object *releaser() const noexcept { return info_.releaser; }
    /** Whether the memory is contiguous in `order` ('C', 'F' or 'A'); false when empty. */
    bool is_contiguous(char order = 'C') const noexcept {
        return !empty() && xbuf_is_contiguous(&info_, order) == 1;
    }

    /**
     * The address of the item at `indices` (one per dimension; negative ones count from the
     * end), following suboffsets (xbuf_get_pointer). On failure `out` is NULL.
     * Errors: as xbuf_get_pointer, and XBUF_ERR_INVALID_ARGUMENT for a wrong index count.
     */
    status try_pointer(array_ref<std::ptrdiff_t> indices, void *&out) const noexcept {
        out = nullptr;
        if (indices.size() != static_cast<std::size_t>(info_.ndim < 0 ? 0 : info_.ndim) && !empty())
            return detail::fail(XBUF_ERR_INVALID_ARGUMENT,
                                "xbuf::buffer::pointer: %zu indices for %d dimensions",
                                indices.size(), info_.ndim);
        return detail::last_status(xbuf_get_pointer(&info_, indices.data(), &out));
    }

    /**
     * The items copied out contiguously in `order` ('C', 'F' or 'A'; xbuf_to_contiguous). On
     * failure `out` is empty. Errors: as xbuf_to_contiguous, XBUF_ERR_NO_MEMORY.
     */
    status try_to_contiguous(char order, std::vector<unsigned char> &out) const noexcept {
        out.clear();
        return detail::guard([&]() -> status {
            const std::ptrdiff_t n = info_.len > 0 ? info_.len : 0;
            std::vector<unsigned char> bytes(static_cast<std::size_t>(n));
            status s = detail::last_status(
                xbuf_to_contiguous(bytes.data(), bytes.size(), &info_, order));
            if (s.ok()) out = std::move(bytes);
            return s;
        });
    }
    /** Copies `len` bytes at `src`, laid out contiguously in `order`, into the items of this
     * (writable) view (xbuf_from_contiguous). Errors: as xbuf_from_contiguous. */
    status try_from_contiguous(const void *src, std::size_t len, char order) const noexcept {
        return detail::last_status(xbuf_from_contiguous(&info_, src, len, order));
    }

    /**
     * The items as a contiguous span of T: the view must be one-dimensional, contiguous, of
     * a format equivalent to format_of<T>() with itemsize sizeof(T), aligned for T, and
     * writable unless T is const. A view without a format (asked for without XBUF_FORMAT,
     * format "B") reads as its `len` bytes for T = unsigned char or std::byte. Valid while
     * the buffer holds its view (a move keeps it valid: the memory does not move). On failure
     * `out` is unchanged.
     * Errors: XBUF_ERR_RELEASED (empty), XBUF_ERR_FORMAT, XBUF_ERR_INVALID_ARGUMENT (ndim is
     * not 1), XBUF_ERR_READONLY, XBUF_ERR_NOT_CONTIGUOUS, XBUF_ERR_UNSUPPORTED (suboffsets,
     * misaligned memory).
     */
    template <class T>
    status try_as_span(span<T> &out) const noexcept {
        // A view without a format (asked for without XBUF_FORMAT) is `len` bytes.
        const bool raw = info_.format == nullptr && sizeof(T) == 1;
        status s = detail::check_access<T>(info_, 1, "xbuf::buffer::as_span", raw);
        if (!s.ok()) return s;
        if (xbuf_is_contiguous(&info_, 'C') != 1)
            return detail::fail(XBUF_ERR_NOT_CONTIGUOUS,
                                "xbuf::buffer::as_span: the items are %td bytes apart, not %td",
                                info_.strides != nullptr ? info_.strides[0] : info_.itemsize,
                                info_.itemsize);
        const std::ptrdiff_t n = raw ? info_.len : size();
        out = span<T>(static_cast<T *>(info_.buf), static_cast<std::size_t>(n));
        return status();
    }

    /**
     * The items through a strided<T, Rank> accessor, for any strides (negative and zero
     * included): the view must have Rank dimensions, a format equivalent to format_of<T>(),
     * memory aligned for T with every stride a multiple of alignof(T), no suboffsets, and be
     * writable unless T is const. On failure `out` is unchanged.
     * Errors: as try_as_span (but any layout), XBUF_ERR_UNSUPPORTED for a stride that is not
     * a multiple of alignof(T).
     */
    template <class T, std::size_t Rank>
    status try_as_strided(strided<T, Rank> &out) const noexcept {
        status s = detail::check_access<T>(info_, Rank, "xbuf::buffer::as_strided");
        if (!s.ok()) return s;
        std::array<std::ptrdiff_t, Rank + 1> shape{}, strides{};
        detail::layout_of(info_, shape.data(), strides.data());
        std::array<std::ptrdiff_t, Rank> e{}, st{};
        for (std::size_t k = 0; k < Rank; k++) {
            if (strides[k] % static_cast<std::ptrdiff_t>(alignof(T)) != 0)
                return detail::fail(XBUF_ERR_UNSUPPORTED,
                                    "xbuf::buffer::as_strided: stride %td of dimension %zu is not "
                                    "a multiple of the alignment %zu of '%s'",
                                    strides[k], k, alignof(T), format_of<T>());
            e[k] = shape[k];
            st[k] = strides[k];
        }
        out = strided<T, Rank>(static_cast<T *>(info_.buf), e, st);
        return status();
    }

#if XBUF_HPP_MDSPAN
    /**
     * The items as a std::mdspan (C++23) with dynamic extents and `Layout`:
     * std::layout_right for a C-contiguous view, std::layout_left for a Fortran-contiguous one,
     * std::layout_stride (the default) for any view whose strides are positive multiples of
     * sizeof(T) and never make two items overlap (dimensions of one item may have any stride;
     * views without items always qualify). Other layouts (negative, zero or unaligned strides)
     * are refused: use as_strided. The rest as try_as_strided. On failure `out` is unchanged.
     * Errors: as try_as_strided, XBUF_ERR_NOT_CONTIGUOUS (layout_right/left), and
     * XBUF_ERR_UNSUPPORTED (layout_stride cannot express the strides).
     */
    template <class T, std::size_t Rank, class Layout = std::layout_stride>
    status try_as_mdspan(mdspan<T, Rank, Layout> &out) const noexcept {
        return make_mdspan<T, Rank, Layout>([&](const mdspan<T, Rank, Layout> &m) { out = m; });
    }
#endif

#if XBUF_HPP_EXCEPTIONS
    /** As try_pointer; throws xbuf::error. */
    void *pointer(array_ref<std::ptrdiff_t> indices) const {
        void *p = nullptr;
        detail::throw_if(try_pointer(indices, p));
        return p;
    }
    /** As try_to_contiguous; throws xbuf::error. */
    std::vector<unsigned char> to_contiguous(char order = 'C') const {
        std::vector<unsigned char> out;
        detail::throw_if(try_to_contiguous(order, out));
        return out;
    }
    /** As try_from_contiguous; throws xbuf::error. */
    void from_contiguous(const void *src, std::size_t len, char order = 'C') const {
        detail::throw_if(try_from_contiguous(src, len, order));
    }
    /** As try_as_span; throws xbuf::error. */
    template <class T>
    span<T> as_span() const {
        span<T> out;
        detail::throw_if(try_as_span<T>(out));
        return out;
    }
    /** As try_as_strided; throws xbuf::error. */
    template <class T, std::size_t Rank>
    strided<T, Rank> as_strided() const {
        strided<T, Rank> out;
        detail::throw_if(try_as_strided<T, Rank>(out));
        return out;
    }
#if XBUF_HPP_MDSPAN
    /** As try_as_mdspan; throws xbuf::error. */
    template <class T, std::size_t Rank, class Layout = std::layout_stride>
    mdspan<T, Rank, Layout> as_mdspan() const {
        std::optional<mdspan<T, Rank, Layout>> out;
        status s = make_mdspan<T, Rank, Layout>(
            [&](const mdspan<T, Rank, Layout> &m) { out.emplace(m); });
        detail::throw_if(s);
        return *out;
    }
#endif
#endif

private:
    array_ref<std::ptrdiff_t> dims(const std::ptrdiff_t *p) const noexcept {
        if (p == nullptr || info_.ndim <= 0) return {};
        return array_ref<std::ptrdiff_t>(p, static_cast<std::size_t>(info_.ndim));
    }

    void take(buffer &o) noexcept {
        // Cannot fail for two full-size structs of which this one is empty and the other was
        // filled by the library (or is empty): a failure means the struct was tampered with.
        if (xbuf_bufferinfo_move(&info_, &o.info_) != XBUF_OK) std::abort();
    }

#if XBUF_HPP_MDSPAN
    /* The mdspan of the view for Layout, handed to `give` on success. */
    template <class T, std::size_t Rank, class Layout, class Give>
    status make_mdspan(Give give) const noexcept {
        static_assert(std::is_same<Layout, std::layout_right>::value ||
                          std::is_same<Layout, std::layout_left>::value ||
                          std::is_same<Layout, std::layout_stride>::value,
                      "xbuf::buffer::as_mdspan: layout_right, layout_left or layout_stride");
        using extents = std::dextents<std::size_t, Rank>;
        using result = mdspan<T, Rank, Layout>;
        const char *who = "xbuf::buffer::as_mdspan";
        status s = detail::check_access<T>(info_, Rank, who);
        if (!s.ok()) return s;
        std::array<std::ptrdiff_t, Rank + 1> shape{}, strides{};
        detail::layout_of(info_, shape.data(), strides.data());
        std::array<std::size_t, Rank> ext{};
        for (std::size_t k = 0; k < Rank; k++) ext[k] = static_cast<std::size_t>(shape[k]);
        T *p = static_cast<T *>(info_.buf);
        if constexpr (std::is_same<Layout, std::layout_stride>::value) {
            std::array<std::size_t, Rank> el{};
            s = element_strides<T, Rank>(shape.data(), strides.data(), el);
            if (!s.ok()) return s;
            give(result(p, std::layout_stride::mapping<extents>(extents(ext), el)));
        } else {
            const bool right = std::is_same<Layout, std::layout_right>::value;
            if (xbuf_is_contiguous(&info_, right ? 'C' : 'F') != 1)
                return detail::fail(XBUF_ERR_NOT_CONTIGUOUS,
                                    "%s: the view is not %s-contiguous, as %s needs; use "
                                    "layout_stride or as_strided",
                                    who, right ? "C" : "Fortran",
                                    right ? "layout_right" : "layout_left");
            give(result(p, extents(ext)));
        }
        return status();
    }

#endif

#if XBUF_HPP_MDSPAN
    /* Element strides for layout_stride: positive multiples of sizeof(T) that never make two
     * items share memory (the mapping's precondition), with dimensions of one item normalised
     * and views without items given contiguous strides. */
    template <class T, std::size_t Rank>
    static status element_strides(const std::ptrdiff_t *shape, const std::ptrdiff_t *strides,
                                  std::array<std::size_t, Rank> &out) noexcept {
        const char *who = "xbuf::buffer::as_mdspan";
        const std::ptrdiff_t size = static_cast<std::ptrdiff_t>(sizeof(T));
        bool no_items = false;
        for (std::size_t k = 0; k < Rank; k++) no_items = no_items || shape[k] == 0;
        std::size_t step = 1;
        for (std::size_t k = Rank; k-- > 0;) {
            if (no_items || shape[k] == 1) {
                out[k] = no_items ? step : 1;
                step *= static_cast<std::size_t>(shape[k] > 0 ? shape[k] : 1);
                continue;
            }
            if (strides[k] <= 0 || strides[k] % size != 0)
                return detail::fail(XBUF_ERR_UNSUPPORTED,
                                    "%s: stride %td of dimension %zu is not a positive multiple "
                                    "of %td (sizeof '%s'), which layout_stride needs; use "
                                    "as_strided",
                                    who, strides[k], k, size, format_of<T>());
            out[k] = static_cast<std::size_t>(strides[k] / size);
        }
        if (no_items) return status();
        // Sorted by stride (then extent), each stride must step over everything before it.
        std::array<std::size_t, Rank> order{};
        for (std::size_t k = 0; k < Rank; k++) order[k] = k;
        for (std::size_t i = 1; i < Rank; i++)
            for (std::size_t j = i; j > 0; j--) {
                std::size_t a = order[j - 1], b = order[j];
                if (out[a] < out[b] || (out[a] == out[b] && shape[a] <= shape[b])) break;
                std::swap(order[j - 1], order[j]);
            }
        for (std::size_t i = 1; i < Rank; i++) {
            std::size_t prev = order[i - 1], cur = order[i];
            std::size_t span_prev = out[prev] * static_cast<std::size_t>(shape[prev]);
            if (out[cur] < span_prev)
                return detail::fail(XBUF_ERR_UNSUPPORTED,
                                    "%s: dimensions %zu and %zu overlap (items of one reach "
                                    "items of the other), which layout_stride cannot express; "
                                    "use as_strided",
                                    who, prev, cur);
        }
        return status();
    }
#endif

    xbuf_bufferinfo info_ = XBUF_BUFFERINFO_INIT;
};

/** Copies the items of `src` into the (writable) view of `dst`, correct when they overlap
 * (xbuf_copy). Errors: as xbuf_copy. */
inline status try_copy(const buffer &dst, const buffer &src) noexcept {
    return detail::last_status(xbuf_copy(dst.get(), src.get()));
}
#if XBUF_HPP_EXCEPTIONS
/** As try_copy; throws xbuf::error. */
inline void copy(const buffer &dst, const buffer &src) { detail::throw_if(try_copy(dst, src)); }
#endif

// ---------------------------------------------------------------------------------------------
// view
// ---------------------------------------------------------------------------------------------

/**
 * A handle to an xbuf_view (the memoryview of C): an object that holds one export of another
 * object and offers memoryview's operations in every dimension. It is an object (copy =
 * another reference to the same view; pass it wherever an object is expected, for example to
 * buffer's constructor to read its items). Derived views (slice, index, transpose, permute,
 * cast) are new view objects sharing the memory; each stays valid after the view it came from
 * is gone. Thread safety: a view may be shared between threads; its operations are const.
 */
class view : public object {
public:
    /** An empty handle. */
    view() noexcept = default;

    /** Takes ownership of one reference to an xbuf_view (as object::adopt). */
    static view adopt(xbuf_object *p) noexcept {
        view v;
        static_cast<object &>(v) = object::adopt(p);
        return v;
    }

    /**
     * A view of `obj` for the request `flags` (xbuf_view_new). On failure `out` is empty.
     * Errors: as xbuf_view_new.
     */
    static status try_from(const object &obj, int flags, view &out) noexcept {
        xbuf_object *p = nullptr;
        int rc = xbuf_view_new(obj.get(), flags, &p);
        out = adopt(p);
        return detail::last_status(rc);
    }
#if XBUF_HPP_EXCEPTIONS
    /** As try_from; throws xbuf::error. The default request accepts every layout. Note that
     * view(other_view) copies the handle (the same view), while view(other_view, flags) makes
     * a new view of it. */
    explicit view(const object &obj, int flags = XBUF_FULL_RO) {
        view v;
        detail::throw_if(try_from(obj, flags, v));
        swap(v);
    }
#endif

    /** The view of a rectangular part: `ranges[k]` applies to dimension k, later dimensions
     * are kept whole (xbuf_view_slice). Errors: as xbuf_view_slice. */
    status try_slice(array_ref<range> ranges, view &out) const noexcept {
        int n = 0;
        status s = detail::int_count(ranges.size(), "xbuf::view::slice", "ranges", n);
        if (!s.ok()) {
            out.reset();
            return s;
        }
        xbuf_range tmp[XBUF_MAX_NDIM];
        for (int k = 0; k < n; k++)
            tmp[k] = xbuf_range{ranges[k].start, ranges[k].stop, ranges[k].step};
        xbuf_object *p = nullptr;
        int rc = xbuf_view_slice(get(), n > 0 ? tmp : nullptr, n, &p);
        out = adopt(p);
        return detail::last_status(rc);
    }
    /** The sub-view at `indices` for the first dimensions (xbuf_view_index); indexing every
     * dimension gives a zero-dimensional view. Errors: as xbuf_view_index. */
    status try_index(array_ref<std::ptrdiff_t> indices, view &out) const noexcept {
        return derive("xbuf::view::index", indices, out, [&](int n, xbuf_object **p) {
            return xbuf_view_index(get(), indices.data(), n, p);
        });
    }
    /** The view with its dimensions reversed (xbuf_view_transpose). Errors: as
     * xbuf_view_transpose. */
    status try_transpose(view &out) const noexcept {
        xbuf_object *p = nullptr;
        int rc = xbuf_view_transpose(get(), &p);
        out = adopt(p);
        return detail::last_status(rc);
    }
    /** The view with dimension k taken from dimension axes[k] (xbuf_view_permute). Errors: as
     * xbuf_view_permute. */
    status try_permute(array_ref<int> axes, view &out) const noexcept {
        return derive("xbuf::view::permute", axes, out, [&](int n, xbuf_object **p) {
            return xbuf_view_permute(get(), axes.data(), n, p);
        });
    }
    /** The same (C-contiguous) memory read as `format` items in `shape` (xbuf_view_cast).
     * Errors: as xbuf_view_cast. */
    status try_cast(const char *format, array_ref<std::ptrdiff_t> shape, view &out) const noexcept {
        return derive("xbuf::view::cast", shape, out, [&](int n, xbuf_object **p) {
            return xbuf_view_cast(get(), format, n, shape.data(), p);
        });
    }
    /** The same memory read as one dimension of `format` items (xbuf_view_cast with no
     * shape). Errors: as xbuf_view_cast. */
    status try_cast(const char *format, view &out) const noexcept {
        xbuf_object *p = nullptr;
        int rc = xbuf_view_cast(get(), format, 0, nullptr, &p);
        out = adopt(p);
        return detail::last_status(rc);
    }
    /** The address of the item at `indices` (xbuf_view_item_pointer), valid while the view
     * lives. On failure `out` is NULL. Errors: as xbuf_view_item_pointer. */
    status try_item_pointer(array_ref<std::ptrdiff_t> indices, void *&out) const noexcept {
        out = nullptr;
        int n = 0;
        status s = detail::int_count(indices.size(), "xbuf::view::item_pointer", "indices", n);
        if (!s.ok()) return s;
        return detail::last_status(xbuf_view_item_pointer(get(), indices.data(), n, &out));
    }
    /** The items' bytes, contiguous in `order` 'C', 'F' or 'A' (xbuf_view_tobytes). On
     * failure `out` is empty. Errors: as xbuf_view_tobytes. */
    status try_tobytes(char order, std::vector<unsigned char> &out) const noexcept {
        out.clear();
        return detail::guard([&]() -> status {
            std::size_t needed = 0;
            int rc = xbuf_view_tobytes(get(), order, nullptr, 0, &needed);
            if (rc != XBUF_OK) return detail::last_status(rc);
            std::vector<unsigned char> bytes(needed);
            rc = xbuf_view_tobytes(get(), order, bytes.empty() ? nullptr : bytes.data(),
                                   bytes.size(), &needed);
            if (rc == XBUF_OK) out = std::move(bytes);
            return detail::last_status(rc);
        });
    }
    /** The number of bytes of the items (the size tobytes gives). Errors: as
     * xbuf_view_tobytes. */
    status try_nbytes(std::size_t &out) const noexcept {
        out = 0;
        return detail::last_status(xbuf_view_tobytes(get(), 'C', nullptr, 0, &out));
    }
    /** The C-order bytes as lowercase hex (xbuf_view_hex). On failure `out` is empty. Errors:
     * as xbuf_view_hex. */
    status try_hex(std::string &out) const noexcept {
        return text([&](char *d, std::size_t c, std::size_t *n) {
            return xbuf_view_hex(get(), d, c, n);
        }, out);
    }
    /** The items as JSON, as memoryview.tolist() gives them rendered by json.dumps
     * (xbuf_view_tolist). On failure `out` is empty. Errors: as xbuf_view_tolist. */
    status try_tolist(std::string &out) const noexcept {
        return text([&](char *d, std::size_t c, std::size_t *n) {
            return xbuf_view_tolist(get(), d, c, n);
        }, out);
    }
    /** Value equality with `other`, as memoryview's == (xbuf_view_equal): same shape, items
     * equal by value (NaN never equal). Errors: as xbuf_view_equal. */
    status try_equal(const view &other, bool &out) const noexcept {
        int eq = 0;
        int rc = xbuf_view_equal(get(), other.get(), &eq);
        out = rc == XBUF_OK && eq == 1;
        return detail::last_status(rc);
    }
    /** The FNV-1a hash of a read-only view's C-order bytes (xbuf_view_hash). Errors: as
     * xbuf_view_hash. */
    status try_hash(std::uint64_t &out) const noexcept {
        out = 0;
        return detail::last_status(xbuf_view_hash(get(), &out));
    }
    /** Copies the items of `src` into this view's (writable) memory, correct for overlapping
     * memory (xbuf_copy on a XBUF_FULL view of this and a XBUF_FULL_RO view of `src`).
     * Errors: as xbuf_get_buffer and xbuf_copy. */
    status try_copy_from(const view &src) const noexcept {
        buffer d, s;
        status st = buffer::try_get(*this, XBUF_FULL, d);
        if (st.ok()) st = buffer::try_get(src, XBUF_FULL_RO, s);
        if (st.ok()) st = try_copy(d, s);
        return st;
    }
    /** Hands the view's export back to its base now, as memoryview.release()
     * (xbuf_view_release); afterwards operations fail with XBUF_ERR_RELEASED. The handle
     * keeps its reference. Errors: as xbuf_view_release (XBUF_ERR_BUSY while exported). */
    status try_release_base() const noexcept {
        return detail::last_status(xbuf_view_release(get()));
    }

#if XBUF_HPP_EXCEPTIONS
    /** As try_slice; throws xbuf::error. For example v.slice({{1, 3}, {xbuf::omit, xbuf::omit,
     * -1}}) is v[1:3, ::-1]. */
    view slice(array_ref<range> ranges) const {
        view out;
        detail::throw_if(try_slice(ranges, out));
        return out;
    }
    /** As try_index; throws xbuf::error. */
    view index(array_ref<std::ptrdiff_t> indices) const {
        view out;
        detail::throw_if(try_index(indices, out));
        return out;
    }
    /** As try_transpose; throws xbuf::error. */
    view transpose() const {
        view out;
        detail::throw_if(try_transpose(out));
        return out;
    }
    /** As try_permute; throws xbuf::error. */
    view permute(array_ref<int> axes) const {
        view out;
        detail::throw_if(try_permute(axes, out));
        return out;
    }
    /** As try_cast; throws xbuf::error. */
    view cast(const char *format, array_ref<std::ptrdiff_t> shape) const {
        view out;
        detail::throw_if(try_cast(format, shape, out));
        return out;
    }
    /** As try_cast (one dimension); throws xbuf::error. */
    view cast(const char *format) const {
        view out;
        detail::throw_if(try_cast(format, out));
        return out;
    }
    /** As try_item_pointer; throws xbuf::error. */
    void *item_pointer(array_ref<std::ptrdiff_t> indices) const {
        void *p = nullptr;
        detail::throw_if(try_item_pointer(indices, p));
        return p;
    }
    /** As try_tobytes; throws xbuf::error. */
    std::vector<unsigned char> tobytes(char order = 'C') const {
        std::vector<unsigned char> out;
        detail::throw_if(try_tobytes(order, out));
        return out;
    }
    /** As try_nbytes; throws xbuf::error. */
    std::size_t nbytes() const {
        std::size_t n = 0;
        detail::throw_if(try_nbytes(n));
        return n;
    }
    /** As try_hex; throws xbuf::error. */
    std::string hex() const {
        std::string out;
        detail::throw_if(try_hex(out));
        return out;
    }
    /** As try_tolist; throws xbuf::error. */
    std::string tolist() const {
        std::string out;
        detail::throw_if(try_tolist(out));
        return out;
    }
    /** As try_equal; throws xbuf::error. */
    bool equal(const view &other) const {
        bool out = false;
        detail::throw_if(try_equal(other, out));
        return out;
    }
    /** As try_hash; throws xbuf::error. */
    std::uint64_t hash() const {
        std::uint64_t out = 0;
        detail::throw_if(try_hash(out));
        return out;
    }
    /** As try_copy_from; throws xbuf::error. */
    void copy_from(const view &src) const { detail::throw_if(try_copy_from(src)); }
    /** As try_release_base; throws xbuf::error. */
    void release_base() const { detail::throw_if(try_release_base()); }

    /** The view's number of dimensions; throws xbuf::error (XBUF_ERR_RELEASED, ...). */
    int ndim() const { return buffer(*this, XBUF_FULL_RO).ndim(); }
    /** The view's extents; throws xbuf::error. */
    std::vector<std::ptrdiff_t> shape() const {
        buffer b(*this, XBUF_FULL_RO);
        return std::vector<std::ptrdiff_t>(b.shape().begin(), b.shape().end());
    }
    /** The view's item format; throws xbuf::error. */
    std::string format() const { return buffer(*this, XBUF_FULL_RO).format(); }
    /** The view's item size in bytes; throws xbuf::error. */
    std::ptrdiff_t itemsize() const { return buffer(*this, XBUF_FULL_RO).itemsize(); }
    /** Whether the view's memory is read-only; throws xbuf::error. */
    bool readonly() const { return buffer(*this, XBUF_FULL_RO).readonly(); }
#endif

private:
    template <class T, class F>
    status derive(const char *who, array_ref<T> args, view &out, F call) const noexcept {
        int n = 0;
        status s = detail::int_count(args.size(), who, "entries", n);
        if (!s.ok()) {
            out.reset();
            return s;
        }
        xbuf_object *p = nullptr;
        int rc = call(n, &p);
        out = adopt(p);
        return detail::last_status(rc);
    }

    template <class F>
    static status text(F call, std::string &out) noexcept {
        out.clear();
        return detail::guard([&]() -> status {
            std::size_t needed = 0;
            int rc = call(nullptr, 0, &needed);
            if (rc != XBUF_OK) return detail::last_status(rc);
            std::string s(needed, '\0');
            rc = call(&s[0], s.size(), &needed);
            if (rc != XBUF_OK) return detail::last_status(rc);
            s.resize(needed - 1);
            out = std::move(s);
            return status();
        });
    }

};

// ---------------------------------------------------------------------------------------------
// Exporters written in C++
// ---------------------------------------------------------------------------------------------

/**
 * Base class for an exporter written in C++: override get() to describe the memory, and
 * optionally release() and name(); make_object() turns an instance into an xbuf_object that
 * owns it. The object deletes the instance after its last reference and its last export are
 * gone, so the memory a view describes stays valid as long as the view, whoever holds it.
 * get() and release() may be called from any thread that uses the object, concurrently if the
 * object is shared: make them thread-safe then. They must not let exceptions escape to the
 * library: an exception thrown from get() becomes a failed request (an xbuf::error keeps its
 * status; std::bad_alloc becomes XBUF_ERR_NO_MEMORY; anything else XBUF_ERR_BAD_EXPORTER).
 */
class exporter {
public:
    exporter() noexcept = default;
    exporter(const exporter &) = delete;
    exporter &operator=(const exporter &) = delete;
    /** Destroyed by the object (see above), on the thread that drops the last reference or
     * export. */
    virtual ~exporter() = default;

    /**
     * Fills `view` for the request `flags`: set buf, len, itemsize, readonly, ndim, format,
     * shape and strides (NULL for C-contiguous), optionally suboffsets and internal. The
     * arrays and the format text only need to live until get() returns: the library copies
     * them, and checks the answer against the request (so a simple exporter may ignore
     * `flags`). Return status() for success, or a failure such as
     * status(XBUF_ERR_READONLY, "why"), which the consumer then sees.
     */
    virtual status get(xbuf_bufferinfo &view, int flags) = 0;
    /** Called when a view of this object is released (with the view, whose `internal` is what
     * get() set; its address is not the one get() filled) and with NULL when a lock taken
     * with xbuf_lock is returned. The default does nothing. */
    virtual void release(xbuf_bufferinfo *view) noexcept { (void)view; }
    /** The type name shown in messages and by xbuf_object_type_name (read once, when the
     * object is made). */
    virtual const char *name() const noexcept { return "c++ exporter"; }

};

namespace detail {
/* The C procs of every exporter object: they call the exporter's virtual functions and never
 * let an exception reach the library. */
struct exporter_procs {
    static int answer(const status &s) noexcept {
        if (s.ok()) return XBUF_OK;
        return xbuf_set_error(s.code(), s.message().c_str());
    }
    static int get(xbuf_object *self, xbuf_bufferinfo *view, int flags) noexcept {
        exporter *e = static_cast<exporter *>(xbuf_object_state(self));
#if XBUF_HPP_EXCEPTIONS
        try {
            return answer(e->get(*view, flags));
        } catch (const error &x) {
            return xbuf_set_error(x.code(), x.what());
        } catch (const std::bad_alloc &) {
            return xbuf_set_error(XBUF_ERR_NO_MEMORY, "the exporter ran out of memory");
        } catch (const std::exception &x) {
            return xbuf_set_error(XBUF_ERR_BAD_EXPORTER, x.what());
        } catch (...) {
            return xbuf_set_error(XBUF_ERR_BAD_EXPORTER, "the exporter threw an exception");
        }
#else
        return answer(e->get(*view, flags));
#endif
    }
    static void release(xbuf_object *self, xbuf_bufferinfo *view) noexcept {
        static_cast<exporter *>(xbuf_object_state(self))->release(view);
    }
    static void dealloc(void *state) noexcept { delete static_cast<exporter *>(state); }
};
} // namespace detail

/**
 * Turns an exporter into an object that owns it (xbuf_object_new). On success `e` is empty
 * and `out` holds the only reference; on failure `e` still owns the exporter and `out` is
 * empty. Errors: XBUF_ERR_NULL_ARGUMENT (no exporter), as xbuf_object_new.
 */
inline status try_make_object(std::unique_ptr<exporter> &&e, object &out) noexcept {
    out.reset();
    if (!e) return detail::fail(XBUF_ERR_NULL_ARGUMENT, "xbuf::make_object: no exporter");
    xbuf_type t;
    std::memset(&t, 0, sizeof t);
    t.structsize = sizeof t;
    t.name = e->name();
    t.getbuffer = &detail::exporter_procs::get;
    t.releasebuffer = &detail::exporter_procs::release;
    t.dealloc = &detail::exporter_procs::dealloc;
    xbuf_object *p = nullptr;
    int rc = xbuf_object_new(&t, e.get(), &p);
    if (rc != XBUF_OK) return detail::last_status(rc);
    (void)e.release();
    out = object::adopt(p);
    return status();
}

/** An object owning a new E(args...) (see try_make_object). On failure `out` is empty and
 * nothing is leaked. Errors: as try_make_object, XBUF_ERR_NO_MEMORY, an exception from E's
 * constructor as a status. */
template <class E, class... Args>
status try_make_object(object &out, Args &&...args) noexcept {
    static_assert(std::is_base_of<exporter, E>::value,
                  "xbuf::make_object: E derives from xbuf::exporter");
    out.reset();
    return detail::guard([&]() -> status {
        std::unique_ptr<exporter> e(new E(std::forward<Args>(args)...));
        return try_make_object(std::move(e), out);
    });
}

#if XBUF_HPP_EXCEPTIONS
/** As try_make_object; throws xbuf::error (the exporter is then deleted). */
inline object make_object(std::unique_ptr<exporter> e) {
    object o;
    detail::throw_if(try_make_object(std::move(e), o));
    return o;
}
/** An object owning a new E(args...); throws xbuf::error, or what E's constructor throws. */
template <class E, class... Args>
object make_object(Args &&...args) {
    static_assert(std::is_base_of<exporter, E>::value,
                  "xbuf::make_object: E derives from xbuf::exporter");
    return make_object(std::unique_ptr<exporter>(new E(std::forward<Args>(args)...)));
}
#endif

namespace detail {
template <class T>
class vector_exporter final : public exporter {
public:
    vector_exporter(std::vector<T> &&data, std::vector<std::ptrdiff_t> &&shape) noexcept
        : data_(std::move(data)), shape_(std::move(shape)) {}
    status get(xbuf_bufferinfo &v, int) override {
        v.buf = data_.data();
        v.itemsize = static_cast<std::ptrdiff_t>(sizeof(T));
        v.len = static_cast<std::ptrdiff_t>(data_.size() * sizeof(T));
        v.readonly = 0;
        v.ndim = static_cast<int>(shape_.size());
        v.format = format_of<T>();
        v.shape = shape_.empty() ? &v.len : shape_.data();
        return status();
    }
    const char *name() const noexcept override { return "std::vector"; }

    std::vector<T> data_;
    std::vector<std::ptrdiff_t> shape_;
};
} // namespace detail

/**
 * An object that owns `v` (moved in, never copied) and lends it as a writable, C-contiguous
 * array of format_of<T>() items in `shape` (whose product must be v.size(); an empty shape is
 * zero-dimensional, one item). The vector lives until the last reference and the last view
 * are gone. On success `v` is moved from; on failure it is unchanged and `out` is empty.
 * Errors: XBUF_ERR_INVALID_ARGUMENT (a negative extent, more than XBUF_MAX_NDIM dimensions,
 * a shape that does not hold v.size() items), XBUF_ERR_NO_MEMORY, as xbuf_object_new.
 * Thread safety: the object may be shared; writers through its views coordinate.
 */
template <class T>
status try_export_vector(std::vector<T> &&v, array_ref<std::ptrdiff_t> shape,
                         object &out) noexcept {
    static_assert(!std::is_same<T, bool>::value,
                  "xbuf::export_vector: std::vector<bool> packs bits");
    static_assert(has_format_v<T>, "xbuf::export_vector: T has no format (see format_traits)");
    out.reset();
    const char *who = "xbuf::export_vector";
    if (shape.size() > static_cast<std::size_t>(XBUF_MAX_NDIM))
        return detail::fail(XBUF_ERR_INVALID_ARGUMENT, "%s: %zu dimensions (at most %d allowed)",
                            who, shape.size(), XBUF_MAX_NDIM);
    std::size_t items = 1;
    for (std::size_t k = 0; k < shape.size(); k++) {
        if (shape[k] < 0)
            return detail::fail(XBUF_ERR_INVALID_ARGUMENT,
                                "%s: extent %td of dimension %zu is negative", who, shape[k], k);
        std::size_t e = static_cast<std::size_t>(shape[k]);
        items = (e != 0 && items > SIZE_MAX / e) ? SIZE_MAX : items * e;
    }
    if (items != v.size())
        return detail::fail(XBUF_ERR_INVALID_ARGUMENT,
                            "%s: the shape holds %zu items but the vector has %zu", who, items,
                            v.size());
    return detail::guard([&]() -> status {
        std::vector<std::ptrdiff_t> dims(shape.begin(), shape.end());
        auto *e = new detail::vector_exporter<T>(std::move(v), std::move(dims));
        std::unique_ptr<exporter> owner(e);
        status s = try_make_object(std::move(owner), out);
        if (!s.ok()) v = std::move(e->data_);
        return s;
    });
}
/** As try_export_vector with one dimension of v.size() items. */
template <class T>
status try_export_vector(std::vector<T> &&v, object &out) noexcept {
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(v.size());
    return try_export_vector(std::move(v), array_ref<std::ptrdiff_t>(&n, 1), out);
}
#if XBUF_HPP_EXCEPTIONS
/** As try_export_vector; throws xbuf::error. */
template <class T>
object export_vector(std::vector<T> &&v, array_ref<std::ptrdiff_t> shape) {
    object o;
    detail::throw_if(try_export_vector(std::move(v), shape, o));
    return o;
}
/** As try_export_vector with one dimension; throws xbuf::error. */
template <class T>
object export_vector(std::vector<T> &&v) {
    object o;
    detail::throw_if(try_export_vector(std::move(v), o));
    return o;
}
#endif

} // namespace xbuf

#undef XBUF_HPP_PRINTF

#endif /* XBUF_HPP */
