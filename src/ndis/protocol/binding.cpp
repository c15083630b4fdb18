#include "ndis/protocol/binding.hpp"

#include <chrono>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

#include "ndis/core/ndis_rules.hpp"
#include "ndis/protocol/bind_target.hpp"
#include "ndis/protocol/protocol_driver.hpp"
#include "ndis/protocol/protocol_structures.hpp"
#include "nt/support/log.hpp"
#include "nt/support/trace.hpp"

namespace ndishost::ndis {
namespace {

std::atomic<bool> pendOpensMode{false};
std::atomic<bool> pendClosesMode{false};

// The BindContext and UnbindContext tokens of live bindings.
struct TokenRegistry {
  std::mutex lock;
  std::unordered_map<const void*, Binding*> bind;
  std::unordered_map<const void*, Binding*> unbind;
};
TokenRegistry& tokens() {
  static TokenRegistry instance;
  return instance;
}

std::size_t countNbls(PNET_BUFFER_LIST nbls) {
  std::size_t n = 0;
  for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) ++n;
  return n;
}

// Takes `n` from `counter` without going below zero; false if it held fewer than `n`.
bool takeFrom(std::atomic<std::size_t>& counter, std::size_t n) {
  std::size_t current = counter.load();
  while (true) {
    std::size_t next = current >= n ? current - n : 0;
    if (counter.compare_exchange_weak(current, next)) return current >= n;
  }
}

constexpr auto kWaitWarning = std::chrono::seconds(10);

}  // namespace

const char* toString(BindingState state) {
  switch (state) {
    case BindingState::Unbound: return "Unbound";
    case BindingState::Opening: return "Opening";
    case BindingState::Paused: return "Paused";
    case BindingState::Restarting: return "Restarting";
    case BindingState::Running: return "Running";
    case BindingState::Pausing: return "Pausing";
    case BindingState::Closing: return "Closing";
  }
  return "?";
}

void setBindingCompletionModes(BindingCompletionModes modes) {
  pendOpensMode = modes.pendOpens;
  pendClosesMode = modes.pendCloses;
}

BindingCompletionModes bindingCompletionModes() { return {pendOpensMode.load(), pendClosesMode.load()}; }

Binding::Binding(ProtocolDriver& protocol, BindTarget& target)
    : NdisObject(NdisObjectKind::Binding),
      protocol_(protocol),
      target_(target),
      name_(fmt::format("{} on {}", protocol.describe(), target.describe())) {
  auto& t = tokens();
  std::lock_guard guard(t.lock);
  t.bind[&bindToken_] = this;
  t.unbind[&unbindToken_] = this;
}

Binding::~Binding() {
  waitFor("the protocol's completion handlers to return", [this] { return upcalls_.load() == 0; });
  {
    auto& t = tokens();
    std::lock_guard guard(t.lock);
    t.bind.erase(&bindToken_);
    t.unbind.erase(&unbindToken_);
  }
  if (attached_) target_.traffic().detach(*this);
}

Binding* Binding::fromHandle(NDIS_HANDLE handle) {
  NdisObject* object = NdisObject::fromHandle(handle);
  return object != nullptr && object->kind() == NdisObjectKind::Binding ? static_cast<Binding*>(object) : nullptr;
}

Binding* Binding::fromBindContext(NDIS_HANDLE context) {
  auto& t = tokens();
  std::lock_guard guard(t.lock);
  auto it = t.bind.find(context);
  return it == t.bind.end() ? nullptr : it->second;
}

Binding* Binding::fromUnbindContext(NDIS_HANDLE context) {
  auto& t = tokens();
  std::lock_guard guard(t.lock);
  auto it = t.unbind.find(context);
  return it == t.unbind.end() ? nullptr : it->second;
}

// ---- state ------------------------------------------------------------------------------

void Binding::setState(BindingState to, const char* why) {
  BindingState from = state_.exchange(to, std::memory_order_acq_rel);
  if (nt::traceEnabled())
    nt::traceEmit(nt::TraceCategory::Ndis, name_, fmt::format("binding {} -> {} ({})", toString(from), toString(to), why));
  signal();
}

bool Binding::transition(BindingState from, BindingState to, const char* why) {
  BindingState current = state();
  if (current != from) {
    nt::logger("ndis").error("{}: binding transition {} -> {} ({}) from state {}", name_, toString(from), toString(to),
                             why, toString(current));
    return false;
  }
  setState(to, why);
  return true;
}

