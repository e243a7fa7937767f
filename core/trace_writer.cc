#include "core/trace_writer.h"

#include <pthread.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <nlohmann/json.hpp>

namespace edgepipe {

namespace {
// Each thread's buffer in one trace, cached; a new writer (serial) misses the cache. A serial,
// not the writer's address: a later writer may be allocated where an earlier one was.
std::atomic<uint64_t> next_writer_serial{1};
struct ThreadSlot {
  uint64_t writer = 0;
  void* buffer = nullptr;
};
thread_local ThreadSlot thread_slot;

const char* CallName(TraceWriter::Call call) {
  switch (call) {
    case TraceWriter::Call::kOpen: return "Open";
    case TraceWriter::Call::kClose: return "Close";
    default: return "Process";
  }
}

std::string JsonString(const std::string& text) { return nlohmann::json(text).dump(); }
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
  flusher_ = std::thread([this] { FlushLoop(); });
}

TraceWriter::~TraceWriter() { (void)Finish(); }

int TraceWriter::AddName(std::string name) {
  std::lock_guard lock(mutex_);
  escaped_names_.push_back(JsonString(name));
  names_.push_back(std::move(name));
  return static_cast<int>(names_.size()) - 1;
}

TraceWriter::ThreadBuffer& TraceWriter::ThisThreadBuffer() {
  if (thread_slot.writer == serial_) return *static_cast<ThreadBuffer*>(thread_slot.buffer);
  std::lock_guard lock(mutex_);
  // A thread that records for two writers in turn keeps one buffer (and track) in each.
  std::unique_ptr<ThreadBuffer>& buffer = threads_[std::this_thread::get_id()];
  if (buffer == nullptr) {
    buffer = std::make_unique<ThreadBuffer>();
    buffer->ring.resize(options_.buffer_events);
    buffer->spare.resize(options_.buffer_events);
    buffer->tid = next_tid_++;
    char name[32] = {};
    if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0 || name[0] == '\0') {
      std::snprintf(name, sizeof(name), "thread %d", buffer->tid);
    }
    new_threads_.emplace_back(buffer->tid, name);
  }
  thread_slot = {serial_, buffer.get()};
  return *buffer;
}

void TraceWriter::Record(const Event& event) {
  if (stop_.load(std::memory_order_relaxed)) return;
  ThreadBuffer& buffer = ThisThreadBuffer();
  bool wake = false;
  {
    std::lock_guard lock(buffer.lock);
    const size_t capacity = buffer.ring.size();
    if (buffer.count == capacity) {
      // Full: the oldest unflushed event gives way.
      buffer.head = buffer.head + 1 == capacity ? 0 : buffer.head + 1;
      --buffer.count;
      ++buffer.overwritten;
    }
    size_t slot = buffer.head + buffer.count;
    if (slot >= capacity) slot -= capacity;
    buffer.ring[slot] = event;
    wake = ++buffer.count == capacity / 2;
  }
  if (wake) wake_.notify_one();
}

void TraceWriter::Span(int name, Call call, int64_t start_ns, int64_t end_ns, int64_t packet_timestamp) {
  Record(Event{'X', call, false, name, start_ns, end_ns - start_ns, packet_timestamp, 0});
}

void TraceWriter::FlowOut(uint64_t id, int64_t ns) { Record(Event{'s', Call::kProcess, false, -1, ns, 0, 0, id}); }

void TraceWriter::FlowIn(uint64_t id, int64_t ns) { Record(Event{'f', Call::kProcess, false, -1, ns, 0, 0, id}); }

void TraceWriter::Counter(int name, int64_t value) {
  Record(Event{'C', Call::kProcess, false, name, clock_->NowNs(), 0, value, 0});
}

void TraceWriter::Instant(std::string text, bool global) {
  if (stop_.load(std::memory_order_relaxed)) return;
  const int tid = ThisThreadBuffer().tid;
  std::lock_guard lock(mutex_);
  if (instants_.size() >= options_.buffer_events) {
    instants_.erase(instants_.begin());
    ++instants_overwritten_;
  }
  instants_.push_back({tid, clock_->NowNs(), global, std::move(text)});
}

void TraceWriter::FlushLoop() {
  std::unique_lock lock(mutex_);
  while (!stop_.load()) {
    wake_.wait_for(lock, std::chrono::milliseconds(options_.flush_interval_ms));
    lock.unlock();
    FlushAll();
    lock.lock();
  }
}

