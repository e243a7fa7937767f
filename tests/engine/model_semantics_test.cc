// Models that pass the FlatBuffer verifier but make no sense (negative or huge
// strides, output shapes the op cannot produce, RESHAPE to [-5,-5], zero or NaN
// quantization scales, tensors of more bytes than 64 bits count) are refused at
// load with an error naming the op and tensor, instead of running to garbage or
// failing inside a backend. Also: one Interpreter refuses a second concurrent
// Invoke(), and an absurd thread count is an error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "engine/interpreter.h"
#include "engine/model.h"
#include "tests/engine/one_op_model.h"

namespace edgepipe::engine {
namespace {

using ::testing::HasSubstr;
using testing::Activation;
using testing::Bytes;
using testing::Constant;
using testing::OneOpSpec;
using testing::TensorSpec;
namespace fb = tflite_fb;

std::vector<uint8_t> Floats(const std::vector<int32_t>& shape, float value) {
  size_t n = 1;
  for (int32_t d : shape) n *= static_cast<size_t>(d);
  return Bytes(std::vector<float>(n, value));
}

struct WindowParams {
  fb::BuiltinOperator code = fb::BuiltinOperator::CONV_2D;
  std::vector<int32_t> input = {1, 8, 8, 3};
  std::vector<int32_t> filter = {4, 3, 3, 3};  // conv OHWI, depthwise 1HWO; pools: [H, W] in the options
  std::vector<int32_t> output = {1, 4, 4, 4};
  int32_t stride_h = 2, stride_w = 2, dilation_h = 1, dilation_w = 1;
  fb::Padding padding = fb::Padding::SAME;
};

// input (0) [, filter (1), bias (2)] -> output (last).
OneOpSpec WindowModel(const WindowParams& p) {
  OneOpSpec spec;
  spec.code = p.code;
  spec.tensors.push_back(Activation("input", p.input));
  const bool pool = p.code == fb::BuiltinOperator::MAX_POOL_2D || p.code == fb::BuiltinOperator::AVERAGE_POOL_2D;
  if (!pool) {
    spec.tensors.push_back(Constant("filter", p.filter, fb::TensorType::FLOAT32, Floats(p.filter, 0.25f)));
    const int32_t out_channels = p.code == fb::BuiltinOperator::CONV_2D ? p.filter[0] : p.filter[3];
    spec.tensors.push_back(Constant("bias", {out_channels}, fb::TensorType::FLOAT32, Floats({out_channels}, 1.0f)));
    spec.op_inputs = {0, 1, 2};
  } else {
    spec.op_inputs = {0};
  }
  spec.tensors.push_back(Activation("output", p.output));
  const int32_t out = static_cast<int32_t>(spec.tensors.size()) - 1;
  spec.op_outputs = {out};
  spec.graph_inputs = {0};
  spec.graph_outputs = {out};
  switch (p.code) {
    case fb::BuiltinOperator::CONV_2D:
      spec.options_type = fb::BuiltinOptions::Conv2DOptions;
      spec.options = [p](flatbuffers::FlatBufferBuilder& b) {
        return fb::CreateConv2DOptions(b, p.padding, p.stride_w, p.stride_h, fb::ActivationFunctionType::NONE,
                                       p.dilation_w, p.dilation_h)
            .Union();
      };
      break;
    case fb::BuiltinOperator::DEPTHWISE_CONV_2D:
      spec.options_type = fb::BuiltinOptions::DepthwiseConv2DOptions;
      spec.options = [p](flatbuffers::FlatBufferBuilder& b) {
        return fb::CreateDepthwiseConv2DOptions(b, p.padding, p.stride_w, p.stride_h, p.filter[3] / p.input[3],
                                                fb::ActivationFunctionType::NONE, p.dilation_w, p.dilation_h)
            .Union();
      };
      break;
    default:
      spec.options_type = fb::BuiltinOptions::Pool2DOptions;
      spec.options = [p](flatbuffers::FlatBufferBuilder& b) {
        return fb::CreatePool2DOptions(b, p.padding, p.stride_w, p.stride_h, p.filter[1], p.filter[0]).Union();
      };
      break;
  }
  return spec;
}

// input [25] -> RESHAPE by a constant int32 shape operand -> output.
OneOpSpec ReshapeModel(const std::vector<int32_t>& new_shape, const std::vector<int32_t>& declared_output) {
  OneOpSpec spec;
  spec.code = fb::BuiltinOperator::RESHAPE;
  spec.tensors = {Activation("input", {25}),
                  Constant("shape", {static_cast<int32_t>(new_shape.size())}, fb::TensorType::INT32, Bytes(new_shape)),
                  Activation("output", declared_output)};
  spec.op_inputs = {0, 1};
  spec.op_outputs = {2};
  spec.graph_inputs = {0};
  spec.graph_outputs = {2};
  return spec;
}

// input [4] + constant [4] -> ADD -> output [4], all of `type` with the given
// quantization on the input.
OneOpSpec AddModel(fb::TensorType type, std::vector<float> scale, std::vector<int64_t> zero_point,
                   std::vector<int32_t> input_shape = {4}) {
  OneOpSpec spec;
  spec.code = fb::BuiltinOperator::ADD;
  const bool quantized = !scale.empty();
  const std::vector<float> other_scale = quantized ? std::vector<float>{0.5f} : std::vector<float>{};
  const std::vector<int64_t> other_zero_point = quantized ? std::vector<int64_t>{0} : std::vector<int64_t>{};
  spec.tensors = {Activation("input", input_shape, type, scale, zero_point),
                  Constant("twos", {4}, type, quantized ? std::vector<uint8_t>(4, 2) : Floats({4}, 2.0f), other_scale,
                           other_zero_point),
                  Activation("sum", {4}, type, other_scale, other_zero_point)};
  spec.op_inputs = {0, 1};
  spec.op_outputs = {2};
  spec.graph_inputs = {0};
  spec.graph_outputs = {2};
  return spec;
}

// Loads and plans the model; the interpreter when both succeed.
Result<std::unique_ptr<Interpreter>> Create(const OneOpSpec& spec, const InterpreterOptions& options = {}) {
  auto model = Model::FromBuffer(testing::BuildOneOpModel(spec));
  if (!model.ok()) return model.status();
  return Interpreter::Create(*model, options);
}

Status CreateStatus(const OneOpSpec& spec) {
  auto interpreter = Create(spec);
  return interpreter.ok() ? OkStatus() : interpreter.status();
}

// The control for each broken variant: the same model with sane parameters
// loads, runs, and computes what the op means.
void ExpectRunsWithOutputShape(const OneOpSpec& spec, const std::vector<int32_t>& shape) {
  auto interpreter = Create(spec);
  ASSERT_TRUE(interpreter.ok()) << interpreter.status();
  Interpreter& it = **interpreter;
  TensorView& in = it.input(0);
  for (size_t i = 0; i < in.num_elements(); ++i) in.as<float>()[i] = 1.0f;
  const Status invoked = it.Invoke();
  ASSERT_TRUE(invoked.ok()) << invoked;
  EXPECT_EQ(it.output(0).shape, shape);
}

TEST(ModelSemanticsTest, SaneConvDepthwiseAndPoolRun) {
  WindowParams conv;
  ExpectRunsWithOutputShape(WindowModel(conv), {1, 4, 4, 4});
  // A 3x3 conv of ones with weights 0.25 and bias 1 at an interior output: 27 * 0.25 + 1.
  auto interpreter = Create(WindowModel(conv));
  ASSERT_TRUE(interpreter.ok()) << interpreter.status();
  for (size_t i = 0; i < (*interpreter)->input(0).num_elements(); ++i) (*interpreter)->input(0).as<float>()[i] = 1;
  ASSERT_TRUE((*interpreter)->Invoke().ok());
  EXPECT_FLOAT_EQ((*interpreter)->output(0).as<const float>()[(1 * 4 + 1) * 4], 27 * 0.25f + 1);

  WindowParams depthwise{.code = fb::BuiltinOperator::DEPTHWISE_CONV_2D, .filter = {1, 3, 3, 6},
                         .output = {1, 8, 8, 6}, .stride_h = 1, .stride_w = 1};
  ExpectRunsWithOutputShape(WindowModel(depthwise), {1, 8, 8, 6});
  WindowParams pool{.code = fb::BuiltinOperator::MAX_POOL_2D, .filter = {2, 2}, .output = {1, 3, 3, 3},
                    .stride_h = 3, .stride_w = 3, .padding = fb::Padding::VALID};
  ExpectRunsWithOutputShape(WindowModel(pool), {1, 3, 3, 3});
}

TEST(ModelSemanticsTest, NegativeStrideIsRefused) {
  const Status s = CreateStatus(WindowModel({.stride_h = -2}));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr("operator 0 (CONV_2D): stride height is -2")) << s;
}

TEST(ModelSemanticsTest, ZeroStrideAndDilationAreRefused) {
  Status s = CreateStatus(WindowModel({.stride_w = 0}));
  EXPECT_THAT(s.message(), HasSubstr("operator 0 (CONV_2D): stride width is 0")) << s;
  s = CreateStatus(WindowModel({.dilation_h = 0}));
  EXPECT_THAT(s.message(), HasSubstr("operator 0 (CONV_2D): dilation height is 0")) << s;
}

TEST(ModelSemanticsTest, StrideFarBeyondTheInputIsRefused) {
  // SAME padding makes the output 1 wide; the output is even declared so.
  const Status s = CreateStatus(WindowModel({.output = {1, 4, 1, 4}, .stride_w = 1000000}));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("operator 0 (CONV_2D): stride width is 1000000")) << s;
  const Status beyond = CreateStatus(WindowModel({.output = {1, 4, 1, 4}, .stride_w = 100}));
  EXPECT_THAT(beyond.message(), HasSubstr("operator 0 (CONV_2D): stride width is 100, more than input tensor 0 "
                                          "'input' width (8) plus the filter extent (3)"))
      << beyond;
  ExpectRunsWithOutputShape(WindowModel({.output = {1, 4, 1, 4}, .stride_w = 11}), {1, 4, 1, 4});
}

