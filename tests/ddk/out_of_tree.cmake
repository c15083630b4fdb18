# Driven by CTest: install, then build tests/ddk/minimal_driver.c as a third party would.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(LAST_OUTPUT "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# 1. The pkg-config one-liner.
set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
run(pkg-config --cflags ndishost-ddk)
string(STRIP "${LAST_OUTPUT}" cflags)
run(pkg-config --libs ndishost-ddk)
string(STRIP "${LAST_OUTPUT}" libs)
separate_arguments(cflags UNIX_COMMAND "${cflags}")
separate_arguments(libs UNIX_COMMAND "${libs}")
run(cc ${cflags} -Wall -Wextra -Werror -o ${WORK_DIR}/minimal_pc.so ${SOURCE_DIR}/minimal_driver.c ${libs})

# 2. find_package(ndishost) + ndishost_add_driver().
file(WRITE ${WORK_DIR}/project/CMakeLists.txt
"cmake_minimum_required(VERSION 3.25)\nproject(minimal C)\nfind_package(ndishost REQUIRED)\nndishost_add_driver(minimal SOURCES ${SOURCE_DIR}/minimal_driver.c)\n")
run(${CMAKE_COMMAND} -S ${WORK_DIR}/project -B ${WORK_DIR}/project/build -G ${CMAKE_GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/project/build)
if(NOT EXISTS ${WORK_DIR}/project/build/minimal.so)
  message(FATAL_ERROR "find_package route did not produce minimal.so")
endif()
message(STATUS "out-of-tree driver built both ways")
