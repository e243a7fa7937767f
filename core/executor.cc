#include "core/executor.h"

#include <pthread.h>

#include <new>
#include <system_error>

namespace edgepipe {

Result<std::unique_ptr<ThreadPoolExecutor>> ThreadPoolExecutor::Create(std::string name, int num_threads) {
  if (num_threads <= 0) num_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::string label = name.empty() ? "the default executor" : fmt::format("executor \"{}\"", name);
  if (num_threads > kMaxThreads)
    return InvalidArgumentError("{}: {} threads were asked for; at most {} are supported", label, num_threads,
                                kMaxThreads);
  // std::thread reports a thread the system refuses (a process limit, memory)
  // by throwing; the destructor joins the workers already started.
  std::unique_ptr<ThreadPoolExecutor> executor(new ThreadPoolExecutor(std::move(name)));
  try {
    executor->workers_.reserve(num_threads);
    for (int i = 0; i < num_threads; ++i) {
      executor->workers_.emplace_back([e = executor.get()] { e->WorkerLoop(); });
      // Thread names show up in debuggers and `top -H`; 15 characters at most.
      const std::string& base = executor->name_;
      const std::string thread_name =
          (base.empty() ? "ep-default" : "ep-" + base).substr(0, 12) + "/" + std::to_string(i % 100);
      pthread_setname_np(executor->workers_.back().native_handle(), thread_name.substr(0, 15).c_str());
    }
  } catch (const std::system_error& e) {
    return UnavailableError("{}: cannot start thread {} of the {} asked for: {}", label,
                            executor->workers_.size() + 1, num_threads, e.what());
  } catch (const std::bad_alloc&) {
    return UnavailableError("{}: out of memory starting thread {} of the {} asked for", label,
                            executor->workers_.size() + 1, num_threads);
  }
  return executor;
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
