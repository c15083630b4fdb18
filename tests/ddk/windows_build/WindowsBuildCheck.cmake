# ndishost_windows_build_check(): the Windows build check of issue 5 item 7. The same driver
# sources the project builds for ndishost are compiled with x86_64-w64-mingw32-gcc against
# the project's own headers (include/, searched before mingw-w64's) into a PE32+ kernel
# image (.sys: subsystem native, entry DriverEntry, relocatable) linked against mingw-w64's
# import libraries, so every DDI a driver uses must resolve to a real export of
# ntoskrnl.exe, hal.dll, ndis.sys or usbd.sys. A CTest test, ddk.windows_build.<name>,
# compiles, links and inspects the image (check_image.cmake):
#   - each object compiles with -Wall -Wextra -Werror and the DDK's flags;
#   - no header outside the project comes in except the C runtime's basic ones (stddef.h,
#     stdint.h, string.h, stdarg.h and what they pull in): a WDK header the project lacks
#     must not be silently taken from mingw-w64;
#   - the link leaves nothing undefined, with only the import libraries named in LIBRARIES;
#   - objdump -p shows PE32+, subsystem native, a relocatable image, and imports from those
#     modules only.
#
#   ndishost_windows_build_check(<name>
#     SOURCES <file>...                   # relative to the calling CMakeLists.txt
#     [INCLUDE_DIRECTORIES <dir>...]      # the driver's own, after the project's include/
#     [DEFINITIONS <NAME[=value]>...]     # e.g. NDIS_WDM=1 NDIS620_MINIPORT=1
#     [LIBRARIES <ntoskrnl|hal|ndis|usbd>...]  # default: ntoskrnl hal
#     [EXPECT_FAILURE <regex>])           # the check's own tests: must fail with this message
#
# Callable from any CMakeLists.txt (drivers/ or tests/) after
#   include(${PROJECT_SOURCE_DIR}/tests/ddk/windows_build/WindowsBuildCheck.cmake)
# The test runs at test time (ctest -R ddk.windows_build), so a driver that does not build
# for Windows fails its test, not the whole build. The compiler is required:
# scripts/install-deps.sh installs gcc-mingw-w64-x86-64; without it the test fails.
include_guard(GLOBAL)

function(ndishost_windows_build_check name)
  cmake_parse_arguments(WBC "" "EXPECT_FAILURE" "SOURCES;INCLUDE_DIRECTORIES;DEFINITIONS;LIBRARIES" ${ARGN})
  # This file's directory, whichever CMakeLists.txt included it first (include_guard).
  set(NDISHOST_WINDOWS_BUILD_DIR ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  if(NOT WBC_SOURCES)
    message(FATAL_ERROR "ndishost_windows_build_check(${name}): SOURCES is required")
  endif()
  if(NOT WBC_LIBRARIES)
    set(WBC_LIBRARIES ntoskrnl hal)
  endif()
  foreach(library IN LISTS WBC_LIBRARIES)
    if(NOT library MATCHES "^(ntoskrnl|hal|ndis|usbd)$")
      message(FATAL_ERROR "ndishost_windows_build_check(${name}): LIBRARIES takes ntoskrnl, hal, ndis, usbd; "
                          "got '${library}'")
    endif()
  endforeach()

  set(sources "")
  foreach(source IN LISTS WBC_SOURCES)
    get_filename_component(source "${source}" ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND sources "${source}")
  endforeach()
  set(include_directories "")
  foreach(dir IN LISTS WBC_INCLUDE_DIRECTORIES)
    get_filename_component(dir "${dir}" ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND include_directories "${dir}")
  endforeach()

  find_program(NDISHOST_MINGW_GCC x86_64-w64-mingw32-gcc)
  find_program(NDISHOST_MINGW_OBJDUMP x86_64-w64-mingw32-objdump)
  find_program(NDISHOST_MINGW_DLLTOOL x86_64-w64-mingw32-dlltool)

  set(work_dir ${CMAKE_CURRENT_BINARY_DIR}/windows_build/${name})
  set(config ${work_dir}/check.cmake)
  file(CONFIGURE OUTPUT ${config} @ONLY CONTENT [==[
set(NAME "@name@")
set(WORK_DIR "@work_dir@")
set(SOURCES "@sources@")
set(PROJECT_INCLUDE_DIR "@PROJECT_SOURCE_DIR@/include")
set(INCLUDE_DIRECTORIES "@include_directories@")
set(DEFINITIONS "@WBC_DEFINITIONS@")
set(LIBRARIES "@WBC_LIBRARIES@")
set(DRIVER_FLAGS "@NDISHOST_DRIVER_FLAGS@")
set(MINGW_GCC "@NDISHOST_MINGW_GCC@")
set(MINGW_OBJDUMP "@NDISHOST_MINGW_OBJDUMP@")
set(MINGW_DLLTOOL "@NDISHOST_MINGW_DLLTOOL@")
set(EXTRA_EXPORTS_DIR "@NDISHOST_WINDOWS_BUILD_DIR@/exports")
]==])

  add_test(NAME ddk.windows_build.${name}
           COMMAND ${CMAKE_COMMAND} -DCONFIG=${config} -P ${NDISHOST_WINDOWS_BUILD_DIR}/check_image.cmake)
  set_tests_properties(ddk.windows_build.${name} PROPERTIES TIMEOUT 120 LABELS windows_build)
  if(WBC_EXPECT_FAILURE)
    # CTest then judges by the output alone: the check must have failed, for this reason.
    set_tests_properties(ddk.windows_build.${name} PROPERTIES PASS_REGULAR_EXPRESSION "${WBC_EXPECT_FAILURE}")
  endif()
endfunction()
