/* A tiny NDIS-WDM miniport driver: registration only (the adapter lifecycle comes later). */
#define NDIS_MINIPORT_DRIVER 1
#define NDIS630_MINIPORT 1
#define NDIS_WDM 1
#include <ndis.h>

#include "test_miniport.h"

struct TestMiniportRecord testMiniportRecord;
int testMiniportDriverContext;
static NDIS_HANDLE driverHandle;

static MINIPORT_SET_OPTIONS MpSetOptions;
static MINIPORT_INITIALIZE MpInitialize;
static MINIPORT_HALT MpHalt;
static MINIPORT_UNLOAD MpUnload;
static MINIPORT_PAUSE MpPause;
static MINIPORT_RESTART MpRestart;
static MINIPORT_OID_REQUEST MpOidRequest;
static MINIPORT_SEND_NET_BUFFER_LISTS MpSendNetBufferLists;
static MINIPORT_RETURN_NET_BUFFER_LISTS MpReturnNetBufferLists;
static MINIPORT_CANCEL_SEND MpCancelSend;
static MINIPORT_CHECK_FOR_HANG MpCheckForHang;
static MINIPORT_RESET MpReset;
static MINIPORT_DEVICE_PNP_EVENT_NOTIFY MpDevicePnPEventNotify;
static MINIPORT_SHUTDOWN MpShutdown;
static MINIPORT_CANCEL_OID_REQUEST MpCancelOidRequest;

static NDIS_STATUS NTAPI MpSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext) {
  testMiniportRecord.setOptionsCalls++;
  testMiniportRecord.setOptionsDriverHandle = NdisDriverHandle;
  testMiniportRecord.setOptionsContext = DriverContext;
  return testMiniportRecord.setOptionsResult;
}
static NDIS_STATUS NTAPI MpInitialize(NDIS_HANDLE NdisMiniportHandle, NDIS_HANDLE MiniportDriverContext,
                                      PNDIS_MINIPORT_INIT_PARAMETERS MiniportInitParameters) {
  UNREFERENCED_PARAMETER(NdisMiniportHandle);
  UNREFERENCED_PARAMETER(MiniportDriverContext);
  UNREFERENCED_PARAMETER(MiniportInitParameters);
  return NDIS_STATUS_FAILURE;
}
static VOID NTAPI MpHalt(NDIS_HANDLE MiniportAdapterContext, NDIS_HALT_ACTION HaltAction) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(HaltAction);
}
static VOID NTAPI MpUnload(PDRIVER_OBJECT DriverObject) {
  UNREFERENCED_PARAMETER(DriverObject);
  testMiniportRecord.unloadCalls++;
  NdisMDeregisterMiniportDriver(driverHandle);
}
static NDIS_STATUS NTAPI MpPause(NDIS_HANDLE MiniportAdapterContext, PNDIS_MINIPORT_PAUSE_PARAMETERS PauseParameters) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(PauseParameters);
  return NDIS_STATUS_SUCCESS;
}
static NDIS_STATUS NTAPI MpRestart(NDIS_HANDLE MiniportAdapterContext,
                                   PNDIS_MINIPORT_RESTART_PARAMETERS RestartParameters) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(RestartParameters);
  return NDIS_STATUS_SUCCESS;
}
static NDIS_STATUS NTAPI MpOidRequest(NDIS_HANDLE MiniportAdapterContext, PNDIS_OID_REQUEST OidRequest) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(OidRequest);
  return NDIS_STATUS_NOT_SUPPORTED;
}
static VOID NTAPI MpSendNetBufferLists(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferList,
                                       NDIS_PORT_NUMBER PortNumber, ULONG SendFlags) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(NetBufferList);
  UNREFERENCED_PARAMETER(PortNumber);
  UNREFERENCED_PARAMETER(SendFlags);
}
static VOID NTAPI MpReturnNetBufferLists(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferLists,
                                         ULONG ReturnFlags) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(NetBufferLists);
  UNREFERENCED_PARAMETER(ReturnFlags);
}
static VOID NTAPI MpCancelSend(NDIS_HANDLE MiniportAdapterContext, PVOID CancelId) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(CancelId);
}
static BOOLEAN NTAPI MpCheckForHang(NDIS_HANDLE MiniportAdapterContext) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  return FALSE;
}
static NDIS_STATUS NTAPI MpReset(NDIS_HANDLE MiniportAdapterContext, PBOOLEAN AddressingReset) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  *AddressingReset = FALSE;
  return NDIS_STATUS_SUCCESS;
}
static VOID NTAPI MpDevicePnPEventNotify(NDIS_HANDLE MiniportAdapterContext, PNET_DEVICE_PNP_EVENT NetDevicePnPEvent) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(NetDevicePnPEvent);
}
static VOID NTAPI MpShutdown(NDIS_HANDLE MiniportAdapterContext, NDIS_SHUTDOWN_ACTION ShutdownAction) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(ShutdownAction);
}
static VOID NTAPI MpCancelOidRequest(NDIS_HANDLE MiniportAdapterContext, PVOID RequestId) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(RequestId);
}

void TestMiniportFillCharacteristics(void *Characteristics) {
  PNDIS_MINIPORT_DRIVER_CHARACTERISTICS c = (PNDIS_MINIPORT_DRIVER_CHARACTERISTICS)Characteristics;
  NdisZeroMemory(c, sizeof(*c));
  c->Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
  c->Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
  c->Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
  c->MajorNdisVersion = NDIS_MINIPORT_MAJOR_VERSION;
  c->MinorNdisVersion = NDIS_MINIPORT_MINOR_VERSION;
  c->MajorDriverVersion = 1;
  c->Flags = NDIS_WDM_DRIVER;
  c->SetOptionsHandler = MpSetOptions;
  c->InitializeHandlerEx = MpInitialize;
  c->HaltHandlerEx = MpHalt;
  c->UnloadHandler = MpUnload;
  c->PauseHandler = MpPause;
  c->RestartHandler = MpRestart;
  c->OidRequestHandler = MpOidRequest;
  c->SendNetBufferListsHandler = MpSendNetBufferLists;
  c->ReturnNetBufferListsHandler = MpReturnNetBufferLists;
  c->CancelSendHandler = MpCancelSend;
  c->DevicePnPEventNotifyHandler = MpDevicePnPEventNotify;
  c->ShutdownHandlerEx = MpShutdown;
  c->CancelOidRequestHandler = MpCancelOidRequest;
  /* An NDIS-WDM miniport: no CheckForHangHandlerEx (nor ResetHandlerEx). */
}

void *TestMiniportCheckForHang(void) { return (void *)MpCheckForHang; }
void *TestMiniportReset(void) { return (void *)MpReset; }

NTSTATUS NTAPI TestMiniportDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS characteristics;
  NDIS_STATUS status;
  TestMiniportFillCharacteristics(&characteristics);
  status = NdisMRegisterMiniportDriver(DriverObject, RegistryPath,
                                       &testMiniportDriverContext, &characteristics, &driverHandle);
  testMiniportRecord.registerStatus = status;
  testMiniportRecord.registeredHandle = driverHandle;
  return status == NDIS_STATUS_SUCCESS ? STATUS_SUCCESS : (NTSTATUS)status;
}
