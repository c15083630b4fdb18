/*
 * ndishost/ndis/version.h -- which NDIS 6 version a driver is built for.
 *
 * A miniport driver says NDIS_MINIPORT_DRIVER plus exactly one NDIS6xx_MINIPORT; a protocol
 * driver says exactly one NDIS6xx. From that this header derives the version numbers the
 * driver reports at registration (NDIS_MINIPORT_MAJOR/MINOR_VERSION,
 * NDIS_PROTOCOL_MAJOR/MINOR_VERSION) and the NDIS_SUPPORT_NDISxxx switches the rest of
 * <ndis.h> tests. Every NDIS_SUPPORT_NDISxxx is 0 or 1 and a newer one implies all older
 * ones, so a test for an older feature stays true in a newer build.
 *
 * ndishost implements NDIS 6 only: an NDIS 5 (or older) driver stops here with a message.
 * The NDIS library itself builds with NDIS_WRAPPER, which selects the newest version.
 *
 * Included by <ndis.h> and <ntddndis.h>; not meant to be included on its own.
 */
#ifndef NDISHOST_NDIS_VERSION_H
#define NDISHOST_NDIS_VERSION_H

#if defined(NDIS_WRAPPER) && NDIS_WRAPPER
#define NDISHOST_WRAPPER 1
#else
#define NDISHOST_WRAPPER 0
#endif

/* NDIS 5.x and older drivers are not supported: say so instead of failing later. */
#if defined(NDIS50_MINIPORT) || defined(NDIS51_MINIPORT) || defined(NDIS52_MINIPORT) || \
    defined(NDIS40_MINIPORT) || defined(NDIS30_MINIPORT)
#error "ndishost supports NDIS 6 miniport drivers only: define one of NDIS60_MINIPORT .. NDIS689_MINIPORT instead of an NDIS 5 or older version"
#endif
#if defined(NDIS50) || defined(NDIS51) || defined(NDIS40) || defined(NDIS30)
#error "ndishost supports NDIS 6 protocol drivers only: define one of NDIS60 .. NDIS689 instead of an NDIS 5 or older version"
#endif

/* ---- miniport version ---------------------------------------------------------------- */
/* Count the version macros so that two of them at once is an error, not a silent pick. */
#if defined(NDIS60_MINIPORT) + defined(NDIS61_MINIPORT) + defined(NDIS620_MINIPORT) +           \
        defined(NDIS630_MINIPORT) + defined(NDIS640_MINIPORT) + defined(NDIS650_MINIPORT) +       \
        defined(NDIS651_MINIPORT) + defined(NDIS660_MINIPORT) + defined(NDIS670_MINIPORT) +       \
        defined(NDIS680_MINIPORT) + defined(NDIS681_MINIPORT) + defined(NDIS682_MINIPORT) +       \
        defined(NDIS683_MINIPORT) + defined(NDIS684_MINIPORT) + defined(NDIS685_MINIPORT) +       \
        defined(NDIS686_MINIPORT) + defined(NDIS687_MINIPORT) + defined(NDIS688_MINIPORT) +       \
        defined(NDIS689_MINIPORT) >                                                               \
    1
#error "more than one NDIS6xx_MINIPORT version macro is defined: define exactly one"
#endif

#if defined(NDIS60_MINIPORT)
#define NDISHOST_MP_MINOR 0
#elif defined(NDIS61_MINIPORT)
#define NDISHOST_MP_MINOR 1
#elif defined(NDIS620_MINIPORT)
#define NDISHOST_MP_MINOR 20
#elif defined(NDIS630_MINIPORT)
#define NDISHOST_MP_MINOR 30
#elif defined(NDIS640_MINIPORT)
#define NDISHOST_MP_MINOR 40
#elif defined(NDIS650_MINIPORT)
#define NDISHOST_MP_MINOR 50
#elif defined(NDIS651_MINIPORT)
#define NDISHOST_MP_MINOR 51
#elif defined(NDIS660_MINIPORT)
#define NDISHOST_MP_MINOR 60
#elif defined(NDIS670_MINIPORT)
#define NDISHOST_MP_MINOR 70
#elif defined(NDIS680_MINIPORT)
#define NDISHOST_MP_MINOR 80
#elif defined(NDIS681_MINIPORT)
#define NDISHOST_MP_MINOR 81
#elif defined(NDIS682_MINIPORT)
#define NDISHOST_MP_MINOR 82
#elif defined(NDIS683_MINIPORT)
#define NDISHOST_MP_MINOR 83
#elif defined(NDIS684_MINIPORT)
#define NDISHOST_MP_MINOR 84
#elif defined(NDIS685_MINIPORT)
#define NDISHOST_MP_MINOR 85
#elif defined(NDIS686_MINIPORT)
#define NDISHOST_MP_MINOR 86
#elif defined(NDIS687_MINIPORT)
#define NDISHOST_MP_MINOR 87
#elif defined(NDIS688_MINIPORT)
#define NDISHOST_MP_MINOR 88
#elif defined(NDIS689_MINIPORT)
#define NDISHOST_MP_MINOR 89
#endif

