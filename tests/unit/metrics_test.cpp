// The Prometheus text exposition of MetricsRegistry.
#include <quicreuse/metrics.hpp>

#include <gtest/gtest.h>

namespace quicreuse {
namespace {

TEST(Metrics, RendersCountersGaugesAndCumulativeHistograms) {
  MetricsRegistry registry;
  const auto id = registry.add_collector([](MetricsWriter& w) {
    w.counter("q_total", "a counter", {{"reason", "idle \"timeout\""}}, 3);
    w.gauge("q_open", "a gauge", {}, 2);
    w.histogram("q_seconds", "a histogram", {{"direction", "in"}}, {0.1, 1.0}, {1, 2, 3}, 7.5, 6);
  });
  registry.add_collector([](MetricsWriter& w) {
    w.counter("q_total", "a counter", {{"reason", "idle \"timeout\""}}, 4);  // summed
  });
  const std::string text = registry.render();
  EXPECT_NE(text.find("# HELP q_total a counter\n# TYPE q_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("q_total{reason=\"idle \\\"timeout\\\"\"} 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE q_open gauge\nq_open 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("q_seconds_bucket{direction=\"in\",le=\"0.1\"} 1\n"), std::string::npos)
      << text;
  // Buckets in increasing le order, +Inf last.
  EXPECT_LT(text.find("le=\"0.1\""), text.find("le=\"1\""));
  EXPECT_LT(text.find("le=\"1\""), text.find("le=\"+Inf\""));
  EXPECT_NE(text.find("q_seconds_bucket{direction=\"in\",le=\"1\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("q_seconds_bucket{direction=\"in\",le=\"+Inf\"} 6\n"), std::string::npos);
  EXPECT_NE(text.find("q_seconds_sum{direction=\"in\"} 7.5\n"), std::string::npos);
  EXPECT_NE(text.find("q_seconds_count{direction=\"in\"} 6\n"), std::string::npos);
  registry.remove_collector(id);
  EXPECT_EQ(registry.render().find("q_open"), std::string::npos);
}

}  // namespace
}  // namespace quicreuse
