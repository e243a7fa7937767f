// WindowSinkCalculator: shows frames in a desktop window (OpenCV highgui).
//
// Input   IMAGE (ImageFrame)
// Options WindowSinkCalculatorOptions: title, stop_on_key.
//
// Needs a display: without one (no DISPLAY / WAYLAND_DISPLAY, e.g. over SSH or
// in CI) Open fails with a message saying so, instead of OpenCV aborting.
//
//   node {
//     calculator: "WindowSinkCalculator"
//     input_stream: "IMAGE:annotated_frames"
//   }
#include <cstdlib>

#include <opencv2/highgui.hpp>
#include <opencv2/imgproc.hpp>

#include "calculators/io/window_sink_calculator.pb.h"
#include "calculators/types/image_frame.h"
#include "core/calculator.h"

namespace edgepipe {

class WindowSinkCalculator : public CalculatorBase {
 public:
  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<WindowSinkCalculatorOptions>();
    cc->Input<ImageFrame>("IMAGE").Doc("frames to show");
    cc->SetDoc(
        "Shows frames in a desktop window; q or Esc ends the stream. Without a display (DISPLAY and "
        "WAYLAND_DISPLAY unset) it fails at Open with a clear message; write a video or images instead.");
    cc->SetExampleConfig(R"(node {
  calculator: "WindowSinkCalculator"
  input_stream: "IMAGE:annotated_frames"
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    const auto& options = cc->Options<WindowSinkCalculatorOptions>();
    title_ = options.title();
    stop_on_key_ = options.stop_on_key();
    const char* display = std::getenv("DISPLAY");
    const char* wayland = std::getenv("WAYLAND_DISPLAY");
    if ((display == nullptr || *display == '\0') && (wayland == nullptr || *wayland == '\0')) {
      return FailedPreconditionError(
          "WindowSinkCalculator needs a display, but DISPLAY and WAYLAND_DISPLAY are unset (headless machine or SSH "
          "without X forwarding); write the frames with VideoWriterCalculator or ImageWriterCalculator instead");
    }
    try {
      cv::namedWindow(title_, cv::WINDOW_AUTOSIZE);
    } catch (const cv::Exception& e) {
      return FailedPreconditionError("WindowSinkCalculator cannot open a window on display '{}': {}",
                                     display ? display : wayland, e.what());
    }
    return OkStatus();
  }

  Status Process(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    cv::Mat shown = image->mat();
    if (image->format() == ImageFormat::kRGB) cv::cvtColor(image->mat(), shown, cv::COLOR_RGB2BGR);
    if (image->format() == ImageFormat::kRGBA) cv::cvtColor(image->mat(), shown, cv::COLOR_RGBA2BGR);
    cv::imshow(title_, shown);
    const int key = cv::waitKey(1);
    if (stop_on_key_ && (key == 'q' || key == 27)) return StopProcessing();
    return OkStatus();
  }

  Status Close(CalculatorContext*) override {
    try {
      cv::destroyWindow(title_);
    } catch (const cv::Exception&) {
      // Already gone (closed by the user).
    }
    return OkStatus();
  }

 private:
  std::string title_;
  bool stop_on_key_ = true;
};

EDGEPIPE_REGISTER_CALCULATOR(WindowSinkCalculator);

}  // namespace edgepipe
