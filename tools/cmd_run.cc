// `edgepipe run GRAPH [--input PATH | --camera N] [--output PATH]
//                     [--side NAME=VALUE]... [--max-frames N] [--bench]`
//
// Runs a graph whose sources are calculators (video file, camera, images) to
// the end. The flags become string side packets that sources and sinks take as
// optional input side packets:
//   --input PATH    → input_path    (e.g. VideoFileSourceCalculator INPUT_PATH)
//   --camera N      → camera_index  (CameraSourceCalculator CAMERA_INDEX)
//   --output PATH   → output_path   (VideoWriter / ImageWriter / JsonLinesWriter OUTPUT_PATH)
//   --max-frames N  → max_frames    (sources' MAX_FRAMES)
//   --side NAME=VALUE → NAME
// Those four side packets are always given to a graph that reads them (as ""
// when the flag is absent: the calculator then falls back to its options), so
// one graph serves with and without the flags. A flag whose side packet no node of the graph uses is an error (it would
// otherwise be silently ignored). Progress (frames, fps, ETA) goes to stderr
// when it is a terminal; a one-line summary is printed at the end; the exit
// code is non-zero on any error.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <opencv2/videoio.hpp>

#include "core/file_access.h"
#include "core/graph.h"
#include "core/stream_name.h"
#include "tools/cancel_on_interrupt.h"
#include "tools/commands.h"
#include "tools/run_bench.h"
#include "tools/run_observability.h"

namespace edgepipe::tools {

namespace {

struct RunFlags {
  std::string graph_path;
  std::string input;
  std::string camera;
  std::string output;
  std::vector<std::string> sides;
  int64_t max_frames = 0;
  bool quiet = false;
  bool bench = false;
  ObservabilityFlags observe;  // --stats, --trace, --stall-timeout (tools/run_observability.cc)
};

// Names of every side packet some node reads, after subgraph expansion.
std::set<std::string> UsedSidePackets(const GraphConfig& config) {
  std::set<std::string> used;
  for (const Node& node : config.node()) {
    for (const std::string& spec : node.input_side_packet()) {
      auto parsed = ParseStreamSpec(spec);
      used.insert(parsed.ok() ? parsed->name : spec);
    }
  }
  return used;
}

std::string StringValue(const SidePackets& side_packets, const std::string& name) {
  auto it = side_packets.find(name);
  if (it == side_packets.end()) return "";
  const auto* text = it->second.TryGet<std::string>();
  return text ? *text : "";
}

// Writing over the input while it is decoded truncates it (and the run still
// "succeeds" on what was read before): refuse an output that is the input file
// itself, by inode, so a symlink or a hard link to it is refused too.
Status RefuseOutputThatIsInput(const SidePackets& side_packets) {
  const std::string input = StringValue(side_packets, "input_path");
  if (input.empty()) return OkStatus();
  for (const auto& [name, packet] : side_packets) {
    if (name == "input_path" || name.find("_path") == std::string::npos || name == "model_path") continue;
    const std::string output = StringValue(side_packets, name);
    if (!output.empty() && SameFile(input, output)) {
      return InvalidArgumentError("side packet {} '{}' is the input file '{}': writing it would destroy the input "
                                  "while it is read; choose another output path",
                                  name, output, input);
    }
  }
  return OkStatus();
}

Result<SidePackets> BuildSidePackets(const RunFlags& flags, const GraphConfig& config) {
  const std::set<std::string> used = UsedSidePackets(config);
  SidePackets side_packets;
  auto add = [&](const std::string& name, const std::string& value, const std::string& flag) -> Status {
    if (!used.count(name)) {
      std::string known;
      for (const std::string& n : used) known += (known.empty() ? "" : ", ") + n;
      return InvalidArgumentError("{} sets side packet \"{}\", but no node of {} reads it (side packets it reads: {})",
                                  flag, name, flags.graph_path, known.empty() ? "none" : known);
    }
    side_packets[name] = MakePacket<std::string>(value);
    return OkStatus();
  };
  if (!flags.input.empty()) EP_RETURN_IF_ERROR(add("input_path", flags.input, "--input"));
  if (!flags.camera.empty()) EP_RETURN_IF_ERROR(add("camera_index", flags.camera, "--camera"));
  if (!flags.output.empty()) EP_RETURN_IF_ERROR(add("output_path", flags.output, "--output"));
  if (flags.max_frames > 0) EP_RETURN_IF_ERROR(add("max_frames", std::to_string(flags.max_frames), "--max-frames"));
  // A graph lists the side packets it may take from these flags; unset ones are
  // passed as "" (sources and sinks then use their options).
  for (const char* name : {"input_path", "camera_index", "output_path", "max_frames"}) {
    if (used.count(name) && !side_packets.count(name)) side_packets[name] = MakePacket<std::string>("");
  }
  for (const std::string& side : flags.sides) {
    const size_t equals = side.find('=');
    if (equals == std::string::npos || equals == 0) {
      return InvalidArgumentError("--side takes NAME=VALUE, got \"{}\"", side);
    }
    EP_RETURN_IF_ERROR(add(side.substr(0, equals), side.substr(equals + 1), "--side " + side));
  }
  EP_RETURN_IF_ERROR(RefuseOutputThatIsInput(side_packets));
  return side_packets;
}

// Frames the run will take, when knowable (for the ETA): --max-frames, or the input video's frame count.
int64_t ExpectedFrames(const RunFlags& flags) {
  int64_t expected = 0;
  if (!flags.input.empty()) {
    cv::VideoCapture probe;
    if (probe.open(flags.input, cv::CAP_FFMPEG)) expected = static_cast<int64_t>(probe.get(cv::CAP_PROP_FRAME_COUNT));
  }
  if (flags.max_frames > 0 && (expected <= 0 || flags.max_frames < expected)) expected = flags.max_frames;
  return expected > 0 ? expected : 0;
}

// Prints a progress line on stderr every 200 ms until stopped.
class ProgressPrinter {
 public:
  ProgressPrinter(const std::atomic<int64_t>* frames, int64_t expected) : frames_(frames), expected_(expected) {
    start_ = std::chrono::steady_clock::now();
    // Progress is a nicety: when the system refuses the thread, run without it.
    try {
      thread_ = std::thread([this] { Loop(); });
    } catch (const std::system_error&) {
      stopped_ = true;
    }
  }
  ~ProgressPrinter() { Stop(); }
  void Stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stopped_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::fprintf(stderr, "\r\033[K");  // erase the progress line
  }

