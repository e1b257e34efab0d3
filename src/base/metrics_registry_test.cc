#include "base/metrics_registry.h"

#include <gtest/gtest.h>

namespace platops {
namespace {

TEST(MetricsRegistryTest, RendersTextFormat) {
  MetricsRegistry reg;
  auto& c = reg.Counter("req_total", "Requests.", {"route", "code"});
  c.Add({"/a", "200"});
  c.Add({"/a", "200"}, 2);
  c.Add({"/b\"x", "500"});
  auto& h = reg.Histogram("lat_seconds", "Latency.", {"route"}, {0.1, 1});
  h.Observe({"/a"}, 0.05);
  h.Observe({"/a"}, 0.5);
  reg.Gauge("up", "Up.", {}, [] { return std::vector<std::pair<LabelValues, double>>{{{}, 1}}; });
  std::string text = reg.Render();
  EXPECT_NE(text.find("# TYPE req_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("req_total{route=\"/a\",code=\"200\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("req_total{route=\"/b\\\"x\",code=\"500\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{route=\"/a\",le=\"0.1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{route=\"/a\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_count{route=\"/a\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("up 1\n"), std::string::npos);
}

}  // namespace
}  // namespace platops
