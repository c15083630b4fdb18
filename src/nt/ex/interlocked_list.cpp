// ExInterlocked{Insert,Remove}*List and ExInterlocked{Push,Pop}EntryList: the plain list
// helpers run under the caller's spin lock.
//
// Windows takes the lock with interrupts disabled, so these work at any IRQL. Here the
// lock is taken with the kernel's spin lock routines: raising to DISPATCH_LEVEL from
// below it, or at the current level from DISPATCH_LEVEL and above. That keeps the lock's
// ownership checks ("spinlock.recursive": the caller must not already hold it).
#include "nt/rtl/ddk.hpp"

namespace {

class ListLock {
 public:
  explicit ListLock(PKSPIN_LOCK lock) : lock_(lock) {
    if (KeGetCurrentIrql() >= DISPATCH_LEVEL) {
      KeAcquireSpinLockAtDpcLevel(lock_);
      raised_ = false;
    } else {
      KeAcquireSpinLock(lock_, &previous_);
      raised_ = true;
    }
  }
  ~ListLock() {
    if (raised_) {
      KeReleaseSpinLock(lock_, previous_);
    } else {
      KeReleaseSpinLockFromDpcLevel(lock_);
    }
  }
  ListLock(const ListLock&) = delete;
  ListLock& operator=(const ListLock&) = delete;

 private:
  PKSPIN_LOCK lock_;
  KIRQL previous_ = PASSIVE_LEVEL;
  bool raised_ = false;
};

}  // namespace

extern "C" {

// Any IRQL. Returns the previous first entry, or NULL when the list was empty.
PLIST_ENTRY NTAPI ExInterlockedInsertHeadList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry, PKSPIN_LOCK Lock) {
  ListLock guard(Lock);
  PLIST_ENTRY first = IsListEmpty(ListHead) ? nullptr : ListHead->Flink;
  InsertHeadList(ListHead, ListEntry);
  return first;
}

// Any IRQL. Returns the previous last entry, or NULL when the list was empty.
PLIST_ENTRY NTAPI ExInterlockedInsertTailList(PLIST_ENTRY ListHead, PLIST_ENTRY ListEntry, PKSPIN_LOCK Lock) {
  ListLock guard(Lock);
  PLIST_ENTRY last = IsListEmpty(ListHead) ? nullptr : ListHead->Blink;
  InsertTailList(ListHead, ListEntry);
  return last;
}

// Any IRQL. The removed first entry, or NULL when the list was empty.
PLIST_ENTRY NTAPI ExInterlockedRemoveHeadList(PLIST_ENTRY ListHead, PKSPIN_LOCK Lock) {
  ListLock guard(Lock);
  return IsListEmpty(ListHead) ? nullptr : RemoveHeadList(ListHead);
}

// Any IRQL. Returns the previous first entry.
PSINGLE_LIST_ENTRY NTAPI ExInterlockedPushEntryList(PSINGLE_LIST_ENTRY ListHead, PSINGLE_LIST_ENTRY ListEntry,
                                                    PKSPIN_LOCK Lock) {
  ListLock guard(Lock);
  PSINGLE_LIST_ENTRY first = ListHead->Next;
  PushEntryList(ListHead, ListEntry);
  return first;
}

// Any IRQL. The removed first entry, or NULL.
PSINGLE_LIST_ENTRY NTAPI ExInterlockedPopEntryList(PSINGLE_LIST_ENTRY ListHead, PKSPIN_LOCK Lock) {
  ListLock guard(Lock);
  return PopEntryList(ListHead);
}

}  // extern "C"
