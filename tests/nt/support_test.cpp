// The runtime's support layer: driver attribution, rule-violation reports and the leak
// ledger that every subsystem feeds.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "nt/support/driver_image.hpp"
#include "nt/support/ledger.hpp"
#include "nt/support/rule_registry.hpp"
#include "nt/support/violation.hpp"

using namespace ndishost::nt;

namespace {
char fakeImage[4096];
}

TEST(DriverImage, AttributesAddressesInsideARegisteredImage) {
  auto image = std::make_shared<DriverImage>();
  image->name = "fakedrv";
  image->base = reinterpret_cast<std::uintptr_t>(fakeImage);
  image->end = image->base + sizeof(fakeImage);
  {
    DriverImageRegistration registration(image);
    EXPECT_EQ(describeCaller(fakeImage + 100), "fakedrv");
    EXPECT_EQ(findDriverImage(fakeImage + sizeof(fakeImage)), nullptr);
    EXPECT_EQ(describeCaller(&image), "host");
  }
  EXPECT_EQ(findDriverImage(fakeImage + 100), nullptr);
}

TEST(Ledger, TracksOutstandingEntriesPerImage) {
  auto image = std::make_shared<DriverImage>();
  image->name = "leaky";
  image->base = reinterpret_cast<std::uintptr_t>(fakeImage);
  image->end = image->base + sizeof(fakeImage);
  DriverImageRegistration registration(image);

  LedgerEntry a, b, host;
  a.kind = ResourceKind::Pool;
  a.callSite = fakeImage + 8;
  a.tag = 'kaeL';
  a.size = 64;
  b.kind = ResourceKind::Irp;
  b.callSite = fakeImage + 16;
  host.kind = ResourceKind::Pool;
  host.callSite = &host;
  ledgerAdd(a);
  ledgerAdd(b);
  ledgerAdd(host);

  auto leaks = ledgerOutstanding(*image);
  ASSERT_EQ(leaks.size(), 2u);
  EXPECT_EQ(leaks[0].kind, ResourceKind::Pool);
  EXPECT_EQ(tagToString(leaks[0].tag), "Leak");
  EXPECT_EQ(leaks[0].size, 64u);
  EXPECT_EQ(ledgerCount(image.get(), ResourceKind::Irp), 1u);

  ledgerRemove(a);
  ledgerRemove(b);
  ledgerRemove(host);
  ledgerRemove(host);  // removing twice is harmless
  EXPECT_TRUE(ledgerOutstanding(*image).empty());
}

TEST(Violation, RecordModeCollectsReportsWithRuleDriverAndStack) {
  RecordViolationsScope scope;
  reportViolation({"test.rule", bugcheck::DriverVerifierDetectedViolation, 1, 2, 3, 4}, nullptr,
                  "something was wrong: value 7");
  auto v = scope.take();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].rule, "test.rule");
  EXPECT_EQ(v[0].code, 0xC4u);
  EXPECT_EQ(v[0].parameters[3], 4u);
  EXPECT_EQ(v[0].driver, "host");
  EXPECT_NE(v[0].detail.find("value 7"), std::string::npos);
  EXPECT_FALSE(v[0].stack.empty());
}

#if !defined(__SANITIZE_THREAD__)
TEST(ViolationDeathTest, FatalModeStopsTheProcessWithAReport) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(reportViolation({"test.fatal", bugcheck::MultipleIrpCompleteRequests}, nullptr, "twice"),
               "rule violation: test.fatal(.|\n)*0x00000044");
}
#endif

TEST(ViolationPolicy, ADisabledRuleIsCountedNotReported) {
  RecordViolationsScope scope;
  const std::uint64_t before = suppressedViolationCount("irp.complete-twice");
  {
    ViolationPolicyScope policy({.enabled = true, .disabledRules = {"irp.complete-twice"}});
    EXPECT_FALSE(ruleChecked("irp.complete-twice"));
    EXPECT_TRUE(ruleChecked("irql.too-high"));
    reportViolation({"irp.complete-twice", bugcheck::MultipleIrpCompleteRequests}, nullptr, "suppressed");
    reportViolation({"irp.complete-twice", bugcheck::MultipleIrpCompleteRequests}, nullptr, "suppressed");
    reportViolation({"irql.too-high", bugcheck::IrqlNotLessOrEqual}, nullptr, "still checked");
  }
  auto v = scope.take();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].rule, "irql.too-high");
  EXPECT_EQ(suppressedViolationCount("irp.complete-twice"), before + 2);
  EXPECT_EQ(suppressedViolations().at("irp.complete-twice"), before + 2);
  // The scope restored the previous policy: the rule is reported again.
  EXPECT_TRUE(ruleChecked("irp.complete-twice"));
  reportViolation({"irp.complete-twice", bugcheck::MultipleIrpCompleteRequests}, nullptr, "reported again");
  EXPECT_EQ(scope.take().size(), 1u);
}

