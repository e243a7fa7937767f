// What `edgepipe run` shows of a running graph: --stats (a table at the end,
// with peak RSS), --trace FILE.json (Chrome trace events), --stall-timeout S.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "core/graph.h"

namespace edgepipe::tools {

struct ObservabilityFlags {
  bool stats = false;
  std::string trace_path;
  double stall_timeout_s = 0;
};

void AddObservabilityOptions(CLI::App* run, ObservabilityFlags* flags);
// Before StartRun.
void ApplyObservability(const ObservabilityFlags& flags, Graph& graph);
// Per node and per stream statistics and the process's peak RSS, on stderr.
void PrintStatistics(const Graph& graph);
// Peak resident set size of this process so far, in KiB.
long PeakRssKib();

}  // namespace edgepipe::tools
