# Driven by CTest for ndishost_windows_build_check() (WindowsBuildCheck.cmake): compiles a
# driver's sources with x86_64-w64-mingw32-gcc against the project's headers, links a PE32+
# kernel image and checks it with objdump -p. CONFIG names the file with the driver's
# settings.
include(${CONFIG})

set(failures "")
macro(fail message)
  string(APPEND failures "${message}\n")
endmacro()

foreach(tool MINGW_GCC MINGW_OBJDUMP MINGW_DLLTOOL)
  if(NOT ${tool} OR NOT EXISTS "${${tool}}")
    message(FATAL_ERROR "${NAME}: ${tool} not found: install gcc-mingw-w64-x86-64 (scripts/install-deps.sh)")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK_DIR}/obj)
file(MAKE_DIRECTORY ${WORK_DIR}/obj)

# ---- compile -------------------------------------------------------------------------
# The project's include/ comes first so <wdm.h>, <ndis.h>, <usb.h>, ... are ours; mingw-w64's
# own directories stay on the path only for the C runtime's basic headers that ntdef.h uses.
# -mno-red-zone: interrupts run on the kernel stack below RSP. No stack protector: the
# kernel's __security_cookie is not linked here.
set(compile_flags -std=c11 -O2 -Wall -Wextra -Werror ${DRIVER_FLAGS} -mno-red-zone -fno-stack-protector
                  -I${PROJECT_INCLUDE_DIR})
foreach(dir IN LISTS INCLUDE_DIRECTORIES)
  list(APPEND compile_flags -I${dir})
endforeach()
foreach(definition IN LISTS DEFINITIONS)
  list(APPEND compile_flags -D${definition})
endforeach()

# Headers from outside the project a driver may reach: the C runtime's basic ones only.
set(runtime_header_regex
    "^(stddef|stdint|stdarg|stdbool|stdalign|stdnoreturn|string|string_s|limits|syslimits|float|crtdefs|corecrt|vadefs|_mingw[a-z_]*)\\.h$")