void Binding::signal() {
  std::lock_guard guard(lock_);
  changed_.notify_all();
}

template <typename Predicate>
void Binding::waitFor(const char* what, Predicate done) {
  std::unique_lock guard(lock_);
  while (!changed_.wait_for(guard, kWaitWarning, done))
    nt::logger("ndis").warn("{}: still waiting for {}", name_, what);
}

// ---- bind, restart, pause, unbind (PASSIVE_LEVEL, the ProtocolSide) ------------------------

bool Binding::bind() {
  if (!transition(BindingState::Unbound, BindingState::Opening, "ProtocolBindAdapterEx")) return false;
  BindParametersStorage storage;
  fillBindParameters(storage, target_, protocol_);
  {
    std::lock_guard guard(lock_);
    inBind_ = true;
    bindCompleted_ = false;
  }
  BIND_HANDLER_EX handler = protocol_.characteristics().BindAdapterHandlerEx;
  NDIS_STATUS status = handler(protocol_.driverContext(), bindContext(), &storage.parameters);
  bool completedEarly;
  {
    std::lock_guard guard(lock_);
    completedEarly = bindCompleted_;
    bindPending_ = status == NDIS_STATUS_PENDING;
  }
  if (status == NDIS_STATUS_PENDING) {
    waitFor("NdisCompleteBindAdapterEx", [this] { return bindCompleted_; });
    std::lock_guard guard(lock_);
    status = bindStatus_;
  } else if (completedEarly) {
    reportNdisViolation("ndis.protocol-complete-not-pended", NdisBugSubcode::ProtocolCompletion, handle(), status,
                        reinterpret_cast<const void*>(handler),
                        fmt::format("{}: NdisCompleteBindAdapterEx was called although ProtocolBindAdapterEx returned "
                                    "{:#010x}, not NDIS_STATUS_PENDING",
                                    name_, static_cast<ULONG>(status)));
  }
  // A pended open or close finishes (ProtocolOpen/CloseAdapterCompleteEx returned) first.
  waitFor("ProtocolOpenAdapterCompleteEx/ProtocolCloseAdapterCompleteEx",
          [this] { return !openPending_ && !closePending_; });
  bool opened;
  bool closed;
  {
    std::lock_guard guard(lock_);
    inBind_ = false;
    bindPending_ = false;
    opened = opened_ && openStatus_ == NDIS_STATUS_SUCCESS;
    closed = closed_;
  }
  if (status == NDIS_STATUS_SUCCESS && opened && !closed) {
    transition(BindingState::Opening, BindingState::Paused, "bind complete");
    return true;
  }
  if (status == NDIS_STATUS_SUCCESS) {
    reportNdisViolation("ndis.protocol-bind-without-open", NdisBugSubcode::ProtocolBindUnbind, handle(), 0,
                        reinterpret_cast<const void*>(handler),
                        fmt::format("{}: ProtocolBindAdapterEx succeeded without an open binding (NdisOpenAdapterEx "
                                    "{}); the bind fails",
                                    name_, closed ? "was closed again" : "never succeeded"));
  } else {
    nt::logger("ndis").info("{}: bind failed with {:#010x}", name_, static_cast<ULONG>(status));
    if (opened && !closed) {
      reportNdisViolation("ndis.protocol-bind-failed-left-open", NdisBugSubcode::ProtocolBindUnbind, handle(), status,
                          reinterpret_cast<const void*>(handler),
                          fmt::format("{}: ProtocolBindAdapterEx failed ({:#010x}) but left the adapter open; it must "
                                      "call NdisCloseAdapterEx before failing the bind. NDIS closes it",
                                      name_, static_cast<ULONG>(status)));
    }
  }
  forceClose();
  transition(BindingState::Opening, BindingState::Unbound, "bind failed");
  return false;
}

