# Extracts the C block that follows "<!-- quickstart -->" in README.md, compiles it against the
# build tree's header and library, and runs it (its output is checked by the CTest test).
# C_FLAGS (optional, separated by spaces) is added to the compile and link command: the
# sanitizer flags in sanitizer builds, whose library needs the sanitizer runtime in the program.
foreach(var README WORK_DIR C_COMPILER INCLUDE_DIR LIB_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "readme_quickstart.cmake needs -D${var}=...")
  endif()
endforeach()

file(READ "${README}" text)
string(FIND "${text}" "<!-- quickstart -->" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md has no <!-- quickstart --> marker")
endif()
string(SUBSTRING "${text}" ${at} -1 text)
string(FIND "${text}" "```c\n" start)
string(SUBSTRING "${text}" ${start} -1 text)
string(LENGTH "```c\n" skip)
string(SUBSTRING "${text}" ${skip} -1 text)
string(FIND "${text}" "```" end)
string(SUBSTRING "${text}" 0 ${end} code)

separate_arguments(C_FLAGS UNIX_COMMAND "${C_FLAGS}")
file(MAKE_DIRECTORY "${WORK_DIR}")
file(WRITE "${WORK_DIR}/quickstart.c" "${code}")
execute_process(
  COMMAND "${C_COMPILER}" -std=c99 -Wall -Wextra -Wpedantic -Werror ${C_FLAGS} "-I${INCLUDE_DIR}"
          "${WORK_DIR}/quickstart.c" "-L${LIB_DIR}" -lxbuf "-Wl,-rpath,${LIB_DIR}" -o "${WORK_DIR}/quickstart"
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the README quick start does not compile:\n${err}")
endif()
execute_process(COMMAND "${WORK_DIR}/quickstart" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the README quick start failed (${rc}): ${err}")
endif()
