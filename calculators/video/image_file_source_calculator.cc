// ImageFileSourceCalculator: emits one image file, or every image of a
// directory or glob, as a stream of frames at a chosen frame rate.
//
// Output  IMAGE (ImageFrame), with a VideoHeader stream header (the first
//         image's size, the frame rate, the number of images).
// Side    INPUT_PATH (string, optional): file, directory or glob, overriding
//         options.path. MAX_FRAMES (optional): stop after N images.
// Options ImageFileSourceCalculatorOptions: path, frame_rate, max_frames,
//         output_format.
//
// Image i is stamped round(i × 1e6 / frame_rate) µs with the exact rational
// rate, like a video file, so that resamplers and trackers see real time.
//
//   node {
//     calculator: "ImageFileSourceCalculator"
//     output_stream: "IMAGE:frames"
//     options { [edgepipe.ImageFileSourceCalculatorOptions.ext] { path: "frames/*.png" frame_rate: 10 } }
//   }
#include <algorithm>
#include <filesystem>
#include <set>

#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>

#include "calculators/types/frame_rate.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/side_packet_values.h"
#include "calculators/types/video_header.h"
#include "calculators/video/image_file_source_calculator.pb.h"
#include "core/calculator.h"

namespace edgepipe {

namespace {
bool HasImageExtension(const std::filesystem::path& path) {
  static const std::set<std::string> kExtensions = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff",
                                                    ".webp", ".ppm", ".pgm", ".pbm", ".pnm"};
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
  return kExtensions.count(extension) > 0;
}

// The files `spec` names: itself, a directory's images, or a glob's matches; sorted.
Result<std::vector<std::string>> ListImages(const std::string& spec) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code error;
  if (spec.find_first_of("*?[") != std::string::npos) {
    std::vector<cv::String> matches;
    try {
      cv::glob(spec, matches, /*recursive=*/false);
    } catch (const cv::Exception&) {
      // cv::glob throws when the pattern's directory does not exist.
    }
    for (const cv::String& match : matches) files.push_back(match);
    if (files.empty()) return NotFoundError("no image matches '{}'", spec);
  } else if (fs::is_directory(spec, error)) {
    for (const auto& entry : fs::directory_iterator(spec, error)) {
      if (entry.is_regular_file() && HasImageExtension(entry.path())) files.push_back(entry.path().string());
    }
    if (files.empty()) return NotFoundError("directory '{}' holds no image files", spec);
  } else if (fs::exists(spec, error)) {
    files.push_back(spec);
  } else {
    return NotFoundError("image file '{}' does not exist", spec);
  }
  std::sort(files.begin(), files.end());
  return files;
}
}  // namespace

class ImageFileSourceCalculator : public CalculatorBase {
 public:
  using Options = ImageFileSourceCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Output<ImageFrame>("IMAGE").Doc("decoded images; header: VideoHeader")
        .QueueLimit(kFrameQueueLimit);
    cc->AddInputSidePacket("INPUT_PATH", TypeId::Any()).Optional().Doc("image file, directory or glob (string)");
    cc->AddInputSidePacket("MAX_FRAMES", TypeId::Any()).Optional().Doc("stop after this many images");
    cc->SetDoc(
        "Reads one image file, every image of a directory (in name order) or the matches of a glob, and "
        "emits them as frames stamped at a configurable frame rate (image i at i × 1e6 / frame_rate µs). "
        "An unreadable image is an error naming the file.");
    cc->SetExampleConfig(R"(node {
  calculator: "ImageFileSourceCalculator"
  output_stream: "IMAGE:frames"
  options { [edgepipe.ImageFileSourceCalculatorOptions.ext] { path: "frames/*.png" frame_rate: 10 } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    const auto& options = cc->Options<Options>();
    EP_ASSIGN_OR_RETURN(std::optional<std::string> side_path, StringSidePacket(*cc, "INPUT_PATH"));
    const std::string spec = side_path.value_or(options.path());
    if (spec.empty()) {
      return InvalidArgumentError(
          "ImageFileSourceCalculator has no images to read: set options.path or the INPUT_PATH side packet");
    }
    EP_ASSIGN_OR_RETURN(files_, ListImages(spec));
    EP_ASSIGN_OR_RETURN(const int64_t max_frames, MaxFramesSidePacket(*cc, options.max_frames()));
    if (max_frames > 0 && static_cast<int64_t>(files_.size()) > max_frames) files_.resize(max_frames);
    EP_ASSIGN_OR_RETURN(rate_, RationalFrameRate(options.frame_rate()));
    EP_ASSIGN_OR_RETURN(output_format_, ParseImageFormat(options.output_format()));

    // The header needs the size: decode the first image now (kept for Process).
    EP_ASSIGN_OR_RETURN(first_image_, Load(files_[0]));
    VideoHeader header;
    header.width = first_image_.width();
    header.height = first_image_.height();
    header.rate = rate_;
    header.frame_count = static_cast<int64_t>(files_.size());
    header.format = output_format_;
    header.source = spec;
    return cc->Outputs().Tag("IMAGE").SetHeader(MakePacket<VideoHeader>(header).At(Timestamp::PreStream()));
  }

  Status Process(CalculatorContext* cc) override {
    if (next_index_ >= files_.size()) return StopProcessing();
    ImageFrame image;
    if (next_index_ == 0) {
      image = std::move(first_image_);
    } else {
      EP_ASSIGN_OR_RETURN(image, Load(files_[next_index_]));
    }
    const Timestamp timestamp(FrameTimestampUs(static_cast<int64_t>(next_index_), rate_));
    ++next_index_;
    return cc->Outputs().Tag("IMAGE").Add(std::move(image), timestamp);
  }

 private:
  Result<ImageFrame> Load(const std::string& file) const {
    cv::Mat decoded = cv::imread(file, output_format_ == ImageFormat::kGray8 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
    if (decoded.empty()) return InvalidArgumentError("cannot decode image file '{}' (not an image, or a format OpenCV lacks)", file);
    if (output_format_ == ImageFormat::kGray8) return ImageFrame::FromMat(ImageFormat::kGray8, std::move(decoded));
    EP_ASSIGN_OR_RETURN(ImageFrame image, ImageFrame::FromMat(ImageFormat::kBGR, std::move(decoded)));
    return image.ConvertedTo(output_format_);
  }

  std::vector<std::string> files_;
  size_t next_index_ = 0;
  FrameRate rate_;
  ImageFormat output_format_ = ImageFormat::kBGR;
  ImageFrame first_image_;
};

EDGEPIPE_REGISTER_CALCULATOR(ImageFileSourceCalculator);

}  // namespace edgepipe
