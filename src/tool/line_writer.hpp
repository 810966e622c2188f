// LineWriter: the tool's stdout, written by a thread of its own so that the event loop never
// blocks on it. A reader that stops reading (a full pipe, a stopped terminal) makes lines queue;
// per-event lines beyond the bound are dropped and counted, and the count is reported on stdout
// once the reader catches up and on stderr at exit. Lines that must not be lost (results,
// "listening") wait for room instead.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace quicreuse::tool {

class LineWriter {
 public:
  // The process's writer (started on first use, writing to stdout; never destroyed).
  static LineWriter& instance();
  // Flushes (waiting at most 2 s) and reports dropped lines on stderr: call before exiting.
  void finish();

  // Creates a writer on fd holding at most max_bytes of queued lines. Destroying it waits for
  // its thread to write what is queued.
  LineWriter(int fd, std::size_t max_bytes);
  LineWriter(const LineWriter&) = delete;
  LineWriter& operator=(const LineWriter&) = delete;
  LineWriter(LineWriter&&) = delete;
  LineWriter& operator=(LineWriter&&) = delete;
  ~LineWriter();

  // Queues line (a newline is added) if there is room; otherwise drops and counts it. Never
  // blocks. Returns whether the line was queued.
  bool try_write(std::string line);
  // Queues line, waiting (at most limit) for room: for lines that must not be lost.
  void write(std::string line, std::chrono::milliseconds limit = std::chrono::seconds(10));
  // Waits (at most limit) until everything queued was written; true when it was.
  bool flush(std::chrono::milliseconds limit);
  // JSON mode: the drop notice is a JSON line {"event":"output_dropped","lines":N}.
  void set_json(bool json);
  [[nodiscard]] std::uint64_t dropped() const;

 private:
  void run();
  void write_all(const std::string& text);

  int fd_;
  std::size_t max_bytes_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;     // the writer thread: lines to write or stop
  std::condition_variable drained_;  // waiters: room, or everything written
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;  // the thread holds a line it is writing
  bool stop_ = false;
  bool broken_ = false;  // the reader went away: lines are counted as dropped
  bool json_ = false;
  std::uint64_t dropped_ = 0;
  std::uint64_t reported_ = 0;  // drops already announced on stdout
  std::thread thread_;
};

}  // namespace quicreuse::tool
