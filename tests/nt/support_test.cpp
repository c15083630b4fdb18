// The runtime's support layer: driver attribution, rule-violation reports and the leak
// ledger that every subsystem feeds.
#include <gtest/gtest.h>

#include "nt/support/driver_image.hpp"
#include "nt/support/ledger.hpp"
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
