/*
 * ncm_ntb.h -- CDC-NCM 1.0 transfer blocks (NTBs) as the host sees them: the parser for
 * blocks the device sends on bulk IN and the writer that aggregates frames into blocks for
 * bulk OUT, plus the GET_NTB_PARAMETERS reply.
 *
 * An NTB is an NTB header (NTH16 "NCMH" / NTH32 "ncmh") and a chain of datagram pointer
 * tables (NDP16 "NCM0" / NDP32 "ncm0"), each a list of (index, length) pairs ending with a
 * (0, 0) entry (NCM 1.0 section 3). The parser validates the whole block before it reports
 * any datagram and never reads outside the span; it is fuzzed. Any IRQL.
 */
#ifndef USBNCM_NCM_NTB_H
#define USBNCM_NCM_NTB_H

#include <ntdef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NCM_NTH16_SIGNATURE 0x484D434EUL /* "NCMH" */
#define NCM_NTH32_SIGNATURE 0x686D636EUL /* "ncmh" */
#define NCM_NDP16_SIGNATURE 0x304D434EUL /* "NCM0" */
#define NCM_NDP16_CRC_SIGNATURE 0x314D434EUL /* "NCM1" */
#define NCM_NDP32_SIGNATURE 0x306D636EUL /* "ncm0" */
#define NCM_NDP32_CRC_SIGNATURE 0x316D636EUL /* "ncm1" */
#define NCM_NTH16_LENGTH 12
#define NCM_NTH32_LENGTH 16
#define NCM_NDP16_HEADER_LENGTH 8
#define NCM_NDP32_HEADER_LENGTH 16
#define NCM_NTB_PARAMETERS_LENGTH 28
#define NCM_MAX_NDP_CHAIN 64
#define NCM_MIN_DATAGRAM 14 /* an Ethernet header */

/* Class requests (NCM 1.0 table 6-2). */
#define NCM_GET_NTB_PARAMETERS 0x80
#define NCM_GET_NET_ADDRESS 0x81
#define NCM_SET_NET_ADDRESS 0x82
#define NCM_GET_NTB_FORMAT 0x83
#define NCM_SET_NTB_FORMAT 0x84
#define NCM_GET_NTB_INPUT_SIZE 0x85
#define NCM_SET_NTB_INPUT_SIZE 0x86
#define NCM_GET_MAX_DATAGRAM_SIZE 0x87
#define NCM_SET_MAX_DATAGRAM_SIZE 0x88
#define NCM_NTB_FORMAT_16 0x0000
#define NCM_NTB_FORMAT_32 0x0001
/* bmNetworkCapabilities (NCM 1.0 table 5-2). */
#define NCM_CAP_PACKET_FILTER 0x01
#define NCM_CAP_NET_ADDRESS 0x02
#define NCM_CAP_ENCAPSULATED 0x04
#define NCM_CAP_MAX_DATAGRAM_SIZE 0x08
#define NCM_CAP_CRC_MODE 0x10
#define NCM_CAP_NTB_INPUT_SIZE_8 0x20

/* GET_NTB_PARAMETERS reply (NCM 1.0 table 6-3), host order. */
typedef struct _NCM_NTB_PARAMETERS {
    USHORT Length;
    USHORT NtbFormatsSupported; /* D0 NTB16, D1 NTB32 */
    ULONG NtbInMaxSize;
    USHORT NdpInDivisor;
    USHORT NdpInPayloadRemainder;
    USHORT NdpInAlignment;
    ULONG NtbOutMaxSize;
    USHORT NdpOutDivisor;
    USHORT NdpOutPayloadRemainder;
    USHORT NdpOutAlignment;
    USHORT NtbOutMaxDatagrams;
} NCM_NTB_PARAMETERS, *PNCM_NTB_PARAMETERS;

/* FALSE when the reply is short or its values are unusable (no NTB16, sizes too small,
 * alignments that are not powers of two, remainder >= divisor). */
BOOLEAN NcmParseNtbParameters(_In_reads_bytes_(Length) const UCHAR *Data, _In_ ULONG Length,
                              _Out_ PNCM_NTB_PARAMETERS Parameters);

typedef enum _NCM_NTB_ERROR {
    NcmNtbOk = 0,
    NcmNtbTruncatedHeader,
    NcmNtbBadSignature,
    NcmNtbWrongFormat,
    NcmNtbBadHeaderLength,
    NcmNtbBlockLengthTooSmall,
    NcmNtbBlockLengthExceedsTransfer,
    NcmNtbBlockLengthExceedsMax,
    NcmNtbNdpIndexMisaligned,
    NcmNtbNdpOutOfBounds,
    NcmNtbBadNdpSignature,
    NcmNtbCrcNotSupported,
    NcmNtbBadNdpLength,
    NcmNtbMissingTerminator,
    NcmNtbNdpLoop,
    NcmNtbTooManyNdps,
    NcmNtbDatagramOutOfBounds,
    NcmNtbDatagramTooShort,
    NcmNtbDatagramTooLong,
    NcmNtbTooManyDatagrams,
    NcmNtbErrorCount
} NCM_NTB_ERROR;

