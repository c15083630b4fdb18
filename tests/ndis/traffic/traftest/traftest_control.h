/*
 * traftest_control.h -- how the traffic tests steer and observe the traftest miniport.
 *
 * The driver exports one TRAFTEST_CONTROL (TrafTestControl) and a few functions that make it
 * act now (indicate a receive, complete what it holds, misbehave on purpose). A test maps
 * the driver image itself first (dlopen, so the PnP manager's load finds the same image),
 * sets the behaviour members, plugs a device and reads the observation members. Shared by
 * the driver (C) and the tests (C++).
 */
#ifndef TRAFTEST_CONTROL_H
#define TRAFTEST_CONTROL_H

#define TRAFTEST_HARDWARE_ID "NDISTEST\\TRAFTEST"
#define TRAFTEST_MAX_EVENTS 256
#define TRAFTEST_MAX_FRAME 1514
#define TRAFTEST_RX_SLOTS 8
#define TRAFTEST_MAX_MULTICAST 8

typedef enum _TRAFTEST_SEND_MODE {
  TrafTestSendComplete = 0, /* complete every NBL inside MiniportSendNetBufferLists */
  TrafTestSendLoopback,     /* complete it and indicate the same frame as a receive */
  TrafTestSendHold,         /* keep it until cancelled, reset or TrafTestCompleteHeldSends */
  TrafTestSendBlock         /* complete it, then stay inside MiniportSendNetBufferLists (busy,
                               any IRQL; SendBlocked = 1) until the test sets SendRelease */
} TRAFTEST_SEND_MODE;

typedef enum _TRAFTEST_OID_MODE {
  TrafTestOidSync = 0, /* answer inside MiniportOidRequest */
  TrafTestOidPend,     /* return PENDING; a 1 ms timer completes it */
  TrafTestOidHold      /* return PENDING; complete only when cancelled, reset or told */
} TRAFTEST_OID_MODE;

/* Event letters in Events[], in call order:
 *   X MiniportResetEx   x reset completed by NdisMResetComplete   C MiniportCheckForHangEx
 *   F packet filter set  M multicast list set  L lookahead set  Q/W OID_PNP_QUERY/SET_POWER
 *   c MiniportCancelOidRequest  k MiniportCancelSend
 *   the tests' binding: S NDIS_STATUS_RESET_START  E NDIS_STATUS_RESET_END */
typedef struct _TRAFTEST_CONTROL {
  /* ---- behaviour ---- */
  BOOLEAN RegisterCheckForHang; /* read by DriverEntry */
  BOOLEAN RegisterReset;        /* read by DriverEntry */
  UINT CheckForHangTimeInSeconds;
  BOOLEAN CheckForHangResult;
  volatile LONG SendMode; /* TRAFTEST_SEND_MODE */
  volatile LONG OidMode;  /* TRAFTEST_OID_MODE */
  BOOLEAN PendReset;      /* MiniportResetEx returns PENDING; a 1 ms timer completes it */
  BOOLEAN NeverCompleteReset; /* MiniportResetEx returns PENDING and does nothing else */
  BOOLEAN AddressingReset;
  volatile LONG SendRelease; /* TrafTestSendBlock: non-zero lets the blocked send handler return */

  /* ---- observations ---- */
  NDIS_HANDLE AdapterHandle;
  volatile LONG Adapters;
  volatile LONG SendCalls;
  volatile LONG SentNbls;
  volatile LONG HeldSends;
  volatile LONG SendBlocked; /* 1 while a TrafTestSendBlock handler waits for SendRelease */
  ULONG LastSendFlags;
  NDIS_PORT_NUMBER LastSendPort;
  UCHAR LastSentFrame[TRAFTEST_MAX_FRAME];
  ULONG LastSentLength;
  volatile LONG Receives; /* NBLs indicated */
  volatile LONG Returns;  /* NBLs back in MiniportReturnNetBufferLists */
  volatile LONG OidCalls;
  volatile LONG CancelOidCalls;
  volatile LONG CancelSendCalls;
  volatile LONG ResetCalls;
  volatile LONG CheckForHangCalls;
  ULONG PacketFilter;
  volatile LONG PacketFilterSets;
  ULONG Lookahead;
  UCHAR Multicast[6 * TRAFTEST_MAX_MULTICAST];
  ULONG MulticastLength;
  volatile LONG MulticastSets;
  NDIS_DEVICE_POWER_STATE PowerState;

  volatile LONG EventCount;
  char Events[TRAFTEST_MAX_EVENTS];
  /* ---- behaviour, added last ---- */
  BOOLEAN CompleteHeldAtHalt; /* MiniportHaltEx completes what it still holds (too late: a bug) */
  volatile LONG LateCompletions; /* NBLs it completed that way */
  BOOLEAN SetOffloadAttributes; /* MiniportInitializeEx sets offload attributes (TrafTestFillOffload) */
  ULONG OffloadLsoMaxSize;      /* their LsoV2 IPv4 MaxOffLoadSize */
} TRAFTEST_CONTROL, *PTRAFTEST_CONTROL;

#ifdef __cplusplus
extern "C" {
#endif
/* Appends one event letter (any IRQL). */
void TrafTestRecordEvent(char Event);
/* Indicates Count NBLs carrying Frame (Count <= TRAFTEST_RX_SLOTS) with ReceiveFlags, claiming
 * ClaimedCount of them; at DISPATCH_LEVEL when AtDispatch. FALSE when no receive slot is free. */
BOOLEAN TrafTestIndicate(const UCHAR *Frame, ULONG Length, ULONG Count, ULONG ClaimedCount, ULONG ReceiveFlags,
                         BOOLEAN AtDispatch);
/* Completes every held send with Status; returns how many. */
LONG TrafTestCompleteHeldSends(NDIS_STATUS Status);
/* Completes the held or pended OID request with Status; FALSE when none. */
BOOLEAN TrafTestCompletePendingOid(NDIS_STATUS Status);
/* Misbehaviour on purpose: NdisMSendNetBufferListsComplete / NdisMOidRequestComplete with
 * whatever the test passes; NdisMIndicateStatusEx of a link state; NdisMResetComplete. */
void TrafTestCompleteNbl(PNET_BUFFER_LIST NetBufferList);
void TrafTestCompleteOid(PNDIS_OID_REQUEST Request, NDIS_STATUS Status);
void TrafTestIndicateLinkState(NDIS_MEDIA_CONNECT_STATE State, ULONG64 Speed, BOOLEAN BadHeader);
void TrafTestResetComplete(void);
/* Fills the first NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3 bytes of Offload (revision 3): IPv4
 * IP/TCP transmit checksum and LsoV2 IPv4 with LsoMaxSize; Hardware adds UDP and receive
 * checksums. What the offload attributes carry (Hardware: HardwareOffloadCapabilities). */
void TrafTestFillOffload(void *Offload, ULONG LsoMaxSize, BOOLEAN Hardware);
/* NdisMIndicateStatusEx(NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG) of TrafTestFillOffload(LsoMaxSize,
 * FALSE); StatusBufferSize is BufferSize, or the revision 3 size when 0. */
void TrafTestIndicateOffloadCurrentConfig(ULONG LsoMaxSize, ULONG BufferSize);
/* The last NDIS_OID_REQUEST MiniportOidRequest got. */
PNDIS_OID_REQUEST TrafTestLastOid(void);
#ifdef __cplusplus
}
#endif

#endif /* TRAFTEST_CONTROL_H */
