#include "io/qlog_file.hpp"

#include <cstdio>

namespace quicreuse::detail {
namespace {

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
    const auto path =
        dir / (odcid.hex() + (role == core::Role::client ? "_client.sqlog" : "_server.sqlog"));
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) {
      return nullptr;
    }
    return std::make_unique<FileQlogWriter>(file);
  };
}

}  // namespace quicreuse::detail
