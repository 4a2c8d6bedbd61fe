# Builds the xbuf crate as a path dependency of a small crate (tests/path_dependency) from a
# read-only copy of its sources, offline (after `cargo fetch`), and runs it: the build needs no cbindgen and writes
# nothing into the dependency's tree (checked by comparing every file's content and time, and
# the list of files, before and after; chmod a-w alone does not stop root).
# Run by CTest as: cmake -DSOURCE_DIR=... -DWORK_DIR=... -DCARGO=... -P path_dependency.cmake
include("${CMAKE_CURRENT_LIST_DIR}/script_util.cmake")
require_vars(SOURCE_DIR WORK_DIR CARGO)


# Every file of the copy with its size, time and hash.
function(snapshot dir result)
  file(GLOB_RECURSE files LIST_DIRECTORIES true RELATIVE "${dir}" "${dir}/*")
  list(SORT files)
  set(lines "")
  foreach(f IN LISTS files)
    if(IS_DIRECTORY "${dir}/${f}")
      string(APPEND lines "${f}/\n")
    else()
      file(SHA256 "${dir}/${f}" hash)
      file(TIMESTAMP "${dir}/${f}" time "%Y-%m-%dT%H:%M:%S" UTC)
      string(APPEND lines "${f} ${time} ${hash}\n")
    endif()
  endforeach()
  set(${result} "${lines}" PARENT_SCOPE)
endfunction()

set(copy "${WORK_DIR}/xbuf-src")
set(crate "${WORK_DIR}/dependent")
if(EXISTS "${copy}")
  run(chmod -R u+w "${copy}")
endif()
file(REMOVE_RECURSE "${copy}" "${crate}/src" "${crate}/Cargo.toml")
file(MAKE_DIRECTORY "${copy}" "${crate}")
# The crate's sources as a registry or a vendored copy would hold them (no target/, build/).
foreach(item Cargo.toml Cargo.lock cbindgen.toml README.md src include cli tools)
  file(COPY "${SOURCE_DIR}/${item}" DESTINATION "${copy}")
endforeach()
run(chmod -R a-w "${copy}")

set(XBUF_COPY "${copy}")
configure_file("${SOURCE_DIR}/tests/path_dependency/Cargo.toml.in" "${crate}/Cargo.toml" @ONLY)
file(COPY "${SOURCE_DIR}/tests/path_dependency/src" DESTINATION "${crate}")
# The workspace's lock file pins the same versions the project builds with (cargo drops what
# this crate does not use), so that the offline build finds them in cargo's cache.
file(COPY "${SOURCE_DIR}/Cargo.lock" DESTINATION "${crate}")

set(ENV{CARGO_TARGET_DIR} "${WORK_DIR}/target")
# Downloads what cargo's cache lacks (on a fresh machine this test may run before anything
# else asked for ndarray); the build itself is offline.
run("${CARGO}" fetch --manifest-path "${crate}/Cargo.toml")
# xbuf itself is always compiled anew (the copy keeps the sources' times), its dependencies
# come from earlier runs.
run("${CARGO}" clean --offline -p xbuf --manifest-path "${crate}/Cargo.toml")
snapshot("${copy}" before)
run("${CARGO}" build --offline --manifest-path "${crate}/Cargo.toml")
run("${CARGO}" run --offline --quiet --manifest-path "${crate}/Cargo.toml")
message(STATUS "${RUN_OUTPUT}")
if(NOT RUN_OUTPUT MATCHES "dependent ok")
  message(FATAL_ERROR "the dependent crate did not finish")
endif()
snapshot("${copy}" after)
if(NOT before STREQUAL after)
  file(WRITE "${WORK_DIR}/before.txt" "${before}")
  file(WRITE "${WORK_DIR}/after.txt" "${after}")
  message(FATAL_ERROR "building the dependency changed its source tree: compare ${WORK_DIR}/before.txt and after.txt")
endif()

# What a dependent compiles: xbuf's normal dependencies only (no cbindgen, no build script).
run("${CARGO}" tree --offline -e normal,build --manifest-path "${crate}/Cargo.toml")
message(STATUS "cargo tree -e normal,build:\n${RUN_OUTPUT}")
if(RUN_OUTPUT MATCHES "cbindgen")
  message(FATAL_ERROR "a dependent of xbuf builds cbindgen")
endif()
run(chmod -R u+w "${copy}")
message(STATUS "path dependency: built read-only and offline, source tree unchanged")
