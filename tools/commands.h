// Each `edgepipe` sub-command lives in its own tools/cmd_*.cc and adds itself
// to the CLI through one function declared here (called from main.cc).
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace edgepipe::tools {

// Exit code a sub-command sets for main() to return.
int& ExitCode();

// An integer option's check: "at least MIN". CLI::PositiveNumber's message
// quotes DBL_MAX as a 309-digit number ("not in range 0.000000 to 1797…").
inline CLI::Validator AtLeast(int64_t min) {
  return CLI::Validator(
      [min](std::string& input) -> std::string {
        int64_t value = 0;
        if (!CLI::detail::lexical_cast(input, value)) return "'" + input + "' is not an integer";
        if (value < min) return "must be at least " + std::to_string(min) + ", got " + input;
        return {};
      },
      "INT>=" + std::to_string(min));
}

void AddInspectCommand(CLI::App& app);
void AddInferCommand(CLI::App& app);
void AddBenchGraphCommand(CLI::App& app);
void AddBenchCommand(CLI::App& app);
void AddRunCommand(CLI::App& app);
void AddCatalogueCommands(CLI::App& app);
void AddQuantizeCommand(CLI::App& app);
void AddMotEvalCommand(CLI::App& app);
void AddVizCommand(CLI::App& app);

}  // namespace edgepipe::tools
