/*
 * ntddk.h -- <wdm.h> plus the few non-WDM kernel routines ndishost offers.
 */
#ifndef NDISHOST_NTDDK_H
#define NDISHOST_NTDDK_H

#ifndef _NTDDK_
#define _NTDDK_
#endif

#include <wdm.h>
#include <ndishost/km/ntddk_extras.h>

#endif /* NDISHOST_NTDDK_H */
