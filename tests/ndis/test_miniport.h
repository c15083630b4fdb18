/* A tiny NDIS 6.30 NDIS-WDM miniport (test_miniport.c) the registration tests load (include
 * after <ndis.h>): its
 * handlers are declared with the role typedefs, as a WDK driver's are. */
#ifndef NDISHOST_TEST_MINIPORT_H
#define NDISHOST_TEST_MINIPORT_H

#ifdef __cplusplus
extern "C" {
#endif

/* What the driver saw. */
struct TestMiniportRecord {
  int setOptionsCalls;
  void *setOptionsDriverHandle;
  void *setOptionsContext;
  int unloadCalls;
  void *registeredHandle;
  int registerStatus;
  int setOptionsResult; /* what MiniportSetOptions returns */
};
extern struct TestMiniportRecord testMiniportRecord;

/* The driver's MiniportDriverContext. */
extern int testMiniportDriverContext;

/* DriverEntry: registers with its own (revision 2, NDIS 6.30) characteristics. */
NTSTATUS NTAPI TestMiniportDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath);

/* Fills a characteristics structure (at least the NDIS 6.30 size) the way DriverEntry does:
 * NDIS_WDM_DRIVER, every required handler, no CheckForHangHandlerEx/ResetHandlerEx. */
void TestMiniportFillCharacteristics(void *Characteristics);
/* Handlers for tests that add a hang check. */
void *TestMiniportCheckForHang(void);
void *TestMiniportReset(void);

#ifdef __cplusplus
}
#endif

#endif
