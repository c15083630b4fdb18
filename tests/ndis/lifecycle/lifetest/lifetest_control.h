/*
 * lifetest_control.h -- how the lifecycle tests steer and observe the lifetest miniport.
 *
 * The driver exports one LIFETEST_CONTROL (LifeTestControl). A test maps the driver image
 * itself first (dlopen, so the PnP manager's load finds the same image), sets the behaviour
 * members, plugs a device and reads the observation members. Shared by the driver (C) and
 * the tests (C++).
 */
#ifndef LIFETEST_CONTROL_H
#define LIFETEST_CONTROL_H

#define LIFETEST_HARDWARE_ID "NDISTEST\\LIFETEST"
#define LIFETEST_MAX_EVENTS 256

/* How MiniportInitializeEx calls NdisMSetMiniportAttributes. */
typedef enum _LIFETEST_ATTRIBUTES_MODE {
  LifeTestAttributesNormal = 0,      /* registration, general, offload */
  LifeTestAttributesNone,            /* none at all */
  LifeTestAttributesRegistrationOnly,
  LifeTestAttributesGeneralFirst,    /* general before registration (then registration, general) */
  LifeTestAttributesBadHeader,       /* registration with a bad revision, a bad size, then good ones */
  LifeTestAttributesBadOffload       /* registration, general, offload without capabilities, then good */
} LIFETEST_ATTRIBUTES_MODE;

/* Event letters in Events[], in call order:
 *   I MiniportInitializeEx   R MiniportRestart   r restart completed (NdisMRestartComplete)
 *   P MiniportPause          p pause completed (NdisMPauseComplete)
 *   H MiniportHaltEx         S MiniportShutdownEx   E MiniportDevicePnPEventNotify
 *   Q OID_PNP_QUERY_POWER    W OID_PNP_SET_POWER
 *   a/b/c/d  the tests' AdapterObserver: arrived, restarted, pausing, departing */
typedef struct _LIFETEST_CONTROL {
  /* ---- behaviour (the test sets these before plugging) ---- */
  NDIS_STATUS InitializeStatus;  /* returned after the attributes were set */
  LONG AttributesMode;           /* LIFETEST_ATTRIBUTES_MODE */
  NDIS_STATUS RestartStatus;     /* MiniportRestart's result (or NdisMRestartComplete's) */
  BOOLEAN PendRestart;           /* pend MiniportRestart; a 2 ms timer completes it */
  BOOLEAN PendPause;             /* pend MiniportPause; a 2 ms timer completes it */

  /* ---- observations ---- */
  volatile LONG InitializeCalls;
  volatile LONG RestartCalls;
  volatile LONG PauseCalls;
  volatile LONG HaltCalls;
  volatile LONG ShutdownCalls;
  volatile LONG PnpEventCalls;
  volatile LONG Adapters; /* initialized and not yet halted */
  volatile LONG UnexpectedSends;
  NDIS_HALT_ACTION LastHaltAction;
  NDIS_SHUTDOWN_ACTION LastShutdownAction;
  NDIS_DEVICE_PNP_EVENT LastPnpEvent;
  ULONG LastPauseReason;
  NDIS_DEVICE_POWER_STATE LastSetPower;
  NDIS_STATUS AttributeStatus[4]; /* each NdisMSetMiniportAttributes result, in call order */

  NDIS_OBJECT_HEADER InitHeader;
  NET_IFINDEX IfIndex;
  NET_LUID NetLuid;
  BOOLEAN HadAllocatedResources;
  BOOLEAN HadPortAuthStates;
  NDIS_PORT_AUTHENTICATION_PARAMETERS PortAuthStates;
  NDIS_HANDLE DriverContextSeen; /* MiniportDriverContext as MiniportInitializeEx got it */
  NDIS_HANDLE AdapterHandle;

  PDEVICE_OBJECT Pdo, Fdo, Next; /* NdisMGetDeviceProperty during MiniportInitializeEx */
  PDEVICE_OBJECT NextOnly;       /* a second call with only NextDeviceObject */
  NTSTATUS InitPingStatus;       /* an IRP to Next during MiniportInitializeEx */
  NTSTATUS SurprisePingStatus;   /* an IRP to Next in MiniportDevicePnPEventNotify */
  ULONG DriverContextTag;        /* what the driver context points at */

  volatile LONG EventCount;
  char Events[LIFETEST_MAX_EVENTS];
} LIFETEST_CONTROL, *PLIFETEST_CONTROL;

#ifdef __cplusplus
extern "C" {
#endif
/* Appends one event letter (any IRQL). */
void LifeTestRecordEvent(char Event);
#ifdef __cplusplus
}
#endif

#endif /* LIFETEST_CONTROL_H */
