// SsdAnchorsCalculator: generates the anchor grid of an SSD-style detector
// once, as an output side packet for TensorsToDetectionsCalculator.
//
// Output side packet  ANCHORS (std::vector<Anchor>, calculators/vision/ssd_detection.h)
// Options             SsdAnchorsCalculatorOptions: input size, min/max scale,
//                     num_layers, strides, aspect_ratios,
//                     interpolated_scale_aspect_ratio, fixed_anchor_size, offsets.
//
// Layer i has scale s_i = min_scale + (max_scale − min_scale)·i/(num_layers − 1).
// Consecutive layers with the same stride share one grid of
// ceil(input/stride) cells; each cell gets, for every layer of the group, one
// anchor per aspect ratio a (w = s·√a, h = s/√a) and, when
// interpolated_scale_aspect_ratio > 0, one more with scale √(s_i·s_{i+1})
// (s_{i+1} = 1 after the last layer). Centres are ((x + offset_x)/W,
// (y + offset_y)/H), in the order y, x, anchor. BlazeFace short range:
// 4 layers, strides 8,16,16,16 → 16²·2 + 8²·6 = 896 anchors.
//
// The decoder can also compute the anchors itself (its `anchors` option); this
// calculator is for graphs that share one grid between several decoders.
//
//   node {
//     calculator: "SsdAnchorsCalculator"
//     output_side_packet: "ANCHORS:anchors"
//     options { [edgepipe.SsdAnchorsCalculatorOptions.ext] {
//       input_size_width: 128 input_size_height: 128 num_layers: 4
//       strides: [8, 16, 16, 16] aspect_ratios: 1 fixed_anchor_size: true } }
//   }
#include <cmath>
#include <vector>

#include "calculators/vision/ssd_anchors_calculator.pb.h"
#include "calculators/vision/ssd_detection.h"
#include "core/calculator.h"

namespace edgepipe {

namespace {
// Scale of layer `index` out of `count`, interpolated between min and max.
float LayerScale(float min_scale, float max_scale, int index, int count) {
  if (count == 1) return (min_scale + max_scale) * 0.5f;  // MediaPipe: a single layer takes the midpoint
  return min_scale + (max_scale - min_scale) * static_cast<float>(index) / static_cast<float>(count - 1);
}
}  // namespace

Result<std::vector<Anchor>> GenerateSsdAnchors(const SsdAnchorsCalculatorOptions& options) {
  const int num_layers = options.num_layers();
  if (num_layers <= 0) return InvalidArgumentError("SSD anchors need num_layers > 0, got {}", num_layers);
  if (options.strides_size() != num_layers) {
    return InvalidArgumentError("SSD anchors: {} strides given for num_layers {}", options.strides_size(), num_layers);
  }
  if (options.input_size_width() <= 0 || options.input_size_height() <= 0) {
    return InvalidArgumentError("SSD anchors need a positive input size, got {}x{}", options.input_size_width(),
                                options.input_size_height());
  }
  for (int stride : options.strides()) {
    if (stride <= 0) return InvalidArgumentError("SSD anchors: strides must be positive, got {}", stride);
  }
  if (options.aspect_ratios_size() == 0 && !(options.interpolated_scale_aspect_ratio() > 0)) {
    return InvalidArgumentError("SSD anchors: no aspect_ratios and no interpolated anchor: every cell would be empty");
  }
  for (float aspect : options.aspect_ratios()) {
    if (!(aspect > 0)) return InvalidArgumentError("SSD anchors: aspect ratios must be positive, got {}", aspect);
  }

  std::vector<Anchor> anchors;
  int layer = 0;
  while (layer < num_layers) {
    // The anchor shapes of every layer sharing this stride, in order.
    std::vector<float> widths, heights;
    int group_end = layer;
    for (; group_end < num_layers && options.strides(group_end) == options.strides(layer); ++group_end) {
      const float scale = LayerScale(options.min_scale(), options.max_scale(), group_end, num_layers);
      for (float aspect : options.aspect_ratios()) {
        widths.push_back(scale * std::sqrt(aspect));
        heights.push_back(scale / std::sqrt(aspect));
      }
      if (options.interpolated_scale_aspect_ratio() > 0) {
        const float next_scale = group_end == num_layers - 1
                                     ? 1.0f
                                     : LayerScale(options.min_scale(), options.max_scale(), group_end + 1, num_layers);
        const float scale_interpolated = std::sqrt(scale * next_scale);
        const float aspect = options.interpolated_scale_aspect_ratio();
        widths.push_back(scale_interpolated * std::sqrt(aspect));
        heights.push_back(scale_interpolated / std::sqrt(aspect));
      }
    }

    const int stride = options.strides(layer);
    const int grid_width = (options.input_size_width() + stride - 1) / stride;  // ceil
    const int grid_height = (options.input_size_height() + stride - 1) / stride;
    for (int y = 0; y < grid_height; ++y) {
      for (int x = 0; x < grid_width; ++x) {
        for (size_t shape = 0; shape < widths.size(); ++shape) {
          Anchor anchor;
          anchor.x_center = (static_cast<float>(x) + options.anchor_offset_x()) / static_cast<float>(grid_width);
          anchor.y_center = (static_cast<float>(y) + options.anchor_offset_y()) / static_cast<float>(grid_height);
          anchor.width = options.fixed_anchor_size() ? 1.0f : widths[shape];
          anchor.height = options.fixed_anchor_size() ? 1.0f : heights[shape];
          anchors.push_back(anchor);
        }
      }
    }
    layer = group_end;
  }
  return anchors;
}

class SsdAnchorsCalculator : public CalculatorBase {
 public:
  using Options = SsdAnchorsCalculatorOptions;

  static Status GetContract(CalculatorContract* cc) {
    cc->UseOptions<Options>();
    cc->OutputSidePacket<std::vector<Anchor>>("ANCHORS").Doc("the anchors, in the model's box order");
    cc->SetDoc(
        "Generates the anchor grid of an SSD-style detector (MediaPipe's formula: per-layer scales, layers "
        "with equal strides share a grid, one anchor per aspect ratio plus an interpolated-scale anchor, "
        "optional fixed size) once, as the ANCHORS side packet for TensorsToDetectionsCalculator. "
        "BlazeFace short range: 4 layers, strides 8,16,16,16 → 896 anchors.");
    cc->SetExampleConfig(R"(node {
  calculator: "SsdAnchorsCalculator"
  output_side_packet: "ANCHORS:anchors"
  options { [edgepipe.SsdAnchorsCalculatorOptions.ext] {
    input_size_width: 128 input_size_height: 128 num_layers: 4
    strides: [8, 16, 16, 16] aspect_ratios: 1 fixed_anchor_size: true } }
})");
    return OkStatus();
  }

  Status Open(CalculatorContext* cc) override {
    auto anchors = GenerateSsdAnchors(cc->Options<Options>());
    if (!anchors.ok()) return anchors.status().WithContext("SsdAnchorsCalculator");
    return cc->OutputSidePackets().Set("ANCHORS", MakePacket<std::vector<Anchor>>(std::move(*anchors)));
  }

  // No streams: everything happens in Open.
  Status Process(CalculatorContext*) override { return StopProcessing(); }
};

EDGEPIPE_REGISTER_CALCULATOR(SsdAnchorsCalculator);

}  // namespace edgepipe
