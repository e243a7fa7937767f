// `edgepipe bench --chart`: draws a bench JSON report as a PNG by running
// bench/plot.py (python3 with matplotlib), so the charts are made in one place.
#pragma once

#include <string>

#include "core/status.h"

namespace edgepipe::tools {

// The plot script: $EDGEPIPE_PLOT_SCRIPT, else share/edgepipe/plot.py next to
// the executable's bin/ directory (the build tree and an install both hold it).
std::string PlotScriptPath();

// Runs `python3 PLOT_SCRIPT JSON --out PNG`; an error names the script and its
// exit status (its own message is on stderr).
Status DrawBenchChart(const std::string& json_path, const std::string& png_path);

}  // namespace edgepipe::tools
