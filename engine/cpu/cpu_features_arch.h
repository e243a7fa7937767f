// The few CPU facts cpuinfo does not give, one implementation per
// architecture (cpu_features_x86.cc, cpu_features_other.cc; CMake picks one).
#pragma once

#include <string>

namespace edgepipe::engine::arch {

// AVX-VNNI (VEX-encoded vpdpbusd, CPUID.(EAX=7,ECX=1):EAX bit 4). False off x86.
bool X86HasAvxVnni();
// The CPU model from /proc/cpuinfo or CPUID, when cpuinfo gave none.
std::string CpuModelName();

}  // namespace edgepipe::engine::arch
