# Driven by CTest: every C driver source in the tree must compile, unchanged, with both gcc
# and clang at -Wall -Wextra -Werror and the DDK's flags; the headers must also compile as
# C++ with both g++ and clang++. The build itself uses one compiler; this covers the other.
separate_arguments(driver_flags UNIX_COMMAND "${DRIVER_FLAGS}")
file(GLOB_RECURSE c_sources ${SOURCE_DIR}/drivers/*.c ${SOURCE_DIR}/tests/nt/io/c_driver.c
     ${SOURCE_DIR}/tests/nt/layout_test_c.c ${SOURCE_DIR}/tests/ndis/test_miniport.c)
set(includes -I${SOURCE_DIR}/include -I${SOURCE_DIR}/drivers/samples/inc)

set(failures "")
foreach(cc gcc clang)
  foreach(source IN LISTS c_sources)
    execute_process(COMMAND ${cc} -std=c11 -fsyntax-only -Wall -Wextra -Werror ${driver_flags} ${includes}
                            ${source}
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
