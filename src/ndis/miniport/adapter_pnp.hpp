// The adapter's side of the device stack: NDIS's AddDevice and IRP dispatch for a
// registered miniport's driver object (miniport_driver.cpp points the driver object here).
#pragma once

#include "ndis/core/ndis_ddk.hpp"

namespace ndishost::ndis {

class MiniportDriver;

// AddDevice: creates the adapter's FDO, attaches it to `pdo`, builds the adapter.
NTSTATUS addAdapterDevice(MiniportDriver& driver, PDEVICE_OBJECT pdo);
// Every IRP sent to a device object of a registered miniport driver.
NTSTATUS dispatchAdapterIrp(PDEVICE_OBJECT device, PIRP irp);

}  // namespace ndishost::ndis