#if defined(NDIS_MINIPORT_DRIVER) && !defined(NDISHOST_MP_MINOR) && !NDISHOST_WRAPPER
#error "NDIS_MINIPORT_DRIVER is defined but no NDIS 6 miniport version is: define one of NDIS60_MINIPORT, NDIS61_MINIPORT, NDIS620_MINIPORT, NDIS630_MINIPORT, ... NDIS689_MINIPORT"
#endif
#if defined(NDISHOST_MP_MINOR) && !defined(NDIS_MINIPORT_DRIVER)
/* The WDK takes an NDIS6xx_MINIPORT macro to mean a miniport build, so do the same. */
#define NDIS_MINIPORT_DRIVER 1
#endif
#if defined(NDIS_WDM) && NDIS_WDM && !defined(NDIS_MINIPORT_DRIVER) && !NDISHOST_WRAPPER
#error "NDIS_WDM=1 describes a miniport driver with a WDM lower edge: also define NDIS_MINIPORT_DRIVER and one of NDIS60_MINIPORT .. NDIS689_MINIPORT"
#endif

#if defined(NDISHOST_MP_MINOR)
#if defined(NDIS_MINIPORT_MAJOR_VERSION) && (NDIS_MINIPORT_MAJOR_VERSION != 6)
#error "NDIS_MINIPORT_MAJOR_VERSION conflicts with the NDIS6xx_MINIPORT macro"
#endif
#if defined(NDIS_MINIPORT_MINOR_VERSION) && (NDIS_MINIPORT_MINOR_VERSION != NDISHOST_MP_MINOR)
#error "NDIS_MINIPORT_MINOR_VERSION conflicts with the NDIS6xx_MINIPORT macro"
#endif
#ifndef NDIS_MINIPORT_MAJOR_VERSION
#define NDIS_MINIPORT_MAJOR_VERSION 6
#endif
#ifndef NDIS_MINIPORT_MINOR_VERSION
#define NDIS_MINIPORT_MINOR_VERSION NDISHOST_MP_MINOR
#endif
#elif NDISHOST_WRAPPER
#define NDIS_MINIPORT_MAJOR_VERSION 6
#define NDIS_MINIPORT_MINOR_VERSION 89
#define NDISHOST_MP_MINOR 89
#endif

/* ---- protocol version ---------------------------------------------------------------- */
#if defined(NDIS60) + defined(NDIS61) + defined(NDIS620) + defined(NDIS630) + defined(NDIS640) + \
        defined(NDIS650) + defined(NDIS651) + defined(NDIS660) + defined(NDIS670) +              \
        defined(NDIS680) + defined(NDIS681) + defined(NDIS682) + defined(NDIS683) +              \
        defined(NDIS684) + defined(NDIS685) + defined(NDIS686) + defined(NDIS687) +              \
        defined(NDIS688) + defined(NDIS689) >                                                    \
    1
#error "more than one NDIS6xx protocol version macro is defined: define exactly one"
#endif

