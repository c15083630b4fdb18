/*
 * ncm_ntb.c -- CDC-NCM transfer block parsing and building (NCM 1.0 section 3). Pure
 * functions over caller memory, any IRQL; the parser is fuzzed, so every index and length
 * from the device is checked against the block before it is used.
 */
#include "ncm_ntb.h"
#include "usbnic_wire.h"

/* Smallest block length the writer and the parameter check accept: an NTH32, an NDP32 with
 * one entry and its terminator, and a minimal frame. */
#define NCM_MIN_USEFUL_BLOCK 64

BOOLEAN NcmParseNtbParameters(const UCHAR *Data, ULONG Length, PNCM_NTB_PARAMETERS Parameters)
{
    memset(Parameters, 0, sizeof(*Parameters));
    if (Data == NULL || Length < NCM_NTB_PARAMETERS_LENGTH ||
        UsbNicReadLe16(Data, 0) < NCM_NTB_PARAMETERS_LENGTH) {
        return FALSE;
    }
    Parameters->Length = UsbNicReadLe16(Data, 0);
    Parameters->NtbFormatsSupported = UsbNicReadLe16(Data, 2);
    Parameters->NtbInMaxSize = UsbNicReadLe32(Data, 4);
    Parameters->NdpInDivisor = UsbNicReadLe16(Data, 8);
    Parameters->NdpInPayloadRemainder = UsbNicReadLe16(Data, 10);
    Parameters->NdpInAlignment = UsbNicReadLe16(Data, 12);
    Parameters->NtbOutMaxSize = UsbNicReadLe32(Data, 16);
    Parameters->NdpOutDivisor = UsbNicReadLe16(Data, 20);
    Parameters->NdpOutPayloadRemainder = UsbNicReadLe16(Data, 22);
    Parameters->NdpOutAlignment = UsbNicReadLe16(Data, 24);
    Parameters->NtbOutMaxDatagrams = UsbNicReadLe16(Data, 26);
    /* NTB16 is mandatory (NCM 1.0 table 6-3); a block that cannot hold one frame is useless. */
    return (Parameters->NtbFormatsSupported & 0x0001) != 0 &&
           Parameters->NtbInMaxSize >= NCM_MIN_USEFUL_BLOCK &&
           Parameters->NtbOutMaxSize >= NCM_MIN_USEFUL_BLOCK;
}

const char *NcmNtbErrorName(NCM_NTB_ERROR Error)
{
    static const char *const names[NcmNtbErrorCount] = {
        "Ok", "TruncatedHeader", "BadSignature", "WrongFormat", "BadHeaderLength",
        "BlockLengthTooSmall", "BlockLengthExceedsTransfer", "BlockLengthExceedsMax",
        "NdpIndexMisaligned", "NdpOutOfBounds", "BadNdpSignature", "CrcNotSupported",
        "BadNdpLength", "MissingTerminator", "NdpLoop", "TooManyNdps", "DatagramOutOfBounds",
        "DatagramTooShort", "DatagramTooLong", "TooManyDatagrams"};
    return (ULONG)Error < NcmNtbErrorCount ? names[Error] : "?";
}

static NCM_NTB_ERROR Fail(PNCM_NTB_INFO Info, NCM_NTB_ERROR Error)
{
    Info->DatagramCount = 0;
    return Error;
}

