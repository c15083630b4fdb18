#include "ndis/miniport/adapter.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "ndis/miniport/miniport_driver.hpp"
#include "nt/support/log.hpp"
#include "nt/support/trace.hpp"

namespace ndishost::ndis {
namespace {

std::mutex adaptersLock;
std::vector<Adapter*> liveAdapters;  // creation order

std::mutex providerLock;
AdapterConfigurationProvider configurationProvider;

bool isTransitioning(AdapterState state) {
  return state == AdapterState::Restarting || state == AdapterState::Pausing;
}

// A REG_MULTI_SZ (UTF-16) as UTF-8 strings; device IDs are ASCII.
std::vector<std::string> splitMultiSz(const std::vector<char16_t>& buffer) {
  std::vector<std::string> out;
  std::string current;
  for (char16_t c : buffer) {
    if (c == 0) {
      if (current.empty()) break;
      out.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c < 0x80 ? static_cast<char>(c) : '?');
    }
  }
  return out;
}

}  // namespace

const char* toString(AdapterState state) {
  switch (state) {
    case AdapterState::Halted: return "Halted";
    case AdapterState::Initializing: return "Initializing";
    case AdapterState::Paused: return "Paused";
    case AdapterState::Restarting: return "Restarting";
    case AdapterState::Running: return "Running";
    case AdapterState::Pausing: return "Pausing";
    case AdapterState::Shutdown: return "Shutdown";
  }
  return "?";
}

void setAdapterConfigurationProvider(AdapterConfigurationProvider provider) {
  std::lock_guard guard(providerLock);
  configurationProvider = std::move(provider);
}

void provideAdapterConfiguration(Adapter& adapter) {
  AdapterConfigurationProvider provider;
  {
    std::lock_guard guard(providerLock);
    provider = configurationProvider;
  }
  if (!provider) return;
  AdapterConfigurationRequest request{adapter.pdo(), adapter.driver().describe(), {}};
  ULONG length = 0;
  if (IoGetDeviceProperty(adapter.pdo(), DevicePropertyHardwareID, 0, nullptr, &length) ==
          STATUS_BUFFER_TOO_SMALL &&
      length > 0) {
    std::vector<char16_t> buffer(length / sizeof(char16_t) + 1, 0);
    if (NT_SUCCESS(IoGetDeviceProperty(adapter.pdo(), DevicePropertyHardwareID, length, buffer.data(), &length)))
      request.hardwareIds = splitMultiSz(buffer);
  }
  provider(request, *adapter.configurationStore());
}

Adapter::Adapter(MiniportDriver& driver, PDEVICE_OBJECT pdo, NET_IFINDEX ifIndex)
    : NdisObject(NdisObjectKind::Adapter),
      driver_(driver),
      pdo_(pdo),
      name_(fmt::format("{} adapter {}", driver.describe(), ifIndex)),
      ifIndex_(ifIndex),
      configuration_(std::make_shared<ConfigurationStore>()) {
  KeInitializeEvent(&settled_, NotificationEvent, TRUE);
  traffic_ = makeAdapterTraffic(*this);
  std::lock_guard guard(adaptersLock);
  liveAdapters.push_back(this);
}

Adapter::~Adapter() {
  std::lock_guard guard(adaptersLock);
  liveAdapters.erase(std::remove(liveAdapters.begin(), liveAdapters.end(), this), liveAdapters.end());
}

AdapterState Adapter::state() const {
  std::lock_guard guard(stateLock_);
  return state_;
}

bool Adapter::transition(AdapterState from, AdapterState to, const char* why) {
  {
    std::lock_guard guard(stateLock_);
    if (state_ != from) {
      nt::logger("ndis").error("{}: NDIS tried {} -> {} ({}) but the adapter is {}", name_, toString(from),
                               toString(to), why, toString(state_));
      return false;
    }
    state_ = to;
    // Only the state lock orders these: KeSetEvent/KeClearEvent never block.
    if (isTransitioning(to)) {
      KeClearEvent(&settled_);
    } else {
      KeSetEvent(&settled_, IO_NO_INCREMENT, FALSE);
    }
  }
  nt::logger("ndis").debug("{}: {} -> {} ({})", name_, toString(from), toString(to), why);
  if (nt::traceEnabled()) nt::traceEmit(nt::TraceCategory::Ndis, name_, fmt::format("{} -> {} ({})", toString(from), toString(to), why));
  return true;
}

AdapterState Adapter::waitWhileTransitioning() {
  KeWaitForSingleObject(&settled_, Executive, KernelMode, FALSE, nullptr);
  return state();
}

NDIS_HANDLE Adapter::miniportAdapterContext() const {
  std::lock_guard guard(attributesLock_);
  return attributes_.registration ? attributes_.registration->MiniportAdapterContext : nullptr;
}

NDIS_STATUS Adapter::lastRestartStatus() const {
  std::lock_guard guard(stateLock_);
  return lastRestartStatus_;
}

void Adapter::setLastRestartStatus(NDIS_STATUS status) {
  std::lock_guard guard(stateLock_);
  lastRestartStatus_ = status;
}

AdapterInfo Adapter::info() const {
  return AdapterInfo{const_cast<Adapter*>(this), name_, driver_.describe(), state(), pdo_, fdo_, surpriseRemoved_};
}

Adapter* Adapter::fromHandle(NDIS_HANDLE handle) {
  NdisObject* object = NdisObject::fromHandle(handle);
  return object != nullptr && object->kind() == NdisObjectKind::Adapter ? static_cast<Adapter*>(object) : nullptr;
}

Adapter* Adapter::fromFdo(PDEVICE_OBJECT device) {
  if (device == nullptr || device->DeviceExtension == nullptr) return nullptr;
  if (MiniportDriver::fromDriverObject(device->DriverObject) == nullptr) return nullptr;
  auto* block = static_cast<AdapterBlock*>(device->DeviceExtension);
  return block->magic == kAdapterBlockMagic ? block->adapter : nullptr;
}

std::vector<AdapterInfo> adapters() {
  std::lock_guard guard(adaptersLock);
  std::vector<AdapterInfo> out;
  out.reserve(liveAdapters.size());
  for (const Adapter* adapter : liveAdapters) out.push_back(adapter->info());
  return out;
}

}  // namespace ndishost::ndis

namespace ndishost::ndis {

std::size_t adapterCount(const MiniportDriver& driver) {
  std::lock_guard guard(adaptersLock);
  return static_cast<std::size_t>(std::count_if(liveAdapters.begin(), liveAdapters.end(),
                                                [&](const Adapter* adapter) { return &adapter->driver() == &driver; }));
}

}  // namespace ndishost::ndis