void TraceWriter::FormatEvents(const ThreadBuffer& buffer, size_t head, size_t count, std::string& out) {
  auto out_it = std::back_inserter(out);
  auto us = [&](int64_t ns) { return static_cast<double>(ns - origin_ns_) / 1000.0; };
  auto escaped = [&](int name) -> const std::string& {
    static const std::string kNone = "\"\"";
    return name >= 0 && name < static_cast<int>(flushed_escaped_names_.size()) ? flushed_escaped_names_[name] : kNone;
  };
  // Written with fmt rather than one nlohmann::json object per event: a traced run makes
  // millions of events and the writer must keep up on a spare core. Names are escaped once.
  for (size_t i = 0; i < count; ++i) {
    const Event& event = buffer.spare[(head + i) % buffer.spare.size()];
    if (!first_event_) out += ",\n";
    first_event_ = false;
    switch (event.phase) {
      case 'X':
        if (event.call == Call::kProcess) {
          fmt::format_to(out_it,
                         R"({{"ph":"X","pid":1,"tid":{},"ts":{:.3f},"dur":{:.3f},"name":{},"cat":"Process",)"
                         R"("args":{{"node":{},"call":"Process","timestamp":{}}}}})",
                         buffer.tid, us(event.ns), event.dur_ns / 1000.0, escaped(event.name), escaped(event.name),
                         event.value);
        } else {
          const std::string node =
              event.name >= 0 && event.name < static_cast<int>(flushed_names_.size()) ? flushed_names_[event.name] : "";
          fmt::format_to(out_it,
                         R"({{"ph":"X","pid":1,"tid":{},"ts":{:.3f},"dur":{:.3f},"name":{},"cat":"{}",)"
                         R"("args":{{"node":{},"call":"{}"}}}})",
                         buffer.tid, us(event.ns), event.dur_ns / 1000.0,
                         JsonString(node + " " + CallName(event.call)), CallName(event.call), escaped(event.name),
                         CallName(event.call));
        }
        break;
      case 's':
      case 'f':
        fmt::format_to(out_it, R"({{"ph":"{}","pid":1,"tid":{},"ts":{:.3f},"name":"packet","cat":"packet",)"
                               R"("id":"0x{:x}"{}}})",
                       event.phase, buffer.tid, us(event.ns), event.id, event.phase == 'f' ? R"(,"bp":"e")" : "");
        break;
      case 'C':
        fmt::format_to(out_it, R"({{"ph":"C","pid":1,"tid":{},"ts":{:.3f},"name":{},"args":{{"depth":{}}}}})",
                       buffer.tid, us(event.ns), escaped(event.name), event.value);
        break;
      default:
        break;
    }
  }
}

void TraceWriter::FlushAll() {
  std::lock_guard file_lock(file_mutex_);
  if (file_ == nullptr) return;
  std::vector<ThreadBuffer*> buffers;
  std::vector<std::pair<int, std::string>> threads;
  std::vector<InstantEvent> instants;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, buffer] : threads_) buffers.push_back(buffer.get());
    if (flushed_names_.size() != names_.size()) {
      flushed_names_ = names_;
      flushed_escaped_names_ = escaped_names_;
    }
    threads.swap(new_threads_);
    instants.swap(instants_);
  }
  std::string out;
  auto separate = [&] {
    if (!first_event_) out += ",\n";
    first_event_ = false;
  };
  for (const auto& [tid, name] : threads) {
    separate();
    fmt::format_to(std::back_inserter(out), R"({{"ph":"M","pid":1,"tid":{},"name":"thread_name","args":{{"name":{}}}}})",
                   tid, JsonString(name));
  }
  for (ThreadBuffer* buffer : buffers) {
    size_t head, count;
    {
      std::lock_guard lock(buffer->lock);
      std::swap(buffer->ring, buffer->spare);
      head = buffer->head;
      count = buffer->count;
      buffer->head = buffer->count = 0;
    }
    FormatEvents(*buffer, head, count, out);
    std::fwrite(out.data(), 1, out.size(), file_);
    out.clear();
  }
  for (const InstantEvent& instant : instants) {
    separate();
    fmt::format_to(std::back_inserter(out),
                   R"({{"ph":"i","pid":1,"tid":{},"ts":{:.3f},"name":{},"s":"{}","args":{{"detail":{}}}}})",
                   instant.tid, static_cast<double>(instant.ns - origin_ns_) / 1000.0,
                   JsonString(instant.text.substr(0, instant.text.find(':'))), instant.global ? "g" : "t",
                   JsonString(instant.text));
  }
  std::fwrite(out.data(), 1, out.size(), file_);
  std::fflush(file_);
}

Status TraceWriter::Finish() {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return OkStatus();
    finished_ = true;
    stop_.store(true);
  }
  wake_.notify_one();
  if (flusher_.joinable()) flusher_.join();
  FlushAll();
  std::lock_guard file_lock(file_mutex_);
  if (file_ == nullptr) return OkStatus();
  uint64_t overwritten = instants_overwritten_;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, buffer] : threads_) overwritten += buffer->overwritten;
  }
  const nlohmann::json other = {{"overwritten_events", overwritten}, {"buffer_events", options_.buffer_events}};
  std::fprintf(file_, "\n],\"otherData\":%s}\n", other.dump().c_str());
  const bool failed = std::ferror(file_) != 0;
  std::fclose(file_);
  file_ = nullptr;
  if (failed) return UnavailableError("trace: writing {} failed", options_.path);
  return OkStatus();
}

}  // namespace edgepipe
