// The event log (normalisation, the writer) and the timeline page rendered from it.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "fake_host_control.hpp"
#include "host/control/control_cli.hpp"
#include "host/control/event_log.hpp"
#include "host/control/timeline.hpp"

namespace ndishost::host {
namespace {

using test::FakeHostControl;
using test::TempDir;

const auto kNow = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795461601123));

nlohmann::json runtimeEvent(std::string category, std::string source, std::string text, std::int64_t timeMs = 1000) {
  return {{"time_ms", timeMs}, {"uptime_us", 42}, {"category", category}, {"source", source}, {"text", text}};
}

TEST(EventLogNormalize, RecognisesTheRuntimesTraceTexts) {
  auto e = normalizeEvent(runtimeEvent("Ndis", "usbncm adapter 1", "Paused -> Running (restart)"), kNow);
  EXPECT_EQ(e["kind"], "state");
  EXPECT_EQ(e["device"], "usbncm adapter 1");
  EXPECT_EQ(e["details"]["from"], "Paused");
  EXPECT_EQ(e["details"]["to"], "Running");
  EXPECT_EQ(e["details"]["why"], "restart");
  EXPECT_EQ(e["details"]["category"], "Ndis");
  EXPECT_EQ(e["details"]["uptime_us"], 42);
  EXPECT_EQ(e["time_ms"], 1000);
  EXPECT_EQ(e["time"], "1970-01-01T00:00:01.000Z");

  e = normalizeEvent(runtimeEvent("Ndis", "a", "MiniportOidRequest(type 0, OID 0x00010107)"), kNow);
  EXPECT_EQ(e["kind"], "oid");
  EXPECT_EQ(e["details"]["oid"], "0x00010107");
  EXPECT_EQ(e["details"]["name"], "OID_GEN_LINK_SPEED");

  EXPECT_EQ(normalizeEvent(runtimeEvent("Ndis", "a", "MiniportResetEx"), kNow)["kind"], "reset");
  EXPECT_EQ(normalizeEvent(runtimeEvent("Pnp", "a", "IRP_MN_SURPRISE_REMOVAL -> STATUS_SUCCESS"), kNow)["kind"], "removal");
  EXPECT_EQ(normalizeEvent(runtimeEvent("Pnp", "a", "IRP_MN_START_DEVICE -> STATUS_SUCCESS"), kNow)["kind"], "status");
  EXPECT_EQ(normalizeEvent(runtimeEvent("Violation", "a", "irp.complete-twice"), kNow)["kind"], "error");
  e = normalizeEvent(runtimeEvent("Power", "a", "IRP_MN_SET_POWER D3 -> STATUS_SUCCESS"), kNow);
  EXPECT_EQ(e["kind"], "status");
  EXPECT_EQ(e["details"]["power"], "D3");
  EXPECT_EQ(normalizeEvent(runtimeEvent("Host", "a", "far side failed: ENODEV"), kNow)["kind"], "error");
}

TEST(EventLogNormalize, KeepsRecordsAsTheyAre) {
  const nlohmann::json record{{"time_ms", 5}, {"device", "ncm0"}, {"kind", "removal"}, {"summary", "unplugged"},
                              {"details", {{"by", "user"}}}};
  const auto once = normalizeEvent(record, kNow);
  EXPECT_EQ(once["kind"], "removal");
  EXPECT_EQ(once["details"]["by"], "user");
  EXPECT_EQ(normalizeEvent(once, kNow), once);
  // No time in the event: the time it was received.
  EXPECT_EQ(normalizeEvent({{"device", "x"}}, kNow)["time"], "2026-11-23T19:20:01.123Z");
}

