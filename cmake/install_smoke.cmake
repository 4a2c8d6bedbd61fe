# Installs the build tree into a scratch prefix, then builds and runs a tiny consumer against
# it twice: through find_package(xbuf) (shared and static targets, and the C++ tour through
# xbuf::cpp) and through pkg-config (the C consumer and the C++ tour).
# Run by CTest as: cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DC_COMPILER=...
#                        -DCXX_COMPILER=... -P install_smoke.cmake

foreach(var BUILD_DIR SOURCE_DIR WORK_DIR C_COMPILER CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "install_smoke.cmake needs -D${var}=...")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "command failed (${rc}): ${cmd}\n${out}\n${err}")
  endif()
  set(RUN_OUTPUT "${out}" PARENT_SCOPE)
endfunction()

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