 private:
  void Loop() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopped_; })) Print();
  }
  void Print() {
    // Source Process calls; the last one (end of input) emits nothing, hence the clamp.
    int64_t frames = frames_->load(std::memory_order_relaxed);
    if (expected_ > 0) frames = std::min(frames, expected_);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double fps = seconds > 0 ? static_cast<double>(frames) / seconds : 0.0;
    std::string line;
    if (expected_ > 0) {
      constexpr int kBarWidth = 30;
      const double fraction = std::min(1.0, static_cast<double>(frames) / static_cast<double>(expected_));
      const int filled = static_cast<int>(fraction * kBarWidth);
      const std::string eta = fps > 0 ? fmt::format("{:.0f} s", static_cast<double>(expected_ - frames) / fps) : "?";
      line = fmt::format("[{}{}] {}/{} frames  {:.1f} fps  ETA {}", std::string(filled, '#'),
                         std::string(kBarWidth - filled, '.'), frames, expected_, fps, eta);
    } else {
      line = fmt::format("{} frames  {:.1f} fps  {:.1f} s", frames, fps, seconds);
    }
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
  }

  const std::atomic<int64_t>* frames_;
  int64_t expected_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;
  std::thread thread_;
};

// Runs the graph; *interrupted tells whether Ctrl-C cancelled it (the status is then OK).
Status RunGraph(const RunFlags& flags, bool* interrupted) {
  EP_ASSIGN_OR_RETURN(GraphConfig config, LoadGraphConfigFile(flags.graph_path));
  if (config.input_stream_size() > 0) {
    return InvalidArgumentError(
        "{} has graph input streams ({}…); `edgepipe run` drives graphs whose sources are calculators "
        "(VideoFileSourceCalculator, CameraSourceCalculator, ImageFileSourceCalculator)",
        flags.graph_path, config.input_stream(0));
  }
  Graph graph;
  EP_RETURN_IF_ERROR(graph.Initialize(config));
  EP_ASSIGN_OR_RETURN(SidePackets side_packets, BuildSidePackets(flags, graph.config()));

  // Graph outputs are counted (and so drained) for the summary.
  std::map<std::string, std::shared_ptr<std::atomic<int64_t>>> output_counts;
  for (const std::string& spec : config.output_stream()) {
    auto parsed = ParseStreamSpec(spec);
    const std::string name = parsed.ok() ? parsed->name : spec;
    auto counter = std::make_shared<std::atomic<int64_t>>(0);
    output_counts[name] = counter;
    EP_RETURN_IF_ERROR(graph.ObserveOutputStream(name, [counter](const Packet&) {
      counter->fetch_add(1, std::memory_order_relaxed);
      return OkStatus();
    }));
  }

  // Progress = Process calls of source nodes (nodes without input streams), one frame each.
  // Node ids are positions in the expanded config (graph.config()).
  std::vector<bool> is_source;
  for (const Node& node : graph.config().node()) is_source.push_back(node.input_stream_size() == 0);
  auto frames = std::make_shared<std::atomic<int64_t>>(0);
  std::shared_ptr<RunBench> bench = flags.bench ? std::make_shared<RunBench>() : nullptr;
  if (bench) EP_RETURN_IF_ERROR(bench->Attach(graph));
  graph.SetEventListener([frames, is_source, bench](const GraphEvent& event) {
    if (bench) bench->OnEvent(event);
    if (event.kind == GraphEvent::Kind::kProcessEnd && event.node_id >= 0 &&
        static_cast<size_t>(event.node_id) < is_source.size() && is_source[event.node_id]) {
      frames->fetch_add(1, std::memory_order_relaxed);
    }
  });

  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<ProgressPrinter> progress;
  if (!flags.quiet && isatty(STDERR_FILENO)) progress = std::make_unique<ProgressPrinter>(frames.get(), ExpectedFrames(flags));
  ApplyObservability(flags.observe, graph);
  if (bench) bench->Start();
  Status status = graph.StartRun(side_packets);
  if (status.ok()) {
    CancelOnInterrupt cancel_on_interrupt(&graph);
    status = graph.WaitUntilDone();
    *interrupted = cancel_on_interrupt.interrupted();
    if (*interrupted && status.code() == StatusCode::kCancelled) status = OkStatus();
  }
  if (progress) progress->Stop();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EP_RETURN_IF_ERROR(status);

  // Frames = packets the sources emitted (the last Process call of a source emits none).
  int64_t source_frames = 0;
  const std::vector<NodeStats> final_stats = graph.Stats();
  for (size_t id = 0; id < final_stats.size(); ++id) {
    if (id < is_source.size() && is_source[id]) source_frames += static_cast<int64_t>(final_stats[id].packets_out);
  }
  std::string summary = fmt::format("edgepipe run: {}: {} frames in {:.2f} s ({:.1f} fps)", flags.graph_path,
                                    source_frames, seconds, seconds > 0 ? source_frames / seconds : 0.0);
  for (const auto& [name, count] : output_counts) summary += fmt::format("; {}: {} packets", name, count->load());
  if (!flags.output.empty()) summary += fmt::format("; wrote {}", flags.output);
  if (*interrupted) summary += "; interrupted by Ctrl-C (graph cancelled, outputs closed)";
  std::fprintf(stderr, "%s\n", summary.c_str());
  if (bench) std::fputs(bench->Report(source_frames, seconds).c_str(), stdout);
  if (flags.observe.stats) PrintStatistics(graph);
  return OkStatus();
}

}  // namespace

