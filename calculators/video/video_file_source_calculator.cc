// VideoFileSourceCalculator: decodes a video file into timestamped frames.
//
// Output  IMAGE (ImageFrame), with a VideoHeader stream header (size, exact
//         frame rate, frame count, source path).
// Side    INPUT_PATH (string, optional): the file, overriding options.path.
//         MAX_FRAMES (integer or string, optional): stop after N frames.
// Options VideoFileSourceCalculatorOptions: path, timestamp_source, realtime,
//         realtime_speed, max_frames, output_format.
//
// Timestamps are real microseconds (never 0, 1, 2, …): frame i is at
// round(i × 1e6 / fps) with the container's rational rate (23.976 fps is
// 2997/125, so Megamind.avi's frame 4 is at 166834 µs), computed in integers,
// so no error accumulates. The container's own presentation times are
// used instead when they disagree with that by more than half a frame (variable
// frame rate, missing frames). They are not used blindly because OpenCV's FFmpeg
// backend reports a frame's time one frame late for streams with a decoder delay
// (Megamind.avi's first frame reads as 41.7 ms) and reports 0 for frames
// flushed from the decoder at the end.
//
//   node {
//     calculator: "VideoFileSourceCalculator"
//     input_side_packet: "INPUT_PATH:input_path"
//     output_stream: "IMAGE:frames"
//   }
#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

#include <opencv2/videoio.hpp>

#include "calculators/types/frame_rate.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/side_packet_values.h"
#include "calculators/types/video_header.h"
#include "calculators/video/video_file_source_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

namespace {
std::string FourccText(double fourcc_value) {
  auto fourcc = static_cast<uint32_t>(fourcc_value);
  std::string text;
  for (int i = 0; i < 4; ++i) {
    char c = static_cast<char>((fourcc >> (8 * i)) & 0xff);
    text += (c >= 32 && c < 127) ? c : '?';
  }
  return text;
}
}  // namespace

