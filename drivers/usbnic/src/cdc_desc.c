/*
 * cdc_desc.c -- defensive walking of a USB NIC's configuration descriptor and of the CDC
 * notifications and strings it sends. Every routine here is pure (no DDI, no global state)
 * and is fuzzed: a descriptor is read only after its bLength has been checked against both
 * the minimum for its type and the bytes that remain. Any IRQL.
 */
#include "cdc_desc.h"
#include "usbnic_wire.h"

#define DESC_CONFIGURATION 0x02
#define DESC_INTERFACE 0x04
#define DESC_ENDPOINT 0x05
#define CONFIGURATION_LENGTH 9
#define INTERFACE_LENGTH 9
#define ENDPOINT_LENGTH 7

static CDC_FUNCTION_KIND ControlKind(UCHAR Class, UCHAR SubClass, UCHAR Protocol)
{
    if (Class == CDC_CLASS_COMMUNICATIONS && SubClass == CDC_SUBCLASS_ECM) {
        return CdcFunctionEcm;
    }
    if (Class == CDC_CLASS_COMMUNICATIONS && SubClass == CDC_SUBCLASS_NCM) {
        return CdcFunctionNcm;
    }
    /* The three ways an RNDIS device announces its control interface. */
    if ((Class == CDC_CLASS_WIRELESS_CONTROLLER && SubClass == 0x01 && Protocol == 0x03) ||
        (Class == CDC_CLASS_COMMUNICATIONS && SubClass == CDC_SUBCLASS_ACM && Protocol == 0xFF) ||
        (Class == CDC_CLASS_MISCELLANEOUS && SubClass == 0x04 && Protocol == 0x01)) {
        return CdcFunctionRndis;
    }
    return CdcFunctionNone;
}

/* Checks the descriptor at Offset: returns its length, or 0 when it is malformed. */
static ULONG DescriptorLength(const UCHAR *Base, ULONG Total, ULONG Offset)
{
    ULONG length;
    if (!UsbNicSpanHolds(Total, Offset, 2)) {
        return 0;
    }
    length = Base[Offset];
    if (length < 2 || !UsbNicSpanHolds(Total, Offset, length)) {
        return 0;
    }
    return length;
}

static CDC_DESC_ERROR FindControlInterface(const UCHAR *Base, ULONG Total, PCDC_FUNCTION_INFO Info,
                                           BOOLEAN *HasUnion)
{
    ULONG offset = 0;
    BOOLEAN inControl = FALSE;
    BOOLEAN found = FALSE;

    while (offset < Total) {
        const ULONG length = DescriptorLength(Base, Total, offset);
        const UCHAR *d = Base + offset;
        if (length == 0) {
            return CdcDescBadLength;
        }
        if (d[1] == DESC_INTERFACE && length >= INTERFACE_LENGTH) {
            if (found) {
                /* The control interface's descriptors end at the next interface. */
                break;
            }
            if (d[3] == 0) { /* only alternate setting 0 of a control interface counts */
                const CDC_FUNCTION_KIND kind = ControlKind(d[5], d[6], d[7]);
                if (kind != CdcFunctionNone) {
                    found = TRUE;
                    inControl = TRUE;
                    Info->Kind = kind;
                    Info->ControlInterface = d[2];
                }
            }
        } else if (inControl && d[1] == CDC_CS_INTERFACE && length >= 3) {
            switch (d[2]) {
            case CDC_FUNC_UNION:
                if (length >= 5 && !*HasUnion && d[3] == Info->ControlInterface) {
                    *HasUnion = TRUE;
                    Info->DataInterface = d[4];
                }
                break;
            case CDC_FUNC_ETHERNET:
                if (length >= 13) {
                    Info->HasEthernetDescriptor = TRUE;
                    Info->MacAddressStringIndex = d[3];
                    Info->EthernetStatistics = UsbNicReadLe32(d, 4);
                    Info->MaxSegmentSize = UsbNicReadLe16(d, 8);
                    Info->NumberMcFilters = UsbNicReadLe16(d, 10);
                    Info->NumberPowerFilters = d[12];
                }
                break;
            case CDC_FUNC_NCM:
                if (length >= 6) {
                    Info->HasNcmDescriptor = TRUE;
                    Info->NcmVersion = UsbNicReadLe16(d, 3);
                    Info->NcmCapabilities = d[5];
                }
                break;
            default:
                break;
            }
        } else if (inControl && d[1] == DESC_ENDPOINT && length >= ENDPOINT_LENGTH) {
            /* Interrupt IN: the notification endpoint. */
            if ((d[3] & 0x03) == 0x03 && (d[2] & 0x80) != 0 && Info->InterruptEndpoint == 0) {
                Info->InterruptEndpoint = d[2];
                Info->InterruptMaxPacket = (USHORT)(UsbNicReadLe16(d, 4) & 0x7FF);
                Info->InterruptInterval = d[6];
            }
        }
        offset += length;
    }
    return found ? CdcDescOk : CdcDescNoControlInterface;
}

