#include "host/binding/tap_binding.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "host/binding/ndis_frame_info.hpp"
#include "host/tap/tap_error.hpp"
#include "link/link_error.hpp"
#include "ndis/protocol/protocol_helpers.hpp"
#include "nt/support/log.hpp"

namespace ndishost::host::binding {
namespace {

constexpr char kNetnsDirectory[] = "/run/netns/";

spdlog::logger& log() { return nt::logger("tap"); }

// TapPlan.netnsPath is "/run/netns/<name>" or a bare name; link/netns works with names.
std::string namespaceNameOf(const std::string& path) {
  std::string name = path;
  if (name.rfind(kNetnsDirectory, 0) == 0) name.erase(0, sizeof(kNetnsDirectory) - 1);
  if (name.find('/') != std::string::npos)
    throw TapBindError(NDIS_STATUS_INVALID_PARAMETER,
                       "network namespace '" + path + "' is not /run/netns/<name> (as `ip netns add` creates)");
  return name;
}

std::string statusText(NDIS_STATUS status) { return fmt::format("{:#010x}", static_cast<ULONG>(status)); }

}  // namespace

// ---- a completion to wait for at PASSIVE_LEVEL ------------------------------------------

void TapBinding::Waitable::reset() {
  std::lock_guard guard(lock);
  done = false;
}

void TapBinding::Waitable::complete(NDIS_STATUS result) {
  std::lock_guard guard(lock);
  status = result;
  done = true;
  changed.notify_all();
}

NDIS_STATUS TapBinding::Waitable::wait() {
  std::unique_lock guard(lock);
  changed.wait(guard, [this] { return done; });
  return status;
}

// ---- construction ------------------------------------------------------------------------

TapBinding::TapBinding(TapBindingOwner& owner, NDIS_HANDLE protocolHandle, std::string adapterName, TapPlan plan)
    : owner_(owner), protocolHandle_(protocolHandle), adapterName_(std::move(adapterName)), plan_(std::move(plan)) {}

TapBinding::~TapBinding() { releaseHostSide(); }

// IRQL PASSIVE_LEVEL (ProtocolBindAdapterEx).
NDIS_STATUS TapBinding::open(NDIS_HANDLE bindContext, PNDIS_STRING adapterName) {
  std::memset(&openParameters_, 0, sizeof(openParameters_));
  openParameters_.Header.Type = NDIS_OBJECT_TYPE_OPEN_PARAMETERS;
  openParameters_.Header.Revision = NDIS_OPEN_PARAMETERS_REVISION_1;
  openParameters_.Header.Size = NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1;
  openParameters_.AdapterName = adapterName;
  openParameters_.MediumArray = media_;
  openParameters_.MediumArraySize = 1;
  openParameters_.SelectedMediumIndex = &selectedMedium_;
  openParameters_.FrameTypeArray = nullptr;  // all frame types: the TAP carries every EtherType
  openParameters_.FrameTypeArraySize = 0;
  openDone_.reset();
  NDIS_STATUS status = NdisOpenAdapterEx(protocolHandle_, this, &openParameters_, bindContext, &bindingHandle_);
  // Pended: NDIS sets the binding handle before ProtocolOpenAdapterCompleteEx, which
  // signals openDone_; the bind handler may block for it (PASSIVE_LEVEL).
  if (status == NDIS_STATUS_PENDING) status = openDone_.wait();
  if (status != NDIS_STATUS_SUCCESS) bindingHandle_ = nullptr;
  return status;
}

void TapBinding::openComplete(NDIS_STATUS status) { openDone_.complete(status); }

void TapBinding::closeComplete() { closeDone_.complete(NDIS_STATUS_SUCCESS); }

// IRQL PASSIVE_LEVEL. Inside ProtocolBindAdapterEx or ProtocolUnbindAdapterEx only.
void TapBinding::close() {
  if (bindingHandle_ == nullptr) return;
  closeDone_.reset();
  NDIS_STATUS status = NdisCloseAdapterEx(bindingHandle_);
  if (status == NDIS_STATUS_PENDING) closeDone_.wait();
  else if (status != NDIS_STATUS_SUCCESS)
    log().error("{}: NdisCloseAdapterEx failed with {}", adapterName_, statusText(status));
  bindingHandle_ = nullptr;
}

// IRQL PASSIVE_LEVEL (ProtocolBindAdapterEx, after the open).
void TapBinding::setUp(const NDIS_BIND_PARAMETERS& parameters) {
  networkNamespace_ = namespaceNameOf(plan_.netnsPath);

  // What the adapter is: the bind parameters, refined by queries (OIDs may be made once
  // the open completed; the binding is Paused, which does not stop OID requests).
  // The connect state at bind time; a link indication arriving meanwhile (they may come
  // from the moment the open completed) is newer and wins (see below).
  bool initialCarrier = parameters.MediaConnectState == MediaConnectStateConnected;
  MacAddress mac{};
  std::memcpy(mac.data(), parameters.CurrentMacAddress, mac.size());
  UCHAR current[6] = {};
  ULONG written = 0;
  if (request(NdisRequestQueryInformation, OID_802_3_CURRENT_ADDRESS, current, sizeof(current), &written) ==
          NDIS_STATUS_SUCCESS &&
      written == sizeof(current))
    std::memcpy(mac.data(), current, mac.size());
  ULONG value = 0;
  mtu_ = parameters.MtuSize;
  if (request(NdisRequestQueryInformation, OID_GEN_MAXIMUM_FRAME_SIZE, &value, sizeof(value)) == NDIS_STATUS_SUCCESS &&
      value != 0)
    mtu_ = value;
  if (mtu_ < 68) throw TapBindError(NDIS_STATUS_FAILURE, fmt::format("the adapter's MTU {} is too small", mtu_));
  maximumListSize_ = parameters.MaxMulticastListSize;
  if (request(NdisRequestQueryInformation, OID_802_3_MAXIMUM_LIST_SIZE, &value, sizeof(value)) == NDIS_STATUS_SUCCESS)
    maximumListSize_ = value;
  // The bind parameters carry the connect state the miniport set at initialization; NDIS
  // answers OID_GEN_MEDIA_CONNECT_STATUS with the latest indication.
  if (request(NdisRequestQueryInformation, OID_GEN_MEDIA_CONNECT_STATUS, &value, sizeof(value)) ==
      NDIS_STATUS_SUCCESS)
    initialCarrier = value == NdisMediaStateConnected;

  // The adapter's current task offload configuration (NULL when it offers none).
  offloads_ = adapterOffloadsFrom(parameters.DefaultOffloadConfiguration);
  const bool vnetHeader = offloads_.any() || offloads_.receiveChecksum;
  try {
    TapDevice tap = TapDevice::open({.name = plan_.tapName, .networkNamespace = networkNamespace_, .vnetHeader = vnetHeader});
    if (vnetHeader) tap.setOffloads(tapOffloadsFor(offloads_));
    counters_.vnetHeader = vnetHeader;
    tap.setMacAddress(mac);
    tap.setMtu(mtu_);
    if (plan_.bringUp) tap.setUp(true);
    LinkWatcher watcher = LinkWatcher::open(tap.interfaceIndex(), networkNamespace_);
    // Under the lock that status() takes: a link indication from now on reaches the TAP.
    std::lock_guard guard(tapLock_);
    tap_.emplace(std::move(tap));
    watcher_.emplace(std::move(watcher));
    if (!linkStatusSeen_) carrier_ = initialCarrier;
    tap_->setCarrier(carrier_.load());
  } catch (const TapError& error) {
    throw TapBindError(NDIS_STATUS_FAILURE, error.what());
  } catch (const std::exception& error) {
    throw TapBindError(NDIS_STATUS_FAILURE, fmt::format("tap '{}': {}", plan_.tapName, error.what()));
  }
  if (!plan_.upperCapture.empty()) {
    try {
      capture_ = link::PcapWriter::create(plan_.upperCapture,
                                          {link::PcapLinkType::Ethernet, plan_.upperCaptureSnapLength});
    } catch (const std::exception& error) {
      throw TapBindError(NDIS_STATUS_FAILURE, fmt::format("upper-edge capture: {}", error.what()));
    }
  }
  receiveBatch_.reserve(kBatchFrames);
  // The receive filter before the first restart (an RNDIS device moves no data before it).
  applyReceiveSettings(watcher_->snapshot());
  buildDataPath(frameCapacityFor(offloads_));
  const TapOffloads offered = tapOffloadsFor(offloads_);
  log().info("{}: bound to tap '{}'{} (MAC {}, MTU {}, carrier {}, {}, offloads:{}{}{}{})", adapterName_, plan_.tapName,
             networkNamespace_.empty() ? "" : " in namespace '" + networkNamespace_ + "'", formatMacAddress(mac), mtu_,
             carrier_.load() ? "on" : "off", plan_.bringUp ? "up" : "down", vnetHeader ? "" : " none",
             offered.checksum ? " csum" : "", offered.tcp4 ? " tso4" : "", offered.tcp6 ? " tso6" : "");
}

std::size_t TapBinding::frameCapacityFor(const AdapterOffloads& offloads) const {
  const std::size_t mtuFrame = mtu_ + kFrameOverhead;
  return offloads.largeSend4 || offloads.largeSend6 ? std::max(mtuFrame, kLargeSendFrame) : mtuFrame;
}

void TapBinding::buildDataPath(std::size_t frameCapacity) {
  pump_.reset();
  {
    std::lock_guard guard(tapLock_);
    pool_.reset();
    try {
      pool_ = std::make_unique<TapSendPool>(protocolHandle_, bindingHandle_, kSendNbls, frameCapacity);
    } catch (const std::exception& error) {
      throw TapBindError(NDIS_STATUS_RESOURCES, error.what());
    }
    receiveScratch_.assign(kBatchFrames * frameCapacity, std::byte{0});
  }
  // The pump starts paused: frames stay queued in the TAP until NetEventRestart.
  pump_ = std::make_unique<TapPump>(
      *tap_, &*watcher_,
      TapPump::Handlers{.framesFromLinux = [this](std::span<const TapFrameBuffer> frames) { framesFromLinux(frames); },
                        .linkChanged = [this](const LinkChange& change) { linkChanged(change); }},
      TapPump::Options{.batchSize = kBatchFrames, .maxFrameSize = frameCapacity});
  pump_->pause();
}

void TapBinding::setTapOffloads(const AdapterOffloads& offloads) {
  const bool vnetHeader = offloads.any() || offloads.receiveChecksum;
  // Stopped first: the pump thread uses the TAP's descriptor, which a re-attach replaces.
  pump_.reset();
  {
    std::lock_guard guard(tapLock_);
    if (!tap_) return;
    tap_->reopen(vnetHeader);
    if (vnetHeader) tap_->setOffloads(tapOffloadsFor(offloads));
    counters_.vnetHeader = vnetHeader;
    tap_->setCarrier(carrier_.load());  // a re-attach drops the carrier
  }
  offloads_ = offloads;
}

// IRQL PASSIVE_LEVEL (NetEventRestart, before the pump resumes).
void TapBinding::applyPendingOffloads() {
  std::optional<AdapterOffloads> pending;
  {
    std::lock_guard guard(pendingOffloadsLock_);
    pending.swap(pendingOffloads_);
  }
  if (!pending || *pending == offloads_ || !tap_) return;
  try {
    setTapOffloads(*pending);
    const TapOffloads offered = tapOffloadsFor(offloads_);
    log().info("{}: task offload configuration changed; tap '{}' offers{}{}{}{}", adapterName_, plan_.tapName,
               offered.checksum ? " csum" : "", offered.tcp4 ? " tso4" : "", offered.tcp6 ? " tso6" : "",
               counters_.vnetHeader.load() ? "" : " nothing (no vnet header)");
  } catch (const std::exception& error) {
    log().error("{}: applying the new task offload configuration failed: {}", adapterName_, error.what());
  }
  // Rebuilt in any case: setTapOffloads stopped the pump (and the frame size may differ).
  try {
    if (tap_) buildDataPath(frameCapacityFor(offloads_));
  } catch (const std::exception& error) {
    log().error("{}: {}", adapterName_, error.what());
  }
}

void TapBinding::abandon() {
  running_ = false;
  pump_.reset();  // no OID request of ours is outstanding after this
  close();
  releaseHostSide();
}

void TapBinding::releaseHostSide() {
  pump_.reset();
  std::lock_guard guard(tapLock_);
  pool_.reset();  // every send completed: NDIS paused the binding first, or none was made
  watcher_.reset();
  tap_.reset();
  if (capture_) capture_->close();
}

// ---- PnP --------------------------------------------------------------------------------

// IRQL PASSIVE_LEVEL (NetEventPause).
void TapBinding::pause() {
  {
    std::lock_guard guard(idleLock_);
    running_ = false;
    idle_.notify_all();  // a pump waiting for a free NBL gives up
  }
  // After pause() returns no batch is being handed down, so no new send starts.
  if (pump_) pump_->pause();
  std::unique_lock guard(idleLock_);
  while (!idle_.wait_for(guard, std::chrono::seconds(5), [this] { return !pool_ || pool_->outstanding() == 0; }))
    log().warn("{}: pause still waiting for {} send(s) to complete", adapterName_, pool_->outstanding());
  guard.unlock();
  owner_.bindingStateChanged(*this);
}

// IRQL PASSIVE_LEVEL (NetEventRestart).
void TapBinding::restart() {
  applyPendingOffloads();
  running_ = true;
  if (pump_) pump_->resume();
  owner_.bindingStateChanged(*this);
}

// IRQL PASSIVE_LEVEL (ProtocolUnbindAdapterEx). NDIS paused the binding first.
void TapBinding::unbind() {
  running_ = false;
  pump_.reset();  // joins the pump: no send or OID request of ours starts any more
  close();
  releaseHostSide();
  owner_.bindingStateChanged(*this);
}

// ---- OID requests -----------------------------------------------------------------------

NDIS_STATUS TapBinding::request(NDIS_REQUEST_TYPE type, NDIS_OID oid, void* buffer, ULONG length, ULONG* bytesDone) {
  std::lock_guard one(oidSerial_);
  oidRequest_ = ndis::oidRequest(type, oid, buffer, length);
  oidRequest_.RequestId = this;
  oidDone_.reset();
  NDIS_STATUS status = NdisOidRequest(bindingHandle_, &oidRequest_);
  if (status == NDIS_STATUS_PENDING) status = oidDone_.wait();
  if (bytesDone != nullptr)
    *bytesDone = type == NdisRequestSetInformation ? oidRequest_.DATA.SET_INFORMATION.BytesRead
                                                   : oidRequest_.DATA.QUERY_INFORMATION.BytesWritten;
  return status;
}

// IRQL <= DISPATCH_LEVEL.
void TapBinding::oidComplete(PNDIS_OID_REQUEST request, NDIS_STATUS status) {
  if (request == &oidRequest_) oidDone_.complete(status);
}

void TapBinding::applyReceiveSettings(const LinkSnapshot& snapshot) {
  AdapterReceiveSettings wanted = receiveSettingsFor(snapshot, maximumListSize_);
  // The list before the filter that enables it; a list the adapter refuses becomes
  // all-multicast rather than lost groups.
  if (wanted.multicastList != multicastList_ || !receiveSettingsApplied_) {
    NDIS_STATUS status =
        request(NdisRequestSetInformation, OID_802_3_MULTICAST_LIST,
                wanted.multicastList.empty() ? nullptr : wanted.multicastList.data(),
                static_cast<ULONG>(wanted.multicastList.size()));
    if (status == NDIS_STATUS_SUCCESS) {
      multicastList_ = wanted.multicastList;
      counters_.multicastAddresses = multicastList_.size() / 6;
    } else {
      ++counters_.oidFailures;
      log().warn("{}: OID_802_3_MULTICAST_LIST ({} addresses) failed with {}; receiving all multicast instead",
                 adapterName_, wanted.multicastList.size() / 6, statusText(status));
      if ((wanted.packetFilter & NDIS_PACKET_TYPE_MULTICAST) != 0)
        wanted.packetFilter = (wanted.packetFilter & ~ULONG{NDIS_PACKET_TYPE_MULTICAST}) | NDIS_PACKET_TYPE_ALL_MULTICAST;
    }
  }
  if (wanted.packetFilter != packetFilter_ || !receiveSettingsApplied_) {
    ULONG filter = wanted.packetFilter;
    NDIS_STATUS status = request(NdisRequestSetInformation, OID_GEN_CURRENT_PACKET_FILTER, &filter, sizeof(filter));
    if (status == NDIS_STATUS_SUCCESS) {
      packetFilter_ = wanted.packetFilter;
      counters_.packetFilter = packetFilter_;
      ++counters_.filterChanges;
    } else {
      ++counters_.oidFailures;
      log().warn("{}: OID_GEN_CURRENT_PACKET_FILTER {:#x} failed with {}", adapterName_, filter, statusText(status));
    }
  }
  receiveSettingsApplied_ = true;
}

// The pump thread, PASSIVE_LEVEL.
void TapBinding::linkChanged(const LinkChange& change) {
  if (change.removed) {
    log().warn("{}: tap '{}' was deleted under the binding; frames stop until the adapter is rebound", adapterName_,
               plan_.tapName);
    return;
  }
  if (change.mtuChanged && change.now.mtu > mtu_)
    log().warn("{}: tap '{}' MTU set to {}, above the adapter's {}: larger frames are dropped", adapterName_,
               plan_.tapName, change.now.mtu, mtu_);
  if (change.filterChanged || change.multicastChanged) applyReceiveSettings(change.now);
}

// ---- data path ----------------------------------------------------------------------------

void TapBinding::capture(std::span<const std::byte> frame) {
  if (capture_) capture_->append(frame);
}

// The pump thread, PASSIVE_LEVEL.
void TapBinding::framesFromLinux(std::span<const TapFrameBuffer> frames) {
  if (!running_.load(std::memory_order_acquire)) {
    counters_.dropsPaused += frames.size();
    return;
  }
  PNET_BUFFER_LIST head = nullptr;
  PNET_BUFFER_LIST* tail = &head;
  std::uint64_t count = 0, bytes = 0;
  for (const TapFrameBuffer& frame : frames) {
    if (!running_.load(std::memory_order_acquire)) {  // a pause began during the batch
      ++counters_.dropsPaused;
      continue;
    }
    std::span<const std::byte> data = frame.storage.first(frame.length);
    PNET_BUFFER_LIST nbl = pool_->take(data);
    if (nbl == nullptr && !data.empty() && data.size() <= pool_->frameCapacity()) {
      // Every NBL is in flight: send what we have, then wait (briefly: a hung adapter must
      // not stall pause) for completions rather than drop -- Linux's queue absorbs the rest.
      if (head != nullptr) {
        counters_.framesToAdapter += count;
        counters_.bytesToAdapter += bytes;
        NdisSendNetBufferLists(bindingHandle_, std::exchange(head, nullptr), NDIS_DEFAULT_PORT_NUMBER, 0);
        tail = &head;
        count = bytes = 0;
      }
      waitForFreeNbl();
      nbl = pool_->take(data);
    }
    if (nbl == nullptr) {
      ++counters_.dropsNoNbl;
      continue;
    }
    capture(data);
    if (!prepareOffload(frame, nbl)) {
      pool_->give(nbl);
      ++counters_.dropsOffload;
      continue;
    }
    *tail = nbl;
    tail = &NET_BUFFER_LIST_NEXT_NBL(nbl);
    ++count;
    bytes += data.size();
  }
  if (head == nullptr) return;
  counters_.framesToAdapter += count;
  counters_.bytesToAdapter += bytes;
  // IRQL PASSIVE_LEVEL here, so no NDIS_SEND_FLAGS_DISPATCH_LEVEL.
  NdisSendNetBufferLists(bindingHandle_, head, NDIS_DEFAULT_PORT_NUMBER, 0);
}

// The pump thread, PASSIVE_LEVEL. Linux's offload request for one frame, in its NBL's copy.
bool TapBinding::prepareOffload(const TapFrameBuffer& frame, PNET_BUFFER_LIST nbl) {
  SendInfo info;
  switch (prepareSend(frame.offload, offloads_, pool_->writableFrameOf(nbl), info)) {
    case SendDisposition::Plain: return true;
    case SendDisposition::SoftwareChecksum: ++counters_.checksumsInSoftware; return true;
    case SendDisposition::Drop: return false;
    case SendDisposition::Offloaded: break;
  }
  NET_BUFFER_LIST_INFO(nbl, TcpIpChecksumNetBufferListInfo) = info.checksum.Value;
  NET_BUFFER_LIST_INFO(nbl, TcpLargeSendNetBufferListInfo) = info.largeSend.Value;
  if (info.largeSend.Value != nullptr) ++counters_.largeSendsOffloaded;
  else ++counters_.checksumOffloaded;
  return true;
}

// The pump thread, PASSIVE_LEVEL.
void TapBinding::waitForFreeNbl() {
  std::unique_lock guard(idleLock_);
  waitingForNbl_ = true;
  idle_.wait_for(guard, std::chrono::milliseconds(100), [this] {
    return pool_->outstanding() < pool_->capacity() || !running_.load(std::memory_order_acquire);
  });
  waitingForNbl_ = false;
}

// IRQL <= DISPATCH_LEVEL.
void TapBinding::sendComplete(PNET_BUFFER_LIST nbls, ULONG) {
  PNET_BUFFER_LIST next;
  for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = next) {
    next = NET_BUFFER_LIST_NEXT_NBL(nbl);
    NET_BUFFER_LIST_NEXT_NBL(nbl) = nullptr;
    if (NET_BUFFER_LIST_STATUS(nbl) != NDIS_STATUS_SUCCESS) ++counters_.sendFailures;
    // An LSOv2 send (the only kind with the Type bit set) completes with
    // LsoV2TransmitComplete.Reserved zero: the miniport must overwrite MSS and offset.
    NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO largeSend;
    largeSend.Value = NET_BUFFER_LIST_INFO(nbl, TcpLargeSendNetBufferListInfo);
    if (largeSend.LsoV2TransmitComplete.Type == NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE &&
        largeSend.LsoV2TransmitComplete.Reserved != 0)
      ++counters_.largeSendCompletionsMalformed;
    pool_->give(nbl);
  }
  if (pool_->outstanding() == 0 || waitingForNbl_.load()) {
    std::lock_guard guard(idleLock_);
    idle_.notify_all();
  }
}

