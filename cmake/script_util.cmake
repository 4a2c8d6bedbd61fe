# Helpers shared by the cmake -P scripts that CTest runs (install_smoke, cpp23_check,
# path_dependency, readme_quickstart).

# Fails unless every named variable was given with -D.
function(require_vars)
  get_filename_component(script "${CMAKE_SCRIPT_MODE_FILE}" NAME)
  foreach(var ${ARGN})
    if(NOT DEFINED ${var})
      message(FATAL_ERROR "${script} needs -D${var}=...")
    endif()
  endforeach()
endfunction()

# Runs a command; fails with its output when it fails, else leaves its stdout in RUN_OUTPUT.
macro(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _run_rc OUTPUT_VARIABLE RUN_OUTPUT
                  ERROR_VARIABLE _run_err)
  if(NOT _run_rc EQUAL 0)
    string(REPLACE ";" " " _run_cmd "${ARGN}")
    message(FATAL_ERROR "command failed (${_run_rc}): ${_run_cmd}\n${RUN_OUTPUT}\n${_run_err}")
  endif()
endmacro()
