// The backends an interpreter can use, by name, and the default order.
//
// An interpreter asks its backends in order for each op; the first that
// supports it runs it. The default list puts our own convolution kernels
// first where their variant for this CPU (under the ISA cap) beats XNNPACK,
// then XNNPACK, then our kernels for everything XNNPACK has no node for.
// InterpreterOptions::backends replaces the list (tests, benchmarks, or a
// delegate placed first).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/backend.h"
#include "engine/cpu/cpu_features.h"

namespace edgepipe::engine {

struct BackendFactory {
  std::string_view name;
  std::string_view description;
  // The backend with its kernels chosen under `cap`, or null when this CPU
  // cannot run it at all.
  std::unique_ptr<Backend> (*make)(Isa cap);
  // Whether it belongs in the default list on this CPU under `cap`.
  bool (*in_default_list)(Isa cap);
};

// Every backend this program has, in the default order.
std::span<const BackendFactory> BackendFactories();

// The backends `names` lists, in that order (an unknown or repeated name is an
// error listing the known ones), or the default list when `names` is empty.
Result<std::vector<std::unique_ptr<Backend>>> MakeBackends(std::span<const std::string> names, Isa cap);

}  // namespace edgepipe::engine
