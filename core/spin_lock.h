// A lock for the scheduler's very short critical sections (a node's input
// queues). Uncontended it costs one atomic exchange, a fraction of a pthread
// mutex; contended it spins briefly, then yields the CPU so that a preempted
// holder on an oversubscribed machine gets to run.
#pragma once

#include <atomic>
#include <thread>

#include "core/port/cpu_port.h"

namespace edgepipe {

class SpinLock {
 public:
  void lock() {
    for (int spins = 0; locked_.exchange(true, std::memory_order_acquire); ++spins) {
      while (locked_.load(std::memory_order_relaxed)) {
        if (spins < 64) {
          port::CpuRelax();
          ++spins;
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  bool try_lock() { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace edgepipe
