/* ndishost/km/ntddk_extras.h -- part of <wdm.h>; see wdm.h. */
#ifndef NDISHOST_KM_NTDDK_EXTRAS_H
#define NDISHOST_KM_NTDDK_EXTRAS_H

#include <ndishost/km/wdm_types.h>

NDISHOST_EXTERN_C_BEGIN

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_KM_NTDDK_EXTRAS_H */
