// ParkedQueue: order, removal by id, cancellation and failing everything, with handlers that run
// only when the executor runs them.
#include "io/parked_queue.hpp"

#include <quicreuse/detail/completion.hpp>

#include <asio/error.hpp>
#include <asio/io_context.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <system_error>
#include <utility>
#include <vector>

namespace quicreuse::detail {
namespace {

using IntCompletion = Completion<std::error_code, int>;

struct Op {
  std::uint64_t id = 0;
  IntCompletion completion;
};

// Records (id, error, value) of each completed operation, in completion order.
struct Log {
  struct Entry {
    std::uint64_t id;
    std::error_code ec;
    int value;
  };
  std::vector<Entry> entries;
};

Op make_op(asio::io_context& io, Log& log, std::uint64_t id) {
  return Op{id, IntCompletion(
                    [&log, id](std::error_code ec, int v) {
                      log.entries.push_back({id, ec, v});
                    },
                    io.get_executor())};
}

TEST(ParkedQueue, PopsOldestFirst) {
  asio::io_context io;
  Log log;
  ParkedQueue<Op> q;
  EXPECT_TRUE(q.empty());
  for (std::uint64_t id = 1; id <= 3; ++id) {
    q.push(make_op(io, log, id));
  }
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.front().id, 1u);
  Op first = q.pop();
  EXPECT_EQ(first.id, 1u);
  EXPECT_EQ(q.pop().id, 2u);
  EXPECT_EQ(q.size(), 1u);
  first.completion.complete({}, 7);  // an operation taken out completes as usual
  EXPECT_TRUE(log.entries.empty());  // posted, not run inline
  io.poll();
  ASSERT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(log.entries[0].value, 7);
}

TEST(ParkedQueue, TakeRemovesOnlyTheNamedOperation) {
  asio::io_context io;
  Log log;
  ParkedQueue<Op> q;
  for (std::uint64_t id = 1; id <= 3; ++id) {
    q.push(make_op(io, log, id));
  }
  auto middle = q.take(2);
  ASSERT_TRUE(middle);
  EXPECT_EQ(middle->id, 2u);
  EXPECT_FALSE(q.take(2));  // gone
  EXPECT_FALSE(q.take(9));  // never parked
  auto by_pred = q.take_if([](const Op& op) { return op.id == 3; });
  ASSERT_TRUE(by_pred);
  EXPECT_EQ(by_pred->id, 3u);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q.front().id, 1u);
}

TEST(ParkedQueue, CancelCompletesAParkedOperationOnce) {
  asio::io_context io;
  Log log;
  ParkedQueue<Op> q;
  q.push(make_op(io, log, 1));
  q.push(make_op(io, log, 2));
  EXPECT_TRUE(q.cancel(2));
  EXPECT_FALSE(q.cancel(2));  // already completed
  EXPECT_EQ(q.size(), 1u);
  io.poll();
  ASSERT_EQ(log.entries.size(), 1u);
  EXPECT_EQ(log.entries[0].id, 2u);
  EXPECT_EQ(log.entries[0].ec, asio::error::operation_aborted);
  EXPECT_EQ(log.entries[0].value, 0);  // results value-initialised
}

TEST(ParkedQueue, FailAllCompletesEveryOperationInOrderAndEmptiesTheQueue) {
  asio::io_context io;
  Log log;
  ParkedQueue<Op> q;
  for (std::uint64_t id = 1; id <= 20; ++id) {  // past Fifo's compaction threshold
    q.push(make_op(io, log, id));
  }
  EXPECT_EQ(q.pop().id, 1u);  // completion dropped unrun: the handler never runs
  const std::error_code ec = std::make_error_code(std::errc::connection_aborted);
  q.fail_all(ec);
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(log.entries.empty());
  io.poll();
  ASSERT_EQ(log.entries.size(), 19u);
  for (std::size_t i = 0; i < log.entries.size(); ++i) {
    EXPECT_EQ(log.entries[i].id, i + 2);
    EXPECT_EQ(log.entries[i].ec, ec);
    EXPECT_EQ(log.entries[i].value, 0);
  }
}

}  // namespace
}  // namespace quicreuse::detail
