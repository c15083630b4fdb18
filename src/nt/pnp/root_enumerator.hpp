// The root enumerator: the bus driver of root-enumerated devices (ROOT\...). On Windows it
// is part of the PnP manager; here too. It owns a driver object ("\Driver\PnpManager")
// whose PDOs answer the bus driver's share of PnP and power IRPs from the manifest's
// [[device]] entries.
#pragma once

#include <map>
#include <memory>
#include <string>

// After the standard headers: <sal.h> defines __in/__out, which libstdc++ uses as names.
#include <tuple>
#include <utility>
#include <wdm.h>

#include "nt/io/io_manager.hpp"
#include "nt/pnp/manifest.hpp"

namespace ndishost::nt::pnp {

struct RootDevice;

class RootEnumerator {
 public:
  RootEnumerator();
  ~RootEnumerator();
  RootEnumerator(const RootEnumerator&) = delete;
  RootEnumerator& operator=(const RootEnumerator&) = delete;

  // A new root PDO for `device` (instance IDs 0000, 0001, ... per device ID). The caller
  // gets the creator's reference semantics of IoCreateDevice: deleteDevice() ends it.
  PDEVICE_OBJECT createDevice(const ManifestDevice& device);
  void deleteDevice(PDEVICE_OBJECT pdo);

  PDRIVER_OBJECT driverObject() const { return driver_.get(); }

 private:
  DriverObjectHandle driver_;
  std::map<std::string, unsigned, std::less<>> nextInstance_;  // by device ID, PnP worker only
  // What each root PDO's extension points at; the map owns it until the PDO is deleted.
  std::map<PDEVICE_OBJECT, std::unique_ptr<RootDevice>> devices_;
};

}  // namespace ndishost::nt::pnp
