/*
 * leaky.c -- a test driver that leaks on purpose: pool with tag 'Leak' that it never
 * frees, and a periodic timer it never cancels. Its leak report must name both.
 */
#include <ntddk.h>

#define LEAKY_POOL_TAG 'kaeL' /* "Leak" */
#define LEAKY_POOL_BYTES 100

DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD LeakyUnload;
static KDEFERRED_ROUTINE LeakyTimerDpc;

static KTIMER LeakyTimer;
static KDPC LeakyDpc;
static volatile LONG LeakyTicks;

_Use_decl_annotations_
static VOID LeakyTimerDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    /* IRQL: DISPATCH_LEVEL */
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(DeferredContext);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);
    InterlockedIncrement(&LeakyTicks);
}

_Use_decl_annotations_
VOID LeakyUnload(PDRIVER_OBJECT DriverObject)
{
    /* IRQL: PASSIVE_LEVEL. Deliberately forgets the pool block and the timer. */
    UNREFERENCED_PARAMETER(DriverObject);
}

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    /* IRQL: PASSIVE_LEVEL */
    LARGE_INTEGER dueTime;
    PVOID block;

    UNREFERENCED_PARAMETER(RegistryPath);
    block = ExAllocatePool2(POOL_FLAG_NON_PAGED, LEAKY_POOL_BYTES, LEAKY_POOL_TAG);
    if (block == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }

    KeInitializeTimerEx(&LeakyTimer, NotificationTimer);
    KeInitializeDpc(&LeakyDpc, LeakyTimerDpc, NULL);
    dueTime.QuadPart = -10 * 1000 * 1000; /* 1 s */
    KeSetTimerEx(&LeakyTimer, dueTime, 1000, &LeakyDpc);

    DriverObject->DriverUnload = LeakyUnload;
    return STATUS_SUCCESS;
}
