// Test drivers for the I/O manager tests: driver objects made with the internal API whose
// devices route every IRP to a C++ handler, so a test can describe a device stack with
// lambdas and watch IRPs travel down and completions come back up.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nt/io/io_manager.hpp"
#include "nt/ke/runtime.hpp"

namespace iotest {

using Handler = std::function<NTSTATUS(PDEVICE_OBJECT, PIRP)>;

// What every test device keeps at the start of its device extension.
struct TestDevice {
  std::string name;
  PDEVICE_OBJECT self = nullptr;
  PDEVICE_OBJECT lower = nullptr;  // what IoAttachDeviceToDeviceStack returned
  Handler handler;
};

TestDevice& testDevice(PDEVICE_OBJECT device);

// Extra extension bytes after TestDevice, 16-byte aligned.
void* extraExtension(PDEVICE_OBJECT device);

class TestDriver {
 public:
  explicit TestDriver(std::u16string serviceName);
  ~TestDriver();  // detaches and deletes the devices still alive, newest first
  TestDriver(const TestDriver&) = delete;
  TestDriver& operator=(const TestDriver&) = delete;

  PDRIVER_OBJECT object() const { return driver_.get(); }

  // IoCreateDevice + (optionally) IoAttachDeviceToDeviceStack, DO_DEVICE_INITIALIZING cleared.
  PDEVICE_OBJECT createDevice(std::string name, Handler handler, PDEVICE_OBJECT attachTo = nullptr,
                              ULONG extraBytes = 0, ULONG flags = 0, PUNICODE_STRING deviceName = nullptr);
  // IoDetachDevice (when attached) + IoDeleteDevice.
  void deleteDevice(PDEVICE_OBJECT device);

 private:
  ndishost::nt::DriverObjectHandle driver_;
  std::vector<PDEVICE_OBJECT> devices_;
};

// The usual forwarding handler of a filter: pass the IRP down untouched.
NTSTATUS passDown(PDEVICE_OBJECT device, PIRP irp);

// Completes the IRP with `status` and `information`; returns `status`.
NTSTATUS completeWith(PIRP irp, NTSTATUS status, ULONG_PTR information = 0);

// A completion routine that calls a std::function; pass &probe as the context.
struct CompletionProbe {
  std::function<NTSTATUS(PDEVICE_OBJECT, PIRP)> routine;
};
NTSTATUS NTAPI probeCompletion(PDEVICE_OBJECT device, PIRP irp, PVOID context);

// Thread-safe event log for ordering assertions.
class Journal {
 public:
  void add(std::string entry) {
    std::lock_guard guard(lock_);
    entries_.push_back(std::move(entry));
  }
  std::vector<std::string> entries() const {
    std::lock_guard guard(lock_);
    return entries_;
  }

 private:
  mutable std::mutex lock_;
  std::vector<std::string> entries_;
};

// Every test owns the one runtime.
class IoTest : public ::testing::Test {
 protected:
  ndishost::nt::Runtime runtime_;
};

// KEVENT helpers.
struct Event {
  KEVENT event;
  explicit Event(EVENT_TYPE type = NotificationEvent) { KeInitializeEvent(&event, type, FALSE); }
  Event(const Event&) = delete;  // a KEVENT's wait list points into the object itself
  Event& operator=(const Event&) = delete;
  void set() { KeSetEvent(&event, IO_NO_INCREMENT, FALSE); }
  void reset() { KeClearEvent(&event); }
  // Waits up to `milliseconds`; true when signalled.
  bool wait(int milliseconds = 5000);
};

}  // namespace iotest
