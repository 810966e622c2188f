#include "output.hpp"

#include "line_writer.hpp"

#include <cstdio>

namespace quicreuse::tool {

Event::Event(std::string_view name) : body_("{\"event\":" + json_string(name)) {}

void Event::key(std::string_view k) {
  body_ += ',';
  body_ += json_string(k);
  body_ += ':';
}

Event& Event::str(std::string_view k, std::string_view value) {
  key(k);
  body_ += json_string(value);
  return *this;
}

Event& Event::num(std::string_view k, std::uint64_t value) {
  key(k);
  body_ += std::to_string(value);
  return *this;
}

Event& Event::real(std::string_view k, double value, int decimals) {
  key(k);
  body_ += format_fixed(value, decimals);
  return *this;
}

Event& Event::boolean(std::string_view k, bool value) {
  key(k);
  body_ += value ? "true" : "false";
  return *this;
}

void Output::emit(const Event& event, std::string_view text) const {
  LineWriter::instance().try_write(std::string(json ? std::string_view(event.json()) : text));
}

void Output::emit_always(const Event& event, std::string_view text) const {
  print_line(json ? std::string_view(event.json()) : text);
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += ch;  // UTF-8 passes through; invalid UTF-8 is the sender's problem
        }
    }
  }
  out += '"';
  return out;
}

void print_line(std::string_view line) {
  LineWriter::instance().write(std::string(line));
}

void flush_output() {
  (void)LineWriter::instance().flush(std::chrono::seconds(2));
}

void print_error(std::string_view what) {
  std::fprintf(stderr, "quicreuse: %.*s\n", static_cast<int>(what.size()), what.data());
  std::fflush(stderr);
}

std::string format_fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

}  // namespace quicreuse::tool
