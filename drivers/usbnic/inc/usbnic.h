/*
 * usbnic.h -- the mechanics every USB NIC miniport shares, written once the way Linux's
 * usbnet is: the NDIS 6.30 miniport handlers with a WDM lower edge (registration, adapter
 * lifecycle, OIDs), the URB pump (preallocated IRPs reused with IoReuseIrp, a configurable
 * number of bulk-IN transfers kept pending, bulk-OUT transfers built from the NBL queue,
 * the interrupt-IN notification transfer) and the pause/restart/reset/removal bookkeeping.
 *
 * A minidriver (CDC-NCM/ECM, RNDIS) supplies only its framing and control protocol through
 * USBNIC_MINIDRIVER. Every callback states its IRQL.
 *
 * Drivers include this after <ndis.h> with NDIS_MINIPORT_DRIVER, NDIS630_MINIPORT and
 * NDIS_WDM defined.
 */
#ifndef USBNIC_H
#define USBNIC_H

#include <ndis.h>
#include <usb.h>
#include <usbdlib.h>
#include <usbioctl.h>

#include "cdc_desc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 'UNic' as a little-endian pool tag. */
#define USBNIC_POOL_TAG ((ULONG)0x63694E55)

/* Keyword TransmitAggregation: when a transfer that would not be full waits for more
 * frames. ADAPTIVE: only behind a transfer in flight (a frame meeting an idle bulk-OUT pipe
 * goes at once; the flush timer bounds the wait). TIMER: always, up to TransmitFlushDelay. */
#define USBNIC_TX_AGGREGATE_ADAPTIVE 0
#define USBNIC_TX_AGGREGATE_TIMER 1

/* What a minidriver returns from TxReserve when the frame does not fit. */
#define USBNIC_NO_ROOM 0xFFFFFFFFUL

#define USBNIC_ETH_HEADER 14
#define USBNIC_MAX_MULTICAST 32
#define USBNIC_CONTROL_TIMEOUT_MS 5000

typedef struct _USBNIC_ADAPTER USBNIC_ADAPTER, *PUSBNIC_ADAPTER;

typedef struct _USBNIC_FRAME {
    ULONG Offset;
    ULONG Length;
} USBNIC_FRAME, *PUSBNIC_FRAME;

/* One bulk-OUT transfer being built or in flight. */
typedef struct _USBNIC_TX_CONTEXT {
    struct _USBNIC_TX_CONTEXT *Next;   /* free list */
    PUSBNIC_ADAPTER Adapter;
    PIRP Irp;
    PURB Urb;
    PUCHAR Buffer;
    ULONG BufferSize;
    ULONG Length;                      /* bytes of the transfer */
    BOOLEAN ZlpPending;                /* a zero-length packet must follow */
    ULONG Count;                       /* frames (NET_BUFFERs) in the transfer */
    PNET_BUFFER_LIST *Owners;          /* the NBL of each frame, MaxFramesPerTransfer entries */
    PVOID Scratch;                     /* the minidriver's per-transfer builder state */
    PMDL PartialMdl;                   /* TxUnframed: describes the frame in the sender's MDL */
    BOOLEAN Direct;                    /* this transfer's data is PartialMdl, not Buffer */
} USBNIC_TX_CONTEXT, *PUSBNIC_TX_CONTEXT;

