// A miniport adapter: what MiniportAdapterHandle (NdisMiniportHandle) points at.
//
// NDIS creates one per device NDIS's AddDevice is called for: it owns the adapter's FDO
// (ioObject(), so NdisAllocateIoWorkItem on the adapter handle attaches to it), remembers
// the PDO and the next-lower device the miniport sends its IRPs to, keeps a per-adapter
// ConfigurationStore and the attributes the miniport set with NdisMSetMiniportAttributes,
// and runs the NDIS 6 adapter state machine (guide: "Adapter States of a Miniport Driver"):
//
//   Halted -> Initializing -> Paused <-> Restarting -> Running -> Pausing -> Paused -> Halted
//   (Initializing -> Halted when MiniportInitializeEx fails; Shutdown after MiniportShutdownEx)
//
// Every transition is checked (a transition from the wrong state is an NDIS bug, logged),
// every miniport call that depends on the state is checked against it ("ndis.state"), and
// each transition is traced (TraceCategory::Ndis, source = describe()).
//
// The FDO's device extension holds only a pointer to the Adapter (NDIS's adapter block); the
// Adapter itself is C++ and is deleted when the FDO is, at IRP_MN_REMOVE_DEVICE.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ndis/config/configuration_store.hpp"
#include "ndis/core/ndis_object.hpp"
#include "ndis/core/offload_block.hpp"
#include "ndis/traffic/adapter_traffic.hpp"

namespace ndishost::ndis {

class MiniportDriver;

enum class AdapterState : std::uint8_t { Halted, Initializing, Paused, Restarting, Running, Pausing, Shutdown };

const char* toString(AdapterState state);

// What NdisMSetMiniportAttributes kept. Pointers the miniport passed into its own memory are
// not kept (they may point at its stack); the OID list and the offload blocks are copied.
struct AdapterAttributes {
  std::optional<NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES> registration;
  std::optional<NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES> general;  // pointer members NULL
  std::vector<NDIS_OID> supportedOids;                                // general.SupportedOidList
  // The offload attributes' NDIS_OFFLOAD blocks (Header.Size bytes of the miniport's, at most
  // sizeof(NDIS_OFFLOAD), zero beyond). The current configuration is replaced by each
  // NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG indication, as protocols binding later must see it.
  std::optional<OffloadBlock> currentOffload;   // DefaultOffloadConfiguration
  std::optional<OffloadBlock> hardwareOffload;  // HardwareOffloadCapabilities
};

// A snapshot for the host (adapter list, `ndishost status`).
struct AdapterInfo {
  NDIS_HANDLE handle;
  std::string name;          // "<miniport> adapter <ifIndex>"
  std::string miniportName;  // the miniport driver's service name
  AdapterState state;
  PDEVICE_OBJECT pdo;
  PDEVICE_OBJECT fdo;
  bool surpriseRemoved;
};

// What the host's configuration provider is told about a new adapter, so it can fill the
// adapter's ConfigurationStore (the adapter's registry key) before MiniportInitializeEx.
struct AdapterConfigurationRequest {
  PDEVICE_OBJECT pdo;
  std::string miniportName;
  std::vector<std::string> hardwareIds;  // IoGetDeviceProperty(DevicePropertyHardwareID), UTF-8
};
using AdapterConfigurationProvider = std::function<void(const AdapterConfigurationRequest&, ConfigurationStore&)>;

// Installs (or, with an empty function, removes) the provider called at every AddDevice.
void setAdapterConfigurationProvider(AdapterConfigurationProvider provider);

class Adapter final : public NdisObject {
 public:
  Adapter(MiniportDriver& driver, PDEVICE_OBJECT pdo, NET_IFINDEX ifIndex);
  ~Adapter() override;

  PVOID ioObject() const override { return fdo_; }
  ConfigurationStore* configuration() const override { return configuration_.get(); }
  std::string describe() const override { return name_; }

  MiniportDriver& driver() const { return driver_; }
  PDEVICE_OBJECT pdo() const { return pdo_; }
  PDEVICE_OBJECT fdo() const { return fdo_; }
  PDEVICE_OBJECT lowerDevice() const { return lower_; }
  void setDevices(PDEVICE_OBJECT fdo, PDEVICE_OBJECT lower) {
    fdo_ = fdo;
    lower_ = lower;
  }
  std::shared_ptr<ConfigurationStore> configurationStore() const { return configuration_; }
  // ndishost's own interface index: adapters are numbered from 1 in AddDevice order.
  NET_IFINDEX ifIndex() const { return ifIndex_; }

