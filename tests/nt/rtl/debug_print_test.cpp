// DbgPrint family, debug filter, ASSERT/NT_ASSERT (through a C file built with DBG=1),
// DbgBreakPoint without a debugger.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nt/rtl/ddk.hpp"
#include "nt/rtl/debug_print.hpp"
#include "nt/support/violation.hpp"

using namespace ndishost::nt;
using namespace ndishost::nt::rtl;

extern "C" {
int c_assert_true(void);
void c_assert_false(void);
void c_assert_message(void);
void c_nt_assert_false(void);
int c_nt_verify(int value);
void c_kd_print(int value);
}

namespace {

class Captured {
 public:
  Captured() : capture_([this](const DebugPrintLine& line) {
    std::lock_guard guard(lock_);
    lines_.push_back(line);
  }) {}
  std::vector<DebugPrintLine> lines() {
    flushPendingDebugPrint();
    std::lock_guard guard(lock_);
    return lines_;
  }
  std::vector<std::string> texts() {
    std::vector<std::string> out;
    for (auto& line : lines()) out.push_back(line.text);
    return out;
  }

 private:
  std::mutex lock_;
  std::vector<DebugPrintLine> lines_;
  DebugPrintCapture capture_;
};

ULONG callVDbgPrintEx(ULONG component, ULONG level, const char* format, ...) {
  va_list arguments;
  va_start(arguments, format);
  ULONG status = vDbgPrintEx(component, level, format, arguments);
  va_end(arguments);
  return status;
}

ULONG callWithPrefix(const char* prefix, const char* format, ...) {
  va_list arguments;
  va_start(arguments, format);
  ULONG status = vDbgPrintExWithPrefix(prefix, DPFLTR_IHVDRIVER_ID, DPFLTR_INFO_LEVEL, format, arguments);
  va_end(arguments);
  return status;
}

}  // namespace

TEST(DbgPrint, OneLinePerPrintedLineWithWindowsFormats) {
  Captured captured;
  WCHAR name[] = L"ndis0";
  UNICODE_STRING unicode{10, 12, name};
  EXPECT_EQ(DbgPrint("value %d %ld %I64x %wZ\n", -1, 7L, ULONG64(0x100000000), &unicode), ULONG(STATUS_SUCCESS));
  DbgPrint("two\nlines\n");
  auto lines = captured.lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].text, "value -1 7 100000000 ndis0");
  EXPECT_EQ(lines[0].driver, "host");
  EXPECT_EQ(lines[0].componentId, ULONG(DPFLTR_DEFAULT_ID));
  EXPECT_EQ(lines[0].level, ULONG(DPFLTR_INFO_LEVEL));
  EXPECT_EQ(lines[1].text, "two");
  EXPECT_EQ(lines[2].text, "lines");
}

TEST(DbgPrint, PartialLinesJoinUntilTheNewline) {
  Captured captured;
  DbgPrint("abc");
  DbgPrint("def");
  DbgPrint("\r\n");
  DbgPrint("tail without newline");
  EXPECT_EQ(captured.texts(), (std::vector<std::string>{"abcdef", "tail without newline"}));
}

TEST(DbgPrint, UnfinishedLineIsEmittedWhenItsThreadEnds) {
  Captured captured;
  std::thread([] { DbgPrint("from a thread"); }).join();
  EXPECT_EQ(captured.texts(), (std::vector<std::string>{"from a thread"}));
}

TEST(DbgPrint, OneCallCarriesAtMost512Bytes) {
  Captured captured;
  std::string longText(600, 'a');
  DbgPrint("%s\n", longText.c_str());
  auto texts = captured.texts();
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(texts[0], std::string(512, 'a'));
}