typedef struct _USBNIC_MINIDRIVER {
    const char *Name;
    ULONG ContextSize;          /* bytes of minidriver state at Adapter->MiniContext */
    ULONG TxScratchSize;        /* bytes of per-transfer builder state (USBNIC_TX_CONTEXT.Scratch) */

    /* PASSIVE_LEVEL. The function was found and its configuration selected (data interface
     * still at its idle alternate setting). Negotiate with the device and fill in
     * MacAddress, MaxFrameSize, RxTransferSize, TxTransferSize, TxDeviceCapacity,
     * MaxFramesPerTransfer, MaxRxFramesPerTransfer, LinkSpeed, MediaConnected, and
     * TxUnframed when a transfer carries one frame and no framing (TxCommit then writes
     * nothing into Tx->Buffer). */
    NDIS_STATUS (*Bind)(_In_ PUSBNIC_ADAPTER Adapter);
    /* PASSIVE_LEVEL. The adapter is halting; the device may already be gone. Optional. */
    VOID (*Unbind)(_In_ PUSBNIC_ADAPTER Adapter);
    /* DISPATCH_LEVEL. Validates one bulk-IN transfer and lists its frames; returns how
     * many (0 when the transfer is rejected: the minidriver counts why). */
    ULONG (*RxParse)(_In_ PUSBNIC_ADAPTER Adapter, _In_reads_bytes_(Length) const UCHAR *Transfer,
                     _In_ ULONG Length, _Out_writes_(Capacity) PUSBNIC_FRAME Frames,
                     _In_ ULONG Capacity);
    /* DISPATCH_LEVEL, serialized per transfer: start a transfer in Tx->Buffer, place a
     * frame (return its offset or USBNIC_NO_ROOM), record it, and finish (the length). */
    VOID (*TxBegin)(_In_ PUSBNIC_ADAPTER Adapter, _Inout_ PUSBNIC_TX_CONTEXT Tx);
    ULONG (*TxReserve)(_In_ PUSBNIC_ADAPTER Adapter, _In_ PUSBNIC_TX_CONTEXT Tx, _In_ ULONG FrameLength);
    VOID (*TxCommit)(_In_ PUSBNIC_ADAPTER Adapter, _Inout_ PUSBNIC_TX_CONTEXT Tx, _In_ ULONG Offset,
                     _In_ ULONG FrameLength);
    ULONG (*TxFinish)(_In_ PUSBNIC_ADAPTER Adapter, _Inout_ PUSBNIC_TX_CONTEXT Tx);
    /* DISPATCH_LEVEL. Bytes from the interrupt-IN endpoint. */
    VOID (*Notification)(_In_ PUSBNIC_ADAPTER Adapter, _In_reads_bytes_(Length) const UCHAR *Data,
                         _In_ ULONG Length);
    /* PASSIVE_LEVEL. Program the device's receive filter (NDIS_PACKET_TYPE_* bits) and
     * multicast list (Count 6-byte addresses). */
    NDIS_STATUS (*SetPacketFilter)(_In_ PUSBNIC_ADAPTER Adapter, _In_ ULONG PacketFilter);
    NDIS_STATUS (*SetMulticastList)(_In_ PUSBNIC_ADAPTER Adapter, _In_reads_bytes_(Count * 6) const UCHAR *List,
                                    _In_ ULONG Count);
    /* PASSIVE_LEVEL. Reset the function after the pipes were reset. Optional. */
    NDIS_STATUS (*Reset)(_In_ PUSBNIC_ADAPTER Adapter);
    /* PASSIVE_LEVEL. Answers an OID the framework does not (RNDIS forwards it to the
     * device); NDIS_STATUS_NOT_SUPPORTED otherwise. Optional. */
    NDIS_STATUS (*DeviceOid)(_In_ PUSBNIC_ADAPTER Adapter, _Inout_ PNDIS_OID_REQUEST Request);
} USBNIC_MINIDRIVER, *PUSBNIC_MINIDRIVER;

typedef enum _USBNIC_STATE {
    UsbNicStateInitializing = 0,
    UsbNicStatePaused,
    UsbNicStateRestarting,
    UsbNicStateRunning,
    UsbNicStatePausing,
    UsbNicStateHalted
} USBNIC_STATE;

typedef struct _USBNIC_RX_CONTEXT {
    PUSBNIC_ADAPTER Adapter;
    PIRP Irp;
    PURB Urb;
    PUCHAR Buffer;
    PUSBNIC_FRAME Frames;
    BOOLEAN Posted;
} USBNIC_RX_CONTEXT, *PUSBNIC_RX_CONTEXT;

/* One receive buffer with its NBL, indicated up and recycled on return. */
typedef struct _USBNIC_RX_SLOT {
    struct _USBNIC_RX_SLOT *Next;
    PNET_BUFFER_LIST Nbl;
    PMDL Mdl;
    PUCHAR Data;
} USBNIC_RX_SLOT, *PUSBNIC_RX_SLOT;

typedef struct _USBNIC_COUNTERS {
    ULONG64 TxFrames, TxBytes, TxErrors, TxTransfers;
    ULONG64 RxFrames, RxBytes, RxErrors, RxNoBuffer, RxTransfers, RxMalformed;
    ULONG64 TxDirectedFrames, TxMulticastFrames, TxBroadcastFrames;
    ULONG64 RxDirectedFrames, RxMulticastFrames, RxBroadcastFrames;
    ULONG64 Notifications, PipeResets;
    ULONG64 TxZeroCopyFrames;          /* frames sent from the sender's MDL without a copy */
} USBNIC_COUNTERS;

