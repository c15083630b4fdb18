#include "link/wire.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "link/link_error.hpp"
#include "test_support.hpp"

#include "allocation_counter.hpp"

namespace ndishost::link {
namespace {

using test::FrameCollector;
using test::makeFrame;
using test::seedOf;
using namespace std::chrono_literals;

TEST(LinkWire, DeliversBothWaysOnTheWireThread) {
  FrameCollector atA, atB;
  auto ends = Wire::create("both-ways");
  ends.a->setReceiveHandler(atA.handler());
  ends.b->setReceiveHandler(atB.handler());

  const auto toB = makeFrame(60, 1);
  const auto toA = makeFrame(1514, 2);
  EXPECT_TRUE(ends.a->transmit(toB));
  EXPECT_TRUE(ends.b->transmit(toA));
  ASSERT_TRUE(atB.waitFor(1));
  ASSERT_TRUE(atA.waitFor(1));
  EXPECT_EQ(atB.frames().at(0), toB);
  EXPECT_EQ(atA.frames().at(0), toA);
  // Delivery happens on the wire's thread, never on the transmitting one.
  EXPECT_NE(atB.threads().at(0), std::this_thread::get_id());

  ends.a->wire().waitIdle();  // counters are bumped after the handler returns
  const auto a = ends.a->counters();
  const auto b = ends.b->counters();
  EXPECT_EQ(a.txFrames, 1u);
  EXPECT_EQ(a.txBytes, 60u);
  EXPECT_EQ(a.rxFrames, 1u);
  EXPECT_EQ(a.rxBytes, 1514u);
  EXPECT_EQ(b.txFrames, 1u);
  EXPECT_EQ(b.rxFrames, 1u);
  EXPECT_EQ(ends.a->describe(), "wire:both-ways[A]");
  EXPECT_EQ(ends.b->describe(), "wire:both-ways[B]");
}

TEST(LinkWire, KeepsOrderInEachDirection) {
  FrameCollector atA, atB;
  auto ends = Wire::create("order", {.queueDepth = 4096});
  ends.a->setReceiveHandler(atA.handler());
  ends.b->setReceiveHandler(atB.handler());
  constexpr std::uint32_t kFrames = 2000;
  // Both directions at once, from two threads.
  auto fromB = std::async(std::launch::async, [&] {
    for (std::uint32_t i = 0; i < kFrames; ++i) EXPECT_TRUE(ends.b->transmit(makeFrame(64 + i % 1400, i)));
  });
  for (std::uint32_t i = 0; i < kFrames; ++i) EXPECT_TRUE(ends.a->transmit(makeFrame(64 + i % 1400, i)));
  fromB.get();
  ends.a->wire().waitIdle();
  ASSERT_EQ(atB.count(), kFrames);
  ASSERT_EQ(atA.count(), kFrames);
  const auto b = atB.frames();
  const auto a = atA.frames();
  for (std::uint32_t i = 0; i < kFrames; ++i) {
    ASSERT_EQ(seedOf(b[i]), i);
    ASSERT_EQ(b[i], makeFrame(64 + i % 1400, i));
    ASSERT_EQ(seedOf(a[i]), i);
  }
}

// A receive handler that holds the delivery thread until released.
struct Gate {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> calls{0};
  FramePort::ReceiveHandler handler() {
    return [this](std::span<const std::byte>) {
      if (calls.fetch_add(1) == 0) {
        entered.set_value();
        released.wait();
      }
    };
  }
};

TEST(LinkWire, DropsAndCountsWhenTheQueueIsFull) {
  Gate gate;
  auto ends = Wire::create("full", {.queueDepth = 4});
  ends.b->setReceiveHandler(gate.handler());
  ASSERT_TRUE(ends.a->transmit(makeFrame(100, 0)));
  gate.entered.get_future().wait();  // the first frame now occupies a slot while delivered
  int accepted = 0;
  for (std::uint32_t i = 1; i < 10; ++i) accepted += ends.a->transmit(makeFrame(100, i)) ? 1 : 0;
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(ends.a->counters().txDropped, 6u);
  EXPECT_EQ(ends.a->counters().txFrames, 4u);
  gate.release.set_value();
  ends.a->wire().waitIdle();
  EXPECT_EQ(gate.calls.load(), 4);
  EXPECT_EQ(ends.b->counters().rxFrames, 4u);
  // Room again once drained.
  EXPECT_TRUE(ends.a->transmit(makeFrame(100, 11)));
}

TEST(LinkWire, LinkDownDropsCountsAndNotifiesBothEnds) {
  FrameCollector atB;
  std::vector<bool> statesA, statesB;
  auto ends = Wire::create("updown");
  ends.b->setReceiveHandler(atB.handler());
  ends.a->setLinkStateHandler([&](bool up) { statesA.push_back(up); });
  ends.b->setLinkStateHandler([&](bool up) { statesB.push_back(up); });

  EXPECT_TRUE(ends.a->linkUp());
  ends.a->wire().setLinkUp(false);
  EXPECT_FALSE(ends.a->linkUp());
  EXPECT_FALSE(ends.b->linkUp());
  EXPECT_FALSE(ends.a->transmit(makeFrame(60, 1)));
  EXPECT_FALSE(ends.b->transmit(makeFrame(60, 2)));
  EXPECT_EQ(ends.a->counters().txDropped, 1u);
  EXPECT_EQ(ends.b->counters().txDropped, 1u);

  ends.a->wire().setLinkUp(true);
  EXPECT_TRUE(ends.a->transmit(makeFrame(60, 3)));
  ASSERT_TRUE(atB.waitFor(1));
  EXPECT_EQ(seedOf(atB.frames().at(0)), 3u);
  EXPECT_EQ(statesA, (std::vector<bool>{false, true}));
  EXPECT_EQ(statesB, (std::vector<bool>{false, true}));
}

TEST(LinkWire, PullingTheCableDiscardsQueuedFrames) {
  Gate gate;
  auto ends = Wire::create("pull", {.queueDepth = 8});
  ends.b->setReceiveHandler(gate.handler());
  ASSERT_TRUE(ends.a->transmit(makeFrame(100, 0)));
  gate.entered.get_future().wait();
  ASSERT_TRUE(ends.a->transmit(makeFrame(100, 1)));
  ASSERT_TRUE(ends.a->transmit(makeFrame(100, 2)));
  ends.a->wire().setLinkUp(false);
  gate.release.set_value();
  ends.a->wire().waitIdle();
  EXPECT_EQ(gate.calls.load(), 1);  // only the frame already being delivered
  EXPECT_EQ(ends.a->counters().txDropped, 2u);
}

TEST(LinkWire, FrameWithoutHandlerCountsAsReceiveDrop) {
  auto ends = Wire::create("nohandler");
  EXPECT_TRUE(ends.a->transmit(makeFrame(60, 1)));
  ends.a->wire().waitIdle();
  EXPECT_EQ(ends.b->counters().rxDropped, 1u);
  EXPECT_EQ(ends.b->counters().rxFrames, 0u);
}

TEST(LinkWire, OversizeAndRuntFramesAreDroppedNotTruncated) {
  FrameCollector atB;
  auto ends = Wire::create("oversize", {.maxFrameSize = 1518});
  ends.b->setReceiveHandler(atB.handler());
  EXPECT_EQ(ends.a->maxFrameSize(), 1518u);
  EXPECT_FALSE(ends.a->transmit(makeFrame(1519, 1)));
  EXPECT_FALSE(ends.a->transmit(makeFrame(13, 1)));  // not even an Ethernet header
  EXPECT_TRUE(ends.a->transmit(makeFrame(1518, 2)));
  ASSERT_TRUE(atB.waitFor(1));
  EXPECT_EQ(atB.frames().at(0).size(), 1518u);
  EXPECT_EQ(ends.a->counters().txDropped, 2u);
}

TEST(LinkWire, DestroyingAnEndTakesTheLinkDown) {
  std::vector<bool> statesA;
  auto ends = Wire::create("unplug");
  ends.a->setLinkStateHandler([&](bool up) { statesA.push_back(up); });
  ends.b.reset();
  EXPECT_FALSE(ends.a->linkUp());
  EXPECT_FALSE(ends.a->peerAttached());
  EXPECT_EQ(statesA, (std::vector<bool>{false}));
  EXPECT_FALSE(ends.a->transmit(makeFrame(60, 1)));
  EXPECT_EQ(ends.a->counters().txDropped, 1u);
  // Plugging the cable back in cannot bring a missing end back.
  ends.a->wire().setLinkUp(true);
  EXPECT_FALSE(ends.a->linkUp());
}

TEST(LinkWire, AfterSetReceiveHandlerReturnsTheOldHandlerNeverRuns) {
  std::atomic<bool> removed{false};
  std::atomic<int> lateCalls{0};
  auto ends = Wire::create("swap");
  ends.b->setReceiveHandler([&](std::span<const std::byte>) {
    if (removed.load()) lateCalls.fetch_add(1);
  });
  auto flood = std::async(std::launch::async, [&] {
    for (std::uint32_t i = 0; i < 2000; ++i) ends.a->transmit(makeFrame(60, i));
  });
  std::this_thread::sleep_for(1ms);
  ends.b->setReceiveHandler({});
  removed.store(true);
  flood.get();
  ends.a->wire().waitIdle();
  EXPECT_EQ(lateCalls.load(), 0);
}

TEST(LinkWire, HandlerMayReplaceItself) {
  FrameCollector second;
  auto ends = Wire::create("self");
  // Replacing the handler from inside it takes effect after it returns.
  ends.b->setReceiveHandler([&](std::span<const std::byte>) { ends.b->setReceiveHandler(second.handler()); });
  EXPECT_TRUE(ends.a->transmit(makeFrame(60, 1)));
  EXPECT_TRUE(ends.a->transmit(makeFrame(60, 2)));
  ASSERT_TRUE(second.waitFor(1));
  EXPECT_EQ(seedOf(second.frames().at(0)), 2u);
}

TEST(LinkWire, HandlerMayDestroyBothEnds) {
  auto ends = Wire::create("self-destroy");
  std::promise<void> transmitted;
  std::promise<void> destroyed;
  auto transmittedFuture = transmitted.get_future();
  // The wire's last reference goes away on its own delivery thread.
  ends.b->setReceiveHandler([&](std::span<const std::byte>) {
    transmittedFuture.wait();
    ends.a.reset();
    ends.b.reset();
    destroyed.set_value();
  });
  ASSERT_TRUE(ends.a->transmit(makeFrame(60, 3)));
  transmitted.set_value();
  EXPECT_EQ(destroyed.get_future().wait_for(5s), std::future_status::ready);
}

TEST(LinkWire, SynchronousModeDeliversOnTheCallerAndAllowsAnEcho) {
  FrameCollector atA;
  auto ends = Wire::create("sync", {.delivery = WireDelivery::Synchronous});
  ends.a->setReceiveHandler(atA.handler());
  // B answers every frame at once, re-entering A's receive path on the same thread.
  ends.b->setReceiveHandler([&](std::span<const std::byte> frame) {
    auto echo = test::Frame(frame.begin(), frame.end());
    echo[5] = std::byte{0x42};
    ends.b->transmit(echo);
  });
  for (std::uint32_t i = 0; i < 10; ++i) EXPECT_TRUE(ends.a->transmit(makeFrame(80, i)));
  ASSERT_EQ(atA.count(), 10u);  // already there: no waiting in synchronous mode
  for (std::uint32_t i = 0; i < 10; ++i) {
    EXPECT_EQ(seedOf(atA.frames()[i]), i);
    EXPECT_EQ(atA.threads()[i], std::this_thread::get_id());
  }
  ends.a->wire().setLinkUp(false);
  EXPECT_FALSE(ends.a->transmit(makeFrame(80, 99)));
}

TEST(LinkWire, RejectsUselessOptions) {
  EXPECT_THROW(Wire::create("zero", {.queueDepth = 0}), LinkError);
  EXPECT_THROW(Wire::create("tiny", {.maxFrameSize = 10}), LinkError);
}

TEST(LinkWire, SteadyStateTransmitAndDeliveryDoNotAllocate) {
#if !NDISHOST_LINK_COUNT_ALLOCATIONS
  GTEST_SKIP() << "allocation counting is off under sanitizers";
#else
  std::atomic<std::uint64_t> received{0};
  auto ends = Wire::create("noalloc", {.queueDepth = 64});
  ends.b->setReceiveHandler([&](std::span<const std::byte>) { received.fetch_add(1); });
  const auto frame = makeFrame(1514, 7);
  // Warm up: first use of every slot and of the thread's machinery.
  for (int i = 0; i < 200; ++i) ends.a->transmit(frame);
  ends.a->wire().waitIdle();
  ASSERT_TRUE(test::allocationCounterWorks());
  const std::uint64_t before = test::allocationCount.load();
  for (int i = 0; i < 5000; ++i) {
    ends.a->transmit(frame);
    if (i % 32 == 0) ends.a->wire().waitIdle();
  }
  ends.a->wire().waitIdle();
  const std::uint64_t after = test::allocationCount.load();
  EXPECT_EQ(after - before, 0u);
  EXPECT_GT(received.load(), 200u);
#endif
}

}  // namespace
}  // namespace ndishost::link
