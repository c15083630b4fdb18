// Loading and unloading driver images: what the Windows kernel does for a .sys, for a
// shared object that exports DriverEntry.
//
// load():  reads the image's imports and refuses it, naming every unresolved symbol at
//          once, before anything is mapped; dlopen(RTLD_NOW | RTLD_LOCAL); finds
//          DriverEntry; registers the image so calls are attributed to the driver; creates
//          the DRIVER_OBJECT; calls DriverEntry at PASSIVE_LEVEL with the service's
//          registry path. Any failure throws DriverLoadError and leaves nothing behind.
// unload(): only once the driver's devices are gone ("driver.unload-with-devices"
//          otherwise); calls DriverUnload; reports what the driver leaked; unmaps the
//          image unless something in it could still run.
#pragma once

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

// After the standard headers: <sal.h> defines __in/__out, which libstdc++ uses as names.
#include <tuple>
#include <utility>
#include <wdm.h>

#include "nt/io/io_manager.hpp"
#include "nt/pnp/leak_report.hpp"
#include "nt/support/driver_image.hpp"

namespace ndishost::nt::pnp {

enum class LoadFailure {
  NotLoadable,        // not an ELF shared object for this machine, or unreadable
  UnresolvedImports,  // symbols (or libraries) nothing provides
  MapFailed,          // dlopen refused it for another reason
  AlreadyLoaded,      // the same image is loaded under another driver
  NoDriverEntry,      // no exported DriverEntry
  DriverEntryFailed,  // DriverEntry returned a failure status
};

class DriverLoadError : public std::runtime_error {
 public:
  DriverLoadError(LoadFailure failure, std::string driver, const std::string& message,
                  std::vector<std::string> missingSymbols = {}, NTSTATUS status = STATUS_SUCCESS);
  LoadFailure failure() const { return failure_; }
  const std::string& driver() const { return driver_; }
  const std::vector<std::string>& missingSymbols() const { return missingSymbols_; }
  NTSTATUS status() const { return status_; }

 private:
  LoadFailure failure_;
  std::string driver_;
  std::vector<std::string> missingSymbols_;
  NTSTATUS status_;
};

class LoadedDriver {
 public:
  // `name` is the service name (manifest driver name): registry path, logs, reports.
  static std::unique_ptr<LoadedDriver> load(const std::string& name, const std::filesystem::path& path);

  // Unloads the driver if unload() was not called (leaks are logged, not returned).
  ~LoadedDriver();
  LoadedDriver(const LoadedDriver&) = delete;
  LoadedDriver& operator=(const LoadedDriver&) = delete;

  const std::string& name() const { return name_; }
  const std::filesystem::path& path() const { return path_; }
  PDRIVER_OBJECT driverObject() const { return driverObject_.get(); }
  const DriverImage& image() const { return *image_; }
  bool loaded() const { return driverObject_ != nullptr; }

  // Unloads the driver. With devices left, reports "driver.unload-with-devices" and (in
  // Record mode) returns a report with imageKeptMapped set and the driver still loaded.
  LeakReport unload();

 private:
  LoadedDriver() = default;

  std::string name_;
  std::filesystem::path path_;
  void* handle_ = nullptr;  // dlopen handle
  std::shared_ptr<DriverImage> image_;
  std::unique_ptr<DriverImageRegistration> registration_;
  DriverObjectHandle driverObject_;
};

// The service's registry path: \Registry\Machine\System\CurrentControlSet\Services\<name>.
std::u16string serviceRegistryPath(const std::string& name);

}  // namespace ndishost::nt::pnp
