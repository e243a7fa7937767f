#include "tools/image_input.h"

#include <cstring>

#include <opencv2/imgproc.hpp>

namespace edgepipe::tools {

using engine::DType;
using engine::TensorView;

bool IsImageInput(const TensorView& t) { return t.rank() == 4 && (t.shape[3] == 3 || t.shape[3] == 1); }

Status FillImageInput(const cv::Mat& bgr, float mean, float std, TensorView& t) {
  cv::Mat resized, rgb;
  cv::resize(bgr, resized, cv::Size(t.shape[2], t.shape[1]), 0, 0, cv::INTER_LINEAR);
  const int channels = t.shape[3];
  cv::cvtColor(resized, rgb, channels == 1 ? cv::COLOR_BGR2GRAY : cv::COLOR_BGR2RGB);
  if (!rgb.isContinuous()) rgb = rgb.clone();
  const size_t n = static_cast<size_t>(t.shape[1]) * t.shape[2] * channels;
  const uint8_t* px = rgb.ptr<uint8_t>();
  switch (t.dtype) {
    case DType::kUInt8: std::memcpy(t.data, px, n); break;
    case DType::kInt8:
      for (size_t i = 0; i < n; ++i) t.as<int8_t>()[i] = static_cast<int8_t>(static_cast<int>(px[i]) - 128);
      break;
    case DType::kFloat32:
      for (size_t i = 0; i < n; ++i) t.as<float>()[i] = (static_cast<float>(px[i]) - mean) / std;
      break;
    default:
      return UnimplementedError("image input '{}' is {}; only uint8, int8 and float32 are supported", t.name,
                                engine::DTypeName(t.dtype));
  }
  return OkStatus();
}

}  // namespace edgepipe::tools
