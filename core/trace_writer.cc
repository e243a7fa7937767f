#include "core/trace_writer.h"

#include <pthread.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
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

constexpr size_t kWriteChunk = 1 << 20;  // bytes of JSON formatted before they are written

// Microseconds with three decimals, from integer nanoseconds (as fmt's "{:.3f}" of ns / 1000.0).
std::string Micros(int64_t ns) {
  const uint64_t magnitude = ns < 0 ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  return fmt::format("{}{}.{:03}", ns < 0 ? "-" : "", magnitude / 1000, magnitude % 1000);
}

// Appends one event's JSON to a string: pieces and numbers written straight into its buffer.
class JsonAppender {
 public:
  JsonAppender(std::string& out, std::string_view prefix) : out_(out) { Text(prefix); }
  JsonAppender& Text(std::string_view text) {
    out_.append(text);
    return *this;
  }
  JsonAppender& Int(int64_t value) {
    char digits[24];
    return Text({digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof(digits), value).ptr - digits)});
  }
  JsonAppender& Hex(uint64_t value) {
    char digits[24];
    return Text({digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof(digits), value, 16).ptr - digits)});
  }
  JsonAppender& Micros(int64_t ns) {
    char digits[32];
    char* p = digits;
    uint64_t magnitude = static_cast<uint64_t>(ns);
    if (ns < 0) {
      *p++ = '-';
      magnitude = 0 - magnitude;
    }
    p = std::to_chars(p, digits + sizeof(digits) - 4, magnitude / 1000).ptr;
    const unsigned fraction = static_cast<unsigned>(magnitude % 1000);
    p[0] = '.';
    p[1] = static_cast<char>('0' + fraction / 100);
    p[2] = static_cast<char>('0' + fraction / 10 % 10);
    p[3] = static_cast<char>('0' + fraction % 10);
    return Text({digits, static_cast<size_t>(p + 4 - digits)});
  }

 private:
  std::string& out_;
};
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

void TraceWriter::Record(const Event* events, size_t count) {
  if (stop_.load(std::memory_order_relaxed) || count == 0) return;
  ThreadBuffer& buffer = ThisThreadBuffer();
  std::lock_guard lock(buffer.lock);
  const size_t capacity = buffer.ring.size();
  if (count > capacity) {
    // More than the ring holds at once: only the newest fit.
    buffer.overwritten += count - capacity;
    events += count - capacity;
    count = capacity;
  }
  if (buffer.count + count > capacity) {
    // Full: the oldest unflushed events give way.
    const size_t drop = buffer.count + count - capacity;
    buffer.head += drop;
    if (buffer.head >= capacity) buffer.head -= capacity;
    buffer.count -= drop;
    buffer.overwritten += drop;
  }
  size_t slot = buffer.head + buffer.count;
  if (slot >= capacity) slot -= capacity;
  const size_t first = std::min(count, capacity - slot);
  std::memcpy(&buffer.ring[slot], events, first * sizeof(Event));
  if (first < count) std::memcpy(&buffer.ring[0], events + first, (count - first) * sizeof(Event));
  buffer.count += count;
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
  auto escaped = [&](int name) -> const std::string& {
    static const std::string kNone = "\"\"";
    return name >= 0 && name < static_cast<int>(flushed_escaped_names_.size()) ? flushed_escaped_names_[name] : kNone;
  };
  // By hand rather than with fmt (≈4x slower with its float formatting): the writer shares
  // the machine with the graph it traces. Names are escaped once, at AddName.
  char tid[16];
  const size_t tid_length = static_cast<size_t>(std::to_chars(tid, tid + sizeof(tid), buffer.tid).ptr - tid);
  const std::string_view tid_text(tid, tid_length);
  const size_t capacity = buffer.spare.size();
  for (size_t i = 0, index = head; i < count; ++i, index = index + 1 == capacity ? 0 : index + 1) {
    const Event& event = buffer.spare[index];
    if (out.size() >= kWriteChunk) {
      std::fwrite(out.data(), 1, out.size(), file_);
      out.clear();
    }
    if (event.phase == 'X' && event.call != Call::kProcess) {
      // Open / Close: a few per node and run.
      const std::string node =
          event.name >= 0 && event.name < static_cast<int>(flushed_names_.size()) ? flushed_names_[event.name] : "";
      if (!first_event_) out += ",\n";
      first_event_ = false;
      fmt::format_to(std::back_inserter(out),
                     R"({{"ph":"X","pid":1,"tid":{},"ts":{},"dur":{},"name":{},"cat":"{}",)"
                     R"("args":{{"node":{},"call":"{}"}}}})",
                     buffer.tid, Micros(event.ns - origin_ns_), Micros(static_cast<int64_t>(event.extra)),
                     JsonString(node + " " + CallName(event.call)), CallName(event.call), escaped(event.name),
                     CallName(event.call));
      continue;
    }
    JsonAppender json(out, first_event_ ? "" : ",\n");
    first_event_ = false;
    switch (event.phase) {
      case 'X':
        json.Text(R"({"ph":"X","pid":1,"tid":)").Text(tid_text).Text(R"(,"ts":)").Micros(event.ns - origin_ns_);
        json.Text(R"(,"dur":)").Micros(static_cast<int64_t>(event.extra)).Text(R"(,"name":)").Text(escaped(event.name));
        json.Text(R"(,"cat":"Process","args":{"node":)").Text(escaped(event.name));
        json.Text(R"(,"call":"Process","timestamp":)").Int(event.value).Text("}}");
        break;
      case 's':
      case 'f':
        json.Text(event.phase == 's' ? R"({"ph":"s","pid":1,"tid":)" : R"({"ph":"f","pid":1,"tid":)").Text(tid_text);
        json.Text(R"(,"ts":)").Micros(event.ns - origin_ns_).Text(R"(,"name":"packet","cat":"packet","id":"0x)");
        json.Hex(event.extra).Text(event.phase == 'f' ? R"(","bp":"e"})" : R"("})");
        break;
      case 'C':
        json.Text(R"({"ph":"C","pid":1,"tid":)").Text(tid_text).Text(R"(,"ts":)").Micros(event.ns - origin_ns_);
        json.Text(R"(,"name":)").Text(escaped(event.name)).Text(R"(,"args":{"depth":)").Int(event.value).Text("}}");
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
  out.reserve(kWriteChunk + 4096);
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
                   R"({{"ph":"i","pid":1,"tid":{},"ts":{},"name":{},"s":"{}","args":{{"detail":{}}}}})",
                   instant.tid, Micros(instant.ns - origin_ns_),
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
