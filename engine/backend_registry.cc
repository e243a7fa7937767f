#include "engine/backend_registry.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/kernels/conv_f32.h"
#include "engine/kernels/conv_q8.h"
#include "engine/kernels/dwconv_q8.h"
#include "engine/op_versions.h"

namespace edgepipe::engine {
namespace {

const BackendFactory kFactories[] = {
    {"own-conv-q8", "int8/uint8 CONV_2D and DEPTHWISE_CONV_2D on our kernels (engine/kernels/conv_q8.h, dwconv_q8.h)",
     MakeQ8ConvBackend,
     [](Isa cap) { return kernels::ConvQ8AheadOfXnnpack(cap) || kernels::DepthwiseQ8AheadOfXnnpack(cap); }},
    {"own-conv-f32", "fp32 CONV_2D (+ fused ADD/PRELU) and DEPTHWISE_CONV_2D on our kernels (engine/kernels/conv_f32.h)",
     [](Isa) { return MakeF32ConvBackend(); }, kernels::ConvF32AheadOfXnnpack},
    {"own-hybrid",
     "hybrid (float activations, int8 weights) FULLY_CONNECTED / CONV_2D / DEPTHWISE_CONV_2D and int8 per-channel "
     "FULLY_CONNECTED on our kernels (engine/kernels/hybrid_ops.h)",
     MakeHybridBackend, [](Isa) { return true; }},
    {"XNNPACK", "XNNPACK subgraphs (Debian's libxnnpack), several ops per step",
     [](Isa) { return MakeXnnpackBackend(); }, [](Isa) { return true; }},
    {"own-kernels", "our portable kernels for the ops XNNPACK has no node for (engine/kernels/kernels.h)",
     [](Isa) { return MakeOwnKernelBackend(); }, [](Isa) { return true; }},
};

std::vector<std::string_view> FactoryNames() {
  std::vector<std::string_view> names;
  for (const BackendFactory& f : kFactories) names.push_back(f.name);
  return names;
}

}  // namespace

std::span<const BackendFactory> BackendFactories() { return kFactories; }

Result<std::vector<std::unique_ptr<Backend>>> MakeBackends(std::span<const std::string> names, Isa cap) {
  std::vector<std::unique_ptr<Backend>> backends;
  if (names.empty()) {
    for (const BackendFactory& f : kFactories)
      if (f.in_default_list(cap))
        if (auto b = f.make(cap)) backends.push_back(std::move(b));
    return backends;
  }
  std::set<std::string_view> seen;
  for (const std::string& name : names) {
    auto it = std::find_if(std::begin(kFactories), std::end(kFactories),
                           [&](const BackendFactory& f) { return f.name == name; });
    if (it == std::end(kFactories))
      return InvalidArgumentError("unknown backend '{}' (known: {})", name, fmt::join(FactoryNames(), ", "));
    if (!seen.insert(it->name).second) return InvalidArgumentError("backend '{}' is listed twice", name);
    auto backend = it->make(cap);
    if (backend == nullptr)
      return UnavailableError("backend '{}' cannot run on this CPU ({}) under the ISA cap {}", name, HostCpu().name,
                              IsaName(cap));
    backends.push_back(std::move(backend));
  }
  return backends;
}

const OpVersions& RegisteredOpVersions() {
  static const OpVersions versions = [] {
    OpVersions v;
    for (const BackendFactory& f : kFactories)
      if (auto backend = f.make(BestIsa(HostCpu())))
        for (const OpRegistration* r : backend->registered_ops()) v.Add(r->code, r->custom_name, r->max_version);
    for (const FoldedOp& op : OpsFoldedAtLoad()) v.Add(op.code, "", op.max_version);
    return v;
  }();
  return versions;
}

}  // namespace edgepipe::engine
