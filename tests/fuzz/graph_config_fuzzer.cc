// libFuzzer target for text-format graph configs: any byte string must parse
// into a GraphConfig or fail with a Status naming the line; a config that
// parses must validate (subgraph expansion, every calculator's contract) or
// fail with a Status; a valid graph, less the built-in calculators that write
// files or open a camera or window, runs, bounded: side packets input_path (the shared
// Megamind.avi) and max_frames=3, three small RGB frames into each graph input
// stream, then Cancel after kRunLimit. The run must end (libFuzzer's -timeout
// reports a hang) with any status, never a crash or a sanitizer report.
// Built and run by scripts/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined);
// seeds: graphs/*.pbtxt and the configs of tests/fuzz/graph_corpus/. Run from
// the repository root, so that the graphs' "../shared/models/..." paths resolve.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <opencv2/core.hpp>

#include "calculators/types/image_frame.h"
#include "core/graph.h"
#include "core/stream_name.h"

namespace {

using namespace edgepipe;

constexpr auto kRunLimit = std::chrono::milliseconds(1500);
constexpr int kFramesPerInput = 3;

// Calculators the fuzzer must not run: they write files wherever the config
// says, open a camera or a window.
bool MayRun(const std::string& calculator) {
  for (const char* refused : {"Writer", "WindowSink", "CameraSource"}) {
    if (calculator.find(refused) != std::string::npos) return false;
  }
  return true;
}

std::string SharedMedia(const std::string& name) {
  const char* env = std::getenv("EDGEPIPE_SHARED_DIR");
  return (std::filesystem::path(env != nullptr ? env : EDGEPIPE_SHARED_DIR) / "media" / name).string();
}

// Every side packet a node reads, as the CLI passes them (strings).
SidePackets SidePacketsFor(const GraphConfig& config) {
  SidePackets sides;
  for (const Node& node : config.node()) {
    for (const std::string& spec : node.input_side_packet()) {
      auto parsed = ParseStreamSpec(spec);
      const std::string name = parsed.ok() ? parsed->name : spec;
      if (name == "input_path") {
        sides[name] = MakePacket<std::string>(SharedMedia("Megamind.avi"));
      } else if (name == "max_frames") {
        sides[name] = MakePacket<std::string>("3");
      } else {
        sides[name] = MakePacket<std::string>("");
      }
    }
  }
  return sides;
}

void BoundedRun(Graph& graph) {
  for (const std::string& stream : graph.config().output_stream()) {
    auto spec = ParseStreamSpec(stream);
    if (spec.ok()) (void)graph.ObserveOutputStream(spec->name, [](const Packet&) { return OkStatus(); });
  }
  if (!graph.StartRun(SidePacketsFor(graph.config())).ok()) return;

  std::mutex mutex;
  std::condition_variable done_changed;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mutex);
    if (!done_changed.wait_for(lock, kRunLimit, [&] { return done; })) graph.Cancel();
  });
  for (const std::string& stream : graph.config().input_stream()) {
    auto spec = ParseStreamSpec(stream);
    if (!spec.ok()) continue;
    for (int i = 0; i < kFramesPerInput; ++i) {
      auto frame = ImageFrame::FromMat(ImageFormat::kRGB, cv::Mat(24, 32, CV_8UC3, cv::Scalar::all(i * 60)));
      if (!frame.ok()) break;
      // Never block: a full queue is the fuzzed graph's business, not a reason to hang here.
      if (!graph.AddPacketToInputStream(spec->name, MakePacket<ImageFrame>(std::move(*frame)).At(Timestamp(i)),
                                        AddMode::kFailIfFull)
               .ok()) {
        break;
      }
    }
  }
  (void)graph.CloseAllInputStreams();
  (void)graph.WaitUntilDone();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  done_changed.notify_all();
  watchdog.join();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = ParseGraphConfig(text, "<fuzz>");
  if (!config.ok()) return 0;
  // Sinks that write files, cameras and windows are dropped (after subgraph
  // expansion), so the shipped graphs still run without their outputs.
  auto expanded = ExpandSubgraphs(*config);
  if (!expanded.ok()) return 0;
  auto* nodes = expanded->mutable_node();
  for (int i = nodes->size() - 1; i >= 0; --i) {
    if (!MayRun(nodes->Get(i).calculator())) nodes->DeleteSubrange(i, 1);
  }
  Graph graph;
  if (!graph.Initialize(*expanded).ok()) return 0;
  BoundedRun(graph);
  return 0;
}