// IRQL <= DISPATCH_LEVEL.
void TapBinding::receive(PNET_BUFFER_LIST nbls, ULONG receiveFlags) {
  {
    std::lock_guard guard(tapLock_);
    const std::size_t capacity = pool_ ? pool_->frameCapacity() : 0;
    auto flush = [&] {
      if (receiveBatch_.empty()) return;
      const std::size_t written = tap_ ? tap_->writeFrames(receiveBatch_) : 0;
      for (std::size_t i = 0; i < written; ++i) {
        ++counters_.framesFromAdapter;
        counters_.bytesFromAdapter += receiveBatch_[i].data.size();
      }
      counters_.dropsTapFull += receiveBatch_.size() - written;
      receiveBatch_.clear();
    };
    const bool vnetHeader = tap_ && tap_->vnetHeader();
    for (PNET_BUFFER_LIST nbl = nbls; nbl != nullptr; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
      // The adapter's checksum results, for every frame of the NBL. A failure is passed on
      // without DATA_VALID: Linux checks the frame itself (and counts what it drops); an
      // adapter's verdict is not a reason to drop what might be a good frame.
      ReceiveOffload nblOffload;
      if (vnetHeader) {
        NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO checksum;
        checksum.Value = NET_BUFFER_LIST_INFO(nbl, TcpIpChecksumNetBufferListInfo);
        nblOffload = receiveOffloadFor(checksum);
        if (checksum.Receive.TcpChecksumFailed || checksum.Receive.UdpChecksumFailed || checksum.Receive.IpChecksumFailed)
          ++counters_.receiveChecksumFailed;
      }
      for (PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb != nullptr; nb = NET_BUFFER_NEXT_NB(nb)) {
        const ULONG length = NET_BUFFER_DATA_LENGTH(nb);
        if (length == 0 || length > capacity) {
          ++counters_.dropsTapFull;
          continue;
        }
        // Contiguous data is written from where it is; otherwise NDIS copies it into storage.
        std::byte* storage = receiveScratch_.data() + receiveBatch_.size() * capacity;
        auto* data = static_cast<const std::byte*>(NdisGetDataBuffer(nb, length, storage, 1, 0));
        if (data == nullptr) {
          ++counters_.dropsTapFull;
          continue;
        }
        std::span<const std::byte> frame(data, length);
        capture(frame);
        ReceiveOffload offload = nblOffload;
        if (offload.checksumVerified) {
          // The checksum field is rewritten for the TAP (markChecksumVerified), in our copy:
          // the NBL's data is the miniport's.
          if (data != storage) std::memcpy(storage, data, length);
          markChecksumVerified(std::span(storage, length), offload);
          frame = std::span<const std::byte>(storage, length);
        }
        receiveBatch_.push_back(TapFrame{.data = frame, .offload = offload});
        if (offload.checksumVerified) ++counters_.receiveChecksumVerified;
        if (receiveBatch_.size() == kBatchFrames) flush();
      }
    }
    flush();
  }
  // Copied out: the NBLs go back at once (not ours to return under RESOURCES).
  if ((receiveFlags & NDIS_RECEIVE_FLAGS_RESOURCES) == 0)
    NdisReturnNetBufferLists(bindingHandle_, nbls,
                             (receiveFlags & NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL) != 0 ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
}

// IRQL <= DISPATCH_LEVEL.
void TapBinding::status(const NDIS_STATUS_INDICATION& indication) {
  if (indication.StatusCode == NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG) {
    // Applied at the next NetEventRestart: re-attaching the TAP is PASSIVE_LEVEL work that
    // must not race the data path.
    if (indication.StatusBuffer == nullptr || indication.StatusBufferSize < NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1) return;
    const AdapterOffloads offloads = adapterOffloadsFrom(static_cast<const NDIS_OFFLOAD*>(indication.StatusBuffer));
    std::lock_guard guard(pendingOffloadsLock_);
    pendingOffloads_ = offloads;
    return;
  }
  if (indication.StatusCode != NDIS_STATUS_LINK_STATE || indication.StatusBuffer == nullptr ||
      indication.StatusBufferSize < sizeof(NDIS_LINK_STATE))
    return;
  const auto& link = *static_cast<const NDIS_LINK_STATE*>(indication.StatusBuffer);
  if (link.MediaConnectState == MediaConnectStateUnknown) return;
  setCarrier(link.MediaConnectState == MediaConnectStateConnected);
}

// Under tapLock_, so setUp() cannot overwrite a link indication with its older bind-time
// state: it applies that state only while no indication has been seen.
void TapBinding::setCarrier(bool connected) {
  std::lock_guard guard(tapLock_);
  linkStatusSeen_ = true;
  carrier_ = connected;
  if (!tap_) return;  // before the TAP exists setUp() applies carrier_, after the unbind nothing does
  try {
    tap_->setCarrier(connected);
  } catch (const std::exception& error) {
    log().error("{}: {}", adapterName_, error.what());
  }
}

TapBindingStats TapBinding::stats() const {
  TapBindingStats s;
  s.adapterName = adapterName_;
  s.tapName = plan_.tapName;
  s.running = running_.load();
  s.carrier = carrier_.load();
  s.framesToAdapter = counters_.framesToAdapter.load();
  s.bytesToAdapter = counters_.bytesToAdapter.load();
  s.framesFromAdapter = counters_.framesFromAdapter.load();
  s.bytesFromAdapter = counters_.bytesFromAdapter.load();
  s.sendFailures = counters_.sendFailures.load();
  s.dropsNoNbl = counters_.dropsNoNbl.load();
  s.dropsPaused = counters_.dropsPaused.load();
  s.dropsTapFull = counters_.dropsTapFull.load();
  s.packetFilter = counters_.packetFilter.load();
  s.multicastAddresses = counters_.multicastAddresses.load();
  s.oidFailures = counters_.oidFailures.load();
  s.vnetHeader = counters_.vnetHeader.load();
  s.checksumOffloaded = counters_.checksumOffloaded.load();
  s.largeSendsOffloaded = counters_.largeSendsOffloaded.load();
  s.checksumsInSoftware = counters_.checksumsInSoftware.load();
  s.dropsOffload = counters_.dropsOffload.load();
  s.receiveChecksumVerified = counters_.receiveChecksumVerified.load();
  s.receiveChecksumFailed = counters_.receiveChecksumFailed.load();
  s.largeSendCompletionsMalformed = counters_.largeSendCompletionsMalformed.load();
  std::lock_guard guard(tapLock_);
  s.sendsOutstanding = pool_ ? pool_->outstanding() : 0;
  return s;
}

}  // namespace ndishost::host::binding
