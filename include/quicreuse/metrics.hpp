// Metrics: a small registry that renders the Prometheus text exposition format (decision D11).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quicreuse {

// MetricLabels are (name, value) pairs; values are escaped when rendered.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// MetricsWriter receives the samples of one scrape. Samples with the same name and labels from
// several collectors are added up (several managers may share a registry).
class MetricsWriter {
 public:
  void counter(std::string_view name, std::string_view help, const MetricLabels& labels,
               double value);
  void gauge(std::string_view name, std::string_view help, const MetricLabels& labels,
             double value);
  // bucket_counts has one count per bound plus a last +Inf bucket (not cumulative).
  void histogram(std::string_view name, std::string_view help, const MetricLabels& labels,
                 const std::vector<double>& bounds, const std::vector<std::uint64_t>& bucket_counts,
                 double sum, std::uint64_t count);
  // Returns the text exposition (format 0.0.4) of everything written.
  [[nodiscard]] std::string render() const;

 private:
  struct Family {
    std::string type;
    std::string help;
    // Samples in first-written order (histogram buckets must come in increasing le order);
    // index maps a rendered "name{labels}" to its position.
    std::vector<std::pair<std::string, double>> samples;
    std::map<std::string, std::size_t> index;
  };
  void add(std::string_view type, std::string_view name, std::string_view help,
           const std::string& sample, double value);
  std::map<std::string, Family, std::less<>> families_;
};

// MetricsRegistry collects samples from its collectors at scrape time. Thread-safe.
class MetricsRegistry {
 public:
  using Collector = std::function<void(MetricsWriter&)>;
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;
  MetricsRegistry(MetricsRegistry&&) = delete;
  MetricsRegistry& operator=(MetricsRegistry&&) = delete;
  ~MetricsRegistry() = default;

  // Adds a collector; returns its id for remove_collector.
  std::uint64_t add_collector(Collector collector);
  void remove_collector(std::uint64_t id);
  // Runs every collector and returns the Prometheus text exposition.
  [[nodiscard]] std::string render() const;

 private:
  // Guards the collector table: managers on different executors (strands) add and remove their
  // collectors while a scraper on yet another thread may render.
  mutable std::mutex mutex_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Collector> collectors_;
};

}  // namespace quicreuse
