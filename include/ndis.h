/*
 * ndis.h -- the NDIS 6 driver interface ndishost implements, for NDIS 6.0 .. 6.89 miniport
 * drivers with a WDM lower edge (NDIS_WDM=1) and for protocol drivers.
 *
 * A driver selects its version first, exactly as with the WDK:
 *     #define NDIS_MINIPORT_DRIVER 1
 *     #define NDIS630_MINIPORT 1     (or NDIS60_MINIPORT .. NDIS689_MINIPORT)
 *     #define NDIS_WDM 1             (a miniport that sends IRPs to a bus driver)
 *     #include <ndis.h>
 * or, for a protocol driver, NDIS60 .. NDIS689. The declarations are grouped by topic in
 * ndishost/ndis/ the way the reference groups them; drivers never include those directly.
 * Only DDIs the NDIS library implements are declared (docs/DDI.md lists them).
 */
#ifndef NDISHOST_NDIS_H
#define NDISHOST_NDIS_H

#define NDISHOST_NDIS_H_INCLUDING 1
#include <ndishost/ndis/version.h>

/* The kernel headers: an NDIS-WDM miniport calls Io*, Ke* and Usb* routines directly. */
#include <ntddk.h>
#include <ntddndis.h>
#undef NDISHOST_NDIS_H_INCLUDING

#include <ndishost/ndis/types.h>
#include <ndishost/ndis/nblinfo.h>
#include <ndishost/ndis/oidrequest.h>
#include <ndishost/ndis/nbl.h>
#include <ndishost/ndis/mdl.h>
#include <ndishost/ndis/sync.h>
#include <ndishost/ndis/config.h>
#include <ndishost/ndis/netpnp.h>
#include <ndishost/ndis/miniport.h>
#include <ndishost/ndis/protocol.h>

#endif /* NDISHOST_NDIS_H */