set(objects "")
set(index 0)
foreach(source IN LISTS SOURCES)
  get_filename_component(stem "${source}" NAME_WE)
  set(object ${WORK_DIR}/obj/${index}_${stem}.o)
  math(EXPR index "${index} + 1")
  execute_process(COMMAND ${MINGW_GCC} ${compile_flags} -MD -MF ${object}.d -c ${source} -o ${object}
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    fail("[compile-failed] ${source}:\n${err}")
    continue()
  endif()
  list(APPEND objects ${object})
  file(READ ${object}.d dependencies)
  string(REPLACE "\\\n" " " dependencies "${dependencies}")
  string(REGEX REPLACE "^[^:]*:" "" dependencies "${dependencies}")
  separate_arguments(dependencies UNIX_COMMAND "${dependencies}")
  foreach(header IN LISTS dependencies)
    get_filename_component(header "${header}" REALPATH)
    set(ours FALSE)
    foreach(dir ${PROJECT_INCLUDE_DIR} ${INCLUDE_DIRECTORIES})
      get_filename_component(dir "${dir}" REALPATH)
      string(FIND "${header}" "${dir}/" at)
      if(at EQUAL 0)
        set(ours TRUE)
      endif()
    endforeach()
    get_filename_component(source_dir "${source}" DIRECTORY)
    get_filename_component(source_dir "${source_dir}" REALPATH)
    string(FIND "${header}" "${source_dir}/" at)
    if(at EQUAL 0 OR header STREQUAL "${source}")
      set(ours TRUE)
    endif()
    get_filename_component(base "${header}" NAME)
    if(NOT ours AND NOT base MATCHES "${runtime_header_regex}")
      fail("[foreign-header] ${source} includes ${header}, which is not the project's: a header the drivers "
           "need belongs in include/")
    endif()
  endforeach()
endforeach()

if(failures)
  message(FATAL_ERROR "${NAME}: the Windows build failed:\n${failures}")
endif()

# ---- link ----------------------------------------------------------------------------
set(module_ntoskrnl ntoskrnl.exe)
set(module_hal hal.dll)
set(module_ndis ndis.sys)
set(module_usbd usbd.sys)
set(allowed_modules "")
set(link_libraries "")
foreach(library IN LISTS LIBRARIES)
  list(APPEND allowed_modules ${module_${library}})
  list(APPEND link_libraries -l${library})
  # Documented exports newer than mingw-w64's import library (exports/<library>.def).
  if(EXISTS ${EXTRA_EXPORTS_DIR}/${library}.def)
    set(extra ${WORK_DIR}/obj/lib${library}_extra.a)
    execute_process(COMMAND ${MINGW_DLLTOOL} -d ${EXTRA_EXPORTS_DIR}/${library}.def -l ${extra}
                    RESULT_VARIABLE rc ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${NAME}: dlltool on ${library}.def failed:\n${err}")
    endif()
    list(APPEND link_libraries ${extra})
  endif()
endforeach()

# A kernel image: no C runtime or startup files, the native subsystem, DriverEntry as the
# entry point, the x64 kernel-image base, relocatable (the loader places it anywhere),
# marked as a WDM driver. libgcc is code linked in (e.g. ___chkstk_ms for large frames),
# not an import.
set(image ${WORK_DIR}/${NAME}.sys)
execute_process(
  COMMAND ${MINGW_GCC} -nostdlib -nostartfiles -o ${image} ${objects}
          -Wl,--subsystem,native -Wl,--entry,DriverEntry -Wl,--image-base,0x140000000
          -Wl,--dynamicbase -Wl,--nxcompat -Wl,--enable-reloc-section -Wl,--wdmdriver
          -Wl,--no-undefined ${link_libraries} -lgcc
  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "[link-failed] ${NAME}: linking ${NAME}.sys failed (a DDI the driver uses is not an export of "
                      "${allowed_modules}, or is missing its x64 inline form in include/):\n${out}${err}")
endif()

# ---- inspect -------------------------------------------------------------------------
execute_process(COMMAND ${MINGW_OBJDUMP} -p ${image} RESULT_VARIABLE rc OUTPUT_VARIABLE headers ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NAME}: objdump -p failed:\n${err}")
endif()
file(WRITE ${WORK_DIR}/${NAME}.objdump.txt "${headers}")

if(NOT headers MATCHES "Magic[ \t]+020b[ \t]+\\(PE32\\+\\)")
  fail("not a PE32+ image")
endif()
if(NOT headers MATCHES "Subsystem[ \t]+00000001[ \t]+\\(NT native\\)")
  fail("subsystem is not native")
endif()
# The loader places a driver anywhere: relocations kept and the image marked relocatable
# (an image with no absolute addresses has an empty table, which is fine).
if(headers MATCHES "relocations stripped" OR NOT headers MATCHES "DYNAMIC_BASE")
  fail("the image is not relocatable: the kernel could not load it at another address")
endif()
if(headers MATCHES "AddressOfEntryPoint[ \t]+0+\n")
  fail("no entry point")
endif()

# Import directory: "DLL Name: <module>" then one line per imported name.
string(REPLACE "\n" ";" lines "${headers}")
set(module "")
set(imports "")
set(import_count 0)
foreach(line IN LISTS lines)
  if(line MATCHES "DLL Name: (.+)$")
    string(STRIP "${CMAKE_MATCH_1}" module)
    string(TOLOWER "${module}" module)
    list(FIND allowed_modules "${module}" at)
    if(at EQUAL -1)
      fail("[foreign-import] imports from ${module}, which is not one of ${allowed_modules}")
    endif()
  elseif(module AND line MATCHES "^\t[0-9a-f]+[ \t]+[0-9]+[ \t]+([A-Za-z_][A-Za-z0-9_@]*)$")
    list(APPEND imports "${module}!${CMAKE_MATCH_1}")
    math(EXPR import_count "${import_count} + 1")
  elseif(line MATCHES "^$|^The |^PE File|^Export")
    set(module "")
  endif()
endforeach()
if(import_count EQUAL 0)
  fail("no imports found: the import directory could not be read")
endif()

if(failures)
  message(FATAL_ERROR "${NAME}: ${NAME}.sys is not a valid kernel image:\n${failures}")
endif()
list(JOIN imports " " import_list)
message(STATUS "${NAME}.sys: PE32+, native, relocatable, ${import_count} imports: ${import_list}")