  AdapterState state() const;
  // Moves from `from` to `to`; false (and an error log) if the adapter is not in `from`.
  bool transition(AdapterState from, AdapterState to, const char* why);
  // Blocks (PASSIVE_LEVEL) until the adapter leaves Restarting/Pausing.
  AdapterState waitWhileTransitioning();

  // The attribute copies; access under attributesLock().
  AdapterAttributes& attributes() { return attributes_; }
  std::mutex& attributesLock() const { return attributesLock_; }
  NDIS_HANDLE miniportAdapterContext() const;

  bool surpriseRemoved() const { return surpriseRemoved_; }
  void setSurpriseRemoved() { surpriseRemoved_ = true; }

  // The device power state NDIS last put the adapter in (set by the PnP worker): D0 from start.
  DEVICE_POWER_STATE devicePower() const { return devicePower_; }
  void setDevicePower(DEVICE_POWER_STATE state) { devicePower_ = state; }
  // NDIS powered the device down for a system sleep state and powers it up at S0.
  bool sleepingForSystem() const { return sleepingForSystem_; }
  void setSleepingForSystem(bool sleeping) { sleepingForSystem_ = sleeping; }

  // Status of the most recent pended MiniportRestart/MiniportPause, set by
  // NdisMRestartComplete (NdisMPauseComplete has none).
  NDIS_STATUS lastRestartStatus() const;
  void setLastRestartStatus(NDIS_STATUS status);

  AdapterInfo info() const;

  // Sends, receives, OIDs and status of this adapter (made by makeAdapterTraffic).
  AdapterTraffic& traffic() const { return *traffic_; }

  // The live adapter `handle` points at, or null.
  static Adapter* fromHandle(NDIS_HANDLE handle);
  // The adapter whose FDO `device` is, or null (a device object NDIS did not create).
  static Adapter* fromFdo(PDEVICE_OBJECT device);

 private:
  MiniportDriver& driver_;
  PDEVICE_OBJECT pdo_;
  PDEVICE_OBJECT fdo_ = nullptr;
  PDEVICE_OBJECT lower_ = nullptr;
  std::string name_;
  NET_IFINDEX ifIndex_;
  std::shared_ptr<ConfigurationStore> configuration_;

  mutable std::mutex stateLock_;
  AdapterState state_ = AdapterState::Halted;
  NDIS_STATUS lastRestartStatus_ = NDIS_STATUS_SUCCESS;
  KEVENT settled_;  // signalled while not Restarting/Pausing

  mutable std::mutex attributesLock_;
  AdapterAttributes attributes_;
  // Written by the PnP worker only; read by anyone (info()).
  std::atomic<bool> surpriseRemoved_ = false;
  std::atomic<DEVICE_POWER_STATE> devicePower_ = PowerDeviceD3;
  bool sleepingForSystem_ = false;  // the PnP worker only

  // Last: it refers to the adapter, so it goes first.
  std::unique_ptr<AdapterTraffic> traffic_;
};

// Every live adapter (oldest first).
std::vector<AdapterInfo> adapters();
// How many live adapters (FDOs not yet removed) belong to `driver`.
std::size_t adapterCount(const MiniportDriver& driver);

// The FDO device extension: NDIS's adapter block.
struct AdapterBlock {
  std::uint64_t magic;
  Adapter* adapter;
};
inline constexpr std::uint64_t kAdapterBlockMagic = 0x4e44495341444150ull;  // "NDISADAP"

// NdisMIndicateStatusEx of NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG (adapter_ddi.cpp): checks
// that StatusBuffer is an NDIS_OFFLOAD and keeps it as the adapter's current offload
// configuration. False ("ndis.status-bad-buffer" reported) when it is not one: not indicated.
bool keepOffloadCurrentConfig(Adapter& adapter, const NDIS_STATUS_INDICATION& indication, const void* caller);

// Calls the configuration provider (if any) for a new adapter.
void provideAdapterConfiguration(Adapter& adapter);

}  // namespace ndishost::ndis
