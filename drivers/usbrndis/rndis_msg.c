/*
 * rndis_msg.c -- Remote NDIS message building and parsing for the host side. Pure functions
 * over caller memory, any IRQL; the parsers are fuzzed.
 */
#include "rndis_msg.h"
#include "usbnic_wire.h"

/* RNDIS offsets count from the field after MessageLength. */
#define RNDIS_OFFSET_BASE 8

static ULONG BuildWords(UCHAR *Buffer, ULONG Length, const ULONG *Words, ULONG Count)
{
    ULONG i;
    if (Buffer == NULL || Length < Count * 4) {
        return 0;
    }
    for (i = 0; i < Count; i++) {
        UsbNicWriteLe32(Buffer, i * 4, Words[i]);
    }
    return Count * 4;
}

ULONG RndisBuildInitialize(UCHAR *Buffer, ULONG Length, ULONG RequestId, ULONG MaxTransferSize)
{
    const ULONG words[] = {REMOTE_NDIS_INITIALIZE_MSG, RNDIS_INITIALIZE_LENGTH, RequestId,
                           RNDIS_MAJOR_VERSION, RNDIS_MINOR_VERSION, MaxTransferSize};
    return BuildWords(Buffer, Length, words, 6);
}

static ULONG BuildQueryOrSet(UCHAR *Buffer, ULONG Length, ULONG Type, ULONG RequestId, ULONG Oid,
                             const VOID *Information, ULONG InformationLength)
{
    const ULONG fixed = RNDIS_QUERY_LENGTH;
    ULONG words[7];
    if (Information == NULL) {
        InformationLength = 0;
    }
    if (Buffer == NULL || InformationLength > Length || Length - InformationLength < fixed) {
        return 0;
    }
    words[0] = Type;
    words[1] = fixed + InformationLength;
    words[2] = RequestId;
    words[3] = Oid;
    words[4] = InformationLength;
    words[5] = InformationLength != 0 ? fixed - RNDIS_OFFSET_BASE : 0;
    words[6] = 0; /* DeviceVcHandle: connectionless */
    BuildWords(Buffer, Length, words, 7);
    if (InformationLength != 0) {
        memcpy(Buffer + fixed, Information, InformationLength);
    }
    return fixed + InformationLength;
}

ULONG RndisBuildQuery(UCHAR *Buffer, ULONG Length, ULONG RequestId, ULONG Oid,
                      const VOID *Information, ULONG InformationLength)
{
    return BuildQueryOrSet(Buffer, Length, REMOTE_NDIS_QUERY_MSG, RequestId, Oid, Information,
                           InformationLength);
}

ULONG RndisBuildSet(UCHAR *Buffer, ULONG Length, ULONG RequestId, ULONG Oid,
                    const VOID *Information, ULONG InformationLength)
{
    return BuildQueryOrSet(Buffer, Length, REMOTE_NDIS_SET_MSG, RequestId, Oid, Information,
                           InformationLength);
}

ULONG RndisBuildReset(UCHAR *Buffer, ULONG Length)
{
    const ULONG words[] = {REMOTE_NDIS_RESET_MSG, RNDIS_RESET_LENGTH, 0};
    return BuildWords(Buffer, Length, words, 3);
}

ULONG RndisBuildHalt(UCHAR *Buffer, ULONG Length, ULONG RequestId)
{
    const ULONG words[] = {REMOTE_NDIS_HALT_MSG, RNDIS_HALT_LENGTH, RequestId};
    return BuildWords(Buffer, Length, words, 3);
}

ULONG RndisBuildKeepalive(UCHAR *Buffer, ULONG Length, ULONG RequestId)
{
    const ULONG words[] = {REMOTE_NDIS_KEEPALIVE_MSG, RNDIS_KEEPALIVE_LENGTH, RequestId};
    return BuildWords(Buffer, Length, words, 3);
}

ULONG RndisBuildKeepaliveComplete(UCHAR *Buffer, ULONG Length, ULONG RequestId, ULONG Status)
{
    const ULONG words[] = {REMOTE_NDIS_KEEPALIVE_CMPLT, RNDIS_KEEPALIVE_CMPLT_LENGTH, RequestId,
                           Status};
    return BuildWords(Buffer, Length, words, 4);
}

