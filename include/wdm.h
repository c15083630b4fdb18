/*
 * wdm.h -- the Windows Driver Model DDIs that ndishost implements.
 *
 * One include for a WDM driver, as in the WDK. The declarations are grouped by kernel
 * component in ndishost/km/ so each part stays readable; drivers never include those
 * directly. docs/DDI.md lists every routine implemented.
 */
#ifndef NDISHOST_WDM_H
#define NDISHOST_WDM_H

#ifndef _WDMDDK_
#define _WDMDDK_
#endif

#include <ntdef.h>
#include <ntstatus.h>
#include <ndishost/km/wdm_types.h>
#include <ndishost/km/rtl.h>
#include <ndishost/km/ke.h>
#include <ndishost/km/exsync.h>
#include <ndishost/km/ex.h>
#include <ndishost/km/mm.h>
#include <ndishost/km/io.h>
#include <ndishost/km/pnp.h>

#endif /* NDISHOST_WDM_H */