#if defined(NDIS60)
#define NDISHOST_PROT_MINOR 0
#elif defined(NDIS61)
#define NDISHOST_PROT_MINOR 1
#elif defined(NDIS620)
#define NDISHOST_PROT_MINOR 20
#elif defined(NDIS630)
#define NDISHOST_PROT_MINOR 30
#elif defined(NDIS640)
#define NDISHOST_PROT_MINOR 40
#elif defined(NDIS650)
#define NDISHOST_PROT_MINOR 50
#elif defined(NDIS651)
#define NDISHOST_PROT_MINOR 51
#elif defined(NDIS660)
#define NDISHOST_PROT_MINOR 60
#elif defined(NDIS670)
#define NDISHOST_PROT_MINOR 70
#elif defined(NDIS680)
#define NDISHOST_PROT_MINOR 80
#elif defined(NDIS681)
#define NDISHOST_PROT_MINOR 81
#elif defined(NDIS682)
#define NDISHOST_PROT_MINOR 82
#elif defined(NDIS683)
#define NDISHOST_PROT_MINOR 83
#elif defined(NDIS684)
#define NDISHOST_PROT_MINOR 84
#elif defined(NDIS685)
#define NDISHOST_PROT_MINOR 85
#elif defined(NDIS686)
#define NDISHOST_PROT_MINOR 86
#elif defined(NDIS687)
#define NDISHOST_PROT_MINOR 87
#elif defined(NDIS688)
#define NDISHOST_PROT_MINOR 88
#elif defined(NDIS689)
#define NDISHOST_PROT_MINOR 89
#elif NDISHOST_WRAPPER
#define NDISHOST_PROT_MINOR 89
#endif

#if defined(NDISHOST_PROT_MINOR)
#define NDIS_PROTOCOL_MAJOR_VERSION 6
#define NDIS_PROTOCOL_MINOR_VERSION NDISHOST_PROT_MINOR
#endif

#if !defined(NDISHOST_MP_MINOR) && !defined(NDISHOST_PROT_MINOR)
#error "no NDIS version selected: a miniport driver defines NDIS_MINIPORT_DRIVER and one of NDIS60_MINIPORT .. NDIS689_MINIPORT; a protocol driver defines one of NDIS60 .. NDIS689"
#endif

/* The newer of the two versions decides which declarations are visible. */
#if !defined(NDISHOST_MP_MINOR)
#define NDISHOST_NDIS_MINOR NDISHOST_PROT_MINOR
#elif !defined(NDISHOST_PROT_MINOR)
#define NDISHOST_NDIS_MINOR NDISHOST_MP_MINOR
#elif NDISHOST_MP_MINOR > NDISHOST_PROT_MINOR
#define NDISHOST_NDIS_MINOR NDISHOST_MP_MINOR
#else
#define NDISHOST_NDIS_MINOR NDISHOST_PROT_MINOR
#endif

/* ---- NDIS_SUPPORT_NDISxxx ------------------------------------------------------------ */
/* A driver may force one on (the WDK allows that); the chain below then turns on every older
 * one. Left undefined, each follows the selected version. */
#define NDISHOST_SUPPORT_(minor) (NDISHOST_NDIS_MINOR >= (minor))

