#include "engine/cpu/cpu_features.h"

#include <cpuinfo.h>

#include <array>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/cpu/cpu_features_arch.h"

namespace edgepipe::engine {
namespace {

struct IsaEntry {
  Isa isa;
  std::string_view name;
};
constexpr std::array kIsaNames = {
    IsaEntry{Isa::kGeneric, "generic"}, IsaEntry{Isa::kAvx2, "avx2"},  IsaEntry{Isa::kAvxVnni, "avxvnni"},
    IsaEntry{Isa::kAvx512, "avx512"},   IsaEntry{Isa::kNeon, "neon"},  IsaEntry{Isa::kNeonDot, "neondot"},
};

#if defined(__x86_64__)
constexpr std::array kArchIsas = {Isa::kGeneric, Isa::kAvx2, Isa::kAvxVnni, Isa::kAvx512};
constexpr std::string_view kArch = "x86_64";
#elif defined(__aarch64__)
constexpr std::array kArchIsas = {Isa::kGeneric, Isa::kNeon, Isa::kNeonDot};
constexpr std::string_view kArch = "aarch64";
#else
constexpr std::array kArchIsas = {Isa::kGeneric};
constexpr std::string_view kArch = "other";
#endif

CpuFeatures Probe() {
  CpuFeatures cpu;
  cpu.arch = std::string(kArch);
  if (!cpuinfo_initialize()) {
    cpu.name = "unknown (cpuinfo could not read this CPU)";
    return cpu;
  }
  if (const cpuinfo_package* package = cpuinfo_get_package(0); package != nullptr && package->name[0] != '\0')
    cpu.name = package->name;
#if defined(__x86_64__)
  cpu.avx2 = cpuinfo_has_x86_avx2();
  cpu.fma = cpuinfo_has_x86_fma3();
  cpu.f16c = cpuinfo_has_x86_f16c();
  cpu.avx512f = cpuinfo_has_x86_avx512f();
  cpu.avx512bw = cpuinfo_has_x86_avx512bw();
  cpu.avx512vl = cpuinfo_has_x86_avx512vl();
  cpu.avx512dq = cpuinfo_has_x86_avx512dq();
  cpu.avx512vnni = cpuinfo_has_x86_avx512vnni();
  // cpuinfo (2022) does not know AVX-VNNI; it needs the OS to save AVX state,
  // which AVX2 being reported already implies.
  cpu.avx_vnni = cpu.avx2 && arch::X86HasAvxVnni();
#elif defined(__aarch64__)
  cpu.neon = cpuinfo_has_arm_neon();
  cpu.neon_dot = cpuinfo_has_arm_neon_dot();
  cpu.neon_fp16 = cpuinfo_has_arm_neon_fp16_arith();
#endif
  if (cpu.name.empty()) cpu.name = arch::CpuModelName();
  return cpu;
}

Status ParseEnv(Isa* cap) {
  const char* value = std::getenv("EDGEPIPE_ISA");
  if (value == nullptr || *value == '\0') return OkStatus();
  auto isa = ParseIsa(value);
  if (!isa.ok()) return isa.status().WithContext("EDGEPIPE_ISA");
  *cap = *isa;
  return OkStatus();
}

struct EnvCap {
  Isa cap;
  Status status;
};
const EnvCap& Env() {
  static const EnvCap env = [] {
    EnvCap e{BestIsa(HostCpu()), OkStatus()};
    Isa cap = e.cap;
    e.status = ParseEnv(&cap);
    if (e.status.ok()) e.cap = cap;
    return e;
  }();
  return env;
}

}  // namespace

const CpuFeatures& HostCpu() {
  static const CpuFeatures cpu = Probe();
  return cpu;
}

std::string_view IsaName(Isa isa) {
  for (const IsaEntry& e : kIsaNames)
    if (e.isa == isa) return e.name;
  return "unknown";
}

std::span<const Isa> ArchIsas() { return kArchIsas; }

Result<Isa> ParseIsa(std::string_view name) {
  std::vector<std::string_view> accepted;
  for (Isa isa : kArchIsas) {
    if (IsaName(isa) == name) return isa;
    accepted.push_back(IsaName(isa));
  }
  return InvalidArgumentError("'{}' is not an instruction set of this {} build (one of: {})", name, kArch,
                              fmt::join(accepted, ", "));
}

bool CpuRunsIsa(const CpuFeatures& cpu, Isa isa) {
  switch (isa) {
    case Isa::kGeneric: return true;
    case Isa::kAvx2: return cpu.avx2 && cpu.fma && cpu.f16c;
    case Isa::kAvxVnni: return CpuRunsIsa(cpu, Isa::kAvx2) && cpu.avx_vnni;
    // AVX-512 machines without AVX-VNNI exist (Skylake-X, Zen 4): avx512 does not imply avxvnni.
    case Isa::kAvx512:
      return CpuRunsIsa(cpu, Isa::kAvx2) && cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512dq;
    case Isa::kNeon: return cpu.neon;
    case Isa::kNeonDot: return cpu.neon && cpu.neon_dot;
  }
  return false;
}

Isa BestIsa(const CpuFeatures& cpu) {
  Isa best = Isa::kGeneric;
  for (Isa isa : kArchIsas)
    if (CpuRunsIsa(cpu, isa)) best = isa;
  return best;
}

Isa EnvIsaCap() { return Env().cap; }
const Status& EnvIsaCapStatus() { return Env().status; }

Isa EffectiveIsaCap(std::optional<Isa> requested) {
  const Isa cap = requested.value_or(EnvIsaCap());
  const Isa best = BestIsa(HostCpu());
  return WithinCap(cap, best) ? cap : best;
}

}  // namespace edgepipe::engine
