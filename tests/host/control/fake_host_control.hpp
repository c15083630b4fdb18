// A HostControl with canned devices that records what it was asked, for the control tests.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

#include "host/control/host_control.hpp"

namespace ndishost::host::test {

class FakeHostControl final : public HostControl {
 public:
  FakeHostControl() {
    rows_ = {{"ncm0", "ncm", "usbncm", "Running", "up 1 Gbps", "ndis0", "wire:lab"},
             {"rndis0", "rndis", "usbrndis", "Paused", "down", "ndis1", "afpacket:veth1"}};
  }

  std::vector<AdapterRow> list() override {
    std::lock_guard guard(lock_);
    ++calls_;
    return rows_;
  }

  nlohmann::json stats(const std::string& device) override {
    std::lock_guard guard(lock_);
    ++calls_;
    auto one = [](const AdapterRow& row) {
      return nlohmann::json{{"ndis", {{"sentFrames", 10}, {"receivedFrames", 20}}}, {"driver", {{"name", row.driver}}}};
    };
    if (device.empty()) {
      nlohmann::json all = nlohmann::json::object();
      for (const auto& row : rows_) all[row.device] = one(row);
      return all;
    }
    return one(findLocked(device));
  }

  std::vector<std::uint8_t> oidQuery(const std::string& device, std::uint32_t oid, std::size_t outputLength) override {
    std::lock_guard guard(lock_);
    findLocked(device);
    lastQueryOid = oid;
    lastQueryLength = outputLength;
    const auto it = oids_.find(oid);
    if (it == oids_.end()) throw ControlError("OID not supported: NDIS_STATUS_NOT_SUPPORTED");
    return it->second;
  }

  void oidSet(const std::string& device, std::uint32_t oid, const std::vector<std::uint8_t>& data) override {
    std::lock_guard guard(lock_);
    findLocked(device);
    oids_[oid] = data;
  }

  void unplug(const std::string& device) override { setState(device, "unplugged"); }
  void plug(const std::string& device) override { setState(device, "Running"); }
  void reset(const std::string& device) override {
    std::this_thread::sleep_for(resetDuration);
    std::lock_guard guard(lock_);
    findLocked(device);
    ++resets;
  }
  void suspend(const std::string& device) override { setState(device, "Paused (D3)"); }
  void resume(const std::string& device) override { setState(device, "Running"); }
  void hang(const std::string& device) override { setState(device, "hung"); }
  void setLink(const std::string& device, bool up) override {
    std::lock_guard guard(lock_);
    findLocked(device).link = up ? "up 1 Gbps" : "down";
  }
  std::string link(const std::string& device) {
    std::lock_guard guard(lock_);
    return findLocked(device).link;
  }

  class FakeSubscription final : public Subscription {
   public:
    FakeSubscription(FakeHostControl& host, std::size_t id) : host_(host), id_(id) {}
    ~FakeSubscription() override {
      std::lock_guard guard(host_.lock_);
      host_.sinks_.erase(id_);
    }

   private:
    FakeHostControl& host_;
    std::size_t id_;
  };

  std::unique_ptr<Subscription> subscribe(std::function<void(const nlohmann::json&)> sink) override {
    std::lock_guard guard(lock_);
    const std::size_t id = nextSink_++;
    sinks_[id] = std::move(sink);
    return std::make_unique<FakeSubscription>(*this, id);
  }

  // Delivers `event` to every subscriber, like the runtime's trace would.
  void emit(const nlohmann::json& event) {
    std::lock_guard guard(lock_);
    for (auto& [id, sink] : sinks_) sink(event);
  }

  std::size_t subscribers() {
    std::lock_guard guard(lock_);
    return sinks_.size();
  }

  std::string state(const std::string& device) {
    std::lock_guard guard(lock_);
    return findLocked(device).state;
  }

  std::vector<std::uint8_t> oidValue(std::uint32_t oid) {
    std::lock_guard guard(lock_);
    return oids_[oid];
  }
  void setOid(std::uint32_t oid, std::vector<std::uint8_t> value) {
    std::lock_guard guard(lock_);
    oids_[oid] = std::move(value);
  }

  std::chrono::milliseconds resetDuration{0};  // set before the server starts

  std::pair<std::uint32_t, std::size_t> lastQuery() {
    std::lock_guard guard(lock_);
    return {lastQueryOid, lastQueryLength};
  }
  int resetCount() {
    std::lock_guard guard(lock_);
    return resets;
  }
  int calls() {
    std::lock_guard guard(lock_);
    return calls_;
  }

 private:
  std::uint32_t lastQueryOid = 0;
  std::size_t lastQueryLength = 0;
  int resets = 0;
  int calls_ = 0;

  AdapterRow& findLocked(const std::string& device) {
    for (auto& row : rows_)
      if (row.device == device) return row;
    throw ControlError("no adapter named " + device);
  }
  void setState(const std::string& device, const std::string& state) {
    std::lock_guard guard(lock_);
    findLocked(device).state = state;
  }

  std::mutex lock_;
  std::vector<AdapterRow> rows_;
  std::map<std::uint32_t, std::vector<std::uint8_t>> oids_;
  std::map<std::size_t, std::function<void(const nlohmann::json&)>> sinks_;
  std::size_t nextSink_ = 0;
};

// A fresh directory for sockets, removed afterwards. Short path: sun_path holds 107 bytes.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/ndhctl.XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

template <typename Predicate>
bool waitUntil(Predicate predicate, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace ndishost::host::test
