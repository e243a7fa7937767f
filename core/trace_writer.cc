#include "core/trace_writer.h"

#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace edgepipe {

namespace {
// Each thread's track number in one trace; a new writer (serial) renumbers. A serial,
// not the writer's address: a later writer may be allocated where an earlier one was.
std::atomic<uint64_t> next_writer_serial{1};
struct ThreadSlot {
  uint64_t writer = 0;
  int tid = 0;
};
thread_local ThreadSlot thread_slot;

const char* CallName(TraceWriter::Call call) {
  switch (call) {
    case TraceWriter::Call::kOpen: return "Open";
    case TraceWriter::Call::kClose: return "Close";
    default: return "Process";
  }
}
}  // namespace

Result<std::unique_ptr<TraceWriter>> TraceWriter::Open(const TraceOptions& options, const Clock* clock) {
  if (options.path.empty()) return InvalidArgumentError("trace: no file given");
  if (options.buffer_events < 16) return InvalidArgumentError("trace: buffer_events must be at least 16");
  std::FILE* file = std::fopen(options.path.c_str(), "w");
  if (file == nullptr) return UnavailableError("trace: cannot write {}: {}", options.path, std::strerror(errno));
  std::fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", file);
  return std::unique_ptr<TraceWriter>(new TraceWriter(options, clock, file));
}

TraceWriter::TraceWriter(TraceOptions options, const Clock* clock, std::FILE* file)
    : options_(std::move(options)),
      clock_(clock),
      origin_ns_(clock->NowNs()),
      serial_(next_writer_serial.fetch_add(1)),
      file_(file) {
  ring_.resize(options_.buffer_events);
  flusher_ = std::thread([this] { FlushLoop(); });
}

TraceWriter::~TraceWriter() { (void)Finish(); }

int TraceWriter::AddName(std::string name) {
  std::lock_guard lock(mutex_);
  names_.push_back(std::move(name));
  return static_cast<int>(names_.size()) - 1;
}

// Called with mutex_ held.
int TraceWriter::ThreadId() {
  if (thread_slot.writer == serial_) return thread_slot.tid;
  thread_slot.writer = serial_;
  thread_slot.tid = next_tid_++;
  char name[32] = {};
  if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0 || name[0] == '\0') {
    std::snprintf(name, sizeof(name), "thread %d", thread_slot.tid);
  }
  new_threads_.emplace_back(thread_slot.tid, name);
  return thread_slot.tid;
}

void TraceWriter::Record(Event event) {
  std::lock_guard lock(mutex_);
  if (stop_) return;
  event.tid = ThreadId();
  const size_t capacity = ring_.size();
  if (count_ == capacity) {
    // Full: the oldest unflushed event gives way.
    head_ = (head_ + 1) % capacity;
    --count_;
    ++overwritten_;
  }
  ring_[(head_ + count_) % capacity] = std::move(event);
  ++count_;
  if (count_ == capacity / 2) wake_.notify_one();
}

void TraceWriter::Span(int name, Call call, int64_t start_ns, int64_t end_ns, int64_t packet_timestamp) {
  Event event;
  event.phase = 'X';
  event.call = call;
  event.name = name;
  event.ns = start_ns;
  event.dur_ns = end_ns - start_ns;
  event.value = packet_timestamp;
  Record(std::move(event));
}

void TraceWriter::FlowOut(uint64_t id, int64_t ns) {
  Record(Event{'s', Call::kProcess, 0, -1, ns, 0, 0, id, false, {}});
}

void TraceWriter::FlowIn(uint64_t id, int64_t ns) {
  Record(Event{'f', Call::kProcess, 0, -1, ns, 0, 0, id, false, {}});
}

void TraceWriter::Counter(int name, int64_t value) {
  Record(Event{'C', Call::kProcess, 0, name, clock_->NowNs(), 0, value, 0, false, {}});
}

