# The protocol side of NDIS (src/ndis/protocol): protocol driver registration, bindings and
# their state machine, open/close, the protocol DDIs of the data and OID path.
target_sources(ndishost_ndis PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/protocol_driver.cpp
  ${CMAKE_CURRENT_LIST_DIR}/protocol_structures.cpp
  ${CMAKE_CURRENT_LIST_DIR}/binding.cpp
  ${CMAKE_CURRENT_LIST_DIR}/protocol_side.cpp
  ${CMAKE_CURRENT_LIST_DIR}/protocol_ddi.cpp
  ${CMAKE_CURRENT_LIST_DIR}/adapter_bind_target.cpp)
