#include "line_writer.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>

namespace quicreuse::tool {
namespace {

// Lines queued for a reader that does not read: enough for a burst of events, small enough
// that nothing a peer does can grow the process through its output.
constexpr std::size_t kMaxQueuedBytes = std::size_t{1} << 20;

}  // namespace

LineWriter& LineWriter::instance() {
  // Never destroyed: its thread may be blocked on a reader that never reads, so it cannot be
  // joined at exit; finish() flushes what it can instead.
  static auto* const writer = new LineWriter(STDOUT_FILENO, kMaxQueuedBytes);
  return *writer;
}

void LineWriter::finish() {
  (void)flush(std::chrono::seconds(2));
  const std::uint64_t lost = dropped();
  if (lost > 0) {
    std::fprintf(stderr, "quicreuse: %llu output lines dropped (stdout was not read)\n",
                 static_cast<unsigned long long>(lost));
  }
}

LineWriter::LineWriter(int fd, std::size_t max_bytes) : fd_(fd), max_bytes_(max_bytes) {
  // The thread takes no signal: SIGINT and SIGTERM belong to the event loop's signal_set (and to
  // its blocking of a second one), which a thread that accepts them would bypass.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  thread_ = std::thread([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

LineWriter::~LineWriter() {
  {
    const std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool LineWriter::try_write(std::string line) {
  line += '\n';
  {
    const std::lock_guard lock(mutex_);
    if (broken_ || queued_bytes_ + line.size() > max_bytes_) {
      ++dropped_;
      return false;
    }
    queued_bytes_ += line.size();
    queue_.push_back(std::move(line));
  }
  wake_.notify_one();
  return true;
}

void LineWriter::write(std::string line, std::chrono::milliseconds limit) {
  line += '\n';
  {
    std::unique_lock lock(mutex_);
    const bool room = drained_.wait_for(lock, limit, [&] {
      return broken_ || queued_bytes_ + line.size() <= max_bytes_ || queue_.empty();
    });
    if (!room || broken_) {
      ++dropped_;
      return;
    }
    queued_bytes_ += line.size();
    queue_.push_back(std::move(line));
  }
  wake_.notify_one();
}

bool LineWriter::flush(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return drained_.wait_for(lock, limit, [&] { return broken_ || (queue_.empty() && !writing_); });
}

void LineWriter::set_json(bool json) {
  const std::lock_guard lock(mutex_);
  json_ = json;
}

std::uint64_t LineWriter::dropped() const {
  const std::lock_guard lock(mutex_);
  return dropped_;
}

void LineWriter::write_all(const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const std::lock_guard lock(mutex_);
      broken_ = true;  // EPIPE and friends: nobody will read what follows
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

void LineWriter::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) {
      return;  // stop_ and nothing left
    }
    std::string text;
    if (dropped_ > reported_) {
      // The reader caught up: say first what it missed.
      const auto missed = static_cast<unsigned long long>(dropped_ - reported_);
      text = json_ ? R"({"event":"output_dropped","lines":)" + std::to_string(missed) + "}\n"
                   : "output dropped " + std::to_string(missed) + " lines\n";
      reported_ = dropped_;
    }
    text += queue_.front();
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
    writing_ = true;
    drained_.notify_all();
    lock.unlock();
    write_all(text);
    lock.lock();
    writing_ = false;
    if (broken_) {
      dropped_ += queue_.size();
      queue_.clear();
      queued_bytes_ = 0;
    }
    drained_.notify_all();
  }
}

}  // namespace quicreuse::tool
