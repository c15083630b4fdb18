// Where IRPs come from: per-stack-size lookaside lists, so a driver that allocates and
// frees IRPs at packet rate (a USB NIC re-posting bulk transfers) causes no heap traffic
// once the lists are warm. Every IRP carries a header just before it with what the I/O
// manager must remember about it: who allocated it (for leak reports), who frees it, and
// the system buffer to copy back and release at completion.
#pragma once

#include <wdm.h>

#include <cstdint>

#include "nt/support/ledger.hpp"

namespace ndishost::nt {

// Who disposes of the IRP when it has been completed.
enum class IrpOrigin : std::uint8_t {
  Driver,        // IoAllocateIrp: the allocating driver frees it (IoFreeIrp) from its completion routine
  Synchronous,   // IoBuildDeviceIoControlRequest, IoBuildSynchronousFsdRequest, sendIrpSynchronously:
                 // the I/O manager sets the status block, signals the event and frees it
  Asynchronous,  // IoBuildAsynchronousFsdRequest: the caller frees it from its completion routine
};

struct alignas(MEMORY_ALLOCATION_ALIGNMENT) IrpHeader {
  static constexpr std::uint32_t kMagic = 0x7072496E;  // "nIrp"

  std::uint32_t magic = kMagic;
  std::uint8_t bucket = 0;  // lookaside list index, or kNoBucket
  IrpOrigin origin = IrpOrigin::Driver;
  bool live = false;        // allocated and not yet freed
  bool inFlight = false;    // sent with IoCallDriver and not yet completed
  ULONG copyBackLength = 0; // buffered output: bytes of SystemBuffer that belong in UserBuffer
  void* systemBuffer = nullptr;  // the I/O manager's buffer (IRP_DEALLOCATE_BUFFER)
  IrpHeader* nextFree = nullptr;
  LedgerEntry ledger;

  PIRP irp() { return reinterpret_cast<PIRP>(this + 1); }
};

// IRP.AllocationFlags values Windows uses for the same purpose; the runtime sets both on
// the IRPs it allocates (and only those carry an IrpHeader).
inline constexpr UCHAR kIrpAllocatedFixedSize = 0x04;
inline constexpr UCHAR kIrpLookasideAllocation = 0x08;

// The header of an IRP the runtime allocated; null for IRPs a driver built in its own
// memory with IoInitializeIrp.
IrpHeader* irpHeaderOf(PIRP irp);

// A zeroed, initialized IRP with `stackSize` stack locations, charged to the driver at
// `callSite` (null: the runtime's own). Null when stackSize is out of range.
PIRP allocateIrp(CCHAR stackSize, IrpOrigin origin, const void* callSite);

// Returns the IRP to its lookaside list, freeing the I/O manager's system buffer.
void releaseIrp(PIRP irp);

// The I/O manager's side buffers (system buffers of buffered requests).
void* allocateSystemBuffer(std::size_t size);
void freeSystemBuffer(void* buffer);

}  // namespace ndishost::nt