NDIS_STATUS Binding::netPnPEvent(NET_PNP_EVENT_CODE code, PVOID buffer, ULONG bufferLength) {
  NET_PNP_EVENT_NOTIFICATION notification;
  std::memset(&notification, 0, sizeof(notification));
  notification.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  notification.Header.Revision = NET_PNP_EVENT_NOTIFICATION_REVISION_1;
  notification.Header.Size = NDIS_SIZEOF_NET_PNP_EVENT_NOTIFICATION_REVISION_1;
  notification.PortNumber = NDIS_DEFAULT_PORT_NUMBER;
  notification.NetPnPEvent.NetEvent = code;
  notification.NetPnPEvent.Buffer = buffer;
  notification.NetPnPEvent.BufferLength = bufferLength;
  {
    std::lock_guard guard(lock_);
    pnpPending_ = &notification;
    pnpCompleted_ = false;
  }
  NET_PNP_EVENT_HANDLER handler = protocol_.characteristics().NetPnPEventHandler;
  NDIS_STATUS status = handler(protocolBindingContext_, &notification);
  if (status == NDIS_STATUS_PENDING) {
    waitFor("NdisCompleteNetPnPEvent", [this] { return pnpCompleted_; });
    std::lock_guard guard(lock_);
    status = pnpStatus_;
  } else {
    bool completed;
    {
      std::lock_guard guard(lock_);
      completed = pnpCompleted_;
    }
    if (completed)
      reportNdisViolation("ndis.protocol-complete-not-pended", NdisBugSubcode::ProtocolCompletion, handle(), code,
                          reinterpret_cast<const void*>(handler),
                          fmt::format("{}: NdisCompleteNetPnPEvent was called although ProtocolNetPnPEvent returned "
                                      "{:#010x}, not NDIS_STATUS_PENDING",
                                      name_, static_cast<ULONG>(status)));
  }
  std::lock_guard guard(lock_);
  pnpPending_ = nullptr;
  return status;
}

bool Binding::restart() {
  if (!transition(BindingState::Paused, BindingState::Restarting, "NetEventRestart")) return false;
  NDIS_PROTOCOL_RESTART_PARAMETERS parameters;
  std::memset(&parameters, 0, sizeof(parameters));
  parameters.Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_RESTART_PARAMETERS;
  parameters.Header.Revision = NDIS_PROTOCOL_RESTART_PARAMETERS_REVISION_1;
  parameters.Header.Size = NDIS_SIZEOF_PROTOCOL_RESTART_PARAMETERS_REVISION_1;
  parameters.FilterModuleNameBuffer = nullptr;  // no filter modules in ndishost's stacks
  parameters.FilterModuleNameBufferLength = 0;
  parameters.RestartAttributes = nullptr;
  parameters.BoundIfIndex = target_.ifIndex();
  parameters.BoundIfNetluid = interfaceLuid(target_.ifIndex());
  parameters.Flags = 0;
  NDIS_STATUS status = netPnPEvent(NetEventRestart, &parameters, sizeof(parameters));
  if (status != NDIS_STATUS_SUCCESS) {
    nt::logger("ndis").error("{}: the protocol failed the restart with {:#010x}; the binding stays paused", name_,
                             static_cast<ULONG>(status));
    transition(BindingState::Restarting, BindingState::Paused, "restart failed");
    return false;
  }
  return transition(BindingState::Restarting, BindingState::Running, "restart complete");
}

void Binding::pause() {
  if (!transition(BindingState::Running, BindingState::Pausing, "NetEventPause")) return;
  NDIS_PROTOCOL_PAUSE_PARAMETERS parameters;
  std::memset(&parameters, 0, sizeof(parameters));
  parameters.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  parameters.Header.Revision = NDIS_PROTOCOL_PAUSE_PARAMETERS_REVISION_1;
  parameters.Header.Size = NDIS_SIZEOF_PROTOCOL_PAUSE_PARAMETERS_REVISION_1;
  parameters.Flags = 0;
  parameters.PauseReason = NDIS_PAUSE_NDIS_INTERNAL;  // the only value NDIS 6.40+ gives
  NDIS_STATUS status = netPnPEvent(NetEventPause, &parameters, sizeof(parameters));
  if (status != NDIS_STATUS_SUCCESS) {
    reportNdisViolation("ndis.protocol-pause-failed", NdisBugSubcode::ProtocolPnPEvent, handle(), status,
                        reinterpret_cast<const void*>(protocol_.characteristics().NetPnPEventHandler),
                        fmt::format("{}: ProtocolNetPnPEvent(NetEventPause) returned {:#010x}; a protocol cannot "
                                    "fail a pause. The binding is paused anyway",
                                    name_, static_cast<ULONG>(status)));
  }
  // The binding is Paused once NDIS completed all its sends and it returned every receive.
  // Sends the target still holds after its pause drain time are left to the target (an
  // adapter completes them to this binding when it halts); receives are always waited for.
  bool sendsLeft = false;
  if (std::uint32_t drainMs = target_.pauseDrainMs(); drainMs != 0) {
    std::unique_lock guard(lock_);
    sendsLeft = !changed_.wait_for(guard, std::chrono::milliseconds(drainMs), [this] { return sends_.load() == 0; });
  }
  if (sendsLeft)
    nt::logger("ndis").error("{}: {} send(s) still outstanding at the target after its pause drain time; the binding "
                             "pauses without them",
                             name_, sends_.load());
  waitFor("the binding's sends to complete and receives to return",
          [this, sendsLeft] { return (sendsLeft || sends_.load() == 0) && receives_.load() == 0; });
  transition(BindingState::Pausing, BindingState::Paused, "pause complete");
}

