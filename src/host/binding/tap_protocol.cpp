// The TAP protocol driver: registration (NdisRegisterProtocolDriver, NDIS 6.30) and its
// handlers, written as a WDK protocol driver's are -- each declared with its role typedef,
// the IRQL NDIS calls it at noted. Per-binding work is in TapBinding (tap_binding.hpp).
//
// Declining an adapter: the chooser returns no plan and ProtocolBindAdapterEx fails with
// NDIS_STATUS_NOT_SUPPORTED without opening it.
#include "host/binding/tap_protocol.hpp"

#include <ndis.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "host/binding/tap_binding.hpp"
#include "nt/rtl/text_codec.hpp"
#include "nt/support/log.hpp"

namespace ndishost::host {
namespace {

using binding::TapBindError;
using binding::TapBinding;

// The protocol's service name (NDIS_PROTOCOL_DRIVER_CHARACTERISTICS.Name).
WCHAR kServiceName[] = L"ndistap";  // UTF-16: everything builds with -fshort-wchar

class TapProtocolDriver;

PROTOCOL_SET_OPTIONS TapSetOptions;
PROTOCOL_BIND_ADAPTER_EX TapBindAdapterEx;
PROTOCOL_UNBIND_ADAPTER_EX TapUnbindAdapterEx;
PROTOCOL_OPEN_ADAPTER_COMPLETE_EX TapOpenAdapterCompleteEx;
PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX TapCloseAdapterCompleteEx;
PROTOCOL_NET_PNP_EVENT TapNetPnPEvent;
PROTOCOL_OID_REQUEST_COMPLETE TapOidRequestComplete;
PROTOCOL_STATUS_EX TapStatusEx;
PROTOCOL_RECEIVE_NET_BUFFER_LISTS TapReceiveNetBufferLists;
PROTOCOL_SEND_NET_BUFFER_LISTS_COMPLETE TapSendNetBufferListsComplete;

class TapProtocolDriver final : public TapProtocol, public binding::TapBindingOwner {
 public:
  TapProtocolDriver(Chooser chooser, ErrorSink errors) : chooser_(std::move(chooser)), errors_(std::move(errors)) {}

  // IRQL PASSIVE_LEVEL. NDIS binds the adapters there are before this returns.
  void registerDriver() {
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS c;
    std::memset(&c, 0, sizeof(c));
    c.Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS;
    c.Header.Revision = NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;  // no direct OIDs: revision 1
    c.Header.Size = NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
    c.MajorNdisVersion = 6;
    c.MinorNdisVersion = 30;
    c.MajorDriverVersion = 1;
    c.MinorDriverVersion = 0;
    c.Flags = 0;
    c.Name.Buffer = kServiceName;
    c.Name.Length = static_cast<USHORT>(sizeof(kServiceName) - sizeof(WCHAR));
    c.Name.MaximumLength = static_cast<USHORT>(sizeof(kServiceName));
    c.SetOptionsHandler = TapSetOptions;
    c.BindAdapterHandlerEx = TapBindAdapterEx;
    c.UnbindAdapterHandlerEx = TapUnbindAdapterEx;
    c.OpenAdapterCompleteHandlerEx = TapOpenAdapterCompleteEx;
    c.CloseAdapterCompleteHandlerEx = TapCloseAdapterCompleteEx;
    c.NetPnPEventHandler = TapNetPnPEvent;
    c.UninstallHandler = nullptr;  // optional; the host deregisters explicitly
    c.OidRequestCompleteHandler = TapOidRequestComplete;
    c.StatusHandlerEx = TapStatusEx;
    c.ReceiveNetBufferListsHandler = TapReceiveNetBufferLists;
    c.SendNetBufferListsCompleteHandler = TapSendNetBufferListsComplete;
    NDIS_HANDLE handle = nullptr;
    NDIS_STATUS status = NdisRegisterProtocolDriver(this, &c, &handle);
    if (status != NDIS_STATUS_SUCCESS)
      throw std::runtime_error(fmt::format("NdisRegisterProtocolDriver (TAP binding) failed with {:#010x}",
                                           static_cast<ULONG>(status)));
    std::lock_guard guard(lock_);
    protocolHandle_ = handle;
  }

  // IRQL PASSIVE_LEVEL. NdisDeregisterProtocolDriver unbinds every binding first.
  ~TapProtocolDriver() override {
    NDIS_HANDLE handle;
    {
      std::lock_guard guard(lock_);
      handle = protocolHandle_;
    }
    if (handle != nullptr) NdisDeregisterProtocolDriver(handle);
  }

  std::vector<TapBindingStats> stats() const override {
    std::lock_guard guard(lock_);
    std::vector<TapBindingStats> all;
    for (const auto& b : bindings_) all.push_back(b->stats());
    return all;
  }