NCM_NTB_ERROR NcmParseNtb(const UCHAR *Transfer, ULONG Length, const NCM_NTB_LIMITS *Limits,
                          PNCM_DATAGRAM Datagrams, ULONG Capacity, PNCM_NTB_INFO Info)
{
    ULONG signature, headerLength, blockLength, ndpIndex;
    ULONG visited[NCM_MAX_NDP_CHAIN];
    ULONG maxNdps, ndpCount = 0, count = 0;
    BOOLEAN ntb32;

    memset(Info, 0, sizeof(*Info));
    if (Transfer == NULL || Length < NCM_NTH16_LENGTH) {
        return Fail(Info, NcmNtbTruncatedHeader);
    }
    signature = UsbNicReadLe32(Transfer, 0);
    if (signature == NCM_NTH16_SIGNATURE) {
        ntb32 = FALSE;
    } else if (signature == NCM_NTH32_SIGNATURE) {
        ntb32 = TRUE;
        if (Length < NCM_NTH32_LENGTH) {
            return Fail(Info, NcmNtbTruncatedHeader);
        }
    } else {
        return Fail(Info, NcmNtbBadSignature);
    }
    if (ntb32 != (Limits->Ntb32 ? TRUE : FALSE)) {
        return Fail(Info, NcmNtbWrongFormat);
    }
    headerLength = UsbNicReadLe16(Transfer, 4);
    if (headerLength != (ntb32 ? NCM_NTH32_LENGTH : NCM_NTH16_LENGTH)) {
        return Fail(Info, NcmNtbBadHeaderLength);
    }
    Info->Sequence = UsbNicReadLe16(Transfer, 6);
    if (ntb32) {
        blockLength = UsbNicReadLe32(Transfer, 8);
        ndpIndex = UsbNicReadLe32(Transfer, 12);
    } else {
        blockLength = UsbNicReadLe16(Transfer, 8);
        ndpIndex = UsbNicReadLe16(Transfer, 10);
        /* NCM 1.0 3.2.1: an NTB16 block length of zero means "up to the short packet". */
        if (blockLength == 0) {
            blockLength = Length;
        }
    }
    if (blockLength < headerLength) {
        return Fail(Info, NcmNtbBlockLengthTooSmall);
    }
    if (blockLength > Length) {
        return Fail(Info, NcmNtbBlockLengthExceedsTransfer);
    }
    if (blockLength > Limits->MaxBlockLength) {
        return Fail(Info, NcmNtbBlockLengthExceedsMax);
    }
    Info->BlockLength = blockLength;

    maxNdps = Limits->MaxNdps;
    if (maxNdps == 0 || maxNdps > NCM_MAX_NDP_CHAIN) {
        maxNdps = NCM_MAX_NDP_CHAIN;
    }
    /* The first NDP is mandatory: an index of zero is "inside the NTH". */
    do {
        const ULONG ndpHeader = ntb32 ? NCM_NDP32_HEADER_LENGTH : NCM_NDP16_HEADER_LENGTH;
        const ULONG entrySize = ntb32 ? 8 : 4;
        ULONG ndpLength, entries, i, v;
        BOOLEAN terminated = FALSE;
        const UCHAR *ndp;

        if (ndpIndex % 4 != 0) {
            return Fail(Info, NcmNtbNdpIndexMisaligned);
        }
        if (ndpIndex < headerLength || !UsbNicSpanHolds(blockLength, ndpIndex, ndpHeader)) {
            return Fail(Info, NcmNtbNdpOutOfBounds);
        }
        for (v = 0; v < ndpCount; v++) {
            if (visited[v] == ndpIndex) {
                return Fail(Info, NcmNtbNdpLoop);
            }
        }
        if (ndpCount >= maxNdps) {
            return Fail(Info, NcmNtbTooManyNdps);
        }
        visited[ndpCount++] = ndpIndex;
        ndp = Transfer + ndpIndex;
        signature = UsbNicReadLe32(ndp, 0);
        if (signature == (ntb32 ? NCM_NDP32_CRC_SIGNATURE : NCM_NDP16_CRC_SIGNATURE)) {
            return Fail(Info, NcmNtbCrcNotSupported);
        }
        if (signature != (ntb32 ? NCM_NDP32_SIGNATURE : NCM_NDP16_SIGNATURE)) {
            return Fail(Info, NcmNtbBadNdpSignature);
        }
        ndpLength = UsbNicReadLe16(ndp, 4);
        /* At least one entry and the terminator; whole entries only. */
        if (ndpLength < ndpHeader + 2 * entrySize || ndpLength % (ntb32 ? 8 : 4) != 0) {
            return Fail(Info, NcmNtbBadNdpLength);
        }
        if (!UsbNicSpanHolds(blockLength, ndpIndex, ndpLength)) {
            return Fail(Info, NcmNtbNdpOutOfBounds);
        }
        entries = (ndpLength - ndpHeader) / entrySize;
        for (i = 0; i < entries; i++) {
            const ULONG at = ndpHeader + i * entrySize;
            const ULONG index = ntb32 ? UsbNicReadLe32(ndp, at) : UsbNicReadLe16(ndp, at);
            const ULONG length =
                ntb32 ? UsbNicReadLe32(ndp, at + 4) : UsbNicReadLe16(ndp, at + 2);
            if (index == 0 || length == 0) {
                terminated = TRUE;
                break;
            }
            if (index < headerLength || !UsbNicSpanHolds(blockLength, index, length)) {
                return Fail(Info, NcmNtbDatagramOutOfBounds);
            }
            if (length < NCM_MIN_DATAGRAM) {
                return Fail(Info, NcmNtbDatagramTooShort);
            }
            if (length > Limits->MaxDatagramSize) {
                return Fail(Info, NcmNtbDatagramTooLong);
            }
            if (count >= Capacity) {
                return Fail(Info, NcmNtbTooManyDatagrams);
            }
            Datagrams[count].Offset = index;
            Datagrams[count].Length = length;
            count++;
        }
        if (!terminated) {
            return Fail(Info, NcmNtbMissingTerminator);
        }
        ndpIndex = ntb32 ? UsbNicReadLe32(ndp, 8) : UsbNicReadLe16(ndp, 6);
    } while (ndpIndex != 0);

    Info->DatagramCount = count;
    Info->NdpCount = ndpCount;
    return NcmNtbOk;
}