/* A buffer given as (offset from byte 8, length) must start after the fixed part and end
 * inside the message. On success stores its offset from the start of the message. */
static BOOLEAN LocateBuffer(ULONG MessageLength, ULONG Fixed, ULONG Offset, ULONG BufferLength,
                            PRNDIS_RESPONSE Response)
{
    ULONG start;
    if (BufferLength == 0) {
        Response->BufferOffset = 0;
        Response->BufferLength = 0;
        return TRUE;
    }
    if (Offset > MessageLength - RNDIS_OFFSET_BASE) {
        return FALSE;
    }
    start = Offset + RNDIS_OFFSET_BASE;
    if (start < Fixed || !UsbNicSpanHolds(MessageLength, start, BufferLength)) {
        return FALSE;
    }
    Response->BufferOffset = start;
    Response->BufferLength = BufferLength;
    return TRUE;
}

RNDIS_CONTROL_ERROR RndisParseResponse(const UCHAR *Message, ULONG Length, PRNDIS_RESPONSE Response)
{
    ULONG type, messageLength, fixed;

    memset(Response, 0, sizeof(*Response));
    if (Message == NULL || Length < 8) {
        return RndisControlTooShort;
    }
    type = UsbNicReadLe32(Message, 0);
    messageLength = UsbNicReadLe32(Message, 4);
    switch (type) {
    case REMOTE_NDIS_INITIALIZE_CMPLT: fixed = RNDIS_INITIALIZE_CMPLT_LENGTH; break;
    case REMOTE_NDIS_QUERY_CMPLT: fixed = RNDIS_QUERY_CMPLT_LENGTH; break;
    case REMOTE_NDIS_SET_CMPLT: fixed = RNDIS_SET_CMPLT_LENGTH; break;
    case REMOTE_NDIS_RESET_CMPLT: fixed = RNDIS_RESET_CMPLT_LENGTH; break;
    case REMOTE_NDIS_INDICATE_STATUS_MSG: fixed = RNDIS_INDICATE_STATUS_LENGTH; break;
    case REMOTE_NDIS_KEEPALIVE_MSG: fixed = RNDIS_KEEPALIVE_LENGTH; break;
    case REMOTE_NDIS_KEEPALIVE_CMPLT: fixed = RNDIS_KEEPALIVE_CMPLT_LENGTH; break;
    default: return RndisControlUnknownType;
    }
    if (Length < fixed) {
        return RndisControlTooShort;
    }
    if (messageLength < fixed || messageLength > Length) {
        return RndisControlBadMessageLength;
    }
    Response->MessageType = type;
    Response->MessageLength = messageLength;
    switch (type) {
    case REMOTE_NDIS_INITIALIZE_CMPLT:
        Response->RequestId = UsbNicReadLe32(Message, 8);
        Response->Status = UsbNicReadLe32(Message, 12);
        Response->MajorVersion = UsbNicReadLe32(Message, 16);
        Response->MinorVersion = UsbNicReadLe32(Message, 20);
        Response->DeviceFlags = UsbNicReadLe32(Message, 24);
        Response->Medium = UsbNicReadLe32(Message, 28);
        Response->MaxPacketsPerTransfer = UsbNicReadLe32(Message, 32);
        Response->MaxTransferSize = UsbNicReadLe32(Message, 36);
        Response->PacketAlignmentFactor = UsbNicReadLe32(Message, 40);
        break;
    case REMOTE_NDIS_QUERY_CMPLT:
        Response->RequestId = UsbNicReadLe32(Message, 8);
        Response->Status = UsbNicReadLe32(Message, 12);
        if (!LocateBuffer(messageLength, fixed, UsbNicReadLe32(Message, 20),
                          UsbNicReadLe32(Message, 16), Response)) {
            return RndisControlBadBuffer;
        }
        break;
    case REMOTE_NDIS_INDICATE_STATUS_MSG:
        Response->Status = UsbNicReadLe32(Message, 8);
        if (!LocateBuffer(messageLength, fixed, UsbNicReadLe32(Message, 16),
                          UsbNicReadLe32(Message, 12), Response)) {
            return RndisControlBadBuffer;
        }
        break;
    case REMOTE_NDIS_RESET_CMPLT:
        Response->Status = UsbNicReadLe32(Message, 8);
        Response->AddressingReset = UsbNicReadLe32(Message, 12);
        break;
    case REMOTE_NDIS_KEEPALIVE_MSG:
        Response->RequestId = UsbNicReadLe32(Message, 8);
        break;
    default: /* SET_CMPLT, KEEPALIVE_CMPLT */
        Response->RequestId = UsbNicReadLe32(Message, 8);
        Response->Status = UsbNicReadLe32(Message, 12);
        break;
    }
    return RndisControlOk;
}