namespace {
bool takesRemovalQueries(BindingState state) {
  return state == BindingState::Paused || state == BindingState::Running || state == BindingState::Restarting ||
         state == BindingState::Pausing;
}
}  // namespace

NDIS_STATUS Binding::queryRemove() {
  if (!takesRemovalQueries(state())) return NDIS_STATUS_SUCCESS;
  NDIS_STATUS status = netPnPEvent(NetEventQueryRemoveDevice, nullptr, 0);  // "The buffer contents are NULL"
  if (status != NDIS_STATUS_SUCCESS)
    nt::logger("ndis").info("{}: the protocol failed NetEventQueryRemoveDevice with {:#010x} (it vetoes the removal)",
                            name_, static_cast<ULONG>(status));
  return status;
}

void Binding::cancelRemove() {
  if (!takesRemovalQueries(state())) return;
  NDIS_STATUS status = netPnPEvent(NetEventCancelRemoveDevice, nullptr, 0);
  if (status != NDIS_STATUS_SUCCESS)
    nt::logger("ndis").warn("{}: the protocol failed NetEventCancelRemoveDevice with {:#010x} (it should always "
                            "succeed it); ignored",
                            name_, static_cast<ULONG>(status));
}

void Binding::unbind() {
  if (state() == BindingState::Running) pause();
  if (!transition(BindingState::Paused, BindingState::Closing, "ProtocolUnbindAdapterEx")) return;
  {
    std::lock_guard guard(lock_);
    inUnbind_ = true;
    unbindCompleted_ = false;
  }
  UNBIND_HANDLER_EX handler = protocol_.characteristics().UnbindAdapterHandlerEx;
  NDIS_STATUS status = handler(unbindContext(), protocolBindingContext_);
  bool completedEarly;
  {
    std::lock_guard guard(lock_);
    completedEarly = unbindCompleted_;
    unbindPending_ = status == NDIS_STATUS_PENDING;
  }
  if (status == NDIS_STATUS_PENDING) {
    waitFor("NdisCompleteUnbindAdapterEx", [this] { return unbindCompleted_; });
  } else {
    if (status != NDIS_STATUS_SUCCESS)
      nt::logger("ndis").error("{}: ProtocolUnbindAdapterEx returned {:#010x}; an unbind cannot fail", name_,
                               static_cast<ULONG>(status));
    if (completedEarly)
      reportNdisViolation("ndis.protocol-complete-not-pended", NdisBugSubcode::ProtocolCompletion, handle(), status,
                          reinterpret_cast<const void*>(handler),
                          fmt::format("{}: NdisCompleteUnbindAdapterEx was called although ProtocolUnbindAdapterEx "
                                      "returned {:#010x}, not NDIS_STATUS_PENDING",
                                      name_, static_cast<ULONG>(status)));
  }
  waitFor("ProtocolCloseAdapterCompleteEx", [this] { return !closePending_; });
  bool closed;
  {
    std::lock_guard guard(lock_);
    inUnbind_ = false;
    unbindPending_ = false;
    closed = closed_;
  }
  if (!closed) {
    reportNdisViolation("ndis.protocol-unbind-without-close", NdisBugSubcode::ProtocolBindUnbind, handle(), 0,
                        reinterpret_cast<const void*>(handler),
                        fmt::format("{}: the unbind completed without NdisCloseAdapterEx; NDIS closes the binding",
                                    name_));
  }
  forceClose();
  transition(BindingState::Closing, BindingState::Unbound, "unbind complete");
}

void Binding::forceClose() {
  bool detach;
  {
    std::lock_guard guard(lock_);
    closed_ = true;
    open_ = false;
    detach = attached_;
    attached_ = false;
  }
  if (detach) target_.traffic().detach(*this);
}

// ---- open and close (NdisOpenAdapterEx, NdisCloseAdapterEx) ------------------------------

