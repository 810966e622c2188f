// Prometheus text exposition (https://prometheus.io/docs/instrumenting/exposition_formats/).
#include <quicreuse/metrics.hpp>

#include <charconv>
#include <cmath>

namespace quicreuse {
namespace {

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string labels_text(const MetricLabels& labels) {
  if (labels.empty()) {
    return {};
  }
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    out += (i == 0 ? "" : ",") + labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
  }
  return out + "}";
}

std::string number(double v) {
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  char buf[64];
  // The shortest text that reads back as the same double: 0.0025, not 0.0025000000000000001.
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return {buf, r.ptr};
}

}  // namespace

void MetricsWriter::add(std::string_view type, std::string_view name, std::string_view help,
                        const std::string& sample, double value) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{std::string(type), std::string(help), {}, {}})
             .first;
  }
  Family& f = it->second;
  auto [pos, inserted] = f.index.try_emplace(sample, f.samples.size());
  if (inserted) {
    f.samples.emplace_back(sample, value);
  } else {
    f.samples[pos->second].second += value;
  }
}

void MetricsWriter::counter(std::string_view name, std::string_view help,
                            const MetricLabels& labels, double value) {
  add("counter", name, help, std::string(name) + labels_text(labels), value);
}

void MetricsWriter::gauge(std::string_view name, std::string_view help, const MetricLabels& labels,
                          double value) {
  add("gauge", name, help, std::string(name) + labels_text(labels), value);
}

void MetricsWriter::histogram(std::string_view name, std::string_view help,
                              const MetricLabels& labels, const std::vector<double>& bounds,
                              const std::vector<std::uint64_t>& bucket_counts, double sum,
                              std::uint64_t count) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += i < bucket_counts.size() ? bucket_counts[i] : 0;
    MetricLabels with_le = labels;
    with_le.emplace_back("le", i < bounds.size() ? number(bounds[i]) : "+Inf");
    add("histogram", name, help, std::string(name) + "_bucket" + labels_text(with_le),
        static_cast<double>(cumulative));
  }
  add("histogram", name, help, std::string(name) + "_sum" + labels_text(labels), sum);
  add("histogram", name, help, std::string(name) + "_count" + labels_text(labels),
      static_cast<double>(count));
}

std::string MetricsWriter::render() const {
  std::string out;
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + " " + family.help + "\n";
    out += "# TYPE " + name + " " + family.type + "\n";
    for (const auto& [sample, value] : family.samples) {
      out += sample + " " + number(value) + "\n";
    }
  }
  return out;
}

std::uint64_t MetricsRegistry::add_collector(Collector collector) {
  const std::lock_guard lock(mutex_);
  const std::uint64_t id = next_id_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void MetricsRegistry::remove_collector(std::uint64_t id) {
  const std::lock_guard lock(mutex_);
  collectors_.erase(id);
}

std::string MetricsRegistry::render() const {
  std::vector<Collector> collectors;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& [id, c] : collectors_) {
      collectors.push_back(c);
    }
  }
  MetricsWriter writer;
  for (const auto& c : collectors) {
    c(writer);
  }
  return writer.render();
}

}  // namespace quicreuse
