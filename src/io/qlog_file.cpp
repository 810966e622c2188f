#include "io/qlog_file.hpp"

#include <cstdio>
#include <string>

namespace quicreuse::detail {
namespace {

// Files per original DCID and role before a connection goes without qlog: bounds the directory a
// peer can fill by repeating one DCID.
constexpr int kMaxQlogFilesPerDcid = 16;

class FileQlogWriter final : public core::QlogWriter {
 public:
  explicit FileQlogWriter(std::FILE* file) : file_(file) {}
  ~FileQlogWriter() override { finish(); }
  FileQlogWriter(const FileQlogWriter&) = delete;
  FileQlogWriter& operator=(const FileQlogWriter&) = delete;
  FileQlogWriter(FileQlogWriter&&) = delete;
  FileQlogWriter& operator=(FileQlogWriter&&) = delete;

  void write(std::span<const std::uint8_t> data, bool fin) override {
    if (file_ != nullptr && !data.empty()) {
      std::fwrite(data.data(), 1, data.size(), file_);
    }
    if (fin) {
      finish();
    }
  }

 private:
  void finish() {
    if (file_ != nullptr) {
      std::fclose(file_);
      file_ = nullptr;
    }
  }
  std::FILE* file_;
};

}  // namespace

core::QlogFactory file_qlog_factory(std::filesystem::path dir) {
  return [dir = std::move(dir)](const core::ConnectionId& odcid,
                                core::Role role) -> std::unique_ptr<core::QlogWriter> {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    // Several connections can share an original DCID (a client's retried Initial, or a forged or
    // corrupted one): each gets its own file, "<odcid>_<role>.sqlog" then "<odcid>_<role>-2.sqlog"
    // and so on, never overwriting another connection's trace.
    const std::string stem = odcid.hex() + (role == core::Role::client ? "_client" : "_server");
    std::FILE* file = nullptr;
    for (int n = 1; file == nullptr && n <= kMaxQlogFilesPerDcid; ++n) {
      const auto path =
          dir / (stem + (n == 1 ? std::string() : "-" + std::to_string(n)) + ".sqlog");
      file = std::fopen(path.c_str(), "wbx");  // x: fails if the file exists
    }
    if (file == nullptr) {
      return nullptr;
    }
    return std::make_unique<FileQlogWriter>(file);
  };
}

}  // namespace quicreuse::detail