/* ---- building ------------------------------------------------------------------------- */

static ULONG HeaderLength(const NCM_NTB_WRITER *Writer)
{
    return Writer->Parameters.Ntb32 ? NCM_NTH32_LENGTH : NCM_NTH16_LENGTH;
}

static ULONG NdpLength(const NCM_NTB_WRITER *Writer, ULONG Datagrams)
{
    /* The entries plus the (0, 0) terminator. */
    return Writer->Parameters.Ntb32 ? NCM_NDP32_HEADER_LENGTH + 8 * (Datagrams + 1)
                                    : NCM_NDP16_HEADER_LENGTH + 4 * (Datagrams + 1);
}

/* The first offset at or after Position congruent to the remainder modulo the divisor. */
static ULONG DatagramOffset(const NCM_NTB_WRITER *Writer, ULONG Position)
{
    const ULONG divisor = Writer->Parameters.Divisor;
    const ULONG remainder = Writer->Parameters.PayloadRemainder;
    const ULONG current = Position % divisor;
    const ULONG pad = (remainder + divisor - current) % divisor;
    return Position > 0xFFFFFFFFUL - pad ? 0xFFFFFFFFUL : Position + pad;
}

VOID NcmNtbWriterBegin(PNCM_NTB_WRITER Writer, UCHAR *Buffer, ULONG BufferLength,
                       const NCM_NTB_BUILD_PARAMETERS *Parameters, PNCM_DATAGRAM Table,
                       ULONG TableCapacity, USHORT Sequence)
{
    ULONG limit;
    memset(Writer, 0, sizeof(*Writer));
    Writer->Buffer = Buffer;
    Writer->Parameters = *Parameters;
    /* Normalize what a device may report carelessly (cdc_ncm does the same). */
    if (Writer->Parameters.Divisor == 0) {
        Writer->Parameters.Divisor = 1;
    }
    Writer->Parameters.PayloadRemainder =
        (USHORT)(Writer->Parameters.PayloadRemainder % Writer->Parameters.Divisor);
    if (Writer->Parameters.NdpAlignment < 4 ||
        (Writer->Parameters.NdpAlignment & (Writer->Parameters.NdpAlignment - 1)) != 0) {
        Writer->Parameters.NdpAlignment = 4;
    }
    limit = Parameters->MaxBlockLength < BufferLength ? Parameters->MaxBlockLength : BufferLength;
    if (!Parameters->Ntb32 && limit > 0xFFFF) {
        limit = 0xFFFF;
    }
    Writer->Limit = limit;
    Writer->Table = Table;
    Writer->TableCapacity = TableCapacity;
    Writer->End = HeaderLength(Writer);
    Writer->Sequence = Sequence;
}

