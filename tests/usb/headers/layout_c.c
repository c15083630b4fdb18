/* The USB client headers as an NDIS-WDM miniport sees them, after <ndis.h>, with the
 * layout checks of layout_checks.inc. */
#define NDIS_WDM 1
#define NDIS630_MINIPORT 1
#include <ndis.h>
#include <usb.h>
#include <usbdlib.h>
#include <usbioctl.h>
#include <usbdi.h>

#include "layout_checks.inc"