void AddRunCommand(CLI::App& app) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* run = app.add_subcommand("run", "Run a graph over a video, a camera or images until its sources finish");
  run->add_option("graph", flags->graph_path, "Graph config (.pbtxt), e.g. graphs/video_resize.pbtxt")->required();
  CLI::Option* input = run->add_option("--input,-i", flags->input, "Input file, directory or glob → side packet input_path");
  CLI::Option* camera = run->add_option("--camera", flags->camera, "Camera index or /dev/videoN → side packet camera_index");
  input->excludes(camera);
  camera->excludes(input);
  run->add_option("--output,-o", flags->output, "Output file or directory → side packet output_path");
  run->add_option("--side", flags->sides, "Extra side packet NAME=VALUE (a string); repeatable");
  run->add_option("--max-frames", flags->max_frames, "Stop sources after N frames → side packet max_frames")
      ->check(AtLeast(1));
  run->add_flag("--quiet,-q", flags->quiet, "No progress line");
  AddObservabilityOptions(run, &flags->observe);
  run->add_flag("--bench", flags->bench,
                "Print a pipeline benchmark: frames/s, latency source→sink per frame (p50/p90/p99), CPU, peak RSS");
  run->callback([flags] {
    bool interrupted = false;
    Status status = RunGraph(*flags, &interrupted);
    if (interrupted && status.ok()) ExitCode() = CancelOnInterrupt::kExitCode;
    if (!status.ok()) {
      std::fprintf(stderr, "edgepipe run: error: %s\n", status.ToString().c_str());
      ExitCode() = 1;
    }
  });
}

}  // namespace edgepipe::tools
