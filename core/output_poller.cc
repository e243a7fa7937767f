// Output streams seen from outside the graph: observers (callbacks on the
// producing task's thread) and pollers (queues a caller's thread reads).
#include "core/graph_runtime.h"

namespace edgepipe {

Status GraphRuntime::ObserveOutputStream(const std::string& stream, std::function<Status(const Packet&)> observer) {
  if (!initialized_) return FailedPreconditionError("ObserveOutputStream before Initialize");
  if (running_) return FailedPreconditionError("ObserveOutputStream while the graph runs");
  auto it = stream_ids_.find(stream);
  if (it == stream_ids_.end()) return NotFoundError("no stream named \"{}\" to observe", stream);
  streams_[it->second].observers.push_back({std::move(observer)});
  return OkStatus();
}

Result<OutputStreamPoller> GraphRuntime::AddOutputStreamPoller(const std::string& stream) {
  if (!initialized_) return FailedPreconditionError("AddOutputStreamPoller before Initialize");
  if (running_) return FailedPreconditionError("AddOutputStreamPoller while the graph runs");
  auto it = stream_ids_.find(stream);
  if (it == stream_ids_.end()) return NotFoundError("no stream named \"{}\" to poll", stream);
  auto state = std::make_shared<OutputStreamPoller::State>();
  streams_[it->second].pollers.push_back(state);
  return OutputStreamPoller(state);
}

bool OutputStreamPoller::Next(Packet* packet) {
  std::unique_lock lock(state_->mutex);
  state_->changed.wait(lock, [&] { return !state_->packets.empty() || state_->closed; });
  if (state_->packets.empty()) return false;
  *packet = std::move(state_->packets.front());
  state_->packets.pop_front();
  return true;
}

std::optional<bool> OutputStreamPoller::NextFor(Packet* packet, std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  if (!state_->changed.wait_for(lock, timeout, [&] { return !state_->packets.empty() || state_->closed; })) {
    return std::nullopt;
  }
  if (state_->packets.empty()) return false;
  *packet = std::move(state_->packets.front());
  state_->packets.pop_front();
  return true;
}

size_t OutputStreamPoller::QueueSize() const {
  std::lock_guard lock(state_->mutex);
  return state_->packets.size();
}

void GraphRuntime::ClosePollers(bool failed) {
  for (auto& stream : streams_) {
    for (auto& poller : stream.pollers) {
      {
        std::lock_guard lock(poller->mutex);
        if (failed) poller->failed = true;
        poller->closed = true;
      }
      poller->changed.notify_all();
    }
  }
}

void GraphRuntime::ResetPollers() {
  for (auto& stream : streams_) {
    for (auto& poller : stream.pollers) {
      std::lock_guard lock(poller->mutex);
      poller->packets.clear();
      poller->closed = false;
      poller->failed = false;
    }
  }
}

}  // namespace edgepipe
