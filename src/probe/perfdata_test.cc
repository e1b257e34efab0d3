#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "probe/probe.h"

namespace platops::probe {
namespace {

class PerfDataTest : public ::testing::Test {
 protected:
  static std::vector<PerfDatum> ParseOk(std::string_view text) {
    auto [items, malformed] = ParsePerfData(text);
    EXPECT_EQ(malformed, 0) << text;
    return items;
  }
};

TEST_F(PerfDataTest, NagiosGuidelineExampleWithAllFields) {
  auto items = ParseOk("time=0.002722s;;;0.000000 size=1583B;;;0");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].label, "time");
  EXPECT_DOUBLE_EQ(items[0].value, 0.002722);
  EXPECT_EQ(items[0].unit, "s");
  EXPECT_FALSE(items[0].warn.has_value());
  EXPECT_FALSE(items[0].crit.has_value());
  EXPECT_EQ(items[0].min, 0.0);
  EXPECT_FALSE(items[0].max.has_value());
  EXPECT_EQ(items[1].label, "size");
  EXPECT_EQ(items[1].value, 1583);
  EXPECT_EQ(items[1].unit, "B");
  EXPECT_EQ(items[1].min, 0.0);
}

TEST_F(PerfDataTest, CheckDiskLongOutputPerfdata) {
  // The perfdata parts of the plugin guidelines' check_disk long-output example, joined.
  auto items = ParseOk(
      "/=2643MB;5948;5958;0;5968 /boot=68MB;88;93;0;98\n"
      "/home=69357MB;253404;253409;0;253414 \n/var/log=818MB;970;975;0;980");
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].label, "/");
  EXPECT_EQ(items[0].value, 2643);
  EXPECT_EQ(items[0].unit, "MB");
  EXPECT_EQ(items[0].warn, 5948.0);
  EXPECT_EQ(items[0].crit, 5958.0);
  EXPECT_EQ(items[0].min, 0.0);
  EXPECT_EQ(items[0].max, 5968.0);
  EXPECT_EQ(items[3].label, "/var/log");
  EXPECT_EQ(items[3].max, 980.0);
}

TEST_F(PerfDataTest, PingStyleUnitsAndPercent) {
  auto items = ParseOk("rta=0.046000ms;100.000000;500.000000;0.000000 pl=0%;20;60;0;100");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].unit, "ms");
  EXPECT_DOUBLE_EQ(items[0].value, 0.046);
  EXPECT_EQ(items[0].warn, 100.0);
  EXPECT_EQ(items[0].crit, 500.0);
  EXPECT_EQ(items[1].unit, "%");
  EXPECT_EQ(items[1].max, 100.0);
}

TEST_F(PerfDataTest, QuotedLabelsKeepSpacesAndDoubledQuotes) {
  auto items = ParseOk("'C:\\ Used Space'=12.5GB;20;25 'it''s'=1c '''quoted'''=2");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].label, "C:\\ Used Space");
  EXPECT_EQ(items[0].unit, "GB");
  EXPECT_EQ(items[1].label, "it's");
  EXPECT_EQ(items[1].unit, "c");
  EXPECT_EQ(items[2].label, "'quoted'");
}

TEST_F(PerfDataTest, UnitsAreKeptAsGiven) {
  auto items = ParseOk("a=1us b=2KB c=3TB d=4c e=5 f=6EB g=7B/s");
  ASSERT_EQ(items.size(), 7u);
  EXPECT_EQ(items[0].unit, "us");
  EXPECT_EQ(items[1].unit, "KB");
  EXPECT_EQ(items[2].unit, "TB");
  EXPECT_EQ(items[3].unit, "c");
  EXPECT_EQ(items[4].unit, "");
  EXPECT_EQ(items[5].unit, "EB");
  EXPECT_EQ(items[5].value, 6);
  EXPECT_EQ(items[6].unit, "B/s");
}

TEST_F(PerfDataTest, NumbersInEveryDecimalSpelling) {
  auto items = ParseOk("a=-1.5 b=+2 c=.5 d=1e3 e=2.5E-1s");
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[0].value, -1.5);
  EXPECT_EQ(items[1].value, 2);
  EXPECT_EQ(items[2].value, 0.5);
  EXPECT_EQ(items[3].value, 1000);
  EXPECT_EQ(items[4].value, 0.25);
  EXPECT_EQ(items[4].unit, "s");
}

TEST_F(PerfDataTest, RangeThresholdsAreAcceptedButNotStoredAsNumbers) {
  auto items = ParseOk("a=5;10:20;@10:20 b=5;~:5;10: c=5;@7;-3");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_FALSE(items[0].warn.has_value());
  EXPECT_FALSE(items[0].crit.has_value());
  EXPECT_FALSE(items[1].warn.has_value());
  EXPECT_FALSE(items[1].crit.has_value());
  EXPECT_FALSE(items[2].warn.has_value());
  EXPECT_EQ(items[2].crit, -3.0);
}

TEST_F(PerfDataTest, MissingAndTrailingFields) {
  auto items = ParseOk("a=1;;;; b=2;3 c=3;;4;;; d=4;;;;;;");
  ASSERT_EQ(items.size(), 4u);
  EXPECT_FALSE(items[0].warn || items[0].crit || items[0].min || items[0].max);
  EXPECT_EQ(items[1].warn, 3.0);
  EXPECT_FALSE(items[1].crit.has_value());
  EXPECT_EQ(items[2].crit, 4.0);
  EXPECT_EQ(items[3].value, 4);
}

TEST_F(PerfDataTest, UndeterminedValueIsSkippedWithoutCountingAsMalformed) {
  auto [items, malformed] = ParsePerfData("a=U;1;2 b=3");
  EXPECT_EQ(malformed, 0);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].label, "b");
}

TEST_F(PerfDataTest, GarbageIsCountedAndSkipped) {
  auto [items, malformed] = ParsePerfData(
      "ok=1 noequals =5 empty= x=abc y=1;foo z=1;;;min w=1;2;3;4;5;6 v=inf u=nan t=1..5 "
      "s=1=2 it's=1 ''=3 'ab'c=4 r=1e1e5 last=2");
  EXPECT_EQ(malformed, 15);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].label, "ok");
  EXPECT_EQ(items[1].label, "last");
}

TEST_F(PerfDataTest, UnterminatedQuoteSwallowsTheRest) {
  auto [items, malformed] = ParsePerfData("a=1 'open=2 b=3");
  EXPECT_EQ(malformed, 1);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].label, "a");
}

TEST_F(PerfDataTest, EmptyAndBlankTextYieldNothing) {
  for (std::string_view text : {"", "   ", "\n\t \r\n"}) {
    auto [items, malformed] = ParsePerfData(text);
    EXPECT_TRUE(items.empty());
    EXPECT_EQ(malformed, 0);
  }
}

TEST_F(PerfDataTest, OutOfRangeNumberIsMalformed) {
  auto [items, malformed] = ParsePerfData("big=1e999 ok=1e300");
  EXPECT_EQ(malformed, 1);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].value, 1e300);
}

}  // namespace
}  // namespace platops::probe