TEST(ModelSemanticsTest, DeclaredOutputShapeMustBeWhatTheOpComputes) {
  const Status s = CreateStatus(WindowModel({.output = {1, 8, 8, 4}}));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("operator 0 (CONV_2D): output tensor 3 'output' is declared [1,8,8,4], but the "
                                     "op computes [1,4,4,4]"))
      << s;
  const Status valid = CreateStatus(WindowModel({.output = {1, 4, 4, 4}, .padding = fb::Padding::VALID}));
  EXPECT_THAT(valid.message(), HasSubstr("computes [1,3,3,4]")) << valid;
}

TEST(ModelSemanticsTest, ValidWindowLargerThanTheInputIsRefused) {
  const Status s = CreateStatus(WindowModel({.input = {1, 2, 2, 3}, .output = {1, 1, 1, 4}, .stride_h = 1,
                                             .stride_w = 1, .padding = fb::Padding::VALID}));
  EXPECT_THAT(s.message(), HasSubstr("with VALID padding the filter height extent 3")) << s;
}

TEST(ModelSemanticsTest, DepthwiseFilterMustFitTheInputChannels) {
  const Status s = CreateStatus(WindowModel({.code = fb::BuiltinOperator::DEPTHWISE_CONV_2D, .filter = {1, 3, 3, 4},
                                             .output = {1, 4, 4, 4}}));
  EXPECT_THAT(s.message(), HasSubstr("operator 0 (DEPTHWISE_CONV_2D): filter tensor 1 'filter' [1,3,3,4] does not "
                                     "fit input tensor 0 'input' [1,8,8,3]"))
      << s;
}

