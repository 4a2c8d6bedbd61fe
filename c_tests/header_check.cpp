// The header check compiled as C++ (C++11 and C++17 targets in CMakeLists.txt).
#include "header_check.c"
