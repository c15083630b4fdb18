// How the I/O manager lays out the objects it creates, and the lock over their links.
//
//   driver object:  ObjectHeader | DRIVER_OBJECT | DRIVER_EXTENSION | DriverRuntime
//   device object:  ObjectHeader | DEVICE_OBJECT | device extension | DeviceState
//   file object:    ObjectHeader | FILE_OBJECT
//
// Each part starts 16-byte aligned. The runtime parts are C++ objects constructed in
// place; the DDI structures are plain zeroed memory, as drivers expect.
#pragma once

#include <wdm.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "nt/io/io_manager.hpp"
#include "nt/io/object_header.hpp"
#include "nt/support/ledger.hpp"

namespace ndishost::nt {

constexpr std::size_t alignObjectPart(std::size_t size) {
  return (size + MEMORY_ALLOCATION_ALIGNMENT - 1) & ~std::size_t{MEMORY_ALLOCATION_ALIGNMENT - 1};
}

struct DriverRuntime {
  std::u16string serviceName;
  std::u16string driverName;    // "\Driver\<service>", DriverObject->DriverName's buffer
  std::u16string registryPath;  // kept alive for the driver's lifetime
  std::string serviceName8;     // UTF-8, for logs and traces
  const DriverImage* image = nullptr;
  std::atomic<std::uint32_t> devicesCreated{0};  // numbers default trace names
};

struct DeviceState : DeviceRuntime {
  PDEVICE_OBJECT attachedTo = nullptr;  // next-lower device (DEVOBJ_EXTENSION.AttachedTo)
  std::u16string name;                  // object-namespace name, "" when unnamed
  bool deletePending = false;           // IoDeleteDevice was called
  LedgerEntry ledger;                   // the device object, charged to its driver
};

DriverRuntime& driverRuntime(PDRIVER_OBJECT driver);
DeviceState& deviceState(PDEVICE_OBJECT device);

// The I/O database lock: guards every driver's device list, every AttachedDevice /
// attachedTo link and the object namespace. A leaf lock: nothing that may block, raise
// IRQL or call a driver runs while it is held.
std::mutex& ioDatabaseLock();

// UTF-16 to UTF-8 for names in logs (names are ASCII in practice).
std::string narrow(std::u16string_view text);

}  // namespace ndishost::nt
