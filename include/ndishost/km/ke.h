/*
 * ndishost/km/ke.h -- the kernel (Ke) part of <wdm.h>: IRQL, spin locks, dispatcher
 * objects and waits, DPCs, timers, time, processors, system threads and bug checks.
 *
 * Written for ndishost from the DDI reference. On x64 Windows several of these are inline
 * accesses to CR8 or KUSER_SHARED_DATA; here they are runtime functions because IRQL and
 * time belong to the runtime (see docs on the thread model). Each routine states its IRQL
 * rule; a call above the documented maximum is the rule "irql.too-high".
 *
 * Every routine that needs the runtime reports "no ndishost runtime" and stops when no
 * ndishost::nt::Runtime exists. The Initialize routines only fill in the object and work
 * without one.
 *
 * Included by <wdm.h>; not meant to be included on its own.
 */
#ifndef NDISHOST_KM_KE_H
#define NDISHOST_KM_KE_H

#include <ndishost/km/wdm_types.h>

#ifndef FASTCALL
#define FASTCALL __fastcall
#endif

NDISHOST_EXTERN_C_BEGIN

/* ==== IRQL ============================================================================ */
#ifndef SYNCH_LEVEL
#define SYNCH_LEVEL 12
#endif

/* Any IRQL. */
NTKERNELAPI KIRQL NTAPI KeGetCurrentIrql(VOID);
/* Raising to a lower IRQL than the current one is "irql.raise-lowers". Reaching
 * DISPATCH_LEVEL or above gives the calling thread its virtual processor exclusively. */
NTKERNELAPI KIRQL FASTCALL KfRaiseIrql(_In_ KIRQL NewIrql);
#define KeRaiseIrql(NewIrql, OldIrql) (*(OldIrql) = KfRaiseIrql(NewIrql))
/* Lowering to a higher IRQL than the current one is "irql.lower-raises". */
NTKERNELAPI VOID NTAPI KeLowerIrql(_In_ KIRQL NewIrql);
/* IRQL <= DISPATCH_LEVEL / <= SYNCH_LEVEL. Return the previous IRQL. */
NTKERNELAPI KIRQL NTAPI KeRaiseIrqlToDpcLevel(VOID);
#ifdef NDISHOST_TARGET_WINDOWS
/* x64 Windows: no export; a raise to SYNCH_LEVEL through the exported KfRaiseIrql. */
#define KeRaiseIrqlToSynchLevel() KfRaiseIrql(SYNCH_LEVEL)
#else
NTKERNELAPI KIRQL NTAPI KeRaiseIrqlToSynchLevel(VOID);
#endif

/* ==== spin locks ====================================================================== */
/* A KSPIN_LOCK is 0 when free; while held it identifies the owning thread. Acquiring a lock
 * the thread already holds is "spinlock.recursive" (SPIN_LOCK_ALREADY_OWNED); releasing a
 * lock the thread does not hold is "spinlock.not-owned" (SPIN_LOCK_NOT_OWNED). */