void TraceWriter::Instant(std::string text, bool global) {
  Event event;
  event.phase = 'i';
  event.ns = clock_->NowNs();
  event.text = std::move(text);
  event.global = global;
  Record(std::move(event));
}

void TraceWriter::FlushLoop() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    wake_.wait_for(lock, std::chrono::milliseconds(options_.flush_interval_ms));
    std::vector<Event> events;
    events.reserve(count_);
    for (; count_ > 0; --count_, head_ = (head_ + 1) % ring_.size()) events.push_back(std::move(ring_[head_]));
    lock.unlock();
    WriteEvents(events);
    lock.lock();
  }
}

void TraceWriter::WriteEvents(std::vector<Event>& events) {
  std::vector<std::pair<int, std::string>> threads;
  std::vector<std::string> names;
  {
    std::lock_guard lock(mutex_);
    threads.swap(new_threads_);
    names = names_;  // small; events refer to them by id
  }
  std::lock_guard file_lock(file_mutex_);
  if (file_ == nullptr) return;
  auto write = [&](const nlohmann::json& json) {
    if (!first_event_) std::fputs(",\n", file_);
    first_event_ = false;
    std::fputs(json.dump().c_str(), file_);
  };
  for (const auto& [tid, name] : threads) {
    write({{"ph", "M"}, {"pid", 1}, {"tid", tid}, {"name", "thread_name"}, {"args", {{"name", name}}}});
  }
  auto us = [&](int64_t ns) { return static_cast<double>(ns - origin_ns_) / 1000.0; };
  for (const Event& event : events) {
    nlohmann::json json = {{"ph", std::string(1, event.phase)}, {"pid", 1}, {"tid", event.tid}, {"ts", us(event.ns)}};
    const std::string name = event.name >= 0 && event.name < static_cast<int>(names.size()) ? names[event.name] : "";
    switch (event.phase) {
      case 'X':
        json["name"] = event.call == Call::kProcess ? name : name + " " + CallName(event.call);
        json["cat"] = CallName(event.call);
        json["dur"] = static_cast<double>(event.dur_ns) / 1000.0;
        json["args"] = {{"node", name}, {"call", CallName(event.call)}};
        if (event.call == Call::kProcess) json["args"]["timestamp"] = event.value;
        break;
      case 's':
      case 'f':
        json["name"] = "packet";
        json["cat"] = "packet";
        json["id"] = fmt::format("0x{:x}", event.id);
        if (event.phase == 'f') json["bp"] = "e";
        break;
      case 'C':
        json["name"] = name;
        json["args"] = {{"depth", event.value}};
        break;
      case 'i':
        json["name"] = event.text.substr(0, event.text.find(':'));
        json["s"] = event.global ? "g" : "t";
        json["args"] = {{"detail", event.text}};
        break;
      default:
        break;
    }
    write(json);
  }
  std::fflush(file_);
}

Status TraceWriter::Finish() {
  {
    std::lock_guard lock(mutex_);
    if (stop_ && !flusher_.joinable()) return OkStatus();
    stop_ = true;
    wake_.notify_one();
  }
  if (flusher_.joinable()) flusher_.join();
  std::vector<Event> rest;
  {
    std::lock_guard lock(mutex_);
    for (; count_ > 0; --count_, head_ = (head_ + 1) % ring_.size()) rest.push_back(std::move(ring_[head_]));
  }
  WriteEvents(rest);
  std::lock_guard file_lock(file_mutex_);
  if (file_ == nullptr) return OkStatus();
  const nlohmann::json other = {{"overwritten_events", overwritten_}, {"buffer_events", options_.buffer_events}};
  std::fprintf(file_, "\n],\"otherData\":%s}\n", other.dump().c_str());
  const bool failed = std::ferror(file_) != 0;
  std::fclose(file_);
  file_ = nullptr;
  if (failed) return UnavailableError("trace: writing {} failed", options_.path);
  return OkStatus();
}

}  // namespace edgepipe
