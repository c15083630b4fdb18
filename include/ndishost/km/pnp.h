/*
 * ndishost/km/pnp.h -- part of <wdm.h>; see wdm.h.
 *
 * The Plug and Play and power manager DDIs: what a bus driver reports about its children,
 * what any driver may ask the PnP manager about its device, and the power IRP routines.
 * ndishost's PnP manager (src/nt/pnp) sends the PnP and power IRPs themselves.
 */
#ifndef NDISHOST_KM_PNP_H
#define NDISHOST_KM_PNP_H

#include <ndishost/km/wdm_types.h>

NDISHOST_EXTERN_C_BEGIN

/* ---- IRP_MN_QUERY_CAPABILITIES ---------------------------------------------------- */
/* The PnP manager fills Size and Version (1) and presets Address and UINumber to
 * 0xFFFFFFFF ("not supplied") before sending the IRP; the bus driver fills the rest. */
typedef struct _DEVICE_CAPABILITIES {
  USHORT Size;
  USHORT Version;
  ULONG DeviceD1 : 1;
  ULONG DeviceD2 : 1;
  ULONG LockSupported : 1;
  ULONG EjectSupported : 1;
  ULONG Removable : 1;
  ULONG DockDevice : 1;
  ULONG UniqueID : 1;
  ULONG SilentInstall : 1;
  ULONG RawDeviceOK : 1;
  ULONG SurpriseRemovalOK : 1;
  ULONG WakeFromD0 : 1;
  ULONG WakeFromD1 : 1;
  ULONG WakeFromD2 : 1;
  ULONG WakeFromD3 : 1;
  ULONG HardwareDisabled : 1;
  ULONG NonDynamic : 1;
  ULONG WarmEjectSupported : 1;
  ULONG NoDisplayInUI : 1;
  ULONG Reserved1 : 1;
  ULONG WakeFromInterrupt : 1;
  ULONG SecureDevice : 1;
  ULONG ChildOfVgaEnabledBridge : 1;
  ULONG DecodeIoOnBoot : 1;
  ULONG Reserved : 9;
  ULONG Address;
  ULONG UINumber;
  DEVICE_POWER_STATE DeviceState[PowerSystemMaximum];
  SYSTEM_POWER_STATE SystemWake;
  DEVICE_POWER_STATE DeviceWake;
  ULONG D1Latency;
  ULONG D2Latency;
  ULONG D3Latency;
} DEVICE_CAPABILITIES;

/* ---- IRP_MN_QUERY_BUS_INFORMATION ------------------------------------------------- */
typedef enum _INTERFACE_TYPE {
  InterfaceTypeUndefined = -1,
  Internal = 0,
  Isa,
  Eisa,
  MicroChannel,
  TurboChannel,
  PCIBus,
  VMEBus,
  NuBus,
  PCMCIABus,
  CBus,
  MPIBus,
  MPSABus,
  ProcessorInternal,
  InternalPowerBus,
  PNPISABus,
  PNPBus,
  Vmcs,
  ACPIBus,
  MaximumInterfaceType
} INTERFACE_TYPE, *PINTERFACE_TYPE;

typedef struct _PNP_BUS_INFORMATION {
  GUID BusTypeGuid;
  INTERFACE_TYPE LegacyBusType;
  ULONG BusNumber;
} PNP_BUS_INFORMATION, *PPNP_BUS_INFORMATION;

/* ---- IRP_MN_QUERY_PNP_DEVICE_STATE ------------------------------------------------ */
typedef ULONG PNP_DEVICE_STATE, *PPNP_DEVICE_STATE;
#define PNP_DEVICE_DISABLED 0x00000001
#define PNP_DEVICE_DONT_DISPLAY_IN_UI 0x00000002
#define PNP_DEVICE_FAILED 0x00000004
#define PNP_DEVICE_REMOVED 0x00000008
#define PNP_DEVICE_RESOURCE_REQUIREMENTS_CHANGED 0x00000010
#define PNP_DEVICE_NOT_DISABLEABLE 0x00000020

/* ---- IoGetDeviceProperty ---------------------------------------------------------- */
typedef enum {
  DevicePropertyDeviceDescription = 0x0,
  DevicePropertyHardwareID = 0x1,
  DevicePropertyCompatibleIDs = 0x2,
  DevicePropertyBootConfiguration = 0x3,
  DevicePropertyBootConfigurationTranslated = 0x4,
  DevicePropertyClassName = 0x5,
  DevicePropertyClassGuid = 0x6,
  DevicePropertyDriverKeyName = 0x7,
  DevicePropertyManufacturer = 0x8,
  DevicePropertyFriendlyName = 0x9,
  DevicePropertyLocationInformation = 0xa,
  DevicePropertyPhysicalDeviceObjectName = 0xb,
  DevicePropertyBusTypeGuid = 0xc,
  DevicePropertyLegacyBusType = 0xd,
  DevicePropertyBusNumber = 0xe,
  DevicePropertyEnumeratorName = 0xf,
  DevicePropertyAddress = 0x10,
  DevicePropertyUINumber = 0x11,
  DevicePropertyInstallState = 0x12,
  DevicePropertyRemovalPolicy = 0x13,
  DevicePropertyResourceRequirements = 0x14,
  DevicePropertyAllocatedResources = 0x15,
  DevicePropertyContainerID = 0x16
} DEVICE_REGISTRY_PROPERTY;

