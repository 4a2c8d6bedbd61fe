# Extracts the code block that follows a marker in README.md, compiles it against the build
# tree's header and library, and runs it (its output is checked by the CTest test):
#   C   (the default): the ```c block after "<!-- quickstart -->", built with -DC_COMPILER as C99;
#   C++ (-DLANGUAGE=cpp): the ```cpp block after "<!-- quickstart-cpp -->", built with
#       -DCXX_COMPILER as C++17.
# C_FLAGS (optional, separated by spaces) is added to the compile and link command: the
# sanitizer flags in sanitizer builds, whose library needs the sanitizer runtime in the program.
# MARKER (optional) takes the block after "<!-- MARKER -->" instead; EXTRA_INCLUDE_DIR
# (optional) is searched for headers too (the DLPack quick start's dlpack.h).
include("${CMAKE_CURRENT_LIST_DIR}/script_util.cmake")
require_vars(README WORK_DIR INCLUDE_DIR LIB_DIR)
if(LANGUAGE STREQUAL "cpp")
  set(marker "<!-- quickstart-cpp -->")
  set(fence "```cpp\n")
  set(source "${WORK_DIR}/quickstart.cpp")
  set(source_ext cpp)
  set(compiler "${CXX_COMPILER}")
  set(std -std=c++17)
else()
  set(marker "<!-- quickstart -->")
  set(fence "```c\n")
  set(source "${WORK_DIR}/quickstart.c")
  set(source_ext c)
  set(compiler "${C_COMPILER}")
  set(std -std=c99)
endif()
if(DEFINED MARKER)
  set(marker "<!-- ${MARKER} -->")
  set(source "${WORK_DIR}/${MARKER}.${source_ext}")
endif()
if(DEFINED EXTRA_INCLUDE_DIR)
  set(extra_include "-I${EXTRA_INCLUDE_DIR}")
endif()
if(NOT compiler)
  message(FATAL_ERROR "readme_quickstart.cmake needs -DC_COMPILER=... (or -DCXX_COMPILER=... for C++)")
endif()

file(READ "${README}" text)
string(FIND "${text}" "${marker}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md has no ${marker} marker")
endif()
string(SUBSTRING "${text}" ${at} -1 text)
string(FIND "${text}" "${fence}" start)
if(start EQUAL -1)
  message(FATAL_ERROR "README.md has no code block after ${marker}")
endif()
string(SUBSTRING "${text}" ${start} -1 text)
string(LENGTH "${fence}" skip)
string(SUBSTRING "${text}" ${skip} -1 text)
string(FIND "${text}" "```" end)
string(SUBSTRING "${text}" 0 ${end} code)

separate_arguments(C_FLAGS UNIX_COMMAND "${C_FLAGS}")
file(MAKE_DIRECTORY "${WORK_DIR}")
file(WRITE "${source}" "${code}")
execute_process(
  COMMAND "${compiler}" ${std} -Wall -Wextra -Wpedantic -Werror ${C_FLAGS} "-I${INCLUDE_DIR}" ${extra_include}
          "${source}" "-L${LIB_DIR}" -lxbuf "-Wl,-rpath,${LIB_DIR}" -o "${WORK_DIR}/quickstart"
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the README quick start does not compile:\n${err}")
endif()
execute_process(COMMAND "${WORK_DIR}/quickstart" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the README quick start failed (${rc}): ${err}")
endif()