TEST(ModelSemanticsTest, PoolWithZeroFilterIsRefused) {
  const Status s = CreateStatus(WindowModel({.code = fb::BuiltinOperator::AVERAGE_POOL_2D, .filter = {0, 2},
                                             .output = {1, 4, 4, 3}}));
  EXPECT_THAT(s.message(), HasSubstr("operator 0 (AVERAGE_POOL_2D): filter height is 0")) << s;
}

TEST(ModelSemanticsTest, ZeroDimensionIsRefused) {
  const Status s = CreateStatus(WindowModel({.input = {1, 0, 8, 3}, .output = {1, 0, 4, 4}}));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("operator 0 (CONV_2D): input 0 tensor 0 'input' has shape [1,0,8,3]: "
                                     "dimension 1 is 0"))
      << s;
}

TEST(ModelSemanticsTest, ReshapeOperandMustBeAShape) {
  ExpectRunsWithOutputShape(ReshapeModel({5, -1}, {5, 5}), {5, 5});
  Status s = CreateStatus(ReshapeModel({-5, -5}, {5, 5}));
  EXPECT_THAT(s.message(), HasSubstr("operator 0 (RESHAPE): new shape [-5,-5] has dimension 0 = -5")) << s;
  s = CreateStatus(ReshapeModel({-1, -1}, {5, 5}));
  EXPECT_THAT(s.message(), HasSubstr("new shape [-1,-1] has more than one -1")) << s;
  s = CreateStatus(ReshapeModel({4, -1}, {25}));
  EXPECT_THAT(s.message(), HasSubstr("cannot reshape input tensor 0 'input' of 25 elements to [4,-1]")) << s;
  s = CreateStatus(ReshapeModel({25, 1}, {5, 5}));
  EXPECT_THAT(s.message(), HasSubstr("output tensor 2 'output' is declared [5,5], but the new shape [25,1] makes it "
                                     "[25,1]"))
      << s;
}

