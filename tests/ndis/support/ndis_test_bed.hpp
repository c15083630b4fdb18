// NdisTestBed: a whole NDIS-WDM stack for one test, from the kernel runtime up to running
// adapters, so NDIS tests exercise a miniport the way the host does.
//
//   ROOT\NDISTESTBUS (root device) -- ndistestbus.so (tests/ndis/support/ndistestbus)
//     child PDO, hardware ID as asked -- the miniport .so the test names for that ID, under
//     NDIS (AddDevice, START_DEVICE, MiniportInitializeEx, MiniportRestart, ...)
//
//   NdisTestBed bed({.miniports = {{"lifetest", LIFETEST_DRIVER_PATH, "NDISTEST\\LIFETEST"}}});
//   std::string nic = bed.plugRunning("NDISTEST\\LIFETEST");  // instance path, adapter Running
//   ndishost::ndis::Adapter* adapter = bed.adapter(nic);
//   bed.setDevicePower(nic, PowerDeviceD3);                    // IRP_MN_SET_POWER
//   bed.unplug(nic);                                           // surprise removal, then remove
//   EXPECT_TRUE(bed.shutdown().empty());                       // leak reports with leaks
//
// Include <ndis.h> (e.g. tests/ndis/ndis_test.hpp) before this header. Construct it on the
// test's thread; at most one per process at a time (one Runtime, one PnpManager).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ndis/miniport/adapter.hpp"
#include "nt/ke/runtime.hpp"
#include "nt/pnp/pnp_manager.hpp"

namespace ndishost::ndis::test {

// A miniport the manifest maps to one hardware ID.
struct TestMiniport {
  std::string name;            // service name: logs, leak reports ("lifetest")
  std::filesystem::path path;  // the driver .so (absolute, e.g. "$<TARGET_FILE:...>")
  std::string hardwareId;      // what plugged children report ("NDISTEST\\LIFETEST")
  std::map<std::string, nt::pnp::ManifestValue, std::less<>> parameters;  // driver parameters
};

struct NdisTestBedOptions {
  nt::RuntimeOptions runtime;  // .deterministic = true for reproducible interleavings
  std::vector<TestMiniport> miniports;
  // Fills each new adapter's keyword store (NdisReadConfiguration) before
  // MiniportInitializeEx; installed for the bed's lifetime when set.
  AdapterConfigurationProvider configure;
};

class NdisTestBed {
 public:
  explicit NdisTestBed(NdisTestBedOptions options);
  // Shuts the PnP manager down (if shutdown() was not called), then the runtime.
  ~NdisTestBed();
  NdisTestBed(const NdisTestBed&) = delete;
  NdisTestBed& operator=(const NdisTestBed&) = delete;

  nt::Runtime& runtime() { return *runtime_; }
  nt::pnp::PnpManager& pnp() { return *pnp_; }
  const std::string& busInstancePath() const { return busInstancePath_; }

  // Plugs a child with `hardwareId` into the test bus and waits until PnP settled
  // (AddDevice, START_DEVICE, MiniportInitializeEx, MiniportRestart unless pended).
  // Returns the child's instance path ("NDISTEST\LIFETEST\01"); "" if the bus refused.
  std::string plug(std::string_view hardwareId, ULONG serialNo = 0);
  // plug(), then waits until the adapter is Running; "" if it never got there.
  std::string plugRunning(std::string_view hardwareId, std::chrono::milliseconds limit = std::chrono::seconds(5));

  // The adapter NDIS made for the device, or null (no NDIS FDO on top, or removed). Valid
  // until the device is removed.
  Adapter* adapter(std::string_view instancePath) const;
  // The adapter's state; nullopt when there is no adapter.
  std::optional<AdapterState> adapterState(std::string_view instancePath) const;
  // Polls until the adapter is in `state` (true) or `limit` passes (false).
  bool waitForState(std::string_view instancePath, AdapterState state,
                    std::chrono::milliseconds limit = std::chrono::seconds(5));

  // The bus reports the child missing: IRP_MN_SURPRISE_REMOVAL, then IRP_MN_REMOVE_DEVICE
  // (both sent before this returns).
  NTSTATUS unplug(std::string_view instancePath);
  // Orderly removal (IRP_MN_QUERY_REMOVE_DEVICE, IRP_MN_REMOVE_DEVICE).
  nt::pnp::RemoveResult remove(std::string_view instancePath);
  // IRP_MN_SET_POWER (DevicePowerState) to the device's stack.
  NTSTATUS setDevicePower(std::string_view instancePath, DEVICE_POWER_STATE state);
  // The device power state the bus's PDO was last set to.
  DEVICE_POWER_STATE busPowerState(std::string_view instancePath);

  // Waits for the PnP worker and lets DPCs/work items run.
  void settle();

  // Removes every device, unloads every driver; returns the leak reports that list leaks.
  std::vector<nt::pnp::LeakReport> shutdown();

  // IRP_MJ_PNP with `minorFunction` to the top of the device's stack, as the PnP manager
  // sends it (it has no operation of its own for stop and its cancels); waits for it and
  // returns its final status.
  NTSTATUS sendPnpIrp(std::string_view instancePath, UCHAR minorFunction);

  // IRP_MJ_DEVICE_CONTROL to the top of a device's stack; waits for completion.
  NTSTATUS deviceIoControl(std::string_view instancePath, ULONG code, const void* in, ULONG inLength, void* out,
                           ULONG outLength);

 private:
  ULONG serialOf(std::string_view instancePath) const;

  std::unique_ptr<nt::Runtime> runtime_;
  std::unique_ptr<nt::pnp::PnpManager> pnp_;
  std::string busInstancePath_;
  bool providerInstalled_ = false;
  mutable std::mutex serialsLock_;
  std::map<std::string, ULONG, std::less<>> serials_;  // instance path -> bus serial number
};

}  // namespace ndishost::ndis::test
