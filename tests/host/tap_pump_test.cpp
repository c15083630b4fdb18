#include "host/tap/tap_pump.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "tap_lab.hpp"

namespace ndishost::host {
namespace {

using namespace std::chrono_literals;

// What the pump handed over, collected under a lock (the pump calls from its own thread).
class Collected {
 public:
  TapPump::Handlers handlers() {
    return {.framesFromLinux =
                [this](std::span<const TapFrameBuffer> frames) {
                  std::lock_guard lock(mutex_);
                  ++batches_;
                  for (const auto& frame : frames) {
                    const auto data = frame.storage.first(frame.length);
                    if (data.size() >= 14 && data[12] == std::byte{0x88} && data[13] == std::byte{0xb5})
                      frames_.emplace_back(data.begin(), data.end());
                  }
                  changed_.notify_all();
                },
            .linkChanged =
                [this](const LinkChange& change) {
                  std::lock_guard lock(mutex_);
                  changes_.push_back(change);
                  changed_.notify_all();
                }};
  }
  bool waitForFrames(std::size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return frames_.size() >= count; });
  }
  bool waitForChange(const std::function<bool(const LinkChange&)>& match, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      for (const auto& change : changes_)
        if (match(change)) return true;
      return false;
    });
  }
  std::size_t frameCount() {
    std::lock_guard lock(mutex_);
    return frames_.size();
  }
  std::vector<std::vector<std::byte>> frames() {
    std::lock_guard lock(mutex_);
    return frames_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t batches_ = 0;
  std::vector<std::vector<std::byte>> frames_;
  std::vector<LinkChange> changes_;
};

class HostTapPump : public testing::Test {
 protected:
  void SetUp() override {
    std::string whyNot;
    lab_ = test::makeLab(&whyNot);
    if (!lab_) GTEST_SKIP() << whyNot;
    tap_.emplace(TapDevice::open({.name = "ndp0", .networkNamespace = lab_->ns1}));
    tap_->setUp(true);
    tap_->setCarrier(true);
    watcher_.emplace(LinkWatcher::open(tap_->interfaceIndex(), lab_->ns1));
    socket_.emplace(lab_->ns1, tap_->interfaceIndex());
  }

  std::unique_ptr<test::NetLab> lab_;
  std::optional<TapDevice> tap_;
  std::optional<LinkWatcher> watcher_;
  std::optional<test::PacketSocket> socket_;
};

TEST_F(HostTapPump, DeliversFramesInOrderAndHoldsThemWhilePaused) {
  Collected collected;
  TapPump pump(*tap_, &*watcher_, collected.handlers(), {.batchSize = 8, .maxFrameSize = 2048});
  for (std::uint8_t i = 0; i < 20; ++i) ASSERT_TRUE(socket_->send(test::testFrame(100, i)));
  ASSERT_TRUE(collected.waitForFrames(20, 3s)) << collected.frameCount();
  const auto frames = collected.frames();
  for (std::uint8_t i = 0; i < 20; ++i) EXPECT_EQ(frames[i], test::testFrame(100, i)) << "frame " << int{i};

  pump.pause();
  for (std::uint8_t i = 20; i < 25; ++i) ASSERT_TRUE(socket_->send(test::testFrame(100, i)));
  EXPECT_FALSE(collected.waitForFrames(21, 300ms)) << "a frame was delivered while paused";
  pump.resume();
  ASSERT_TRUE(collected.waitForFrames(25, 3s)) << "frames queued during the pause were not delivered after it";
  EXPECT_EQ(collected.frames()[24], test::testFrame(100, 24));
}

TEST_F(HostTapPump, ReportsLinkChangesOnItsThread) {
  Collected collected;
  TapPump pump(*tap_, &*watcher_, collected.handlers());
  ASSERT_TRUE(lab_->run("ip -n {n1} link set ndp0 promisc on").ok());
  EXPECT_TRUE(collected.waitForChange([](const LinkChange& c) { return c.filterChanged && c.now.promiscuous(); }, 3s));
  ASSERT_TRUE(lab_->run("ip -n {n1} maddress add 33:33:00:00:12:34 dev ndp0").ok());
  EXPECT_TRUE(collected.waitForChange([](const LinkChange& c) { return c.multicastChanged; }, 3s));
}

}  // namespace
}  // namespace ndishost::host