TEST(EventLogFile, WritesOneRecordPerEventFromASubscription) {
  TempDir dir;
  FakeHostControl host;
  const auto file = dir / "events.jsonl";
  {
    EventLog log(file);
    auto subscription = log.attach(host);
    host.emit(runtimeEvent("Ndis", "ncm0", "Initializing -> Running (started)", 1000));
    host.emit(runtimeEvent("Ndis", "ncm0", "MiniportResetEx", 1500));
    host.emit({{"device", "ncm0"}, {"kind", "removal"}, {"summary", "unplugged"}, {"time_ms", 2000}});
    log.flush();
    EXPECT_EQ(log.written(), 3u);
    EXPECT_EQ(log.dropped(), 0u);
    subscription.reset();
    host.emit(runtimeEvent("Ndis", "ncm0", "not logged"));
  }
  std::ifstream in(file);
  std::size_t skipped = 99;
  const auto events = readEventLog(in, &skipped);
  EXPECT_EQ(skipped, 0u);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["kind"], "state");
  EXPECT_EQ(events[1]["kind"], "reset");
  EXPECT_EQ(events[2]["kind"], "removal");
  // Appends, never truncates: a restarted ndishost continues the same log.
  { EventLog again(file); again.record({{"device", "ncm0"}, {"kind", "status"}}); }
  std::ifstream reread(file);
  EXPECT_EQ(readEventLog(reread).size(), 4u);
}

TEST(EventLogFile, RecordsFromManyThreads) {
  TempDir dir;
  const auto file = dir / "events.jsonl";
  {
    EventLog log(file);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&log, t] {
        for (int i = 0; i < 250; ++i) log.record({{"device", "dev" + std::to_string(t)}, {"kind", "oid"}, {"seq", i}});
      });
    for (auto& thread : threads) thread.join();
  }
  std::ifstream in(file);
  EXPECT_EQ(readEventLog(in).size(), 1000u);
}

TEST(EventLogFile, UnwritablePathIsAClearError) {
  try {
    EventLog log("/nonexistent-dir/events.jsonl");
    FAIL();
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("/nonexistent-dir/events.jsonl"), std::string::npos);
  }
}

TEST(EventLogRead, SkipsGarbageAndUnwrapsStreamLines) {
  std::istringstream in(
      "{\"device\":\"a\",\"kind\":\"oid\"}\n"
      "garbage\n"
      "\n"
      "{\"event\":{\"device\":\"b\",\"kind\":\"reset\"}}\n"
      "[1,2]\n");
  std::size_t skipped = 0;
  const auto events = readEventLog(in, &skipped);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1]["device"], "b");
  EXPECT_EQ(skipped, 2u);
}

std::vector<nlohmann::json> sampleLog() {
  std::vector<nlohmann::json> raw{
      runtimeEvent("Ndis", "ncm0", "Halted -> Initializing (start)", 1000),
      runtimeEvent("Ndis", "ncm0", "Initializing -> Running (ready)", 1100),
      runtimeEvent("Ndis", "ncm0", "MiniportOidRequest(type 0, OID 0x01010102)", 1200),
      runtimeEvent("Ndis", "rndis0", "Halted -> Initializing (start)", 1050),
      runtimeEvent("Ndis", "rndis0", "Initializing -> Paused (ready)", 1300),
      runtimeEvent("Ndis", "rndis0", "MiniportResetEx", 2000),
      runtimeEvent("Pnp", "ncm0", "IRP_MN_SURPRISE_REMOVAL -> STATUS_SUCCESS", 3000),
      runtimeEvent("Violation", "<evil & co>", "irp.complete-twice", 3500),
      runtimeEvent("Pnp", "usbhub", "IRP_MN_QUERY_DEVICE_RELATIONS (BusRelations) 1 device -> STATUS_SUCCESS", 900),
  };
  std::vector<nlohmann::json> records;
  for (const auto& e : raw) records.push_back(normalizeEvent(e, kNow));
  return records;
}