/* Any IRQL. */
FORCEINLINE VOID KeInitializeSpinLock(_Out_ PKSPIN_LOCK SpinLock) { *SpinLock = 0; }
/* IRQL <= DISPATCH_LEVEL. Raises to DISPATCH_LEVEL; returns the previous IRQL. */
NTKERNELAPI KIRQL NTAPI KeAcquireSpinLockRaiseToDpc(_Inout_ PKSPIN_LOCK SpinLock);
#define KeAcquireSpinLock(SpinLock, OldIrql) (*(OldIrql) = KeAcquireSpinLockRaiseToDpc(SpinLock))
/* IRQL == DISPATCH_LEVEL. Releases, then lowers to NewIrql. */
NTKERNELAPI VOID NTAPI KeReleaseSpinLock(_Inout_ PKSPIN_LOCK SpinLock, _In_ KIRQL NewIrql);
/* IRQL >= DISPATCH_LEVEL ("irql.too-low" below it). */
NTKERNELAPI VOID NTAPI KeAcquireSpinLockAtDpcLevel(_Inout_ PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID NTAPI KeReleaseSpinLockFromDpcLevel(_Inout_ PKSPIN_LOCK SpinLock);
/* IRQL >= DISPATCH_LEVEL. TRUE when acquired. */
NTKERNELAPI BOOLEAN FASTCALL KeTryToAcquireSpinLockAtDpcLevel(_Inout_ PKSPIN_LOCK SpinLock);
/* Any IRQL. TRUE when the lock is free at the moment of the call. */
NTKERNELAPI BOOLEAN FASTCALL KeTestSpinLock(_In_ PKSPIN_LOCK SpinLock);
/* IRQL <= DISPATCH_LEVEL. At DISPATCH_LEVEL these behave as the AtDpcLevel forms. */
NTKERNELAPI KIRQL NTAPI KeAcquireSpinLockForDpc(_Inout_ PKSPIN_LOCK SpinLock);
NTKERNELAPI VOID NTAPI KeReleaseSpinLockForDpc(_Inout_ PKSPIN_LOCK SpinLock, _In_ KIRQL OldIrql);

/* In-stack queued spin locks: the same KSPIN_LOCK word, with the handle on the caller's
 * stack remembering the lock and the previous IRQL. IRQL rules as the forms above. */
NTKERNELAPI VOID FASTCALL KeAcquireInStackQueuedSpinLock(_Inout_ PKSPIN_LOCK SpinLock,
                                                         _Out_ PKLOCK_QUEUE_HANDLE LockHandle);
NTKERNELAPI VOID FASTCALL KeReleaseInStackQueuedSpinLock(_In_ PKLOCK_QUEUE_HANDLE LockHandle);
NTKERNELAPI VOID FASTCALL KeAcquireInStackQueuedSpinLockAtDpcLevel(_Inout_ PKSPIN_LOCK SpinLock,
                                                                   _Out_ PKLOCK_QUEUE_HANDLE LockHandle);
NTKERNELAPI VOID FASTCALL KeReleaseInStackQueuedSpinLockFromDpcLevel(_In_ PKLOCK_QUEUE_HANDLE LockHandle);
NTKERNELAPI VOID NTAPI KeAcquireInStackQueuedSpinLockForDpc(_Inout_ PKSPIN_LOCK SpinLock,
                                                            _Out_ PKLOCK_QUEUE_HANDLE LockHandle);
NTKERNELAPI VOID NTAPI KeReleaseInStackQueuedSpinLockForDpc(_In_ PKLOCK_QUEUE_HANDLE LockHandle);

/* ==== dispatcher objects ============================================================== */
/* Dispatcher state lives in the objects themselves (Header.SignalState, Header.WaitListHead)
 * under one runtime-wide dispatcher lock, so an object on a driver's stack leaves nothing
 * behind. A wait or signal on an object whose Header.Type is not a dispatcher object type is
 * "ke.bad-dispatcher-object". */

/* Any IRQL. */
NTKERNELAPI VOID NTAPI KeInitializeEvent(_Out_ PRKEVENT Event, _In_ EVENT_TYPE Type, _In_ BOOLEAN State);
/* IRQL <= DISPATCH_LEVEL. Return the previous state. A notification event releases every
 * waiter and stays signalled; a synchronization event releases one waiter and resets.
 * Wait == TRUE is accepted and treated as FALSE. */
NTKERNELAPI LONG NTAPI KeSetEvent(_Inout_ PRKEVENT Event, _In_ KPRIORITY Increment, _In_ BOOLEAN Wait);
NTKERNELAPI VOID NTAPI KeClearEvent(_Inout_ PRKEVENT Event);
NTKERNELAPI LONG NTAPI KeResetEvent(_Inout_ PRKEVENT Event);
NTKERNELAPI LONG NTAPI KeReadStateEvent(_In_ PRKEVENT Event);

/* PASSIVE_LEVEL (Level is ignored, as on Windows). The mutex is recursive for its owner;
 * release by another thread is "mutex.not-owned" (THREAD_NOT_MUTEX_OWNER). A mutex whose
 * owner exits is abandoned: the next acquirer gets STATUS_ABANDONED. */
NTKERNELAPI VOID NTAPI KeInitializeMutex(_Out_ PRKMUTEX Mutex, _In_ ULONG Level);
/* IRQL <= DISPATCH_LEVEL. Returns the previous signal state. */
NTKERNELAPI LONG NTAPI KeReleaseMutex(_Inout_ PRKMUTEX Mutex, _In_ BOOLEAN Wait);
NTKERNELAPI LONG NTAPI KeReadStateMutex(_In_ PRKMUTEX Mutex);

/* PASSIVE_LEVEL. */
NTKERNELAPI VOID NTAPI KeInitializeSemaphore(_Out_ PRKSEMAPHORE Semaphore, _In_ LONG Count, _In_ LONG Limit);
/* IRQL <= DISPATCH_LEVEL. Returns the previous count; going over Limit or a non-positive
 * Adjustment is "semaphore.limit-exceeded" (the count is then left unchanged). */
NTKERNELAPI LONG NTAPI KeReleaseSemaphore(_Inout_ PRKSEMAPHORE Semaphore, _In_ KPRIORITY Increment,
                                          _In_ LONG Adjustment, _In_ BOOLEAN Wait);
NTKERNELAPI LONG NTAPI KeReadStateSemaphore(_In_ PRKSEMAPHORE Semaphore);

/*
 * Waits. Timeout: NULL waits forever, 0 only tests, negative is relative (100 ns units),
 * positive is an absolute system time. IRQL <= APC_LEVEL, or DISPATCH_LEVEL with a zero
 * timeout; any other wait at DISPATCH_LEVEL or above is "irql.wait-at-dispatch"
 * (IRQL_NOT_LESS_OR_EQUAL; the wait then only tests the objects). Alertable waits are
 * accepted; ndishost delivers no APCs, so they never return STATUS_ALERTED/USER_APC.
 * Returns STATUS_WAIT_0 + n, STATUS_ABANDONED_WAIT_0 + n or STATUS_TIMEOUT.
 */
NTKERNELAPI NTSTATUS NTAPI KeWaitForSingleObject(_In_ PVOID Object, _In_ KWAIT_REASON WaitReason,
                                                 _In_ KPROCESSOR_MODE WaitMode, _In_ BOOLEAN Alertable,
                                                 _In_opt_ PLARGE_INTEGER Timeout);
#define KeWaitForMutexObject KeWaitForSingleObject
/* Count > MAXIMUM_WAIT_OBJECTS, or Count > THREAD_WAIT_OBJECTS without WaitBlockArray, is
 * "ke.too-many-wait-objects" (MAXIMUM_WAIT_OBJECTS_EXCEEDED). */
NTKERNELAPI NTSTATUS NTAPI KeWaitForMultipleObjects(_In_ ULONG Count, _In_reads_(Count) PVOID Object[],
                                                    _In_ WAIT_TYPE WaitType, _In_ KWAIT_REASON WaitReason,
                                                    _In_ KPROCESSOR_MODE WaitMode, _In_ BOOLEAN Alertable,
                                                    _In_opt_ PLARGE_INTEGER Timeout,
                                                    _Out_opt_ PKWAIT_BLOCK WaitBlockArray);
/* IRQL <= APC_LEVEL. Interval as a wait Timeout (required). Returns STATUS_SUCCESS. */
NTKERNELAPI NTSTATUS NTAPI KeDelayExecutionThread(_In_ KPROCESSOR_MODE WaitMode, _In_ BOOLEAN Alertable,
                                                  _In_ PLARGE_INTEGER Interval);
/* Any IRQL. Busy-waits (in deterministic mode: advances the virtual clock). */
NTKERNELAPI VOID NTAPI KeStallExecutionProcessor(_In_ ULONG MicroSeconds);

/* ==== DPCs ============================================================================ */
/* Any IRQL. A threaded DPC runs like an ordinary one, at DISPATCH_LEVEL (as Windows does
 * when threaded DPCs are disabled). */
NTKERNELAPI VOID NTAPI KeInitializeDpc(_Out_ PRKDPC Dpc, _In_ PKDEFERRED_ROUTINE DeferredRoutine,
                                       _In_opt_ PVOID DeferredContext);
NTKERNELAPI VOID NTAPI KeInitializeThreadedDpc(_Out_ PRKDPC Dpc, _In_ PKDEFERRED_ROUTINE DeferredRoutine,
                                               _In_opt_ PVOID DeferredContext);
/* Any IRQL. FALSE when the DPC is already queued. The DPC runs at DISPATCH_LEVEL on its
 * target virtual processor (the caller's when untargeted); returning at another IRQL is
 * "dpc.irql-changed". */
NTKERNELAPI BOOLEAN NTAPI KeInsertQueueDpc(_Inout_ PRKDPC Dpc, _In_opt_ PVOID SystemArgument1,
                                           _In_opt_ PVOID SystemArgument2);
/* Any IRQL. TRUE when the DPC was queued (and now is not). */
NTKERNELAPI BOOLEAN NTAPI KeRemoveQueueDpc(_Inout_ PRKDPC Dpc);
/* PASSIVE_LEVEL. Returns after every DPC queued before the call, on every processor, ran. */
NTKERNELAPI VOID NTAPI KeFlushQueuedDpcs(VOID);
/* Any IRQL. HighImportance queues at the head of the processor's queue. */
NTKERNELAPI VOID NTAPI KeSetImportanceDpc(_Inout_ PRKDPC Dpc, _In_ KDPC_IMPORTANCE Importance);
/* Any IRQL; not while the DPC is queued. */
NTKERNELAPI VOID NTAPI KeSetTargetProcessorDpc(_Inout_ PRKDPC Dpc, _In_ CCHAR Number);
/* Any IRQL. STATUS_INVALID_PARAMETER for a processor that does not exist. */
NTKERNELAPI NTSTATUS NTAPI KeSetTargetProcessorDpcEx(_Inout_ PKDPC Dpc, _In_ PPROCESSOR_NUMBER ProcNumber);

/* ==== processors ====================================================================== */
#define ALL_PROCESSOR_GROUPS 0xffff
/* Any IRQL. The virtual processor the calling thread is bound to (one group, group 0). */
#ifdef NDISHOST_TARGET_WINDOWS
/* x64 Windows: no export; the system-wide index the exported Ex form returns. */
NTKERNELAPI ULONG NTAPI KeGetCurrentProcessorNumberEx(_Out_opt_ PPROCESSOR_NUMBER ProcNumber);
#define KeGetCurrentProcessorNumber() KeGetCurrentProcessorNumberEx(NULL)
#else
NTKERNELAPI ULONG NTAPI KeGetCurrentProcessorNumber(VOID);
NTKERNELAPI ULONG NTAPI KeGetCurrentProcessorNumberEx(_Out_opt_ PPROCESSOR_NUMBER ProcNumber);
#endif
NTKERNELAPI ULONG NTAPI KeQueryActiveProcessorCount(_Out_opt_ PKAFFINITY ActiveProcessors);
NTKERNELAPI ULONG NTAPI KeQueryActiveProcessorCountEx(_In_ USHORT GroupNumber);
NTKERNELAPI ULONG NTAPI KeQueryMaximumProcessorCount(VOID);
NTKERNELAPI ULONG NTAPI KeQueryMaximumProcessorCountEx(_In_ USHORT GroupNumber);
NTKERNELAPI KAFFINITY NTAPI KeQueryActiveProcessors(VOID);
NTKERNELAPI USHORT NTAPI KeQueryActiveGroupCount(VOID);

/* ==== timers ========================================================================== */
/* IRQL <= DISPATCH_LEVEL. KeInitializeTimer makes a notification timer. */
NTKERNELAPI VOID NTAPI KeInitializeTimer(_Out_ PKTIMER Timer);
NTKERNELAPI VOID NTAPI KeInitializeTimerEx(_Out_ PKTIMER Timer, _In_ TIMER_TYPE Type);
/* IRQL <= DISPATCH_LEVEL. DueTime: negative relative, positive absolute (100 ns units).
 * Period in milliseconds (0: one-shot). Resets the timer to not-signalled. Returns TRUE
 * when the timer was already set (it is then re-set). On expiry the timer is signalled
 * (a notification timer stays signalled until set again; a synchronization timer releases
 * one waiter) and Dpc, if any, is queued. */
NTKERNELAPI BOOLEAN NTAPI KeSetTimer(_Inout_ PKTIMER Timer, _In_ LARGE_INTEGER DueTime, _In_opt_ PKDPC Dpc);
NTKERNELAPI BOOLEAN NTAPI KeSetTimerEx(_Inout_ PKTIMER Timer, _In_ LARGE_INTEGER DueTime, _In_ LONG Period,
                                       _In_opt_ PKDPC Dpc);
/* IRQL <= DISPATCH_LEVEL. TRUE when the timer was set. A DPC the timer already queued is
 * NOT removed: KeFlushQueuedDpcs waits for it, KeRemoveQueueDpc removes it. */
NTKERNELAPI BOOLEAN NTAPI KeCancelTimer(_Inout_ PKTIMER Timer);
NTKERNELAPI BOOLEAN NTAPI KeReadStateTimer(_In_ PKTIMER Timer);

/* ==== time ============================================================================ */
/* Any IRQL. Interrupt time: 100 ns units since the runtime started. System time: 100 ns
 * units since 1601-01-01 UTC (the wall clock at runtime start plus interrupt time). The
 * performance counter runs at 10 MHz. The clock tick (KeQueryTimeIncrement) is 156250. */
#ifdef NDISHOST_TARGET_WINDOWS
/* x64 Windows: read from KUSER_SHARED_DATA (at 0xFFFFF78000000000), which the kernel keeps
 * current: interrupt time at offset 0x8, system time at 0x14, the tick count at 0x320. */
#define NDISHOST_KUSER_SHARED_DATA_ULONG64(Offset) (*(volatile ULONG64 *)(0xFFFFF78000000000ULL + (Offset)))
FORCEINLINE VOID KeQuerySystemTime(_Out_ PLARGE_INTEGER CurrentTime) {
  CurrentTime->QuadPart = (LONGLONG)NDISHOST_KUSER_SHARED_DATA_ULONG64(0x14);
}
#else
NTKERNELAPI VOID NTAPI KeQuerySystemTime(_Out_ PLARGE_INTEGER CurrentTime);
#endif
NTKERNELAPI VOID NTAPI KeQuerySystemTimePrecise(_Out_ PLARGE_INTEGER CurrentTime);
#ifdef NDISHOST_TARGET_WINDOWS
FORCEINLINE ULONGLONG KeQueryInterruptTime(VOID) { return NDISHOST_KUSER_SHARED_DATA_ULONG64(0x8); }
#else
NTKERNELAPI ULONGLONG NTAPI KeQueryInterruptTime(VOID);
#endif
NTKERNELAPI ULONG64 NTAPI KeQueryInterruptTimePrecise(_Out_ PULONG64 QpcTimeStamp);
NTKERNELAPI LARGE_INTEGER NTAPI KeQueryPerformanceCounter(_Out_opt_ PLARGE_INTEGER PerformanceFrequency);
#ifdef NDISHOST_TARGET_WINDOWS
FORCEINLINE VOID KeQueryTickCount(_Out_ PLARGE_INTEGER CurrentCount) {
  CurrentCount->QuadPart = (LONGLONG)NDISHOST_KUSER_SHARED_DATA_ULONG64(0x320);
}
#else
NTKERNELAPI VOID NTAPI KeQueryTickCount(_Out_ PLARGE_INTEGER CurrentCount);
#endif
NTKERNELAPI ULONG NTAPI KeQueryTimeIncrement(VOID);

/* ==== threads ========================================================================= */
typedef struct _CLIENT_ID {
  HANDLE UniqueProcess;
  HANDLE UniqueThread;
} CLIENT_ID, *PCLIENT_ID;

typedef VOID NTAPI KSTART_ROUTINE(_In_ PVOID StartContext);
typedef KSTART_ROUTINE *PKSTART_ROUTINE;

/* Any IRQL. The calling thread's kernel thread object (a dispatcher object, signalled
 * when the thread ends, so a driver can wait for its system thread). */
NTKERNELAPI PKTHREAD NTAPI KeGetCurrentThread(VOID);
NTKERNELAPI PETHREAD NTAPI PsGetCurrentThread(VOID);
NTKERNELAPI HANDLE NTAPI PsGetCurrentThreadId(VOID);
NTKERNELAPI HANDLE NTAPI PsGetCurrentProcessId(VOID);

/* PASSIVE_LEVEL. Starts StartRoutine(StartContext) on a new runtime thread at
 * PASSIVE_LEVEL. *ThreadHandle is the thread object's address (ndishost has no handle
 * table); the thread object stays valid until the runtime ends. ProcessHandle, ObjectAttributes
 * and DesiredAccess are ignored. */
NTKERNELAPI NTSTATUS NTAPI PsCreateSystemThread(_Out_ PHANDLE ThreadHandle, _In_ ULONG DesiredAccess,
                                                _In_opt_ POBJECT_ATTRIBUTES ObjectAttributes,
                                                _In_opt_ HANDLE ProcessHandle, _Out_opt_ PCLIENT_ID ClientId,
                                                _In_ PKSTART_ROUTINE StartRoutine, _In_opt_ PVOID StartContext);
/* PASSIVE_LEVEL, from a thread PsCreateSystemThread created ("ps.terminate-foreign-thread"
 * otherwise). Does not return. */
NTKERNELAPI NTSTATUS NTAPI PsTerminateSystemThread(_In_ NTSTATUS ExitStatus);

/* IRQL <= APC_LEVEL. Critical/guarded regions nest; leaving one not entered is
 * "ke.critical-region-underflow". */
NTKERNELAPI VOID NTAPI KeEnterCriticalRegion(VOID);
NTKERNELAPI VOID NTAPI KeLeaveCriticalRegion(VOID);
NTKERNELAPI VOID NTAPI KeEnterGuardedRegion(VOID);
NTKERNELAPI VOID NTAPI KeLeaveGuardedRegion(VOID);
/* Any IRQL. */
NTKERNELAPI BOOLEAN NTAPI KeAreApcsDisabled(VOID);
NTKERNELAPI BOOLEAN NTAPI KeAreAllApcsDisabled(VOID);

/* ==== bug checks ====================================================================== */
/* Any IRQL. Reports the bug check with the calling driver and stack, and stops the process. */
DECLSPEC_NORETURN NTKERNELAPI VOID NTAPI KeBugCheckEx(_In_ ULONG BugCheckCode, _In_ ULONG_PTR BugCheckParameter1,
                                                      _In_ ULONG_PTR BugCheckParameter2,
                                                      _In_ ULONG_PTR BugCheckParameter3,
                                                      _In_ ULONG_PTR BugCheckParameter4);
DECLSPEC_NORETURN NTKERNELAPI VOID NTAPI KeBugCheck(_In_ ULONG BugCheckCode);

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_KM_KE_H */
