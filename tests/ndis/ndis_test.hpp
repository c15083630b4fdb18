// What every NDIS library test includes: <ndis.h> as an NDIS 6.89 NDIS-WDM miniport sees it
// (the library reads every revision; tests that need an older one use test_miniport.c),
// the runtime, and small helpers.
#pragma once

#include "nt/rtl/ddk.hpp"

#define NDIS_MINIPORT_DRIVER 1
#define NDIS689_MINIPORT 1
#define NDIS_WDM 1
#include <ndis.h>
#undef min
#undef max

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "nt/ke/runtime.hpp"
#include "nt/support/violation.hpp"

namespace ndistest {

// The rules recorded in a scope, in order.
inline std::vector<std::string> rules(ndishost::nt::RecordViolationsScope& scope) {
  std::vector<std::string> names;
  for (const auto& v : scope.take()) names.push_back(v.rule);
  return names;
}

inline bool contains(const std::vector<std::string>& names, const std::string& rule) {
  return std::find(names.begin(), names.end(), rule) != names.end();
}

// An NBL pool with the given parameters (header filled in).
inline NDIS_HANDLE makeNblPool(USHORT contextSize, BOOLEAN allocateNetBuffer, ULONG dataSize, UCHAR protocolId = 0) {
  NET_BUFFER_LIST_POOL_PARAMETERS p = {};
  p.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  p.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
  p.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
  p.ProtocolId = protocolId;
  p.fAllocateNetBuffer = allocateNetBuffer;
  p.ContextSize = contextSize;
  p.PoolTag = 'tseT';
  p.DataSize = dataSize;
  return NdisAllocateNetBufferListPool(nullptr, &p);
}

inline NDIS_HANDLE makeNbPool(ULONG dataSize) {
  NET_BUFFER_POOL_PARAMETERS p = {};
  p.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  p.Header.Revision = NET_BUFFER_POOL_PARAMETERS_REVISION_1;
  p.Header.Size = NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1;
  p.PoolTag = 'bNsT';
  p.DataSize = dataSize;
  return NdisAllocateNetBufferPool(nullptr, &p);
}

// A buffer with an MDL over it (IoAllocateMdl + MmBuildMdlForNonPagedPool).
struct MdlBuffer {
  std::vector<UCHAR> bytes;
  PMDL mdl = nullptr;
  explicit MdlBuffer(std::size_t size, UCHAR fill = 0) : bytes(size, fill) {
    mdl = IoAllocateMdl(bytes.data(), static_cast<ULONG>(size), FALSE, FALSE, nullptr);
    MmBuildMdlForNonPagedPool(mdl);
  }
  ~MdlBuffer() { IoFreeMdl(mdl); }
  MdlBuffer(const MdlBuffer&) = delete;
  MdlBuffer& operator=(const MdlBuffer&) = delete;
};

class NdisTest : public ::testing::Test {
 protected:
  ndishost::nt::Runtime runtime_;
};

}  // namespace ndistest
