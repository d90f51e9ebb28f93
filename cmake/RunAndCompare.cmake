# Runs PROGRAM (behind LAUNCHER, a |-separated command prefix, e.g. valgrind
# and its flags) and compares its standard output with the file EXPECTED.
# Before comparing, the library version (VERSION) becomes <VERSION> and the
# number after "object bytes: " becomes <N>: they change between builds.
# Fails if the program exits non-zero or the output differs.
#
#   cmake -DPROGRAM=... -DEXPECTED=... [-DLAUNCHER=a|b] [-DVERSION=x.y.z] -P RunAndCompare.cmake
foreach(_v PROGRAM EXPECTED)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "RunAndCompare.cmake: ${_v} is not set")
  endif()
endforeach()
set(_cmd "")
if(LAUNCHER)
  string(REPLACE "|" ";" _cmd "${LAUNCHER}")
endif()
list(APPEND _cmd "${PROGRAM}")
execute_process(COMMAND ${_cmd}
  RESULT_VARIABLE _rc
  OUTPUT_VARIABLE _out
  ERROR_VARIABLE _err)
# stderr is passed through (valgrind's and the sanitizers' reports land there).
if(_err)
  message("${_err}")
endif()
if(NOT _rc STREQUAL "0")
  message(FATAL_ERROR "${PROGRAM} exited with ${_rc}; its output:\n${_out}")
endif()
if(VERSION)
  string(REPLACE "${VERSION}" "<VERSION>" _out "${_out}")
endif()
string(REGEX REPLACE "object bytes: [0-9]+" "object bytes: <N>" _out "${_out}")
file(READ "${EXPECTED}" _want)
if(NOT _out STREQUAL _want)
  message(FATAL_ERROR "output of ${PROGRAM} differs from ${EXPECTED}\n--- expected\n${_want}--- got (normalized)\n${_out}---")
endif()
message("output matches ${EXPECTED}")