NDIS_STATUS Binding::open(NDIS_HANDLE protocolBindingContext, PNDIS_OPEN_PARAMETERS parameters, const void* caller) {
  auto& log = nt::logger("ndis");
  {
    std::lock_guard guard(lock_);
    if (!inBind_ || bindCompleted_) {
      reportNdisViolation("ndis.protocol-open-outside-bind", NdisBugSubcode::ProtocolOpenClose, handle(),
                          static_cast<std::uint64_t>(state()), caller,
                          fmt::format("{}: NdisOpenAdapterEx outside ProtocolBindAdapterEx (the bind already "
                                      "completed); NDIS fails it",
                                      name_));
      return NDIS_STATUS_FAILURE;
    }
    if (opened_ || closed_) {
      reportNdisViolation("ndis.protocol-open-twice", NdisBugSubcode::ProtocolOpenClose, handle(), 0, caller,
                          fmt::format("{}: NdisOpenAdapterEx called a second time in one bind", name_));
      return NDIS_STATUS_FAILURE;
    }
  }
  auto refuse = [&](NDIS_STATUS status, const std::string& why) {
    log.error("NdisOpenAdapterEx ({}): {}", name_, why);
    return status;
  };
  const NDIS_OPEN_PARAMETERS& p = *parameters;
  if (p.Header.Type != NDIS_OBJECT_TYPE_OPEN_PARAMETERS || p.Header.Revision < NDIS_OPEN_PARAMETERS_REVISION_1 ||
      p.Header.Size < NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1)
    return refuse(NDIS_STATUS_FAILURE,
                  fmt::format("OpenParameters header (Type {:#x}, Revision {}, Size {}) is not "
                              "NDIS_OBJECT_TYPE_OPEN_PARAMETERS revision 1 of at least {} bytes",
                              p.Header.Type, p.Header.Revision, p.Header.Size, NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1));
  if (p.AdapterName == nullptr || p.AdapterName->Buffer == nullptr)
    return refuse(NDIS_STATUS_ADAPTER_NOT_FOUND, "OpenParameters->AdapterName is NULL");
  std::u16string wanted(reinterpret_cast<const char16_t*>(p.AdapterName->Buffer), p.AdapterName->Length / sizeof(WCHAR));
  std::u16string name = target_.adapterName();
  if (wanted != name)
    return refuse(NDIS_STATUS_ADAPTER_NOT_FOUND,
                  fmt::format("OpenParameters->AdapterName is not the adapter of this bind ({})", target_.describe()));
  if (p.MediumArray == nullptr || p.MediumArraySize == 0 || p.SelectedMediumIndex == nullptr)
    return refuse(NDIS_STATUS_FAILURE, "OpenParameters needs MediumArray, MediumArraySize > 0 and SelectedMediumIndex");
  std::optional<NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES> general = target_.generalAttributes();
  if (!general) return refuse(NDIS_STATUS_ADAPTER_NOT_FOUND, "the adapter has no general attributes (not initialized)");
  UINT selected = p.MediumArraySize;
  for (UINT i = 0; i < p.MediumArraySize; ++i) {
    if (p.MediumArray[i] == general->MediaType) {
      selected = i;
      break;
    }
  }
  if (selected == p.MediumArraySize)
    return refuse(NDIS_STATUS_UNSUPPORTED_MEDIA,
                  fmt::format("MediumArray does not list the adapter's medium ({})", static_cast<int>(general->MediaType)));
  *p.SelectedMediumIndex = selected;

  bool pend = pendOpensMode.load();
  {
    std::lock_guard guard(lock_);
    protocolBindingContext_ = protocolBindingContext;
    opened_ = true;
    openPending_ = pend;
    openStatus_ = NDIS_STATUS_SUCCESS;
    attached_ = true;
    if (!pend) open_ = true;
  }
  target_.traffic().attach(*this);
  if (nt::traceEnabled())
    nt::traceEmit(nt::TraceCategory::Ndis, name_, fmt::format("NdisOpenAdapterEx: medium index {}{}", selected,
                                                              pend ? ", pended" : ""));
  if (!pend) return NDIS_STATUS_SUCCESS;
  ExInitializeWorkItem(&completionItem_, openCompletionWorker, this);
  ExQueueWorkItem(&completionItem_, DelayedWorkQueue);
  return NDIS_STATUS_PENDING;
}

VOID NTAPI Binding::openCompletionWorker(PVOID context) {
  static_cast<Binding*>(context)->finishOpen(NDIS_STATUS_SUCCESS);
}

