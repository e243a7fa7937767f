// A named pool of threads that runs node tasks. Workers sleep only when no
// work is queued, and Schedule wakes a worker only when one is asleep: a busy
// pipeline hands packets on without any thread wake-ups.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace edgepipe {

class ThreadPoolExecutor {
 public:
  ThreadPoolExecutor(std::string name, int num_threads);
  ~ThreadPoolExecutor();
  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;

  void Schedule(std::function<void()> task);
  int num_threads() const { return static_cast<int>(workers_.size()); }
  const std::string& name() const { return name_; }

 private:
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
