// Test helper: makes the system refuse new threads in this process, as a
// process limit (ulimit -u, which root is exempt from) does. Thread stacks are
// mapped memory, so capping the address space just above what the process has
// mapped refuses them. Use inside a death test: the cap stays with the process.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <cstddef>
#include <fstream>

namespace edgepipe::testing {

// Caps the address space at what is mapped now (/proc/self/statm) plus `headroom` bytes.
inline bool CapAddressSpace(size_t headroom) {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0;
  statm >> pages;
  const rlim_t cap = pages * static_cast<size_t>(sysconf(_SC_PAGESIZE)) + headroom;
  const rlimit limit{cap, cap};
  return setrlimit(RLIMIT_AS, &limit) == 0;
}

}  // namespace edgepipe::testing