void Binding::finishOpen(NDIS_STATUS status) {
  {
    std::lock_guard guard(lock_);
    openStatus_ = status;
    open_ = status == NDIS_STATUS_SUCCESS;
  }
  protocol_.characteristics().OpenAdapterCompleteHandlerEx(protocolBindingContext_, status);
  std::lock_guard guard(lock_);
  openPending_ = false;
  changed_.notify_all();
}

NDIS_STATUS Binding::close(const void* caller) {
  bool detach;
  {
    std::lock_guard guard(lock_);
    if (closed_) {
      reportNdisViolation("ndis.protocol-close-twice", NdisBugSubcode::ProtocolOpenClose, handle(), 0, caller,
                          fmt::format("{}: NdisCloseAdapterEx on a binding already closed", name_));
      return NDIS_STATUS_FAILURE;
    }
    bool inContext = (inBind_ && !bindCompleted_) || (inUnbind_ && !unbindCompleted_);
    if (!inContext) {
      reportNdisViolation("ndis.protocol-close-outside-unbind", NdisBugSubcode::ProtocolOpenClose, handle(),
                          static_cast<std::uint64_t>(state()), caller,
                          fmt::format("{}: NdisCloseAdapterEx outside ProtocolBindAdapterEx and "
                                      "ProtocolUnbindAdapterEx (state {}); a protocol closing on its own must call "
                                      "NdisUnbindAdapter. NDIS fails it",
                                      name_, toString(state())));
      return NDIS_STATUS_FAILURE;
    }
    if (openPending_) {
      reportNdisViolation("ndis.protocol-close-outside-unbind", NdisBugSubcode::ProtocolOpenClose, handle(), 0, caller,
                          fmt::format("{}: NdisCloseAdapterEx before ProtocolOpenAdapterCompleteEx", name_));
      return NDIS_STATUS_FAILURE;
    }
    std::size_t sends = sends_.load(), oids = oids_.load(), receives = receives_.load();
    if (sends != 0 || oids != 0 || receives != 0)
      reportNdisViolation("ndis.protocol-close-outstanding", NdisBugSubcode::ProtocolOpenClose, handle(),
                          sends + oids + receives, caller,
                          fmt::format("{}: NdisCloseAdapterEx with {} send(s) and {} OID request(s) outstanding and "
                                      "{} received NBL(s) not returned",
                                      name_, sends, oids, receives));
    closed_ = true;
    open_ = false;
    detach = attached_;
    attached_ = false;
    closePending_ = pendClosesMode.load();
  }
  if (detach) target_.traffic().detach(*this);
  if (nt::traceEnabled()) nt::traceEmit(nt::TraceCategory::Ndis, name_, "NdisCloseAdapterEx");
  std::lock_guard guard(lock_);
  if (!closePending_) return NDIS_STATUS_SUCCESS;
  ExInitializeWorkItem(&completionItem_, closeCompletionWorker, this);
  ExQueueWorkItem(&completionItem_, DelayedWorkQueue);
  return NDIS_STATUS_PENDING;
}

VOID NTAPI Binding::closeCompletionWorker(PVOID context) { static_cast<Binding*>(context)->finishClose(); }

void Binding::finishClose() {
  protocol_.characteristics().CloseAdapterCompleteHandlerEx(protocolBindingContext_);
  std::lock_guard guard(lock_);
  closePending_ = false;
  changed_.notify_all();
}

// ---- completions of what the protocol pended ---------------------------------------------

void Binding::completeBind(NDIS_STATUS status, const void* caller) {
  std::lock_guard guard(lock_);
  if (!inBind_ || bindCompleted_) {
    reportNdisViolation("ndis.protocol-complete-not-pended", NdisBugSubcode::ProtocolCompletion, handle(), status, caller,
                        fmt::format("{}: NdisCompleteBindAdapterEx without a bind in progress{}", name_,
                                    bindCompleted_ ? " (completed twice)" : ""));
    return;
  }
  if (status == NDIS_STATUS_PENDING) {
    reportNdisViolation("ndis.protocol-complete-with-pending", NdisBugSubcode::ProtocolCompletion, handle(), status, caller,
                        fmt::format("{}: NdisCompleteBindAdapterEx with NDIS_STATUS_PENDING; the bind fails", name_));
    status = NDIS_STATUS_FAILURE;
  }
  bindStatus_ = status;
  bindCompleted_ = true;
  changed_.notify_all();
}

