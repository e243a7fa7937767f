#include "engine/model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "tests/engine/test_models.h"
#include "tests/testing/shared_data.h"

namespace edgepipe::engine {
namespace {

using ::testing::HasSubstr;
using testing::BuildTinyModel;
using testing::TinyModelSpec;

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ModelTest, TinyModelReadsTensorsOperatorsAndOptions) {
  TinyModelSpec spec;
  spec.activation = tflite_fb::ActivationFunctionType::RELU6;
  auto model = Model::FromBuffer(BuildTinyModel(spec));
  ASSERT_TRUE(model.ok()) << model.status();
  const Model& m = **model;
  ASSERT_EQ(m.tensors().size(), 3u);
  EXPECT_EQ(m.tensors()[1].name, "twos");
  EXPECT_TRUE(m.tensors()[1].is_constant());
  EXPECT_EQ(reinterpret_cast<const float*>(m.tensors()[1].data)[3], 2.0f);
  EXPECT_FALSE(m.tensors()[0].is_constant());
  ASSERT_EQ(m.operators().size(), 1u);
  EXPECT_EQ(m.operators()[0].name, "ADD");
  EXPECT_EQ(m.operators()[0].options.activation, Activation::kRelu6);
  EXPECT_EQ(m.inputs(), std::vector<int>{0});
  EXPECT_EQ(m.outputs(), std::vector<int>{2});
  EXPECT_EQ(m.description(), "tiny");
}

TEST(ModelTest, MissingFileIsNotFound) {
  auto model = Model::Load("/nonexistent/model.tflite");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(model.status().message(), HasSubstr("/nonexistent/model.tflite"));
}

TEST(ModelTest, TooSmallFileIsDataLoss) {
  auto model = Model::FromBuffer({1, 2, 3});
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kDataLoss);
}

TEST(ModelTest, WrongIdentifierIsNamed) {
  TinyModelSpec spec;
  spec.identifier = "ABCD";
  auto model = Model::FromBuffer(BuildTinyModel(spec));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(model.status().message(), HasSubstr("not a TFLite model"));
  EXPECT_THAT(model.status().message(), HasSubstr("'ABCD'"));
}

TEST(ModelTest, TruncatedBufferFailsVerification) {
  auto bytes = BuildTinyModel();
  for (size_t keep : {bytes.size() / 2, bytes.size() - 4, size_t{12}}) {
    std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + keep);
    auto model = Model::FromBuffer(truncated);
    ASSERT_FALSE(model.ok()) << keep;
    EXPECT_EQ(model.status().code(), StatusCode::kDataLoss) << keep;
    EXPECT_THAT(model.status().message(), HasSubstr("truncated or corrupted"));
  }
}

TEST(ModelTest, CorruptedRootOffsetFailsVerification) {
  auto bytes = BuildTinyModel();
  bytes[0] = 0xff;
  bytes[1] = 0xff;
  bytes[2] = 0xff;
  auto model = Model::FromBuffer(bytes);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kDataLoss);
}

TEST(ModelTest, RandomByteFlipsNeverCrash) {
  const auto original = BuildTinyModel();
  uint32_t seed = 12345;
  for (int trial = 0; trial < 2000; ++trial) {
    auto bytes = original;
    for (int flips = 0; flips < 3; ++flips) {
      seed = seed * 1664525u + 1013904223u;
      bytes[8 + seed % (bytes.size() - 8)] ^= static_cast<uint8_t>(seed >> 24 | 1);
    }
    auto model = Model::FromBuffer(bytes);  // any Status is fine; reading garbage is not
    if (model.ok()) {
      for (const TensorInfo& t : (*model)->tensors()) ASSERT_LE(t.data_size, bytes.size());
    }
  }
}

TEST(ModelTest, OutOfRangeTensorIndexNamesOperatorAndTensor) {
  TinyModelSpec spec;
  spec.op_inputs = {0, 7};
  auto model = Model::FromBuffer(BuildTinyModel(spec));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kOutOfRange);
  EXPECT_THAT(model.status().message(), HasSubstr("operator 0 (ADD)"));
  EXPECT_THAT(model.status().message(), HasSubstr("tensor 7"));
}

TEST(ModelTest, OutOfRangeBufferIndexNamesTensor) {
  TinyModelSpec spec;
  spec.constant_buffer = 9;
  auto model = Model::FromBuffer(BuildTinyModel(spec));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kOutOfRange);
  EXPECT_THAT(model.status().message(), HasSubstr("tensor 1 'twos'"));
  EXPECT_THAT(model.status().message(), HasSubstr("buffer index 9"));
}

TEST(ModelTest, UnsupportedOperatorIsNamed) {
  TinyModelSpec spec;
  spec.op_code = 16;  // LSTM
  auto model = Model::FromBuffer(BuildTinyModel(spec));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kUnimplemented);
  EXPECT_THAT(model.status().message(), HasSubstr("operator 0 (LSTM)"));
}

TEST(ModelTest, ExtendedBuiltinCodeIsRead) {
  TinyModelSpec spec;
  spec.op_code = 150;  // only fits the int32 builtin_code field
  auto model = Model::FromBuffer(BuildTinyModel(spec));
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("operator 0 (BUILTIN_150)"));
}

