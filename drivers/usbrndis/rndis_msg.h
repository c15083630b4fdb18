/*
 * rndis_msg.h -- Remote NDIS messages as the host builds and reads them (the WDK's Remote
 * NDIS pages: REMOTE_NDIS_*_MSG and *_CMPLT). Every field is a little-endian ULONG. Offsets
 * in PACKET_MSG, QUERY/SET and their completions and INDICATE_STATUS are counted from byte 8
 * of the message (the field after MessageLength), as every RNDIS host and device counts them.
 *
 * The parsers take whatever the device sent and check each length and offset before use;
 * they are fuzzed. Pure functions over caller memory, any IRQL.
 */
#ifndef USBRNDIS_RNDIS_MSG_H
#define USBRNDIS_RNDIS_MSG_H

#include <ntdef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define REMOTE_NDIS_PACKET_MSG 0x00000001UL
#define REMOTE_NDIS_INITIALIZE_MSG 0x00000002UL
#define REMOTE_NDIS_HALT_MSG 0x00000003UL
#define REMOTE_NDIS_QUERY_MSG 0x00000004UL
#define REMOTE_NDIS_SET_MSG 0x00000005UL
#define REMOTE_NDIS_RESET_MSG 0x00000006UL
#define REMOTE_NDIS_INDICATE_STATUS_MSG 0x00000007UL
#define REMOTE_NDIS_KEEPALIVE_MSG 0x00000008UL
#define REMOTE_NDIS_INITIALIZE_CMPLT 0x80000002UL
#define REMOTE_NDIS_QUERY_CMPLT 0x80000004UL
#define REMOTE_NDIS_SET_CMPLT 0x80000005UL
#define REMOTE_NDIS_RESET_CMPLT 0x80000006UL
#define REMOTE_NDIS_KEEPALIVE_CMPLT 0x80000008UL

#define RNDIS_STATUS_SUCCESS 0x00000000UL
#define RNDIS_STATUS_FAILURE 0xC0000001UL
#define RNDIS_STATUS_NOT_SUPPORTED 0xC00000BBUL
#define RNDIS_STATUS_MEDIA_CONNECT 0x4001000BUL
#define RNDIS_STATUS_MEDIA_DISCONNECT 0x4001000CUL

#define RNDIS_MAJOR_VERSION 1
#define RNDIS_MINOR_VERSION 0
#define RNDIS_DF_CONNECTIONLESS 0x00000001UL
#define RNDIS_MEDIUM_802_3 0x00000000UL

#define RNDIS_PACKET_HEADER_LENGTH 44
#define RNDIS_INITIALIZE_LENGTH 24
#define RNDIS_INITIALIZE_CMPLT_LENGTH 52
#define RNDIS_QUERY_LENGTH 28
#define RNDIS_SET_LENGTH 28
#define RNDIS_QUERY_CMPLT_LENGTH 24
#define RNDIS_SET_CMPLT_LENGTH 16
#define RNDIS_RESET_LENGTH 12
#define RNDIS_RESET_CMPLT_LENGTH 16
#define RNDIS_HALT_LENGTH 12
#define RNDIS_KEEPALIVE_LENGTH 12
#define RNDIS_KEEPALIVE_CMPLT_LENGTH 16
#define RNDIS_INDICATE_STATUS_LENGTH 20
#define RNDIS_MIN_FRAME 14

/* ---- control messages the host sends (each returns its length, 0 when it does not fit) -- */
ULONG RndisBuildInitialize(_Out_writes_bytes_(Length) UCHAR *Buffer, _In_ ULONG Length,
                           _In_ ULONG RequestId, _In_ ULONG MaxTransferSize);
ULONG RndisBuildQuery(_Out_writes_bytes_(Length) UCHAR *Buffer, _In_ ULONG Length,
                      _In_ ULONG RequestId, _In_ ULONG Oid,
                      _In_reads_bytes_opt_(InformationLength) const VOID *Information,
                      _In_ ULONG InformationLength);
ULONG RndisBuildSet(_Out_writes_bytes_(Length) UCHAR *Buffer, _In_ ULONG Length,
                    _In_ ULONG RequestId, _In_ ULONG Oid,
                    _In_reads_bytes_opt_(InformationLength) const VOID *Information,
                    _In_ ULONG InformationLength);
ULONG RndisBuildReset(_Out_writes_bytes_(Length) UCHAR *Buffer, _In_ ULONG Length);
ULONG RndisBuildHalt(_Out_writes_bytes_(Length) UCHAR *Buffer, _In_ ULONG Length,
                     _In_ ULONG RequestId);
ULONG RndisBuildKeepalive(_Out_writes_bytes_(Length) UCHAR *Buffer, _In_ ULONG Length,
                          _In_ ULONG RequestId);
ULONG RndisBuildKeepaliveComplete(_Out_writes_bytes_(Length) UCHAR *Buffer, _In_ ULONG Length,
                                  _In_ ULONG RequestId, _In_ ULONG Status);

/* ---- control messages the device sends ---------------------------------------------------- */
typedef enum _RNDIS_CONTROL_ERROR {
    RndisControlOk = 0,
    RndisControlTooShort,         /* fewer bytes than the type's fixed part */
    RndisControlBadMessageLength, /* MessageLength past the bytes received or below the fixed part */
    RndisControlBadBuffer,        /* information/status buffer outside the message */
    RndisControlUnknownType,
    RndisControlErrorCount
} RNDIS_CONTROL_ERROR;

