// VideoWriterCalculator: encodes a stream of frames into a video file.
//
// Input   IMAGE (ImageFrame); its VideoHeader stream header, when present,
//         gives the frame rate.
// Side    OUTPUT_PATH (string, optional): overrides options.path. Connected
//         but unset (or ""), with no options.path, the writer is off: it
//         consumes its frames and writes nothing (docs/graphs.md).
// Options VideoWriterCalculatorOptions: path, fourcc, fps.
//
// The file is opened at the first frame (its size is the video's size; later
// frames must match). Frames are written one after the other at a constant
// rate: a frame dropped upstream shortens the video rather than leaving a gap.
// With no header and no fps option, the rate is measured from the first two
// frames' timestamps (the first frame waits for the second).
//
//   node {
//     calculator: "VideoWriterCalculator"
//     input_stream: "IMAGE:frames"
//     input_side_packet: "OUTPUT_PATH:output_path"
//   }
#include <algorithm>
#include <cctype>
#include <filesystem>

#include <opencv2/videoio.hpp>

#include "calculators/types/image_frame.h"
#include "calculators/types/side_packet_values.h"
#include "calculators/types/video_header.h"
#include "calculators/video/video_writer_calculator.pb.h"
#include "core/calculator.h"
#include "core/file_access.h"

namespace edgepipe {

namespace {
std::string DefaultFourcc(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
  if (extension == ".mp4" || extension == ".mov" || extension == ".m4v") return "mp4v";
  if (extension == ".mkv") return "XVID";
  return "MJPG";
}
}  // namespace

class VideoWriterCalculator : public CalculatorBase {
 public:
  using Options = VideoWriterCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<ImageFrame>("IMAGE").Doc("frames to encode (header: VideoHeader, optional)");
    cc->AddInputSidePacket("OUTPUT_PATH", TypeId::Any()).Optional().Doc("video file path (string); connected but unset: off");
    cc->SetDoc(
        "Encodes frames into a video file with OpenCV (codec from the fourcc option or the file "
        "extension). The frame rate comes from the fps option, else the input's VideoHeader, else the "
        "first two timestamps. Frame size is fixed by the first frame.");
    cc->SetExampleConfig(R"(node {
  calculator: "VideoWriterCalculator"
  input_stream: "IMAGE:frames"
  input_side_packet: "OUTPUT_PATH:output_path"
  options { [edgepipe.VideoWriterCalculatorOptions.ext] { fourcc: "MJPG" } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    const auto& options = cc->Options<Options>();
    EP_ASSIGN_OR_RETURN(std::optional<std::string> side_path, StringSidePacket(*cc, "OUTPUT_PATH"));
    path_ = side_path.value_or(options.path());
    if (path_.empty() && SidePacketConnected(*cc, "OUTPUT_PATH")) {
      off_ = true;  // the graph's output_path side packet was left unset
      return OkStatus();
    }
    if (path_.empty()) {
      return InvalidArgumentError(
          "VideoWriterCalculator has no file to write: set options.path or the OUTPUT_PATH side packet "
          "(edgepipe run --output FILE)");
    }
    const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    std::error_code error;
    if (!parent.empty() && !std::filesystem::exists(parent, error)) {
      return NotFoundError("cannot write video '{}': directory '{}' does not exist", path_, parent.string());
    }
    // OpenCV says only "not opened"; ask the OS first so a directory or a read-only path is named as such.
    EP_RETURN_IF_ERROR(CheckWritableFile(path_, "video"));
    fourcc_ = options.fourcc().empty() ? DefaultFourcc(path_) : options.fourcc();
    if (fourcc_.size() != 4) return InvalidArgumentError("fourcc '{}' must have exactly 4 characters", fourcc_);
    fps_ = options.fps();
    if (fps_ <= 0) {
      const Packet& header = cc->Inputs().Tag("IMAGE").Header();
      if (const auto* video_header = header.TryGet<VideoHeader>(); video_header && video_header->fps() > 0) {
        fps_ = video_header->fps();
      }
    }
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    if (off_) return OkStatus();
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    if (!writer_.isOpened()) {
      if (fps_ <= 0) {
        // Measure the rate from the first two frames: hold the first one.
        if (!held_frame_) {
          held_frame_ = *image;
          held_timestamp_ = cc->InputTimestamp();
          return OkStatus();
        }
        const int64_t period_us = cc->InputTimestamp().Value() - held_timestamp_.Value();
        fps_ = period_us > 0 ? 1e6 / static_cast<double>(period_us) : 30.0;
      }
      EP_RETURN_IF_ERROR(OpenWriter(*image));
      if (held_frame_) {
        EP_RETURN_IF_ERROR(Write(*held_frame_));
        held_frame_.reset();
      }
    }
    return Write(*image);
  }

  Status Close(CalculatorContext*) override {
    if (held_frame_) {  // a single frame: no second timestamp to measure from
      if (fps_ <= 0) fps_ = 30.0;
      EP_RETURN_IF_ERROR(OpenWriter(*held_frame_));
      EP_RETURN_IF_ERROR(Write(*held_frame_));
      held_frame_.reset();
    }
    writer_.release();
    return OkStatus();
  }

 private:
  Status OpenWriter(const ImageFrame& first) {
    const int code = cv::VideoWriter::fourcc(fourcc_[0], fourcc_[1], fourcc_[2], fourcc_[3]);
    size_ = cv::Size(first.width(), first.height());
    is_color_ = first.format() != ImageFormat::kGray8;
    if (!writer_.open(path_, cv::CAP_FFMPEG, code, fps_, size_, is_color_) || !writer_.isOpened()) {
      return InvalidArgumentError("cannot write video '{}' with codec '{}' at {}x{} {} fps (codec or container unsupported)",
                                  path_, fourcc_, size_.width, size_.height, fps_);
    }
    return OkStatus();
  }

  Status Write(const ImageFrame& image) {
    if (image.width() != size_.width || image.height() != size_.height) {
      return InvalidArgumentError("video '{}' is {}x{} but a frame is {}x{}: resize frames before the writer", path_,
                                  size_.width, size_.height, image.width(), image.height());
    }
    // OpenCV encoders take BGR (or GRAY8 for a grayscale video).
    EP_ASSIGN_OR_RETURN(ImageFrame encodable, image.ConvertedTo(is_color_ ? ImageFormat::kBGR : ImageFormat::kGray8));
    writer_.write(encodable.mat());
    ++frames_written_;
    return OkStatus();
  }

  std::string path_;
  std::string fourcc_;
  double fps_ = 0;
  bool off_ = false;
  cv::VideoWriter writer_;
  cv::Size size_;
  bool is_color_ = true;
  std::optional<ImageFrame> held_frame_;
  Timestamp held_timestamp_;
  int64_t frames_written_ = 0;
};

EDGEPIPE_REGISTER_CALCULATOR(VideoWriterCalculator);

}  // namespace edgepipe
