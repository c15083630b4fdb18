# Driven by CTest: every C driver source in the tree must compile, unchanged, with both gcc
# and clang at -Wall -Wextra -Werror and the DDK's flags; the headers must also compile as
# C++ with both g++ and clang++. The build itself uses one compiler; this covers the other.
separate_arguments(driver_flags UNIX_COMMAND "${DRIVER_FLAGS}")
file(GLOB_RECURSE c_sources ${SOURCE_DIR}/drivers/*.c ${SOURCE_DIR}/tests/nt/io/c_driver.c
     ${SOURCE_DIR}/tests/nt/layout_test_c.c ${SOURCE_DIR}/tests/ndis/test_miniport.c)
set(includes -I${SOURCE_DIR}/include)

# Each driver's own definitions and include directories (a WDK project's preprocessor
# definitions, e.g. NDIS630_MINIPORT=1 NDIS_WDM=1), taken from the build's compilation
# database so the other compiler sees exactly what the build's compiler saw.
set(project_flags_of "")
if(EXISTS ${BINARY_DIR}/compile_commands.json)
  # One list element per line; brackets and semicolons would confuse CMake's list splitting
  # and never matter to -D/-I flags of driver sources.
  file(READ ${BINARY_DIR}/compile_commands.json database)
  string(REGEX REPLACE "[][;]" "" database "${database}")
  string(REPLACE "\n" ";" database "${database}")
  set(command "")
  foreach(line IN LISTS database)
    if(line MATCHES "^  \"command\": \"(.*)\",$")
      set(command "${CMAKE_MATCH_1}")
    elseif(line MATCHES "^  \"file\": \"(.*)\"")
      set(file "${CMAKE_MATCH_1}")
      string(MAKE_C_IDENTIFIER "${file}" key)
      separate_arguments(words UNIX_COMMAND "${command}")
      set(flags "")
      foreach(word IN LISTS words)
        if(word MATCHES "^-[DI]")
          string(REPLACE "\\\"" "\"" word "${word}")
          list(APPEND flags "${word}")
        endif()
      endforeach()
      set(flags_${key} "${flags}")
    endif()
  endforeach()
endif()

set(failures "")
foreach(cc gcc clang)
  foreach(source IN LISTS c_sources)
    string(MAKE_C_IDENTIFIER "${source}" key)
    execute_process(COMMAND ${cc} -std=c11 -fsyntax-only -Wall -Wextra -Werror ${driver_flags} ${includes}
                            ${flags_${key}} ${source}
                    RESULT_VARIABLE rc ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      string(APPEND failures "${cc} ${source}:\n${err}\n")
    endif()
  endforeach()
endforeach()

# The headers as a C++ driver sees them, NDIS included.
file(WRITE ${WORK_DIR}/cxx_driver.cpp
"#define NDIS_WDM 1\n#define NDIS630_MINIPORT 1\n#include <ndis.h>\n#include <ntstrsafe.h>\n#include <vector>\n#include <algorithm>\nextern \"C\" DRIVER_INITIALIZE DriverEntry;\nNTSTATUS DriverEntry(PDRIVER_OBJECT d, PUNICODE_STRING r) { UNREFERENCED_PARAMETER(d); UNREFERENCED_PARAMETER(r); std::vector<int> v{2, 1}; std::sort(v.begin(), v.end()); return v[0] == 1 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL; }\n")
foreach(cxx g++ clang++)
  execute_process(COMMAND ${cxx} -std=c++20 -fsyntax-only -Wall -Wextra -Werror -DNOMINMAX ${driver_flags} ${includes}
                          ${WORK_DIR}/cxx_driver.cpp
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(APPEND failures "${cxx} cxx_driver.cpp:\n${err}\n")
  endif()
endforeach()

list(LENGTH c_sources count)
if(failures)
  message(FATAL_ERROR "driver sources that do not compile:\n${failures}")
endif()
message(STATUS "${count} C driver sources compile with gcc and clang; the headers compile as C++ with g++ and clang++")