static CDC_DESC_ERROR FindDataInterface(const UCHAR *Base, ULONG Total, PCDC_FUNCTION_INFO Info)
{
    ULONG offset = 0;
    BOOLEAN seenInterface = FALSE;
    BOOLEAN inCandidate = FALSE;
    BOOLEAN idleSeen = FALSE;
    UCHAR alt = 0;
    UCHAR endpoints = 0;
    UCHAR bulkIn = 0, bulkOut = 0;
    USHORT bulkInMax = 0, bulkOutMax = 0;

    /* Walks one past the end so the last alternate setting is evaluated like the others. */
    for (;;) {
        ULONG length = 0;
        const UCHAR *d = NULL;
        BOOLEAN interfaceStarts = FALSE;
        if (offset < Total) {
            length = DescriptorLength(Base, Total, offset);
            if (length == 0) {
                return CdcDescBadLength;
            }
            d = Base + offset;
            interfaceStarts = d[1] == DESC_INTERFACE && length >= INTERFACE_LENGTH;
        }
        if (inCandidate && (interfaceStarts || d == NULL)) {
            if (bulkIn != 0 && bulkOut != 0) {
                Info->DataAlternateSetting = alt;
                Info->BulkInEndpoint = bulkIn;
                Info->BulkOutEndpoint = bulkOut;
                Info->BulkInMaxPacket = bulkInMax;
                Info->BulkOutMaxPacket = bulkOutMax;
                if (!idleSeen) {
                    Info->DataIdleAlternateSetting = alt;
                }
                return CdcDescOk;
            }
            if (endpoints == 0 && !idleSeen) {
                idleSeen = TRUE;
                Info->DataIdleAlternateSetting = alt;
            }
            inCandidate = FALSE;
        }
        if (d == NULL) {
            break;
        }
        if (interfaceStarts && d[2] == Info->DataInterface) {
            seenInterface = TRUE;
            /* NCM carries NTBs only in the alternate setting with protocol 01h. */
            inCandidate = d[5] == CDC_CLASS_DATA &&
                          (Info->Kind != CdcFunctionNcm || d[4] == 0 ||
                           d[7] == CDC_NCM_DATA_PROTOCOL_NTB);
            alt = d[3];
            endpoints = 0;
            bulkIn = bulkOut = 0;
            bulkInMax = bulkOutMax = 0;
        } else if (interfaceStarts) {
            inCandidate = FALSE;
        } else if (inCandidate && d[1] == DESC_ENDPOINT && length >= ENDPOINT_LENGTH) {
            endpoints++;
            if ((d[3] & 0x03) == 0x02) {
                const USHORT maxPacket = (USHORT)(UsbNicReadLe16(d, 4) & 0x7FF);
                if ((d[2] & 0x80) != 0 && bulkIn == 0 && maxPacket != 0) {
                    bulkIn = d[2];
                    bulkInMax = maxPacket;
                } else if ((d[2] & 0x80) == 0 && bulkOut == 0 && maxPacket != 0) {
                    bulkOut = d[2];
                    bulkOutMax = maxPacket;
                }
            }
        }
        offset += length;
    }
    return seenInterface ? CdcDescNoBulkPair : CdcDescNoDataInterface;
}

