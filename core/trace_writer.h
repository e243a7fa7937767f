// Chrome trace-event JSON (opened by Perfetto UI and chrome://tracing) for a
// graph run: a track per thread, spans per Open / Process / Close, flow arrows
// from a packet's producer to its consumer, queue-depth counters and instant
// events (drops, throttling, stalls).
//
// Recording must cost little next to a pass-through hop (~0.1 µs), so each
// thread appends plain events to its own bounded ring under its own, normally
// uncontended, spin lock; a writer thread swaps each ring for an empty one every
// flush interval (and when a ring is half full) and formats the events outside
// any lock. When a thread outruns the writer its oldest unflushed events are
// overwritten and counted in the file's otherData.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/spin_lock.h"
#include "core/status.h"

namespace edgepipe {

struct TraceOptions {
  std::string path;
  size_t buffer_events = 1 << 16;  // per recording thread
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
  // Trivially copyable, so that a ring swap and a record are a few stores.
  struct Event {
    char phase = 0;  // X, s, f, C
    Call call = Call::kProcess;
    bool global = false;
    int name = -1;      // names_ index
    int64_t ns = 0;
    int64_t dur_ns = 0;
    int64_t value = 0;  // packet timestamp (X) or counter value (C)
    uint64_t id = 0;    // flow id
  };
  // One per recording thread, owned by the writer.
  struct ThreadBuffer {
    SpinLock lock;  // the recording thread vs the writer's swap
    std::vector<Event> ring;
    size_t head = 0, count = 0;
    uint64_t overwritten = 0;
    std::vector<Event> spare;  // the writer's side of the swap (file_mutex_)
    int tid = 0;
  };

  TraceWriter(TraceOptions options, const Clock* clock, std::FILE* file);
  void Record(const Event& event);
  ThreadBuffer& ThisThreadBuffer();
  void FlushLoop();
  // Swaps every thread's ring out and writes it; one flush at a time.
  void FlushAll();
  void FormatEvents(const ThreadBuffer& buffer, size_t head, size_t count, std::string& out);

  const TraceOptions options_;
  const Clock* clock_;
  const int64_t origin_ns_;
  const uint64_t serial_;
  std::FILE* file_;

  std::mutex mutex_;  // guards names, instants and the thread registry
  std::condition_variable wake_;
  std::vector<std::string> names_;
  std::vector<std::string> escaped_names_;  // as JSON strings, quotes included
  // Instant events (drops, throttling, stalls) are rare and carry text: one bounded list.
  struct InstantEvent {
    int tid = 0;
    int64_t ns = 0;
    bool global = false;
    std::string text;
  };
  std::vector<InstantEvent> instants_;
  uint64_t instants_overwritten_ = 0;
  std::map<std::thread::id, std::unique_ptr<ThreadBuffer>> threads_;
  std::vector<std::pair<int, std::string>> new_threads_;  // named in the next flush
  int next_tid_ = 1;
  std::atomic<bool> stop_{false};
  bool finished_ = false;
  bool first_event_ = true;
  std::mutex file_mutex_;  // one flush at a time; guards the copies below
  std::vector<std::string> flushed_names_, flushed_escaped_names_;  // names_ as of the last flush
  std::thread flusher_;
};

}  // namespace edgepipe