  bool waitRunning(const std::string& adapterName, std::chrono::milliseconds limit) const override {
    std::unique_lock guard(lock_);
    return changed_.wait_for(guard, limit, [&] {
      return std::any_of(bindings_.begin(), bindings_.end(),
                         [&](const auto& b) { return b->adapterName() == adapterName && b->running(); });
    });
  }

  void bindingStateChanged(TapBinding&) override {
    std::lock_guard guard(lock_);
    changed_.notify_all();
  }

  void setHandle(NDIS_HANDLE handle) {
    std::lock_guard guard(lock_);
    protocolHandle_ = handle;
  }

  // ProtocolBindAdapterEx's work (PASSIVE_LEVEL).
  NDIS_STATUS bind(NDIS_HANDLE bindContext, const NDIS_BIND_PARAMETERS& parameters) {
    BindCandidate candidate;
    if (parameters.AdapterName != nullptr && parameters.AdapterName->Buffer != nullptr)
      candidate.adapterName = nt::rtl::toUtf8(std::u16string_view(
          reinterpret_cast<const char16_t*>(parameters.AdapterName->Buffer), parameters.AdapterName->Length / sizeof(WCHAR)));
    candidate.physicalDeviceObject = parameters.PhysicalDeviceObject;
    auto& log = nt::logger("tap");
    if (parameters.MediaType != NdisMedium802_3) {
      log.info("{}: not an 802.3 adapter; the TAP binding leaves it alone", candidate.adapterName);
      return NDIS_STATUS_NOT_SUPPORTED;
    }
    std::optional<TapPlan> plan;
    try {
      plan = chooser_ ? chooser_(candidate) : std::nullopt;
    } catch (const std::exception& error) {
      report(candidate.adapterName, fmt::format("choosing a TAP failed: {}", error.what()));
      return NDIS_STATUS_FAILURE;
    }
    if (!plan) {
      log.info("{}: no TAP planned for this adapter; not bound", candidate.adapterName);
      return NDIS_STATUS_NOT_SUPPORTED;
    }
    NDIS_HANDLE protocolHandle;
    {
      std::lock_guard guard(lock_);
      protocolHandle = protocolHandle_;
    }
    std::unique_ptr<TapBinding> binding;
    try {
      binding = std::make_unique<TapBinding>(*this, protocolHandle, candidate.adapterName, *plan);
    } catch (const std::exception&) {
      return NDIS_STATUS_RESOURCES;
    }
    NDIS_STATUS status = binding->open(bindContext, parameters.AdapterName);
    if (status != NDIS_STATUS_SUCCESS) {
      report(candidate.adapterName, fmt::format("NdisOpenAdapterEx failed with {:#010x}", static_cast<ULONG>(status)));
      return status;
    }
    // The binding is NDIS's from the open on: receive/status calls may come (NDIS delivers
    // nothing but status to a Paused binding), so it is listed before it is set up.
    TapBinding* raw = binding.get();
    {
      std::lock_guard guard(lock_);
      bindings_.push_back(std::move(binding));
    }
    NDIS_STATUS failure = NDIS_STATUS_SUCCESS;
    std::string why;
    try {
      raw->setUp(parameters);
    } catch (const TapBindError& error) {
      failure = error.status();
      why = error.what();
    } catch (const std::exception& error) {  // nothing may unwind into NDIS
      failure = NDIS_STATUS_RESOURCES;
      why = fmt::format("tap '{}': {}", plan->tapName, error.what());
    }
    if (failure != NDIS_STATUS_SUCCESS) {
      // Close inside the bind, as the reference asks of a bind that fails after its open.
      raw->abandon();
      remove(*raw);
      report(candidate.adapterName, why);
      return failure;
    }
    changed_.notify_all();
    return NDIS_STATUS_SUCCESS;
  }

  // ProtocolUnbindAdapterEx's work (PASSIVE_LEVEL).
  void unbind(TapBinding& binding) {
    binding.unbind();
    remove(binding);
  }

 private:
  void remove(TapBinding& binding) {
    std::unique_ptr<TapBinding> gone;
    {
      std::lock_guard guard(lock_);
      auto it = std::find_if(bindings_.begin(), bindings_.end(), [&](const auto& b) { return b.get() == &binding; });
      if (it == bindings_.end()) return;
      gone = std::move(*it);
      bindings_.erase(it);
      changed_.notify_all();
    }
  }

  void report(const std::string& adapterName, const std::string& message) {
    nt::logger("tap").error("{}: {}", adapterName, message);
    if (!errors_) return;
    try {
      errors_(adapterName, message);
    } catch (...) {
      // The host's sink failing must not fail NDIS's bind differently.
    }
  }

