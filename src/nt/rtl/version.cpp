// RtlGetVersion and the NTDDI availability checks.
//
// ndishost reports Windows 10 version 22H2 (10.0.19045, a workstation), whose DDI level is
// NTDDI_WIN10_VB: the release that introduced ExAllocatePool2 and the other DDIs ndishost
// implements. A driver asking for anything newer is told it is not available.
#include "nt/rtl/ddk.hpp"

#include <cstring>

namespace {
constexpr ULONG kMajorVersion = 10;
constexpr ULONG kMinorVersion = 0;
constexpr ULONG kBuildNumber = 19045;
constexpr ULONG kDdiVersion = NTDDI_WIN10_VB;
}  // namespace

extern "C" {

// IRQL == PASSIVE_LEVEL. Fills RTL_OSVERSIONINFOW, and the EXW members when
// dwOSVersionInfoSize says the caller passed the larger structure.
NTSTATUS NTAPI RtlGetVersion(PRTL_OSVERSIONINFOW lpVersionInformation) {
  ULONG size = lpVersionInformation->dwOSVersionInfoSize;
  if (size != sizeof(RTL_OSVERSIONINFOW) && size != sizeof(RTL_OSVERSIONINFOEXW)) return STATUS_INVALID_PARAMETER;
  lpVersionInformation->dwMajorVersion = kMajorVersion;
  lpVersionInformation->dwMinorVersion = kMinorVersion;
  lpVersionInformation->dwBuildNumber = kBuildNumber;
  lpVersionInformation->dwPlatformId = VER_PLATFORM_WIN32_NT;
  std::memset(lpVersionInformation->szCSDVersion, 0, sizeof(lpVersionInformation->szCSDVersion));
  if (size == sizeof(RTL_OSVERSIONINFOEXW)) {
    auto* ex = reinterpret_cast<PRTL_OSVERSIONINFOEXW>(lpVersionInformation);
    ex->wServicePackMajor = 0;
    ex->wServicePackMinor = 0;
    ex->wSuiteMask = VER_SUITE_SINGLEUSERTS;
    ex->wProductType = VER_NT_WORKSTATION;
    ex->wReserved = 0;
  }
  return STATUS_SUCCESS;
}

// Any IRQL.
BOOLEAN NTAPI RtlIsNtDdiVersionAvailable(ULONG Version) { return Version <= kDdiVersion ? TRUE : FALSE; }

// Any IRQL. No service packs exist for Windows 10; the check is the same as the DDI one.
BOOLEAN NTAPI RtlIsServicePackVersionInstalled(ULONG Version) { return Version <= kDdiVersion ? TRUE : FALSE; }

}  // extern "C"
