// Interlocked singly linked lists (SLIST_HEADER), any IRQL.
//
// Choice: each operation runs under a small spin lock picked by the header's address from
// a fixed table, instead of Windows' 128-bit compare-and-swap on (Depth, Sequence,
// NextEntry). A lock-free pop must read the first entry's Next link while another thread
// may already have popped and freed that entry; Windows survives that read through its
// fault handling and the sequence number, but in user space it is a use after free that
// the sanitizers rightly report. Under the lock the header keeps exactly the Windows x64
// encoding (Depth in bits 0-15 and Sequence in bits 16-63 of the first quadword, the first
// entry's address in bits 4-63 of the second), push/pop/flush stay O(1), and ABA cannot
// happen. Critical sections are a few instructions, so the locks are never held long.
#include "nt/rtl/ddk.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <thread>

#include <fmt/format.h>

#include "nt/support/violation.hpp"

namespace {

using namespace ndishost::nt;

struct alignas(64) Stripe {
  std::atomic<bool> locked{false};
};
constexpr std::size_t kStripes = 64;

std::array<Stripe, kStripes>& stripes() {
  static std::array<Stripe, kStripes> table;
  return table;
}

class StripeGuard {
 public:
  explicit StripeGuard(const void* header) {
    auto key = reinterpret_cast<std::uintptr_t>(header) >> 4;
    stripe_ = &stripes()[(key * 0x9E3779B97F4A7C15ULL) >> 58];
    for (unsigned spins = 0; stripe_->locked.exchange(true, std::memory_order_acquire); ++spins) {
      while (stripe_->locked.load(std::memory_order_relaxed)) {
        // The holder may be a preempted thread (this is user space): stop burning the CPU.
        if (++spins > 128) {
          std::this_thread::yield();
        } else {
          YieldProcessor();
        }
      }
    }
  }
  ~StripeGuard() { stripe_->locked.store(false, std::memory_order_release); }
  StripeGuard(const StripeGuard&) = delete;
  StripeGuard& operator=(const StripeGuard&) = delete;

 private:
  Stripe* stripe_;
};

constexpr ULONGLONG kDepthMask = 0xFFFF;
constexpr ULONGLONG kSequenceOne = 0x10000;
constexpr ULONGLONG kEntryMask = ~ULONGLONG(0xF);

PSLIST_ENTRY firstEntry(const SLIST_HEADER* header) {
  return reinterpret_cast<PSLIST_ENTRY>(header->Region & kEntryMask);
}

void setFirst(PSLIST_HEADER header, PSLIST_ENTRY entry) {
  header->Region = (header->Region & 0xF) | reinterpret_cast<ULONGLONG>(entry);
}

// Depth and Sequence live in one quadword; both move together on every change.
void adjust(PSLIST_HEADER header, int depthDelta) {
  ULONGLONG depth = (header->Alignment + static_cast<ULONGLONG>(depthDelta)) & kDepthMask;
  ULONGLONG sequence = (header->Alignment & ~kDepthMask) + kSequenceOne;
  header->Alignment = sequence | depth;
}

bool misaligned(const void* p) { return (reinterpret_cast<std::uintptr_t>(p) & 0xF) != 0; }

void reportMisaligned(const char* what, const void* p, const void* caller) {
  reportViolation({"slist.misaligned", bugcheck::KmodeExceptionNotHandled,
                   static_cast<std::uint32_t>(STATUS_DATATYPE_MISALIGNMENT), reinterpret_cast<std::uintptr_t>(p)},
                  caller, fmt::format("{} {} is not 16-byte aligned (MEMORY_ALLOCATION_ALIGNMENT)", what, p));
}

}  // namespace

extern "C" {

// Any IRQL. The header must be 16-byte aligned.
VOID NTAPI InitializeSListHead(PSLIST_HEADER SListHead) {
  if (misaligned(SListHead)) {
    reportMisaligned("SLIST_HEADER", SListHead, __builtin_return_address(0));
    return;
  }
  StripeGuard guard(SListHead);
  SListHead->Alignment = 0;
  SListHead->Region = 0;
}

// Any IRQL. Returns the previous first entry.
PSLIST_ENTRY NTAPI ExpInterlockedPushEntrySList(PSLIST_HEADER ListHead, PSLIST_ENTRY ListEntry) {
  if (misaligned(ListEntry)) {
    reportMisaligned("SLIST_ENTRY", ListEntry, __builtin_return_address(0));
    return nullptr;
  }
  StripeGuard guard(ListHead);
  PSLIST_ENTRY previous = firstEntry(ListHead);
  ListEntry->Next = previous;
  setFirst(ListHead, ListEntry);
  adjust(ListHead, +1);
  return previous;
}

// Any IRQL. NULL when the list is empty.
PSLIST_ENTRY NTAPI ExpInterlockedPopEntrySList(PSLIST_HEADER ListHead) {
  StripeGuard guard(ListHead);
  PSLIST_ENTRY first = firstEntry(ListHead);
  if (first != nullptr) {
    setFirst(ListHead, first->Next);
    adjust(ListHead, -1);
  }
  return first;
}

// Any IRQL. Returns the former first entry; the entries stay chained through Next.
PSLIST_ENTRY NTAPI ExpInterlockedFlushSList(PSLIST_HEADER ListHead) {
  StripeGuard guard(ListHead);
  PSLIST_ENTRY first = firstEntry(ListHead);
  if (first != nullptr) {
    setFirst(ListHead, nullptr);
    adjust(ListHead, -static_cast<int>(ListHead->Alignment & kDepthMask));
  }
  return first;
}

// Any IRQL.
USHORT NTAPI ExQueryDepthSList(PSLIST_HEADER SListHead) {
  StripeGuard guard(SListHead);
  return static_cast<USHORT>(SListHead->Alignment & kDepthMask);
}

// Any IRQL. The first entry without removing it (it may be gone by the time it is used).
PSLIST_ENTRY NTAPI FirstEntrySList(PSLIST_HEADER SListHead) {
  StripeGuard guard(SListHead);
  return firstEntry(SListHead);
}

}  // extern "C"