void Binding::completeUnbind(const void* caller) {
  std::lock_guard guard(lock_);
  if (!inUnbind_ || unbindCompleted_) {
    reportNdisViolation("ndis.protocol-complete-not-pended", NdisBugSubcode::ProtocolCompletion, handle(), 0, caller,
                        fmt::format("{}: NdisCompleteUnbindAdapterEx without an unbind in progress{}", name_,
                                    unbindCompleted_ ? " (completed twice)" : ""));
    return;
  }
  unbindCompleted_ = true;
  changed_.notify_all();
}

void Binding::completeNetPnPEvent(PNET_PNP_EVENT_NOTIFICATION notification, NDIS_STATUS status, const void* caller) {
  std::lock_guard guard(lock_);
  if (pnpPending_ == nullptr || notification != pnpPending_ || pnpCompleted_) {
    reportNdisViolation("ndis.protocol-complete-not-pended", NdisBugSubcode::ProtocolCompletion, handle(),
                        reinterpret_cast<std::uintptr_t>(notification), caller,
                        fmt::format("{}: NdisCompleteNetPnPEvent for {} notification {}", name_,
                                    pnpCompleted_ ? "an already completed" : "no outstanding",
                                    static_cast<void*>(notification)));
    return;
  }
  if (status == NDIS_STATUS_PENDING) {
    reportNdisViolation("ndis.protocol-complete-with-pending", NdisBugSubcode::ProtocolCompletion, handle(), status, caller,
                        fmt::format("{}: NdisCompleteNetPnPEvent with NDIS_STATUS_PENDING", name_));
    status = NDIS_STATUS_FAILURE;
  }
  pnpStatus_ = status;
  pnpCompleted_ = true;
  changed_.notify_all();
}

// ---- data path and OIDs (<= DISPATCH_LEVEL) -------------------------------------------------

void Binding::completeSendsLocally(PNET_BUFFER_LIST nbls, NDIS_STATUS status, ULONG sendFlags) {
  for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl))
    NET_BUFFER_LIST_STATUS(nbl) = status;
  ULONG completeFlags = (sendFlags & NDIS_SEND_FLAGS_DISPATCH_LEVEL) != 0 ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0;
  protocol_.characteristics().SendNetBufferListsCompleteHandler(protocolBindingContext_, nbls, completeFlags);
}

void Binding::send(PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG sendFlags, const void* caller) {
  std::size_t count = 0;
  bool wrongSource = false;
  for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
    ++count;
    if (nbl->SourceHandle != handle()) {
      wrongSource = true;
      nbl->SourceHandle = handle();
    }
  }
  if (count == 0) return;
  if (wrongSource)
    reportNdisViolation("ndis.protocol-nbl-source-handle", NdisBugSubcode::ProtocolSend, nbls, 0, caller,
                        fmt::format("{}: NdisSendNetBufferLists with NBLs whose SourceHandle is not the binding handle "
                                    "(the protocol must set it); NDIS sets it",
                                    name_));
  // Counted before the state check, so a pause that starts now waits for these NBLs.
  sends_.fetch_add(count);
  // Restarting counts as running: "after the driver is ready to resume send and receive
  // operations for the binding, the binding enters the Running state" (Restarting a
  // Binding) -- the protocol decides, typically inside ProtocolNetPnPEvent before it
  // returns, so its sends can arrive before NDIS sees the restart complete.
  BindingState s = state();
  if (s != BindingState::Running && s != BindingState::Pausing && s != BindingState::Restarting) {
    reportNdisViolation("ndis.protocol-send-not-running", NdisBugSubcode::ProtocolSend, handle(),
                        static_cast<std::uint64_t>(s), caller,
                        fmt::format("{}: NdisSendNetBufferLists while the binding is {} (sends are allowed only while "
                                    "Restarting, Running or Pausing); the NBLs complete with NDIS_STATUS_PAUSED",
                                    name_, toString(s)));
    completeSendsLocally(nbls, NDIS_STATUS_PAUSED, sendFlags);
    takeFrom(sends_, count);
    signal();
    return;
  }
  target_.traffic().send(*this, nbls, port, sendFlags);
}