struct _USBNIC_ADAPTER {
    NDIS_HANDLE MiniportHandle;
    const USBNIC_MINIDRIVER *Mini;
    PVOID MiniContext;

    /* The device stack (NdisMGetDeviceProperty). */
    PDEVICE_OBJECT Pdo;
    PDEVICE_OBJECT NextDevice;
    CCHAR IrpStackSize;

    /* Descriptors and the selected configuration. */
    USB_DEVICE_DESCRIPTOR DeviceDescriptor;
    PUCHAR ConfigDescriptor;
    ULONG ConfigLength;
    CDC_FUNCTION_INFO Cdc;
    USBD_CONFIGURATION_HANDLE ConfigurationHandle;
    USBD_PIPE_HANDLE BulkInPipe, BulkOutPipe, InterruptPipe;

    /* Link and addressing (the minidriver's Bind fills these in). */
    UCHAR PermanentAddress[6];
    UCHAR CurrentAddress[6];
    ULONG MaxFrameSize;            /* Ethernet frame without FCS: 1514 or more */
    ULONG JumboPacketLimit;        /* keyword *JumboPacket (frame incl. header); 0 = not set */
    ULONG64 LinkSpeed;             /* bits per second */
    BOOLEAN MediaConnected;
    ULONG PacketFilter;
    UCHAR MulticastList[USBNIC_MAX_MULTICAST * 6];
    ULONG MulticastCount;
    ULONG MaxMulticast;

    /* Transfer geometry (Bind fills in; the framework allocates from it). */
    ULONG RxTransferSize;          /* bulk-IN buffer */
    ULONG TxTransferSize;          /* bulk-OUT buffer */
    ULONG TxDeviceCapacity;        /* a transfer this long ends without a ZLP */
    ULONG MaxFramesPerTransfer;    /* frames per bulk-OUT transfer */
    ULONG MaxRxFramesPerTransfer;  /* frames one bulk-IN transfer may carry */
    BOOLEAN TxUnframed;            /* a bulk-OUT transfer is one frame and nothing else (ECM):
                                    * the framework may send it from the sender's MDL */
    ULONG RxUrbCount;              /* keyword ReceiveUrbs */
    ULONG TxUrbCount;              /* keyword TransmitUrbs */
    ULONG RxSlotCount;             /* keyword ReceiveBuffers */
    BOOLEAN TxZeroCopy;            /* keyword TransmitZeroCopy (TxUnframed only; 0 copies every
                                    * frame, for measuring) */

    /* State. */
    NDIS_SPIN_LOCK Lock;
    USBNIC_STATE State;
    BOOLEAN SurpriseRemoved;
    BOOLEAN Halting;
    BOOLEAN ResetInProgress;
    BOOLEAN RecoveryQueued;
    BOOLEAN PausePending;          /* MiniportPause returned NDIS_STATUS_PENDING */
    BOOLEAN InterruptPosted;
    LONG RxPosted;                 /* bulk-IN IRPs with the bus driver */
    LONG RxIndicated;              /* NBLs up the stack */
    LONG TxInFlight;               /* bulk-OUT IRPs with the bus driver */
    LONG CompletionsRunning;       /* completion routines still using the adapter (halt waits) */
    KEVENT InterruptIdle;          /* signalled while no interrupt IRP is pending */
    KEVENT QuiescedEvent;          /* signalled when nothing is outstanding (halt) */

    /* Receive. */
    PUSBNIC_RX_CONTEXT Rx;         /* RxUrbCount entries */
    PUSBNIC_RX_SLOT RxSlots;       /* RxSlotCount entries */
    PUSBNIC_RX_SLOT RxFree;
    NDIS_HANDLE RxNblPool;

