// Chrome trace-event JSON (opened by Perfetto UI and chrome://tracing) for a
// graph run: a track per thread, spans per Open / Process / Close, flow arrows
// from a packet's producer to its consumer, queue-depth counters and instant
// events (drops, throttling, stalls).
//
// Events go into a bounded ring buffer that a writer thread flushes to the file
// every flush interval (and when half full); when the producers outrun it the
// oldest unflushed events are overwritten and counted in the file's otherData.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace edgepipe {

struct TraceOptions {
  std::string path;
  size_t buffer_events = 1 << 16;
  int flush_interval_ms = 250;
};

class TraceWriter {
 public:
  enum class Call : uint8_t { kOpen, kProcess, kClose };

  static Result<std::unique_ptr<TraceWriter>> Open(const TraceOptions& options, const Clock* clock);
  ~TraceWriter();

  // Names are registered once (nodes, queues) and referred to by id in events.
  int AddName(std::string name);

  void Span(int name, Call call, int64_t start_ns, int64_t end_ns, int64_t packet_timestamp);
  // A flow arrow from the span around `ns` on this thread (out) to the one on the consumer's (in).
  void FlowOut(uint64_t id, int64_t ns);
  void FlowIn(uint64_t id, int64_t ns);
  void Counter(int name, int64_t value);
  // `global`: drawn across all tracks (stalls) instead of on this thread's.
  void Instant(std::string text, bool global = false);

  // Flushes, ends the JSON document and closes the file.
  Status Finish();
  const std::string& path() const { return options_.path; }

 private:
  struct Event {
    char phase = 0;  // X, s, f, C, i
    Call call = Call::kProcess;
    int tid = 0;
    int name = -1;
    int64_t ns = 0;
    int64_t dur_ns = 0;
    int64_t value = 0;  // packet timestamp (X) or counter value (C)
    uint64_t id = 0;    // flow id
    bool global = false;
    std::string text;   // instant events
  };

  TraceWriter(TraceOptions options, const Clock* clock, std::FILE* file);
  void Record(Event event);
  int ThreadId();
  void FlushLoop();
  void WriteEvents(std::vector<Event>& events);

  const TraceOptions options_;
  const Clock* clock_;
  const int64_t origin_ns_;
  const uint64_t serial_;
  std::FILE* file_;

  std::mutex mutex_;  // guards the ring, names, thread names
  std::condition_variable wake_;
  std::vector<Event> ring_;
  size_t head_ = 0, count_ = 0;
  uint64_t overwritten_ = 0;
  std::vector<std::string> names_;
  std::vector<std::pair<int, std::string>> new_threads_;
  int next_tid_ = 1;
  bool stop_ = false;
  bool first_event_ = true;
  std::mutex file_mutex_;  // one flush at a time
  std::thread flusher_;
};

}  // namespace edgepipe