const char *RndisPacketErrorName(RNDIS_PACKET_ERROR Error)
{
    static const char *const names[RndisPacketErrorCount] = {
        "Ok", "Empty", "TransferTooLong", "TruncatedHeader", "BadMessageType",
        "BadMessageLength", "BadDataOffset", "DataOutOfBounds", "DataTooShort", "DataTooLong",
        "TooManyPackets"};
    return (ULONG)Error < RndisPacketErrorCount ? names[Error] : "?";
}

static BOOLEAN AllZero(const UCHAR *Bytes, ULONG Length)
{
    ULONG i;
    for (i = 0; i < Length; i++) {
        if (Bytes[i] != 0) {
            return FALSE;
        }
    }
    return TRUE;
}

static RNDIS_PACKET_ERROR FailPacket(PRNDIS_PACKET_INFO Info, RNDIS_PACKET_ERROR Error, ULONG Offset)
{
    Info->FrameCount = 0;
    Info->ErrorOffset = Offset;
    return Error;
}

RNDIS_PACKET_ERROR RndisParsePacketTransfer(const UCHAR *Transfer, ULONG Length,
                                            const RNDIS_PACKET_LIMITS *Limits,
                                            PRNDIS_FRAME Frames, ULONG Capacity,
                                            PRNDIS_PACKET_INFO Info)
{
    ULONG start = 0, count = 0;

    memset(Info, 0, sizeof(*Info));
    if (Transfer == NULL) {
        return FailPacket(Info, RndisPacketEmpty, 0);
    }
    if (Length > Limits->MaxTransferSize) {
        return FailPacket(Info, RndisPacketTransferTooLong, 0);
    }
    while (start < Length) {
        const UCHAR *message = Transfer + start;
        const ULONG rest = Length - start;
        ULONG messageLength, dataOffset, dataLength;
        /* Devices pad a transfer (e.g. one byte to avoid a zero-length packet). */
        if (AllZero(message, rest)) {
            break;
        }
        if (rest < RNDIS_PACKET_HEADER_LENGTH) {
            return FailPacket(Info, RndisPacketTruncatedHeader, start);
        }
        if (UsbNicReadLe32(message, 0) != REMOTE_NDIS_PACKET_MSG) {
            return FailPacket(Info, RndisPacketBadMessageType, start);
        }
        messageLength = UsbNicReadLe32(message, 4);
        if (messageLength < RNDIS_PACKET_HEADER_LENGTH || messageLength > rest) {
            return FailPacket(Info, RndisPacketBadMessageLength, start);
        }
        dataOffset = UsbNicReadLe32(message, 8);
        dataLength = UsbNicReadLe32(message, 12);
        if (dataOffset > messageLength - RNDIS_OFFSET_BASE ||
            dataOffset + RNDIS_OFFSET_BASE < RNDIS_PACKET_HEADER_LENGTH) {
            return FailPacket(Info, RndisPacketBadDataOffset, start);
        }
        if (!UsbNicSpanHolds(messageLength, dataOffset + RNDIS_OFFSET_BASE, dataLength)) {
            return FailPacket(Info, RndisPacketDataOutOfBounds, start);
        }
        if (dataLength < RNDIS_MIN_FRAME) {
            return FailPacket(Info, RndisPacketDataTooShort, start);
        }
        if (dataLength > Limits->MaxFrameSize) {
            return FailPacket(Info, RndisPacketDataTooLong, start);
        }
        if (count >= Capacity) {
            return FailPacket(Info, RndisPacketTooManyPackets, start);
        }
        Frames[count].Offset = start + RNDIS_OFFSET_BASE + dataOffset;
        Frames[count].Length = dataLength;
        count++;
        start += messageLength;
    }
    if (count == 0) {
        return FailPacket(Info, RndisPacketEmpty, 0);
    }
    Info->FrameCount = count;
    return RndisPacketOk;
}

