// running_on: the executor-confinement check behind QUICREUSE_ASSERT_CONFINED (no sockets).
#include "reuse/confined.hpp"

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>

#include <gtest/gtest.h>

namespace quicreuse::detail {
namespace {

TEST(Confined, OutsideEveryEventLoopAnyExecutorMayBeTouched) {
  asio::io_context io;
  EXPECT_TRUE(running_on(io.get_executor()));  // setting up before run()
  EXPECT_TRUE(running_on(asio::make_strand(io)));
  EXPECT_TRUE(running_on(asio::any_io_executor{}));
}

TEST(Confined, InsideAHandlerOnlyItsOwnExecutorMayBeTouched) {
  asio::io_context io;
  asio::io_context other;
  auto mine = asio::make_strand(io);
  auto theirs = asio::make_strand(io);
  bool on_mine = false;
  bool on_theirs = true;
  bool on_io = false;
  bool on_other = true;
  asio::post(mine, [&] {
    on_mine = running_on(mine);
    on_theirs = running_on(theirs);  // another strand of the same io_context
    on_io = running_on(io.get_executor());
    on_other = running_on(other.get_executor());
  });
  io.run();
  EXPECT_TRUE(on_mine);
  EXPECT_FALSE(on_theirs);
  EXPECT_TRUE(on_io);
  EXPECT_FALSE(on_other);
}

}  // namespace
}  // namespace quicreuse::detail