TEST(ViolationPolicy, DisabledCheckingReportsNothing) {
  RecordViolationsScope scope;
  const std::uint64_t before = suppressedViolationCount("pool.double-free");
  {
    ViolationPolicyScope policy({.enabled = false, .disabledRules = {}});
    reportViolation({"pool.double-free", bugcheck::BadPoolCaller, 7}, nullptr, "off");
    reportViolation({"irql.too-high", bugcheck::IrqlNotLessOrEqual}, nullptr, "off");
  }
  EXPECT_TRUE(scope.take().empty());
  EXPECT_EQ(suppressedViolationCount("pool.double-free"), before + 1);
}

TEST(ViolationPolicy, UnknownOrUndisableableRuleNamesAreRefused) {
  try {
    setViolationPolicy({.enabled = true, .disabledRules = {"irql.to-high"}});
    FAIL() << "an unknown rule name was accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("\"irql.to-high\""), std::string::npos) << error.what();
  }
  EXPECT_THROW(setViolationPolicy({.enabled = true, .disabledRules = {"kebugcheck"}}), std::invalid_argument);
  // A refused policy leaves the current one in place.
  EXPECT_TRUE(violationPolicy().enabled);
  EXPECT_TRUE(violationPolicy().disabledRules.empty());
}

#if !defined(__SANITIZE_THREAD__)
TEST(ViolationPolicyDeathTest, FatalModeStillStopsOnACheckedRuleButNotOnADisabledOne) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ViolationPolicyScope policy({.enabled = true, .disabledRules = {"irp.complete-twice"}});
  // Fatal is the default mode: a disabled rule returns, a checked one stops the process.
  reportViolation({"irp.complete-twice", bugcheck::MultipleIrpCompleteRequests}, nullptr, "disabled");
  EXPECT_DEATH(reportViolation({"irp.free-twice", bugcheck::DriverVerifierDetectedViolation}, nullptr, "checked"),
               "rule violation: irp.free-twice");
}
#endif

namespace {

std::string readText(const std::filesystem::path& file) {
  std::ifstream input(file, std::ios::binary);
  std::ostringstream text;
  text << input.rdbuf();
  return text.str();
}

std::filesystem::path sourceRoot() { return NDISHOST_SOURCE_DIR; }

}  // namespace

// Every rule name the runtime can report is in the registry (so `[verification] disable`
// accepts it) and in docs/CHECKS.md (so a person can look it up); every registered name is
// documented. The sources name rules as string literals ("irp.complete-twice"), passed to
// reportViolation, reportNdisViolation or a helper that forwards them.
TEST(RuleRegistry, MatchesTheSourcesAndDocsChecks) {
  const std::filesystem::path root = sourceRoot();
  ASSERT_TRUE(std::filesystem::exists(root / "docs/CHECKS.md")) << root;
  const std::set<std::string> registry(knownRules().begin(), knownRules().end());
  EXPECT_EQ(registry.size(), knownRules().size()) << "a rule is registered twice";

  // Rule-shaped literals: <area>.<name> in lower case, minus file names.
  const std::regex literal(R"re("([a-z]+\.[a-z][a-z0-9-]*)")re");
  const std::regex fileName(R"re(\.(so|sys|toml|inf|pcap|html|jsonl?|sock|txt|cpp|hpp|h|c|md)$)re");
  std::set<std::string> reported;
  std::size_t files = 0;
  for (const char* area : {"src/nt", "src/ndis", "src/usb"}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root / area)) {
      const auto extension = entry.path().extension();
      if (!entry.is_regular_file() || (extension != ".cpp" && extension != ".hpp")) continue;
      if (entry.path().filename() == "rule_registry.hpp") continue;
      ++files;
      const std::string text = readText(entry.path());
      for (std::sregex_iterator it(text.begin(), text.end(), literal), end; it != end; ++it) {
        const std::string name = (*it)[1];
        if (!std::regex_search(name, fileName)) reported.insert(name);
      }
    }
  }
  ASSERT_GT(files, 50u);
  // KeBugCheckEx builds its report by hand.
  ASSERT_NE(readText(root / "src/nt/ke/thread.cpp").find("v.rule = \"kebugcheck\""), std::string::npos);
  reported.insert("kebugcheck");
  EXPECT_GT(reported.size(), 100u);

  const std::string checks = readText(root / "docs/CHECKS.md");
  for (const std::string& name : reported) {
    EXPECT_TRUE(registry.contains(name)) << name << " is reported in src/ but missing from src/nt/support/rule_registry.hpp";
  }
  for (const std::string& name : registry) {
    EXPECT_NE(checks.find("`" + name + "`"), std::string::npos) << name << " is registered but not in docs/CHECKS.md";
  }
}
