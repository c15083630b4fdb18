# The traffic paths of a miniport adapter (send, receive, OIDs, status, hang detection and
# reset); included by src/ndis/CMakeLists.txt.
target_sources(ndishost_ndis PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/adapter_traffic.cpp
  ${CMAKE_CURRENT_LIST_DIR}/oid_path.cpp
  ${CMAKE_CURRENT_LIST_DIR}/hang_detection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/traffic_ddi.cpp)
