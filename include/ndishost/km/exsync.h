/*
 * ndishost/km/exsync.h -- executive synchronisation of <wdm.h>: fast mutexes, guarded
 * mutexes and system worker threads (ExQueueWorkItem).
 *
 * Written for ndishost from the DDI reference. Included by <wdm.h>; not meant to be
 * included on its own.
 */
#ifndef NDISHOST_KM_EXSYNC_H
#define NDISHOST_KM_EXSYNC_H

#include <ndishost/km/wdm_types.h>

#ifndef FASTCALL
#define FASTCALL __fastcall
#endif

NDISHOST_EXTERN_C_BEGIN

/* ==== fast mutexes ==================================================================== */
/*
 * A FAST_MUTEX is not recursive ("fastmutex.recursive"), is released only by its owner
 * ("fastmutex.not-owned"), and is acquired/released at IRQL <= APC_LEVEL ("irql.too-high").
 * ExAcquireFastMutex raises to APC_LEVEL and keeps the previous IRQL in OldIrql;
 * ExReleaseFastMutex restores it. The Unsafe forms neither raise nor lower: the caller is
 * already at APC_LEVEL or inside a critical region.
 */
/* Any IRQL. Must be called before the first use; needs no runtime. */
#ifdef NDISHOST_TARGET_WINDOWS
/* x64 Windows: an inline initializer; Count 1 (FM_LOCK_BIT) means free. */
FORCEINLINE VOID ExInitializeFastMutex(_Out_ PFAST_MUTEX FastMutex) {
  FastMutex->Count = 1;
  FastMutex->Owner = NULL;
  FastMutex->Contention = 0;
  KeInitializeEvent(&FastMutex->Event, SynchronizationEvent, FALSE);
}
#else
NTKERNELAPI VOID NTAPI ExInitializeFastMutex(_Out_ PFAST_MUTEX FastMutex);
#endif
/* IRQL <= APC_LEVEL. */
NTKERNELAPI VOID FASTCALL ExAcquireFastMutex(_Inout_ PFAST_MUTEX FastMutex);
/* IRQL == APC_LEVEL (the level ExAcquireFastMutex raised to). */
NTKERNELAPI VOID FASTCALL ExReleaseFastMutex(_Inout_ PFAST_MUTEX FastMutex);
/* IRQL <= APC_LEVEL. TRUE (and raised to APC_LEVEL) when acquired, FALSE when owned. */
NTKERNELAPI BOOLEAN FASTCALL ExTryToAcquireFastMutex(_Inout_ PFAST_MUTEX FastMutex);
/* IRQL == APC_LEVEL, or inside a critical region. */
NTKERNELAPI VOID FASTCALL ExAcquireFastMutexUnsafe(_Inout_ PFAST_MUTEX FastMutex);
NTKERNELAPI VOID FASTCALL ExReleaseFastMutexUnsafe(_Inout_ PFAST_MUTEX FastMutex);

/*
 * Guarded mutexes. From Windows 8 on, KGUARDED_MUTEX is a FAST_MUTEX and these behave
 * exactly as the fast mutex routines (raise to APC_LEVEL); ndishost does the same.
 */
/* IRQL <= DISPATCH_LEVEL; needs no runtime. */
NTKERNELAPI VOID FASTCALL KeInitializeGuardedMutex(_Out_ PKGUARDED_MUTEX Mutex);
/* IRQL <= APC_LEVEL. */
NTKERNELAPI VOID FASTCALL KeAcquireGuardedMutex(_Inout_ PKGUARDED_MUTEX Mutex);
NTKERNELAPI VOID FASTCALL KeReleaseGuardedMutex(_Inout_ PKGUARDED_MUTEX Mutex);
NTKERNELAPI BOOLEAN FASTCALL KeTryToAcquireGuardedMutex(_Inout_ PKGUARDED_MUTEX Mutex);

/* ==== system worker threads =========================================================== */
typedef enum _WORK_QUEUE_TYPE {
  CriticalWorkQueue,
  DelayedWorkQueue,
  HyperCriticalWorkQueue,
  NormalWorkQueue,
  BackgroundWorkQueue,
  RealTimeWorkQueue,
  SuperCriticalWorkQueue,
  MaximumWorkQueue,
  CustomPriorityWorkQueue = 32
} WORK_QUEUE_TYPE;

typedef VOID NTAPI WORKER_THREAD_ROUTINE(_In_ PVOID Parameter);
typedef WORKER_THREAD_ROUTINE *PWORKER_THREAD_ROUTINE;

typedef struct _WORK_QUEUE_ITEM {
  LIST_ENTRY List;
  PWORKER_THREAD_ROUTINE WorkerRoutine;
  __volatile PVOID Parameter;
} WORK_QUEUE_ITEM, *PWORK_QUEUE_ITEM;

/* Any IRQL. List.Flink == NULL marks an item that is not queued. */
#define ExInitializeWorkItem(Item, Routine, Context) \
  do {                                               \
    (Item)->WorkerRoutine = (Routine);               \
    (Item)->Parameter = (Context);                   \
    (Item)->List.Flink = NULL;                       \
  } while (0)

/*
 * IRQL <= DISPATCH_LEVEL. Runs WorkerRoutine(Parameter) once on a runtime worker thread at
 * PASSIVE_LEVEL (every queue type shares one FIFO queue). Queueing an item that is still
 * queued is "workitem.double-queue"; a routine that returns at IRQL != PASSIVE_LEVEL or
 * holding a fast mutex is "workitem.irql-leak". The item may be freed by its routine.
 */
DECLSPEC_DEPRECATED_DDK NTKERNELAPI VOID NTAPI ExQueueWorkItem(_Inout_ PWORK_QUEUE_ITEM WorkItem,
                                                               _In_ WORK_QUEUE_TYPE QueueType);

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_KM_EXSYNC_H */
