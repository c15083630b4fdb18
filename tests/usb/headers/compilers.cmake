# Driven by CTest: the USB client headers, with their layout checks, compile as C11 with gcc
# and clang and as C++20 with g++ and clang++ at -Wall -Wextra -Werror and the DDK's flags,
# and as C11 with x86_64-w64-mingw32-gcc (a Windows x64 target: _WIN32/_WIN64, LLP64), so
# the same static layout assertions hold where drivers are built as .sys images. The mingw
# compiler is required: scripts/install-deps.sh installs it, and a missing one fails the test rather
# than passing it silently.
separate_arguments(driver_flags UNIX_COMMAND "${DRIVER_FLAGS}")
set(common -fsyntax-only -Wall -Wextra -Werror ${driver_flags} -I${SOURCE_DIR}/include)

set(failures "")
set(checked 0)
foreach(cc gcc clang)
  foreach(source layout_c.c urb_build_c.c)
    execute_process(COMMAND ${cc} -std=c11 ${common} ${TEST_DIR}/${source}
                    RESULT_VARIABLE rc ERROR_VARIABLE err)
    math(EXPR checked "${checked} + 1")
    if(NOT rc EQUAL 0)
      string(APPEND failures "${cc} ${source}:\n${err}\n")
    endif()
  endforeach()
endforeach()
foreach(cxx g++ clang++)
  execute_process(COMMAND ${cxx} -std=c++20 ${common} ${TEST_DIR}/layout_cpp.cpp
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  math(EXPR checked "${checked} + 1")
  if(NOT rc EQUAL 0)
    string(APPEND failures "${cxx} layout_cpp.cpp:\n${err}\n")
  endif()
endforeach()

find_program(MINGW_GCC x86_64-w64-mingw32-gcc)
if(NOT MINGW_GCC)
  string(APPEND failures "x86_64-w64-mingw32-gcc not found\n")
else()
  foreach(source layout_c.c urb_build_c.c)
    execute_process(COMMAND ${MINGW_GCC} -std=c11 ${common} ${TEST_DIR}/${source}
                    RESULT_VARIABLE rc ERROR_VARIABLE err)
    math(EXPR checked "${checked} + 1")
    if(NOT rc EQUAL 0)
      string(APPEND failures "x86_64-w64-mingw32-gcc ${source}:\n${err}\n")
    endif()
  endforeach()
endif()

if(failures)
  message(FATAL_ERROR "USB headers that do not compile:\n${failures}")
endif()
message(STATUS "${checked} compilations of the USB headers passed")
