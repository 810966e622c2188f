// qlog files: connections that share an original DCID (a retried, forged or corrupted Initial)
// each get their own file, and a peer repeating one DCID cannot fill the directory.
#include "io/qlog_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

namespace quicreuse::detail {
namespace {

std::set<std::string> names_in(const std::filesystem::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

std::string read_all(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class QlogFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("quicreuse-qlog-unit-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};

void write_text(core::QlogWriter& w, const std::string& text) {
  w.write({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, false);
}

TEST_F(QlogFiles, ConnectionsSharingAnOriginalDcidEachKeepTheirOwnTrace) {
  const std::array<std::uint8_t, 4> bytes{0xab, 0xcd, 0x01, 0x02};
  const auto odcid = core::ConnectionId::from(bytes);
  auto factory = file_qlog_factory(dir);
  auto first = factory(odcid, core::Role::server);
  auto second = factory(odcid, core::Role::server);
  auto client = factory(odcid, core::Role::client);
  ASSERT_TRUE(first && second && client);
  write_text(*first, "first");
  write_text(*second, "second");
  write_text(*client, "client");
  first.reset();
  second.reset();
  client.reset();
  EXPECT_EQ(names_in(dir),
            (std::set<std::string>{"abcd0102_server.sqlog", "abcd0102_server-2.sqlog",
                                   "abcd0102_client.sqlog"}));
  EXPECT_EQ(read_all(dir / "abcd0102_server.sqlog"), "first");
  EXPECT_EQ(read_all(dir / "abcd0102_server-2.sqlog"), "second");
  EXPECT_EQ(read_all(dir / "abcd0102_client.sqlog"), "client");
}

TEST_F(QlogFiles, OneDcidRepeatedPastTheBoundGoesWithoutQlog) {
  const std::array<std::uint8_t, 2> bytes{0x00, 0x11};
  const auto odcid = core::ConnectionId::from(bytes);
  auto factory = file_qlog_factory(dir);
  int made = 0;
  for (int i = 0; i < 100; ++i) {
    made += factory(odcid, core::Role::server) != nullptr ? 1 : 0;
  }
  EXPECT_EQ(made, 16);
  EXPECT_EQ(names_in(dir).size(), 16u);
}

}  // namespace
}  // namespace quicreuse::detail