void Binding::sendComplete(PNET_BUFFER_LIST nbls, ULONG sendCompleteFlags) {
  std::size_t count = countNbls(nbls);
  upcalls_.fetch_add(1);
  if (!takeFrom(sends_, count))
    nt::logger("ndis").error("{}: {} send completion(s) for NBLs this binding did not have outstanding", name_, count);
  protocol_.characteristics().SendNetBufferListsCompleteHandler(protocolBindingContext_, nbls, sendCompleteFlags);
  upcallReturned();
}

void Binding::upcallReturned() {
  std::lock_guard guard(lock_);
  upcalls_.fetch_sub(1);
  changed_.notify_all();
}

void Binding::receive(PNET_BUFFER_LIST nbls, NDIS_PORT_NUMBER port, ULONG count, ULONG receiveFlags) {
  bool mustReturn = (receiveFlags & NDIS_RECEIVE_FLAGS_RESOURCES) == 0;
  if (mustReturn) receives_.fetch_add(count);
  // Restarting counts as running: "after the driver is ready to resume send and receive
  // operations for the binding, the binding enters the Running state" (Restarting a
  // Binding) -- the protocol decides, typically inside ProtocolNetPnPEvent before it
  // returns, so its sends can arrive before NDIS sees the restart complete.
  BindingState s = state();
  if (s != BindingState::Running && s != BindingState::Pausing && s != BindingState::Restarting) {
    // NDIS indicates nothing to a binding that is not running: the NBLs go straight back.
    if (mustReturn) {
      takeFrom(receives_, count);
      ULONG returnFlags = (receiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) != 0 ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0;
      target_.traffic().returnNetBufferLists(*this, nbls, returnFlags);
      signal();
    }
    return;
  }
  upcalls_.fetch_add(1);
  protocol_.characteristics().ReceiveNetBufferListsHandler(protocolBindingContext_, nbls, port, count, receiveFlags);
  upcallReturned();
}

void Binding::returnNetBufferLists(PNET_BUFFER_LIST nbls, ULONG returnFlags, const void* caller) {
  std::size_t count = countNbls(nbls);
  if (count == 0) return;
  if (!takeFrom(receives_, count))
    reportNdisViolation("ndis.protocol-return-not-indicated", NdisBugSubcode::ProtocolReturn, nbls, count, caller,
                        fmt::format("{}: NdisReturnNetBufferLists returns {} NBL(s), more than the binding was "
                                    "indicated and has not returned",
                                    name_, count));
  target_.traffic().returnNetBufferLists(*this, nbls, returnFlags);
  signal();
}

NDIS_STATUS Binding::oidRequest(PNDIS_OID_REQUEST request, const void* caller) {
  (void)caller;
  if (request->Header.Type != NDIS_OBJECT_TYPE_OID_REQUEST || request->Header.Revision < NDIS_OID_REQUEST_REVISION_1 ||
      request->Header.Size < NDIS_SIZEOF_OID_REQUEST_REVISION_1) {
    nt::logger("ndis").error("NdisOidRequest ({}): the request header (Type {:#x}, Revision {}, Size {}) is not "
                             "NDIS_OBJECT_TYPE_OID_REQUEST revision 1 of at least {} bytes",
                             name_, request->Header.Type, request->Header.Revision, request->Header.Size,
                             NDIS_SIZEOF_OID_REQUEST_REVISION_1);
    return NDIS_STATUS_INVALID_PARAMETER;
  }
  oids_.fetch_add(1);
  NDIS_STATUS status = target_.traffic().oidRequest(*this, request);
  if (status != NDIS_STATUS_PENDING) {
    takeFrom(oids_, 1);
    signal();
  }
  return status;
}

void Binding::oidComplete(PNDIS_OID_REQUEST request, NDIS_STATUS status) {
  upcalls_.fetch_add(1);
  takeFrom(oids_, 1);
  protocol_.characteristics().OidRequestCompleteHandler(protocolBindingContext_, request, status);
  upcallReturned();
}

void Binding::cancelSend(PVOID cancelId, const void* caller) {
  (void)caller;
  target_.traffic().cancelSend(*this, cancelId);
}

void Binding::cancelOidRequest(PVOID requestId, const void* caller) {
  (void)caller;
  target_.traffic().cancelOidRequest(*this, requestId);
}

void Binding::status(const NDIS_STATUS_INDICATION& indication) {
  if (!open_.load()) return;
  STATUS_HANDLER_EX handler = protocol_.characteristics().StatusHandlerEx;
  if (handler == nullptr) return;  // optional
  NDIS_STATUS_INDICATION copy = indication;
  handler(protocolBindingContext_, &copy);
}

}  // namespace ndishost::ndis
