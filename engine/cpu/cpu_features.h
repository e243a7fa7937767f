// What the CPU can run, probed once per process, and the instruction-set
// levels ("ISAs") own kernels are written for.
//
// Every own kernel with CPU-specific code lists its variants best first, each
// with the ISA it is written for and a test of the features it needs
// (ChooseVariant below). The variant that runs is the first the CPU supports
// at or under the ISA cap: InterpreterOptions::isa, else the EDGEPIPE_ISA
// environment variable, else none. Capping lets a machine with AVX-512 test
// and benchmark the AVX2 and generic variants too.
//
// Levels, per architecture (a cap names one of its own architecture):
//   x86-64:  generic < avx2 (AVX2 + FMA + F16C) < avxvnni (AVX2 + AVX-VNNI)
//            < avx512 (AVX-512 F/BW/VL/DQ; VNNI where a variant says so)
//   aarch64: generic < neon < neondot (NEON + dot product)
#pragma once

#include <optional>
#include <vector>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace edgepipe::engine {

enum class Isa : unsigned char { kGeneric, kAvx2, kAvxVnni, kAvx512, kNeon, kNeonDot };

struct CpuFeatures {
  std::string name;  // the CPU model as the OS or CPUID reports it
  std::string arch;  // "x86_64", "aarch64" or another
  // x86-64
  bool avx2 = false, fma = false, f16c = false;
  bool avx_vnni = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false;
  // aarch64
  bool neon = false, neon_dot = false, neon_fp16 = false;
};

// Probed once (cpuinfo; CPUID for what cpuinfo 2022 does not report).
const CpuFeatures& HostCpu();

std::string_view IsaName(Isa isa);
// "generic", "avx2", "avxvnni", "avx512", "neon", "neondot"; an ISA of another
// architecture than this build's is an error naming the ones accepted.
Result<Isa> ParseIsa(std::string_view name);
// The ISAs of this build's architecture, lowest first.
std::span<const Isa> ArchIsas();
// Whether `cpu` has every feature of the level `isa` (and of the levels below).
bool CpuRunsIsa(const CpuFeatures& cpu, Isa isa);
// The highest level `cpu` runs.
Isa BestIsa(const CpuFeatures& cpu);
// Whether code of `isa` may run under `cap` (both of this architecture).
inline bool WithinCap(Isa isa, Isa cap) { return static_cast<int>(isa) <= static_cast<int>(cap); }

// The cap from EDGEPIPE_ISA (read once), or the host's best level when unset.
// An unknown value is reported by EnvIsaCapStatus() and treated as unset.
Isa EnvIsaCap();
const Status& EnvIsaCapStatus();
// `requested` when given, else EnvIsaCap(); never above the host's best.
Isa EffectiveIsaCap(std::optional<Isa> requested);

// The first of `variants` (listed best first) that `cpu` supports and that is
// within `cap`, or null. Variant has `Isa isa` and `bool (*supported)(const
// CpuFeatures&)` (null: the ISA level alone decides).
template <typename Variant>
const Variant* ChooseVariant(std::span<const Variant> variants, Isa cap, const CpuFeatures& cpu = HostCpu()) {
  for (const Variant& v : variants) {
    if (!WithinCap(v.isa, cap) || !CpuRunsIsa(cpu, v.isa)) continue;
    if (v.supported != nullptr && !v.supported(cpu)) continue;
    return &v;
  }
  return nullptr;
}

// Every variant the host can run (for tests: each is run with the cap at its ISA).
template <typename Variant>
std::vector<const Variant*> HostVariants(std::span<const Variant> variants, const CpuFeatures& cpu = HostCpu()) {
  std::vector<const Variant*> out;
  for (const Variant& v : variants)
    if (CpuRunsIsa(cpu, v.isa) && (v.supported == nullptr || v.supported(cpu))) out.push_back(&v);
  return out;
}

}  // namespace edgepipe::engine
