// A tiny test harness for the C++ tests: each test_*.cpp file is one executable registered with
// CTest. CHECK_* macros print the failing expression with file and line and count failures;
// XBUF_TEST_MAIN runs the listed test functions and exits non-zero if any check failed.
#ifndef XBUF_CPP_TEST_HPP
#define XBUF_CPP_TEST_HPP

#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>

#include "xbuf.hpp"

namespace xt {
inline int failures = 0;
inline int checks = 0;

inline void fail(const char *file, int line, const std::string &what) {
    std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what.c_str());
    failures++;
}

// Equality without sign-comparison surprises: integers compare by value.
template <class A, class B>
bool equal(const A &a, const B &b) {
    constexpr bool ints = std::is_integral<A>::value && std::is_integral<B>::value &&
                          !std::is_same<A, bool>::value && !std::is_same<B, bool>::value;
    if constexpr (ints) {
        if constexpr (std::is_signed<A>::value == std::is_signed<B>::value) {
            return a == b;
        } else if constexpr (std::is_signed<A>::value) {
            return a >= 0 && static_cast<std::make_unsigned_t<A>>(a) == b;
        } else {
            return b >= 0 && a == static_cast<std::make_unsigned_t<B>>(b);
        }
    } else {
        return a == b;
    }
}

template <class T>
std::string show(const T &v) {
    if constexpr (std::is_same<T, bool>::value) {
        return v ? "true" : "false";
    } else if constexpr (std::is_integral<T>::value) {
        return std::to_string(v);
    } else if constexpr (std::is_floating_point<T>::value) {
        char b[64];
        std::snprintf(b, sizeof b, "%.17g", static_cast<double>(v));
        return b;
    } else if constexpr (std::is_convertible<T, std::string>::value) {
        std::string quoted(1, '"'); // (appended piece by piece: g++ 12 -O3 warns wrongly on a + b + c)
        quoted.append(std::string(v));
        quoted.push_back('"');
        return quoted;
    } else if constexpr (std::is_pointer<T>::value) {
        char b[32];
        std::snprintf(b, sizeof b, "%p", static_cast<const void *>(v));
        return b;
    } else {
        return "(value)";
    }
}

template <class A, class B>
void check_eq(const A &a, const B &b, const char *ea, const char *eb, const char *file, int line) {
    checks++;
    if (!equal(a, b)) fail(file, line, std::string(ea) + " == " + eb + " (" + show(a) + " != " + show(b) + ")");
}

inline void check_status(const xbuf::status &s, int code, const char *needle, const char *expr,
                         const char *file, int line) {
    checks++;
    if (s.code() != code) {
        fail(file, line, std::string(expr) + " gave " + s.name() + ", expected " + xbuf_status_str(code) +
                             " (message: " + s.message() + ")");
    } else if (code != XBUF_OK && (s.message().empty() || s.message().find(needle) == std::string::npos)) {
        fail(file, line, std::string(expr) + ": message \"" + s.message() + "\" lacks \"" + needle + "\"");
    }
}

typedef void (*fn)();
struct test_case {
    const char *name;
    fn run;
};

inline int run(const test_case *cases, std::size_t n) {
    std::size_t passed = 0, failed = 0;
    for (std::size_t i = 0; i < n; i++) {
        int before = failures;
        cases[i].run();
        if (failures == before) {
            passed++;
            std::printf("ok   %s\n", cases[i].name);
        } else {
            failed++;
            std::printf("FAIL %s\n", cases[i].name);
        }
    }
    std::printf("checks: %d\n", checks);
    std::printf("%zu passed, %zu failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
} // namespace xt

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        xt::checks++;                                                                              \
        if (!(cond)) xt::fail(__FILE__, __LINE__, #cond);                                          \
    } while (0)

#define CHECK_EQ(a, b) xt::check_eq((a), (b), #a, #b, __FILE__, __LINE__)

// A try_ call (or any xbuf::status) must give `code`, with a message containing `needle`.
#define CHECK_STATUS(expr, code, needle) xt::check_status((expr), (code), (needle), #expr, __FILE__, __LINE__)
#define CHECK_OK(expr) CHECK_STATUS(expr, XBUF_OK, "")

#if XBUF_HPP_EXCEPTIONS
// An expression must throw xbuf::error with `code` and a message containing `needle`.
#define CHECK_THROWS(expr, code, needle)                                                           \
    do {                                                                                           \
        xt::checks++;                                                                              \
        try {                                                                                      \
            (void)(expr);                                                                          \
            xt::fail(__FILE__, __LINE__, std::string(#expr) + " did not throw");                   \
        } catch (const xbuf::error &xt_e) {                                                        \
            xt::check_status(xt_e.to_status(), (code), (needle), #expr, __FILE__, __LINE__);       \
        }                                                                                          \
    } while (0)
#endif

#define XT_CASE(f) {#f, f}
#define XBUF_TEST_MAIN(...)                                                                        \
    int main() {                                                                                   \
        static const xt::test_case cases[] = {__VA_ARGS__};                                        \
        return xt::run(cases, sizeof cases / sizeof cases[0]);                                     \
    }

#endif
