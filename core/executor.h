// A named pool of threads that runs node tasks. Workers sleep only when no
// work is queued, and Schedule wakes a worker only when one is asleep: a busy
// pipeline hands packets on without any thread wake-ups.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

namespace edgepipe {

class ThreadPoolExecutor {
 public:
  // More threads than this in one executor is a configuration mistake.
  static constexpr int kMaxThreads = 1024;

  // num_threads <= 0: one per CPU. Fails (never aborts) when the system
  // refuses a thread.
  static Result<std::unique_ptr<ThreadPoolExecutor>> Create(std::string name, int num_threads);
  ~ThreadPoolExecutor();
  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;

  void Schedule(std::function<void()> task);
  int num_threads() const { return static_cast<int>(workers_.size()); }
  const std::string& name() const { return name_; }

 private:
  explicit ThreadPoolExecutor(std::string name) : name_(std::move(name)) {}
  void WorkerLoop();

  std::string name_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  int sleeping_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace edgepipe
