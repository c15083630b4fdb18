// IRP allocation: lookaside lists per stack size, and the allocation DDIs.
#include "nt/io/irp_allocator.hpp"

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <new>

#include <fmt/format.h>

#include "nt/io/io_manager.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt {
namespace {

// Device stacks are a handful of devices deep; stack sizes beyond this go to the heap.
constexpr int kLookasideStackSizes = 16;
// Enough for a burst of in-flight transfers; frees beyond it return memory to the heap.
constexpr std::size_t kLookasideDepth = 256;
constexpr std::uint8_t kNoBucket = 0xFF;

struct Lookaside {
  std::mutex lock;
  IrpHeader* head = nullptr;
  std::size_t depth = 0;
};

struct Allocator {
  std::array<Lookaside, kLookasideStackSizes + 1> lists;  // index = stack size
  std::atomic<std::uint64_t> lookasideHits{0};
  std::atomic<std::uint64_t> heapAllocations{0};
  std::atomic<std::uint64_t> outstanding{0};
};

Allocator& allocator() {
  static Allocator instance;
  return instance;
}

std::size_t blockSize(int stackSize) { return sizeof(IrpHeader) + IoSizeOfIrp(stackSize); }

void initialize(PIRP irp, USHORT packetSize, CCHAR stackSize) {
  std::memset(irp, 0, packetSize);
  irp->Type = IO_TYPE_IRP;
  irp->Size = packetSize;
  irp->StackCount = stackSize;
  irp->CurrentLocation = static_cast<CHAR>(stackSize + 1);
  irp->ThreadListEntry.Flink = irp->ThreadListEntry.Blink = &irp->ThreadListEntry;
  // One past the last location: IoGetNextIrpStackLocation then yields the top location.
  irp->Tail.Overlay.CurrentStackLocation = reinterpret_cast<PIO_STACK_LOCATION>(irp + 1) + stackSize;
}

}  // namespace

IrpHeader* irpHeaderOf(PIRP irp) {
  if (irp == nullptr || (irp->AllocationFlags & kIrpAllocatedFixedSize) == 0) return nullptr;
  auto* header = reinterpret_cast<IrpHeader*>(irp) - 1;
  return header->magic == IrpHeader::kMagic ? header : nullptr;
}

PIRP allocateIrp(CCHAR stackSize, IrpOrigin origin, const void* callSite) {
  if (stackSize < 0) return nullptr;
  Allocator& a = allocator();
  IrpHeader* header = nullptr;
  std::uint8_t bucket = stackSize <= kLookasideStackSizes ? static_cast<std::uint8_t>(stackSize) : kNoBucket;
  if (bucket != kNoBucket) {
    Lookaside& list = a.lists[bucket];
    std::lock_guard guard(list.lock);
    if (list.head != nullptr) {
      header = list.head;
      list.head = header->nextFree;
      --list.depth;
    }
  }
  if (header != nullptr) {
    a.lookasideHits.fetch_add(1, std::memory_order_relaxed);
  } else {
    void* memory = ::operator new(blockSize(stackSize), std::align_val_t{MEMORY_ALLOCATION_ALIGNMENT}, std::nothrow);
    if (memory == nullptr) return nullptr;
    header = new (memory) IrpHeader;
    a.heapAllocations.fetch_add(1, std::memory_order_relaxed);
  }
  a.outstanding.fetch_add(1, std::memory_order_relaxed);

  header->bucket = bucket;
  header->origin = origin;
  header->live = true;
  header->inFlight = false;
  header->copyBackLength = 0;
  header->systemBuffer = nullptr;
  header->nextFree = nullptr;
  header->ledger = LedgerEntry{};
  header->ledger.kind = ResourceKind::Irp;
  header->ledger.callSite = callSite;
  header->ledger.size = IoSizeOfIrp(stackSize);

  PIRP irp = header->irp();
  initialize(irp, IoSizeOfIrp(stackSize), stackSize);
  irp->AllocationFlags = kIrpAllocatedFixedSize | (bucket != kNoBucket ? kIrpLookasideAllocation : 0);
  header->ledger.object = irp;
  if (callSite != nullptr) ledgerAdd(header->ledger);
  return irp;
}

void releaseIrp(PIRP irp) {
  IrpHeader* header = irpHeaderOf(irp);
  ledgerRemove(header->ledger);
  if (header->systemBuffer != nullptr) {
    freeSystemBuffer(header->systemBuffer);
    header->systemBuffer = nullptr;
  }
  header->live = false;
  header->inFlight = false;
  // A stale pointer to a freed IRP then fails every "is this an IRP" check.
  irp->Type = 0;
  irp->CurrentLocation = static_cast<CHAR>(irp->StackCount + 2);

  Allocator& a = allocator();
  a.outstanding.fetch_sub(1, std::memory_order_relaxed);
  if (header->bucket != kNoBucket) {
    Lookaside& list = a.lists[header->bucket];
    std::lock_guard guard(list.lock);
    if (list.depth < kLookasideDepth) {
      header->nextFree = list.head;
      list.head = header;
      ++list.depth;
      return;
    }
  }
  header->~IrpHeader();
  ::operator delete(static_cast<void*>(header), std::align_val_t{MEMORY_ALLOCATION_ALIGNMENT});
}

void* allocateSystemBuffer(std::size_t size) {
  return ::operator new(size == 0 ? 1 : size, std::align_val_t{MEMORY_ALLOCATION_ALIGNMENT}, std::nothrow);
}