#ifndef NDIS_SUPPORT_NDIS689
#define NDIS_SUPPORT_NDIS689 NDISHOST_SUPPORT_(89)
#endif
#ifndef NDIS_SUPPORT_NDIS688
#define NDIS_SUPPORT_NDIS688 (NDIS_SUPPORT_NDIS689 || NDISHOST_SUPPORT_(88))
#endif
#ifndef NDIS_SUPPORT_NDIS687
#define NDIS_SUPPORT_NDIS687 (NDIS_SUPPORT_NDIS688 || NDISHOST_SUPPORT_(87))
#endif
#ifndef NDIS_SUPPORT_NDIS686
#define NDIS_SUPPORT_NDIS686 (NDIS_SUPPORT_NDIS687 || NDISHOST_SUPPORT_(86))
#endif
#ifndef NDIS_SUPPORT_NDIS685
#define NDIS_SUPPORT_NDIS685 (NDIS_SUPPORT_NDIS686 || NDISHOST_SUPPORT_(85))
#endif
#ifndef NDIS_SUPPORT_NDIS684
#define NDIS_SUPPORT_NDIS684 (NDIS_SUPPORT_NDIS685 || NDISHOST_SUPPORT_(84))
#endif
#ifndef NDIS_SUPPORT_NDIS683
#define NDIS_SUPPORT_NDIS683 (NDIS_SUPPORT_NDIS684 || NDISHOST_SUPPORT_(83))
#endif
#ifndef NDIS_SUPPORT_NDIS682
#define NDIS_SUPPORT_NDIS682 (NDIS_SUPPORT_NDIS683 || NDISHOST_SUPPORT_(82))
#endif
#ifndef NDIS_SUPPORT_NDIS681
#define NDIS_SUPPORT_NDIS681 (NDIS_SUPPORT_NDIS682 || NDISHOST_SUPPORT_(81))
#endif
#ifndef NDIS_SUPPORT_NDIS680
#define NDIS_SUPPORT_NDIS680 (NDIS_SUPPORT_NDIS681 || NDISHOST_SUPPORT_(80))
#endif
#ifndef NDIS_SUPPORT_NDIS670
#define NDIS_SUPPORT_NDIS670 (NDIS_SUPPORT_NDIS680 || NDISHOST_SUPPORT_(70))
#endif
#ifndef NDIS_SUPPORT_NDIS660
#define NDIS_SUPPORT_NDIS660 (NDIS_SUPPORT_NDIS670 || NDISHOST_SUPPORT_(60))
#endif
#ifndef NDIS_SUPPORT_NDIS651
#define NDIS_SUPPORT_NDIS651 (NDIS_SUPPORT_NDIS660 || NDISHOST_SUPPORT_(51))
#endif
#ifndef NDIS_SUPPORT_NDIS650
#define NDIS_SUPPORT_NDIS650 (NDIS_SUPPORT_NDIS651 || NDISHOST_SUPPORT_(50))
#endif
#ifndef NDIS_SUPPORT_NDIS640
#define NDIS_SUPPORT_NDIS640 (NDIS_SUPPORT_NDIS650 || NDISHOST_SUPPORT_(40))
#endif
#ifndef NDIS_SUPPORT_NDIS630
#define NDIS_SUPPORT_NDIS630 (NDIS_SUPPORT_NDIS640 || NDISHOST_SUPPORT_(30))
#endif
#ifndef NDIS_SUPPORT_NDIS620
#define NDIS_SUPPORT_NDIS620 (NDIS_SUPPORT_NDIS630 || NDISHOST_SUPPORT_(20))
#endif
#ifndef NDIS_SUPPORT_NDIS61
#define NDIS_SUPPORT_NDIS61 (NDIS_SUPPORT_NDIS620 || NDISHOST_SUPPORT_(1))
#endif
#ifndef NDIS_SUPPORT_NDIS6
#define NDIS_SUPPORT_NDIS6 1
#endif

/* Version words as NdisGetVersion and the characteristics' Major/MinorNdisVersion use them. */
#define NDIS_RUNTIME_VERSION_60 ((6 << 16) | 0)
#define NDIS_RUNTIME_VERSION_61 ((6 << 16) | 1)
#define NDIS_RUNTIME_VERSION_620 ((6 << 16) | 20)
#define NDIS_RUNTIME_VERSION_630 ((6 << 16) | 30)
#define NDIS_RUNTIME_VERSION_640 ((6 << 16) | 40)
#define NDIS_RUNTIME_VERSION_650 ((6 << 16) | 50)
#define NDIS_RUNTIME_VERSION_651 ((6 << 16) | 51)
#define NDIS_RUNTIME_VERSION_660 ((6 << 16) | 60)
#define NDIS_RUNTIME_VERSION_670 ((6 << 16) | 70)
#define NDIS_RUNTIME_VERSION_680 ((6 << 16) | 80)
#define NDIS_RUNTIME_VERSION_681 ((6 << 16) | 81)
#define NDIS_RUNTIME_VERSION_682 ((6 << 16) | 82)
#define NDIS_RUNTIME_VERSION_683 ((6 << 16) | 83)
#define NDIS_RUNTIME_VERSION_684 ((6 << 16) | 84)
#define NDIS_RUNTIME_VERSION_685 ((6 << 16) | 85)
#define NDIS_RUNTIME_VERSION_686 ((6 << 16) | 86)
#define NDIS_RUNTIME_VERSION_687 ((6 << 16) | 87)
#define NDIS_RUNTIME_VERSION_688 ((6 << 16) | 88)
#define NDIS_RUNTIME_VERSION_689 ((6 << 16) | 89)

#endif /* NDISHOST_NDIS_VERSION_H */