TEST(DbgPrint, FilterByComponentAndLevel) {
  Captured captured;
  EXPECT_EQ(DbgQueryDebugFilterState(DPFLTR_IHVNETWORK_ID, DPFLTR_TRACE_LEVEL), TRUE);
  ASSERT_EQ(DbgSetDebugFilterState(DPFLTR_IHVNETWORK_ID, DPFLTR_TRACE_LEVEL, FALSE), STATUS_SUCCESS);
  EXPECT_EQ(DbgQueryDebugFilterState(DPFLTR_IHVNETWORK_ID, DPFLTR_TRACE_LEVEL), FALSE);
  DbgPrintEx(DPFLTR_IHVNETWORK_ID, DPFLTR_TRACE_LEVEL, "hidden\n");
  DbgPrintEx(DPFLTR_IHVNETWORK_ID, DPFLTR_ERROR_LEVEL, "shown %u\n", 1u);
  DbgPrintEx(DPFLTR_IHVNETWORK_ID, DPFLTR_MASK | 0x4, "mask form of trace hidden\n");
  DbgPrintEx(DPFLTR_IHVNETWORK_ID, DPFLTR_MASK | 0x8, "mask form of info shown\n");
  callVDbgPrintEx(DPFLTR_IHVNETWORK_ID, DPFLTR_TRACE_LEVEL, "hidden too\n");
  ASSERT_EQ(DbgSetDebugFilterState(DPFLTR_IHVNETWORK_ID, DPFLTR_TRACE_LEVEL, TRUE), STATUS_SUCCESS);
  callVDbgPrintEx(DPFLTR_IHVNETWORK_ID, DPFLTR_TRACE_LEVEL, "visible again %s\n", "now");
  EXPECT_EQ(captured.texts(),
            (std::vector<std::string>{"shown 1", "mask form of info shown", "visible again now"}));
  EXPECT_EQ(DbgQueryDebugFilterState(100000, 0), STATUS_INVALID_PARAMETER_1);
}

TEST(DbgPrint, PrefixComesFirst) {
  Captured captured;
  callWithPrefix("usbncm: ", "link %s\n", "up");
  auto lines = captured.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].text, "usbncm: link up");
  EXPECT_EQ(lines[0].componentId, ULONG(DPFLTR_IHVDRIVER_ID));
}

TEST(DbgPrint, KdPrintMacrosPrintInCheckedBuilds) {
  Captured captured;
  c_kd_print(5);
  auto lines = captured.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "kdprint 5");
  EXPECT_EQ(lines[1].text, "kdprintex error");
  EXPECT_EQ(lines[1].componentId, ULONG(DPFLTR_IHVNETWORK_ID));
}

TEST(DbgAssert, FailedAssertionsAreReported) {
  RecordViolationsScope record;
  EXPECT_EQ(c_assert_true(), 1);  // evaluated exactly once, no report
  EXPECT_TRUE(record.take().empty());

  c_assert_false();
  c_assert_message();
  c_nt_assert_false();
  auto violations = record.take();
  ASSERT_EQ(violations.size(), 3u);
  for (const auto& v : violations) {
    EXPECT_EQ(v.rule, "dbg.assert-failed");
    EXPECT_EQ(v.code, bugcheck::KmodeExceptionNotHandled);
    EXPECT_EQ(v.parameters[0], std::uint32_t(STATUS_ASSERTION_FAILURE));
  }
  EXPECT_NE(violations[0].detail.find("1 + 1 == 3"), std::string::npos);
  EXPECT_NE(violations[0].detail.find("debug_macros_c.c"), std::string::npos);
  EXPECT_NE(violations[1].detail.find("the message"), std::string::npos);

  EXPECT_EQ(c_nt_verify(7), 1);
  EXPECT_TRUE(record.take().empty());
  EXPECT_EQ(c_nt_verify(0), 0);
  EXPECT_EQ(record.take().size(), 1u);
}

TEST(DbgBreak, WithoutADebuggerItLogsAndContinues) {
  DbgBreakPoint();
  DbgBreakPointWithStatus(3);
  SUCCEED();
}
