#include "base/time_util.h"

#include <gtest/gtest.h>

namespace platops {
namespace {

using namespace std::chrono_literals;

TEST(TimeUtilTest, Rfc3339RoundTrip) {
  auto t = ParseRfc3339("2026-11-27T04:32:25Z");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->time_since_epoch().count(), 1795753945000);
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-27T04:32:25Z");
  auto frac = ParseRfc3339("2026-11-27T04:32:25.12345+01:00");
  ASSERT_TRUE(frac.ok());
  EXPECT_EQ(FormatRfc3339(*frac), "2026-11-27T03:32:25.123Z");
}

TEST(TimeUtilTest, Rfc3339FormatsEveryFieldWithLeadingZeros) {
  EXPECT_EQ(FormatRfc3339(Timestamp{}), "1970-01-01T00:00:00Z");
  for (const char* text : {"0001-01-01T00:00:00Z", "2024-02-29T09:05:07.007Z",
                           "9999-12-31T23:59:59.999Z", "2026-01-09T00:00:00.100Z"}) {
    auto t = ParseRfc3339(text);
    ASSERT_TRUE(t.ok()) << text;
    EXPECT_EQ(FormatRfc3339(*t), text);
  }
  // Outside four-digit years: still a full RFC 3339-like form, not a cut one.
  const Timestamp far = Timestamp{} + std::chrono::hours(24 * 366 * 9000);
  const std::string far_text = FormatRfc3339(far);
  EXPECT_EQ(far_text.substr(0, 6), "10988-") << far_text;
  EXPECT_EQ(far_text.size(), std::string("10988-01-01T00:00:00Z").size()) << far_text;
}

TEST(TimeUtilTest, Rfc3339Rejects) {
  for (const char* bad : {"", "2026-11-27", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                          "2026-11-27T04:32:25", "2026-11-27T04:32:25Zjunk", "yesterday"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

TEST(TimeUtilTest, Durations) {
  EXPECT_EQ(*ParseDuration("30s"), 30s);
  EXPECT_EQ(*ParseDuration("1h30m"), 90min);
  EXPECT_EQ(*ParseDuration("1d"), 24h);
  EXPECT_EQ(*ParseDuration("1w2d"), 216h);
  EXPECT_EQ(*ParseDuration("250ms"), 250ms);
  EXPECT_EQ(*ParseDuration("0"), 0ms);
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("5").ok());
  EXPECT_FALSE(ParseDuration("5x").ok());
  EXPECT_FALSE(ParseDuration("30m1h").ok());
  EXPECT_FALSE(ParseDuration("-5m").ok());
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(0ms), "0s");
  EXPECT_EQ(FormatDuration(30 * 24h), "4w2d");
}

TEST(TimeUtilTest, TimeZones) {
  EXPECT_TRUE(IsValidTimeZone("Europe/Berlin"));
  EXPECT_TRUE(IsValidTimeZone("UTC"));
  EXPECT_FALSE(IsValidTimeZone("Mars/Olympus"));
  EXPECT_FALSE(IsValidTimeZone(""));
}

}  // namespace
}  // namespace platops