typedef struct _RNDIS_RESPONSE {
    ULONG MessageType;
    ULONG MessageLength;
    ULONG RequestId;              /* 0 for RESET_CMPLT and INDICATE_STATUS */
    ULONG Status;
    ULONG BufferOffset;           /* QUERY_CMPLT information / INDICATE_STATUS buffer, */
    ULONG BufferLength;           /* from the start of the message (0, 0 when none) */
    /* INITIALIZE_CMPLT */
    ULONG MajorVersion;
    ULONG MinorVersion;
    ULONG DeviceFlags;
    ULONG Medium;
    ULONG MaxPacketsPerTransfer;
    ULONG MaxTransferSize;
    ULONG PacketAlignmentFactor;
    /* RESET_CMPLT */
    ULONG AddressingReset;
} RNDIS_RESPONSE, *PRNDIS_RESPONSE;

RNDIS_CONTROL_ERROR RndisParseResponse(_In_reads_bytes_(Length) const UCHAR *Message,
                                       _In_ ULONG Length, _Out_ PRNDIS_RESPONSE Response);

/* ---- data messages ------------------------------------------------------------------------- */
typedef enum _RNDIS_PACKET_ERROR {
    RndisPacketOk = 0,
    RndisPacketEmpty,            /* no message at all (only zero padding) */
    RndisPacketTransferTooLong,  /* more than the negotiated transfer size */
    RndisPacketTruncatedHeader,
    RndisPacketBadMessageType,
    RndisPacketBadMessageLength,
    RndisPacketBadDataOffset,    /* data starting inside the header */
    RndisPacketDataOutOfBounds,
    RndisPacketDataTooShort,
    RndisPacketDataTooLong,
    RndisPacketTooManyPackets,
    RndisPacketErrorCount
} RNDIS_PACKET_ERROR;

typedef struct _RNDIS_PACKET_LIMITS {
    ULONG MaxTransferSize; /* what the host told the device in INITIALIZE_MSG */
    ULONG MaxFrameSize;    /* largest Ethernet frame accepted */
} RNDIS_PACKET_LIMITS, *PRNDIS_PACKET_LIMITS;

typedef struct _RNDIS_FRAME {
    ULONG Offset; /* of the Ethernet frame, from the start of the transfer */
    ULONG Length;
} RNDIS_FRAME, *PRNDIS_FRAME;

typedef struct _RNDIS_PACKET_INFO {
    ULONG FrameCount;  /* entries of Frames filled (0 on error) */
    ULONG ErrorOffset; /* transfer offset of the offending message */
} RNDIS_PACKET_INFO, *PRNDIS_PACKET_INFO;

/* Validates a bulk IN transfer of concatenated PACKET_MSGs (each next message starts
 * MessageLength bytes after the previous one; zero bytes after the last are padding) and,
 * when every message is valid, lists the frames. */
RNDIS_PACKET_ERROR RndisParsePacketTransfer(_In_reads_bytes_(Length) const UCHAR *Transfer,
                                            _In_ ULONG Length,
                                            _In_ const RNDIS_PACKET_LIMITS *Limits,
                                            _Out_writes_(Capacity) PRNDIS_FRAME Frames,
                                            _In_ ULONG Capacity, _Out_ PRNDIS_PACKET_INFO Info);

const char *RndisPacketErrorName(RNDIS_PACKET_ERROR Error);

/* Builds a multi-packet transfer in caller memory: every message but the last is padded so
 * the next starts at a multiple of Alignment, and its MessageLength includes that padding. */
typedef struct _RNDIS_PACKET_WRITER {
    UCHAR *Buffer;
    ULONG Limit;
    ULONG MaxPackets;  /* 0 = no limit */
    ULONG Alignment;
    ULONG End;
    ULONG LastStart;
    ULONG Count;
} RNDIS_PACKET_WRITER, *PRNDIS_PACKET_WRITER;

VOID RndisPacketWriterBegin(_Out_ PRNDIS_PACKET_WRITER Writer,
                            _Out_writes_bytes_(BufferLength) UCHAR *Buffer, _In_ ULONG BufferLength,
                            _In_ ULONG MaxTransferSize, _In_ ULONG MaxPackets, _In_ ULONG Alignment);
/* The offset at which the frame's bytes go, or 0 when a frame of that length does not fit. */
ULONG RndisPacketWriterReserve(_In_ const RNDIS_PACKET_WRITER *Writer, _In_ ULONG FrameLength);
/* Writes the PACKET_MSG header for a frame the caller copied to the reserved offset. */
VOID RndisPacketWriterCommit(_Inout_ PRNDIS_PACKET_WRITER Writer, _In_ ULONG FrameOffset,
                             _In_ ULONG FrameLength);
BOOLEAN RndisPacketWriterAppend(_Inout_ PRNDIS_PACKET_WRITER Writer,
                                _In_reads_bytes_(FrameLength) const UCHAR *Frame,
                                _In_ ULONG FrameLength);
/* The transfer length (0 when empty). */
ULONG RndisPacketWriterFinish(_Inout_ PRNDIS_PACKET_WRITER Writer);

#ifdef __cplusplus
}
#endif

#endif /* USBRNDIS_RNDIS_MSG_H */
