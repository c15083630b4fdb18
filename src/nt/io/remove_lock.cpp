// Remove locks: a count of outstanding I/O on a device, biased by one until
// IoReleaseRemoveLockAndWait, plus the event the last release signals.
#include <atomic>

#include <fmt/format.h>

#include "nt/io/io_manager.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt {
namespace {

std::atomic_ref<LONG> ioCount(PIO_REMOVE_LOCK lock) { return std::atomic_ref<LONG>(const_cast<LONG&>(lock->Common.IoCount)); }
std::atomic_ref<BOOLEAN> removed(PIO_REMOVE_LOCK lock) { return std::atomic_ref<BOOLEAN>(lock->Common.Removed); }

bool checkSize(PIO_REMOVE_LOCK lock, ULONG size, const char* ddi, const void* caller) {
  if (size == sizeof(IO_REMOVE_LOCK)) return true;
  reportViolation({"removelock.size-mismatch", bugcheck::DriverVerifierDetectedViolation,
                   reinterpret_cast<std::uintptr_t>(lock), size, sizeof(IO_REMOVE_LOCK)},
                  caller, fmt::format("{}: the driver's IO_REMOVE_LOCK is {} bytes; ndishost's (free build) is {}", ddi,
                                      size, sizeof(IO_REMOVE_LOCK)));
  return false;
}

void reportUnbalanced(PIO_REMOVE_LOCK lock, PVOID tag, const char* ddi, const void* caller) {
  reportViolation({"removelock.release-unbalanced", bugcheck::DriverVerifierDetectedViolation,
                   reinterpret_cast<std::uintptr_t>(lock), reinterpret_cast<std::uintptr_t>(tag)},
                  caller, fmt::format("{}: the remove lock {} was released more often than it was acquired (tag {})",
                                      ddi, static_cast<void*>(lock), tag));
}

}  // namespace
}  // namespace ndishost::nt

using namespace ndishost::nt;

// PASSIVE_LEVEL.
extern "C" VOID NTAPI IoInitializeRemoveLockEx(PIO_REMOVE_LOCK Lock, ULONG AllocateTag, ULONG MaxLockedMinutes,
                                               ULONG HighWatermark, ULONG RemlockSize) {
  (void)AllocateTag;
  (void)MaxLockedMinutes;
  (void)HighWatermark;
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(PASSIVE_LEVEL, "IoInitializeRemoveLock", caller);
  if (!checkSize(Lock, RemlockSize, "IoInitializeRemoveLock", caller)) return;
  Lock->Common.Removed = FALSE;
  Lock->Common.IoCount = 1;
  KeInitializeEvent(&Lock->Common.RemoveEvent, NotificationEvent, FALSE);
}

// IRQL <= DISPATCH_LEVEL. STATUS_DELETE_PENDING once IoReleaseRemoveLockAndWait has begun.
extern "C" NTSTATUS NTAPI IoAcquireRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, PCSTR File, ULONG Line,
                                                ULONG RemlockSize) {
  (void)Tag;
  (void)File;
  (void)Line;
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoAcquireRemoveLock", caller);
  checkSize(RemoveLock, RemlockSize, "IoAcquireRemoveLock", caller);
  ioCount(RemoveLock).fetch_add(1);
  if (removed(RemoveLock).load()) {
    // Too late: undo, and wake the remover if this was the last acquisition it waits for.
    if (ioCount(RemoveLock).fetch_sub(1) == 1) KeSetEvent(&RemoveLock->Common.RemoveEvent, IO_NO_INCREMENT, FALSE);
    return STATUS_DELETE_PENDING;
  }
  return STATUS_SUCCESS;
}

// IRQL <= DISPATCH_LEVEL.
extern "C" VOID NTAPI IoReleaseRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoReleaseRemoveLock", caller);
  checkSize(RemoveLock, RemlockSize, "IoReleaseRemoveLock", caller);
  // Removed is set before IoReleaseRemoveLockAndWait drops the bias, so reaching zero with
  // Removed still clear means this release had no acquisition to match.
  const LONG count = ioCount(RemoveLock).fetch_sub(1) - 1;
  if (count < 0 || (count == 0 && !removed(RemoveLock).load())) {
    ioCount(RemoveLock).fetch_add(1);
    reportUnbalanced(RemoveLock, Tag, "IoReleaseRemoveLock", caller);
    return;
  }
  if (count == 0) KeSetEvent(&RemoveLock->Common.RemoveEvent, IO_NO_INCREMENT, FALSE);
}

// PASSIVE_LEVEL. Releases the caller's acquisition and the bias, then waits for the rest.
extern "C" VOID NTAPI IoReleaseRemoveLockAndWaitEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(PASSIVE_LEVEL, "IoReleaseRemoveLockAndWait", caller);
  checkSize(RemoveLock, RemlockSize, "IoReleaseRemoveLockAndWait", caller);
  if (removed(RemoveLock).exchange(TRUE)) {
    reportViolation({"removelock.wait-twice", bugcheck::DriverVerifierDetectedViolation,
                     reinterpret_cast<std::uintptr_t>(RemoveLock)},
                    caller, fmt::format("IoReleaseRemoveLockAndWait called twice on {}", static_cast<void*>(RemoveLock)));
    return;
  }
  // The caller's own acquisition: the bias keeps the count above zero.
  if (ioCount(RemoveLock).fetch_sub(1) <= 1) {
    ioCount(RemoveLock).fetch_add(1);
    reportViolation({"removelock.wait-without-acquire", bugcheck::DriverVerifierDetectedViolation,
                     reinterpret_cast<std::uintptr_t>(RemoveLock), reinterpret_cast<std::uintptr_t>(Tag)},
                    caller, "IoReleaseRemoveLockAndWait: the caller had not acquired the remove lock");
  }
  if (ioCount(RemoveLock).fetch_sub(1) > 1) {
    KeWaitForSingleObject(&RemoveLock->Common.RemoveEvent, Executive, KernelMode, FALSE, nullptr);
  }
}
