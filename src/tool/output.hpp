// Events and error lines printed by the tool: text lines or JSON lines, flushed at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace quicreuse::tool {

// Exit codes of every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the run failed (handshake, timeout, echo mismatch)
inline constexpr int kExitUsage = 2;    // bad command line or setup (bad address, port in use)

// Event is one JSON object {"event":NAME, ...fields} built field by field. The setters have
// distinct names so that a string literal never silently becomes a bool.
class Event {
 public:
  explicit Event(std::string_view name);
  Event& str(std::string_view key, std::string_view value);
  Event& num(std::string_view key, std::uint64_t value);
  // Adds a floating-point field printed with `decimals` digits after the point.
  Event& real(std::string_view key, double value, int decimals);
  Event& boolean(std::string_view key, bool value);
  // Returns the JSON object text.
  [[nodiscard]] std::string json() const { return body_ + "}"; }

 private:
  void key(std::string_view k);
  std::string body_;
};

// Output prints events in the mode chosen on the command line. It is a small value type, safe to
// copy into detached coroutines.
struct Output {
  bool json = false;

  // Prints text (text mode) or event.json() (JSON mode) as one stdout line, for per-event lines
  // (a connection, a STUN answer): never blocks; dropped and counted when stdout is not read.
  void emit(const Event& event, std::string_view text) const;
  // The same for lines that must not be lost ("listening", results): waits for room.
  void emit_always(const Event& event, std::string_view text) const;
};

// Returns s as a JSON string literal (with quotes).
std::string json_string(std::string_view s);
// Writes line and a newline to stdout (through LineWriter, waiting for room if need be).
void print_line(std::string_view line);
// Waits (at most 2 s) until every line was written.
void flush_output();
// Writes `quicreuse: what` to stderr.
void print_error(std::string_view what);
// Formats a floating-point number with `decimals` digits after the point.
std::string format_fixed(double value, int decimals);

}  // namespace quicreuse::tool
