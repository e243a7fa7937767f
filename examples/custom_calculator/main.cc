// Runs frame_brightness.pbtxt on a video and prints one line per frame:
//   frame_brightness VIDEO [MAX_FRAMES]
// The graph mixes a built-in calculator (VideoFileSourceCalculator, from the
// installed library) with this project's FrameBrightnessCalculator.
#include <cstdio>
#include <string>

#include "core/graph.h"

namespace {

edgepipe::Status Run(const std::string& video, const std::string& max_frames) {
  EP_ASSIGN_OR_RETURN(edgepipe::GraphConfig config, edgepipe::LoadGraphConfigFile(FRAME_BRIGHTNESS_GRAPH));
  edgepipe::Graph graph;
  EP_RETURN_IF_ERROR(graph.Initialize(config));
  int frames = 0;
  EP_RETURN_IF_ERROR(graph.ObserveOutputStream("brightness", [&frames](const edgepipe::Packet& packet) {
    EP_ASSIGN_OR_RETURN(const double* brightness, packet.Get<double>());
    std::printf("%lld us: brightness %.2f\n", static_cast<long long>(packet.timestamp().Value()), *brightness);
    ++frames;
    return edgepipe::OkStatus();
  }));
  EP_RETURN_IF_ERROR(graph.Run({{"input_path", edgepipe::MakePacket<std::string>(video)},
                                {"max_frames", edgepipe::MakePacket<std::string>(max_frames)}}));
  std::printf("%d frames\n", frames);
  return edgepipe::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s VIDEO [MAX_FRAMES]\n", argv[0]);
    return 2;
  }
  edgepipe::Status status = Run(argv[1], argc == 3 ? argv[2] : "0");
  if (!status.ok()) {
    std::fprintf(stderr, "frame_brightness: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