TEST(ModelTest, UnsupportedOperatorVersionIsNamed) {
  TinyModelSpec spec;
  spec.op_version = 99;
  auto model = Model::FromBuffer(BuildTinyModel(spec));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kUnimplemented);
  EXPECT_THAT(model.status().message(), HasSubstr("operator 0 (ADD): version 99"));
}

TEST(ModelTest, TruncatedRealModelFails) {
  const std::string path = edgepipe::testing::ModelPath("mobilenet_v1_0.25_128_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  auto bytes = ReadFile(path);
  bytes.resize(bytes.size() / 3);
  auto model = Model::FromBuffer(bytes);
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("truncated or corrupted"));
}

struct SharedModelCase {
  const char* file;
  size_t inputs;
  size_t outputs;
};

class SharedModelTest : public ::testing::TestWithParam<SharedModelCase> {};

TEST_P(SharedModelTest, Loads) {
  const std::string path = edgepipe::testing::ModelPath(GetParam().file);
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->inputs().size(), GetParam().inputs);
  EXPECT_EQ((*model)->outputs().size(), GetParam().outputs);
  EXPECT_GT((*model)->operators().size(), 0u);
  EXPECT_EQ((*model)->file_size(), std::filesystem::file_size(path));
}

INSTANTIATE_TEST_SUITE_P(
    AllModels, SharedModelTest,
    ::testing::Values(SharedModelCase{"face_detection_short_range.tflite", 1, 2},
                      SharedModelCase{"palm_detection_lite.tflite", 1, 2},
                      SharedModelCase{"mobilenet_v1_0.25_128_quant.tflite", 1, 1},
                      SharedModelCase{"mobilenet_v2_1.0_224_quant.tflite", 1, 1},
                      SharedModelCase{"tf2_mobilenet_v2_1.0_224_ptq.tflite", 1, 1},
                      SharedModelCase{"movenet_single_pose_lightning_ptq.tflite", 1, 1},
                      SharedModelCase{"deeplabv3_mnv2_dm05_pascal_quant.tflite", 1, 1},
                      SharedModelCase{"traffic_model.tflite", 3, 6}));

TEST(ModelTest, PerChannelQuantizationAxisIsRead) {
  const std::string path = edgepipe::testing::ModelPath("tf2_mobilenet_v2_1.0_224_ptq.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status();
  bool saw_conv_axis0 = false, saw_depthwise_axis3 = false;
  for (const OperatorInfo& op : (*model)->operators()) {
    if (op.inputs.size() < 2) continue;
    const TensorInfo& w = (*model)->tensors()[op.inputs[1]];
    if (!w.quant.per_channel()) continue;
    if (op.name == "CONV_2D" && w.quant.axis == 0) saw_conv_axis0 = true;
    if (op.name == "DEPTHWISE_CONV_2D" && w.quant.axis == 3) saw_depthwise_axis3 = true;
  }
  EXPECT_TRUE(saw_conv_axis0);
  EXPECT_TRUE(saw_depthwise_axis3);
}

TEST(ModelTest, SignaturesAreRead) {
  const std::string path = edgepipe::testing::ModelPath("movenet_single_pose_lightning_ptq.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_EQ((*model)->signatures().size(), 1u);
  EXPECT_EQ((*model)->signatures()[0].key, "serving_default");
}

TEST(ModelTest, SequenceLstmOptionsAndIntermediatesAreRead) {
  const std::string path = edgepipe::testing::ModelPath("zoo/keras_lstm_mnist_ptq.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(path);
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status();
  const OperatorInfo* lstm = nullptr;
  for (const OperatorInfo& op : (*model)->operators())
    if (op.builtin_code == builtin::kUnidirectionalSequenceLstm) lstm = &op;
  ASSERT_NE(lstm, nullptr);
  EXPECT_EQ(lstm->name, "UNIDIRECTIONAL_SEQUENCE_LSTM");
  EXPECT_EQ(lstm->inputs.size(), 24u);
  // Keras' conversion: tanh, cell clip 10, no projection clip, batch major.
  EXPECT_EQ(lstm->options.activation, Activation::kTanh);
  EXPECT_EQ(lstm->options.cell_clip, 10.0f);
  EXPECT_EQ(lstm->options.proj_clip, 0.0f);
  EXPECT_FALSE(lstm->options.time_major);
  EXPECT_FALSE(lstm->options.diagonal_recurrent_tensors);
  // Five intermediates (the 8x8_16 integer LSTM); the last carries the hidden
  // state's quantization, which equals the output's here (no projection).
  ASSERT_EQ(lstm->intermediates.size(), 5u);
  const TensorInfo& hidden = (*model)->tensors()[lstm->intermediates[4]];
  const TensorInfo& output = (*model)->tensors()[lstm->outputs[0]];
  EXPECT_EQ(hidden.name, "effective_hidden_scale_intermediate");
  ASSERT_EQ(hidden.quant.scale.size(), 1u);
  EXPECT_EQ(hidden.quant.scale, output.quant.scale);
  EXPECT_EQ(hidden.quant.zero_point, output.quant.zero_point);
}

}  // namespace
}  // namespace edgepipe::engine
