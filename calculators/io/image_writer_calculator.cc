// ImageWriterCalculator: saves each frame as an image file.
//
// Input   IMAGE (ImageFrame)
// Side    OUTPUT_PATH (string, optional): a file pattern, or an existing
//         directory (frames go to DIR/frame_{index:06d}.png). Connected but
//         unset (or ""), with no path_pattern set in the options, the writer is off (docs/graphs.md).
// Options ImageWriterCalculatorOptions: path_pattern, jpeg_quality.
//
// The pattern is an fmt format string with named fields {index} (the frame's
// position in the stream) and {timestamp_us}, e.g. "out/{timestamp_us}.jpg".
//
//   node {
//     calculator: "ImageWriterCalculator"
//     input_stream: "IMAGE:frames"
//     options { [edgepipe.ImageWriterCalculatorOptions.ext] { path_pattern: "out/frame_{index:04d}.jpg" } }
//   }
#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "calculators/io/image_writer_calculator.pb.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/side_packet_values.h"
#include "core/calculator.h"
#include "core/file_access.h"

namespace edgepipe {

class ImageWriterCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<ImageWriterCalculatorOptions>();
    cc->Input<ImageFrame>("IMAGE").Doc("frames to save");
    cc->AddInputSidePacket("OUTPUT_PATH", TypeId::Any()).Optional().Doc("file pattern or directory (string); connected but unset: off");
    cc->SetDoc(
        "Saves each frame as an image file named by a pattern with {index} and {timestamp_us} fields "
        "(e.g. out/frame_{index:06d}.png); the extension picks the format (png, jpg, bmp, …).");
    cc->SetExampleConfig(R"(node {
  calculator: "ImageWriterCalculator"
  input_stream: "IMAGE:frames"
  options { [edgepipe.ImageWriterCalculatorOptions.ext] { path_pattern: "out/frame_{index:04d}.jpg" } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    const auto& options = cc->Options<ImageWriterCalculatorOptions>();
    pattern_ = options.path_pattern();
    jpeg_quality_ = options.jpeg_quality();
    EP_ASSIGN_OR_RETURN(std::optional<std::string> side_path, StringSidePacket(*cc, "OUTPUT_PATH"));
    std::error_code error;
    if (side_path) {
      pattern_ = std::filesystem::is_directory(*side_path, error)
                     ? (std::filesystem::path(*side_path) / "frame_{index:06d}.png").string()
                     : *side_path;
    }
    if (!side_path && !options.has_path_pattern() && SidePacketConnected(*cc, "OUTPUT_PATH")) {
      off_ = true;  // the graph's output_path side packet was left unset
      return OkStatus();
    }
    if (pattern_.empty()) return InvalidArgumentError("ImageWriterCalculator: path_pattern is empty");
    // Check the pattern now rather than at the first frame.
    auto first = FileName(0, 0);
    if (!first.ok()) return first.status();
    const auto parent = std::filesystem::path(*first).parent_path();
    if (!parent.empty() && !std::filesystem::exists(parent, error)) {
      return NotFoundError("cannot write images to '{}': directory '{}' does not exist", pattern_, parent.string());
    }
    // cv::imwrite says only "false"; the OS names a read-only directory or a directory in the way.
    return CheckWritableFile(*first, "image");
  }

  Status Process(CalculatorContext* cc) override {
    if (off_) return OkStatus();
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    EP_ASSIGN_OR_RETURN(std::string file, FileName(index_, cc->InputTimestamp().Value()));
    // Encoders take BGR (or gray); RGBA is written with its alpha channel as BGRA.
    cv::Mat encodable;
    switch (image->format()) {
      case ImageFormat::kGray8:
      case ImageFormat::kBGR: encodable = image->mat(); break;
      case ImageFormat::kRGB: cv::cvtColor(image->mat(), encodable, cv::COLOR_RGB2BGR); break;
      case ImageFormat::kRGBA: cv::cvtColor(image->mat(), encodable, cv::COLOR_RGBA2BGRA); break;
    }
    bool written = false;
    try {
      written = cv::imwrite(file, encodable, {cv::IMWRITE_JPEG_QUALITY, jpeg_quality_});
    } catch (const cv::Exception& e) {
      return InvalidArgumentError("cannot write image '{}': {}", file, e.what());
    }
    if (!written) return InvalidArgumentError("cannot write image '{}' (unknown extension or no permission)", file);
    ++index_;
    return OkStatus();
  }

 private:
  Result<std::string> FileName(int64_t index, int64_t timestamp_us) const {
    try {
      return fmt::format(fmt::runtime(pattern_), fmt::arg("index", index), fmt::arg("timestamp_us", timestamp_us));
    } catch (const fmt::format_error& e) {
      return InvalidArgumentError("bad image file pattern '{}': {} (fields: {{index}}, {{timestamp_us}})", pattern_, e.what());
    }
  }

  std::string pattern_;
  int jpeg_quality_ = 95;
  int64_t index_ = 0;
  bool off_ = false;
};

EDGEPIPE_REGISTER_CALCULATOR(ImageWriterCalculator);

}  // namespace edgepipe
