// CameraSourceCalculator: captures frames from a camera (V4L2 index or path).
//
// Output  IMAGE (ImageFrame), with a VideoHeader stream header (size, the
//         camera's nominal frame rate, frame_count -1).
// Side    CAMERA_INDEX (integer or string, optional): index or /dev/videoN,
//         overriding options.device. MAX_FRAMES (optional): stop after N frames.
// Options CameraSourceCalculatorOptions: device, width, height, fps, max_frames,
//         output_format.
//
// Timestamps are the monotonic (steady) clock's elapsed time since the first
// frame, in microseconds: a camera's frames arrive at real, uneven times, and a
// resampler or tracker downstream needs those, not a frame counter. Put a
// FlowLimiterCalculator after it when a downstream node is slower than the
// camera: the camera then never waits and latency stays bounded.
//
//   node {
//     calculator: "CameraSourceCalculator"
//     input_side_packet: "CAMERA_INDEX:camera_index"
//     output_stream: "IMAGE:frames"
//   }
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>

#include <opencv2/videoio.hpp>

#include "calculators/types/frame_rate.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/side_packet_values.h"
#include "calculators/types/video_header.h"
#include "calculators/video/camera_source_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

class CameraSourceCalculator : public CalculatorBase {
 public:
  using Options = CameraSourceCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Output<ImageFrame>("IMAGE").Doc("captured frames; header: VideoHeader")
        .QueueLimit(kFrameQueueLimit);
    cc->AddInputSidePacket("CAMERA_INDEX", TypeId::Any()).Optional().Doc("camera index or /dev/videoN");
    cc->AddInputSidePacket("MAX_FRAMES", TypeId::Any()).Optional().Doc("stop after this many frames");
    cc->SetDoc(
        "Captures frames from a camera (an index such as 0 or a device path such as /dev/video2) and "
        "stamps each with the monotonic time elapsed since the first frame, in microseconds. Sets a "
        "VideoHeader. A missing or busy camera is an error naming it.");
    cc->SetExampleConfig(R"(node {
  calculator: "CameraSourceCalculator"
  input_side_packet: "CAMERA_INDEX:camera_index"
  output_stream: "IMAGE:frames"
  options { [edgepipe.CameraSourceCalculatorOptions.ext] { width: 640 height: 480 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    const auto& options = cc->Options<Options>();
    EP_ASSIGN_OR_RETURN(std::optional<std::string> side_device, StringSidePacket(*cc, "CAMERA_INDEX"));
    device_ = side_device.value_or(options.device());
    EP_ASSIGN_OR_RETURN(max_frames_, MaxFramesSidePacket(*cc, options.max_frames()));
    EP_ASSIGN_OR_RETURN(output_format_, ParseImageFormat(options.output_format()));

    const bool is_index = !device_.empty() && device_.find_first_not_of("0123456789") == std::string::npos;
    if (is_index) {
      const std::string path = "/dev/video" + device_;
      std::error_code error;
      if (!std::filesystem::exists(path, error)) {
        return NotFoundError("camera {} is absent: {} does not exist (no camera attached, or not passed to this container)",
                             device_, path);
      }
      int index = 0;
      if (std::from_chars(device_.data(), device_.data() + device_.size(), index).ec != std::errc()) {
        return InvalidArgumentError("camera index '{}' is out of range", device_);
      }
      capture_.open(index, cv::CAP_V4L2);
    } else {
      std::error_code error;
      if (!std::filesystem::exists(device_, error)) return NotFoundError("camera device '{}' does not exist", device_);
      capture_.open(device_, cv::CAP_V4L2);
    }
    if (!capture_.isOpened()) {
      return UnavailableError("cannot open camera '{}': the device exists but is busy, not a capture device, or not permitted",
                              device_);
    }
    if (options.width() > 0) capture_.set(cv::CAP_PROP_FRAME_WIDTH, options.width());
    if (options.height() > 0) capture_.set(cv::CAP_PROP_FRAME_HEIGHT, options.height());
    if (options.fps() > 0) capture_.set(cv::CAP_PROP_FPS, options.fps());

    VideoHeader header;
    header.width = static_cast<int>(capture_.get(cv::CAP_PROP_FRAME_WIDTH));
    header.height = static_cast<int>(capture_.get(cv::CAP_PROP_FRAME_HEIGHT));
    auto rate = RationalFrameRate(capture_.get(cv::CAP_PROP_FPS));
    if (rate.ok()) header.rate = *rate;
    header.frame_count = -1;
    header.format = output_format_;
    header.source = "camera " + device_;
    return cc->Outputs().Tag("IMAGE").SetHeader(MakePacket<VideoHeader>(header).At(Timestamp::PreStream()));
  }

  Status Process(CalculatorContext* cc) override {
    if (max_frames_ > 0 && frames_ >= max_frames_) return StopProcessing();
    cv::Mat frame;
    if (!capture_.read(frame) || frame.empty()) {
      if (frames_ == 0) return UnavailableError("camera '{}' opened but delivered no frame", device_);
      return StopProcessing();  // unplugged or end of a device stream
    }
    const auto now = std::chrono::steady_clock::now();
    if (!first_frame_time_) first_frame_time_ = now;
    int64_t timestamp_us = std::chrono::duration_cast<std::chrono::microseconds>(now - *first_frame_time_).count();
    if (last_timestamp_us_ && timestamp_us <= *last_timestamp_us_) timestamp_us = *last_timestamp_us_ + 1;
    last_timestamp_us_ = timestamp_us;

    EP_ASSIGN_OR_RETURN(ImageFrame image, ImageFrame::FromMat(ImageFormat::kBGR, std::move(frame)));
    if (output_format_ != ImageFormat::kBGR) {
      EP_ASSIGN_OR_RETURN(image, image.ConvertedTo(output_format_));
    }
    ++frames_;
    return cc->Outputs().Tag("IMAGE").Add(std::move(image), Timestamp(timestamp_us));
  }

  Status Close(CalculatorContext*) override {
    capture_.release();
    return OkStatus();
  }

 private:
  std::string device_;
  int64_t max_frames_ = 0;
  int64_t frames_ = 0;
  ImageFormat output_format_ = ImageFormat::kBGR;
  cv::VideoCapture capture_;
  std::optional<std::chrono::steady_clock::time_point> first_frame_time_;
  std::optional<int64_t> last_timestamp_us_;
};

EDGEPIPE_REGISTER_CALCULATOR(CameraSourceCalculator);

}  // namespace edgepipe
