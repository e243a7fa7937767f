#include "core/executor.h"

#include <pthread.h>

namespace edgepipe {

ThreadPoolExecutor::ThreadPoolExecutor(std::string name, int num_threads) : name_(std::move(name)) {
  if (num_threads <= 0) num_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  workers_.reserve(num_threads);
  for (int i = 0; i < num_threads; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
    // Thread names show up in debuggers and `top -H`; 15 characters at most.
    const std::string thread_name = (name_.empty() ? "ep-default" : "ep-" + name_).substr(0, 12) + "/" +
                                    std::to_string(i % 100);
    pthread_setname_np(workers_.back().native_handle(), thread_name.substr(0, 15).c_str());
  }
}

ThreadPoolExecutor::~ThreadPoolExecutor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPoolExecutor::Schedule(std::function<void()> task) {
  bool wake_one = false;
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
    wake_one = sleeping_ > 0;
  }
  if (wake_one) wake_.notify_one();
}

void ThreadPoolExecutor::WorkerLoop() {
  std::unique_lock lock(mutex_);
  while (true) {
    while (tasks_.empty() && !stopping_) {
      ++sleeping_;
      wake_.wait(lock);
      --sleeping_;
    }
    if (tasks_.empty() && stopping_) return;
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace edgepipe
