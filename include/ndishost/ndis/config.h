/*
 * ndishost/ndis/config.h -- reading and writing a driver's or adapter's configuration
 * (its registry parameters) through NDIS.
 *
 * Included by <ndis.h>; not meant to be included on its own.
 */
#ifndef NDISHOST_NDIS_CONFIG_H
#define NDISHOST_NDIS_CONFIG_H

NDISHOST_EXTERN_C_BEGIN

typedef enum _NDIS_PARAMETER_TYPE {
  NdisParameterInteger = 0,
  NdisParameterHexInteger = 1,
  NdisParameterString = 2,
  NdisParameterMultiString = 3,
  NdisParameterBinary = 4
} NDIS_PARAMETER_TYPE, *PNDIS_PARAMETER_TYPE;

/* What NdisReadConfiguration returns for the predefined "ProcessorType" keyword. */
typedef enum _NDIS_PROCESSOR_TYPE {
  NdisProcessorX86 = 0,
  NdisProcessorMips = 1,
  NdisProcessorAlpha = 2,
  NdisProcessorPpc = 3,
  NdisProcessorAmd64 = 4,
  NdisProcessorIA64 = 5
} NDIS_PROCESSOR_TYPE, *PNDIS_PROCESSOR_TYPE;

typedef struct _BINARY_DATA {
  USHORT Length;
  PVOID Buffer;
} BINARY_DATA;

typedef struct _NDIS_CONFIGURATION_PARAMETER {
  NDIS_PARAMETER_TYPE ParameterType;
  union {
    ULONG IntegerData;
    NDIS_STRING StringData;
    BINARY_DATA BinaryData;
  } ParameterData;
} NDIS_CONFIGURATION_PARAMETER, *PNDIS_CONFIGURATION_PARAMETER;

#define NDIS_CONFIGURATION_OBJECT_REVISION_1 1
/* NDIS_CONFIGURATION_OBJECT.Flags: open the filter module's instance key. */
#define NDIS_CONFIG_FLAG_FILTER_INSTANCE_CONFIGURATION 0x00000001

typedef struct _NDIS_CONFIGURATION_OBJECT {
  NDIS_OBJECT_HEADER Header;
  NDIS_HANDLE NdisHandle;
  ULONG Flags;
} NDIS_CONFIGURATION_OBJECT, *PNDIS_CONFIGURATION_OBJECT;
#define NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1 RTL_SIZEOF_THROUGH_FIELD(NDIS_CONFIGURATION_OBJECT, Flags)

/* All IRQL PASSIVE_LEVEL. */
NDIS_STATUS NTAPI NdisOpenConfigurationEx(_In_ PNDIS_CONFIGURATION_OBJECT ConfigObject,
                                          _Out_ PNDIS_HANDLE ConfigurationHandle);
VOID NTAPI NdisReadConfiguration(_Out_ PNDIS_STATUS Status, _Out_ PNDIS_CONFIGURATION_PARAMETER *ParameterValue,
                                 _In_ NDIS_HANDLE ConfigurationHandle, _In_ PNDIS_STRING Keyword,
                                 _In_ NDIS_PARAMETER_TYPE ParameterType);
VOID NTAPI NdisWriteConfiguration(_Out_ PNDIS_STATUS Status, _In_ NDIS_HANDLE ConfigurationHandle,
                                  _In_ PNDIS_STRING Keyword, _In_ PNDIS_CONFIGURATION_PARAMETER ParameterValue);
VOID NTAPI NdisReadNetworkAddress(_Out_ PNDIS_STATUS Status, _Outptr_result_bytebuffer_(*NetworkAddressLength) PVOID *NetworkAddress,
                                  _Out_ PUINT NetworkAddressLength, _In_ NDIS_HANDLE ConfigurationHandle);
VOID NTAPI NdisCloseConfiguration(_In_ NDIS_HANDLE ConfigurationHandle);

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_NDIS_CONFIG_H */