CDC_DESC_ERROR CdcParseConfiguration(const UCHAR *Configuration, ULONG Length,
                                     PCDC_FUNCTION_INFO Info)
{
    ULONG total;
    BOOLEAN hasUnion = FALSE;
    CDC_DESC_ERROR error;

    memset(Info, 0, sizeof(*Info));
    if (Configuration == NULL || Length < CONFIGURATION_LENGTH) {
        return CdcDescTooShort;
    }
    total = UsbNicReadLe16(Configuration, 2);
    if (Configuration[0] < CONFIGURATION_LENGTH || Configuration[1] != DESC_CONFIGURATION ||
        total < Configuration[0] || total > Length) {
        return CdcDescBadConfiguration;
    }
    Info->ConfigurationValue = Configuration[5];

    error = FindControlInterface(Configuration, total, Info, &hasUnion);
    if (error == CdcDescOk && Info->Kind != CdcFunctionRndis &&
        (!hasUnion || !Info->HasEthernetDescriptor)) {
        error = CdcDescMissingFunctional;
    }
    if (error == CdcDescOk && !hasUnion) {
        /* RNDIS devices without a union put the data interface right after the control. */
        if (Info->ControlInterface == 0xFF) {
            error = CdcDescNoDataInterface;
        } else {
            Info->DataInterface = (UCHAR)(Info->ControlInterface + 1);
        }
    }
    if (error == CdcDescOk) {
        error = FindDataInterface(Configuration, total, Info);
    }
    if (error != CdcDescOk) {
        const UCHAR configurationValue = Info->ConfigurationValue;
        memset(Info, 0, sizeof(*Info));
        Info->ConfigurationValue = configurationValue;
    }
    return error;
}

static int HexDigit(USHORT Character)
{
    if (Character >= '0' && Character <= '9') {
        return Character - '0';
    }
    if (Character >= 'A' && Character <= 'F') {
        return Character - 'A' + 10;
    }
    if (Character >= 'a' && Character <= 'f') {
        return Character - 'a' + 10;
    }
    return -1;
}

BOOLEAN CdcParseMacAddressString(const UCHAR *StringDescriptor, ULONG Length, UCHAR *MacAddress)
{
    ULONG i;
    /* bLength, bDescriptorType (3), then 12 UTF-16LE characters. */
    if (StringDescriptor == NULL || Length < 2 + 24 || StringDescriptor[0] < 2 + 24 ||
        StringDescriptor[0] > Length || StringDescriptor[1] != 0x03) {
        return FALSE;
    }
    for (i = 0; i < 6; i++) {
        const int high = HexDigit(UsbNicReadLe16(StringDescriptor, 2 + 4 * i));
        const int low = HexDigit(UsbNicReadLe16(StringDescriptor, 2 + 4 * i + 2));
        if (high < 0 || low < 0) {
            return FALSE;
        }
        MacAddress[i] = (UCHAR)(high << 4 | low);
    }
    return TRUE;
}

BOOLEAN CdcParseNotification(const UCHAR *Data, ULONG Length, PCDC_NOTIFICATION Notification)
{
    ULONG dataLength;
    memset(Notification, 0, sizeof(*Notification));
    if (Data == NULL || Length < 8 || Data[0] != 0xA1) {
        return FALSE;
    }
    dataLength = UsbNicReadLe16(Data, 6);
    if (!UsbNicSpanHolds(Length, 8, dataLength)) {
        return FALSE;
    }
    Notification->Code = Data[1];
    Notification->Value = UsbNicReadLe16(Data, 2);
    Notification->Interface = UsbNicReadLe16(Data, 4);
    switch (Data[1]) {
    case CDC_NOTIFY_NETWORK_CONNECTION:
        return dataLength == 0 && Notification->Value <= 1;
    case CDC_NOTIFY_RESPONSE_AVAILABLE:
        return dataLength == 0;
    case CDC_NOTIFY_CONNECTION_SPEED_CHANGE:
        if (dataLength != 8) {
            return FALSE;
        }
        Notification->DownlinkBitRate = UsbNicReadLe32(Data, 8);
        Notification->UplinkBitRate = UsbNicReadLe32(Data, 12);
        return TRUE;
    default:
        return FALSE;
    }
}