ULONG NcmNtbWriterReserve(const NCM_NTB_WRITER *Writer, ULONG DatagramLength)
{
    ULONG offset, ndp;
    if (Writer->Buffer == NULL || Writer->Count >= Writer->TableCapacity ||
        (Writer->Parameters.MaxDatagrams != 0 && Writer->Count >= Writer->Parameters.MaxDatagrams) ||
        DatagramLength == 0 || DatagramLength > Writer->Limit) {
        return 0;
    }
    offset = DatagramOffset(Writer, Writer->End);
    if (offset >= Writer->Limit || DatagramLength > Writer->Limit - offset) {
        return 0;
    }
    ndp = UsbNicAlignUp(offset + DatagramLength, Writer->Parameters.NdpAlignment);
    if (ndp >= Writer->Limit || NdpLength(Writer, Writer->Count + 1) > Writer->Limit - ndp) {
        return 0;
    }
    return offset;
}

VOID NcmNtbWriterCommit(PNCM_NTB_WRITER Writer, ULONG Offset, ULONG DatagramLength)
{
    /* Padding never carries stale memory onto the wire. */
    memset(Writer->Buffer + Writer->End, 0, Offset - Writer->End);
    Writer->Table[Writer->Count].Offset = Offset;
    Writer->Table[Writer->Count].Length = DatagramLength;
    Writer->Count++;
    Writer->End = Offset + DatagramLength;
}

BOOLEAN NcmNtbWriterAppend(PNCM_NTB_WRITER Writer, const UCHAR *Datagram, ULONG DatagramLength)
{
    const ULONG offset = NcmNtbWriterReserve(Writer, DatagramLength);
    if (offset == 0) {
        return FALSE;
    }
    memcpy(Writer->Buffer + offset, Datagram, DatagramLength);
    NcmNtbWriterCommit(Writer, offset, DatagramLength);
    return TRUE;
}

ULONG NcmNtbWriterFinish(PNCM_NTB_WRITER Writer)
{
    UCHAR *b = Writer->Buffer;
    ULONG ndp, ndpLength, block, i;
    if (Writer->Buffer == NULL || Writer->Count == 0) {
        return 0;
    }
    ndp = UsbNicAlignUp(Writer->End, Writer->Parameters.NdpAlignment);
    ndpLength = NdpLength(Writer, Writer->Count);
    block = ndp + ndpLength;
    memset(b + Writer->End, 0, ndp - Writer->End);
    memset(b + ndp, 0, ndpLength);
    if (Writer->Parameters.Ntb32) {
        UsbNicWriteLe32(b, 0, NCM_NTH32_SIGNATURE);
        UsbNicWriteLe16(b, 4, NCM_NTH32_LENGTH);
        UsbNicWriteLe16(b, 6, Writer->Sequence);
        UsbNicWriteLe32(b, 8, block);
        UsbNicWriteLe32(b, 12, ndp);
        UsbNicWriteLe32(b, ndp, NCM_NDP32_SIGNATURE);
        UsbNicWriteLe16(b, ndp + 4, (USHORT)ndpLength);
        for (i = 0; i < Writer->Count; i++) {
            UsbNicWriteLe32(b, ndp + NCM_NDP32_HEADER_LENGTH + 8 * i, Writer->Table[i].Offset);
            UsbNicWriteLe32(b, ndp + NCM_NDP32_HEADER_LENGTH + 8 * i + 4, Writer->Table[i].Length);
        }
    } else {
        UsbNicWriteLe32(b, 0, NCM_NTH16_SIGNATURE);
        UsbNicWriteLe16(b, 4, NCM_NTH16_LENGTH);
        UsbNicWriteLe16(b, 6, Writer->Sequence);
        UsbNicWriteLe16(b, 8, (USHORT)block);
        UsbNicWriteLe16(b, 10, (USHORT)ndp);
        UsbNicWriteLe32(b, ndp, NCM_NDP16_SIGNATURE);
        UsbNicWriteLe16(b, ndp + 4, (USHORT)ndpLength);
        for (i = 0; i < Writer->Count; i++) {
            UsbNicWriteLe16(b, ndp + NCM_NDP16_HEADER_LENGTH + 4 * i, (USHORT)Writer->Table[i].Offset);
            UsbNicWriteLe16(b, ndp + NCM_NDP16_HEADER_LENGTH + 4 * i + 2,
                            (USHORT)Writer->Table[i].Length);
        }
    }
    Writer->Count = 0;
    Writer->End = HeaderLength(Writer);
    return block;
}
