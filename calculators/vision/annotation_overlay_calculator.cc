// AnnotationOverlayCalculator: draws detections (boxes, keypoints, labels and
// scores, track IDs and trails) on a copy of the frame, for viewing or writing
// a video.
//
// Input   IMAGE (ImageFrame): the frame the detections are normalised to.
//         DETECTIONS (std::vector<Detection>, optional): a frame without a
//         detections packet at its timestamp is passed through unannotated.
//         LANDMARKS (LandmarkList, optional): points and skeleton (landmark_drawing.h).
//         CLASSIFICATIONS (std::vector<Classification>, optional) and MASK
//         (SegmentationMask, optional, the frame's size): drawn by
//         vision_result_drawing.h (mask under everything, classes on top).
// Output  IMAGE (ImageFrame): same size and format, annotated.
// Side    ENABLE (optional; string, bool or integer): connected but unset
//         (an empty string, false or 0), drawing is off and every frame passes
//         through untouched. Ready graphs connect it to the side packet of the
//         writer the annotated frames go to (output_path), so a run without a
//         video output spends nothing on drawing (docs/graphs.md).
// Options AnnotationOverlayCalculatorOptions: box_color, keypoint_color (RGB),
//         thickness, keypoint_radius, draw_scores, trail_length, mask_alpha,
//         mask_color.
//
// A detection with a label is captioned "label 0.87"; a tracked one
// (track_id ≥ 0) "#7 label 0.87", drawn in its track's colour
// (TrackColor), with a trail through its last trail_length centres.
//
// Colours are given as RGB and converted to the frame's channel order (BGR
// frames straight from a decoder get the same colours as RGB ones). The input
// frame is never written to: packets are shared and immutable.
//
//   node {
//     calculator: "AnnotationOverlayCalculator"
//     input_stream: "IMAGE:frames"
//     input_stream: "DETECTIONS:detections"
//     output_stream: "IMAGE:annotated"
//   }
#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "calculators/types/classification.h"
#include "calculators/types/detection.h"
#include "calculators/types/header_forwarding.h"
#include "calculators/types/image_frame.h"
#include "calculators/types/segmentation_mask.h"
#include "calculators/types/side_packet_values.h"
#include "calculators/vision/annotation_overlay_calculator.pb.h"
#include "calculators/vision/landmark_drawing.h"
#include "calculators/vision/vision_result_drawing.h"
#include "core/calculator.h"