typedef struct _NCM_NTB_LIMITS {
    BOOLEAN Ntb32;          /* the format selected with SET_NTB_FORMAT */
    ULONG MaxBlockLength;   /* the NTB input size the host set */
    ULONG MaxDatagramSize;  /* largest frame accepted */
    ULONG MaxNdps;          /* longest NDP chain accepted (capped at NCM_MAX_NDP_CHAIN) */
} NCM_NTB_LIMITS, *PNCM_NTB_LIMITS;

typedef struct _NCM_DATAGRAM {
    ULONG Offset; /* from the start of the transfer */
    ULONG Length;
} NCM_DATAGRAM, *PNCM_DATAGRAM;

typedef struct _NCM_NTB_INFO {
    ULONG DatagramCount; /* entries of Datagrams filled (0 on error) */
    USHORT Sequence;
    ULONG BlockLength;
    ULONG NdpCount;
} NCM_NTB_INFO, *PNCM_NTB_INFO;

/* Validates the NTB at the start of the transfer (bytes after the block length are padding)
 * and, when the whole block is valid, lists its datagrams in Datagrams (at most Capacity;
 * more is NcmNtbTooManyDatagrams). */
NCM_NTB_ERROR NcmParseNtb(_In_reads_bytes_(Length) const UCHAR *Transfer, _In_ ULONG Length,
                          _In_ const NCM_NTB_LIMITS *Limits,
                          _Out_writes_(Capacity) PNCM_DATAGRAM Datagrams, _In_ ULONG Capacity,
                          _Out_ PNCM_NTB_INFO Info);

const char *NcmNtbErrorName(NCM_NTB_ERROR Error);

/* ---- building (host to device) ---------------------------------------------------------- */

typedef struct _NCM_NTB_BUILD_PARAMETERS {
    BOOLEAN Ntb32;
    ULONG MaxBlockLength;     /* dwNtbOutMaxSize (<= 65535 for NTB16) */
    USHORT Divisor;           /* wNdpOutDivisor */
    USHORT PayloadRemainder;  /* wNdpOutPayloadRemainder */
    USHORT NdpAlignment;      /* wNdpOutAlignment */
    ULONG MaxDatagrams;       /* wNtbOutMaxDatagrams; 0 = no limit but the table */
} NCM_NTB_BUILD_PARAMETERS, *PNCM_NTB_BUILD_PARAMETERS;

/* Builds one NTB in a caller buffer: NTH at 0, each datagram at an offset congruent to the
 * payload remainder modulo the divisor, one NDP after the last datagram at a multiple of the
 * NDP alignment. The datagram table is caller memory too (no allocation). */
typedef struct _NCM_NTB_WRITER {
    UCHAR *Buffer;
    ULONG Limit;              /* min(buffer length, MaxBlockLength) */
    NCM_NTB_BUILD_PARAMETERS Parameters;
    PNCM_DATAGRAM Table;
    ULONG TableCapacity;
    ULONG Count;
    ULONG End;                /* first byte after the last datagram */
    USHORT Sequence;
} NCM_NTB_WRITER, *PNCM_NTB_WRITER;

VOID NcmNtbWriterBegin(_Out_ PNCM_NTB_WRITER Writer, _Out_writes_bytes_(BufferLength) UCHAR *Buffer,
                       _In_ ULONG BufferLength, _In_ const NCM_NTB_BUILD_PARAMETERS *Parameters,
                       _Out_writes_(TableCapacity) PNCM_DATAGRAM Table, _In_ ULONG TableCapacity,
                       _In_ USHORT Sequence);
/* Where the next datagram of DatagramLength bytes would go, or 0 when it does not fit. */
ULONG NcmNtbWriterReserve(_In_ const NCM_NTB_WRITER *Writer, _In_ ULONG DatagramLength);
/* Records a datagram the caller copied to the offset NcmNtbWriterReserve returned. */
VOID NcmNtbWriterCommit(_Inout_ PNCM_NTB_WRITER Writer, _In_ ULONG Offset, _In_ ULONG DatagramLength);
/* Copies a datagram in; FALSE (nothing written) when it does not fit. */
BOOLEAN NcmNtbWriterAppend(_Inout_ PNCM_NTB_WRITER Writer,
                           _In_reads_bytes_(DatagramLength) const UCHAR *Datagram,
                           _In_ ULONG DatagramLength);
/* Writes the NTH and the NDP; returns the block length (0 when no datagram was added). */
ULONG NcmNtbWriterFinish(_Inout_ PNCM_NTB_WRITER Writer);

#ifdef __cplusplus
}
#endif

#endif /* USBNCM_NCM_NTB_H */
