/*
 * cdc_desc.h -- what a USB NIC driver needs to know from a configuration descriptor, found
 * by walking it defensively: the communications (control) interface and its class-specific
 * functional descriptors (CDC 1.2 section 5.2.3: Header, Union, Ethernet Networking; NCM 1.0
 * section 5.2: NCM functional descriptor), its interrupt IN endpoint, and the data interface
 * alternate setting that carries the bulk IN/OUT pair. Also the CDC notifications of the
 * interrupt endpoint and the iMACAddress string.
 *
 * Pure functions over byte spans (they are fuzzed): every descriptor length is checked
 * against the span before any field is read. Callable at any IRQL.
 */
#ifndef USBNIC_CDC_DESC_H
#define USBNIC_CDC_DESC_H

#include <ntdef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Class codes (USB-IF class code list; CDC 1.2 table 4; RNDIS-to-USB mapping page). */
#define CDC_CLASS_COMMUNICATIONS 0x02
#define CDC_CLASS_DATA 0x0A
#define CDC_CLASS_WIRELESS_CONTROLLER 0xE0
#define CDC_CLASS_MISCELLANEOUS 0xEF
#define CDC_SUBCLASS_ACM 0x02
#define CDC_SUBCLASS_ECM 0x06
#define CDC_SUBCLASS_NCM 0x0D
#define CDC_NCM_DATA_PROTOCOL_NTB 0x01

/* Class-specific descriptor types and functional descriptor subtypes (CDC 1.2 tables 12, 13). */
#define CDC_CS_INTERFACE 0x24
#define CDC_FUNC_HEADER 0x00
#define CDC_FUNC_UNION 0x06
#define CDC_FUNC_ETHERNET 0x0F
#define CDC_FUNC_NCM 0x1A

typedef enum _CDC_FUNCTION_KIND {
    CdcFunctionNone = 0,
    CdcFunctionEcm,
    CdcFunctionNcm,
    CdcFunctionRndis
} CDC_FUNCTION_KIND;

typedef enum _CDC_DESC_ERROR {
    CdcDescOk = 0,
    CdcDescTooShort,           /* shorter than a configuration descriptor */
    CdcDescBadConfiguration,   /* not a configuration descriptor, or wTotalLength impossible */
    CdcDescBadLength,          /* a descriptor with bLength < 2 or running past the end */
    CdcDescNoControlInterface, /* no ECM/NCM/RNDIS communications interface */
    CdcDescNoDataInterface,    /* the data interface named by the union is absent */
    CdcDescNoBulkPair,         /* no alternate setting of it has bulk IN + bulk OUT */
    CdcDescMissingFunctional,  /* ECM/NCM without Union or Ethernet Networking descriptor */
    CdcDescErrorCount
} CDC_DESC_ERROR;

typedef struct _CDC_FUNCTION_INFO {
    CDC_FUNCTION_KIND Kind;
    UCHAR ConfigurationValue;
    UCHAR ControlInterface;
    UCHAR DataInterface;
    UCHAR DataAlternateSetting;     /* the one with the bulk pair (1 for ECM/NCM, 0 for RNDIS) */
    UCHAR DataIdleAlternateSetting; /* the one without endpoints (ECM/NCM), else = the above */
    UCHAR InterruptEndpoint;        /* 0 when the control interface has none */
    USHORT InterruptMaxPacket;
    UCHAR InterruptInterval;
    UCHAR BulkInEndpoint;
    UCHAR BulkOutEndpoint;
    USHORT BulkInMaxPacket;
    USHORT BulkOutMaxPacket;
    /* Ethernet Networking functional descriptor (ECM 1.2 table 3). */
    BOOLEAN HasEthernetDescriptor;
    UCHAR MacAddressStringIndex;
    ULONG EthernetStatistics;
    USHORT MaxSegmentSize;
    USHORT NumberMcFilters;         /* bit 15: imperfect filtering */
    UCHAR NumberPowerFilters;
    /* NCM functional descriptor (NCM 1.0 table 5-2). */
    BOOLEAN HasNcmDescriptor;
    USHORT NcmVersion;
    UCHAR NcmCapabilities;
} CDC_FUNCTION_INFO, *PCDC_FUNCTION_INFO;

/* Finds the first ECM, NCM or RNDIS function in a configuration descriptor (Length bytes;
 * bytes past wTotalLength are ignored). On success fills Info; on error Info->Kind is
 * CdcFunctionNone. */
CDC_DESC_ERROR CdcParseConfiguration(_In_reads_bytes_(Length) const UCHAR *Configuration,
                                     _In_ ULONG Length, _Out_ PCDC_FUNCTION_INFO Info);

/* A string descriptor holding 12 hexadecimal UTF-16 digits (ECM 1.2 table 3, iMACAddress)
 * to 6 bytes. FALSE when malformed. */
BOOLEAN CdcParseMacAddressString(_In_reads_bytes_(Length) const UCHAR *StringDescriptor,
                                 _In_ ULONG Length, _Out_writes_bytes_(6) UCHAR *MacAddress);

/* Notifications on the interrupt IN endpoint (CDC 1.2 section 6.3). */
#define CDC_NOTIFY_NETWORK_CONNECTION 0x00
#define CDC_NOTIFY_RESPONSE_AVAILABLE 0x01
#define CDC_NOTIFY_CONNECTION_SPEED_CHANGE 0x2A

typedef struct _CDC_NOTIFICATION {
    UCHAR Code;
    USHORT Value;            /* NETWORK_CONNECTION: 1 connected, 0 disconnected */
    USHORT Interface;
    ULONG DownlinkBitRate;   /* CONNECTION_SPEED_CHANGE */
    ULONG UplinkBitRate;
} CDC_NOTIFICATION, *PCDC_NOTIFICATION;

/* FALSE when the bytes are not a well-formed notification this driver understands. */
BOOLEAN CdcParseNotification(_In_reads_bytes_(Length) const UCHAR *Data, _In_ ULONG Length,
                             _Out_ PCDC_NOTIFICATION Notification);

#ifdef __cplusplus
}
#endif

#endif /* USBNIC_CDC_DESC_H */
