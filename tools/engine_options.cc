#include "tools/engine_options.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/backend_registry.h"

namespace edgepipe::tools {

void AddEngineOptions(CLI::App* cmd, EngineCliOptions& options) {
  std::vector<std::string_view> isas;
  for (engine::Isa isa : engine::ArchIsas()) isas.push_back(engine::IsaName(isa));
  std::vector<std::string_view> backends;
  for (const engine::BackendFactory& f : engine::BackendFactories()) backends.push_back(f.name);
  cmd->add_option("--isa", options.isa,
                  fmt::format("Highest instruction set our kernels may use: {} (default: EDGEPIPE_ISA, else the "
                              "CPU's best)",
                              fmt::join(isas, ", ")));
  cmd->add_option("--backends", options.backends,
                  fmt::format("Backends to use, in the order asked for each op (default: the list for this CPU); "
                              "known: {}",
                              fmt::join(backends, ", ")))
      ->delimiter(',');
}

Status ApplyEngineOptions(const EngineCliOptions& cli, engine::InterpreterOptions& options) {
  if (!cli.isa.empty()) {
    auto isa = engine::ParseIsa(cli.isa);
    if (!isa.ok()) return isa.status().WithContext("--isa");
    options.isa = *isa;
  }
  options.backends = cli.backends;
  return OkStatus();
}

}  // namespace edgepipe::tools