TEST(ModelSemanticsTest, QuantizationScalesMustBeFiniteAndPositive) {
  ExpectRunsWithOutputShape(AddModel(fb::TensorType::FLOAT32, {}, {}), {4});
  for (float scale : {0.0f, -0.5f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    auto model = Model::FromBuffer(testing::BuildOneOpModel(AddModel(fb::TensorType::UINT8, {scale}, {0})));
    ASSERT_FALSE(model.ok()) << "scale " << scale;
    EXPECT_THAT(model.status().message(), HasSubstr("tensor 0 'input': quantization scale 0 is")) << model.status();
    EXPECT_THAT(model.status().message(), HasSubstr("scales must be finite and > 0")) << model.status();
  }
  auto model = Model::FromBuffer(testing::BuildOneOpModel(AddModel(fb::TensorType::UINT8, {0.5f}, {300})));
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("tensor 0 'input': quantization zero point 0 is 300, outside uint8"))
      << model.status();
}

TEST(ModelSemanticsTest, TensorOfMoreBytesThan64BitsCountIsRefused) {
  const int32_t big = 1 << 30;
  auto model =
      Model::FromBuffer(testing::BuildOneOpModel(AddModel(fb::TensorType::FLOAT32, {}, {}, {big, big, big, 8})));
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("tensor 0 'input': shape [1073741824,1073741824,1073741824,8] of "
                                                  "float32 is more than 1099511627776 bytes"))
      << model.status();
}

TEST(InterpreterThreadsTest, AbsurdThreadCountIsAnError) {
  auto interpreter = Create(WindowModel({}), {.num_threads = 100000});
  ASSERT_FALSE(interpreter.ok());
  EXPECT_THAT(interpreter.status().message(), HasSubstr("100000 threads")) << interpreter.status();
}

// The profile listener runs inside Invoke(), between steps: an Invoke() from
// there (here on another thread) overlaps the running one, deterministically.
TEST(InterpreterThreadsTest, ConcurrentInvokeIsRefusedAndTheRunningOneCompletes) {
  auto interpreter = Create(WindowModel({}));
  ASSERT_TRUE(interpreter.ok()) << interpreter.status();
  Interpreter& it = **interpreter;
  for (size_t i = 0; i < it.input(0).num_elements(); ++i) it.input(0).as<float>()[i] = 1.0f;
  Status concurrent;
  int listened = 0;
  it.set_profile_listener([&](const StepProfile&) {
    if (listened++ > 0) return;
    std::thread other([&] { concurrent = it.Invoke(); });
    other.join();
  });
  const Status first = it.Invoke();
  ASSERT_TRUE(first.ok()) << first;
  EXPECT_EQ(concurrent.code(), StatusCode::kFailedPrecondition) << concurrent;
  EXPECT_THAT(concurrent.message(), HasSubstr("while another Invoke() of this interpreter is running")) << concurrent;
  EXPECT_FLOAT_EQ(it.output(0).as<const float>()[(1 * 4 + 1) * 4], 27 * 0.25f + 1);
  // Once the first has finished, the interpreter is free again.
  it.set_profile_listener(nullptr);
  const Status again = it.Invoke();
  EXPECT_TRUE(again.ok()) << again;
}

}  // namespace
}  // namespace edgepipe::engine