VOID RndisPacketWriterBegin(PRNDIS_PACKET_WRITER Writer, UCHAR *Buffer, ULONG BufferLength,
                            ULONG MaxTransferSize, ULONG MaxPackets, ULONG Alignment)
{
    memset(Writer, 0, sizeof(*Writer));
    Writer->Buffer = Buffer;
    Writer->Limit = MaxTransferSize < BufferLength ? MaxTransferSize : BufferLength;
    Writer->MaxPackets = MaxPackets;
    Writer->Alignment = Alignment == 0 ? 1 : Alignment;
}

static ULONG NextStart(const RNDIS_PACKET_WRITER *Writer)
{
    return Writer->Count == 0 ? 0 : UsbNicAlignUp(Writer->End, Writer->Alignment);
}

ULONG RndisPacketWriterReserve(const RNDIS_PACKET_WRITER *Writer, ULONG FrameLength)
{
    ULONG start;
    if (Writer->Buffer == NULL || (Writer->MaxPackets != 0 && Writer->Count >= Writer->MaxPackets) ||
        FrameLength == 0) {
        return 0;
    }
    start = NextStart(Writer);
    if (start >= Writer->Limit || Writer->Limit - start < RNDIS_PACKET_HEADER_LENGTH ||
        FrameLength > Writer->Limit - start - RNDIS_PACKET_HEADER_LENGTH) {
        return 0;
    }
    return start + RNDIS_PACKET_HEADER_LENGTH;
}

VOID RndisPacketWriterCommit(PRNDIS_PACKET_WRITER Writer, ULONG FrameOffset, ULONG FrameLength)
{
    const ULONG start = FrameOffset - RNDIS_PACKET_HEADER_LENGTH;
    ULONG i;
    if (Writer->Count > 0) {
        /* The previous message grows to include the padding up to this one. */
        memset(Writer->Buffer + Writer->End, 0, start - Writer->End);
        UsbNicWriteLe32(Writer->Buffer, Writer->LastStart + 4, start - Writer->LastStart);
    }
    UsbNicWriteLe32(Writer->Buffer, start, REMOTE_NDIS_PACKET_MSG);
    UsbNicWriteLe32(Writer->Buffer, start + 4, RNDIS_PACKET_HEADER_LENGTH + FrameLength);
    UsbNicWriteLe32(Writer->Buffer, start + 8, RNDIS_PACKET_HEADER_LENGTH - RNDIS_OFFSET_BASE);
    UsbNicWriteLe32(Writer->Buffer, start + 12, FrameLength);
    for (i = 16; i < RNDIS_PACKET_HEADER_LENGTH; i += 4) {
        UsbNicWriteLe32(Writer->Buffer, start + i, 0);
    }
    Writer->LastStart = start;
    Writer->End = FrameOffset + FrameLength;
    Writer->Count++;
}

BOOLEAN RndisPacketWriterAppend(PRNDIS_PACKET_WRITER Writer, const UCHAR *Frame, ULONG FrameLength)
{
    const ULONG offset = RndisPacketWriterReserve(Writer, FrameLength);
    if (offset == 0) {
        return FALSE;
    }
    memcpy(Writer->Buffer + offset, Frame, FrameLength);
    RndisPacketWriterCommit(Writer, offset, FrameLength);
    return TRUE;
}

ULONG RndisPacketWriterFinish(PRNDIS_PACKET_WRITER Writer)
{
    const ULONG length = Writer->End;
    Writer->Count = 0;
    Writer->End = 0;
    Writer->LastStart = 0;
    return length;
}
