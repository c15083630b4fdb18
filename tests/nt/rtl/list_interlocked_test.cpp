// The inline list helpers (with their corruption checks) and interlocked operations.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "nt/rtl/ddk.hpp"
#include "nt/support/violation.hpp"

using namespace ndishost::nt;

extern "C" {
int c_list_roundtrip(void);
LONG c_interlocked(void);
}

namespace {
struct Item {
  LIST_ENTRY link;
  int value;
};
int valueOf(PLIST_ENTRY entry) { return CONTAINING_RECORD(entry, Item, link)->value; }
}  // namespace

TEST(ListHelpers, InsertRemoveOrder) {
  LIST_ENTRY head;
  InitializeListHead(&head);
  EXPECT_TRUE(IsListEmpty(&head));
  Item a{{}, 1}, b{{}, 2}, c{{}, 3};
  InsertTailList(&head, &a.link);
  InsertTailList(&head, &b.link);
  InsertHeadList(&head, &c.link);  // c a b
  EXPECT_EQ(valueOf(head.Flink), 3);
  EXPECT_EQ(valueOf(head.Blink), 2);
  EXPECT_EQ(valueOf(RemoveTailList(&head)), 2);
  EXPECT_FALSE(RemoveEntryList(&c.link));  // a remains: not empty
  EXPECT_TRUE(RemoveEntryList(&a.link));   // now empty
  EXPECT_TRUE(IsListEmpty(&head));
  EXPECT_EQ(RemoveHeadList(&head), &head);  // an empty list gives its head back
  EXPECT_EQ(c_list_roundtrip(), 123);
}

TEST(ListHelpers, AppendTailListSplicesAWholeList) {
  LIST_ENTRY head, other;
  InitializeListHead(&head);
  InitializeListHead(&other);
  Item a{{}, 1}, b{{}, 2}, c{{}, 3};
  InsertTailList(&head, &a.link);
  InsertTailList(&other, &b.link);
  InsertTailList(&other, &c.link);
  // The documented use: splice the entries of `other` (its head removed first).
  PLIST_ENTRY first = other.Flink;
  RemoveEntryList(&other);
  AppendTailList(&head, first);
  std::vector<int> values;
  for (PLIST_ENTRY e = head.Flink; e != &head; e = e->Flink) values.push_back(valueOf(e));
  EXPECT_EQ(values, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(valueOf(head.Blink), 3);
}

TEST(ListHelpers, SinglyLinked) {
  SINGLE_LIST_ENTRY head{nullptr};
  SINGLE_LIST_ENTRY a, b;
  PushEntryList(&head, &a);
  PushEntryList(&head, &b);
  EXPECT_EQ(PopEntryList(&head), &b);
  EXPECT_EQ(PopEntryList(&head), &a);
  EXPECT_EQ(PopEntryList(&head), nullptr);
}

TEST(ListHelpers, DoubleRemovalIsCorruption) {
  RecordViolationsScope record;
  LIST_ENTRY head;
  InitializeListHead(&head);
  Item a{{}, 1}, b{{}, 2};
  InsertTailList(&head, &a.link);
  InsertTailList(&head, &b.link);
  RemoveEntryList(&a.link);
  RemoveEntryList(&a.link);  // a's neighbours no longer point at it
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].rule, "list.corrupt");
  EXPECT_EQ(violations[0].code, 0x139u);
  EXPECT_EQ(violations[0].parameters[0], std::uint64_t(FAST_FAIL_CORRUPT_LIST_ENTRY));
  // The refused removal left the list intact.
  EXPECT_EQ(head.Flink, &b.link);
  EXPECT_EQ(b.link.Blink, &head);

  // An insert next to a corrupted neighbour is refused too.
  head.Blink = &a.link;  // a's Flink does not point back at head
  Item c{{}, 3};
  InsertTailList(&head, &c.link);
  EXPECT_EQ(record.take().size(), 1u);
}

TEST(Interlocked, ReturnValuesFollowTheDocumentation) {
  LONG volatile v = 5;
  EXPECT_EQ(InterlockedIncrement(&v), 6);
  EXPECT_EQ(InterlockedDecrement(&v), 5);
  EXPECT_EQ(InterlockedExchange(&v, 9), 5);
  EXPECT_EQ(InterlockedCompareExchange(&v, 1, 8), 9);  // no match: unchanged
  EXPECT_EQ(v, 9);
  EXPECT_EQ(InterlockedCompareExchange(&v, 1, 9), 9);
  EXPECT_EQ(v, 1);
  EXPECT_EQ(InterlockedExchangeAdd(&v, 10), 1);  // old value
  EXPECT_EQ(InterlockedAdd(&v, 10), 21);         // new value
  EXPECT_EQ(InterlockedOr(&v, 0x100), 21);
  EXPECT_EQ(InterlockedAnd(&v, 0x104), 0x115);
  EXPECT_EQ(InterlockedXor(&v, 0x1), 0x104);
  EXPECT_EQ(v, 0x105);
  LONG volatile wrap = 0x7FFFFFFF;
  EXPECT_EQ(InterlockedIncrement(&wrap), INT32_MIN);  // LONG is 32-bit
  static_assert(sizeof(LONG) == 4);
  EXPECT_EQ(InterlockedIncrementAcquire(&v), 0x106);
  EXPECT_EQ(InterlockedDecrementRelease(&v), 0x105);
  EXPECT_EQ(c_interlocked(), 100);

  LONG64 volatile q = 1LL << 40;
  EXPECT_EQ(InterlockedIncrement64(&q), (1LL << 40) + 1);
  EXPECT_EQ(InterlockedExchangeAdd64(&q, 1), (1LL << 40) + 1);
  EXPECT_EQ(InterlockedCompareExchange64(&q, 7, (1LL << 40) + 2), (1LL << 40) + 2);
  EXPECT_EQ(q, 7);
  EXPECT_EQ(InterlockedExchange64(&q, 3), 7);
  EXPECT_EQ(InterlockedAdd64(&q, 2), 5);
  EXPECT_EQ(InterlockedOr64(&q, 8), 5);
  EXPECT_EQ(InterlockedAnd64(&q, 12), 13);
  EXPECT_EQ(InterlockedXor64(&q, 12), 12);
  EXPECT_EQ(InterlockedDecrement64(&q), -1);

  int x = 0, y = 0;
  PVOID volatile p = &x;
  EXPECT_EQ(InterlockedExchangePointer(&p, &y), &x);
  EXPECT_EQ(InterlockedCompareExchangePointer(&p, &x, &x), &y);  // no match
  EXPECT_EQ(InterlockedCompareExchangePointer(&p, &x, &y), &y);
  EXPECT_EQ(p, &x);

  SHORT volatile s = 0x7FFF;
  EXPECT_EQ(InterlockedIncrement16(&s), SHORT(-32768));
  CHAR volatile c = 1;
  EXPECT_EQ(InterlockedOr8(&c, 2), 1);
  EXPECT_EQ(InterlockedExchange8(&c, 9), 3);
  KeMemoryBarrier();
  MemoryBarrier();
}

TEST(Interlocked, IncrementsFromManyThreadsAreNotLost) {
  LONG volatile counter = 0;
  LONG64 volatile counter64 = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50000; ++i) {
        InterlockedIncrement(&counter);
        InterlockedExchangeAdd64(&counter64, 2);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, 200000);
  EXPECT_EQ(counter64, 400000);
}
