// Decode + resize + encode of a video through an edgepipe graph versus a plain
// OpenCV loop doing the same work, in one process. Prints both times and the
// ratio (edgepipe / OpenCV; the target is ≤ 1.10).
//
//   build/bin/bench_video_pipeline [VIDEO] [--repeats N]
//
// Both write MJPG .avi files of the frames resized to 384×288 with area
// interpolation. Runs alternate and the best of N is kept, so that other load
// on the machine affects both sides alike.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/graph.h"

namespace {

constexpr int kWidth = 384;
constexpr int kHeight = 288;

// The baseline: what a user would write by hand.
int64_t OpenCvLoop(const std::string& input, const std::string& output) {
  cv::VideoCapture capture(input, cv::CAP_FFMPEG);
  const double fps = capture.get(cv::CAP_PROP_FPS);
  cv::VideoWriter writer(output, cv::CAP_FFMPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps,
                         cv::Size(kWidth, kHeight));
  int64_t frames = 0;
  cv::Mat frame, small;
  while (capture.read(frame)) {
    cv::resize(frame, small, cv::Size(kWidth, kHeight), 0, 0, cv::INTER_AREA);
    writer.write(small);
    ++frames;
  }
  return frames;
}

edgepipe::Status EdgepipeGraph(const std::string& input, const std::string& output) {
  EP_ASSIGN_OR_RETURN(edgepipe::GraphConfig config, edgepipe::ParseGraphConfig(R"(
    node {
      calculator: "VideoFileSourceCalculator"
      input_side_packet: "INPUT_PATH:input_path"
      output_stream: "IMAGE:frames"
    }
    node {
      calculator: "ImageResizeCalculator"
      input_stream: "IMAGE:frames"
      output_stream: "IMAGE:small"
      options { [edgepipe.ImageResizeCalculatorOptions.ext] { width: 384 height: 288 interpolation: AREA } }
    }
    node {
      calculator: "VideoWriterCalculator"
      input_stream: "IMAGE:small"
      input_side_packet: "OUTPUT_PATH:output_path"
      options { [edgepipe.VideoWriterCalculatorOptions.ext] { fourcc: "MJPG" } }
    }
  )", "benchmark graph"));
  edgepipe::Graph graph;
  EP_RETURN_IF_ERROR(graph.Initialize(config));
  return graph.Run({{"input_path", edgepipe::MakePacket<std::string>(input)},
                    {"output_path", edgepipe::MakePacket<std::string>(output)}});
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string input = std::string(EDGEPIPE_SHARED_DIR) + "/media/vtest.avi";
  int repeats = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else {
      input = argv[i];
    }
  }
  if (!std::filesystem::exists(input)) {
    std::fprintf(stderr, "bench_video_pipeline: input video '%s' does not exist\n", input.c_str());
    return 1;
  }
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "edgepipe_bench_video";
  std::filesystem::create_directories(dir);
  const std::string opencv_output = (dir / "opencv.avi").string();
  const std::string edgepipe_output = (dir / "edgepipe.avi").string();

  double best_opencv = 1e30, best_edgepipe = 1e30;
  int64_t frames = 0;
  for (int run = 0; run < repeats; ++run) {
    auto start = std::chrono::steady_clock::now();
    frames = OpenCvLoop(input, opencv_output);
    best_opencv = std::min(best_opencv, Seconds(start));

    start = std::chrono::steady_clock::now();
    edgepipe::Status status = EdgepipeGraph(input, edgepipe_output);
    best_edgepipe = std::min(best_edgepipe, Seconds(start));
    if (!status.ok()) {
      std::fprintf(stderr, "bench_video_pipeline: edgepipe graph failed: %s\n", status.ToString().c_str());
      return 1;
    }
  }
  const double ratio = best_edgepipe / best_opencv;
  std::printf("video: %s (%lld frames), decode + resize to %dx%d + MJPG encode, best of %d\n", input.c_str(),
              static_cast<long long>(frames), kWidth, kHeight, repeats);
  std::printf("opencv loop   %7.3f s  %7.1f fps\n", best_opencv, frames / best_opencv);
  std::printf("edgepipe run  %7.3f s  %7.1f fps\n", best_edgepipe, frames / best_edgepipe);
  std::printf("ratio edgepipe/opencv = %.3f (target <= 1.10): %s\n", ratio, ratio <= 1.10 ? "OK" : "SLOWER");
  return 0;
}