TEST(Timeline, ShowsLanesStatesAndMarks) {
  const std::string html = renderTimeline(sampleLog(), {.title = "lab run"});
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<title>lab run</title>"), std::string::npos);
  EXPECT_NE(html.find("data-device=\"ncm0\""), std::string::npos);
  EXPECT_NE(html.find("data-device=\"rndis0\""), std::string::npos);
  EXPECT_NE(html.find("data-state=\"Running\""), std::string::npos);
  EXPECT_NE(html.find("data-state=\"Paused\""), std::string::npos);
  EXPECT_NE(html.find("data-state=\"Initializing\""), std::string::npos);
  EXPECT_NE(html.find("class=\"mark reset\""), std::string::npos);
  EXPECT_NE(html.find("class=\"mark removal\""), std::string::npos);
  EXPECT_NE(html.find("class=\"mark oid\""), std::string::npos);
  EXPECT_NE(html.find("class=\"mark error\""), std::string::npos);
  EXPECT_NE(html.find("OID_802_3_CURRENT_ADDRESS"), std::string::npos);  // in the tooltip and the table
  EXPECT_NE(html.find("9 events"), std::string::npos);
  // Names are escaped, and the page needs nothing from elsewhere.
  EXPECT_NE(html.find("&lt;evil &amp; co&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<evil"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
}

TEST(Timeline, AdapterLanesComeFirstAndSpansFollowTime) {
  const std::string html = renderTimeline(sampleLog());
  // Lanes with states in order of first appearance, then other events, then status only.
  EXPECT_LT(html.find("data-device=\"ncm0\""), html.find("data-device=\"rndis0\""));
  EXPECT_LT(html.find("data-device=\"rndis0\""), html.find("data-device=\"&lt;evil &amp; co&gt;\""));
  EXPECT_LT(html.find("data-device=\"&lt;evil &amp; co&gt;\""), html.find("data-device=\"usbhub\""));
  // ncm0: Initializing (1000..1100) before Running (1100..end).
  const auto lane = html.substr(html.find("data-device=\"ncm0\""));
  EXPECT_LT(lane.find("data-state=\"Initializing\""), lane.find("data-state=\"Running\""));
  // The surprise removal at 3000 ends Running and starts a "removed" span in ncm0's lane only.
  const auto ncmLane = lane.substr(0, lane.find("</g>\n<g class=\"lane\""));
  EXPECT_LT(ncmLane.find("data-state=\"Running\""), ncmLane.find("data-state=\"removed\""));
  const auto rndisLane = html.substr(html.find("data-device=\"rndis0\""));
  EXPECT_EQ(rndisLane.substr(0, rndisLane.find("</g>\n<g class=\"lane\"")).find("data-state=\"removed\""),
            std::string::npos);
}

TEST(Timeline, EmptyLogStillMakesAPage) {
  const std::string html = renderTimeline({});
  EXPECT_NE(html.find("holds no events"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

TEST(Timeline, CommandWritesThePage) {
  TempDir dir;
  const auto log = dir / "events.jsonl";
  {
    std::ofstream out(log);
    for (const auto& record : sampleLog()) out << record.dump() << "\n";
    out << "not json\n";
  }
  const auto page = dir / "timeline.html";
  std::ostringstream out, err;
  CLI::App app{"ndishost", "ndishost"};
  addTimelineCommand(app, out, err);
  addTimelineCommand(app, out, err);  // twice is harmless
  app.parse(std::vector<std::string>{page.string(), "-o", log.string(), "timeline"});
  EXPECT_EQ(out.str(), page.string() + ": 9 events on 4 lanes (1 line that is not a JSON object skipped)\n");
  std::ifstream in(page);
  std::stringstream html;
  html << in.rdbuf();
  EXPECT_NE(html.str().find("<title>ndishost timeline: events.jsonl</title>"), std::string::npos);
  EXPECT_NE(html.str().find("data-device=\"rndis0\""), std::string::npos);

  CLI::App missing{"ndishost", "ndishost"};
  addTimelineCommand(missing, out, err);
  try {
    missing.parse(std::vector<std::string>{(dir / "absent.jsonl").string(), "timeline"});
    FAIL();
  } catch (const CLI::RuntimeError& error) {
    EXPECT_EQ(error.get_exit_code(), kExitBadInput);
  }
  EXPECT_NE(err.str().find("cannot read the event log"), std::string::npos);
}

}  // namespace
}  // namespace ndishost::host
