// SLIST: LIFO behaviour, header encoding, and correctness under concurrent push/pop;
// ExInterlocked* list helpers under their spin lock.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "nt/ke/runtime.hpp"
#include "nt/rtl/ddk.hpp"
#include "nt/support/violation.hpp"

using namespace ndishost::nt;

namespace {

struct alignas(16) Node {
  SLIST_ENTRY entry;
  std::atomic<bool> held{false};
  int id = 0;
};

}  // namespace

TEST(SList, PushPopFlushDepth) {
  SLIST_HEADER head;
  InitializeSListHead(&head);
  EXPECT_EQ(QueryDepthSList(&head), 0);
  EXPECT_EQ(InterlockedPopEntrySList(&head), nullptr);
  Node a, b, c;
  EXPECT_EQ(InterlockedPushEntrySList(&head, &a.entry), nullptr);
  EXPECT_EQ(InterlockedPushEntrySList(&head, &b.entry), &a.entry);
  EXPECT_EQ(ExInterlockedPushEntrySList(&head, &c.entry, nullptr), &b.entry);
  EXPECT_EQ(QueryDepthSList(&head), 3);
  EXPECT_EQ(FirstEntrySList(&head), &c.entry);
  // Header encoding: Depth in bits 0-15, Sequence above it, first entry in Region.
  EXPECT_EQ(head.HeaderX64.Depth, 3u);
  EXPECT_EQ(head.HeaderX64.Sequence, 3u);
  EXPECT_EQ(head.HeaderX64.NextEntry << 4, reinterpret_cast<ULONGLONG>(&c.entry));
  EXPECT_EQ(InterlockedPopEntrySList(&head), &c.entry);
  EXPECT_EQ(ExInterlockedPopEntrySList(&head, nullptr), &b.entry);
  PSLIST_ENTRY rest = InterlockedFlushSList(&head);
  EXPECT_EQ(rest, &a.entry);
  EXPECT_EQ(rest->Next, nullptr);
  EXPECT_EQ(QueryDepthSList(&head), 0);
  EXPECT_EQ(InterlockedFlushSList(&head), nullptr);
}

TEST(SList, MisalignedEntriesAreRefused) {
  RecordViolationsScope record;
  SLIST_HEADER head;
  InitializeSListHead(&head);
  alignas(16) unsigned char storage[64];
  auto* misaligned = reinterpret_cast<PSLIST_ENTRY>(storage + 8);
  EXPECT_EQ(InterlockedPushEntrySList(&head, misaligned), nullptr);
  EXPECT_EQ(QueryDepthSList(&head), 0);
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "slist.misaligned");
}

// Two threads each pop and push 100000 times over a shared set of nodes: every node must
// be held by at most one thread at a time and all must be back at the end.
TEST(SList, ConcurrentPushPopLosesAndDuplicatesNothing) {
  constexpr int kNodes = 64;
  constexpr int kRounds = 100000;
  auto nodes = std::make_unique<Node[]>(kNodes);
  SLIST_HEADER head;
  InitializeSListHead(&head);
  for (int i = 0; i < kNodes; ++i) {
    nodes[i].id = i;
    InterlockedPushEntrySList(&head, &nodes[i].entry);
  }
  std::atomic<int> duplicates{0};
  std::atomic<long> emptyPops{0};
  auto worker = [&] {
    for (int round = 0; round < kRounds; ++round) {
      PSLIST_ENTRY entry = InterlockedPopEntrySList(&head);
      if (entry == nullptr) {
        emptyPops.fetch_add(1);
        continue;
      }
      auto* node = CONTAINING_RECORD(entry, Node, entry);
      if (node->held.exchange(true)) duplicates.fetch_add(1);
      node->held.store(false);
      InterlockedPushEntrySList(&head, entry);
    }
  };
  std::thread first(worker), second(worker);
  first.join();
  second.join();
  EXPECT_EQ(duplicates.load(), 0);
  EXPECT_EQ(QueryDepthSList(&head), kNodes);
  std::set<int> seen;
  for (PSLIST_ENTRY e = InterlockedFlushSList(&head); e != nullptr; e = e->Next) {
    seen.insert(CONTAINING_RECORD(e, Node, entry)->id);
  }
  EXPECT_EQ(seen.size(), std::size_t(kNodes));
}

TEST(ExInterlockedLists, InsertRemoveUnderTheSpinLock) {
  Runtime runtime;
  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  LIST_ENTRY head;
  InitializeListHead(&head);
  LIST_ENTRY a, b, c;
  EXPECT_EQ(ExInterlockedInsertTailList(&head, &a, &lock), nullptr);
  EXPECT_EQ(ExInterlockedInsertTailList(&head, &b, &lock), &a);
  EXPECT_EQ(ExInterlockedInsertHeadList(&head, &c, &lock), &a);  // previous first entry
  EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), &c);
  EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), &a);
  EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), &b);
  EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), nullptr);
  EXPECT_EQ(lock, 0u);  // released
  EXPECT_EQ(KeGetCurrentIrql(), PASSIVE_LEVEL);

  SINGLE_LIST_ENTRY single{nullptr}, x, y;
  EXPECT_EQ(ExInterlockedPushEntryList(&single, &x, &lock), nullptr);
  EXPECT_EQ(ExInterlockedPushEntryList(&single, &y, &lock), &x);
  EXPECT_EQ(ExInterlockedPopEntryList(&single, &lock), &y);
  EXPECT_EQ(ExInterlockedPopEntryList(&single, &lock), &x);
  EXPECT_EQ(ExInterlockedPopEntryList(&single, &lock), nullptr);

  // At DISPATCH_LEVEL the lock is taken without changing IRQL.
  KIRQL old;
  KeRaiseIrql(DISPATCH_LEVEL, &old);
  EXPECT_EQ(ExInterlockedInsertTailList(&head, &a, &lock), nullptr);
  EXPECT_EQ(KeGetCurrentIrql(), DISPATCH_LEVEL);
  EXPECT_EQ(ExInterlockedRemoveHeadList(&head, &lock), &a);
  KeLowerIrql(old);
}

TEST(ExInterlockedLists, ConcurrentProducersAndConsumers) {
  Runtime runtime;
  KSPIN_LOCK lock;
  KeInitializeSpinLock(&lock);
  LIST_ENTRY head;
  InitializeListHead(&head);
  constexpr int kPerThread = 5000;
  std::vector<LIST_ENTRY> entries(2 * kPerThread);
  std::atomic<int> consumed{0};
  auto producer = [&](int base) {
    for (int i = 0; i < kPerThread; ++i) ExInterlockedInsertTailList(&head, &entries[base + i], &lock);
  };
  auto consumer = [&] {
    while (consumed.load() < 2 * kPerThread) {
      if (ExInterlockedRemoveHeadList(&head, &lock) != nullptr) consumed.fetch_add(1);
    }
  };
  std::thread p1(producer, 0), p2(producer, kPerThread), c1(consumer), c2(consumer);
  p1.join();
  p2.join();
  c1.join();
  c2.join();
  EXPECT_EQ(consumed.load(), 2 * kPerThread);
  EXPECT_TRUE(IsListEmpty(&head));
}
