// fuzz_make_seeds: writes the generated seed corpora of the harnesses (see fuzz/README.md).
//
//   build-fuzz/fuzz/fuzz_make_seeds fuzz/corpus
//
// Every file it writes is a plain input file; rerunning it replaces those files with equivalent
// ones (TLS random values and keys differ from run to run).
#include "seeds.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace quicreuse::fuzz {

void write_seed(const std::filesystem::path& corpus, std::string_view harness,
                std::string_view name, std::span<const std::uint8_t> bytes) {
  const std::filesystem::path dir = corpus / harness;
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "make_seeds: cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
}

void write_seed(const std::filesystem::path& corpus, std::string_view harness,
                std::string_view name, std::string_view text) {
  write_seed(corpus, harness, name,
             {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

}  // namespace quicreuse::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus directory, e.g. fuzz/corpus>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path corpus = argv[1];
  quicreuse::fuzz::write_quic_seeds(corpus);
  quicreuse::fuzz::write_codec_seeds(corpus);
  quicreuse::fuzz::write_endpoint_seeds(corpus);
  std::printf("make_seeds: wrote the generated seeds under %s\n", corpus.c_str());
  return 0;
}
