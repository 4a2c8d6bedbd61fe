# Builds tests/cpp/cxx23 (the C++ tests and the C++ tour as C++23 with clang and libc++, for
# std::mdspan) against the build tree's library, then runs every program, under LAUNCHER when
# given. Run by CTest as:
#   cmake -DSOURCE_DIR=... -DWORK_DIR=... -DCXX_COMPILER=clang++-19 -DLIBRARY=.../libxbuf.so
#         [-DEXTRA_FLAGS="..."] [-DLAUNCHER="valgrind ..."] -P cpp23_check.cmake
include("${CMAKE_CURRENT_LIST_DIR}/script_util.cmake")
require_vars(SOURCE_DIR WORK_DIR CXX_COMPILER LIBRARY)


file(REMOVE_RECURSE "${WORK_DIR}")
run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/cpp/cxx23" -B "${WORK_DIR}"
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" -DCMAKE_BUILD_TYPE=Debug
    "-DXBUF_SOURCE_DIR=${SOURCE_DIR}" "-DXBUF_LIBRARY=${LIBRARY}" "-DXBUF_EXTRA_FLAGS=${EXTRA_FLAGS}")
run("${CMAKE_COMMAND}" --build "${WORK_DIR}" --parallel 1)

separate_arguments(launcher UNIX_COMMAND "${LAUNCHER}")
file(GLOB tests "${SOURCE_DIR}/tests/cpp/test_cpp_*.cpp")
foreach(src IN LISTS tests)
  get_filename_component(name "${src}" NAME_WE)
  run(${launcher} "${WORK_DIR}/${name}")
  if(NOT RUN_OUTPUT MATCHES "\n[0-9]+ passed, 0 failed\n")
    message(FATAL_ERROR "${name}: unexpected output:\n${RUN_OUTPUT}")
  endif()
  string(REGEX MATCH "[0-9]+ passed, 0 failed" summary "${RUN_OUTPUT}")
  message(STATUS "${name} (C++23, libc++): ${summary}")
endforeach()
run(${launcher} "${WORK_DIR}/cpp_tour")
if(NOT RUN_OUTPUT MATCHES "mdspan: m\\[1, 2\\] = 7\n" OR NOT RUN_OUTPUT MATCHES "cpp tour complete")
  message(FATAL_ERROR "cpp_tour (C++23) did not use std::mdspan or did not finish:\n${RUN_OUTPUT}")
endif()
message(STATUS "cpp_tour (C++23, libc++): std::mdspan used, tour complete")