class VideoFileSourceCalculator : public CalculatorBase {
 public:
  using Options = VideoFileSourceCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Output<ImageFrame>("IMAGE").Doc("decoded frames; header: VideoHeader")
        .QueueLimit(kFrameQueueLimit);
    cc->AddInputSidePacket("INPUT_PATH", TypeId::Any()).Optional().Doc("video file path (string)");
    cc->AddInputSidePacket("MAX_FRAMES", TypeId::Any()).Optional().Doc("stop after this many frames");
    cc->SetDoc(
        "Decodes a video file (any container and codec OpenCV's FFmpeg backend reads) into ImageFrames "
        "stamped with real microseconds: frame index × 1e6 / the container's exact rational frame rate "
        "(or the container's presentation times for variable-rate files). Sets a VideoHeader with size, "
        "frame rate and frame count. Optional real-time pacing makes a file behave like a camera.");
    cc->SetExampleConfig(R"(node {
  calculator: "VideoFileSourceCalculator"
  input_side_packet: "INPUT_PATH:input_path"
  output_stream: "IMAGE:frames"
  options { [edgepipe.VideoFileSourceCalculatorOptions.ext] { max_frames: 100 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    const auto& options = cc->Options<Options>();
    options_ = options;
    EP_ASSIGN_OR_RETURN(std::optional<std::string> side_path, StringSidePacket(*cc, "INPUT_PATH"));
    path_ = side_path.value_or(options.path());
    if (path_.empty()) {
      return InvalidArgumentError(
          "VideoFileSourceCalculator has no video to read: set options.path or the INPUT_PATH side packet "
          "(edgepipe run --input FILE)");
    }
    EP_ASSIGN_OR_RETURN(max_frames_, MaxFramesSidePacket(*cc, options.max_frames()));
    EP_ASSIGN_OR_RETURN(output_format_, ParseImageFormat(options.output_format()));

    std::error_code error;
    if (!std::filesystem::exists(path_, error)) return NotFoundError("video file '{}' does not exist", path_);
    if (std::filesystem::is_directory(path_, error)) {
      return InvalidArgumentError("'{}' is a directory, not a video file (use ImageFileSourceCalculator for images)", path_);
    }
    // FFmpeg only: other backends (GStreamer, image sequences) print noise on files they cannot read.
    if (!capture_.open(path_, cv::CAP_FFMPEG) || !capture_.isOpened()) {
      return InvalidArgumentError("cannot open video file '{}': OpenCV's FFmpeg backend recognises no video container in it", path_);
    }
    const std::string codec = FourccText(capture_.get(cv::CAP_PROP_FOURCC));
    // Decode the first frame now so that an unsupported codec fails in Open,
    // with the file and codec named, not as an empty stream later.
    if (!capture_.read(pending_frame_) || pending_frame_.empty()) {
      return InvalidArgumentError("video file '{}' has no decodable frame (codec '{}' unsupported or file corrupt)",
                                  path_, codec);
    }
    has_pending_frame_ = true;

    const double fps = capture_.get(cv::CAP_PROP_FPS);
    auto rate = RationalFrameRate(fps);
    if (rate.ok()) rate_ = *rate;
    if (!rate_.valid() && options.timestamp_source() == Options::FRAME_RATE) {
      return InvalidArgumentError("video file '{}' does not state a frame rate; use timestamp_source CONTAINER", path_);
    }

    VideoHeader header;
    header.width = pending_frame_.cols;
    header.height = pending_frame_.rows;
    header.rate = rate_;
    const double count = capture_.get(cv::CAP_PROP_FRAME_COUNT);
    header.frame_count = count > 0 ? static_cast<int64_t>(std::llround(count)) : -1;
    if (max_frames_ > 0 && header.frame_count > max_frames_) header.frame_count = max_frames_;
    header.format = output_format_;
    header.source = path_;
    EP_RETURN_IF_ERROR(cc->Outputs().Tag("IMAGE").SetHeader(MakePacket<VideoHeader>(header).At(Timestamp::PreStream())));
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    if (max_frames_ > 0 && frame_index_ >= max_frames_) return StopProcessing();
    cv::Mat frame;
    if (has_pending_frame_) {
      frame = std::move(pending_frame_);
      has_pending_frame_ = false;
    } else if (!capture_.read(frame) || frame.empty()) {
      return StopProcessing();
    }
    const int64_t timestamp_us = NextTimestampUs();
    if (options_.realtime()) PaceTo(timestamp_us);

    EP_ASSIGN_OR_RETURN(ImageFrame image, ImageFrame::FromMat(ImageFormat::kBGR, std::move(frame)));
    if (output_format_ != ImageFormat::kBGR) {
      EP_ASSIGN_OR_RETURN(image, image.ConvertedTo(output_format_));
    }
    ++frame_index_;
    return cc->Outputs().Tag("IMAGE").Add(std::move(image), Timestamp(timestamp_us));
  }

  Status Close(CalculatorContext*) override {
    capture_.release();
    return OkStatus();
  }

 private:
  // Timestamp of the frame just read (frame_index_ not yet advanced).
  int64_t NextTimestampUs() {
    const double container_ms = capture_.get(cv::CAP_PROP_POS_MSEC);
    // 0 after the first frame means "no time known" (flushed decoder frames).
    std::optional<int64_t> container_us;
    if (std::isfinite(container_ms) && (container_ms > 0 || frame_index_ == 0)) {
      container_us = std::llround(container_ms * 1000.0);
      if (!first_container_us_) first_container_us_ = *container_us;
      *container_us -= *first_container_us_;
    }

    int64_t timestamp = 0;
    const bool have_rate = rate_.valid();
    const int64_t from_rate = have_rate ? FrameTimestampUs(frame_index_, rate_) : 0;
    switch (options_.timestamp_source()) {
      case Options::FRAME_RATE:
        timestamp = from_rate;
        break;
      case Options::CONTAINER:
        timestamp = container_us ? *container_us : (last_timestamp_us_ ? *last_timestamp_us_ + PeriodUs() : 0);
        break;
      case Options::AUTO:
      default:
        if (!have_rate) {
          timestamp = container_us ? *container_us : (last_timestamp_us_ ? *last_timestamp_us_ + 1 : 0);
        } else if (container_us && std::llabs(*container_us - from_rate) * 2 > PeriodUs()) {
          timestamp = *container_us;  // variable frame rate or a gap: trust the container
        } else {
          timestamp = from_rate;
        }
        break;
    }
    // Streams must strictly increase even when a container's times do not.
    if (last_timestamp_us_ && timestamp <= *last_timestamp_us_) timestamp = *last_timestamp_us_ + 1;
    last_timestamp_us_ = timestamp;
    return timestamp;
  }

  int64_t PeriodUs() const { return rate_.valid() ? FrameTimestampUs(1, rate_) : 1; }

  void PaceTo(int64_t timestamp_us) {
    const auto now = std::chrono::steady_clock::now();
    const double speed = options_.realtime_speed() > 0 ? options_.realtime_speed() : 1.0;
    const auto wall_offset = std::chrono::microseconds(static_cast<int64_t>(static_cast<double>(timestamp_us) / speed));
    // The first frame is due at once; later ones at their offset from it.
    if (!pacing_start_) pacing_start_ = now - wall_offset;
    const auto due = *pacing_start_ + wall_offset;
    if (due > now) std::this_thread::sleep_until(due);
  }

  Options options_;
  std::string path_;
  int64_t max_frames_ = 0;
  ImageFormat output_format_ = ImageFormat::kBGR;
  cv::VideoCapture capture_;
  cv::Mat pending_frame_;
  bool has_pending_frame_ = false;
  FrameRate rate_{0, 1};
  int64_t frame_index_ = 0;
  std::optional<int64_t> first_container_us_;
  std::optional<int64_t> last_timestamp_us_;
  std::optional<std::chrono::steady_clock::time_point> pacing_start_;
};

EDGEPIPE_REGISTER_CALCULATOR(VideoFileSourceCalculator);

}  // namespace edgepipe
