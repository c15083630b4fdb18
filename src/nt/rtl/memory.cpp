// RtlCompareMemory: the memory helper that is a routine rather than a macro.
#include "nt/rtl/ddk.hpp"

extern "C" {

// Any IRQL for resident buffers. The number of leading bytes that are equal.
SIZE_T NTAPI RtlCompareMemory(const VOID* Source1, const VOID* Source2, SIZE_T Length) {
  auto* a = static_cast<const unsigned char*>(Source1);
  auto* b = static_cast<const unsigned char*>(Source2);
  SIZE_T same = 0;
  while (same < Length && a[same] == b[same]) ++same;
  return same;
}

}  // extern "C"
