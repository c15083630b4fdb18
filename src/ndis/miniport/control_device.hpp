// Control devices: what NdisRegisterDeviceEx creates for a miniport driver (a named,
// non-PnP device object with the driver's own dispatch routines, for IOCTLs from
// applications and tools).
//
// NDIS creates these device objects on its own driver object ("\Driver\NDIS"), not on the
// miniport's: the I/O manager would otherwise refuse to unload the miniport while one is
// left, and a miniport that registers its control device in DriverEntry and deregisters it
// in MiniportDriverUnload (a documented pattern) could never unload. NDIS dispatches each
// IRP to the MajorFunctions the driver registered for that device; the driver sees the same
// DEVICE_OBJECT and the same reserved extension either way.
#pragma once

#include "ndis/core/ndis_ddk.hpp"

namespace ndishost::ndis {

// At MiniportDriverUnload's return: every device the driver registered and did not
// deregister is reported ("ndis.device-not-deregistered", attributed to `unloadRoutine`)
// and deregistered.
void deregisterLeftoverDevices(PDRIVER_OBJECT miniportDriverObject, const void* unloadRoutine);

}  // namespace ndishost::ndis
