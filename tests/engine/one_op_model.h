// Builds a one-operator TFLite model in memory from a list of tensors, with the
// generated FlatBuffers API, so tests can give any op any (broken) parameters.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "engine/schema/tflite_subset_generated.h"

namespace edgepipe::engine::testing {

namespace fb = tflite_fb;

struct TensorSpec {
  std::string name;
  std::vector<int32_t> shape;
  fb::TensorType type = fb::TensorType::FLOAT32;
  std::vector<uint8_t> data;  // empty: not a constant
  std::vector<float> scale;   // empty: not quantized
  std::vector<int64_t> zero_point;
};

// An activation (no data), optionally quantized.
inline TensorSpec Activation(std::string name, std::vector<int32_t> shape,
                             fb::TensorType type = fb::TensorType::FLOAT32, std::vector<float> scale = {},
                             std::vector<int64_t> zero_point = {}) {
  TensorSpec t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.type = type;
  t.scale = std::move(scale);
  t.zero_point = std::move(zero_point);
  return t;
}

inline TensorSpec Constant(std::string name, std::vector<int32_t> shape, fb::TensorType type,
                           std::vector<uint8_t> data, std::vector<float> scale = {},
                           std::vector<int64_t> zero_point = {}) {
  TensorSpec t = Activation(std::move(name), std::move(shape), type, std::move(scale), std::move(zero_point));
  t.data = std::move(data);
  return t;
}

template <typename T>
std::vector<uint8_t> Bytes(const std::vector<T>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  if (!bytes.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

struct OneOpSpec {
  fb::BuiltinOperator code = fb::BuiltinOperator::ADD;
  std::vector<TensorSpec> tensors;
  std::vector<int32_t> op_inputs;
  std::vector<int32_t> op_outputs;
  std::vector<int32_t> graph_inputs;
  std::vector<int32_t> graph_outputs;
  fb::BuiltinOptions options_type = fb::BuiltinOptions::NONE;
  std::function<flatbuffers::Offset<void>(flatbuffers::FlatBufferBuilder&)> options;
};

inline std::vector<uint8_t> BuildOneOpModel(const OneOpSpec& spec) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::Buffer>> buffers = {fb::CreateBuffer(b)};
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  for (const TensorSpec& t : spec.tensors) {
    uint32_t buffer = 0;
    if (!t.data.empty()) {
      buffer = static_cast<uint32_t>(buffers.size());
      buffers.push_back(fb::CreateBuffer(b, b.CreateVector(t.data)));
    }
    flatbuffers::Offset<fb::QuantizationParameters> quant = 0;
    if (!t.scale.empty())
      quant = fb::CreateQuantizationParameters(b, 0, 0, b.CreateVector(t.scale), b.CreateVector(t.zero_point));
    tensors.push_back(fb::CreateTensor(b, b.CreateVector(t.shape), t.type, buffer, b.CreateString(t.name), quant));
  }
  const int32_t code = static_cast<int32_t>(spec.code);
  std::vector<flatbuffers::Offset<fb::OperatorCode>> codes = {
      fb::CreateOperatorCode(b, static_cast<int8_t>(std::min(code, 127)), 0, 1, spec.code)};
  const flatbuffers::Offset<void> options = spec.options ? spec.options(b) : 0;
  std::vector<flatbuffers::Offset<fb::Operator>> ops = {fb::CreateOperator(
      b, 0, b.CreateVector(spec.op_inputs), b.CreateVector(spec.op_outputs), spec.options_type, options)};
  auto subgraph = fb::CreateSubGraph(b, b.CreateVector(tensors), b.CreateVector(spec.graph_inputs),
                                     b.CreateVector(spec.graph_outputs), b.CreateVector(ops));
  auto model = fb::CreateModel(b, 3, b.CreateVector(codes), b.CreateVector(std::vector{subgraph}),
                               b.CreateString("one op"), b.CreateVector(buffers));
  b.Finish(model, "TFL3");
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

}  // namespace edgepipe::engine::testing