namespace edgepipe {

namespace {
using Color = AnnotationOverlayCalculatorOptions::Color;

Color MakeColor(int r, int g, int b) {
  Color color;
  color.set_r(r);
  color.set_g(g);
  color.set_b(b);
  return color;
}

// An option colour (clamped to 0-255) in `format`'s channel order.
cv::Scalar ToScalar(const Color& color, ImageFormat format) {
  return RgbInFormat(cv::Vec3b(cv::saturate_cast<uint8_t>(color.r()), cv::saturate_cast<uint8_t>(color.g()),
                               cv::saturate_cast<uint8_t>(color.b())),
                     format);
}

cv::Point ToPixel(float x, float y, int width, int height) {
  return {static_cast<int>(std::lround(x * width)), static_cast<int>(std::lround(y * height))};
}
}  // namespace

class AnnotationOverlayCalculator : public CalculatorBase {
 public:
  using Options = AnnotationOverlayCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->Input<ImageFrame>("IMAGE").Doc("frame to annotate");
    cc->Input<std::vector<Detection>>("DETECTIONS").Optional().Doc("detections normalised to that frame");
    cc->Input<LandmarkList>("LANDMARKS").Optional().Doc("landmarks normalised to that frame");
    cc->Input<std::vector<Classification>>("CLASSIFICATIONS").Optional().Doc("top classes, written at the top left");
    cc->Input<SegmentationMask>("MASK").Optional().Doc("segmentation mask at the frame's size, blended in");
    cc->Output<ImageFrame>("IMAGE").Doc("annotated copy of the frame")
        .QueueLimit(kFrameQueueLimit);
    cc->AddInputSidePacket("ENABLE", TypeId::Any()).Optional().Doc(
        "connected but unset (\"\", false, 0): no drawing, frames pass through (ready graphs: output_path)");
    cc->SetTimestampOffset(0);
    cc->SetDoc(
        "Draws detections on a copy of each frame with OpenCV: box outlines, keypoint dots and the score "
        "above each box; segmentation masks blended in with a stable colour per label (and a legend); the top "
        "classes of a classifier with their scores. Colours are RGB and adapted to the frame's format; frames "
        "without annotations at their timestamp pass through unannotated.");
    cc->SetExampleConfig(R"(node {
  calculator: "AnnotationOverlayCalculator"
  input_stream: "IMAGE:frames"
  input_stream: "DETECTIONS:detections"
  output_stream: "IMAGE:annotated"
  options { [edgepipe.AnnotationOverlayCalculatorOptions.ext] { thickness: 2 box_color { g: 255 } } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    options_ = cc->Options<Options>();
    if (!options_.has_box_color()) *options_.mutable_box_color() = MakeColor(0, 255, 0);
    if (!options_.has_keypoint_color()) *options_.mutable_keypoint_color() = MakeColor(255, 0, 0);
    if (!options_.has_mask_color()) *options_.mutable_mask_color() = MakeColor(255, 0, 255);
    if (!(options_.mask_alpha() >= 0 && options_.mask_alpha() <= 1)) {
      return InvalidArgumentError("AnnotationOverlayCalculator: mask_alpha must be in [0, 1], got {}", options_.mask_alpha());
    }
    if (options_.thickness() <= 0) {
      return InvalidArgumentError("AnnotationOverlayCalculator: thickness must be positive, got {}", options_.thickness());
    }
    if (options_.keypoint_radius() < 0) {
      return InvalidArgumentError("AnnotationOverlayCalculator: keypoint_radius must be ≥ 0, got {}",
                                  options_.keypoint_radius());
    }
    EP_ASSIGN_OR_RETURN(enabled_, Enabled(*cc));
    return ForwardHeader(cc, "IMAGE", 0, "IMAGE", 0);
  }

  Status Process(CalculatorContext* cc) override {
    EP_ASSIGN_OR_RETURN(const ImageFrame* image, cc->Inputs().Tag("IMAGE").Get<ImageFrame>());
    auto present = [cc](const char* tag) { return cc->Inputs().HasTag(tag) && !cc->Inputs().Tag(tag).IsEmpty(); };
    const bool has_detections = present("DETECTIONS");
    const bool has_landmarks = present("LANDMARKS");
    if (!enabled_ || (!has_detections && !has_landmarks && !present("CLASSIFICATIONS") && !present("MASK"))) {
      return cc->Outputs().Tag("IMAGE").Add(*image, cc->InputTimestamp());  // shares the pixels
    }
    static const std::vector<Detection> kNoDetections;
    const std::vector<Detection>* detections = &kNoDetections;
    if (has_detections) {
      EP_ASSIGN_OR_RETURN(detections, cc->Inputs().Tag("DETECTIONS").Get<std::vector<Detection>>());
    }

    cv::Mat canvas = image->mat().clone();
    const cv::Scalar box_color = ToScalar(options_.box_color(), image->format());
    const cv::Scalar keypoint_color = ToScalar(options_.keypoint_color(), image->format());
    const int width = image->width(), height = image->height();
    // Text size follows the frame so that labels stay legible on small and large videos.
    const double font_scale = std::max(0.4, std::min(width, height) / 800.0);
    if (present("MASK")) {  // under everything else
      EP_ASSIGN_OR_RETURN(const SegmentationMask* mask, cc->Inputs().Tag("MASK").Get<SegmentationMask>());
      const Color& rgb = options_.mask_color();
      const cv::Vec3b mask_rgb(cv::saturate_cast<uint8_t>(rgb.r()), cv::saturate_cast<uint8_t>(rgb.g()),
                               cv::saturate_cast<uint8_t>(rgb.b()));
      Status drawn = DrawSegmentationMask(canvas, image->format(), *mask, options_.mask_alpha(), mask_rgb, font_scale);
      if (!drawn.ok()) return drawn.WithContext("AnnotationOverlayCalculator MASK");
    }
    if (has_landmarks) {
      EP_ASSIGN_OR_RETURN(const LandmarkList* landmarks, cc->Inputs().Tag("LANDMARKS").Get<LandmarkList>());
      const LandmarkStyle style{
          ToScalar(options_.has_landmark_color() ? options_.landmark_color() : MakeColor(255, 0, 0), image->format()),
          ToScalar(options_.has_connection_color() ? options_.connection_color() : MakeColor(255, 255, 255), image->format()),
          options_.keypoint_radius(), options_.thickness(), options_.min_landmark_score()};
      DrawLandmarks(canvas, *landmarks, style);
    }
    UpdateTrails(*detections, width, height);
    for (const auto& [track_id, trail] : trails_) {
      const cv::Scalar color = RgbInFormat(TrackColor(track_id), image->format());
      for (size_t i = 1; i < trail.size(); ++i) cv::line(canvas, trail[i - 1], trail[i], color, options_.thickness(), cv::LINE_AA);
    }
    for (const Detection& detection : *detections) {
      const cv::Point top_left = ToPixel(detection.xmin, detection.ymin, width, height);
      const cv::Point bottom_right = ToPixel(detection.xmax(), detection.ymax(), width, height);
      const cv::Scalar color =
          detection.track_id >= 0 ? RgbInFormat(TrackColor(detection.track_id), image->format()) : box_color;
      cv::rectangle(canvas, top_left, bottom_right, color, options_.thickness(), cv::LINE_AA);
      if (options_.keypoint_radius() > 0) {
        for (const NormalizedKeypoint& keypoint : detection.keypoints) {
          cv::circle(canvas, ToPixel(keypoint.x, keypoint.y, width, height), options_.keypoint_radius(),
                     keypoint_color, cv::FILLED, cv::LINE_AA);
        }
      }
      std::string caption = detection.track_id >= 0 ? fmt::format("#{} ", detection.track_id) : std::string();
      if (!detection.label.empty()) caption += detection.label + " ";
      if (options_.draw_scores()) caption += fmt::format("{:.2f}", detection.score);
      if (!caption.empty() && caption.back() == ' ') caption.pop_back();
      if (!caption.empty()) {
        // Above the box, or just inside it when the box touches the top edge.
        const cv::Point origin(top_left.x, top_left.y > 20 ? top_left.y - 6 : top_left.y + 18);
        cv::putText(canvas, caption, origin, cv::FONT_HERSHEY_SIMPLEX, font_scale, color, 1, cv::LINE_AA);
      }
    }
    if (present("CLASSIFICATIONS")) {
      EP_ASSIGN_OR_RETURN(const std::vector<Classification>* classifications,
                          cc->Inputs().Tag("CLASSIFICATIONS").Get<std::vector<Classification>>());
      DrawClassifications(canvas, image->format(), *classifications, font_scale);
    }
    EP_ASSIGN_OR_RETURN(ImageFrame annotated, ImageFrame::FromMat(image->format(), std::move(canvas)));
    return cc->Outputs().Tag("IMAGE").Add(std::move(annotated), cc->InputTimestamp());
  }

 private:
  // The ENABLE side packet: unconnected = on; connected = on only when set.
  static Result<bool> Enabled(const CalculatorContext& cc) {
    if (!SidePacketConnected(cc, "ENABLE")) return true;
    const Packet& packet = cc.InputSidePackets().Tag("ENABLE");
    if (packet.IsEmpty()) return false;
    if (const bool* flag = packet.TryGet<bool>()) return *flag;
    EP_ASSIGN_OR_RETURN(std::optional<std::string> text, StringSidePacket(cc, "ENABLE"));
    return text.has_value() && *text != "0" && *text != "false";
  }

  // Appends each tracked detection's centre to its trail; trails of tracks absent from this frame end.
  void UpdateTrails(const std::vector<Detection>& detections, int width, int height) {
    std::map<int, std::deque<cv::Point>> updated;
    if (options_.trail_length() > 0) {
      for (const Detection& detection : detections) {
        if (detection.track_id < 0) continue;
        std::deque<cv::Point>& trail = updated[detection.track_id];
        if (auto it = trails_.find(detection.track_id); it != trails_.end()) trail = std::move(it->second);
        trail.push_back(ToPixel(detection.xmin + detection.width / 2, detection.ymin + detection.height / 2, width, height));
        while (trail.size() > static_cast<size_t>(options_.trail_length())) trail.pop_front();
      }
    }
    trails_ = std::move(updated);
  }

  Options options_;
  bool enabled_ = true;
  std::map<int, std::deque<cv::Point>> trails_;  // per track ID: past centres, oldest first
};

EDGEPIPE_REGISTER_CALCULATOR(AnnotationOverlayCalculator);

}  // namespace edgepipe
