# ndishost_add_driver(<name> SOURCES <files>... [LIBRARIES <libs>...])
#
# Builds a driver the way the WDK builds a .sys: one loadable image (<name>.so) whose DDI
# imports resolve against the ndishost runtime libraries, as a .sys imports from
# ntoskrnl.exe, ndis.sys and usbd.sys. Works in-tree and from find_package(ndishost).
#  -Wl,--no-undefined  every import must resolve at link time, like linking against the
#                      WDK's import libraries; a typo is a build error, not a load error.
#  -Wl,-Bsymbolic      the driver's own functions bind inside the image, so two drivers
#                      (both exporting DriverEntry) never resolve into each other.
function(ndishost_add_driver name)
  cmake_parse_arguments(DRV "" "" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT DRV_SOURCES)
    message(FATAL_ERROR "ndishost_add_driver(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${DRV_SOURCES})
  set_target_properties(${name} PROPERTIES PREFIX "" SUFFIX ".so"
                        C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
  get_property(ddi_libraries GLOBAL PROPERTY NDISHOST_DDI_LIBRARIES)
  if(NOT ddi_libraries)
    set(ddi_libraries ndishost::nt)
  endif()
  target_link_libraries(${name} PRIVATE ndishost::headers ${ddi_libraries} ${DRV_LIBRARIES})
  target_link_options(${name} PRIVATE -Wl,--no-undefined -Wl,-Bsymbolic)
  target_compile_options(${name} PRIVATE -Wall -Wextra -Werror)
endfunction()
