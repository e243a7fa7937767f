// Chrome trace-event JSON (opened by Perfetto UI and chrome://tracing) for a
// graph run: a track per thread, spans per Open / Process / Close, flow arrows
// from a packet's producer to its consumer, queue-depth counters and instant
// events (drops, throttling, stalls).
//
// Recording must cost little next to a pass-through hop (~0.1-0.3 µs), so each
// thread appends 32-byte binary events to its own bounded ring under its own,
// normally uncontended, spin lock, a whole call's events (span, arrows, counters)
// in one append. A writer thread swaps each ring for an empty one every flush
// interval and turns the events into JSON outside any lock, with a hand-written
// formatter. The ring is the memory bound and also bounds the file: per flush a
// thread keeps at most buffer_events (the newest); when it records more, the
// oldest are overwritten and counted in the file's otherData. That is not
// reached by real graphs (65,536 events per 250 ms is ~50,000 calls/s per
// thread), only by micro-benchmarks, where writing every event would mean
// gigabytes of JSON and a writer thread taking a core from the graph.
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

  // Trivially copyable and small (two per cache line), so that recording is a few stores.
  // No member initializers: a call's batch of them on the stack is not cleared first.
  struct Event {
    char phase;  // X (span), s / f (flow arrow out / in), C (counter)
    Call call;
    int32_t name;  // AddName id
    int64_t ns;
    int64_t value;  // packet timestamp (X) or counter value (C)
    uint64_t extra;  // duration in ns (X) or flow id (s, f)

    static Event Span(int name, Call call, int64_t start_ns, int64_t end_ns, int64_t packet_timestamp) {
      return {'X', call, name, start_ns, packet_timestamp, static_cast<uint64_t>(end_ns - start_ns)};
    }
    // A flow arrow from the span around `ns` on this thread (out) to the one on the consumer's (in).
    static Event FlowOut(uint64_t id, int64_t ns) { return {'s', Call::kProcess, -1, ns, 0, id}; }
    static Event FlowIn(uint64_t id, int64_t ns) { return {'f', Call::kProcess, -1, ns, 0, id}; }
    static Event Counter(int name, int64_t value, int64_t ns) { return {'C', Call::kProcess, name, ns, value, 0}; }
  };

  static Result<std::unique_ptr<TraceWriter>> Open(const TraceOptions& options, const Clock* clock);
  ~TraceWriter();

  // Names are registered once (nodes, queues) and referred to by id in events.
  int AddName(std::string name);

  // Appends events to this thread's ring in one step.
  void Record(const Event* events, size_t count);
  void Record(const Event& event) { Record(&event, 1); }
  // `global`: drawn across all tracks (stalls) instead of on this thread's.
  void Instant(std::string text, bool global = false);

  // Flushes, ends the JSON document and closes the file.
  Status Finish();
  const std::string& path() const { return options_.path; }

 private:
  static_assert(sizeof(Event) == 32);
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
