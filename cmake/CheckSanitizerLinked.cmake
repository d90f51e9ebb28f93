# Checks that every file in FILES (|-separated) contains the AddressSanitizer
# runtime (__asan_init) and the UndefinedBehaviorSanitizer runtime
# (__ubsan_handle_* handlers), using NM. clang links both runtimes
# statically into executables, so they show up in the symbol table, not
# in ldd's list.
#
#   cmake -DNM=nm -DFILES=a|b -P CheckSanitizerLinked.cmake
string(REPLACE "|" ";" _files "${FILES}")
list(LENGTH _files _n)
if(_n EQUAL 0)
  message(FATAL_ERROR "CheckSanitizerLinked.cmake: no FILES given")
endif()
set(_bad "")
foreach(_f IN LISTS _files)
  execute_process(COMMAND "${NM}" "${_f}" RESULT_VARIABLE _rc OUTPUT_VARIABLE _syms ERROR_VARIABLE _e)
  if(NOT _rc STREQUAL "0")
    list(APPEND _bad "${_f}: nm failed: ${_e}")
    continue()
  endif()
  if(NOT _syms MATCHES "[TtWw] __asan_init\n")
    list(APPEND _bad "${_f}: no __asan_init defined (not built with -fsanitize=address?)")
  endif()
  if(NOT _syms MATCHES "[TtWw] __ubsan_handle_[a-z_]+\n")
    list(APPEND _bad "${_f}: no __ubsan_handle_* defined (not built with -fsanitize=undefined?)")
  endif()
endforeach()
if(_bad)
  string(REPLACE ";" "\n" _bad "${_bad}")
  message(FATAL_ERROR "sanitizer runtime missing:\n${_bad}")
endif()
message("ASan and UBSan runtimes linked into all ${_n} test programs")
