// Command-line parsing shared by the subcommands: `--name VALUE`, `--name=VALUE`, flags,
// repeatable options and positional arguments.
#pragma once

#include <tl/expected.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace quicreuse::tool {

// OptionSpec declares one `--name` option of a subcommand.
struct OptionSpec {
  std::string_view name;  // without the leading "--"
  bool takes_value = false;
  bool repeatable = false;
};

// ParsedArgs holds a subcommand's parsed command line.
class ParsedArgs {
 public:
  std::vector<std::string> positionals;
  bool help = false;  // --help or -h was given

  // Returns true if the option was given (flag or with a value).
  [[nodiscard]] bool has(std::string_view name) const;
  // Returns the option's value (the last one for repeatable options), if given.
  [[nodiscard]] std::optional<std::string> value(std::string_view name) const;
  // Returns every value of a repeatable option, in command-line order.
  [[nodiscard]] std::vector<std::string> values(std::string_view name) const;

  void add(std::string_view name, std::string value);

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> options_;
};

// Parses args against specs. Errors (one line, no "quicreuse:" prefix): an unknown option, a
// missing value, a non-repeatable option given twice.
tl::expected<ParsedArgs, std::string> parse_args(std::span<const std::string> args,
                                                 std::span<const OptionSpec> specs,
                                                 std::string_view command);

// Parses a subcommand's command line into out. Returns the exit code when the command must stop
// here: kExitUsage after printing the one-line error, kExitOk after printing usage for --help.
std::optional<int> parse_command_line(std::span<const std::string> args,
                                      std::span<const OptionSpec> specs, std::string_view command,
                                      std::string_view usage, ParsedArgs& out);

// Parses a byte size: digits with an optional suffix K, M, G, T (powers of 10^3) or Ki, Mi, Gi,
// Ti (powers of 2^10).
std::optional<std::uint64_t> parse_size(std::string_view text);
// Parses a non-negative integer count.
std::optional<std::uint64_t> parse_count(std::string_view text);
// Parses a positive number of seconds (fractions allowed).
std::optional<double> parse_seconds(std::string_view text);

}  // namespace quicreuse::tool
