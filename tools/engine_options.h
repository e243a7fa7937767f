// The engine options the sub-commands that run models share (`infer`,
// `inspect`): --isa and --backends, turned into InterpreterOptions.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "core/status.h"
#include "engine/interpreter.h"

namespace edgepipe::tools {

struct EngineCliOptions {
  std::string isa;                    // empty: EDGEPIPE_ISA, else the CPU's best
  std::vector<std::string> backends;  // empty: the default list
};

void AddEngineOptions(CLI::App* cmd, EngineCliOptions& options);
// Fills the ISA cap and backend list of `options` (a bad ISA name is an error).
Status ApplyEngineOptions(const EngineCliOptions& cli, engine::InterpreterOptions& options);

}  // namespace edgepipe::tools