typedef enum _DEVICE_INSTALL_STATE {
  InstallStateInstalled = 0,
  InstallStateNeedsReinstall,
  InstallStateFailedInstall,
  InstallStateFinishInstall
} DEVICE_INSTALL_STATE, *PDEVICE_INSTALL_STATE;

typedef enum _DEVICE_REMOVAL_POLICY {
  RemovalPolicyExpectNoRemoval = 1,
  RemovalPolicyExpectOrderlyRemoval = 2,
  RemovalPolicyExpectSurpriseRemoval = 3
} DEVICE_REMOVAL_POLICY, *PDEVICE_REMOVAL_POLICY;

/*
 * IRQL: PASSIVE_LEVEL. DeviceObject must be a PDO the PnP manager enumerated (else
 * STATUS_INVALID_DEVICE_REQUEST). Answered: DeviceDescription, HardwareID, CompatibleIDs,
 * DriverKeyName, EnumeratorName, PhysicalDeviceObjectName, LocationInformation, Address,
 * UINumber, BusTypeGuid, LegacyBusType, BusNumber (when the bus driver answered
 * IRP_MN_QUERY_BUS_INFORMATION), InstallState, RemovalPolicy. Every other property fails
 * with STATUS_INVALID_PARAMETER_2, as the reference documents for unhandled properties.
 * Too small a buffer: STATUS_BUFFER_TOO_SMALL with *ResultLength set to the size needed.
 */
NTKERNELAPI NTSTATUS IoGetDeviceProperty(_In_ PDEVICE_OBJECT DeviceObject, _In_ DEVICE_REGISTRY_PROPERTY DeviceProperty,
                                         _In_ ULONG BufferLength, _Out_opt_ PVOID PropertyBuffer,
                                         _Out_ PULONG ResultLength);

/*
 * IRQL: <= DISPATCH_LEVEL. Queues a re-enumeration of the PDO's device on the PnP
 * worker thread and returns at once. BusRelations re-queries the children (new ones are
 * started, missing ones surprise-removed then removed); other relation types are
 * accepted and ignored, as ndishost sends no ejection, removal or power relations query.
 */
NTKERNELAPI void IoInvalidateDeviceRelations(_In_ PDEVICE_OBJECT DeviceObject, _In_ DEVICE_RELATION_TYPE Type);

/*
 * IRQL: <= DISPATCH_LEVEL. Queues an IRP_MN_QUERY_PNP_DEVICE_STATE to the device's stack
 * on the PnP worker thread; PNP_DEVICE_FAILED or PNP_DEVICE_REMOVED in the answer makes
 * the PnP manager surprise-remove and then remove the device's drivers.
 */
NTKERNELAPI void IoInvalidateDeviceState(_In_ PDEVICE_OBJECT PhysicalDeviceObject);

/* ---- power ------------------------------------------------------------------------ */
/* What an IoCompletion routine returns to let completion go on up the stack; power
 * completion routines use it most. (Guarded: <ndishost/km/io.h> may define it first.) */
#ifndef STATUS_CONTINUE_COMPLETION
#define STATUS_CONTINUE_COMPLETION STATUS_SUCCESS
#endif

typedef void NTAPI REQUEST_POWER_COMPLETE(_In_ PDEVICE_OBJECT DeviceObject, _In_ UCHAR MinorFunction,
                                          _In_ POWER_STATE PowerState, _In_opt_ PVOID Context,
                                          _In_ PIO_STATUS_BLOCK IoStatus);
typedef REQUEST_POWER_COMPLETE *PREQUEST_POWER_COMPLETE;

/*
 * IRQL: PASSIVE_LEVEL for a DO_POWER_PAGABLE device, else <= DISPATCH_LEVEL. Same as
 * IoCallDriver (Vista and later semantics: power IRPs are not serialised per device).
 */
NTKERNELAPI NTSTATUS PoCallDriver(_In_ PDEVICE_OBJECT DeviceObject, _Inout_ PIRP Irp);

/* IRQL: <= DISPATCH_LEVEL. Signals the power manager that the driver is ready for the
 * next power IRP; kept for drivers written for Windows Server 2003 and earlier. */
NTKERNELAPI void PoStartNextPowerIrp(_Inout_ PIRP Irp);

/*
 * IRQL: <= APC_LEVEL, or <= DISPATCH_LEVEL when setting D0. Records the device object's
 * new power state (DevicePowerState only; SystemPowerState is accepted and recorded) and
 * returns the previous one.
 */
NTKERNELAPI POWER_STATE PoSetPowerState(_In_ PDEVICE_OBJECT DeviceObject, _In_ POWER_STATE_TYPE Type,
                                        _In_ POWER_STATE State);

/*
 * IRQL: <= DISPATCH_LEVEL. Allocates a power IRP (IRP_MN_SET_POWER, IRP_MN_QUERY_POWER or
 * IRP_MN_WAIT_WAKE) for the top of DeviceObject's stack, sends it and returns
 * STATUS_PENDING. When every driver has completed it, CompletionFunction (if any) runs
 * with the IRP's status, and the power manager frees the IRP.
 */
NTKERNELAPI NTSTATUS PoRequestPowerIrp(_In_ PDEVICE_OBJECT DeviceObject, _In_ UCHAR MinorFunction,
                                       _In_ POWER_STATE PowerState, _In_opt_ PREQUEST_POWER_COMPLETE CompletionFunction,
                                       _In_opt_ __drv_aliasesMem PVOID Context, _Outptr_opt_ PIRP *Irp);

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_KM_PNP_H */
