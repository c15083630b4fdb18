/*
 * usbnic_wire.h -- little-endian field access for the USB NIC wire formats (CDC descriptors,
 * NCM transfer blocks, Remote NDIS messages).
 *
 * Every routine takes the span it reads from or writes into as (base, length) and checks
 * the access against it, so a parser built from them cannot step outside what the device
 * sent. Callable at any IRQL: they touch only the caller's memory.
 */
#ifndef USBNIC_WIRE_H
#define USBNIC_WIRE_H

#include <ntdef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* TRUE when [Offset, Offset + Count) lies inside a span of Length bytes (no overflow). */
static inline BOOLEAN UsbNicSpanHolds(ULONG Length, ULONG Offset, ULONG Count)
{
    return Offset <= Length && Count <= Length - Offset;
}

static inline USHORT UsbNicReadLe16(const UCHAR *Base, ULONG Offset)
{
    return (USHORT)(Base[Offset] | (Base[Offset + 1] << 8));
}

static inline ULONG UsbNicReadLe32(const UCHAR *Base, ULONG Offset)
{
    return (ULONG)Base[Offset] | ((ULONG)Base[Offset + 1] << 8) |
           ((ULONG)Base[Offset + 2] << 16) | ((ULONG)Base[Offset + 3] << 24);
}

static inline VOID UsbNicWriteLe16(UCHAR *Base, ULONG Offset, USHORT Value)
{
    Base[Offset] = (UCHAR)Value;
    Base[Offset + 1] = (UCHAR)(Value >> 8);
}

static inline VOID UsbNicWriteLe32(UCHAR *Base, ULONG Offset, ULONG Value)
{
    Base[Offset] = (UCHAR)Value;
    Base[Offset + 1] = (UCHAR)(Value >> 8);
    Base[Offset + 2] = (UCHAR)(Value >> 16);
    Base[Offset + 3] = (UCHAR)(Value >> 24);
}

/* Rounds Value up to a multiple of Alignment (any nonzero value, not only powers of two).
 * Returns MAXULONG when the result would not fit, which every caller's bound check rejects. */
static inline ULONG UsbNicAlignUp(ULONG Value, ULONG Alignment)
{
    ULONG remainder;
    if (Alignment <= 1) {
        return Value;
    }
    remainder = Value % Alignment;
    if (remainder == 0) {
        return Value;
    }
    if (Value > 0xFFFFFFFFUL - (Alignment - remainder)) {
        return 0xFFFFFFFFUL;
    }
    return Value + (Alignment - remainder);
}

#ifdef __cplusplus
}
#endif

#endif /* USBNIC_WIRE_H */
