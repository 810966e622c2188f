// The tool's LineWriter: a reader that does not read makes lines queue up to a bound, then drop
// (counted, never blocking the caller); once it reads again it learns how many it missed.
#include "line_writer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace quicreuse::tool {
namespace {

using namespace std::chrono_literals;

TEST(LineWriter, DropsWhatDoesNotFitAndReportsItWhenTheReaderCatchesUp) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  (void)fcntl(fds[1], F_SETPIPE_SZ, 4096);
  std::string received;
  int queued = 0;
  std::uint64_t dropped = 0;
  {
    LineWriter writer(fds[1], 1024);
    const std::string line(49, 'x');
    for (int i = 0; i < 1000; ++i) {
      queued += writer.try_write(line) ? 1 : 0;  // never blocks, whatever the reader does
    }
    dropped = writer.dropped();
    EXPECT_GT(dropped, 0u);
    EXPECT_EQ(static_cast<std::uint64_t>(queued) + dropped, 1000u);
    // Now read everything: the writer drains its queue.
    std::thread reader([&] {
      char buf[4096];
      ssize_t n = 0;
      while ((n = read(fds[0], buf, sizeof buf)) > 0) {
        received.append(buf, static_cast<std::size_t>(n));
      }
    });
    writer.write("last");  // a line that must not be lost waits for room
    EXPECT_TRUE(writer.flush(10s));
    close(fds[1]);  // after the writer is done with it (flushed; destroyed below)
    reader.join();
  }
  close(fds[0]);
  // Drops may be announced in several notices (the writer catches up between them): they add up.
  std::uint64_t announced = 0;
  const std::string notice = "output dropped ";
  for (std::size_t at = received.find(notice); at != std::string::npos;
       at = received.find(notice, at + 1)) {
    announced += std::stoull(received.substr(at + notice.size()));
  }
  EXPECT_EQ(announced, dropped);
  EXPECT_EQ(received.substr(received.size() - 5), "last\n");
  std::size_t lines = 0;
  for (std::size_t at = received.find(std::string(49, 'x')); at != std::string::npos;
       at = received.find(std::string(49, 'x'), at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, static_cast<std::size_t>(queued));
}

}  // namespace
}  // namespace quicreuse::tool