    /* Transmit. */
    PUSBNIC_TX_CONTEXT Tx;         /* TxUrbCount entries */
    PUSBNIC_TX_CONTEXT TxFree;
    PNET_BUFFER_LIST TxQueueHead, TxQueueTail;
    PNET_BUFFER TxNextNb;          /* next NET_BUFFER of TxQueueHead to send */
    BOOLEAN TxPumping, TxPumpAgain;
    BOOLEAN TxZlpOwed;             /* a sent transfer's ZLP must reach the pipe before the next transfer */
    ULONG TxQueuedFrames;          /* NET_BUFFERs queued, not yet in a transfer */
    ULONG TxQueuedBytes;

    /* Send aggregation (minidrivers with several frames per transfer): while a transfer is
     * in flight (always, with USBNIC_TX_AGGREGATE_TIMER, as cdc_ncm does), a transfer that
     * would not be full waits up to TxFlushDelayUs for more frames; the in-flight
     * transfer's completion or the flush timer then sends what is queued. */
    NDIS_HANDLE TxFlushTimer;
    ULONG TxFlushDelayUs;          /* keyword TransmitFlushDelay (microseconds; 0: no waiting) */
    BOOLEAN TxFlushArmed;          /* the timer is set (counted in CompletionsRunning until it ran) */
    BOOLEAN TxFlushDue;            /* the timer ran: send everything queued now */
    ULONG TxAggregation;           /* keyword TransmitAggregation: USBNIC_TX_AGGREGATE_* */

    /* Interrupt IN. */
    PIRP InterruptIrp;
    PURB InterruptUrb;
    UCHAR InterruptBuffer[64];

    /* Control (default pipe): one preallocated IRP, serialized. */
    KEVENT ControlLock;            /* synchronization event used as a mutex */
    KEVENT ControlDone;
    PIRP ControlIrp;
    PURB ControlUrb;

    /* Deferred PASSIVE_LEVEL work: OIDs that talk to the device, reset, pipe recovery. */
    NDIS_HANDLE OidWorkItem;
    NDIS_HANDLE ResetWorkItem;
    NDIS_HANDLE RecoveryWorkItem;
    PNDIS_OID_REQUEST PendingOid;
    NDIS_DEVICE_POWER_STATE PowerState;

    USBNIC_COUNTERS Counters;
};

/* ---- what a minidriver calls --------------------------------------------------------- */

/* DriverEntry: registers the miniport with NDIS_WDM_DRIVER and the shared handlers. */
NDIS_STATUS UsbNicRegisterMiniport(_In_ PDRIVER_OBJECT DriverObject, _In_ PUNICODE_STRING RegistryPath,
                                   _In_ const USBNIC_MINIDRIVER *Minidriver);

/* PASSIVE_LEVEL. A class/vendor request on the default pipe to the control interface
 * (Function is URB_FUNCTION_CLASS_INTERFACE or URB_FUNCTION_VENDOR_INTERFACE). In is the
 * direction; *Transferred receives the bytes moved (may be NULL). */
NTSTATUS UsbNicClassRequest(_In_ PUSBNIC_ADAPTER Adapter, _In_ BOOLEAN In, _In_ UCHAR Request,
                            _In_ USHORT Value, _In_ USHORT Index,
                            _Inout_updates_bytes_opt_(Length) PVOID Buffer, _In_ ULONG Length,
                            _Out_opt_ PULONG Transferred);
/* PASSIVE_LEVEL. GET_DESCRIPTOR from the device (string descriptors with language 0x0409). */
NTSTATUS UsbNicGetDescriptor(_In_ PUSBNIC_ADAPTER Adapter, _In_ UCHAR Type, _In_ UCHAR Index,
                             _Out_writes_bytes_(Length) PVOID Buffer, _In_ ULONG Length,
                             _Out_opt_ PULONG Transferred);
/* <= DISPATCH_LEVEL. NDIS_STATUS_LINK_STATE with the adapter's current link. */
VOID UsbNicIndicateLinkState(_In_ PUSBNIC_ADAPTER Adapter, _In_ BOOLEAN Connected, _In_ ULONG64 Speed);
/* PASSIVE_LEVEL. The adapter's integer keyword Name (the INF's ndi\params) when it is set
 * and within [Minimum, Maximum]; otherwise Default. */
ULONG UsbNicReadIntegerKeyword(_In_ PUSBNIC_ADAPTER Adapter, _In_ PCWSTR Name, _In_ ULONG Minimum,
                               _In_ ULONG Maximum, _In_ ULONG Default);

#ifdef __cplusplus
}
#endif

#endif /* USBNIC_H */
