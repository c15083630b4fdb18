// NDIS spin locks: a KSPIN_LOCK plus the IRQL to restore, over the kernel's spin locks
// (which catch recursion, release by a non-owner and waits while held).
#include "ndis/core/ndis_rules.hpp"

using namespace ndishost;

// IRQL <= DISPATCH_LEVEL.
extern "C" VOID NTAPI NdisAllocateSpinLock(PNDIS_SPIN_LOCK SpinLock) {
  KeInitializeSpinLock(&SpinLock->SpinLock);
  SpinLock->OldIrql = PASSIVE_LEVEL;
}

// IRQL <= DISPATCH_LEVEL. Nothing to release: the lock holds no resources.
extern "C" VOID NTAPI NdisFreeSpinLock(PNDIS_SPIN_LOCK SpinLock) { (void)SpinLock; }

// IRQL <= DISPATCH_LEVEL; raises to DISPATCH_LEVEL and saves the previous IRQL in OldIrql.
extern "C" VOID NTAPI NdisAcquireSpinLock(PNDIS_SPIN_LOCK SpinLock) {
  KIRQL oldIrql = KeAcquireSpinLockRaiseToDpc(&SpinLock->SpinLock);
  SpinLock->OldIrql = oldIrql;
}

// IRQL DISPATCH_LEVEL; restores OldIrql.
extern "C" VOID NTAPI NdisReleaseSpinLock(PNDIS_SPIN_LOCK SpinLock) {
  KeReleaseSpinLock(&SpinLock->SpinLock, SpinLock->OldIrql);
}

// IRQL DISPATCH_LEVEL exactly.
extern "C" VOID NTAPI NdisDprAcquireSpinLock(PNDIS_SPIN_LOCK SpinLock) {
  ndis::checkIrqlExactly(DISPATCH_LEVEL, "NdisDprAcquireSpinLock", __builtin_return_address(0));
  KeAcquireSpinLockAtDpcLevel(&SpinLock->SpinLock);
}

// IRQL DISPATCH_LEVEL exactly.
extern "C" VOID NTAPI NdisDprReleaseSpinLock(PNDIS_SPIN_LOCK SpinLock) {
  ndis::checkIrqlExactly(DISPATCH_LEVEL, "NdisDprReleaseSpinLock", __builtin_return_address(0));
  KeReleaseSpinLockFromDpcLevel(&SpinLock->SpinLock);
}
