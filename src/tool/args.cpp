#include "args.hpp"

#include "output.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace quicreuse::tool {

bool ParsedArgs::has(std::string_view name) const {
  return options_.find(name) != options_.end();
}

std::optional<std::string> ParsedArgs::value(std::string_view name) const {
  const auto it = options_.find(name);
  if (it == options_.end() || it->second.empty()) {
    return std::nullopt;
  }
  return it->second.back();
}

std::vector<std::string> ParsedArgs::values(std::string_view name) const {
  const auto it = options_.find(name);
  return it == options_.end() ? std::vector<std::string>{} : it->second;
}

void ParsedArgs::add(std::string_view name, std::string value) {
  auto& list = options_[std::string(name)];
  if (!value.empty() || list.empty()) {
    list.push_back(std::move(value));
  }
}

tl::expected<ParsedArgs, std::string> parse_args(std::span<const std::string> args,
                                                 std::span<const OptionSpec> specs,
                                                 std::string_view command) {
  const std::string see = " (see 'quicreuse " + std::string(command) + " --help')";
  ParsedArgs out;
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_done || arg.empty() || arg[0] != '-' || arg == "-") {
      out.positionals.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    if (arg.size() < 3 || arg[1] != '-') {
      std::string what = "unknown option '" + arg;
      what += "'";
      what += see;
      return tl::make_unexpected(what);
    }
    std::string_view name(arg);
    name.remove_prefix(2);
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('='); eq != std::string_view::npos) {
      inline_value = std::string(name.substr(eq + 1));
      name = name.substr(0, eq);
    }
    const OptionSpec* spec = nullptr;
    for (const auto& s : specs) {
      if (s.name == name) {
        spec = &s;
      }
    }
    if (spec == nullptr) {
      return tl::make_unexpected("unknown option '--" + std::string(name) + "' for '" +
                                 std::string(command) + "'" + see);
    }
    if (!spec->repeatable && out.has(name)) {
      return tl::make_unexpected("option '--" + std::string(name) + "' given more than once");
    }
    if (!spec->takes_value) {
      if (inline_value) {
        return tl::make_unexpected("option '--" + std::string(name) + "' takes no value");
      }
      out.add(name, {});
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        return tl::make_unexpected("option '--" + std::string(name) + "' needs a value");
      }
      inline_value = args[++i];
    }
    if (inline_value->empty()) {
      return tl::make_unexpected("option '--" + std::string(name) + "' needs a non-empty value");
    }
    out.add(name, std::move(*inline_value));
  }
  return out;
}

std::optional<std::uint64_t> parse_count(std::string_view text) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return v;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    ++digits;
  }
  const auto number = parse_count(text.substr(0, digits));
  if (!number) {
    return std::nullopt;
  }
  const std::string_view suffix = text.substr(digits);
  std::uint64_t multiplier = 1;
  if (suffix.empty()) {
    multiplier = 1;
  } else if (suffix == "K") {
    multiplier = 1000ULL;
  } else if (suffix == "M") {
    multiplier = 1000ULL * 1000;
  } else if (suffix == "G") {
    multiplier = 1000ULL * 1000 * 1000;
  } else if (suffix == "T") {
    multiplier = 1000ULL * 1000 * 1000 * 1000;
  } else if (suffix == "Ki") {
    multiplier = 1ULL << 10;
  } else if (suffix == "Mi") {
    multiplier = 1ULL << 20;
  } else if (suffix == "Gi") {
    multiplier = 1ULL << 30;
  } else if (suffix == "Ti") {
    multiplier = 1ULL << 40;
  } else {
    return std::nullopt;
  }
  if (*number > std::numeric_limits<std::uint64_t>::max() / multiplier) {
    return std::nullopt;
  }
  return *number * multiplier;
}

std::optional<double> parse_seconds(std::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v) || v <= 0 || v > 1e6) {
    return std::nullopt;
  }
  return v;
}

std::optional<int> parse_command_line(std::span<const std::string> args,
                                      std::span<const OptionSpec> specs, std::string_view command,
                                      std::string_view usage, ParsedArgs& out) {
  auto parsed = parse_args(args, specs, command);
  if (!parsed) {
    print_error(parsed.error());
    return kExitUsage;
  }
  if (parsed->help) {
    std::fwrite(usage.data(), 1, usage.size(), stdout);
    return kExitOk;
  }
  out = std::move(*parsed);
  return std::nullopt;
}

}  // namespace quicreuse::tool
