// Ctrl-C for CLI commands that run a graph: while a CancelOnInterrupt lives,
// the first SIGINT cancels the graph (nodes are closed, so a video writer
// finishes its file and the file plays) instead of killing the process with
// the output half written; a second SIGINT kills the process as usual.
#pragma once

#include <atomic>
#include <thread>

#include "core/graph.h"

namespace edgepipe::tools {

class CancelOnInterrupt {
 public:
  // Installs the SIGINT handler. When the system refuses the pipe or the
  // watcher thread, SIGINT keeps its default action (the run is unchanged).
  explicit CancelOnInterrupt(Graph* graph);
  ~CancelOnInterrupt();  // restores the previous SIGINT action
  CancelOnInterrupt(const CancelOnInterrupt&) = delete;
  CancelOnInterrupt& operator=(const CancelOnInterrupt&) = delete;

  // Whether a SIGINT arrived (and cancelled the graph).
  bool interrupted() const { return interrupted_.load(); }

  // The conventional exit code of a process ended by SIGINT (128 + 2).
  static constexpr int kExitCode = 130;

 private:
  void Watch();

  Graph* graph_;
  int pipe_[2] = {-1, -1};
  bool installed_ = false;
  std::atomic<bool> interrupted_{false};
  std::thread watcher_;
};

}  // namespace edgepipe::tools
