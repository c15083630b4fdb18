/* Driver-side use of the DDK's debug and list macros, compiled as C with DBG=1 the way a
 * checked driver build compiles them. The C++ tests call these functions. */
#include <wdm.h>

#if !DBG
#error "this file is compiled with DBG=1"
#endif

int c_assert_true(void) {
  int evaluated = 0;
  ASSERT(++evaluated == 1);
  return evaluated;
}

void c_assert_false(void) { ASSERT(1 + 1 == 3); }

void c_assert_message(void) { ASSERTMSG("the message", 0); }

void c_nt_assert_false(void) { NT_ASSERT(sizeof(int) == 3); }

int c_nt_verify(int value) { return NT_VERIFY(value != 0) ? 1 : 0; }

void c_kd_print(int value) {
  KdPrint(("kdprint %d\n", value));
  KdPrintEx((DPFLTR_IHVNETWORK_ID, DPFLTR_ERROR_LEVEL, "kdprintex %s\n", "error"));
}

/* A list built and torn down with the inline helpers, entirely in C. */
typedef struct {
  LIST_ENTRY Link;
  int Value;
} C_ITEM;

int c_list_roundtrip(void) {
  LIST_ENTRY head;
  C_ITEM items[3];
  int i, sum = 0;
  InitializeListHead(&head);
  for (i = 0; i < 3; ++i) {
    items[i].Value = i + 1;
    InsertTailList(&head, &items[i].Link);
  }
  while (!IsListEmpty(&head)) {
    PLIST_ENTRY entry = RemoveHeadList(&head);
    sum = sum * 10 + CONTAINING_RECORD(entry, C_ITEM, Link)->Value;
  }
  return sum; /* 123: FIFO order */
}

LONG c_interlocked(void) {
  LONG volatile value = 5;
  InterlockedIncrement(&value);
  InterlockedExchangeAdd(&value, 10);
  return InterlockedCompareExchange(&value, 100, 16) == 16 ? value : -1;
}
