// InferenceCalculator in graphs: a real image classified end to end, the
// shape-mismatch error, and traffic_model's LSTM state fed back through
// PreviousLoopbackCalculator.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "calculators/types/tensor.h"
#include "core/calculator.h"
#include "core/graph.h"
#include "engine/interpreter.h"
#include "engine/model.h"
#include "tests/calculators/graph_test_util.h"
#include "tests/testing/shared_data.h"

namespace edgepipe {
namespace {

using ::edgepipe::testing::MediaPath;
using ::edgepipe::testing::ModelPath;
using ::edgepipe::testing::RunAndCollect;
using ::testing::HasSubstr;

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// File source → resize to the model's input → uint8 tensor (raw pixels, what the
// quantized MobileNet expects) → inference.
std::string ClassifierGraph(const std::string& image, const std::string& model) {
  return R"(
    output_stream: "scores"
    node {
      calculator: "ImageFileSourceCalculator"
      output_stream: "IMAGE:frame"
      options { [edgepipe.ImageFileSourceCalculatorOptions.ext] { path: ")" + image + R"(" output_format: "RGB" } }
    }
    node {
      calculator: "ImageResizeCalculator"
      input_stream: "IMAGE:frame"
      output_stream: "IMAGE:resized"
      options { [edgepipe.ImageResizeCalculatorOptions.ext] { width: 224 height: 224 } }
    }
    node {
      calculator: "ImageToTensorCalculator"
      input_stream: "IMAGE:resized"
      output_stream: "TENSOR:pixels"
      options { [edgepipe.ImageToTensorCalculatorOptions.ext] { output_type: UINT8 } }
    }
    node {
      calculator: "InferenceCalculator"
      input_stream: "TENSOR:0:pixels"
      output_stream: "TENSORS:scores"
      options { [edgepipe.InferenceCalculatorOptions.ext] { model_path: ")" + model + R"(" num_threads: 2 } }
    })";
}

TEST(InferenceCalculatorTest, ParrotIsAMacaw) {
  const std::string image = MediaPath("parrot.jpg");
  const std::string model = ModelPath("mobilenet_v2_1.0_224_quant.tflite");
  const std::string labels_path = ModelPath("imagenet_labels.txt");
  EDGEPIPE_REQUIRE_SHARED_FILE(image);
  EDGEPIPE_REQUIRE_SHARED_FILE(model);
  EDGEPIPE_REQUIRE_SHARED_FILE(labels_path);
  auto outputs = RunAndCollect(ClassifierGraph(image, model), {"scores"});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  const auto& packets = outputs->packets["scores"];
  ASSERT_EQ(packets.size(), 1u);
  auto tensors = packets[0].Get<std::vector<Tensor>>();
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  ASSERT_EQ((*tensors)->size(), 1u);
  const Tensor& scores = (**tensors)[0];
  ASSERT_EQ(scores.DebugString(), "uint8[1,1001]");
  auto values = scores.data<uint8_t>();
  ASSERT_TRUE(values.ok()) << values.status();
  const size_t top1 = std::max_element(*values, *values + 1001) - *values;
  const std::vector<std::string> labels = ReadLines(labels_path);
  ASSERT_EQ(labels.size(), 1001u);
  EXPECT_EQ(labels[top1], "macaw");
}

TEST(InferenceCalculatorTest, WrongInputShapeNamesModelInputAndBothShapes) {
  const std::string model = ModelPath("mobilenet_v2_1.0_224_quant.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(model);
  auto config = ParseGraphConfig(R"(
    input_stream: "in"
    output_stream: "out"
    node {
      calculator: "InferenceCalculator"
      input_stream: "TENSORS:in"
      output_stream: "TENSORS:out"
      options { [edgepipe.InferenceCalculatorOptions.ext] { model_path: ")" + model + R"(" } }
    })", "test graph");
  ASSERT_TRUE(config.ok()) << config.status();
  Graph graph;
  ASSERT_TRUE(graph.Initialize(*config).ok());
  ASSERT_TRUE(graph.StartRun().ok());
  auto tensor = Tensor::Create(TensorDType::kUInt8, {1, 128, 128, 3});
  ASSERT_TRUE(tensor.ok());
  std::vector<Tensor> inputs = {*tensor};
  ASSERT_TRUE(graph.AddPacketToInputStream("in", MakePacket<std::vector<Tensor>>(inputs).At(Timestamp(0))).ok());
  ASSERT_TRUE(graph.CloseAllInputStreams().ok());
  const Status done = graph.WaitUntilDone();
  ASSERT_FALSE(done.ok());
  EXPECT_THAT(done.message(), HasSubstr("mobilenet_v2_1.0_224_quant.tflite"));
  EXPECT_THAT(done.message(), HasSubstr("input 0"));
  EXPECT_THAT(done.message(), HasSubstr("uint8[1,224,224,3]"));
  EXPECT_THAT(done.message(), HasSubstr("uint8[1,128,128,3]"));
}

TEST(InferenceCalculatorTest, MissingModelIsAnErrorInOpen) {
  auto outputs = RunAndCollect(R"(
    input_stream: "in"
    node { calculator: "InferenceCalculator" input_stream: "TENSORS:in" output_stream: "TENSORS:out" })", {});
  ASSERT_FALSE(outputs.ok());
  EXPECT_THAT(outputs.status().message(), HasSubstr("model_path"));
}

// traffic_model over three frames, its LSTM state (outputs 4, 5) fed back as
// inputs 1, 2 of the next frame by PreviousLoopbackCalculator. Every output
// must equal a direct engine run that copies the state by hand.
TEST(InferenceCalculatorTest, TrafficModelStateLoopsBackBetweenFrames) {
  const std::string model_path = ModelPath("traffic_model.tflite");
  EDGEPIPE_REQUIRE_SHARED_FILE(model_path);
  for (const char* frame : {"traffic_0001.bmp", "traffic_0002.bmp", "traffic_0003.bmp"})
    EDGEPIPE_REQUIRE_SHARED_FILE(MediaPath(frame));
  const std::string frames_glob = (testing::SharedDir() / "media" / "traffic_000*.bmp").string();
  auto outputs = RunAndCollect(R"(
    output_stream: "pixels"
    output_stream: "outputs"
    output_stream: "previous_c"
    node {
      calculator: "ImageFileSourceCalculator"
      output_stream: "IMAGE:frame"
      options { [edgepipe.ImageFileSourceCalculatorOptions.ext] { path: ")" + frames_glob + R"(" frame_rate: 10 output_format: "RGB" } }
    }
    node {
      calculator: "ImageResizeCalculator"
      input_stream: "IMAGE:frame"
      output_stream: "IMAGE:resized"
      options { [edgepipe.ImageResizeCalculatorOptions.ext] { width: 256 height: 256 } }
    }
    node {
      calculator: "ImageToTensorCalculator"
      input_stream: "IMAGE:resized"
      output_stream: "TENSOR:pixels"
      options { [edgepipe.ImageToTensorCalculatorOptions.ext] { output_type: UINT8 } }
    }
    node {
      calculator: "PreviousLoopbackCalculator"
      input_stream: "MAIN:pixels"
      input_stream: "LOOP:lstm_c"
      input_stream_info { tag_index: "LOOP" back_edge: true }
      output_stream: "PREV_LOOP:previous_c"
    }
    node {
      calculator: "PreviousLoopbackCalculator"
      input_stream: "MAIN:pixels"
      input_stream: "LOOP:lstm_h"
      input_stream_info { tag_index: "LOOP" back_edge: true }
      output_stream: "PREV_LOOP:previous_h"
    }
    node {
      calculator: "InferenceCalculator"
      input_stream: "TENSOR:0:pixels"
      input_stream: "TENSOR:1:previous_c"
      input_stream: "TENSOR:2:previous_h"
      output_stream: "TENSORS:outputs"
      output_stream: "TENSOR:0:boxes"
      output_stream: "TENSOR:1:classes"
      output_stream: "TENSOR:2:scores"
      output_stream: "TENSOR:3:count"
      output_stream: "TENSOR:4:lstm_c"
      output_stream: "TENSOR:5:lstm_h"
      options { [edgepipe.InferenceCalculatorOptions.ext] { model_path: ")" + model_path + R"(" } }
    })", {"pixels", "outputs", "previous_c"});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  const auto& pixels = outputs->packets["pixels"];
  const auto& results = outputs->packets["outputs"];
  ASSERT_EQ(pixels.size(), 3u);
  ASSERT_EQ(results.size(), 3u);

  auto model = engine::Model::Load(model_path);
  ASSERT_TRUE(model.ok()) << model.status();
  auto interpreter = engine::Interpreter::Create(*model);
  ASSERT_TRUE(interpreter.ok()) << interpreter.status();
  engine::Interpreter& direct = **interpreter;
  for (size_t frame = 0; frame < 3; ++frame) {
    const Tensor& image = *pixels[frame].Get<Tensor>().value();
    ASSERT_EQ(image.num_bytes(), direct.input(0).num_bytes());
    std::memcpy(direct.input(0).data, image.raw_data(), image.num_bytes());
    ASSERT_TRUE(direct.Invoke().ok());
    const std::vector<Tensor>& got = *results[frame].Get<std::vector<Tensor>>().value();
    ASSERT_EQ(got.size(), 6u);
    for (size_t i = 0; i < 6; ++i) {
      const engine::TensorView& expected = direct.output(i);
      ASSERT_EQ(got[i].num_bytes(), expected.num_bytes());
      EXPECT_EQ(std::memcmp(got[i].raw_data(), expected.data, expected.num_bytes()), 0)
          << "frame " << frame << " output " << i;
    }
    // The state outputs become the next frame's state inputs.
    std::memcpy(direct.input(1).data, direct.output(4).data, direct.output(4).num_bytes());
    std::memcpy(direct.input(2).data, direct.output(5).data, direct.output(5).num_bytes());
  }
  // The loop carried frame k's state outputs into frame k + 1 (this model's
  // quantized state happens to be all zero points, so the values alone cannot
  // show it; the timestamps and bytes of what arrived can).
  const auto& carried = outputs->packets["previous_c"];
  ASSERT_EQ(carried.size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(carried[k].timestamp(), pixels[k + 1].timestamp());
    const Tensor& state = *carried[k].Get<Tensor>().value();
    const Tensor& produced = (*results[k].Get<std::vector<Tensor>>().value())[4];
    ASSERT_EQ(state.DebugString(), produced.DebugString());
    EXPECT_EQ(std::memcmp(state.raw_data(), produced.raw_data(), state.num_bytes()), 0);
  }
}

}  // namespace
}  // namespace edgepipe
