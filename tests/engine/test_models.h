// Builds tiny TFLite models in memory with the generated FlatBuffers API, so
// tests can state exactly what a model contains (and break it on purpose).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "engine/schema/tflite_subset_generated.h"

namespace edgepipe::engine::testing {

namespace fb = tflite_fb;

struct TinyModelSpec {
  int32_t op_code = 0;           // builtin code (ADD)
  int32_t op_version = 1;
  std::vector<int32_t> op_inputs = {0, 1};
  std::vector<int32_t> op_outputs = {2};
  uint32_t constant_buffer = 1;  // buffer of tensor 1 (a constant [4] float32 = 2.0)
  fb::ActivationFunctionType activation = fb::ActivationFunctionType::NONE;
  bool add_relu = false;         // appends RELU: tensor 2 -> tensor 3 (the output)
  std::string identifier = "TFL3";
};

// Model: input [4] f32 (tensor 0) + constant 2.0 (tensor 1) -> ADD -> tensor 2
// (optionally -> RELU -> tensor 3).
inline std::vector<uint8_t> BuildTinyModel(const TinyModelSpec& spec = {}) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<float> twos(4, 2.0f);
  auto empty_buffer = fb::CreateBuffer(b);
  auto data = b.CreateVector(reinterpret_cast<const uint8_t*>(twos.data()), twos.size() * sizeof(float));
  auto const_buffer = fb::CreateBuffer(b, data);
  std::vector<flatbuffers::Offset<fb::Buffer>> buffers = {empty_buffer, const_buffer};
  auto shape = [&] { return b.CreateVector(std::vector<int32_t>{4}); };
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors = {
      fb::CreateTensor(b, shape(), fb::TensorType::FLOAT32, 0, b.CreateString("input")),
      fb::CreateTensor(b, shape(), fb::TensorType::FLOAT32, spec.constant_buffer, b.CreateString("twos")),
      fb::CreateTensor(b, shape(), fb::TensorType::FLOAT32, 0, b.CreateString("sum")),
  };
  if (spec.add_relu) tensors.push_back(fb::CreateTensor(b, shape(), fb::TensorType::FLOAT32, 0, b.CreateString("relu")));
  std::vector<flatbuffers::Offset<fb::OperatorCode>> codes = {
      fb::CreateOperatorCode(b, static_cast<int8_t>(std::min(spec.op_code, 127)), 0, spec.op_version,
                             static_cast<fb::BuiltinOperator>(spec.op_code))};
  auto add_options = fb::CreateAddOptions(b, spec.activation);
  std::vector<flatbuffers::Offset<fb::Operator>> ops = {
      fb::CreateOperator(b, 0, b.CreateVector(spec.op_inputs), b.CreateVector(spec.op_outputs),
                         fb::BuiltinOptions::AddOptions, add_options.Union())};
  if (spec.add_relu) {
    codes.push_back(fb::CreateOperatorCode(b, 19, 0, 1, fb::BuiltinOperator::RELU));
    ops.push_back(fb::CreateOperator(b, 1, b.CreateVector(std::vector<int32_t>{2}),
                                     b.CreateVector(std::vector<int32_t>{3})));
  }
  auto subgraph = fb::CreateSubGraph(b, b.CreateVector(tensors), b.CreateVector(std::vector<int32_t>{0}),
                                     b.CreateVector(std::vector<int32_t>{spec.add_relu ? 3 : 2}), b.CreateVector(ops));
  auto model = fb::CreateModel(b, 3, b.CreateVector(codes), b.CreateVector(std::vector{subgraph}),
                               b.CreateString("tiny"), b.CreateVector(buffers));
  b.Finish(model, spec.identifier.c_str());
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

}  // namespace edgepipe::engine::testing
