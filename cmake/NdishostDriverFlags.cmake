# The compiler flags a driver needs, in one place: the DDK's CMake package and its
# pkg-config file are generated from this list, so in-tree and out-of-tree drivers agree.
#  -fshort-wchar          WCHAR/L"..." are 16-bit UTF-16, as on Windows.
#  -fno-strict-aliasing   drivers cast between header structures as the WDK allows.
#  -fno-delete-null-pointer-checks  a driver's defensive NULL checks stay in the binary.
#  -Wno-multichar         pool tags are written 'gaTM', as every WDK driver does.
set(NDISHOST_DRIVER_FLAGS -fshort-wchar -fno-strict-aliasing -fno-delete-null-pointer-checks
    -Wno-multichar)
