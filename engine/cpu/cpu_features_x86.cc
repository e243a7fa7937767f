// x86-64 only (engine/CMakeLists.txt compiles it for x86-64 builds).
#include <cpuid.h>

#include <cstring>

#include "engine/cpu/cpu_features_arch.h"

namespace edgepipe::engine::arch {

bool X86HasAvxVnni() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0 || eax < 1) return false;
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (eax & (1u << 4)) != 0;
}

std::string CpuModelName() {
  unsigned regs[12] = {};
  unsigned max_leaf = __get_cpuid_max(0x80000000u, nullptr);
  if (max_leaf < 0x80000004u) return "unknown x86-64";
  for (unsigned i = 0; i < 3; ++i)
    __get_cpuid(0x80000002u + i, &regs[i * 4], &regs[i * 4 + 1], &regs[i * 4 + 2], &regs[i * 4 + 3]);
  char name[49] = {};
  std::memcpy(name, regs, 48);
  std::string s(name);
  s.erase(0, s.find_first_not_of(' '));
  return s;
}

}  // namespace edgepipe::engine::arch
