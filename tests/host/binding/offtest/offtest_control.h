/* What the offload test miniport (offtest.c) and the tests that load it share (include after
 * <ndis.h>). The test maps the same image the PnP manager loads (dlopen finds it), sets
 * OffTestControl before the adapters start and calls the exported helpers. */
#ifndef OFFTEST_CONTROL_H
#define OFFTEST_CONTROL_H

#ifdef __cplusplus
extern "C" {
#endif

#define OFFTEST_HARDWARE_ID "NDISTEST\\OFFTEST"
#define OFFTEST_MAX_ADAPTERS 2
#define OFFTEST_RECORDS 512 /* send records kept (the first ones) */
#define OFFTEST_HEAD_BYTES 96

/* One NBL as MiniportSendNetBufferLists got it. */
typedef struct _OFFTEST_SEND_RECORD {
  ULONG Adapter;        /* 0 or 1: the order the adapters were initialized in */
  ULONG Length;         /* the first NET_BUFFER's DataLength */
  PVOID ChecksumInfo;   /* NET_BUFFER_LIST_INFO(TcpIpChecksumNetBufferListInfo) */
  PVOID LargeSendInfo;  /* NET_BUFFER_LIST_INFO(TcpLargeSendNetBufferListInfo) */
  UCHAR Head[OFFTEST_HEAD_BYTES];
} OFFTEST_SEND_RECORD;

typedef struct _OFFTEST_CONTROL {
  /* Set by the test before the adapters initialize. */
  BOOLEAN AdvertiseOffloads;        /* checksum (IPv4/IPv6, TCP/UDP) + LSOv2 offload attributes */
  BOOLEAN IndicateConfigAtRestart;  /* NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG from MiniportRestart */
  BOOLEAN ReceiveChecksumSucceeded; /* frames from the peer adapter carry checksum-succeeded info */
  /* Counted by the driver (interlocked). */
  LONG Adapters;
  LONG Sends;           /* NBLs sent */
  LONG Forwarded;       /* frames indicated on the peer adapter */
  LONG SoftwareDrops;   /* frames the "hardware" could not handle (not: no running peer) */
  LONG Receives, Returns;
} OFFTEST_CONTROL;

/* Copies up to Max send records (under the driver's lock); returns how many there are. */
ULONG OffTestCopyRecords(OFFTEST_SEND_RECORD *Records, ULONG Max);
/* Forgets the records. */
VOID OffTestClearRecords(VOID);
/* Indicates one frame on adapter Adapter with NET_BUFFER_LIST_INFO(TcpIpChecksumNetBufferListInfo)
 * = ChecksumInfo, at DISPATCH_LEVEL. FALSE when there is no such adapter or no free slot. */
BOOLEAN OffTestIndicate(ULONG Adapter, const UCHAR *Frame, ULONG Length, PVOID ChecksumInfo);

#ifdef __cplusplus
}
#endif

#endif