  Chooser chooser_;
  ErrorSink errors_;
  mutable std::mutex lock_;
  mutable std::condition_variable changed_;
  NDIS_HANDLE protocolHandle_ = nullptr;
  std::vector<std::unique_ptr<TapBinding>> bindings_;
};

TapBinding& bindingOf(NDIS_HANDLE protocolBindingContext) { return *static_cast<TapBinding*>(protocolBindingContext); }

// IRQL PASSIVE_LEVEL, inside NdisRegisterProtocolDriver and before any bind: the handle
// the binds need (NDIS here binds existing adapters before NdisRegisterProtocolDriver returns).
NDIS_STATUS NTAPI TapSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext) {
  static_cast<TapProtocolDriver*>(DriverContext)->setHandle(NdisDriverHandle);
  return NDIS_STATUS_SUCCESS;
}

// IRQL PASSIVE_LEVEL.
NDIS_STATUS NTAPI TapBindAdapterEx(NDIS_HANDLE ProtocolDriverContext, NDIS_HANDLE BindContext,
                                   PNDIS_BIND_PARAMETERS BindParameters) {
  return static_cast<TapProtocolDriver*>(ProtocolDriverContext)->bind(BindContext, *BindParameters);
}

// IRQL PASSIVE_LEVEL. The binding is Paused; completes synchronously.
NDIS_STATUS NTAPI TapUnbindAdapterEx(NDIS_HANDLE UnbindContext, NDIS_HANDLE ProtocolBindingContext) {
  (void)UnbindContext;
  TapBinding& binding = bindingOf(ProtocolBindingContext);
  auto& owner = static_cast<TapProtocolDriver&>(binding.owner());
  owner.unbind(binding);
  return NDIS_STATUS_SUCCESS;
}

// IRQL PASSIVE_LEVEL.
VOID NTAPI TapOpenAdapterCompleteEx(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status) {
  bindingOf(ProtocolBindingContext).openComplete(Status);
}

// IRQL PASSIVE_LEVEL.
VOID NTAPI TapCloseAdapterCompleteEx(NDIS_HANDLE ProtocolBindingContext) {
  bindingOf(ProtocolBindingContext).closeComplete();
}

// IRQL PASSIVE_LEVEL. Pause and restart complete synchronously (the pause after the
// binding's last send completed).
NDIS_STATUS NTAPI TapNetPnPEvent(NDIS_HANDLE ProtocolBindingContext, PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification) {
  if (ProtocolBindingContext == nullptr) return NDIS_STATUS_SUCCESS;  // global events: nothing to do
  TapBinding& binding = bindingOf(ProtocolBindingContext);
  switch (NetPnPEventNotification->NetPnPEvent.NetEvent) {
    case NetEventPause:
      binding.pause();
      return NDIS_STATUS_SUCCESS;
    case NetEventRestart:
      binding.restart();
      return NDIS_STATUS_SUCCESS;
    default:
      return NDIS_STATUS_SUCCESS;
  }
}

// IRQL <= DISPATCH_LEVEL.
VOID NTAPI TapOidRequestComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_OID_REQUEST OidRequest, NDIS_STATUS Status) {
  bindingOf(ProtocolBindingContext).oidComplete(OidRequest, Status);
}

// IRQL <= DISPATCH_LEVEL.
VOID NTAPI TapStatusEx(NDIS_HANDLE ProtocolBindingContext, PNDIS_STATUS_INDICATION StatusIndication) {
  bindingOf(ProtocolBindingContext).status(*StatusIndication);
}

// IRQL <= DISPATCH_LEVEL.
VOID NTAPI TapReceiveNetBufferLists(NDIS_HANDLE ProtocolBindingContext, PNET_BUFFER_LIST NetBufferLists,
                                    NDIS_PORT_NUMBER PortNumber, ULONG NumberOfNetBufferLists, ULONG ReceiveFlags) {
  (void)PortNumber;
  (void)NumberOfNetBufferLists;
  bindingOf(ProtocolBindingContext).receive(NetBufferLists, ReceiveFlags);
}

// IRQL <= DISPATCH_LEVEL.
VOID NTAPI TapSendNetBufferListsComplete(NDIS_HANDLE ProtocolBindingContext, PNET_BUFFER_LIST NetBufferList,
                                         ULONG SendCompleteFlags) {
  bindingOf(ProtocolBindingContext).sendComplete(NetBufferList, SendCompleteFlags);
}

}  // namespace

std::unique_ptr<TapProtocol> TapProtocol::start(Chooser chooser, ErrorSink errors) {
  auto driver = std::make_unique<TapProtocolDriver>(std::move(chooser), std::move(errors));
  driver->registerDriver();
  return driver;
}

}  // namespace ndishost::host
