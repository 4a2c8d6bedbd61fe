# Installs the build tree into a scratch prefix, then builds and runs a tiny consumer against
# it twice: through find_package(xbuf) (shared and static targets, and the C++ tour through
# xbuf::cpp) and through pkg-config (the C consumer and the C++ tour).
# Run by CTest as: cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DC_COMPILER=...
#                        -DCXX_COMPILER=... -P install_smoke.cmake

include("${CMAKE_CURRENT_LIST_DIR}/script_util.cmake")
require_vars(BUILD_DIR SOURCE_DIR WORK_DIR C_COMPILER CXX_COMPILER)


file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
run("${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}")

foreach(f include/xbuf.h include/xbuf.hpp lib/libxbuf.a lib/cmake/xbuf/xbufConfig.cmake lib/cmake/xbuf/xbufConfigVersion.cmake lib/pkgconfig/xbuf.pc)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "install is missing ${f}")
  endif()
endforeach()
file(GLOB sonames "${prefix}/lib/libxbuf.so*")
list(LENGTH sonames n)
if(NOT n EQUAL 3)
  message(FATAL_ERROR "expected libxbuf.so, libxbuf.so.MAJOR and libxbuf.so.X.Y.Z, found: ${sonames}")
endif()
if(NOT IS_SYMLINK "${prefix}/lib/libxbuf.so")
  message(FATAL_ERROR "lib/libxbuf.so should be a symbolic link")
endif()

# Release builds install a library without debug sections; its debug info is a component of
# its own.
find_program(READELF NAMES readelf llvm-readelf-19 llvm-readelf)
if(SPLIT_DEBUG)
  if(NOT READELF)
    message(FATAL_ERROR "readelf not found: cannot check the installed library's sections")
  endif()
  file(GLOB real "${prefix}/lib/libxbuf.so.*.*.*")
  run("${READELF}" -S --wide "${real}")
  if(RUN_OUTPUT MATCHES "\\.debug_")
    message(FATAL_ERROR "the installed ${real} has debug sections:\n${RUN_OUTPUT}")
  endif()
  if(NOT RUN_OUTPUT MATCHES "\\.gnu_debuglink")
    message(FATAL_ERROR "the installed ${real} does not name its debug file (.gnu_debuglink)")
  endif()
  if(EXISTS "${prefix}/lib/.debug")
    message(FATAL_ERROR "the debug info was installed without being asked for")
  endif()
  run("${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}" --component debug)
  get_filename_component(real_name "${real}" NAME)
  run("${READELF}" -S --wide "${prefix}/lib/.debug/${real_name}.debug")
  if(NOT RUN_OUTPUT MATCHES "\\.debug_info")
    message(FATAL_ERROR "lib/.debug/${real_name}.debug has no .debug_info")
  endif()
  file(SIZE "${real}" size)
  message(STATUS "installed ${real_name}: ${size} bytes, no debug sections")
endif()

# The xbuf command.
if(XBUF_CLI)
  if(NOT EXISTS "${prefix}/bin/xbuf")
    message(FATAL_ERROR "install is missing bin/xbuf")
  endif()
  run("${prefix}/bin/xbuf" format "T{<I:id:(3)<f:pos:4s:tag:}")
  if(NOT RUN_OUTPUT MATCHES "itemsize 20")
    message(FATAL_ERROR "the installed xbuf command printed:\n${RUN_OUTPUT}")
  endif()
  message(STATUS "bin/xbuf format: itemsize 20")
endif()

# 1. find_package(xbuf)
run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/install_smoke" -B "${WORK_DIR}/consumer"
    "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_C_COMPILER=${C_COMPILER}"
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DXBUF_CPP_TOUR=${SOURCE_DIR}/examples/cpp_tour.cpp")
run("${CMAKE_COMMAND}" --build "${WORK_DIR}/consumer")
run("${WORK_DIR}/consumer/consumer_shared")
message(STATUS "find_package, shared: ${RUN_OUTPUT}")
run("${WORK_DIR}/consumer/consumer_static")
message(STATUS "find_package, static: ${RUN_OUTPUT}")
run("${WORK_DIR}/consumer/cpp_tour")
if(NOT RUN_OUTPUT MATCHES "cpp tour complete")
  message(FATAL_ERROR "the C++ tour built against the installed tree did not finish:\n${RUN_OUTPUT}")
endif()
message(STATUS "find_package, C++ (xbuf::cpp): cpp tour complete")

# 2. pkg-config
find_program(PKG_CONFIG pkg-config REQUIRED)
set(ENV{PKG_CONFIG_PATH} "${prefix}/lib/pkgconfig")
run("${PKG_CONFIG}" --cflags --libs xbuf)
string(STRIP "${RUN_OUTPUT}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run("${C_COMPILER}" -std=c99 -Wall -Wextra -Werror "${SOURCE_DIR}/tests/install_smoke/consumer.c" ${flags}
    -o "${WORK_DIR}/consumer_pkgconfig")
set(ENV{LD_LIBRARY_PATH} "${prefix}/lib")
run("${WORK_DIR}/consumer_pkgconfig")
message(STATUS "pkg-config: ${RUN_OUTPUT}")
run("${CXX_COMPILER}" -std=c++17 -Wall -Wextra -Wpedantic -Werror "${SOURCE_DIR}/examples/cpp_tour.cpp" ${flags}
    -o "${WORK_DIR}/cpp_tour_pkgconfig")
run("${WORK_DIR}/cpp_tour_pkgconfig")
if(NOT RUN_OUTPUT MATCHES "cpp tour complete")
  message(FATAL_ERROR "the C++ tour built with pkg-config did not finish:\n${RUN_OUTPUT}")
endif()
message(STATUS "pkg-config, C++: cpp tour complete")