void freeSystemBuffer(void* buffer) {
  ::operator delete(buffer, std::align_val_t{MEMORY_ALLOCATION_ALIGNMENT});
}

IrpAllocatorStats irpAllocatorStats() {
  Allocator& a = allocator();
  return {a.lookasideHits.load(), a.heapAllocations.load(), a.outstanding.load()};
}

}  // namespace ndishost::nt

using namespace ndishost::nt;

// IRQL <= DISPATCH_LEVEL.
extern "C" PIRP NTAPI IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota) {
  (void)ChargeQuota;  // no per-process quotas in ndishost
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoAllocateIrp", caller);
  return allocateIrp(StackSize, IrpOrigin::Driver, caller);
}

// IRQL <= DISPATCH_LEVEL.
extern "C" VOID NTAPI IoFreeIrp(PIRP Irp) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoFreeIrp", caller);
  const auto address = reinterpret_cast<std::uintptr_t>(Irp);
  IrpHeader* header = irpHeaderOf(Irp);
  if (header == nullptr) {
    reportViolation({"irp.free-not-allocated", bugcheck::DriverVerifierDetectedViolation, address}, caller,
                    fmt::format("IoFreeIrp({}): the IRP was not allocated by the I/O manager", static_cast<void*>(Irp)));
    return;
  }
  if (!header->live) {
    reportViolation({"irp.free-twice", bugcheck::DriverVerifierDetectedViolation, address}, caller,
                    fmt::format("IoFreeIrp({}): the IRP was already freed", static_cast<void*>(Irp)));
    return;
  }
  if (header->origin == IrpOrigin::Synchronous) {
    reportViolation({"irp.free-io-manager-irp", bugcheck::DriverVerifierDetectedViolation, address}, caller,
                    fmt::format("IoFreeIrp({}): IRPs from IoBuildDeviceIoControlRequest and "
                                "IoBuildSynchronousFsdRequest are freed by the I/O manager at completion",
                                static_cast<void*>(Irp)));
    return;
  }
  if (header->inFlight) {
    reportViolation({"irp.free-in-flight", bugcheck::DriverVerifierDetectedViolation, address}, caller,
                    fmt::format("IoFreeIrp({}): the IRP was sent with IoCallDriver and has not been completed",
                                static_cast<void*>(Irp)));
    return;
  }
  if (Irp->CancelRoutine != nullptr) {
    reportViolation({"irp.cancel-routine-set", 0x48, address}, caller,
                    fmt::format("IoFreeIrp({}) with a cancel routine still set", static_cast<void*>(Irp)));
  }
  releaseIrp(Irp);
}

// Any IRQL.
extern "C" VOID NTAPI IoInitializeIrp(PIRP Irp, USHORT PacketSize, CCHAR StackSize) {
  const void* caller = __builtin_return_address(0);
  if (StackSize < 0 || PacketSize < IoSizeOfIrp(StackSize)) {
    reportViolation({"irp.initialize-too-small", bugcheck::DriverVerifierDetectedViolation,
                     reinterpret_cast<std::uintptr_t>(Irp), PacketSize, static_cast<std::uint64_t>(StackSize)},
                    caller, fmt::format("IoInitializeIrp: {} bytes cannot hold an IRP with {} stack locations ({} needed)",
                                        PacketSize, static_cast<int>(StackSize), IoSizeOfIrp(StackSize)));
    return;
  }
  // Re-initialising one of the runtime's IRPs must not lose track of where it came from.
  IrpHeader* header = irpHeaderOf(Irp);
  UCHAR allocationFlags = header != nullptr ? Irp->AllocationFlags : 0;
  initialize(Irp, PacketSize, StackSize);
  Irp->AllocationFlags = allocationFlags;
  if (header != nullptr) header->inFlight = false;
}

// IRQL <= DISPATCH_LEVEL.
extern "C" VOID NTAPI IoReuseIrp(PIRP Irp, NTSTATUS Iostatus) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoReuseIrp", caller);
  const auto address = reinterpret_cast<std::uintptr_t>(Irp);
  IrpHeader* header = irpHeaderOf(Irp);
  if (header != nullptr && header->origin != IrpOrigin::Driver) {
    reportViolation({"irp.reuse-built-irp", bugcheck::DriverVerifierDetectedViolation, address}, caller,
                    fmt::format("IoReuseIrp({}): only IRPs from IoAllocateIrp or the driver's own memory may be reused",
                                static_cast<void*>(Irp)));
    return;
  }
  if (header != nullptr && header->inFlight) {
    reportViolation({"irp.reuse-in-flight", bugcheck::DriverVerifierDetectedViolation, address}, caller,
                    fmt::format("IoReuseIrp({}): the IRP was sent and has not been completed", static_cast<void*>(Irp)));
    return;
  }
  if (Irp->CancelRoutine != nullptr) {
    reportViolation({"irp.cancel-routine-set", 0x48, address}, caller,
                    fmt::format("IoReuseIrp({}) with a cancel routine still set", static_cast<void*>(Irp)));
  }
  UCHAR allocationFlags = Irp->AllocationFlags;
  initialize(Irp, Irp->Size, Irp->StackCount);
  Irp->AllocationFlags = allocationFlags;
  Irp->IoStatus.Status = Iostatus;
}
